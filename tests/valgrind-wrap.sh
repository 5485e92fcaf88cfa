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
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --trace-children=no --child-silent-after-fork=no \
	--suppressions="$(dirname "$0")/valgrind.supp" "$@"
