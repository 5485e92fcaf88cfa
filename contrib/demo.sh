#!/bin/sh
# The README's first command: installs what is missing, builds imapfs,
# starts a private Dovecot on 127.0.0.1 seeded with sample mail, mounts it
# with imapfs, and says what to try.  "contrib/demo.sh stop" unmounts,
# stops and removes the demo.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
state=${IMAPFS_DEMO_DIR:-/tmp/imapfs-demo}
build="$top/build-demo"

if [ "${1:-}" = stop ]; then
	if grep -q " $state/Mail " /proc/mounts 2>/dev/null; then
		fusermount3 -u "$state/Mail" || umount -l "$state/Mail"
	fi
	if [ -x "$build/tests/harness/testserver" ] && [ -d "$state/server" ]; then
		"$build/tests/harness/testserver" stop "$state/server"
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
	make -j"$(nproc)" tests/harness/testserver >/dev/null)

if [ -d "$state/server" ]; then
	echo "a demo is already running in $state; 'contrib/demo.sh stop' first" >&2
	exit 1
fi
mkdir -p "$state"
chmod 755 "$state"   # the unprivileged mail user must reach the Maildirs inside
eval "$("$build/tests/harness/testserver" start "$state/server" --seed demo)"
printf 'secret\n' >"$state/password"
chmod 600 "$state/password"
mkdir -p "$state/Mail"
"$build/fs/imapfs" -o "tls=none,passfile=$state/password,cachedir=$state/cache" \
	"imap://alice@127.0.0.1:$IMAP_PORT" "$state/Mail"

cat <<MSG

Your demo mail is mounted at $state/Mail
(user alice on a private Dovecot: plain IMAP on 127.0.0.1:$IMAP_PORT,
implicit TLS on 127.0.0.1:$IMAPS_PORT; the cache is in $state/cache).

Try:
  ls $state/Mail $state/Mail/Reisen
  ls -l $state/Mail/INBOX | head
  grep -rl 'Zürich' $state/Mail | head
  rsync -a $state/Mail/ /tmp/mail-backup/     # a second run copies nothing

Change it (each step is one IMAP command, confirmed before it returns):
  mkdir $state/Mail/Neu                                   # CREATE
  printf 'Subject: hello\\n\\nfrom the shell\\n' > $state/Mail/Neu/note.eml  # APPEND at close
  ls $state/Mail/Neu                                      # it is 1.eml now
  mv $state/Mail/Neu/1.eml $state/Mail/Archive/           # UID MOVE
  getfattr -d $state/Mail/INBOX/1.eml                     # flags, UID, date
  setfattr -n user.imap.flags -v '\\Seen \\Flagged' $state/Mail/INBOX/1.eml
  rmdir $state/Mail/Neu                                   # DELETE (when empty)

The IMAP client, call by call as Python's imaplib would print it:
  $build/tools/imap4/imap4 -o tls=none,passfile=$state/password imap://alice@127.0.0.1:$IMAP_PORT \\
      'select INBOX' "fetch 1 '(UID RFC822.SIZE)'"

Unmount and stop everything:
  $top/contrib/demo.sh stop
MSG
