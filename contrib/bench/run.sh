#!/bin/bash
# contrib/bench/run.sh: is imapfs fast?  On demand, not part of make check.
#
#   contrib/bench/run.sh [--messages N] [--folders F] [--rtt-ms MS] [--repeat K]
#                        [--build DIR] [--imapfs PATH] [--limit SECONDS]
#                        [--cache-fs ext4|dir] [--big-folder N] [--rate-kbit N]
#                        [--only compress|partial|latency|scale|readers] [--scale-messages N]
#                        [--fs-opts OPTS] [--keep-logs DIR]
#
# As root.  Starts a private Dovecot seeded with the "bench" corpus, measures
# the baselines (Python imaplib bulk fetch, mbsync, local grep/rsync over the
# server's own Maildir) and imapfs (grep, ls -l, rsync over a mount, and
# what one open+close of a message costs: on a read-write mount the FUSE
# round trip of its FLUSH), each directly and through
# contrib/bench/latency-proxy at MS round trip, K times
# (default 3; the table shows medians), prints a table and the ratios the
# project tracks, and tears everything down.  Defaults: 10000 messages in 10
# folders, 20 ms, build dir ./build-bench (configured and built if needed).
# Every step is bounded by --limit seconds (default 600).  Each imapfs cache
# gets a freshly made ext4 file system on a loop device (--cache-fs ext4,
# the default): ext4 makes every file creation scan the inodes deleted in
# the last minutes, so on a disk where the benchmark itself (or anything
# else) just deleted thousands of files a cold read measured twice as slow;
# --cache-fs dir puts the caches in the temporary directory instead.  A second
# user's INBOX of --big-folder N messages (default 20000, 0: none) gives
# the ls -l rows of a big folder, against ls -l of its Maildir.
# Compression (COMPRESS=DEFLATE, which the Dovecot offers): cold grep -r on a
# thin link, a second proxy at MS round trip whose N kbit/s (--rate-kbit,
# default 40000) each direction shares among all connections, with
# compress=no and =yes against the bulk fetch through the same proxy; and
# on loopback compress=auto (the default, off there), =no and =yes.
# --only compress runs those rows and their baselines alone; --only latency
# the bulk fetch and imapfs's cold grep -r, on loopback and at MS, each
# grep noted with the CPU seconds imapfs and Dovecot spent on it and how
# busy the machine was.
# Partial fetch: head -c 200 of a 30 MB message (in the second user's
# folder Partial) on a fresh mount, and the MB the server sent for it
# (Dovecot's out= of the mount's sessions); --only partial runs it alone.
# Parallel readers: cold rg -l (ripgrep's walker hands a folder's files to
# several threads) against cold grep -rl, each on a fresh mount, direct and
# at MS (skipped, saying so, without rg); --only readers runs them alone.
# --only scale: an account of N small (2-4 KB) messages in 100 folders
# (--scale-messages, default 200000) instead of the corpus: mount, ls -lR
# (twice), grep -r, rsync -a and a no-change one, each step's time and the
# daemon's RSS after it, and its peak RSS (VmHWM; the target: under 64 MB).
# --fs-opts adds -o OPTS to every mount (debug: a protocol trace with the
# time of each line, to see where a scan waits); --keep-logs copies each
# mount's log (imapfs-TAG.log) to DIR before the teardown.
# Exit status: 0
# when every step ran and every result checked out, 1 on a setup failure,
# 3 when a step failed, timed out or gave a wrong answer.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
bench="$top/contrib/bench"
PY=/usr/bin/python3
NEEDLE="imapfs-corpus-"   # in every corpus message, once

messages=10000
folders=10
rtt=20
repeat=3
build="$top/build-bench"
imapfs=""
limit=600
cachefs=ext4
big=20000
rate=40000
only=""
scale=200000
fs_opts=""
keep_logs=""

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--messages) messages=${2:?}; shift 2 ;;
	--folders) folders=${2:?}; shift 2 ;;
	--rtt-ms) rtt=${2:?}; shift 2 ;;
	--repeat) repeat=${2:?}; shift 2 ;;
	--build) build=${2:?}; shift 2 ;;
	--imapfs) imapfs=${2:?}; shift 2 ;;
	--limit) limit=${2:?}; shift 2 ;;
	--cache-fs) cachefs=${2:?}; shift 2 ;;
	--big-folder) big=${2:?}; shift 2 ;;
	--rate-kbit) rate=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	--scale-messages) scale=${2:?}; shift 2 ;;
	--fs-opts) fs_opts=${2:?}; shift 2 ;;
	--keep-logs) keep_logs=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,51p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
case "$only" in ''|compress|partial|latency|scale|readers) ;; *)
	die "--only takes compress, partial, latency, scale or readers" ;; esac
case "$messages$folders$limit$repeat$big$rate$scale" in
*[!0-9]*) die "--messages, --folders, --repeat, --limit, --big-folder, --rate-kbit and --scale-messages take whole numbers" ;;
esac
[ "$only" = scale ] && { messages=$scale; folders=100; }
[ "$repeat" -ge 1 ] || die "--repeat must be at least 1"
case "$rtt" in ''|*[!0-9.]*) die "--rtt-ms takes a number" ;; esac
case "$cachefs" in ext4|dir) ;; *) die "--cache-fs is ext4 or dir" ;; esac
if [ "$cachefs" = ext4 ] && ! command -v mkfs.ext4 >/dev/null; then
	die "--cache-fs ext4 needs mkfs.ext4 (e2fsprogs)"
fi
[ "$(id -u)" = 0 ] || die "run as root (a private Dovecot and FUSE mounts)"
[ -x "$PY" ] || die "needs the system python3 ($PY)"
for tool in mbsync rsync grep fusermount3 timeout; do
	command -v "$tool" >/dev/null || die "needs $tool (contrib/install-deps.sh installs it)"
done
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac

# ---- build what is missing (incremental make; fs/imapfs once it exists) ----
mkdir -p "$build" || die "cannot create $build"
if [ ! -f "$build/Makefile" ]; then
	note "configuring $build"
	(cd "$build" && "$top/configure" >"$build/bench-configure.log" 2>&1) ||
		die "configure failed, see $build/bench-configure.log"
fi
(cd "$build" && make -j2 tests/harness/testserver contrib/bench/latency-proxy >"$build/bench-make.log" 2>&1) ||
	die "building testserver and latency-proxy failed, see $build/bench-make.log"
if [ -z "$imapfs" ]; then
	imapfs="$build/fs/imapfs"
	# shellcheck disable=SC2016  # a make variable, literally
	if grep -q -F 'fs/imapfs$(EXEEXT):' "$build/Makefile" 2>/dev/null; then
		(cd "$build" && make -j2 fs/imapfs >>"$build/bench-make.log" 2>&1) ||
			note "building fs/imapfs failed (see $build/bench-make.log): imapfs rows skipped"
	fi
fi
[ -x "$imapfs" ] && [ -c /dev/fuse ] || imapfs=""
proxy_bin="$build/contrib/bench/latency-proxy"

# ---- state and teardown ----
T=$(mktemp -d /tmp/imapfs-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$T"   # the unprivileged mail user must reach the Maildir inside
server_up=no
proxy_pid=""
rate_proxy_pid=""
timed_pid=""
fs_pids=()
fs_mnts=()
cache_mnts=()

is_mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }

unmount_quietly() {
	if is_mounted "$1"; then
		timeout 10 fusermount3 -u "$1" 2>/dev/null || timeout 10 umount -l "$1" 2>/dev/null
	fi
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local pid mnt
	trap - EXIT INT TERM
	# timed.py kills the step's whole process group when it gets a TERM.
	if [ -n "$timed_pid" ]; then
		kill -TERM "$timed_pid" 2>/dev/null
		wait "$timed_pid" 2>/dev/null
	fi
	for mnt in "${fs_mnts[@]}"; do unmount_quietly "$mnt"; done
	if [ -n "$keep_logs" ]; then
		mkdir -p "$keep_logs" && cp "$T"/imapfs-*.log "$keep_logs"/ 2>/dev/null
	fi
	for mnt in "${cache_mnts[@]}"; do umount "$mnt" 2>/dev/null; done
	for pid in "${fs_pids[@]}"; do
		for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for pid in $proxy_pid $rate_proxy_pid; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ "$server_up" = yes ] && "$build/tests/harness/testserver" stop "$T/server" >/dev/null 2>&1
	# Never recurse into something still mounted.
	if grep -q " $T/" /proc/mounts; then
		note "something is still mounted under $T; leaving it"
	else
		rm -rf --one-file-system "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- results ----
# S[KEY.COL]: the samples, one per repeat; F[KEY.COL]: the first word saying
# what went wrong (FAIL, TIMEOUT, WRONG), which then stands for the result.
declare -A S F R RSS
problems=0
cols=(direct rtt)
col_port() {
	case "$1" in
	direct) echo "$IMAP_PORT" ;;
	rate) echo "$rate_port" ;;
	*) echo "$proxy_port" ;;
	esac
}

record() { S[$1.$2]="${S[$1.$2]:-} $3"; }

fail() {  # fail KEY COL WORD REASON
	[ -n "${F[$1.$2]:-}" ] || F[$1.$2]=$3
	problems=$((problems + 1))
	note "$1 ($2): $4"
}

# timed KEY COL CMD...: runs CMD bounded by $limit, output in $OUT.
# Sets ELAPSED and returns 0 when CMD exited 0 (else it was reported).
timed() {
	local key=$1 col=$2 line status
	shift 2
	OUT="$T/out.$key.$col"
	# In the background so that a TERM to this script is handled at once
	# (bash runs traps only between commands, or during a wait).
	"$PY" "$bench/timed.py" "$limit" "$OUT" "$T/err.$key.$col" "$@" >"$T/timed.line" &
	timed_pid=$!
	wait "$timed_pid" || true
	timed_pid=""
	line=$(cat "$T/timed.line")
	[ -n "$line" ] || line="0 1"
	ELAPSED=${line% *}
	status=${line#* }
	if [ "$status" = 124 ]; then
		fail "$key" "$col" TIMEOUT "over $limit s: $*"
	elif [ "$status" != 0 ]; then
		fail "$key" "$col" FAIL "exit $status: $* ($(tail -n 2 "$T/err.$key.$col" | tr '\n' ' '))"
	fi
	[ "$status" = 0 ]
}

# Files that grep -c counted the needle in (its lines are FILE:COUNT).
grep_hits() { grep -c ':[1-9][0-9]*$' "$1"; }

# ---- the server, the proxy ----
note "seeding $messages messages in $folders folders (a while for large N)"
preset=$([ "$only" = scale ] && echo small || echo bench)
env_out=$("$build/tests/harness/testserver" start "$T/server" --seed "$preset:$messages:$folders" \
	--compress yes) ||
	die "testserver start failed"
server_up=yes
eval "$env_out"
{ [ -n "${IMAP_PORT:-}" ] && [ -d "${MAILDIR:-}" ]; } || die "testserver gave no IMAP_PORT/MAILDIR"
printf '%s\n' "$IMAP_PASS" >"$T/pass"
chmod 600 "$T/pass"
# INBOX gets message 0, F, 2F...: it is always among the largest folders.
inbox_count=$(find "$MAILDIR/cur" "$MAILDIR/new" -type f | wc -l)

"$proxy_bin" --rtt-ms "$rtt" 127.0.0.1 "$IMAP_PORT" >"$T/proxy.out" 2>"$T/proxy.err" &
proxy_pid=$!
for _ in $(seq 100); do
	grep -q '^PORT=' "$T/proxy.out" 2>/dev/null && break
	sleep 0.05
done
proxy_port=$(sed -n 's/^PORT=//p' "$T/proxy.out")
[ -n "$proxy_port" ] || die "latency-proxy did not start: $(cat "$T/proxy.err")"
"$proxy_bin" --rtt-ms "$rtt" --rate-kbit "$rate" 127.0.0.1 "$IMAP_PORT" >"$T/rate-proxy.out" \
	2>"$T/rate-proxy.err" &
rate_proxy_pid=$!
for _ in $(seq 100); do
	grep -q '^PORT=' "$T/rate-proxy.out" 2>/dev/null && break
	sleep 0.05
done
rate_port=$(sed -n 's/^PORT=//p' "$T/rate-proxy.out")
[ -n "$rate_port" ] || die "the rate-limited latency-proxy did not start: $(cat "$T/rate-proxy.err")"

# Dovecot indexes a Maildir on its first SELECT: do that once, untimed, so
# no measurement pays for it.
"$PY" "$bench/bulk_fetch.py" 127.0.0.1 "$IMAP_PORT" "$IMAP_USER" "$T/pass" --probes 1 \
	>"$T/warmup.out" || die "warm-up fetch failed"
corpus_bytes=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$T/warmup.out")

# The big folder: another user's INBOX, indexed by Dovecot (a SELECT)
# before anything is timed.
BIG_USER=bob
big_maildir=""
if [ "$big" -gt 0 ] && [ -z "$only" ]; then
	note "seeding $big messages in $BIG_USER's INBOX"
	if "$build/tests/harness/testserver" seed "$T/server" --seed "bench:$big:1" \
		--seed-user "$BIG_USER" 2>"$T/seed-big.err" &&
		"$PY" - 127.0.0.1 "$IMAP_PORT" "$BIG_USER" "$T/pass" <<'PYEOF'
import imaplib, sys
host, port, user, passfile = sys.argv[1:]
c = imaplib.IMAP4(host, int(port))
c.login(user, open(passfile).read().strip())
typ, data = c.select("INBOX", readonly=True)
c.logout()
sys.exit(typ != "OK")
PYEOF
	then
		big_maildir="$MAILROOT/$BIG_USER"
	else
		note "seeding $BIG_USER failed ($(tail -n 1 "$T/seed-big.err")): the big folder's rows are skipped"
		problems=$((problems + 1))
	fi
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- baseline A: imaplib, one UID FETCH 1:* (BODY.PEEK[]) per folder ----
measured_rtt=""
measure_bulk() {
	local col=$1 got
	note "A: imaplib bulk fetch ($col)"
	timed bulk "$col" "$PY" "$bench/bulk_fetch.py" 127.0.0.1 "$(col_port "$col")" \
		"$IMAP_USER" "$T/pass" || return
	got=$(sed -n 's/.*messages=\([0-9]*\).*/\1/p' "$OUT")
	if [ "$got" != "$messages" ]; then
		fail bulk "$col" WRONG "fetched $got messages, not $messages"
	else
		# Its own clock: connect to last FETCH, without the interpreter's start.
		record bulk "$col" "$(sed -n 's/^seconds=\([0-9.]*\).*/\1/p' "$OUT")"
	fi
	[ "$col" = rtt ] && measured_rtt=$(sed -n 's/.*rtt_ms=\([0-9.]*\).*/\1/p' "$OUT")
}

# ---- baseline B: mbsync into a local Maildir, then a no-change run ----
mbsync_conf() {  # mbsync_conf PORT DIR
	# FSync no: the time is the protocol's and the copy's, not the disk's
	# flushes (a shared machine makes those noisy; imapfs's cache does not
	# flush each message either).
	cat <<EOF
FSync no

IMAPAccount bench
Host 127.0.0.1
Port $1
User $IMAP_USER
PassCmd "cat $T/pass"
SSLType None
AuthMechs LOGIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path $2/
Inbox $2/INBOX
SubFolders Verbatim

Channel bench
Far :bench-far:
Near :bench-near:
Patterns *
Create Near
Sync Pull
SyncState *
Expunge None
EOF
}
measure_mbsync() {
	local col=$1 dir="$T/mbsync-$1" got
	note "B: mbsync ($col)"
	mkdir -p "$dir"
	mbsync_conf "$(col_port "$col")" "$dir" >"$T/mbsyncrc-$col"
	if timed mbsync_full "$col" mbsync -c "$T/mbsyncrc-$col" -a -q; then
		got=$(find "$dir" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)
		if [ "$got" != "$messages" ]; then
			fail mbsync_full "$col" WRONG "pulled $got messages, not $messages"
		else
			record mbsync_full "$col" "$ELAPSED"
		fi
		# Right after the full pull its Maildirs changed within the current
		# second, and mbsync then waits about a second before it trusts
		# them: a user's next sync comes later than that.
		sleep 1.1
		timed mbsync_noop "$col" mbsync -c "$T/mbsyncrc-$col" -a -q &&
			record mbsync_noop "$col" "$ELAPSED"
	fi
	rm -rf "$dir"
}

# ---- baseline C: the floor, local disk over the server's own Maildir ----
measure_local() {
	local got
	note "C: local grep and rsync"
	if timed local_grep direct grep -r -c "$NEEDLE" "$MAILDIR"; then
		# Only the messages: Dovecot's index files are beside them.
		got=$(grep -E -c '/(cur|new)/[^/]*:[1-9][0-9]*$' "$OUT")
		if [ "$got" != "$messages" ]; then
			fail local_grep direct WRONG "grep found $got messages, not $messages"
		else
			record local_grep direct "$ELAPSED"
		fi
	fi
	timed local_rsync direct rsync -a "$MAILDIR/" "$T/rsync-local/" &&
		record local_rsync direct "$ELAPSED"
	if timed local_rsync_noop direct rsync -a --stats "$MAILDIR/" "$T/rsync-local/"; then
		if grep -q '^Number of regular files transferred: 0$' "$OUT"; then
			record local_rsync_noop direct "$ELAPSED"
		else
			fail local_rsync_noop direct WRONG "the second rsync transferred files"
		fi
	fi
	rm -rf "$T/rsync-local"
}

# ---- imapfs ----
FS_PID=""
FS_MNT=""
FS_USER=""   # whom fs_mount logs in as: IMAP_USER when empty

# fresh_cache TAG: an empty cache directory (on a new ext4 with --cache-fs ext4).
fresh_cache() {
	local dir="$T/cache-$1"
	if grep -q " $dir " /proc/mounts; then umount "$dir" || return 1; fi
	rm -rf "$dir" "$dir.img"
	mkdir -p "$dir"
	[ "$cachefs" = ext4 ] || return 0
	truncate -s 4G "$dir.img" && mkfs.ext4 -q -F "$dir.img" && mount -o loop "$dir.img" "$dir" ||
		return 1
	cache_mnts+=("$dir")
}

# fs_mount COL TAG [OPTS]: a fresh mount with a fresh cache dir and the
# extra -o OPTS; 0 once it is in /proc/mounts (then the time it took is a
# sample of fs_mount).
fs_mount() {
	local col=$1 tag=$2 extra=${3:+,$3}${fs_opts:+,$fs_opts} t0 i
	FS_MNT="$T/mnt-$tag"
	mkdir -p "$FS_MNT"
	fresh_cache "$tag" || { fail fs_mount "$col" FAIL "cannot make a cache file system"; return 1; }
	t0=$(date +%s%N)
	"$imapfs" -f -o "tls=none,passfile=$T/pass,cachedir=$T/cache-$tag$extra" \
		"imap://${FS_USER:-$IMAP_USER}@127.0.0.1:$(col_port "$col")" "$FS_MNT" >"$T/imapfs-$tag.log" 2>&1 &
	FS_PID=$!
	fs_pids+=("$FS_PID")
	fs_mnts+=("$FS_MNT")
	for i in $(seq 3000); do   # 30 s at most
		if is_mounted "$FS_MNT"; then
			record fs_mount "$col" "$(awk -v a="$t0" -v b="$(date +%s%N)" \
				'BEGIN { printf "%.4f", (b - a) / 1e9 }')"
			return 0
		fi
		kill -0 "$FS_PID" 2>/dev/null || break
		sleep 0.01
	done
	fail fs_mount "$col" FAIL "no mount after ${i}0 ms: $(tail -n 3 "$T/imapfs-$tag.log" | tr '\n' ' ')"
	fs_unmount "$col"
	return 1
}

# fs_unmount COL: notes the daemon's peak RSS, unmounts, makes sure the
# daemon is gone.
fs_unmount() {
	local col=$1 hwm
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$FS_PID/status" 2>/dev/null)
	if [ -n "$hwm" ] && [ "$hwm" -gt "${RSS[$col]:-0}" ]; then RSS[$col]=$hwm; fi
	unmount_quietly "$FS_MNT"
	for _ in $(seq 100); do kill -0 "$FS_PID" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$FS_PID" 2>/dev/null; then
		note "imapfs $FS_PID still running 5 s after the unmount: TERM"
		kill -TERM "$FS_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$FS_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$FS_PID" 2>/dev/null
		problems=$((problems + 1))
	fi
	wait "$FS_PID" 2>/dev/null
	kill -0 "$FS_PID" 2>/dev/null && { note "imapfs $FS_PID would not die"; problems=$((problems + 1)); }
	is_mounted "$FS_MNT" && { note "$FS_MNT is still mounted"; problems=$((problems + 1)); }
}

fs_grep() {  # fs_grep KEY COL
	local got
	timed "$1" "$2" grep -r -c "$NEEDLE" "$FS_MNT" || return
	got=$(grep_hits "$OUT")
	if [ "$got" != "$messages" ]; then
		fail "$1" "$2" WRONG "grep found $got messages, not $messages"
	else
		record "$1" "$2" "$ELAPSED"
	fi
}

# fs_open_close KEY COL: microseconds per open+close of one message (a
# synchronous FUSE request on a read-write mount, none on a read-only one).
fs_open_close() {
	local f
	f=$(timeout "$limit" find "$FS_MNT" -name '*.eml' -print -quit)
	[ -n "$f" ] || { fail "$1" "$2" FAIL "no message file under $FS_MNT (or none within $limit s)"; return; }
	timed "$1" "$2" "$PY" "$bench/open_close.py" "$f" || return
	record "$1" "$2" "$(cat "$OUT")"
}

fs_ls() {  # fs_ls KEY COL [DIR COUNT]
	local got dir=${3:-$FS_MNT/INBOX} want=${4:-$inbox_count}
	timed "$1" "$2" ls -l "$dir" || return
	got=$(grep -c -v '^total ' "$OUT")
	if [ "$got" != "$want" ]; then
		fail "$1" "$2" WRONG "ls -l $dir listed $got entries, not $want"
	else
		record "$1" "$2" "$ELAPSED"
	fi
}

# ls -l of the big folder: its Maildir on local disk, then through a mount
# (the cold run fetches the listing, the warm one is the kernel's and the
# daemon's per-file cost).
measure_big() {
	[ -n "$big_maildir" ] || return 0
	note "C and imapfs: ls -l of $big messages"
	fs_ls local_ls_big direct "$big_maildir/cur" "$big"
	FS_USER=$BIG_USER
	if fs_mount direct "big"; then
		fs_ls fs_ls_big_cold direct "$FS_MNT/INBOX" "$big"
		fs_ls fs_ls_big_warm direct "$FS_MNT/INBOX" "$big"
		fs_unmount direct
	fi
	FS_USER=""
}

fs_rsync() {  # fs_rsync COL
	local col=$1 dest="$T/rsync-fs-$1" got
	if timed fs_rsync "$col" rsync -a "$FS_MNT/" "$dest/"; then
		got=$(grep -r -l "$NEEDLE" "$dest" | wc -l)
		if [ "$got" != "$messages" ]; then
			fail fs_rsync "$col" WRONG "the copy holds $got messages, not $messages"
		else
			record fs_rsync "$col" "$ELAPSED"
		fi
		if timed fs_rsync_noop "$col" rsync -a --stats "$FS_MNT/" "$dest/"; then
			if grep -q '^Number of regular files transferred: 0$' "$OUT"; then
				record fs_rsync_noop "$col" "$ELAPSED"
			else
				fail fs_rsync_noop "$col" WRONG "the second rsync: $(grep '^Number of regular files transferred' "$OUT")"
			fi
		fi
		# with the flags (user.imap.* xattrs): the first -aX run adds them
		# to the copy, the second must find nothing to do
		if rsync -aX "$FS_MNT/" "$dest/" >/dev/null 2>&1 &&
			timed fs_rsyncx_noop "$col" rsync -aXi "$FS_MNT/" "$dest/"; then
			if [ ! -s "$OUT" ]; then
				record fs_rsyncx_noop "$col" "$ELAPSED"
			else
				fail fs_rsyncx_noop "$col" WRONG "the second rsync -aX changed $(wc -l <"$OUT") entries"
			fi
		fi
	fi
	rm -rf "$dest"
}

# fs_backup_restore COL: a second restic backup of INBOX (nothing may be
# new or changed), and a restore of INBOX's messages with rsync -aX into a
# new folder (removed again afterwards, untimed).
fs_backup_restore() {
	local col=$1 bak="$T/bak-$col" folder="Restored-$col-$round" got
	if command -v restic >/dev/null; then
		local repo="$T/restic-$col"
		if RESTIC_PASSWORD=bench restic --no-cache -q -r "$repo" init >/dev/null 2>&1 &&
			RESTIC_PASSWORD=bench restic --no-cache -q -r "$repo" backup "$FS_MNT/INBOX" >/dev/null 2>&1 &&
			RESTIC_PASSWORD=bench timed fs_restic_noop "$col" restic --no-cache -r "$repo" backup "$FS_MNT/INBOX"; then
			if grep -q 'Files: *0 new, *0 changed' "$OUT"; then
				record fs_restic_noop "$col" "$ELAPSED"
			else
				fail fs_restic_noop "$col" WRONG "the second backup: $(grep 'Files:' "$OUT")"
			fi
		fi
		rm -rf "$repo"
	fi
	rsync -aX "$FS_MNT/INBOX/" "$bak/" >/dev/null 2>&1 || { fail fs_restore "$col" FAIL "no backup of INBOX"; return; }
	mkdir "$FS_MNT/$folder" || { fail fs_restore "$col" FAIL "mkdir $folder"; return; }
	if timed fs_restore "$col" rsync -aX "$bak/" "$FS_MNT/$folder/"; then
		got=$(find "$FS_MNT/$folder" -type f | wc -l)
		if [ "$got" != "$inbox_count" ]; then
			fail fs_restore "$col" WRONG "the restored folder holds $got messages, not $inbox_count"
		else
			record fs_restore "$col" "$ELAPSED"
		fi
	fi
	rm -rf "$bak"
}

# delete_folder NAME: straight on the server (through the mount it would
# cost an expunge per message), so later rounds see the corpus alone.
delete_folder() {
	"$PY" - 127.0.0.1 "$IMAP_PORT" "$IMAP_USER" "$T/pass" "$1" <<'PYEOF' || fail fs_restore cleanup FAIL "cannot delete $1"
import imaplib, sys
host, port, user, passfile, name = sys.argv[1:]
c = imaplib.IMAP4(host, int(port))
c.login(user, open(passfile).read().strip())
typ, data = c.delete(name)
c.logout()
sys.exit(typ != "OK")
PYEOF
}

measure_imapfs() {
	local col=$1
	note "imapfs: grep ($col)"
	if fs_mount "$col" "grep-$col"; then
		fs_grep fs_grep_cold "$col"
		fs_grep fs_grep_warm "$col"
		fs_open_close fs_open_close "$col"
		fs_unmount "$col"
	fi
	# a read-only mount sends no request per close (nothing to deliver)
	note "imapfs: grep, -o ro ($col)"
	if fs_mount "$col" "grep-ro-$col" ro; then
		fs_grep fs_grep_ro_cold "$col"
		fs_grep fs_grep_ro_warm "$col"
		fs_open_close fs_open_close_ro "$col"
		fs_unmount "$col"
	fi
	note "imapfs: ls -l INBOX ($col)"
	if fs_mount "$col" "ls-$col"; then
		fs_ls fs_ls_cold "$col"
		fs_ls fs_ls_warm "$col"
		fs_unmount "$col"
	fi
	note "imapfs: rsync ($col)"
	if fs_mount "$col" "rsync-$col"; then
		fs_rsync "$col"
		fs_unmount "$col"
	fi
	note "imapfs: restic and a restore ($col)"
	if fs_mount "$col" "restore-$col"; then
		fs_backup_restore "$col"
		fs_unmount "$col"
		delete_folder "Restored-$col-$round"
	fi
}

# measure_compress: cold grep with compress=OPT through COL, as key
# fs_grep_z_OPT.COL.
measure_compress() {
	local col opt
	for col in rate direct; do
		for opt in no yes auto; do
			# the proxy listens on 127.0.0.1, where auto is off: the
			# link's auto would be compress=yes (a remote server)
			[ "$col" = rate ] && [ "$opt" = auto ] && continue
			note "imapfs: grep, compress=$opt ($col)"
			if fs_mount "$col" "z-$opt-$col" "compress=$opt"; then
				fs_grep "fs_grep_z_$opt" "$col"
				if [ "$opt" = yes ] && ! grep -q 'COMPRESS=DEFLATE on' "$T/imapfs-z-$opt-$col.log"; then
					fail "fs_grep_z_$opt" "$col" WRONG "compress=yes, but the log says nothing of COMPRESS"
				fi
				fs_unmount "$col"
			fi
		done
	done
}

# measure_partial: head -c 200 of a 30 MB message on a fresh mount, as
# key fs_partial_head.direct: the MB the server sent the mount's sessions
# (Dovecot logs out= when a session ends).  Once: the message is stored
# for it.
measure_partial() {
	local log="$T/server/log/dovecot.log" before sent
	note "imapfs: head -c 200 of a 30 MB message"
	"$PY" - 127.0.0.1 "$IMAP_PORT" "$BIG_USER" "$T/pass" <<'PYEOF' ||
import imaplib, sys
host, port, user, passfile = sys.argv[1:]
c = imaplib.IMAP4(host, int(port))
c.login(user, open(passfile).read().strip())
c.create("Partial")
line = b"the quick brown fox jumps over the lazy dog 0123456789\r\n"
body = b"Subject: big\r\nFrom: b@example.org\r\n\r\n" + line * (30 * 2**20 // len(line))
typ, _ = c.append("Partial", None, None, body)
c.logout()
sys.exit(typ != "OK")
PYEOF
		{ fail fs_partial_head direct FAIL "cannot store the 30 MB message"; return; }
	before=$(wc -l <"$log")
	FS_USER=$BIG_USER fs_mount direct partial || return
	timed fs_partial_head direct head -c 200 "$FS_MNT/Partial/1.eml"
	fs_unmount direct
	[ "$(wc -c <"$OUT")" = 200 ] || { fail fs_partial_head direct WRONG "head did not get 200 bytes"; return; }
	sleep 1  # Dovecot's log process writes the sessions' last lines
	sent=$(tail -n +"$((before + 1))" "$log" | grep -F "imap($BIG_USER)" |
		sed -n 's/.* out=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { printf "%.2f", s / 1048576 }')
	record fs_partial_head direct "$sent"
}

# Where a cold grep's CPU goes: cpu_mark before the step, cpu_note after
# it says how many CPU seconds the daemon and Dovecot's imap processes
# used and how busy the whole machine was (a saturated machine makes a
# scan CPU-bound, whatever the link).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_imap() { local t=0 p; for p in $(pgrep -x imap); do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
cpu_mark() { CPU0=("$(cpu_ticks "$FS_PID")" "$(cpu_imap)" "$(cpu_busy)"); }
cpu_note() {
	local hz ncpu
	hz=$(getconf CLK_TCK)
	ncpu=$(nproc)
	note "$1: imapfs $(awk -v t="$(($(cpu_ticks "$FS_PID") - CPU0[0]))" -v h="$hz" 'BEGIN { printf "%.2f", t / h }') CPU s," \
		"Dovecot $(awk -v t="$(($(cpu_imap) - CPU0[1]))" -v h="$hz" 'BEGIN { printf "%.2f", t / h }') CPU s," \
		"machine $(awk -v t="$(($(cpu_busy) - CPU0[2]))" -v h="$hz" -v n="$ncpu" -v e="$ELAPSED" \
			'BEGIN { printf "%.0f", (e > 0 ? 100 * t / h / n / e : 0) }')% busy over ${ELAPSED} s"
}
# measure_latency: cold grep -r alone, as fs_grep_cold.COL, and where its
# CPU went.
measure_latency() {
	local col
	for col in "${cols[@]}"; do
		note "imapfs: cold grep ($col)"
		fs_mount "$col" "lat-$col" || continue
		cpu_mark
		fs_grep fs_grep_cold "$col"
		cpu_note "cold grep ($col)"
		fs_unmount "$col"
	done
}

# ---- the big account (--only scale) ----
# scale_step LABEL: the daemon's RSS now and its peak so far, in MB, after
# the step's time.
scale_step() {
	local rss hwm
	rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$FS_PID/status" 2>/dev/null)
	hwm=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$FS_PID/status" 2>/dev/null)
	printf '%-40s %9s s  RSS %6s MB  peak %6s MB\n' "$1" "$2" "${rss:--}" "${hwm:--}"
}
measure_scale() {
	local dest="$T/rsync-scale" got
	echo "scale: $messages messages ($(awk -v b="${corpus_bytes:-0}" 'BEGIN { printf "%.0f", b / 1e6 }') MB) in $folders folders, round $round"
	fs_mount direct "scale-$round" || return
	scale_step "mount" "${S[fs_mount.direct]##* }"
	for pass in cold warm; do
		if timed "scale_ls_$pass" direct ls -lR "$FS_MNT"; then
			got=$(grep -c '\.eml$' "$OUT")
			[ "$got" = "$messages" ] || fail "scale_ls_$pass" direct WRONG "ls -lR listed $got messages"
			scale_step "ls -lR ($pass)" "$ELAPSED"
		fi
	done
	if timed scale_grep direct grep -r -c "$NEEDLE" "$FS_MNT"; then
		got=$(grep_hits "$OUT")
		[ "$got" = "$messages" ] || fail scale_grep direct WRONG "grep found $got messages"
		scale_step "grep -r (cold)" "$ELAPSED"
	fi
	if timed scale_rsync direct rsync -a "$FS_MNT/" "$dest/"; then
		scale_step "rsync -a (bodies cached)" "$ELAPSED"
		if timed scale_rsync_noop direct rsync -a --stats "$FS_MNT/" "$dest/"; then
			grep -q '^Number of regular files transferred: 0$' "$OUT" ||
				fail scale_rsync_noop direct WRONG "the second rsync: $(grep '^Number of regular files transferred' "$OUT")"
			scale_step "rsync -a no-change" "$ELAPSED"
		fi
	fi
	rm -rf "$dest"
	fs_unmount direct
	echo "scale: peak RSS (VmHWM) $(awk -v k="${RSS[direct]:-0}" 'BEGIN { printf "%.1f", k / 1024 }') MB, target < 64 MB"
}

# measure_readers: cold grep -rl and cold rg -l (parallel readers) through
# each column, as keys fs_grepl and fs_rg.
measure_readers() {
	local col key got tool
	command -v rg >/dev/null || return 0
	for col in "${cols[@]}"; do
		for key in fs_grepl fs_rg; do
			tool=(grep -rl)
			[ $key = fs_rg ] && tool=(rg -l)
			note "imapfs: ${tool[*]} cold ($col)"
			fs_mount "$col" "$key-$col" || continue
			if timed $key "$col" "${tool[@]}" "$NEEDLE" "$FS_MNT"; then
				got=$(grep -c '\.eml$' "$OUT")
				if [ "$got" != "$messages" ]; then
					fail $key "$col" WRONG "${tool[*]} found $got messages, not $messages"
				else
					record $key "$col" "$ELAPSED"
				fi
			fi
			fs_unmount "$col"
		done
	done
}
command -v rg >/dev/null || ! { [ -z "$only" ] || [ "$only" = readers ]; } ||
	note "rg (ripgrep) is not installed: the parallel readers' rows are skipped (apt-get install ripgrep)"

# Rounds one after another rather than each step K times in a row, so that
# the load of the (shared) machine spreads over all the steps alike.
for round in $(seq "$repeat"); do
	[ "$repeat" -gt 1 ] && note "round $round of $repeat"
	[ "$only" = scale ] && { [ -n "$imapfs" ] && measure_scale; continue; }
	[ "$only" = partial ] || for col in "${cols[@]}" $([ "$only" = latency ] || echo rate); do measure_bulk "$col"; done
	if [ -z "$only" ]; then
		for col in "${cols[@]}"; do measure_mbsync "$col"; done
		measure_local
	fi
	if [ -n "$imapfs" ] && [ -z "$only" ]; then
		for col in "${cols[@]}"; do measure_imapfs "$col"; done
		measure_big
	fi
	if [ "$only" = latency ]; then
		[ -n "$imapfs" ] && measure_latency
		continue
	fi
	[ -n "$imapfs" ] && [ "$only" != partial ] && [ "$only" != readers ] && measure_compress
	[ -n "$imapfs" ] && { [ -z "$only" ] || [ "$only" = readers ]; } && measure_readers
done
[ -n "$imapfs" ] && { [ -z "$only" ] || [ "$only" = partial ]; } && measure_partial
for col in "${cols[@]}"; do
	[ -n "${RSS[$col]:-}" ] && S[fs_rss.$col]=$(awk -v k="${RSS[$col]}" 'BEGIN { printf "%.1f", k / 1024 }')
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
[ "$only" = scale ] && exit $((problems > 0 ? 3 : 0))

# ---- the report: R[KEY.COL] is the median of the samples, or the failure ----
median() { tr ' ' '\n' | grep . | sort -g |
	awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for k in "${!S[@]}"; do R[$k]=$(echo "${S[$k]}" | median); done
for k in "${!F[@]}"; do R[$k]=${F[$k]}; done

num() { case "${R[$1]:-}" in ''|*[!0-9.]*) return 1 ;; *) return 0 ;; esac; }
fmt2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
cell() {  # the table's text for KEY COL
	local v=${R[$1.$2]:-}
	if [ -z "$v" ]; then echo "-"
	elif num "$1.$2" && [ "$1" != fs_rss ]; then fmt2 "$v"
	else echo "$v"
	fi
}
row() {  # row KEY LABEL [direct-only]
	local d r
	d=$(cell "$1" direct)
	if [ "${3:-}" = direct-only ]; then r="n/a"; else r=$(cell "$1" rtt); fi
	printf '%-48s %9s %9s\n' "$2" "$d" "$r"
}

mb=$(awk -v b="${corpus_bytes:-0}" 'BEGIN { printf "%.0f", b / 1e6 }')
runs=$([ "$repeat" -gt 1 ] && echo "median of $repeat runs" || echo "1 run")
echo
echo "imapfs benchmark: $messages messages ($mb MB) in $folders folders, RTT ${rtt} ms" \
	"(NOOP through the proxy: ${measured_rtt:-?} ms), $runs, seconds unless noted;" \
	"load average $load_start at the start, $load_end at the end"
if [ -z "$only" ]; then
printf '%-48s %9s %9s\n' "measurement" "direct" "${rtt} ms"
row bulk "A imaplib bulk fetch (UID FETCH 1:* per folder)"
row mbsync_full "B mbsync full pull"
row mbsync_noop "B mbsync no-change run"
row local_grep "C grep -r, server's Maildir on local disk" direct-only
row local_rsync "C rsync -a of it to a fresh dir" direct-only
row local_rsync_noop "C rsync -a no-change" direct-only
[ -n "$big_maildir" ] && row local_ls_big "C ls -l, a $big-message Maildir on local disk" direct-only
if [ -n "$imapfs" ]; then
	row fs_mount "imapfs mount (until in /proc/mounts)"
	row fs_grep_cold "imapfs grep -r cold (fresh mount and cache)"
	row fs_grep_warm "imapfs grep -r warm (same mount)"
	row fs_grep_ro_cold "imapfs -o ro: grep -r cold"
	row fs_grep_ro_warm "imapfs -o ro: grep -r warm"
	row fs_open_close "imapfs open+close of a message (us)"
	row fs_open_close_ro "imapfs -o ro: open+close (us)"
	row fs_ls_cold "imapfs ls -l INBOX ($inbox_count) cold"
	row fs_ls_warm "imapfs ls -l INBOX ($inbox_count) warm"
	if [ -n "$big_maildir" ]; then
		row fs_ls_big_cold "imapfs ls -l of $big messages cold" direct-only
		row fs_ls_big_warm "imapfs ls -l of $big messages warm" direct-only
	fi
	row fs_rsync "imapfs rsync -a full (fresh mount and cache)"
	row fs_rsync_noop "imapfs rsync -a no-change"
	row fs_rsyncx_noop "imapfs rsync -aX no-change (flags as xattrs)"
	row fs_restic_noop "imapfs restic second backup of INBOX"
	row fs_restore "imapfs restore of INBOX ($inbox_count, rsync -aX)"
	row fs_rss "imapfs peak RSS (VmHWM, MB)"
else
	printf '%-48s %9s %9s\n' "imapfs: not built" "not built" "not built"
fi
fi

if [ "$only" = latency ]; then
	printf '%-48s %9s %9s\n' "measurement" "direct" "${rtt} ms"
	row bulk "A imaplib bulk fetch (UID FETCH 1:* per folder)"
	row fs_grep_cold "imapfs grep -r cold (fresh mount and cache)"
fi
if [ -n "$imapfs" ] && [ "$only" != partial ] && [ "$only" != latency ] && [ "$only" != readers ]; then
	echo
	echo "compression: cold grep -r (fresh mount and cache); link: $((rate / 1000)) Mbit/s each way shared" \
		"by all connections, ${rtt} ms"
	printf '%-48s %9s %9s\n' "measurement" "loopback" "link"
	printf '%-48s %9s %9s\n' "A imaplib bulk fetch" "$(cell bulk direct)" "$(cell bulk rate)"
	printf '%-48s %9s %9s\n' "imapfs compress=no" "$(cell fs_grep_z_no direct)" "$(cell fs_grep_z_no rate)"
	printf '%-48s %9s %9s\n' "imapfs compress=yes" "$(cell fs_grep_z_yes direct)" "$(cell fs_grep_z_yes rate)"
	printf '%-48s %9s %9s\n' "imapfs compress=auto (the default)" "$(cell fs_grep_z_auto direct)" "n/a"
fi
if [ -n "$imapfs" ] && { [ -z "$only" ] || [ "$only" = partial ]; }; then
	echo
	printf '%-48s %9s\n' "partial fetch: head -c 200 of a 30 MB message" "MB pulled"
	printf '%-48s %9s\n' "imapfs, fresh mount and cache" "$(cell fs_partial_head direct)"
fi
if [ -n "$imapfs" ] && { [ -z "$only" ] || [ "$only" = readers ]; } && command -v rg >/dev/null; then
	echo
	echo "parallel readers (fresh mount and cache each)"
	printf '%-48s %9s %9s\n' "measurement" "direct" "${rtt} ms"
	row fs_grepl "imapfs grep -rl cold"
	row fs_rg "imapfs rg -l cold (ripgrep's parallel walker)"
fi

ratio() {  # ratio A B: A/B with 2 decimals, or "-"
	if num "$1" && num "$2" && awk -v b="${R[$2]}" 'BEGIN { exit !(b > 0) }'; then
		awk -v a="${R[$1]}" -v b="${R[$2]}" 'BEGIN { printf "%.2f", a / b }'
	else
		echo "-"
	fi
}
verdict() {  # verdict VALUE OP LIMIT
	[ "$1" = - ] && { echo "n/a"; return; }
	awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
		ok = (op == "<=") ? v <= l : v < l; print ok ? "ok" : "MISS" }'
}
col_label() { if [ "$1" = direct ]; then echo direct; else echo "${rtt} ms"; fi; }
echo
echo "tracked ratios"
# tracked LABEL KEY BASE LIMIT: KEY / BASE for each column against
# "<= LIMIT"; COL in BASE stands for the column.
tracked() {
	local col v
	for col in "${cols[@]}"; do
		v=$(ratio "$2.$col" "${3//COL/$col}")
		printf '  %-36s %-8s %6s  target <= %-4s %s\n' "$1" "$(col_label "$col")" "$v" "$4" \
			"$(verdict "$v" "<=" "$4")"
	done
}
if [ "$only" = latency ]; then
	v=$(ratio fs_grep_cold.direct bulk.direct)
	printf '  %-36s %-8s %6s  target <= %-4s %s\n' "cold grep / bulk fetch" direct "$v" 1.0 "$(verdict "$v" "<=" 1.0)"
	v=$(ratio fs_grep_cold.rtt bulk.rtt)
	printf '  %-36s %-8s %6s  target <= %-4s %s\n' "cold grep / bulk fetch" "${rtt} ms" "$v" 0.5 "$(verdict "$v" "<=" 0.5)"
fi
if [ -z "$only" ]; then
tracked "cold grep / bulk fetch" fs_grep_cold bulk.COL 1.5
tracked "cold grep (-o ro) / bulk fetch" fs_grep_ro_cold bulk.COL 1.5
tracked "warm grep / local grep" fs_grep_warm local_grep.direct 2
tracked "warm grep (-o ro) / local grep" fs_grep_ro_warm local_grep.direct 2
tracked "no-change rsync -aX / rsync -a" fs_rsyncx_noop fs_rsync_noop.COL 1.5
if [ -n "$big_maildir" ]; then
	v=$(ratio fs_ls_big_warm.direct local_ls_big.direct)
	printf '  %-36s %-8s %6s  target <= %-4s %s\n' "warm ls -l ($big) / local ls -l" direct "$v" 3 \
		"$(verdict "$v" "<=" 3)"
fi
fi
if [ -n "$imapfs" ] && { [ -z "$only" ] || [ "$only" = partial ]; }; then
	v=$(if num fs_partial_head.direct; then cell fs_partial_head direct; else echo -; fi)
	printf '  %-36s %-8s %6s  target <= %-4s %s\n' "head -c 200 of 30 MB: MB pulled" direct "$v" 2 \
		"$(verdict "$v" "<=" 2)"
fi
if [ -n "$imapfs" ] && { [ -z "$only" ] || [ "$only" = readers ]; } && command -v rg >/dev/null; then
	tracked "cold rg -l / cold grep -rl" fs_rg fs_grepl.COL 1.3
fi
if [ -n "$imapfs" ] && [ "$only" != partial ] && [ "$only" != latency ] && [ "$only" != readers ]; then
	# tracked1 LABEL COL A B LIMIT: one ratio A / B against "<= LIMIT"
	tracked1() {
		local v
		v=$(ratio "$3" "$4")
		printf '  %-36s %-8s %6s  target <= %-4s %s\n' "$1" "$2" "$v" "$5" "$(verdict "$v" "<=" "$5")"
	}
	link="$((rate / 1000))M"
	tracked1 "cold grep compress=yes / bulk" "$link" fs_grep_z_yes.rate bulk.rate 0.75
	tracked1 "cold grep compress=no / bulk" "$link" fs_grep_z_no.rate bulk.rate 1.0
	tracked1 "cold grep compress yes / no" "$link" fs_grep_z_yes.rate fs_grep_z_no.rate 0.9
	tracked1 "cold grep auto / bulk" direct fs_grep_z_auto.direct bulk.direct 1.0
	tracked1 "cold grep auto / compress=no" direct fs_grep_z_auto.direct fs_grep_z_no.direct 1.1
fi
if [ -z "$only" ]; then
if num fs_rsync_noop.rtt; then v=$(fmt2 "${R[fs_rsync_noop.rtt]}"); else v=-; fi
printf '  %-36s %-8s %6s  target < 1      %s\n' "imapfs no-change rsync (s)" "${rtt} ms" "$v" \
	"$(verdict "$v" "<" 1)"
for col in "${cols[@]}"; do
	printf '  %-36s %-8s %6s / %s s (baseline)\n' "mbsync full / no-change (s)" "$(col_label "$col")" \
		"$(cell mbsync_full "$col")" "$(cell mbsync_noop "$col")"
done
fi

if [ "$problems" -gt 0 ]; then
	echo
	echo "$problems problem(s): a step failed, timed out or gave a wrong answer (see the messages above)"
	exit 3
fi
exit 0
