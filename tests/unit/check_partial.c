/* check_partial.c: partial fetch of a big message (read/partial.h) against
 * scripted servers that answer its BODY.PEEK[]<start.len> badly: literals
 * of another origin, UID or section are read past, bytes beyond what was
 * asked are dropped, a short literal at the end gives the file its real
 * size, and a window answered without its bytes is not taken for the end
 * of the body (the read fails instead). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "harness_fakefs.h"
#include "harness_os.h"

/* Login, INBOX with one message of RFC822.SIZE 2000000 (tags 0-4). */
#define BIG_LISTED                                                  \
	FAKE_LOGIN("UIDPLUS")                                       \
	FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED      \
	FAKEFS_LISTING("INBOX", "1", "7", "2", FAKEFS_MSG("1", "1", "2000000"))

static uint64_t big_ino(struct fakefs *ff, const char *script)
{
	/* generous: under valgrind the checks between the script's steps are slow */
	struct fakefs_opts o = { .start = true, .server_timeout_ms = 60000 };
	fakefs_open(ff, script, &o);
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(ff->fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(ff->fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_int_eq(e.st.st_size, 2000000);
	return e.ino;
}

static off_t size_of(struct fakefs *ff, uint64_t ino)
{
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(ff->fs, ino, &st, &timeout), 0);
	return st.st_size;
}

START_TEST(test_wrong_origin_uid_section_and_extra_bytes)
{
	struct fakefs ff;
	uint64_t ino = big_ino(&ff,
		BIG_LISTED
		"C: <tag5> UID FETCH 1 (UID BODY.PEEK[]<0.262144>)\n"
		"S: * 1 FETCH (UID 1 BODY[]<65536> {10}\n"
		"LITERAL 10 w\n"
		"S: )\n"
		"S: * 1 FETCH (UID 1 BODY[]<131072> \"wwww\")\n"
		"S: * 2 FETCH (UID 2 BODY[]<0> {10}\n"
		"LITERAL 10 u\n"
		"S: )\n"
		"S: * 1 FETCH (UID 1 BODY[1]<0> {10}\n"
		"LITERAL 10 s\n"
		"S: )\n"
		"S: * 1 FETCH (UID 1 BODY[]<0> {262200}\n"
		"LITERAL 262144 a\n"
		"LITERAL 56 z\n"
		"S: )\n"
		"S: <tag5> OK done\n"
		FAKE_LOGOUT);
	struct cache_span body;
	ck_assert_int_eq(fs_read_body(ff.fs, ino, 0, 4096, 0, &body), 0);
	ck_assert_uint_eq(body.size, 2000000);  /* the end is not known yet */
	size_t cap = 300000;
	char *got = malloc(cap);
	ck_assert_ptr_nonnull(got);
	/* the window's bytes and nothing else: no byte of the other literals,
	 * none of the 56 beyond what was asked */
	ck_assert_int_eq(pread(body.fd, got, cap, (off_t)body.offset), 262144);
	size_t i = 0;
	while (i < 262144 && got[i] == 'a')
		i++;
	ck_assert_msg(i == 262144, "byte %zu is '%c'", i, got[i]);
	close(body.fd);
	free(got);
	ck_assert_int_eq(size_of(&ff, ino), 2000000);
	fakefs_close(&ff);
}
END_TEST

/* The window at the end reaches past RFC822.SIZE; its short literal says
 * where the body really ends, and the file shows that size. */
START_TEST(test_short_literal_at_the_end_is_the_real_size)
{
	struct fakefs ff;
	uint64_t ino = big_ino(&ff,
		BIG_LISTED
		"C: <tag5> UID FETCH 1 (UID BODY.PEEK[]<1966080.99456>)\n"
		"S: * 1 FETCH (UID 1 BODY[]<1966080> {1000}\n"
		"LITERAL 1000 b\n"
		"S: )\n"
		"S: <tag5> OK done\n"
		FAKE_LOGOUT);
	struct cache_span body;
	ck_assert_int_eq(fs_read_body(ff.fs, ino, 1966080, 4096, 0, &body), 0);
	ck_assert_uint_eq(body.size, 1967080);
	char got[4096];
	ck_assert_int_eq(pread(body.fd, got, sizeof got, (off_t)body.offset + 1966080), 1000);
	size_t i = 0;
	while (i < 1000 && got[i] == 'b')
		i++;
	ck_assert_uint_eq(i, 1000);
	close(body.fd);
	ck_assert_int_eq(size_of(&ff, ino), 1967080);
	fakefs_close(&ff);
}
END_TEST

/* OK with only a literal of another origin: the window's bytes did not
 * come, which says nothing about the end.  Asked once more, the same: the
 * read fails, and the size stays RFC822.SIZE. */
START_TEST(test_window_without_its_bytes_is_no_end)
{
	struct fakefs ff;
	uint64_t ino = big_ino(&ff,
		BIG_LISTED
		"C: <tag5> UID FETCH 1 (UID BODY.PEEK[]<0.262144>)\n"
		"S: * 1 FETCH (UID 1 BODY[]<262144> {5}\n"
		"LITERAL 5 w\n"
		"S: )\n"
		"S: <tag5> OK done\n"
		"C: <tag6> UID FETCH 1 (UID BODY.PEEK[]<0.262144>)\n"
		"S: <tag6> OK done\n"
		FAKE_LOGOUT);
	struct cache_span body;
	ck_assert_int_eq(fs_read_body(ff.fs, ino, 0, 4096, 0, &body), -EIO);
	ck_assert_int_eq(size_of(&ff, ino), 2000000);
	fakefs_close(&ff);
}
END_TEST

/* The first window's literal cut off by a closed connection; the next
 * connection logs in and EXAMINEs INBOX (tag2), answered next. */
#define FIRST_WINDOW_CUT_OFF                                       \
	"C: <tag5> UID FETCH 1 (UID BODY.PEEK[]<0.262144>)\n"     \
	"S: * 1 FETCH (UID 1 BODY[]<0> {262144}\n"                \
	"LITERAL 1000 a\n"                                        \
	"CLOSE\n"                                                 \
	"ACCEPT\n"                                                \
	FAKE_LOGIN("UIDPLUS")                                      \
	"C: <tag2> EXAMINE INBOX\n"
/* INBOX as BIG_LISTED has it, EXAMINEd by tag. */
#define INBOX_EXAMINED(tag)                                        \
	"S: * 1 EXISTS\n"                                         \
	"S: * OK [UIDVALIDITY 7] ok\n"                            \
	"S: * OK [UIDNEXT 2] ok\n"                                \
	"S: " tag " OK [READ-ONLY] done\n"

/* The connection drops in the middle of a window's literal: the window
 * fails, is asked for once more on a fresh connection, and the read gets
 * the second answer's bytes (none of the first's). */
START_TEST(test_connection_lost_mid_window)
{
	struct fakefs ff;
	uint64_t ino = big_ino(&ff,
		BIG_LISTED
		FIRST_WINDOW_CUT_OFF
		INBOX_EXAMINED("<tag2>")
		"C: <tag3> UID FETCH 1 (UID BODY.PEEK[]<0.262144>)\n"
		"S: * 1 FETCH (UID 1 BODY[]<0> {262144}\n"
		"LITERAL 262144 b\n"
		"S: )\n"
		"S: <tag3> OK done\n"
		FAKE_LOGOUT);
	struct cache_span body;
	ck_assert_int_eq(fs_read_body(ff.fs, ino, 0, 4096, 0, &body), 0);
	char got[4096];
	ck_assert_int_eq(pread(body.fd, got, sizeof got, (off_t)body.offset), (ssize_t)sizeof got);
	size_t i = 0;
	while (i < sizeof got && got[i] == 'b')
		i++;
	ck_assert_msg(i == sizeof got, "byte %zu is '%c'", i, got[i]);
	close(body.fd);
	ck_assert_int_eq(size_of(&ff, ino), 2000000);
	fakefs_close(&ff);
}
END_TEST

struct read_at {
	struct fakefs *ff;
	uint64_t ino, off;
	int rc;
	char first;               /* the first byte read */
};

static void *read_thread(void *arg)
{
	struct read_at *r = arg;
	struct cache_span body;
	r->rc = fs_read_body(r->ff->fs, r->ino, r->off, 4096, 0, &body);
	if (r->rc == 0) {
		if (pread(body.fd, &r->first, 1, (off_t)(body.offset + r->off)) != 1)
			r->first = 0;
		close(body.fd);
	}
	return NULL;
}

/* A window asked for while the fetching thread fails to get a connection
 * ready (its EXAMINE refused) fails with the others, and its reader asks
 * once more instead of waiting for it for ever. */
START_TEST(test_window_asked_while_no_connection_is_not_lost)
{
	struct fakefs ff;
	uint64_t ino = big_ino(&ff,
		BIG_LISTED
		FIRST_WINDOW_CUT_OFF
		"PAUSE\n"
		"S: <tag2> NO not now\n"
		"C: <tag3> EXAMINE INBOX\n"
		INBOX_EXAMINED("<tag3>")
		"C: <tag4> UID FETCH 1 (UID BODY.PEEK[]<1048576.262144>)\n"
		"S: * 1 FETCH (UID 1 BODY[]<1048576> {262144}\n"
		"LITERAL 262144 c\n"
		"S: )\n"
		"S: <tag4> OK done\n"
		FAKE_LOGOUT);
	struct read_at first = { &ff, ino, 0, 0, 0 }, second = { &ff, ino, 1048576, 0, 0 };
	pthread_t t1, t2;
	ck_assert_int_eq(pthread_create(&t1, NULL, read_thread, &first), 0);
	/* the window of the first read is asked for again, and its EXAMINE
	 * waits: the second read's window joins the queue */
	ck_assert_int_eq(fake_wait_paused(ff.f), 0);
	ck_assert_int_eq(pthread_create(&t2, NULL, read_thread, &second), 0);
	usleep(300000);
	fake_resume(ff.f);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	ck_assert_int_eq(first.rc, -EIO);
	ck_assert_int_eq(second.rc, 0);
	ck_assert_int_eq(second.first, 'c');
	fakefs_close(&ff);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("partial");
	TCase *tc = tcase_create("fake");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wrong_origin_uid_section_and_extra_bytes);
	tcase_add_test(tc, test_short_literal_at_the_end_is_the_real_size);
	tcase_add_test(tc, test_window_without_its_bytes_is_no_end);
	tcase_add_test(tc, test_connection_lost_mid_window);
	tcase_add_test(tc, test_window_asked_while_no_connection_is_not_lost);
	suite_add_tcase(su, tc);
	return check_run_suite(su) ? EXIT_FAILURE : EXIT_SUCCESS;
}
