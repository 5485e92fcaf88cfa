#!/bin/sh
# skipped.sh LOG...: after `make check`, one line per test program that was
# skipped or skipped a part, with the reason the program gave, because
# automake's summary says SKIP without why, and a normal user's run (no
# root: no private Dovecot or Cyrus, no FUSE mounts) skips the server and
# mount halves.  The reasons are the programs' own stderr lines: "name:
# SKIP: why" for a whole program; "... skipped ..." or "SKIP: why" in a
# program that passed, for a part.
for log in "$@"; do
	[ -f "$log" ] || continue
	prog=${log%.log}
	name=${prog##*/}
	if grep -q '^:test-result: SKIP' "$prog.trs" 2>/dev/null; then
		why=$(grep -m1 'SKIP' "$log" | sed -e "s|^$name: ||" -e 's|^SKIP: *||')
		echo "$prog: SKIP: ${why:-no reason given}"
	else
		grep -E 'skipped|SKIP:' "$log" |
			sed -e "s|^$name: ||" -e 's|^SKIP: *||' -e "s|^|$prog: part skipped: |"
	fi
done
