/* check_cache_restarts.c: a cache outlives its session.  What a clean
 * session left is served after a restart, a crash's leftovers are
 * cleaned, and bodies written by a session that never closed are not
 * trusted, since a crash may have torn them. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

START_TEST(test_warm_restart)
{
	struct cache *c = open_cache(0), *second = (struct cache *)1;
	struct buf err = BUF_INIT;
	struct cache_listing l, got;

	put_sized(c, "INBOX", 5, 1, 300);
	put_sized(c, "INBOX", 5, 2, 400);
	put_sized(c, "Archiv.2023", 8, 99, 500);
	make_listing(&l, 5, 2);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);

	/* The same dir cannot be used twice at once. */
	errno = 0;
	ck_assert_int_eq(cache_open(&second, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_ptr_null(second);
	ck_assert_msg(strstr(err.data, "in use") != NULL, "%s", err.data);
	cache_close(c);

	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 1200);
	ck_assert(body_is(c, "INBOX", 5, 1, 300));
	ck_assert(body_is(c, "INBOX", 5, 2, 400));
	ck_assert(body_is(c, "Archiv.2023", 8, 99, 500));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	cache_listing_free(&l);
	/* What was indexed at open can be dropped and evicted. */
	ck_assert_int_eq(cache_drop_mailbox(c, "Archiv.2023", 0), 0);
	ck_assert_uint_eq(cache_bytes(c), 700);
	cache_close(c);
	buf_free(&err);
}
END_TEST

static void set_times(const char *rel, time_t t)
{
	char path[512];
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}


START_TEST(test_restart_cleans_and_orders)
{
	struct cache *c = open_cache(1000);  /* small: a pack per body */
	for (uint32_t uid = 1; uid <= 4; uid++)
		put_sized(c, "INBOX", 3, uid, 100);
	cache_close(c);

	/* Leftovers of a crash: temp files and a half-deleted generation. */
	touch("mail/INBOX/3/.tmp-9-1-1");
	touch("mail/INBOX/.tmp-listing-1-2");
	char trash[512];
	snprintf(trash, sizeof trash, "%s/mail/.trash-1-3", cdir);
	ck_assert_int_eq(mkdir(trash, 0700), 0);
	touch("mail/.trash-1-3/5");
	/* Files the cache does not know are ignored. */
	touch("mail/INBOX/3/notes");
	/* Last use, oldest first: 3 1 4 2. */
	set_times("mail/INBOX/3/3.p", 1000000);
	set_times("mail/INBOX/3/1.p", 2000000);
	set_times("mail/INBOX/3/4.p", 3000000);
	set_times("mail/INBOX/3/2.p", 4000000);

	c = open_cache(250);  /* the trim at open keeps the two most recent */
	ck_assert_str_eq(ls("mail"), "INBOX");
	ck_assert_str_eq(ls("mail/INBOX"), "3");
	ck_assert_str_eq(ls("mail/INBOX/3"), "2.p 4.p notes");
	ck_assert_uint_eq(cache_bytes(c), 200);
	ck_assert(body_is(c, "INBOX", 3, 2, 100));
	cache_close(c);
}
END_TEST

/* A session that never closed (a crash): what it wrote is not trusted,
 * what was there before is kept. */
START_TEST(test_unclean_shutdown_drops_recent_bodies)
{
	struct cache *c = open_cache(0);
	put_sized(c, "INBOX", 3, 1, 100);
	put_sized(c, "INBOX", 3, 2, 100);
	struct cache_listing l, got;
	make_listing(&l, 3, 2);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_close(c);
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p");  /* both in one pack */
	/* written long before the session that will crash */
	set_times("mail/INBOX/3/1.p", 1000000);

	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct cache *cc = NULL;
		if (cache_open(&cc, cdir, 0, NULL) < 0)
			_exit(2);
		put_sized(cc, "INBOX", 3, 3, 100);
		put_sized(cc, "Sent", 4, 1, 100);
		_exit(0);  /* no cache_close: the crash */
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* a pack of an earlier session is never appended to */
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p 3.p");

	c = open_cache(0);
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p");
	ck_assert_str_eq(ls("mail/Sent/4"), "");
	ck_assert_uint_eq(cache_bytes(c), 200);
	ck_assert(body_is(c, "INBOX", 3, 1, 100));
	ck_assert(!has_body(c, "INBOX", 3, 3));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	cache_listing_free(&l);
	put_sized(c, "INBOX", 3, 3, 100);
	cache_close(c);

	/* After a clean close everything stays. */
	c = open_cache(0);
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p 3.p");
	ck_assert_uint_eq(cache_bytes(c), 300);
	cache_close(c);
}
END_TEST

void check_cache_add_restarts(TCase *tc)
{
	tcase_add_test(tc, test_warm_restart);
	tcase_add_test(tc, test_restart_cleans_and_orders);
	tcase_add_test(tc, test_unclean_shutdown_drops_recent_bodies);
}
