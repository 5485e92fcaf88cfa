# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# benchmark tools (helper)
# contrib/bench/run.sh (on demand, not part of make check) drives them.
noinst_PROGRAMS += contrib/bench/latency-proxy
contrib_bench_latency_proxy_SOURCES = contrib/bench/latency-proxy.c
EXTRA_DIST += contrib/bench/run.sh contrib/bench/bulk_fetch.py contrib/bench/timed.py \
	contrib/bench/open_close.py


# installed extras (helper)
# The manual pages, the mount(8) helpers (into $(sbindir): link them into
# /sbin, where mount(8) looks), and the systemd user unit and examples,
# which are shipped but not installed (they belong in the user's home).
dist_man1_MANS = fs/imapfs.1 tools/imap4/imap4.1
dist_sbin_SCRIPTS = contrib/mount.imapfs contrib/mount.fuse.imapfs
EXTRA_DIST += contrib/imapfs@.service contrib/imapfs.conf.example contrib/fstab.example \
	tests/mount/check_mount_helper.sh
TESTS += tests/mount/check_mount_helper.sh

