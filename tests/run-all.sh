#!/bin/sh
# The README's test command: installs what is missing (Debian packages, as
# root), builds, and runs every test:
#   1. a -Werror build with AddressSanitizer + UndefinedBehaviorSanitizer,
#      running the whole suite (unit, fake-server, Dovecot and mount tests);
#   2. a plain -Werror build running the suite under valgrind;
#   3. the parser fuzzer (clang, libFuzzer) for a fixed number of runs;
#   4. make distcheck.
# It ends with one line "N passed, N failed" counting Check's test cases,
# and fails if anything a test started (dovecot, a FUSE mount) outlived it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

sh contrib/install-deps.sh

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null
fi

# Check's per-program summaries ("100%: Checks: 12, Failures: 0, Errors: 0")
# are collected from the test logs of every build.
summary=$(mktemp)
failures=$(mktemp)
before_file=$(mktemp)
trap 'rm -f "$summary" "$failures" "$before_file"' EXIT
{ pgrep -f 'dovecot|cyrmaster|imapfs' | sed 's/^/pid /'; grep ' fuse\.imapfs ' /proc/mounts; } |
	sort >"$before_file" || true

run_suite() {  # name, configure args, extra make variables
	name=$1; shift
	args=$1; shift
	dir="$top/build-$name"
	mkdir -p "$dir"
	echo "== $name: configure $args"
	(cd "$dir" && "$top/configure" $args >/dev/null)
	echo "== $name: build"
	make -C "$dir" -j"$jobs" >/dev/null
	echo "== $name: test"
	status=0
	make -C "$dir" -j"$jobs" check "$@" >"$dir/check.out" 2>&1 || status=$?
	grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$dir/check.out" || true
	for log in "$dir"/tests/*/*.log; do
		[ -f "$log" ] || continue
		prog=${log#"$dir"/tests/}
		grep -h -E '^[0-9]+%: Checks: ' "$log" | sed "s|^|$name ${prog%.log}: |" >>"$summary" || true
		# Check's own lines for a failed assertion or a crashed test
		# ("file.c:123:F:tcase:test:0: message"), shown again at the end,
		# where a truncated CI log still has them
		grep -h -E '^[^ :]+\.c:[0-9]+:[FE]:' "$log" | sed "s|^|$name: |" >>"$failures" || true
	done
	if [ "$status" -ne 0 ]; then
		cat "$dir/test-suite.log" 2>/dev/null | tail -n 200
		echo "== $name: FAILED"
		return 1
	fi
}

failed=0
run_suite asan "--enable-werror --enable-sanitizers" || failed=1
run_suite valgrind "--enable-werror" LOG_COMPILER="$top/tests/valgrind-wrap.sh" || failed=1

echo "== fuzz: parser"
fuzzdir="$top/build-fuzz"
mkdir -p "$fuzzdir"
if (cd "$fuzzdir" && "$top/configure" CC=clang --enable-fuzzing --enable-werror >/dev/null &&
    make -j"$jobs" >/dev/null && make fuzz-run); then
	echo "fuzz: ok"
else
	echo "fuzz: FAILED"; failed=1
fi

echo "== distcheck"
# The tarball builds everything and runs the unit half: the whole suite
# already ran twice above.
unit_tests=$(make -s -C "$top/build-valgrind" print-unit-tests)
if make -C "$top/build-valgrind" -j"$jobs" distcheck TESTS="$unit_tests" \
	>"$top/build-valgrind/distcheck.out" 2>&1; then
	echo "distcheck: ok"
else
	tail -n 60 "$top/build-valgrind/distcheck.out"; echo "distcheck: FAILED"; failed=1
fi

# Nothing a test started may outlive it: whatever ran before the tests (a
# user's own mount, say) is left out of the comparison.
leftovers() {
	{ pgrep -f 'dovecot|cyrmaster|imapfs' | sed 's/^/pid /'; grep ' fuse\.imapfs ' /proc/mounts; } |
		sort || true
}
after=$(leftovers)
stray=$(printf '%s\n' "$after" | grep -vxF -f "$before_file" | grep . || true)
if [ -n "$stray" ]; then
	echo "left behind by the tests:"
	printf '%s\n' "$stray" | while read -r kind rest; do
		if [ "$kind" = pid ]; then ps -o pid=,args= -p "$rest" || true; else echo "$kind $rest"; fi
	done
	failed=1
fi

echo
echo "Check summaries:"
cat "$summary"
if [ -s "$failures" ]; then
	echo
	echo "Failed checks:"
	cat "$failures"
fi
passed=0; bad=0
while read -r line; do
	n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/')
	set -- $n
	passed=$((passed + $1 - $2 - $3)); bad=$((bad + $2 + $3))
done <"$summary"
[ "$failed" -eq 0 ] || bad=$((bad > 0 ? bad : 1))
echo "$passed passed, $bad failed"
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
