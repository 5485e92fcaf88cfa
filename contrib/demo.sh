#!/bin/sh
# The README's first command: installs what is missing, builds imapfs,
# starts a private Dovecot on 127.0.0.1 seeded with sample mail, and says
# how to use it.  "contrib/demo.sh stop" stops and removes the demo.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
state=${IMAPFS_DEMO_DIR:-/tmp/imapfs-demo}
build="$top/build-demo"

if [ "${1:-}" = stop ]; then
	if [ -x "$build/tests/testserver" ] && [ -d "$state/server" ]; then
		"$build/tests/testserver" stop "$state/server"
	fi
	rm -rf "$state"
	echo "demo stopped and removed ($state)"
	exit 0
fi

sh "$top/contrib/install-deps.sh"
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null
fi
mkdir -p "$build"
(cd "$build" && { [ -f Makefile ] || "$top/configure" >/dev/null; } && make -j"$(nproc)" >/dev/null &&
	make -j"$(nproc)" tests/testserver >/dev/null)

if [ -d "$state/server" ]; then
	echo "a demo is already running in $state; 'contrib/demo.sh stop' first" >&2
	exit 1
fi
mkdir -p "$state"
chmod 755 "$state"   # the unprivileged mail user must reach the Maildirs inside
eval "$("$build/tests/testserver" start "$state/server" --seed demo)"
printf 'secret\n' >"$state/password"
chmod 600 "$state/password"

cat <<MSG

A private Dovecot is running on 127.0.0.1 with sample mail for user alice
(plain IMAP on port $IMAP_PORT, implicit TLS on port $IMAPS_PORT).

Try the IMAP client:
  $build/proto/imap4 -o tls=none,passfile=$state/password imap://alice@127.0.0.1:$IMAP_PORT list
  $build/proto/imap4 -o cafile=$CAFILE,passfile=$state/password imaps://alice@127.0.0.1:$IMAPS_PORT \\
      'select INBOX' 'fetch 1 (BODY.PEEK[HEADER])'

Stop and remove everything:
  $top/contrib/demo.sh stop
MSG
