# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- tests/ ----
# Users link proto/libimap.la (buf, mutf7) and $(GNUTLS_LIBS) after it.
FSUNITS_TEST_LIBS = fs/libfsunits.la proto/libimap.la $(CHECK_LIBS) $(GNUTLS_LIBS) -lpthread
check_PROGRAMS += tests/check_tree tests/check_cache tests/check_uidset
tests_check_tree_SOURCES = tests/check_tree.c
tests_check_tree_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/fs
tests_check_tree_LDADD = $(FSUNITS_TEST_LIBS)
tests_check_cache_SOURCES = tests/check_cache.c
tests_check_cache_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/fs
tests_check_cache_LDADD = $(FSUNITS_TEST_LIBS)
tests_check_uidset_SOURCES = tests/check_uidset.c
tests_check_uidset_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/fs
tests_check_uidset_LDADD = $(FSUNITS_TEST_LIBS)
TESTS += tests/check_tree tests/check_cache tests/check_uidset

check_LTLIBRARIES += tests/libharness.la
tests_libharness_la_SOURCES = \
	tests/harness.h tests/harness_cert.h tests/harness_cert.c tests/harness_dovecot.c tests/harness_fake.c tests/fake.h tests/harness_maildir.c tests/harness_corpus.c tests/harness_os.c tests/harness_os.h tests/harness_dovecot_conf.c tests/harness_dovecot_conf.h tests/harness_cyrus.c tests/harness_cyrus.h \
	tests/harness_mount.c tests/harness_mount.h
tests_libharness_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(GNUTLS_CFLAGS)
tests_libharness_la_LIBADD = proto/libimap.la $(GNUTLS_LIBS)

TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests
TEST_LIBS = tests/libharness.la proto/libimap.la $(CHECK_LIBS) $(GNUTLS_LIBS) -lpthread

# The fs core against scripted servers (tests/harness_fakefs.h), apart from
# libharness: the tests without the fs core link that one alone.
check_LTLIBRARIES += tests/libfakefs.la
tests_libfakefs_la_SOURCES = tests/harness_fakefs.c tests/harness_fakefs.h
tests_libfakefs_la_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
FAKEFS_LIBS = tests/libfakefs.la fs/libfscore.la fs/libfsunits.la $(TEST_LIBS)

check_PROGRAMS += tests/check_buf
tests_check_buf_SOURCES = tests/check_buf.c
tests_check_buf_CFLAGS = $(TEST_CFLAGS)
tests_check_buf_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_parser
tests_check_parser_SOURCES = tests/check_parser.c
tests_check_parser_CFLAGS = $(TEST_CFLAGS)
tests_check_parser_LDADD = $(TEST_LIBS)

EXTRA_DIST += tests/fuzz/corpus
noinst_HEADERS = tests/check_run.h tests/check_rng.h tests/check_du.h
if FUZZING
# libFuzzer target for the response parser (configure CC=clang --enable-fuzzing).
# `make fuzz-run` (or fuzz-parser) runs it over the seed corpus for FUZZ_RUNS
# inputs; what it finds goes to tests/fuzz/work-parser in the build tree.
noinst_PROGRAMS += tests/fuzz/fuzz_parser
tests_fuzz_fuzz_parser_SOURCES = tests/fuzz/fuzz_parser.c proto/parser.c proto/resp.c proto/store.c lib/buf.c
tests_fuzz_fuzz_parser_CFLAGS = $(AM_CFLAGS) -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
tests_fuzz_fuzz_parser_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer,address,undefined
FUZZ_RUNS = 20000
fuzz-parser: tests/fuzz/fuzz_parser$(EXEEXT)
	$(MKDIR_P) tests/fuzz/work-parser
	tests/fuzz/fuzz_parser$(EXEEXT) -runs=$(FUZZ_RUNS) -seed=1 -max_len=8192 \
		tests/fuzz/work-parser $(srcdir)/tests/fuzz/corpus/parser
fuzz-run: fuzz-parser
.PHONY: fuzz-run fuzz-parser
endif

check_PROGRAMS += tests/check_text
tests_check_text_SOURCES = tests/check_text.c
tests_check_text_CFLAGS = $(TEST_CFLAGS)
tests_check_text_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_transport
tests_check_transport_SOURCES = tests/check_transport.c
tests_check_transport_CFLAGS = $(TEST_CFLAGS) $(GNUTLS_CFLAGS)
tests_check_transport_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_connect
tests_check_connect_SOURCES = tests/check_connect.c
tests_check_connect_CFLAGS = $(TEST_CFLAGS) $(GNUTLS_CFLAGS)
tests_check_connect_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_harness
tests_check_harness_SOURCES = tests/check_harness.c
tests_check_harness_CFLAGS = $(TEST_CFLAGS) $(GNUTLS_CFLAGS)
tests_check_harness_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_imaplib
tests_check_imaplib_SOURCES = tests/check_imaplib.c
tests_check_imaplib_CFLAGS = $(TEST_CFLAGS)
tests_check_imaplib_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_dovecot
tests_check_dovecot_SOURCES = tests/check_dovecot.c
tests_check_dovecot_CFLAGS = $(TEST_CFLAGS)
tests_check_dovecot_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_cyrus
tests_check_cyrus_SOURCES = tests/check_cyrus.c
tests_check_cyrus_CFLAGS = $(TEST_CFLAGS)
tests_check_cyrus_LDADD = $(TEST_LIBS)
TESTS += tests/check_cyrus

check_PROGRAMS += tests/check_fs
tests_check_fs_SOURCES = tests/check_fs.c
tests_check_fs_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_check_fs_LDADD = $(FAKEFS_LIBS)

# The mailbox tree against scripted servers: size, churn, colliding names.
check_PROGRAMS += tests/check_mtree
tests_check_mtree_SOURCES = tests/check_mtree.c
tests_check_mtree_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_check_mtree_LDADD = $(FAKEFS_LIBS)
TESTS += tests/check_mtree

check_PROGRAMS += tests/check_mount
tests_check_mount_SOURCES = tests/check_mount.c
tests_check_mount_CFLAGS = $(TEST_CFLAGS)
tests_check_mount_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_mount_write
tests_check_mount_write_SOURCES = tests/check_mount_write.c
tests_check_mount_write_CFLAGS = $(TEST_CFLAGS)
tests_check_mount_write_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/check_fresh
tests_check_fresh_SOURCES = tests/check_fresh.c
tests_check_fresh_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_check_fresh_LDADD = $(FAKEFS_LIBS)
TESTS += tests/check_fresh

check_PROGRAMS += tests/check_log
tests_check_log_SOURCES = tests/check_log.c
tests_check_log_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_check_log_LDADD = fs/libfscore.la fs/libfsunits.la $(TEST_LIBS)
TESTS += tests/check_log

check_PROGRAMS += tests/check_secret
tests_check_secret_SOURCES = tests/check_secret.c
tests_check_secret_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_check_secret_LDADD = $(FAKEFS_LIBS)
TESTS += tests/check_secret

check_PROGRAMS += tests/check_stall
# with the FUSE side (ops.c, pagepush.c) for the end of a session
tests_check_stall_SOURCES = tests/check_stall.c fs/ops.c fs/pagepush.c
tests_check_stall_CFLAGS = $(TEST_CFLAGS) $(FUSE_CFLAGS) -I$(top_srcdir)/fs
tests_check_stall_LDADD = $(FAKEFS_LIBS) $(FUSE_LIBS)
TESTS += tests/check_stall

check_PROGRAMS += tests/check_write
tests_check_write_SOURCES = tests/check_write.c
tests_check_write_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_check_write_LDADD = $(FAKEFS_LIBS)
TESTS += tests/check_write

# Scripted hostile servers against the filesystem core's bounds.
check_PROGRAMS += tests/check_bounds
tests_check_bounds_SOURCES = tests/check_bounds.c
tests_check_bounds_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_check_bounds_LDADD = $(FAKEFS_LIBS)
TESTS += tests/check_bounds

# The private-server tool that the demo and the benchmark use.
check_PROGRAMS += tests/testserver
tests_testserver_SOURCES = tests/testserver.c
tests_testserver_CFLAGS = $(TEST_CFLAGS)
tests_testserver_LDADD = $(TEST_LIBS)

# The conformance test compares imap4 with the system python3's imaplib.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += tests/conformance/run.sh tests/conformance/calls.txt tests/conformance/imaplib_run.py \
	tests/valgrind-wrap.sh tests/valgrind-daemon.sh tests/valgrind.supp tests/run-all.sh contrib/demo.sh contrib/install-deps.sh
# Check's 4 s default per test case is too short for ASan or valgrind on
# two loaded cores: test cases without a timeout of their own get 60 s.
AM_TESTS_ENVIRONMENT = IMAP4=$(abs_builddir)/tools/imap4/imap4 TESTSERVER=$(abs_builddir)/tests/testserver \
	IMAPFS=$(abs_builddir)/fs/imapfs CK_DEFAULT_TIMEOUT=60; \
	export IMAP4 TESTSERVER IMAPFS CK_DEFAULT_TIMEOUT;
TESTS += tests/conformance/run.sh
TESTS += tests/check_buf tests/check_parser tests/check_text tests/check_transport tests/check_connect tests/check_harness \
	tests/check_imaplib tests/check_dovecot tests/check_fs tests/check_mount tests/check_mount_write
