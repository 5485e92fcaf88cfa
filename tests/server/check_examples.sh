#!/bin/sh
# libimap4 as a user gets it: `make install DESTDIR=...`, then every installed
# header compiles on its own and the examples build with
# `pkg-config --cflags --libs imap4` against the installed files alone, and
# run against a private Dovecot (with a program on the imaplib-style API,
# <imap4/imaplib.h>): list names INBOX, fetch gives the bytes the
# Maildir holds, idle reports a message delivered meanwhile.
#
# Environment: top_builddir (default .), srcdir (default: from $0),
# TESTSERVER (tests/harness/testserver), CC, and EXAMPLE_CFLAGS/EXAMPLE_LDFLAGS for the examples
# (a sanitizer build must pass its -fsanitize flags: the library needs them).
set -eu
srcdir=${srcdir:-$(dirname "$0")/../..}
top_builddir=${top_builddir:-.}
testserver=${TESTSERVER:-$top_builddir/tests/harness/testserver}
CC=${CC:-cc}
EXAMPLE_CFLAGS=${EXAMPLE_CFLAGS:-}
EXAMPLE_LDFLAGS=${EXAMPLE_LDFLAGS:-}

if [ "$(id -u)" -ne 0 ] || ! command -v dovecot >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
	echo "SKIP: needs root, dovecot and pkg-config"
	exit 77
fi

work=$(mktemp -d /tmp/imapfs-examples-XXXXXX)
chmod 755 "$work"   # the mail user must reach the Maildir inside
idle_pid=
cleanup() {
	[ -n "$idle_pid" ] && kill "$idle_pid" 2>/dev/null || true
	[ -d "$work/srv" ] && "$testserver" stop "$work/srv" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

# 1. install into a scratch root
make -C "$top_builddir" install DESTDIR="$work/root" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; fail "make install"; }
pc=$(find "$work/root" -name imap4.pc | head -n 1)
[ -n "$pc" ] || fail "make install put no imap4.pc"
so=$(find "$work/root" -name 'libimap4.so.*' | head -n 1)
[ -n "$so" ] || fail "make install put no versioned libimap4.so"
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
case "$soname" in libimap4.so.[0-9]*) ;; *) fail "libimap4 soname is '$soname'" ;; esac
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$work/root"
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags imap4) libs=$(pkg-config --libs imap4) || fail "pkg-config imap4"
LD_LIBRARY_PATH=$(dirname "$so")
export LD_LIBRARY_PATH

# 2. each installed header on its own; the core's imap.h declares none of
# the imaplib-style API, which is imaplib.h's
incdir=$(dirname "$(find "$work/root" -path '*/imap4/imap.h' | head -n 1)")
[ -f "$incdir/imaplib.h" ] || fail "make install put no <imap4/imaplib.h>"
for h in "$incdir"/*.h; do
	printf '#include <imap4/%s>\n' "$(basename "$h")" >"$work/h.c"
	$CC -std=c11 -Wall -Wextra -Werror $cflags -c "$work/h.c" -o "$work/h.o" ||
		fail "<imap4/$(basename "$h")> does not compile on its own"
done
printf '#include <imap4/imap.h>\nstruct imap_result r;\n' >"$work/h.c"
$CC -std=c11 -Wall -Wextra -Werror $cflags -c "$work/h.c" -o "$work/h.o" 2>/dev/null &&
	fail "<imap4/imap.h> declares the imaplib-style API"

# 3. the library exports exactly what the installed headers declare: no
# internal helper (imap_fail, xmalloc...) leaks into a program's namespace,
# and nothing declared is missing
sh "$srcdir/proto/exports.sh" "$incdir"/*.h >"$work/declared" ||
	fail "proto/exports.sh"
nm -D --defined-only "$so" | awk '{ print $3 }' | sort -u >"$work/exported"
[ -s "$work/declared" ] || fail "no declarations found in the installed headers"
if ! cmp -s "$work/declared" "$work/exported"; then
	diff "$work/declared" "$work/exported" | sed 's/^/  /'
	fail "libimap4's exports differ from its headers' declarations (< declared only, > exported only)"
fi

# a program on the imaplib-style API, from the installed files alone
cat >"$work/pylib.c" <<'PYLIB'
#include <stdio.h>
#include <stdlib.h>
#include <imap4/imaplib.h>

/* imaplib.IMAP4(host, port).capability(), printed as Python prints it. */
int main(void)
{
	struct imap_opts o = { .timeout_ms = 30000 };
	struct imap *s = NULL;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct imap_result r = { 0 };
	if (imap_open(&s, getenv("IMAP_HOST"), getenv("IMAP_PORT"), &o, &err) != IMAP_OK) {
		fprintf(stderr, "open: %s\n", err.data ? err.data : "failed");
		return 1;
	}
	int rc = imap_capability(s, &r);
	if (rc == IMAP_OK) {
		imap_result_repr(&r, &out);
		printf("%s\n", out.data);
	}
	imap_result_free(&r);
	imap_logout(s, &r);
	imap_result_free(&r);
	imap_close(s);
	buf_free(&out);
	buf_free(&err);
	return rc == IMAP_OK ? 0 : 1;
}
PYLIB
$CC -std=c11 -Wall -Wextra -Werror $EXAMPLE_CFLAGS $cflags "$work/pylib.c" -o "$work/pylib" \
	$EXAMPLE_LDFLAGS $libs || fail "a program on <imap4/imaplib.h> does not build against the installed libimap4"

# 3. the examples, from the sources alone
for ex in list fetch idle; do
	$CC -std=c11 -Wall -Wextra -Werror $EXAMPLE_CFLAGS $cflags "$srcdir/examples/$ex.c" -o "$work/$ex" \
		$EXAMPLE_LDFLAGS $libs || fail "examples/$ex.c does not build against the installed libimap4"
done

# 4. against a private Dovecot
"$testserver" start "$work/srv" --seed demo >"$work/srv.env" 2>"$work/srv.err" || {
	st=$?; cat "$work/srv.err"; [ $st -eq 77 ] && exit 77; fail "testserver start"; }
. "$work/srv.env"
export IMAP_HOST IMAP_PORT IMAP_USER IMAP_PASS CAFILE

"$work/pylib" >"$work/pylib.out" || fail "the imaplib-style capability() failed"
grep -q "^('OK', \[b'.*IMAP4rev1" "$work/pylib.out" ||
	fail "the imaplib-style capability() gave $(cat "$work/pylib.out")"

"$work/list" >"$work/list.out" || fail "list failed"
grep -qx INBOX "$work/list.out" || fail "list did not name INBOX: $(cat "$work/list.out")"

# UID 1 is one of the seeded INBOX files, byte for byte (IMAP sends CRLF,
# the Maildir holds LF).
"$work/fetch" INBOX 1 >"$work/fetch.out" || fail "fetch failed"
[ -s "$work/fetch.out" ] || fail "fetch wrote nothing"
tr -d '\r' <"$work/fetch.out" >"$work/fetch.lf"
found=
for msg in "$MAILDIR"/cur/* "$MAILDIR"/new/*; do
	[ -f "$msg" ] || continue
	tr -d '\r' <"$msg" >"$work/msg.lf"
	cmp -s "$work/fetch.lf" "$work/msg.lf" && found=$msg && break
done
[ -n "$found" ] || fail "fetch did not give a message the Maildir holds"
"$work/fetch" INBOX 4000000000 >/dev/null 2>&1 && fail "fetch of a missing UID succeeded"

"$work/idle" INBOX 20 >"$work/idle.out" 2>"$work/idle.err" &
idle_pid=$!
i=0
until grep -q idling "$work/idle.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -le 300 ] || fail "idle never started: $(cat "$work/idle.err")"
	sleep 0.1
done
sleep 1   # let IDLE reach the server (its continuation) before the delivery
new="$MAILDIR/new/$(date +%s).examples.$$:2,"
printf 'From: a@example.org\nSubject: idle\n\nhello\n' >"$new.tmp"
chown --reference="$MAILDIR" "$new.tmp" 2>/dev/null || true
mv "$new.tmp" "$new"
i=0
until grep -q ' EXISTS$' "$work/idle.out"; do
	i=$((i + 1)); [ $i -le 150 ] || fail "idle reported no EXISTS: $(cat "$work/idle.out" "$work/idle.err")"
	sleep 0.1
done
kill "$idle_pid" 2>/dev/null || true
wait "$idle_pid" 2>/dev/null || true
idle_pid=
echo "PASS: headers, examples built with pkg-config, list/fetch/idle and imaplib capability() against Dovecot"
