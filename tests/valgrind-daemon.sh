#!/bin/sh
# Runs the imapfs daemon of a mount test under valgrind (harness_mount.c
# calls it with the daemon's command line): any error or definite leak
# makes the daemon exit 99, which fails the test's unmount check, with
# valgrind's report in the mount's log.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --suppressions="$(dirname "$0")/valgrind.supp" "$@"
