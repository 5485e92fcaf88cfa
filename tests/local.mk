# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- tests/ ----
# tests/harness  what the tests share: scripted servers (fake.h), the fs core
#                against them (harness_fakefs.h), private Dovecot and Cyrus,
#                mounts, and the testserver tool
# tests/unit     runs anywhere, as any user: pure units and scripted servers
# tests/server   needs a private Dovecot or Cyrus (root)
# tests/mount    needs FUSE mounts (root, /dev/fuse) and a private Dovecot
# tests/fuzz, tests/conformance  the parser fuzzer; imap4 against python3's imaplib

# `make check` runs the three halves; as a normal user the server and mount
# programs skip at once, and tests/skipped.sh says why, one line each.
# `make check-unit` runs the unit half alone.
UNIT_TESTS =
SERVER_TESTS =
MOUNT_TESTS =

# ---- tests/harness ----
check_LTLIBRARIES += tests/harness/libharness.la
tests_harness_libharness_la_SOURCES = \
	tests/harness/harness.h tests/harness/harness_cert.h tests/harness/harness_cert.c \
	tests/harness/harness_dovecot.c tests/harness/harness_fake.c tests/harness/fake.h \
	tests/harness/harness_fake_impl.h tests/harness/harness_fake_script.c \
	tests/harness/harness_fake_conn.c tests/harness/harness_fake_steps.c \
	tests/harness/harness_maildir.c tests/harness/harness_corpus.c \
	tests/harness/harness_os.c tests/harness/harness_os.h \
	tests/harness/harness_dovecot_conf.c tests/harness/harness_dovecot_conf.h \
	tests/harness/harness_cyrus.c tests/harness/harness_cyrus.h \
	tests/harness/harness_cyrus_impl.h tests/harness/harness_cyrus_files.c \
	tests/harness/harness_cyrus_proc.c tests/harness/harness_cyrus_watchdog.c \
	tests/harness/harness_mount.c tests/harness/harness_mount.h \
	tests/harness/harness_srv.c tests/harness/harness_srv.h \
	tests/harness/harness_proxy.c tests/harness/harness_proxy.h \
	tests/harness/harness_piped.c tests/harness/harness_piped.h
tests_harness_libharness_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(GNUTLS_CFLAGS)
tests_harness_libharness_la_LIBADD = proto/libimap.la $(GNUTLS_LIBS)
noinst_HEADERS = tests/harness/check_run.h tests/harness/check_rng.h tests/harness/check_du.h

TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests/harness
TEST_LIBS = tests/harness/libharness.la proto/libimap.la $(CHECK_LIBS) $(GNUTLS_LIBS) -lpthread

# The fs core against scripted servers (harness_fakefs.h), apart from
# libharness: the tests without the fs core link that one alone.
check_LTLIBRARIES += tests/harness/libfakefs.la
tests_harness_libfakefs_la_SOURCES = tests/harness/harness_fakefs.c tests/harness/harness_fakefs.h
tests_harness_libfakefs_la_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
FAKEFS_LIBS = tests/harness/libfakefs.la fs/libfscore.la fs/libfsunits.la $(TEST_LIBS)

# Users link proto/libimap.la (buf, mutf7) and $(GNUTLS_LIBS) after it.
FSUNITS_TEST_LIBS = fs/libfsunits.la proto/libimap.la $(CHECK_LIBS) $(GNUTLS_LIBS) -lpthread
FSUNITS_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/fs -I$(top_srcdir)/tests/harness

# The private-server tool that the demo and the benchmark use.
check_PROGRAMS += tests/harness/testserver
tests_harness_testserver_SOURCES = tests/harness/testserver.c
tests_harness_testserver_CFLAGS = $(TEST_CFLAGS)
tests_harness_testserver_LDADD = $(TEST_LIBS)

# ---- tests/unit ----
check_PROGRAMS += tests/unit/check_tree tests/unit/check_cache tests/unit/check_uidset
tests_unit_check_tree_SOURCES = tests/unit/check_tree.c
tests_unit_check_tree_CFLAGS = $(FSUNITS_TEST_CFLAGS)
tests_unit_check_tree_LDADD = $(FSUNITS_TEST_LIBS)
tests_unit_check_cache_SOURCES = tests/unit/check_cache.c tests/unit/check_cache_util.c \
	tests/unit/check_cache_util.h tests/unit/check_cache_bodies.c tests/unit/check_cache_budget.c \
	tests/unit/check_cache_packs.c tests/unit/check_cache_mailboxes.c tests/unit/check_cache_listings.c \
	tests/unit/check_cache_directory.c tests/unit/check_cache_restarts.c tests/unit/check_cache_threads.c
tests_unit_check_cache_CFLAGS = $(FSUNITS_TEST_CFLAGS)
tests_unit_check_cache_LDADD = $(FSUNITS_TEST_LIBS)
tests_unit_check_uidset_SOURCES = tests/unit/check_uidset.c
tests_unit_check_uidset_CFLAGS = $(FSUNITS_TEST_CFLAGS)
tests_unit_check_uidset_LDADD = $(FSUNITS_TEST_LIBS)
UNIT_TESTS += tests/unit/check_tree tests/unit/check_cache tests/unit/check_uidset

check_PROGRAMS += tests/unit/check_slab
tests_unit_check_slab_SOURCES = tests/unit/check_slab.c
tests_unit_check_slab_CFLAGS = $(FSUNITS_TEST_CFLAGS)
tests_unit_check_slab_LDADD = $(FSUNITS_TEST_LIBS)
UNIT_TESTS += tests/unit/check_slab

check_PROGRAMS += tests/unit/check_buf
tests_unit_check_buf_SOURCES = tests/unit/check_buf.c
tests_unit_check_buf_CFLAGS = $(TEST_CFLAGS)
tests_unit_check_buf_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/check_parser
tests_unit_check_parser_SOURCES = tests/unit/check_parser.c tests/unit/check_parser_conv.c \
	tests/unit/check_parser_conv.h tests/unit/check_parser_simple.c tests/unit/check_parser_literals.c \
	tests/unit/check_parser_framing.c tests/unit/check_parser_state.c tests/unit/check_parser_structure.c \
	tests/unit/check_parser_gmail.c
tests_unit_check_parser_CFLAGS = $(TEST_CFLAGS)
tests_unit_check_parser_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/check_text
tests_unit_check_text_SOURCES = tests/unit/check_text.c \
	tests/unit/check_text_util.c tests/unit/check_text_util.h \
	tests/unit/check_text_mutf7.c tests/unit/check_text_date.c tests/unit/check_text_quote.c \
	tests/unit/check_text_seqset.c tests/unit/check_text_pyrepr.c
tests_unit_check_text_CFLAGS = $(TEST_CFLAGS)
tests_unit_check_text_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/check_transport
tests_unit_check_transport_SOURCES = tests/unit/check_transport.c \
	tests/unit/check_transport_util.c tests/unit/check_transport_util.h \
	tests/unit/check_transport_tcp.c tests/unit/check_transport_spawn.c \
	tests/unit/check_transport_tls.c tests/unit/check_transport_sasl.c \
	tests/unit/check_transport_fake.c
tests_unit_check_transport_CFLAGS = $(TEST_CFLAGS) $(GNUTLS_CFLAGS)
tests_unit_check_transport_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/check_compress
tests_unit_check_compress_SOURCES = tests/unit/check_compress.c
tests_unit_check_compress_CFLAGS = $(TEST_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_check_compress_LDADD = $(TEST_LIBS) $(ZLIB_LIBS)

check_PROGRAMS += tests/unit/check_connect
tests_unit_check_connect_SOURCES = tests/unit/check_connect.c
tests_unit_check_connect_CFLAGS = $(TEST_CFLAGS) $(GNUTLS_CFLAGS)
tests_unit_check_connect_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/check_imaplib
tests_unit_check_imaplib_SOURCES = tests/unit/check_imaplib.c \
	tests/unit/check_imaplib_scene.c tests/unit/check_imaplib_scene.h \
	tests/unit/check_imaplib_login.c tests/unit/check_imaplib_commands.c \
	tests/unit/check_imaplib_idle.c tests/unit/check_imaplib_starttls.c \
	tests/unit/check_imaplib_pipeline.c
tests_unit_check_imaplib_CFLAGS = $(TEST_CFLAGS)
tests_unit_check_imaplib_LDADD = $(TEST_LIBS)
UNIT_TESTS += tests/unit/check_buf tests/unit/check_parser tests/unit/check_text \
	tests/unit/check_transport tests/unit/check_compress tests/unit/check_connect \
	tests/unit/check_imaplib

# The mailbox tree against scripted servers: size, churn, colliding names.
check_PROGRAMS += tests/unit/check_mtree
tests_unit_check_mtree_SOURCES = tests/unit/check_mtree.c
tests_unit_check_mtree_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_mtree_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_mtree

check_PROGRAMS += tests/unit/check_log
tests_unit_check_log_SOURCES = tests/unit/check_log.c
tests_unit_check_log_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_log_LDADD = fs/libfscore.la fs/libfsunits.la $(TEST_LIBS)
UNIT_TESTS += tests/unit/check_log

check_PROGRAMS += tests/unit/check_secret
tests_unit_check_secret_SOURCES = tests/unit/check_secret.c
tests_unit_check_secret_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_secret_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_secret

check_PROGRAMS += tests/unit/check_secret_token
tests_unit_check_secret_token_SOURCES = tests/unit/check_secret_token.c
tests_unit_check_secret_token_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_secret_token_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_secret_token

check_PROGRAMS += tests/unit/check_stall
# with the FUSE side (ops.c, pagepush.c) for the end of a session
tests_unit_check_stall_SOURCES = tests/unit/check_stall.c tests/unit/check_stall_util.c \
	tests/unit/check_stall_util.h tests/unit/check_stall_core.c tests/unit/check_stall_fs.c \
	tests/unit/check_stall_fire.c tests/unit/check_stall_session.c tests/unit/check_stall_mount.c \
	fs/fuse/ops.c fs/fuse/pagepush.c
tests_unit_check_stall_CFLAGS = $(TEST_CFLAGS) $(FUSE_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_stall_LDADD = $(FAKEFS_LIBS) $(FUSE_LIBS)
UNIT_TESTS += tests/unit/check_stall

check_PROGRAMS += tests/unit/check_write
tests_unit_check_write_SOURCES = tests/unit/check_write.c
tests_unit_check_write_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_write_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_write

# The filesystem core against scripted servers: a hostile or unusual server,
# and a listing kept fresh with QRESYNC.
check_PROGRAMS += tests/unit/check_fs tests/unit/check_fresh
tests_unit_check_fs_SOURCES = tests/unit/check_fs.c
tests_unit_check_fs_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_fs_LDADD = $(FAKEFS_LIBS)
tests_unit_check_fresh_SOURCES = tests/unit/check_fresh.c
tests_unit_check_fresh_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_fresh_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_fs tests/unit/check_fresh
# Partial fetch of big messages against servers that answer it badly.
check_PROGRAMS += tests/unit/check_partial
tests_unit_check_partial_SOURCES = tests/unit/check_partial.c
tests_unit_check_partial_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_partial_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_partial
check_PROGRAMS += tests/unit/check_readahead
tests_unit_check_readahead_SOURCES = tests/unit/check_readahead.c
tests_unit_check_readahead_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_readahead_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_readahead

# Gmail's labels as attributes, against a server scripted like Gmail.
check_PROGRAMS += tests/unit/check_gmail
tests_unit_check_gmail_SOURCES = tests/unit/check_gmail.c
tests_unit_check_gmail_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_gmail_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_gmail

# The harness's Maildir writer and mail corpus, without a server.
check_PROGRAMS += tests/unit/check_corpus
tests_unit_check_corpus_SOURCES = tests/unit/check_corpus.c
tests_unit_check_corpus_CFLAGS = $(TEST_CFLAGS)
tests_unit_check_corpus_LDADD = $(TEST_LIBS)
UNIT_TESTS += tests/unit/check_corpus

# Scripted hostile servers against the filesystem core's bounds.
check_PROGRAMS += tests/unit/check_bounds
tests_unit_check_bounds_SOURCES = tests/unit/check_bounds.c
tests_unit_check_bounds_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_unit_check_bounds_LDADD = $(FAKEFS_LIBS)
UNIT_TESTS += tests/unit/check_bounds

# ---- tests/server ----
check_PROGRAMS += tests/server/check_harness
tests_server_check_harness_SOURCES = tests/server/check_harness.c
tests_server_check_harness_CFLAGS = $(TEST_CFLAGS) $(GNUTLS_CFLAGS)
tests_server_check_harness_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/server/check_dovecot
tests_server_check_dovecot_SOURCES = tests/server/check_dovecot.c
tests_server_check_dovecot_CFLAGS = $(TEST_CFLAGS)
tests_server_check_dovecot_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/server/check_cyrus
tests_server_check_cyrus_SOURCES = tests/server/check_cyrus.c
tests_server_check_cyrus_CFLAGS = $(TEST_CFLAGS)
tests_server_check_cyrus_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/server/check_write
tests_server_check_write_SOURCES = tests/server/check_write.c
tests_server_check_write_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_server_check_write_LDADD = $(FAKEFS_LIBS)

check_PROGRAMS += tests/server/check_fs
tests_server_check_fs_SOURCES = tests/server/check_fs.c
tests_server_check_fs_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_server_check_fs_LDADD = $(FAKEFS_LIBS)
SERVER_TESTS += tests/server/check_cyrus tests/server/check_harness tests/server/check_dovecot \
	tests/server/check_fs tests/server/check_write

# ---- tests/mount ----
check_PROGRAMS += tests/mount/check_mount
tests_mount_check_mount_SOURCES = tests/mount/check_mount.c tests/mount/check_mount.h \
	tests/mount/check_mount_privacy.c
tests_mount_check_mount_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_mount_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/mount/check_mount_cap
tests_mount_check_mount_cap_SOURCES = tests/mount/check_mount_cap.c
tests_mount_check_mount_cap_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_mount_cap_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/mount/check_mount_compress
tests_mount_check_mount_compress_SOURCES = tests/mount/check_mount_compress.c
tests_mount_check_mount_compress_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_mount_compress_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/mount/check_mount_partial
tests_mount_check_mount_partial_SOURCES = tests/mount/check_mount_partial.c
tests_mount_check_mount_partial_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_mount_partial_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/mount/check_mount_readers
tests_mount_check_mount_readers_SOURCES = tests/mount/check_mount_readers.c
tests_mount_check_mount_readers_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_mount_readers_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/mount/check_mount_oauth
tests_mount_check_mount_oauth_SOURCES = tests/mount/check_mount_oauth.c
tests_mount_check_mount_oauth_CFLAGS = $(TEST_CFLAGS) -DHARNESS_SRCDIR='"$(abs_top_srcdir)"'
tests_mount_check_mount_oauth_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/harness/harness_oauth2.py

check_PROGRAMS += tests/mount/check_mount_write
tests_mount_check_mount_write_SOURCES = tests/mount/check_mount_write.c tests/mount/check_mount_write.h \
	tests/mount/check_mount_write_over.c
tests_mount_check_mount_write_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_mount_write_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/mount/check_fresh
tests_mount_check_fresh_SOURCES = tests/mount/check_fresh.c tests/mount/check_fresh_util.c \
	tests/mount/check_fresh_util.h tests/mount/check_fresh_live.c tests/mount/check_fresh_faults.c \
	tests/mount/check_fresh_load.c
tests_mount_check_fresh_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_mount_check_fresh_LDADD = $(FAKEFS_LIBS)
check_PROGRAMS += tests/mount/check_fresh_idle
tests_mount_check_fresh_idle_SOURCES = tests/mount/check_fresh_idle.c tests/mount/check_fresh_util.c \
	tests/mount/check_fresh_util.h
tests_mount_check_fresh_idle_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/fs
tests_mount_check_fresh_idle_LDADD = $(FAKEFS_LIBS)
check_PROGRAMS += tests/mount/check_mount_latency
tests_mount_check_mount_latency_SOURCES = tests/mount/check_mount_latency.c
tests_mount_check_mount_latency_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_mount_latency_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/mount/check_backup
tests_mount_check_backup_SOURCES = tests/mount/check_backup.c
tests_mount_check_backup_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_backup_LDADD = $(TEST_LIBS)

# The server matrix: the same checks against Dovecot, bare Dovecot, Cyrus,
# Courier and mailutils (unpacked by contrib/unpack-servers.sh).
check_PROGRAMS += tests/mount/check_matrix
tests_mount_check_matrix_SOURCES = tests/mount/check_matrix.c tests/mount/check_matrix.h \
	tests/mount/check_matrix_read.c tests/mount/check_matrix_write.c
tests_mount_check_matrix_CFLAGS = $(TEST_CFLAGS)
tests_mount_check_matrix_LDADD = $(TEST_LIBS)

MOUNT_TESTS += tests/mount/check_matrix tests/mount/check_fresh tests/mount/check_fresh_idle tests/mount/check_mount tests/mount/check_mount_cap tests/mount/check_mount_compress tests/mount/check_mount_readers tests/mount/check_mount_write \
	tests/mount/check_backup
MOUNT_TESTS += tests/mount/check_mount_oauth
MOUNT_TESTS += tests/mount/check_mount_partial
MOUNT_TESTS += tests/mount/check_mount_latency

# ---- tests/fuzz ----
EXTRA_DIST += tests/fuzz/corpus
if FUZZING
# libFuzzer target for the response parser (configure CC=clang --enable-fuzzing).
# `make fuzz-run` (or fuzz-parser) runs it over the seed corpus for FUZZ_RUNS
# inputs; what it finds goes to tests/fuzz/work-parser in the build tree.
noinst_PROGRAMS += tests/fuzz/fuzz_parser
tests_fuzz_fuzz_parser_SOURCES = tests/fuzz/fuzz_parser.c proto/parser.c proto/resp.c proto/store.c proto/gmail.c \
	lib/buf.c lib/xalloc.c
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

# ---- tests/conformance and the suite ----
# The conformance test compares imap4 with the system python3's imaplib.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += tests/conformance/run.sh tests/conformance/calls.txt tests/conformance/imaplib_run.py \
	tests/valgrind-wrap.sh tests/valgrind-daemon.sh tests/valgrind.supp tests/run-all.sh contrib/demo.sh contrib/install-deps.sh \
	contrib/unpack-servers.sh contrib/unpack-deb.sh
# Check's 4 s default per test case is too short for ASan or valgrind on
# two loaded cores: test cases without a timeout of their own get 60 s.
AM_TESTS_ENVIRONMENT = IMAP4=$(abs_builddir)/tools/imap4/imap4 TESTSERVER=$(abs_builddir)/tests/harness/testserver \
	IMAPFS=$(abs_builddir)/fs/imapfs CK_DEFAULT_TIMEOUT=60 \
	top_builddir=$(top_builddir) CC="$(CC)" EXAMPLE_CFLAGS="$(SAN_CFLAGS)" EXAMPLE_LDFLAGS="$(SAN_CFLAGS)"; \
	export IMAP4 TESTSERVER IMAPFS CK_DEFAULT_TIMEOUT top_builddir CC EXAMPLE_CFLAGS EXAMPLE_LDFLAGS;
TESTS += $(UNIT_TESTS) $(SERVER_TESTS) $(MOUNT_TESTS) tests/conformance/run.sh
EXTRA_DIST += tests/skipped.sh
# libimap4 installed and used by the examples (tests/server: it needs Dovecot)
SERVER_TESTS += tests/server/check_examples.sh
EXTRA_DIST += tests/server/check_examples.sh

# After the suite: what was skipped and why (automake's summary says only SKIP).
check-local: check-TESTS
	@$(SHELL) $(srcdir)/tests/skipped.sh $(TEST_LOGS)
# distcheck (tests/run-all.sh) checks the tarball with these: the suites
# themselves already ran twice, under ASan and under valgrind.
print-unit-tests:
	@echo $(UNIT_TESTS)
check-unit:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(UNIT_TESTS)'
