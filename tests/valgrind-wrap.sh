#!/bin/sh
# Runs a test program under valgrind; any error or definite leak fails it.
# Check forks each test case; valgrind follows forks (not execs) by itself.
# Valgrind runs code 20-50 times slower: Check's per-test timeouts (4 s
# unless a test sets its own) are for native speed.
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-5}
export CK_TIMEOUT_MULTIPLIER
# The write path's mounts run their daemon under valgrind too; the other
# mount tests wait on what the daemon does in time, which valgrind distorts.
case "$1" in
*/check_mount_write)
	IMAPFS_DAEMON_WRAPPER="$(cd "$(dirname "$0")" && pwd)/valgrind-daemon.sh"
	export IMAPFS_DAEMON_WRAPPER
	;;
esac
# Valgrind runs one thread at a time and takes a stat() to be quick: a
# test's stat on a mount whose daemon waits for a proxy or a scripted server
# in the test's own process then stops that server until the daemon gives
# up (check_fresh_idle's silent IDLE, 30 s).  fuse-compatible lets the
# other threads run during such calls, for the programs that hold such a
# server; the others keep valgrind's default (3.19 aborts on close_range
# and on readlink of a symlink under the hint: harness_os.c avoids both).
hints=none
case "$1" in
*/check_fresh|*/check_fresh_idle|*/check_mount_latency|*/check_mount_partial|*/check_mount_readers|*/check_stall)
	hints=fuse-compatible
	;;
esac
exec valgrind --quiet --sim-hints=$hints --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --trace-children=no --child-silent-after-fork=no \
	--suppressions="$(dirname "$0")/valgrind.supp" "$@"
