/* check_readahead.c: how read-ahead (read/prefetch.h) sizes its first
 * window in a folder, against a scripted server that expects the exact
 * UID FETCH commands: a process that opened the folder as a directory and
 * now reads its first message walks it (grep -r, rsync, tar) and gets the
 * folder in one window; any other reader of the first message starts
 * small, with the next small window pipelined behind. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "harness_fakefs.h"

/* INBOX of 20 messages, UIDs 1..20: in directory order (names sort as
 * strings) 1, 10..19, 2, 20, 3..9. */
#define MESSAGES 20
#define WALKER 4242

static void add_listing(struct buf *s)
{
	buf_addstr(s, FAKE_LOGIN("") FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		      "C: <tag3> EXAMINE INBOX\n"
		      "C: <tag4> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)\n"
		      "S: * 20 EXISTS\n"
		      "S: * OK [UIDVALIDITY 7] ok\n"
		      "S: * OK [UIDNEXT 21] ok\n"
		      "S: <tag3> OK [READ-ONLY] done\n");
	for (unsigned uid = 1; uid <= MESSAGES; uid++)
		buf_addf(s, "S: * %u FETCH (UID %u RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\" "
			 "FLAGS (\\\\Seen))\n", uid, uid);
	buf_addstr(s, "S: <tag4> OK done\n");
}

/* The bodies of UIDs [from, to], each ten bytes of 'b'. */
static void add_bodies(struct buf *s, unsigned from, unsigned to)
{
	for (unsigned uid = from; uid <= to; uid++)
		buf_addf(s, "S: * %u FETCH (UID %u BODY[] {10}\nLITERAL 10 b\nS: )\n", uid, uid);
}

/* Opens INBOX as a directory as process opener, then reads 1.eml (the
 * folder's first message) as process reader: its bytes come back. */
static void open_then_read(struct fakefs *ff, pid_t opener, pid_t reader)
{
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(ff->fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(ff->fs, inbox.ino, opener, &d), 0);
	ck_assert_uint_eq(d->n, FS_DIR_DOTS + MESSAGES);
	ck_assert_str_eq(d->v[FS_DIR_DOTS].name, "1.eml");
	ck_assert_int_eq(fs_lookup(ff->fs, inbox.ino, "1.eml", &e), 0);
	struct cache_span body;
	ck_assert_int_eq(fs_read_body(ff->fs, e.ino, 0, 4096, reader, &body), 0);
	char bytes[16];
	ck_assert_int_eq(pread(body.fd, bytes, 10, (off_t)body.offset), 10);
	ck_assert(!memcmp(bytes, "bbbbbbbbbb", 10));
	close(body.fd);
	fs_dir_free(d);
}

START_TEST(test_a_walk_gets_the_folder_in_one_window)
{
	struct buf s = BUF_INIT;
	add_listing(&s);
	buf_addstr(&s, "C: <tag5> UID FETCH 1:20 (UID BODY.PEEK[])\n");
	add_bodies(&s, 1, MESSAGES);
	buf_addstr(&s, "S: <tag5> OK done\n" FAKE_LOGOUT);
	struct fakefs_opts o = { .start = true };
	struct fakefs ff;
	fakefs_open(&ff, s.data, &o);
	open_then_read(&ff, WALKER, WALKER);
	fakefs_close(&ff);
	buf_free(&s);
}
END_TEST

/* The same first read by a process other than the one that listed the
 * folder (cat after ls): eight messages, and the next eight behind. */
START_TEST(test_another_reader_starts_small)
{
	struct buf s = BUF_INIT;
	add_listing(&s);
	buf_addstr(&s, "C: <tag5> UID FETCH 1,10:16 (UID BODY.PEEK[])\n"
		       "C: <tag6> UID FETCH 2:5,17:20 (UID BODY.PEEK[])\n");
	add_bodies(&s, 1, 1);
	add_bodies(&s, 10, 16);
	buf_addstr(&s, "S: <tag5> OK done\n");
	add_bodies(&s, 2, 5);
	add_bodies(&s, 17, 20);
	buf_addstr(&s, "S: <tag6> OK done\n" FAKE_LOGOUT);
	struct fakefs_opts o = { .start = true };
	struct fakefs ff;
	fakefs_open(&ff, s.data, &o);
	open_then_read(&ff, WALKER, WALKER + 1);
	fakefs_close(&ff);
	buf_free(&s);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("readahead");
	TCase *tc = tcase_create("fake");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_a_walk_gets_the_folder_in_one_window);
	tcase_add_test(tc, test_another_reader_starts_small);
	suite_add_tcase(su, tc);
	return check_run_suite(su) ? EXIT_FAILURE : EXIT_SUCCESS;
}
