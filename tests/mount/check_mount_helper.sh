#!/bin/sh
# check_mount_helper.sh: contrib/mount.imapfs and contrib/mount.fuse.imapfs
# turn what mount(8) hands a helper into an imapfs command line.  A fake
# imapfs, first in PATH, records its arguments, user, HOME and
# XDG_CACHE_HOME; each case compares that record with the command line
# imapfs must get.  The argument shapes are the ones util-linux 2.38's
# mount(8) was seen to pass; as root, with unshare(1) and overlayfs, the
# real mount(8) also runs the helpers from a private mount namespace.
# Then both manual pages must render without a groff warning and name every
# option and every imap4 call.
set -u
srcdir=${srcdir:-$(dirname "$0")/../..}
srcdir=$(cd "$srcdir" && pwd)
helper=$srcdir/contrib/mount.imapfs
fuse_helper=$srcdir/contrib/mount.fuse.imapfs

work=$(mktemp -d "${TMPDIR:-/tmp}/imapfs-mount-helper-XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
# Other users (setuid=nobody) run the fake and write its record.
chmod 755 "$work"
mkdir "$work/bin" "$work/rec"
chmod 777 "$work/rec"
cat >"$work/bin/imapfs" <<EOF
#!/bin/sh
{ id -un; echo "HOME=\${HOME-unset}"; echo "XDG_CACHE_HOME=\${XDG_CACHE_HOME-unset}"; } >"$work/rec/who"
printf '%s\n' "\$@" >"$work/rec/argv"
exit "\${FAKE_IMAPFS_STATUS:-0}"
EOF
chmod 755 "$work/bin/imapfs"

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
pass() {
	echo "ok: $*"
}

# run ARG...: runs a helper with the fake imapfs first in PATH.
run() {
	rm -f "$work/rec/argv" "$work/rec/who"
	status=0
	PATH="$work/bin:$PATH" "$@" >"$work/out" 2>"$work/err" || status=$?
}

# expect NAME ARG...: the last run succeeded and ran imapfs with exactly ARG...
expect() {
	name=$1
	shift
	printf '%s\n' "$@" >"$work/want"
	if [ "$status" -ne 0 ]; then
		fail "$name: exit status $status: $(cat "$work/err")"
	elif [ ! -f "$work/rec/argv" ]; then
		fail "$name: imapfs was not run"
	elif ! cmp -s "$work/want" "$work/rec/argv"; then
		fail "$name: imapfs got [$(tr '\n' ' ' <"$work/rec/argv")], expected [$*]"
	else
		pass "$name"
	fi
}

# refused NAME PATTERN: the last run failed without running imapfs, and
# said something matching the grep PATTERN on stderr.
refused() {
	if [ "$status" -eq 0 ]; then
		fail "$1: exit status 0"
	elif [ -f "$work/rec/argv" ]; then
		fail "$1: imapfs was run anyway"
	elif ! grep -q -- "$2" "$work/err"; then
		fail "$1: stderr lacks '$2': $(cat "$work/err")"
	else
		pass "$1"
	fi
}

# who_is NAME LINE: the fake's record of user and environment holds LINE.
who_is() {
	if [ -f "$work/rec/who" ] && grep -qx -- "$2" "$work/rec/who"; then
		pass "$1"
	else
		fail "$1: expected '$2' in [$(tr '\n' ' ' 2>/dev/null <"$work/rec/who")]"
	fi
}

for h in "$helper" "$fuse_helper"; do
	[ -x "$h" ] || fail "${h#"$srcdir"/} is not executable"
done

url=imaps://alice@mail.example.org
mp=/home/alice/Mail

# ---- the translation ----

# A user mount from "noauto,user,_netdev,passfile=..." in fstab: mount(8)
# adds rw,noexec,nosuid,nodev and keeps user and _netdev.
run "$helper" "$url" "$mp" -o rw,noexec,nosuid,nodev,passfile=/home/alice/.imapfs-pass,user,_netdev
expect "fstab user mount" -o rw,noexec,nosuid,nodev,passfile=/home/alice/.imapfs-pass "$url" "$mp"

# Everything mount(8), fstab and systemd mean for themselves is dropped.
run "$helper" "$url" "$mp" -o ro,_netdev,nofail,defaults,auto,noauto,users,nouser,owner,group,user=alice,comment=imapfs,x-systemd.automount,x-systemd.mount-timeout=30,X-mount.mkdir,cache_size=2G,connections=8
expect "mount-only options dropped" -o ro,cache_size=2G,connections=8 "$url" "$mp"

# mount -v -n -s -t fuse.imapfs: the flags are the helper's, -t is
# mount.fuse's; a comma after a backslash stays inside its value even when
# what follows it looks like a dropped option.
run "$fuse_helper" "$url" "$mp" -s -n -v -o 'rw,passcmd=get-pw mail\,user,user=alice,exec,suid,dev' -t fuse.imapfs
expect "mount.fuse.imapfs with flags and an escaped comma" -o 'rw,passcmd=get-pw mail\,user,exec,suid,dev' "$url" "$mp"
if grep -q "running.*imapfs.*$url" "$work/err"; then
	pass "-v shows the command"
else
	fail "-v shows the command: stderr was: $(cat "$work/err")"
fi

run "$helper" "$url" "$mp" -o noauto,user,_netdev
expect "no options left: no -o" "$url" "$mp"

# By hand: options first, several -o, the attached form, -r.
run "$helper" -o ro -oconnections=2 "$url" "$mp" -r -o noauto,timeout=60
expect "several -o merged" -o ro,connections=2,ro,timeout=60 "$url" "$mp"

run "$helper" "$url" "$mp" -f -o rw
if [ "$status" -eq 0 ] && [ ! -f "$work/rec/argv" ]; then
	pass "-f (fake) runs nothing"
else
	fail "-f (fake): status $status, imapfs run: $([ -f "$work/rec/argv" ] && echo yes || echo no)"
fi

FAKE_IMAPFS_STATUS=3
export FAKE_IMAPFS_STATUS
run "$helper" "$url" "$mp"
unset FAKE_IMAPFS_STATUS
if [ "$status" -eq 3 ]; then
	pass "imapfs's exit status is the helper's"
else
	fail "imapfs's exit status is the helper's: got $status"
fi

# mount(8) clears HOME for a user mount; imapfs needs it for its cache.
home=$(getent passwd "$(id -u)" | cut -d: -f6)
run env -u HOME "$helper" "$url" "$mp"
expect "without HOME" "$url" "$mp"
who_is "HOME from the password database" "HOME=$home"

# ---- refusals ----
run "$helper"
refused "no arguments" usage
run "$helper" "$url"
refused "no mountpoint" usage
run "$helper" /dev/sda1 /mnt
refused "not an IMAP URL" "not an IMAP URL"
run "$helper" "$url" "$mp" -o
refused "-o without a value" "needs an argument"
run "$helper" "$url" "$mp" -o setuid=no-such-user-imapfs-test
refused "setuid= of an unknown user" "no such user"

# ---- setuid= ----
me=$(id -un)
run "$helper" "$url" "$mp" -o "setuid=$me,ro"
expect "setuid= of oneself" -o ro "$url" "$mp"
who_is "setuid= of oneself runs as oneself" "$me"
if [ "$(id -u)" -eq 0 ]; then
	nobody_home=$(getent passwd nobody | cut -d: -f6)
	XDG_CACHE_HOME=/root/.cache
	export XDG_CACHE_HOME
	run "$helper" "$url" "$mp" -o _netdev,setuid=nobody,ro
	unset XDG_CACHE_HOME
	expect "setuid=nobody from root" -o ro "$url" "$mp"
	who_is "setuid=nobody runs imapfs as nobody" nobody
	who_is "setuid=nobody gives nobody's HOME" "HOME=$nobody_home"
	who_is "setuid=nobody drops root's XDG_CACHE_HOME" "XDG_CACHE_HOME=unset"
	if command -v nsenter >/dev/null 2>&1; then
		run "$helper" "$url" "$mp" -o ro -N /proc/self/ns/mnt
		expect "-N NAMESPACE" -o ro "$url" "$mp"
	fi
else
	run "$helper" "$url" "$mp" -o setuid=root
	refused "setuid= of another user needs root" "only root"
	echo "SKIP: setuid=OTHER and -N need root"
fi

# ---- finding imapfs and mount.imapfs ----
# As installed: $prefix/sbin/mount.imapfs runs $prefix/bin/imapfs even when
# PATH lacks it; /sbin/mount.fuse.imapfs may be a link to the installed one.
mkdir -p "$work/inst/sbin" "$work/inst/bin" "$work/link"
cp "$helper" "$fuse_helper" "$work/inst/sbin/"
cp "$work/bin/imapfs" "$work/inst/bin/imapfs"
ln -s "$work/inst/sbin/mount.fuse.imapfs" "$work/link/mount.fuse.imapfs"
if PATH=/usr/bin:/bin command -v imapfs >/dev/null 2>&1; then
	echo "SKIP: an imapfs in /usr/bin:/bin hides the lookup beside the helper"
else
	rm -f "$work/rec/argv"
	status=0
	PATH=/usr/bin:/bin "$work/link/mount.fuse.imapfs" "$url" "$mp" -o ro >/dev/null 2>"$work/err" || status=$?
	expect "installed layout, through a link to mount.fuse.imapfs" -o ro "$url" "$mp"
	rm -f "$work/rec/argv"
	status=0
	PATH=/usr/bin:/bin "$helper" "$url" "$mp" >/dev/null 2>"$work/err" || status=$?
	refused "imapfs missing" "imapfs not found"
fi

# ---- through the real mount(8) ----
# In a private mount namespace: overlays put the helpers into /sbin and the
# fake imapfs into /usr/local/bin (mount(8) gives helpers a PATH of its own),
# a tmpfs takes libmount's utab, and a bind mount replaces /etc/fstab (user
# mounts read no other).  Nothing of this is seen outside the namespace.
real_mount() {  # SHELL-COMMAND: run in the namespace as root
	rm -f "$work/rec/argv" "$work/rec/who"
	status=0
	unshare -m --propagation private sh -c "
		set -e
		mount -t overlay overlay -o lowerdir='$work/inst/sbin':/sbin /sbin
		mount -t overlay overlay -o lowerdir='$work/bin':/usr/local/bin /usr/local/bin
		if [ -d /run/mount ]; then mount -t tmpfs tmpfs /run/mount; else mount -t tmpfs tmpfs /run; fi
		mount --bind '$work/fstab' /etc/fstab
		$1" >"$work/out" 2>"$work/err" || status=$?
}
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1 || [ ! -d /usr/local/bin ] ||
	! unshare -m --propagation private sh -c "mount -t overlay overlay -o lowerdir='$work/inst/sbin':/sbin /sbin" 2>/dev/null; then
	echo "SKIP: mount(8) itself needs root, unshare, overlayfs and /usr/local/bin"
else
	mkdir -p "$work/mp1" "$work/mp2" "$work/mp3"
	cat >"$work/fstab" <<EOF
$url $work/mp1 imapfs noauto,user,_netdev,passfile=/home/alice/.imapfs-pass 0 0
imaps://bob@mail.example.org:1993 $work/mp2 fuse.imapfs _netdev,nofail,x-systemd.automount,setuid=nobody,ro,passfile=/p 0 0
imap://carol@10.0.0.5 $work/mp3 imapfs noauto,tls=none,cachedir=/var/cache/imapfs/carol,comment=x 0 0
EOF
	real_mount "runuser -u nobody -- mount '$work/mp1'"
	expect "mount(8), user mount by nobody" -o rw,noexec,nosuid,nodev,passfile=/home/alice/.imapfs-pass "$url" "$work/mp1"
	who_is "mount(8), user mount runs imapfs as that user" nobody
	who_is "mount(8), user mount gets a HOME" "HOME=$(getent passwd nobody | cut -d: -f6)"
	real_mount "mount '$work/mp2'"
	expect "mount(8), fuse.imapfs with setuid= at boot" -o ro,passfile=/p imaps://bob@mail.example.org:1993 "$work/mp2"
	who_is "mount(8), setuid=nobody" nobody
	real_mount "mount -v '$work/mp3'"
	expect "mount(8), root mount of type imapfs" -o rw,tls=none,cachedir=/var/cache/imapfs/carol imap://carol@10.0.0.5 "$work/mp3"
fi

# ---- the manual pages ----
# names WORD FILE: FILE has WORD, as a word of its own unless WORD ends in "="
# (then a value follows).
names() {
	case $1 in
	*=) grep -qF -- "$1" "$2" ;;
	*) grep -qwF -- "$1" "$2" ;;
	esac
}
if ! command -v groff >/dev/null 2>&1; then
	echo "SKIP: groff is not installed; manual pages not checked"
else
	for page in fs/imapfs.1 tools/imap4/imap4.1; do
		if ! LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$srcdir/$page" >"$work/groff.err" 2>&1; then
			fail "$page: groff failed: $(cat "$work/groff.err")"
		elif [ -s "$work/groff.err" ]; then
			fail "$page: groff warns: $(cat "$work/groff.err")"
		else
			pass "$page renders without warnings"
		fi
		LC_ALL=C groff -man -Tascii -P-c -P-b -P-u "$srcdir/$page" >"$work/${page##*/}.txt" 2>/dev/null
	done
	# Every option of the daemon's contract, and the helper's own.
	missing=
	for word in -f -d -h -V -o ro passfile= passcmd= cafile= certfile= keyfile= insecure \
		tls=none command= cachedir= cache_size= connections= timeout= poll= allow_other \
		default_permissions uid= gid= umask= IMAPFS_PASSWORD XDG_CACHE_HOME setuid= \
		user.imap.flags mount.imapfs mount.fuse.imapfs imapfs@.service; do
		names "$word" "$work/imapfs.1.txt" || missing="$missing $word"
	done
	if [ -z "$missing" ]; then
		pass "imapfs(1) names every option"
	else
		fail "imapfs(1) lacks:$missing"
	fi
	# Every call imap4 knows (its table in tools/imap4/imap4.c) and every option.
	calls=$(sed -n 's/^[[:space:]]*{ "\([A-Za-z_0-9]*\)", call_.*/\1/p' "$srcdir/tools/imap4/imap4.c")
	if [ -z "$calls" ]; then
		fail "no call table found in tools/imap4/imap4.c"
	fi
	missing=
	for word in $calls -d -h -V tls=none cafile= certfile= keyfile= insecure passfile= \
		passcmd= command= timeout= IMAPFS_PASSWORD; do
		names "$word" "$work/imap4.1.txt" || missing="$missing $word"
	done
	if [ -z "$missing" ]; then
		pass "imap4(1) names every call ($(echo "$calls" | wc -l)) and option"
	else
		fail "imap4(1) lacks:$missing"
	fi
fi

echo "$failures failed"
[ "$failures" -eq 0 ]
