#!/bin/sh
# contrib/unpack-deb.sh PKG VERSION DIR: downloads Debian package PKG at
# VERSION (apt-get download, from the configured apt sources) and unpacks it
# into DIR (dpkg-deb -x, DIR replaced), with DIR/VERSION holding VERSION, all
# readable by everyone.  For the IMAP servers Debian will not install next to
# another one (contrib/install-deps.sh, contrib/unpack-servers.sh).  As root.
# Exit status 1, with one line saying why, when the package could not be had;
# DIR is then left as it was.
set -eu

pkg=$1 version=$2 dir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chown _apt "$tmp" 2>/dev/null || true  # apt downloads as _apt
if ! (cd "$tmp" && apt-get download -q "$pkg=$version") >/dev/null; then
	echo "unpack-deb: could not download $pkg $version" >&2
	exit 1
fi
deb=""
for f in "$tmp/${pkg}"_*.deb; do
	[ -f "$f" ] && deb=$f
done
if [ -z "$deb" ]; then
	echo "unpack-deb: apt-get download left no $pkg package" >&2
	exit 1
fi
echo "unpack-deb: unpacking $pkg $version into $dir"
rm -rf "${dir:?}"
mkdir -p "$dir"
dpkg-deb -x "$deb" "$dir"
echo "$version" >"$dir/VERSION"
chmod -R go+rX "$dir"
