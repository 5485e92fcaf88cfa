#!/bin/sh
# Conformance: imap4 must print what Python's imaplib prints for the same
# calls against the same server state.  Two private Dovecots are seeded
# identically; the system python3's imaplib drives one, imap4 the other,
# with the whole call list over implicit TLS and again over plain IMAP,
# then a few calls over STARTTLS and with an explicit LOGIN.  Timings in Dovecot's texts, UIDVALIDITY values
# (time-based) and the \Marked/\Unmarked attributes of LIST (whether Dovecot
# saw new mail since its last look, which depends on when within a second the
# seeding happened) are masked before the comparison; nothing else is.
set -eu
srcdir=${srcdir:-$(dirname "$0")/../..}
conf="$srcdir/tests/conformance"
imap4=${IMAP4:-./tools/imap4/imap4}
testserver=${TESTSERVER:-./tests/harness/testserver}

if [ "$(id -u)" -ne 0 ] || ! command -v dovecot >/dev/null 2>&1 || [ ! -x /usr/bin/python3 ]; then
	echo "SKIP: needs root, dovecot and /usr/bin/python3"
	exit 77
fi

work=$(mktemp -d /tmp/imapfs-conformance-XXXXXX)
chmod 755 "$work"   # the mail user must reach the Maildirs inside
stop_all() {
	for d in "$work"/py "$work"/c; do
		[ -d "$d" ] && "$testserver" stop "$d" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap stop_all EXIT INT TERM

"$testserver" start "$work/py" --seed demo >"$work/py.env" 2>/dev/null
"$testserver" start "$work/c" --seed demo >"$work/c.env" 2>/dev/null

# Each CALL is one argument: read the list into the positional parameters,
# joining continuation lines (a call may hold a quoted multi-line message).
calls_file="$work/calls"
awk 'BEGIN { call = "" }
     /^#/ && call == "" { next }
     { call = (call == "" ? $0 : call "\n" $0) }
     { n = gsub(/\047/, "\047", call) }
     n % 2 == 0 { print call; printf "%c", 0; call = "" }' "$conf/calls.txt" >"$calls_file"

mask() {
	sed -E -e 's/\([0-9]+\.[0-9]+ \+ [0-9]+\.[0-9]+( \+ [0-9]+\.[0-9]+)? secs\)/(T secs)/g' \
	       -e 's/(APPENDUID|COPYUID|UIDVALIDITY) [0-9]+/\1 V/g' \
	       -e "s/(b'|, b')[0-9]{9,10}( |')/\1V\2/g" \
	       -e 's/ \\\\(Un)?[Mm]arked//g' -e 's/\(\\\\(Un)?[Mm]arked ?/(/g'
}

run_side() {  # side, url-scheme args...
	side=$1; shift
	. "$work/$side.env"
	if [ "$side" = py ]; then
		cmd="/usr/bin/python3 $conf/imaplib_run.py"
	else
		cmd="${IMAP4_WRAPPER:-} $imap4"   # e.g. valgrind
	fi
	# Exit status 1 means some call raised, which the lists do on purpose
	# (xargs then says 123); anything else (a crash, valgrind's 99) makes the
	# wrapper exit 255 and xargs 124, which fails the test.
	{ st=0; xargs -0 sh -c '"$@"; s=$?; [ $s -le 1 ] || { echo "exit status $s" >&2; exit 255; }; exit $s' \
		sh $cmd "$@" <"$calls_file" 2>"$work/$side.stderr" || st=$?
	  echo "$st" >"$work/$side.status"; } | mask
	st=$(cat "$work/$side.status")
	if [ "$st" -ne 0 ] && [ "$st" -ne 123 ]; then
		echo "$side exited with status $st" >&2; cat "$work/$side.stderr" >&2; exit 1
	fi
}

compare() {  # label
	if diff -u "$work/py.out" "$work/c.out" >"$work/diff"; then
		echo "conformance ($1): $(wc -l <"$work/py.out") calls printed the same"
	else
		echo "conformance ($1): imap4 differs from imaplib:"
		cat "$work/diff"
		echo "--- imap4 stderr:"; cat "$work/c.stderr"
		echo "--- python stderr:"; cat "$work/py.stderr"
		exit 1
	fi
}

export IMAPFS_PASSWORD=secret
for side in py c; do
	. "$work/$side.env"
	run_side "$side" -o "cafile=$CAFILE" "imaps://alice@localhost:$IMAPS_PORT" >"$work/$side.out"
done
compare "implicit TLS"

# The whole list again on the plain port: both servers went through the
# same history, so they still hold the same state.
for side in py c; do
	. "$work/$side.env"
	run_side "$side" -o "tls=none" "imap://alice@127.0.0.1:$IMAP_PORT" >"$work/$side.out"
done
compare "plain"

printf '%s\0' 'capabilities' 'select INBOX' "fetch 1:3 '(UID FLAGS)'" 'logout' >"$calls_file"
for side in py c; do
	. "$work/$side.env"
	run_side "$side" -o "cafile=$CAFILE" "imap://alice@localhost:$IMAP_PORT" >"$work/$side.out"
done
compare "STARTTLS"

printf '%s\0' 'capabilities' 'login alice wrong' 'login alice secret' 'state' "list '\"\"' INBOX" >"$calls_file"
for side in py c; do
	. "$work/$side.env"
	run_side "$side" -o "tls=none" "imap://localhost:$IMAP_PORT" >"$work/$side.out"
done
compare "plain, explicit LOGIN"
