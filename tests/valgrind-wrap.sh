#!/bin/sh
# Runs a test program under valgrind; any error or definite leak fails it.
# Check forks each test case; valgrind follows forks (not execs) by itself.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --trace-children=no --child-silent-after-fork=no \
	--suppressions="$(dirname "$0")/valgrind.supp" "$@"
