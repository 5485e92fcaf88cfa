#!/bin/sh
# Installs every Debian package imapfs needs to build and test, and only
# those that are missing; safe to run again and again.  As root.
#
# The Dovecot packages are for the tests' private instances (tests/harness):
# no system-wide Dovecot is left running or enabled by this script.
#
# Debian does not allow dovecot-imapd next to cyrus-imapd (both provide
# imap-server).  Where cyrus-imapd is installed, dovecot-imapd is not
# installed but unpacked (same version as dovecot-core) into $imapd_copy,
# where the test harness finds it.  Courier-IMAP and mailutils imap4d, for
# the server matrix, are always unpacked (contrib/unpack-servers.sh); one
# that cannot be fetched only makes the matrix skip that server.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

packages="
build-essential autoconf automake libtool pkg-config
libfuse3-dev fuse3 libgnutls28-dev gnutls-bin zlib1g-dev check
dovecot-core cyrus-imapd cyrus-admin sasl2-bin
python3 valgrind clang libclang-rt-dev
attr rsync isync procps passwd
restic borgbackup tar
"
imapd_copy=/var/lib/imapfs/dovecot-imapd

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# Succeeds when dovecot-imapd must be unpacked rather than installed and the
# copy there is missing or not of dovecot-core's version.
imapd_copy_needed() {
	is_installed dovecot-imapd && return 1
	is_installed cyrus-imapd || return 1
	core=$(dpkg-query -W -f='${Version}' dovecot-core 2>/dev/null || true)
	[ -n "$core" ] && [ "$(cat "$imapd_copy/VERSION" 2>/dev/null)" = "$core" ] && return 1
	return 0
}

missing=""
for p in $packages; do
	is_installed "$p" || missing="$missing $p"
done
unpack=no
imapd_copy_needed && unpack=yes
servers=no
sh "$here/unpack-servers.sh" --check || servers=yes

if [ -z "$missing" ] && [ "$unpack" = no ] && [ "$servers" = no ]; then
	echo "install-deps: all needed packages are installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	[ "$servers" = no ] || echo "install-deps: missing the unpacked Courier or mailutils servers (the server matrix skips them)" >&2
	if [ -z "$missing" ] && [ "$unpack" = no ]; then
		exit 0
	fi
	[ -z "$missing" ] || echo "install-deps: missing Debian packages:$missing" >&2
	[ "$unpack" = no ] || echo "install-deps: missing the unpacked dovecot-imapd in $imapd_copy" >&2
	echo "install-deps: run it as root" >&2
	exit 1
fi

dovecot_was_installed=no
is_installed dovecot-core && dovecot_was_installed=yes

# Keep package scripts from starting services (the Debian way: a
# policy-rc.d that says "no"), unless the machine already has a policy.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# temporary, from imapfs contrib/install-deps.sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
	trap 'exit 1' INT TERM
fi

export DEBIAN_FRONTEND=noninteractive
if [ -z "$missing" ] && [ "$unpack" = no ]; then
	# Only the matrix's servers: no apt-get update, and never a failure
	# (offline, every run would otherwise stop here).
	sh "$here/unpack-servers.sh" ||
		echo "install-deps: going on without them: the server matrix skips what is missing" >&2
	exit 0
fi
apt-get update -q
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	# $missing is a list of package names: split on purpose.
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

if imapd_copy_needed; then
	core=$(dpkg-query -W -f='${Version}' dovecot-core)
	echo "install-deps: dovecot-imapd $core goes to $imapd_copy (cyrus-imapd excludes the package)"
	sh "$here/unpack-deb.sh" dovecot-imapd "$core" "$imapd_copy"
fi

if [ "$servers" = yes ]; then
	sh "$here/unpack-servers.sh" ||
		echo "install-deps: going on without them: the server matrix skips what is missing" >&2
fi

# If this run installed Dovecot and something started the system instance
# anyway (an existing policy that allows it, socket activation), stop and
# disable that one.  Only the instance of /etc/dovecot is touched: the
# tests' private instances have their own configuration and base_dir.
if [ "$dovecot_was_installed" = no ] && is_installed dovecot-core; then
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now dovecot.socket dovecot.service >/dev/null 2>&1 || true
	elif command -v update-rc.d >/dev/null 2>&1; then
		update-rc.d dovecot disable >/dev/null 2>&1 || true
	fi
	pidfile=/run/dovecot/master.pid
	if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "install-deps: stopping the system Dovecot the package started"
		dovecot -c /etc/dovecot/dovecot.conf stop || true
	fi
fi

still=""
for p in $missing; do
	is_installed "$p" || still="$still $p"
done
imapd_copy_needed && still="$still dovecot-imapd(unpacked)"
if [ -n "$still" ]; then
	echo "install-deps: could not install:$still" >&2
	exit 1
fi
echo "install-deps: done"
