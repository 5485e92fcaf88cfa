#!/bin/sh
# Unpacks the IMAP servers of the tests' server matrix (tests/mount/check_matrix)
# that Debian will not install next to cyrus-imapd (all of them provide
# imap-server): Courier-IMAP and GNU mailutils imap4d.  Each package goes to
# /var/lib/imapfs/PKG (contrib/unpack-deb.sh), where the test
# harness finds it; only their libraries are installed as packages.  Safe to
# run again: a copy of the candidate version is left alone.  As root; called
# by contrib/install-deps.sh after apt-get update.  With --check it only tells
# (exit status 0: nothing to do), as any user and without the network.
#
# A package that cannot be fetched is reported and left out: the matrix
# then skips that server with one line saying so.  The exit status is 1 if
# anything is missing afterwards.
set -eu

root=/var/lib/imapfs
here=$(cd "$(dirname "$0")" && pwd)
courier="courier-imap courier-base courier-authlib"
mailutils="mailutils-imap4d"
libraries="libcourier-unicode4 libgamin0 libmailutils9 mailutils-common libgsasl18 libltdl7"

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)' || true
}

# Succeeds when $root/PKG holds the candidate version (or, with no
# candidate known, any version).
copy_current() {
	have=$(cat "$root/$1/VERSION" 2>/dev/null || true)
	[ -n "$have" ] || return 1
	want=$(candidate "$1")
	[ -z "$want" ] || [ "$have" = "$want" ]
}

unpack() {
	pkg=$1
	version=$(candidate "$pkg")
	if [ -z "$version" ]; then
		echo "unpack-servers: no candidate version of $pkg (not in the apt sources)" >&2
		return 1
	fi
	sh "$here/unpack-deb.sh" "$pkg" "$version" "$root/$pkg"
}

# Everything in place, as far as can be told without asking apt.
all_present() {
	for p in $libraries; do
		is_installed "$p" || return 1
	done
	for p in $courier $mailutils; do
		[ -s "$root/$p/VERSION" ] || return 1
	done
}

if [ "${1:-}" = --check ]; then
	all_present
	exit
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "unpack-servers: run it as root" >&2
	exit 1
fi

missing_libs=""
for p in $libraries; do
	is_installed "$p" || missing_libs="$missing_libs $p"
done
if [ -n "$missing_libs" ]; then
	echo "unpack-servers: installing:$missing_libs"
	# a list of package names: split on purpose
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing_libs ||
		echo "unpack-servers: could not install:$missing_libs" >&2
fi

failed=""
for p in $courier $mailutils; do
	copy_current "$p" || unpack "$p" || failed="$failed $p"
done
if [ -n "$failed" ]; then
	echo "unpack-servers: missing:$failed (the matrix skips their servers)" >&2
	exit 1
fi
