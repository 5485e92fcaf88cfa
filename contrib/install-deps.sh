#!/bin/sh
# Installs every Debian package imapfs needs to build and test, and only
# those that are missing; safe to run again and again.  As root.
#
# The Dovecot packages are for the tests' private instances (tests/harness):
# no system-wide Dovecot is left running or enabled by this script.
set -eu

packages="
build-essential autoconf automake libtool pkg-config
libfuse3-dev fuse3 libgnutls28-dev gnutls-bin check
dovecot-core dovecot-imapd
python3 valgrind clang libclang-rt-dev
attr rsync isync procps passwd
"

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=""
for p in $packages; do
	is_installed "$p" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "install-deps: all needed packages are installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing" >&2
	echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

echo "install-deps: installing:$missing"

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
apt-get update -q
# $missing is a list of package names: split on purpose.
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

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
if [ -n "$still" ]; then
	echo "install-deps: could not install:$still" >&2
	exit 1
fi
echo "install-deps: done"
