/* check_cache_bodies.c: a body goes in and comes back byte for byte, or
 * not at all: an uncommitted, aborted or failed write must never be
 * served, since the filesystem would hand it out as the message. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

START_TEST(test_body_round_trip)
{
	struct cache *c = open_cache(0);
	struct buf body = BUF_INIT, got = BUF_INIT;

	fill(&body, 1 << 20, 5);
	body.data[10] = '\0';  /* binary, with NULs */
	put_body(c, "INBOX", 42, 7, body.data, body.len);
	ck_assert(get_body(c, "INBOX", 42, 7, &got));
	ck_assert_uint_eq(got.len, body.len);
	ck_assert(memcmp(got.data, body.data, body.len) == 0);
	ck_assert_uint_eq(cache_bytes(c), body.len);

	/* An empty body is a body too. */
	put_body(c, "INBOX", 42, 8, "", 0);
	ck_assert(get_body(c, "INBOX", 42, 8, &got));
	ck_assert_uint_eq(got.len, 0);

	/* Other keys are not it. */
	ck_assert(!has_body(c, "INBOX", 42, 9));
	ck_assert(!has_body(c, "INBOX", 43, 7));
	ck_assert(!has_body(c, "Other", 42, 7));
	ck_assert(!has_body(c, "inbox", 42, 7));

	/* The fd is read-only and close-on-exec. */
	int fd = cache_body_open(c, "INBOX", 42, 7);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_lt(write(fd, "x", 1), 0);
	close(fd);

	/* Invalid keys. */
	errno = 0;
	ck_assert_int_eq(cache_body_open(c, "INBOX", 0, 7), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cache_body_open(c, "", 42, 7), -1);
	ck_assert_int_eq(errno, EINVAL);
	struct cache_writer *w = (struct cache_writer *)1;
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 42, 0, &w, NULL), -1);
	ck_assert_ptr_null(w);

	buf_free(&body);
	buf_free(&got);
	cache_close(c);
}
END_TEST

START_TEST(test_commit_is_atomic)
{
	struct cache *c = open_cache(0);
	struct cache_writer *w;

	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 5, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, "Subject: hi\r\n\r\nbody\r\n", 21), 0);
	/* Written but not committed: not there, though its pack exists. */
	ck_assert(!has_body(c, "INBOX", 1, 5));
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_str_eq(ls("mail/INBOX"), "1");
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	uint64_t size;
	ck_assert_int_eq(cache_writer_commit(w, &size, NULL), 0);
	ck_assert_uint_eq(size, 21);
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	struct buf got = BUF_INIT;
	ck_assert(get_body(c, "INBOX", 1, 5, &got));
	ck_assert_str_eq(got.data, "Subject: hi\r\n\r\nbody\r\n");

	/* Abort leaves nothing behind. */
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 6, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, "partial", 7), 0);
	cache_writer_abort(w);
	ck_assert(!has_body(c, "INBOX", 1, 6));
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	ck_assert_int_eq(file_size("mail/INBOX/1/5.p"), 16 + 21);
	ck_assert_uint_eq(cache_bytes(c), 21);
	cache_writer_abort(NULL);

	/* A second commit of the same body replaces it and is counted once;
	 * an fd opened before keeps the old bytes. */
	int old = cache_body_open(c, "INBOX", 1, 5);
	ck_assert_int_ge(old, 0);
	put_body(c, "INBOX", 1, 5, "new", 3);
	ck_assert(get_body(c, "INBOX", 1, 5, &got));
	ck_assert_str_eq(got.data, "new");
	ck_assert_uint_eq(cache_bytes(c), 3);
	read_fd(old, &got);
	ck_assert_str_eq(got.data, "Subject: hi\r\n\r\nbody\r\n");
	close(old);

	buf_free(&got);
	cache_close(c);
}
END_TEST

/* A write that fails (here EFBIG from a file size limit, standing in for
 * ENOSPC) makes the writer refuse to commit, and nothing is left.  Small
 * bodies are held in memory and written at commit (where the failure then
 * shows); a large one goes to disk as it comes. */
static void write_under_limit(size_t body_size, bool fails_at_write)
{
	struct cache *c = open_cache(0);
	struct cache_writer *w;
	struct buf big = BUF_INIT, err = BUF_INIT;
	struct rlimit old, small = { 4096, 4096 };

	fill(&big, body_size, 1);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 1, &w, NULL), 0);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = 0;
	int rc = cache_writer_write(w, big.data, big.len);
	int e = errno;
	int rc2 = cache_writer_write(w, "x", 1);
	int rc3 = cache_writer_commit(w, NULL, &err);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	if (fails_at_write) {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(e, EFBIG);
		ck_assert_int_eq(rc2, -1);  /* sticky: later small writes fail too */
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(rc2, 0);
	}
	ck_assert_int_eq(rc3, -1);
	ck_assert_msg(strstr(err.data, strerror(EFBIG)), "%s", err.data);
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert_str_eq(ls("mail/INBOX/1"), "");
	ck_assert_uint_eq(cache_bytes(c), 0);
	buf_free(&big);
	buf_free(&err);
	cache_close(c);
}

START_TEST(test_failed_write_cannot_commit)
{
	write_under_limit(512 * 1024, true);
}
END_TEST

START_TEST(test_failed_held_write_cannot_commit)
{
	write_under_limit(8192, false);
}
END_TEST

void check_cache_add_bodies(TCase *tc)
{
	tcase_add_test(tc, test_body_round_trip);
	tcase_add_test(tc, test_commit_is_atomic);
	tcase_add_test(tc, test_failed_write_cannot_commit);
	tcase_add_test(tc, test_failed_held_write_cannot_commit);
}
