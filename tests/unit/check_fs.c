/* check_fs.c (unit): the filesystem core driven directly, without a mount,
 * against scripted servers: what a hostile or unusual server makes of
 * fs_new, fs_lookup, fs_open and fs_unlink.  The same core against a
 * private Dovecot is in tests/server/check_fs.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "harness_fakefs.h"
#include "harness_os.h"
#include "imap.h"

static char cachedir[64];

/* imap:// means STARTTLS: a crafted greeting that imaplib's regexes read
 * as PREAUTH ("* 4294967296 PREAUTH") once mounted over plaintext; now
 * nothing is mounted and nothing (no password, no command) is sent. */
START_TEST(test_crafted_greeting_never_skips_tls)
{
	struct fakefs ff;
	fakefs_config(&ff, "S: * 4294967296 PREAUTH [CAPABILITY IMAP4rev1] hi\nEOF\n", NULL);
	ff.cfg.tls_none = false;
	struct buf err = BUF_INIT;
	ck_assert_int_lt(fs_new(&ff.fs, &ff.cfg, &err), 0);
	ck_assert_ptr_null(ff.fs);
	ck_assert_msg(strstr(err.data, "not an IMAP greeting"), "%s", err.data);
	fakefs_close(&ff);
	buf_free(&err);
}
END_TEST

/* The advice to use STARTTLS or -o tls=none comes with what STARTTLS
 * alone can explain: a server that answers without offering it, not a
 * port where nobody listens. */
START_TEST(test_starttls_advice_only_when_starttls_failed)
{
	struct fakefs ff;
	fakefs_config(&ff, "S: * OK [CAPABILITY IMAP4rev1] hi\nEOF\n", NULL);
	ff.cfg.tls_none = false;
	char port[16];
	snprintf(port, sizeof port, "%s", fake_port_str(ff.f));
	struct buf err = BUF_INIT;
	ck_assert_int_lt(fs_new(&ff.fs, &ff.cfg, &err), 0);
	ck_assert_msg(strstr(err.data, "does not offer STARTTLS") && strstr(err.data, "tls=none"), "%s",
		      err.data);
	fakefs_close(&ff);
	/* the same port, closed now */
	buf_reset(&err);
	struct fs_config cfg;
	fakefs_account(&cfg, "alice", port);
	cfg.tls_none = false;
	cfg.cachedir = cachedir;
	cfg.connections = 1;
	cfg.timeout_s = 10;
	cfg.poll_s = 600;
	struct fs *fs = NULL;
	ck_assert_int_lt(fs_new(&fs, &cfg, &err), 0);
	ck_assert_msg(strstr(err.data, "refused") && !strstr(err.data, "STARTTLS"), "%s", err.data);
	url_free(&cfg.url);
	buf_free(&err);
}
END_TEST

/* A hostile server's mailbox names never make a path that leaves the
 * mount: '..' and '/' are escaped, undecodable names are skipped. */
START_TEST(test_hostile_mailbox_names_stay_inside)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("")
		FAKEFS_LIST
		"S: * LIST (\\\\HasNoChildren) \"/\" INBOX\n"
		"S: * LIST (\\\\HasNoChildren) \"/\" ..\n"
		"S: * LIST (\\\\HasNoChildren) \"/\" \"a/../../etc\"\n"
		"S: * LIST (\\\\HasNoChildren) \".\" \"x/y\"\n"
		"S: * LIST (\\\\HasNoChildren) \"/\" 12.eml\n"
		"S: * LIST (\\\\HasNoChildren) \"/\" bad&Jjo\n"
		"S: * LIST (\\\\Noselect) \"/\" parent\n"
		"S: * LIST () \"/\" {4}\n"
		"S+ a\\x00b/\n"
		"S: \n"
		FAKEFS_LISTED
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, FS_ROOT_INO, 0, &d), 0);
	static const char *const want[] = { "INBOX", "%2E%2E", "a", "x%2Fy", "%312.eml", "parent" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		ck_assert_msg(fs_dir_find(d, want[i]) != NULL, "no %s", want[i]);
	for (size_t i = FS_DIR_DOTS; i < d->n; i++) {
		ck_assert_str_ne(d->v[i].name, "..");
		ck_assert_str_ne(d->v[i].name, ".");
		ck_assert_ptr_null(strchr(d->v[i].name, '/'));
		ck_assert_msg(strncmp(d->v[i].name, "bad", 3) != 0, "undecodable name shown: %s", d->v[i].name);
	}
	ck_assert_uint_eq(d->n, FS_DIR_DOTS + 6);
	/* a/../../etc is a/%2E%2E/%2E%2E/etc, all inside */
	struct fs_entry a, dd;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "a", &a), 0);
	ck_assert_int_eq(fs_lookup(fs, a.ino, "%2E%2E", &dd), 0);
	ck_assert(S_ISDIR(dd.st.st_mode));
	fs_dir_free(d);
	fakefs_close(&ff);
}
END_TEST

/* Some servers' RFC822.SIZE is not the size of what they send: the file's
 * size follows the real bytes once they are fetched. */
START_TEST(test_size_follows_the_real_bytes)
{
	struct fakefs_opts o = { .start = true };
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("UIDPLUS")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKEFS_LISTING("INBOX", "1", "7", "2", FAKEFS_MSG("1", "1", "10"))
		"C: <tag5> UID FETCH 1 (UID BODY.PEEK[])\n"
		"S: * 1 FETCH (UID 1 BODY[] {15}\n"
		"S+ 0123456789abcde\n"
		"S: )\n"
		"S: <tag5> OK done\n"
		FAKE_LOGOUT, &o);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_int_eq(e.st.st_size, 10);              /* what RFC822.SIZE said */
	ck_assert_int_eq(e.st.st_mtime, 1577836800);
	int fd;
	bool keep;
	ck_assert_int_eq(fs_open(fs, e.ino, O_RDONLY, &fd, &keep), 0);
	char bytes[32];
	ck_assert_int_eq(pread(fd, bytes, sizeof bytes, 0), 15);
	close(fd);
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, e.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_size, 15);                /* what was really sent */
	fakefs_close(&ff);
}
END_TEST

/* Names a message keeps take precedence over <UID>.eml: a message whose
 * <UID>.eml is taken shows as <UID>~.eml, and one step further when that
 * is taken too; every name leads to its own message, none shows twice.
 * No rename sends a command (the script's next one is LOGOUT). */
START_TEST(test_kept_names_push_uid_names_aside)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKEFS_LISTING("INBOX", "3", "7", "4",
			       FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "20") FAKEFS_MSG("3", "3", "30"))
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_rename(fs, inbox.ino, "1.eml", inbox.ino, "2.eml", 0), 0);
	ck_assert_int_eq(fs_rename(fs, inbox.ino, "3.eml", inbox.ino, "2~.eml", 0), 0);
	const char *names[] = { "2.eml", "2~.eml", "2~~.eml" };
	const off_t sizes[] = { 10, 30, 20 };
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fs_lookup(fs, inbox.ino, names[i], &e), 0);
		ck_assert_msg(e.ino != 0, "%s", names[i]);
		ck_assert_int_eq(e.st.st_size, sizes[i]);
	}
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, inbox.ino, 0, &d), 0);
	ck_assert_uint_eq(d->n, 2 + 3);
	for (size_t i = 2; i < d->n; i++)
		ck_assert_str_eq(d->v[i].name, names[i - 2]);
	fs_dir_free(d);
	fakefs_close(&ff);
}
END_TEST

/* Without UIDPLUS, rm must not EXPUNGE (it would also remove what other
 * clients marked \Deleted): refused, and nothing is sent (the script's
 * next command is LOGOUT).  Renaming a message in its folder costs no
 * round trip either: the message keeps the new name. */
START_TEST(test_rm_without_uidplus_sends_nothing)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKEFS_LISTING("INBOX", "2", "7", "3", FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "10"))
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_int_eq(fs_unlink(fs, inbox.ino, "1.eml"), -EOPNOTSUPP);
	struct fs_entry two;
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "2.eml", &two), 0);
	ck_assert_int_eq(fs_rename(fs, inbox.ino, "2.eml", inbox.ino, "Renamed.eml", 0), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "Renamed.eml", &e), 0);
	ck_assert_uint_eq(e.ino, two.ino);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "2.eml", &e), 0);
	ck_assert_uint_eq(e.ino, 0);  /* the old name is gone */
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_uint_ne(e.ino, 0);  /* still there */
	fakefs_close(&ff);
}
END_TEST

/* A server with UTF8=ACCEPT (Courier, Gmail): enabled at login, its names
 * are UTF-8 (RFC 6855): shown as they are, "&" included, an ill-formed one
 * skipped, and a new folder's name sent in UTF-8 (a literal: 8-bit). */
START_TEST(test_utf8_accept_names_are_utf8)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("ENABLE UTF8=ACCEPT")
		"C: <tag5> ENABLE UTF8=ACCEPT\n"
		"S: * ENABLED UTF8=ACCEPT\n"
		"S: <tag5> OK enabled\n"
		FAKEFS_LIST
		"S: * LIST () \"/\" INBOX\n"
		"S: * LIST () \"/\" \"R\\xc3\\xa9sum\\xc3\\xa9\"\n"
		"S: * LIST () \"/\" \"A&B\"\n"
		"S: * LIST () \"/\" \"bad\\xff\"\n"
		FAKEFS_LISTED
		"C: <tag6> CREATE {5}\n"
		"S: + go\n"
		"C: \\xc3\\x9cber\n"
		"S: <tag6> OK created\n"
		"C: <tag7> LIST \"\" \"*\"\n"
		"S: * LIST () \"/\" INBOX\n"
		"S: * LIST () \"/\" \\xc3\\x9cber\n"
		"S: <tag7> OK listed\n"
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, FS_ROOT_INO, 0, &d), 0);
	ck_assert(fs_dir_find(d, "INBOX") != NULL);
	ck_assert(fs_dir_find(d, "R\xc3\xa9sum\xc3\xa9") != NULL);
	ck_assert(fs_dir_find(d, "A&B") != NULL);
	ck_assert_uint_eq(d->n, FS_DIR_DOTS + 3);
	fs_dir_free(d);
	struct fs_entry e;
	ck_assert_int_eq(fs_mkdir(fs, FS_ROOT_INO, "\xc3\x9c" "ber", &e), 0);
	ck_assert(S_ISDIR(e.st.st_mode));
	fakefs_close(&ff);
}
END_TEST

/* The quota is asked for with the mount's LIST, in the same round trip,
 * and statfs answers from it without asking the server: a grep -r or find
 * calls statfs as it begins, and must not wait a round trip for it. */
START_TEST(test_quota_comes_with_the_mount_listing)
{
	struct fakefs_opts o = { .start = true };
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("QUOTA")
		FAKEFS_LIST
		"C: <tag3> GETQUOTAROOT INBOX\n"
		"S: * LIST () \"/\" INBOX\n"
		FAKEFS_LISTED
		"S: * QUOTAROOT INBOX \"\"\n"
		"S: * QUOTA \"\" (STORAGE 10 512)\n"
		"S: <tag3> OK done\n"
		FAKE_LOGOUT, &o);
	for (int i = 0; i < 2; i++) {
		struct statvfs sv;
		ck_assert_int_eq(fs_statfs(ff.fs, &sv), 0);
		ck_assert_uint_eq((uint64_t)sv.f_blocks * sv.f_frsize, 512 * 1024);
		ck_assert_uint_eq((uint64_t)sv.f_bavail * sv.f_frsize, 502 * 1024);
	}
	fakefs_close(&ff);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	snprintf(cachedir, sizeof cachedir, "/tmp/imapfs-fscache-XXXXXX");
	if (!mkdtemp(cachedir))
		return EXIT_FAILURE;
	Suite *su = suite_create("fs");
	TCase *tc = tcase_create("fake");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_crafted_greeting_never_skips_tls);
	tcase_add_test(tc, test_starttls_advice_only_when_starttls_failed);
	tcase_add_test(tc, test_hostile_mailbox_names_stay_inside);
	tcase_add_test(tc, test_size_follows_the_real_bytes);
	tcase_add_test(tc, test_rm_without_uidplus_sends_nothing);
	tcase_add_test(tc, test_kept_names_push_uid_names_aside);
	tcase_add_test(tc, test_utf8_accept_names_are_utf8);
	tcase_add_test(tc, test_quota_comes_with_the_mount_listing);
	suite_add_tcase(su, tc);
	int failed = check_run_suite(su);
	struct buf err = BUF_INIT;
	if (os_rmtree(cachedir, &err) != 0) {
		fprintf(stderr, "check_fs: %s\n", err.len ? err.data : cachedir);
		failed++;
	}
	buf_free(&err);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
