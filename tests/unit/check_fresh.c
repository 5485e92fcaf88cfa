/* check_fresh.c (unit): the core keeps a listing fresh against a scripted
 * server.  Mounts kept fresh against a private Dovecot are in
 * tests/mount/check_fresh.c. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "fs_impl.h"
#include "harness_fakefs.h"
#include "model/mailbox.h"

/* With QRESYNC a resync asks which UIDs vanished since the listing's
 * modseq (one command, answered with ranges) instead of listing every UID. */
START_TEST(test_qresync_names_the_vanished)
{
	struct fakefs_opts o = { .poll_each_access = true };
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("ENABLE CONDSTORE QRESYNC UNSELECT")
		"C: <tag2> ENABLE QRESYNC\n"
		"S: * ENABLED QRESYNC\n"
		"S: <tag2> OK enabled\n"
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		"C: <tag4> EXAMINE INBOX\n"
		"C: <tag5> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ)\n"
		"S: * 5 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 6] ok\n"
		"S: * OK [HIGHESTMODSEQ 10] ok\n"
		"S: <tag4> OK [READ-ONLY] done\n"
		FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "10") FAKEFS_MSG("3", "3", "10")
		FAKEFS_MSG("4", "4", "10") FAKEFS_MSG("5", "5", "10")
		"S: <tag5> OK done\n"
		"# another client expunged 1, 2 and 4\n"
		"C: <tag6> UNSELECT\n"
		"S: <tag6> OK done\n"
		"C: <tag7> STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)\n"
		"S: * STATUS INBOX (MESSAGES 2 UIDNEXT 6 UIDVALIDITY 7 HIGHESTMODSEQ 20)\n"
		"S: <tag7> OK done\n"
		"C: <tag8> EXAMINE INBOX\n"
		"S: * 2 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 6] ok\n"
		"S: * OK [HIGHESTMODSEQ 20] ok\n"
		"S: <tag8> OK [READ-ONLY] done\n"
		"C: <tag9> UID FETCH 1:5 (UID FLAGS MODSEQ) (CHANGEDSINCE 10 VANISHED)\n"
		"S: * VANISHED (EARLIER) 4,1:2\n"
		"S: <tag9> OK done\n"
		FAKE_LOGOUT, &o);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, inbox.ino, 0, &d), 0);
	size_t files = 0;
	for (size_t i = 0; i < d->n; i++)
		files += S_ISREG(d->v[i].e.st.st_mode);
	ck_assert_uint_eq(files, 2);
	ck_assert_ptr_nonnull(fs_dir_find(d, "3.eml"));
	ck_assert_ptr_nonnull(fs_dir_find(d, "5.eml"));
	fs_dir_free(d);
	fakefs_close(&ff);
}
END_TEST

static void get_xattr(struct fs *fs, uint64_t ino, const char *name, const char *want)
{
	struct buf v = BUF_INIT;
	ck_assert_int_eq(fs_getxattr(fs, ino, name, &v), 0);
	ck_assert_str_eq(v.data, want);
	buf_free(&v);
}

/* The flags and MODSEQ come with the listing, and a resync brings the
 * ones that changed (CHANGEDSINCE): reading user.imap.flags and
 * user.imap.modseq of every message sends nothing (the script has no
 * command for it), a changed message's ctime moves, its folder's mtime
 * does not (nothing arrived or went). */
START_TEST(test_flags_come_with_the_listing)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("CONDSTORE UNSELECT")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		"C: <tag3> EXAMINE INBOX\n"
		"C: <tag4> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ)\n"
		"S: * 2 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 3] ok\n"
		"S: * OK [HIGHESTMODSEQ 6] ok\n"
		"S: <tag3> OK [READ-ONLY] done\n"
		"S: * 1 FETCH (UID 1 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" FLAGS (\\\\Seen \\\\Recent) MODSEQ (5))\n"
		"S: * 2 FETCH (UID 2 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" FLAGS () MODSEQ (6))\n"
		"S: <tag4> OK done\n"
		"# another client flags message 1\n"
		"C: <tag5> UNSELECT\n"
		"S: <tag5> OK done\n"
		"C: <tag6> STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)\n"
		"S: * STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 7 HIGHESTMODSEQ 9)\n"
		"S: <tag6> OK done\n"
		"C: <tag7> EXAMINE INBOX\n"
		"S: * 2 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 3] ok\n"
		"S: * OK [HIGHESTMODSEQ 9] ok\n"
		"S: <tag7> OK [READ-ONLY] done\n"
		"C: <tag8> UID FETCH 1:2 (UID FLAGS MODSEQ) (CHANGEDSINCE 6)\n"
		"S: * 1 FETCH (UID 1 FLAGS (\\\\Seen \\\\Flagged) MODSEQ (9))\n"
		"S: <tag8> OK done\n"
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, one, two;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &one), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "2.eml", &two), 0);
	get_xattr(fs, one.ino, "user.imap.flags", "\\Seen");  /* \Recent is the session's */
	get_xattr(fs, one.ino, "user.imap.modseq", "5");
	get_xattr(fs, two.ino, "user.imap.flags", "");
	get_xattr(fs, two.ino, "user.imap.modseq", "6");
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, inbox.ino, &st, &timeout), 0);
	time_t dir_mtime = st.st_mtime;
	ck_assert_int_eq(fs_getattr(fs, one.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_ctime, st.st_mtime);

	struct mbox *m = mtree_by_name(&fs->tree, "INBOX");
	mbox_mark_stale(m);
	mbox_put(m);
	get_xattr(fs, one.ino, "user.imap.flags", "\\Seen \\Flagged");
	get_xattr(fs, one.ino, "user.imap.modseq", "9");
	get_xattr(fs, two.ino, "user.imap.flags", "");
	ck_assert_int_eq(fs_getattr(fs, one.ino, &st, &timeout), 0);
	ck_assert_int_gt(st.st_ctime, st.st_mtime);  /* 2020, and now */
	ck_assert_int_eq(fs_getattr(fs, two.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_ctime, st.st_mtime);
	ck_assert_int_eq(fs_getattr(fs, inbox.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_mtime, dir_mtime);
	fakefs_close(&ff);
}
END_TEST

/* A poll that finds the folder as it was keeps the listing it has (the
 * same array, not a copy put in its place): a big account's scan polls
 * every folder once a minute, and remaking each one's arrays at every
 * poll left the daemon's heap full of holes. */
START_TEST(test_unchanged_poll_keeps_the_listing)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("CONDSTORE UNSELECT")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		"C: <tag3> EXAMINE INBOX\n"
		"C: <tag4> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ)\n"
		"S: * 2 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 3] ok\n"
		"S: * OK [HIGHESTMODSEQ 6] ok\n"
		"S: <tag3> OK [READ-ONLY] done\n"
		"S: * 1 FETCH (UID 1 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" FLAGS (\\\\Seen) MODSEQ (5))\n"
		"S: * 2 FETCH (UID 2 RFC822.SIZE 20 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" FLAGS () MODSEQ (6))\n"
		"S: <tag4> OK done\n"
		"C: <tag5> UNSELECT\n"
		"S: <tag5> OK done\n"
		"C: <tag6> STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)\n"
		"S: * STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 7 HIGHESTMODSEQ 6)\n"
		"S: <tag6> OK done\n"
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, two;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "2.eml", &two), 0);
	struct mbox *m = mtree_by_name(&fs->tree, "INBOX");
	pthread_mutex_lock(&m->lock);
	const struct cache_msg *before = m->listing.msgs;
	pthread_mutex_unlock(&m->lock);
	mbox_mark_stale(m);
	ck_assert_int_eq(mbox_refresh(m, fs->pool, fs->cache, 0), 0);
	pthread_mutex_lock(&m->lock);
	ck_assert_ptr_eq(m->listing.msgs, before);
	ck_assert_uint_eq(m->listing.n, 2);
	ck_assert_uint_eq(m->listing.msgs[1].size, 20);
	pthread_mutex_unlock(&m->lock);
	mbox_put(m);
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, two.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_size, 20);
	fakefs_close(&ff);
}
END_TEST

/* A flags change seen before the kernel knew the message: the listing's
 * entry shows the moved ctime, and so does the node that READDIRPLUS
 * makes of it (the kernel asks GETATTR again whenever its copy is
 * invalidated, and a ctime going back would tell backups nothing moved). */
START_TEST(test_readdirplus_node_keeps_the_listed_ctime)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("CONDSTORE UNSELECT")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		"C: <tag3> EXAMINE INBOX\n"
		"C: <tag4> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS MODSEQ)\n"
		"S: * 2 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 3] ok\n"
		"S: * OK [HIGHESTMODSEQ 6] ok\n"
		"S: <tag3> OK [READ-ONLY] done\n"
		"S: * 1 FETCH (UID 1 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" FLAGS () MODSEQ (5))\n"
		"S: * 2 FETCH (UID 2 RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" FLAGS () MODSEQ (6))\n"
		"S: <tag4> OK done\n"
		"# another client flags message 2, which the kernel does not know yet\n"
		"C: <tag5> UNSELECT\n"
		"S: <tag5> OK done\n"
		"C: <tag6> STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ)\n"
		"S: * STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 7 HIGHESTMODSEQ 9)\n"
		"S: <tag6> OK done\n"
		"C: <tag7> EXAMINE INBOX\n"
		"S: * 2 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 3] ok\n"
		"S: * OK [HIGHESTMODSEQ 9] ok\n"
		"S: <tag7> OK [READ-ONLY] done\n"
		"C: <tag8> UID FETCH 1:2 (UID FLAGS MODSEQ) (CHANGEDSINCE 6)\n"
		"S: * 2 FETCH (UID 2 FLAGS (\\\\Flagged) MODSEQ (9))\n"
		"S: <tag8> OK done\n"
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, one;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &one), 0);
	struct mbox *m = mtree_by_name(&fs->tree, "INBOX");
	mbox_mark_stale(m);
	mbox_put(m);
	get_xattr(fs, one.ino, "user.imap.flags", "");  /* the resync */

	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, inbox.ino, 0, &d), 0);
	const struct fs_dirent *de = fs_dir_find(d, "2.eml");
	ck_assert_ptr_nonnull(de);
	ck_assert_int_gt(de->e.st.st_ctime, de->e.st.st_mtime);  /* 2020, and now */
	size_t at = (size_t)(de - d->v);
	fs_dir_entries_used(fs, d, at, at + 1, NULL);
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, de->e.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_ctime, de->e.st.st_ctime);
	ck_assert_int_eq(st.st_mtime, de->e.st.st_mtime);
	fs_forget(fs, de->e.ino, 1);
	fs_dir_free(d);
	fakefs_close(&ff);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("fresh");
	TCase *tc = tcase_create("fake");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_qresync_names_the_vanished);
	tcase_add_test(tc, test_flags_come_with_the_listing);
	tcase_add_test(tc, test_unchanged_poll_keeps_the_listing);
	tcase_add_test(tc, test_readdirplus_node_keeps_the_listed_ctime);
	suite_add_tcase(su, tc);
	int failed = check_run_suite(su);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
