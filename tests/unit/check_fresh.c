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
#include "harness_fakefs.h"

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
		"C: <tag5> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE)\n"
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
		"C: <tag9> UID FETCH 1:5 (UID) (CHANGEDSINCE 10 VANISHED)\n"
		"S: * VANISHED (EARLIER) 4,1:2\n"
		"S: <tag9> OK done\n"
		FAKE_LOGOUT, &o);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, inbox.ino, &d), 0);
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

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("fresh");
	TCase *tc = tcase_create("fake");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_qresync_names_the_vanished);
	suite_add_tcase(su, tc);
	int failed = check_run_suite(su);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
