/* check_cache_packs.c: bodies share pack files.  Packs keep small
 * messages from costing a file each; a pack is evicted whole, and a pack
 * a crash left torn or an older version's bare body file must still give
 * exactly the bodies that are complete. */
#include "config.h"
#include <check.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

static bool span_is(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n, uint64_t *offset)
{
	struct cache_span sp;
	if (cache_body_get(c, mb, vv, uid, &sp) < 0)
		return false;
	ck_assert_int_eq(fcntl(sp.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(fcntl(sp.fd, F_GETFD) & FD_CLOEXEC);
	struct buf want = BUF_INIT, got = BUF_INIT;
	fill(&want, n, uid);
	buf_grow(&got, n + 1);
	ssize_t r = n ? pread(sp.fd, got.data, n, (off_t)sp.offset) : 0;
	bool yes = sp.size == n && r == (ssize_t)n && !memcmp(got.data, want.data, n);
	if (offset)
		*offset = sp.offset;
	close(sp.fd);
	buf_free(&want);
	buf_free(&got);
	return yes;
}

START_TEST(test_bodies_share_packs)
{
	struct cache *c = open_cache(32000);  /* packs sealed at 1000 bytes */
	uint64_t o1, o2;

	put_sized(c, "INBOX", 4, 1, 600);
	put_sized(c, "INBOX", 4, 2, 600);  /* 1.p is 1232 bytes now: sealed */
	put_sized(c, "INBOX", 4, 3, 10);
	ck_assert_str_eq(ls("mail/INBOX/4"), "1.p 3.p");
	ck_assert(span_is(c, "INBOX", 4, 1, 600, &o1));
	ck_assert(span_is(c, "INBOX", 4, 2, 600, &o2));
	ck_assert_uint_eq(o1, 16);
	ck_assert_uint_eq(o2, 16 + 600 + 16);
	ck_assert(span_is(c, "INBOX", 4, 3, 10, &o1));
	ck_assert_uint_eq(o1, 16);
	ck_assert(body_is(c, "INBOX", 4, 2, 600));  /* the copy cache_body_open gives */

	/* Two writers at once append to packs of their own. */
	struct cache_writer *a, *b;
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 4, 10, &a, NULL), 0);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 4, 11, &b, NULL), 0);
	ck_assert_int_eq(cache_writer_write(b, "bbbb", 4), 0);
	ck_assert_int_eq(cache_writer_write(a, "aa", 2), 0);
	ck_assert_int_eq(cache_writer_commit(b, NULL, NULL), 0);
	ck_assert_int_eq(cache_writer_commit(a, NULL, NULL), 0);
	ck_assert_str_eq(ls("mail/INBOX/4"), "1.p 11.p 3.p");
	struct buf got = BUF_INIT;
	ck_assert(get_body(c, "INBOX", 4, 10, &got));
	ck_assert_uint_eq(got.len, 2);
	ck_assert(get_body(c, "INBOX", 4, 11, &got));
	ck_assert_uint_eq(got.len, 4);
	buf_free(&got);

	/* Every generation has packs of its own. */
	put_sized(c, "INBOX", 5, 1, 10);
	ck_assert_str_eq(ls("mail/INBOX/5"), "1.p");
	cache_close(c);

	/* After a restart all is there, and new bodies go to a new pack. */
	c = open_cache(32000);
	ck_assert_uint_eq(cache_bytes(c), 600 + 600 + 10 + 2 + 4 + 10);
	ck_assert(span_is(c, "INBOX", 4, 2, 600, NULL));
	put_sized(c, "INBOX", 4, 20, 10);
	ck_assert_str_eq(ls("mail/INBOX/4"), "1.p 11.p 20.p 3.p");
	cache_close(c);
}
END_TEST

START_TEST(test_eviction_takes_whole_packs)
{
	struct cache *c = open_cache(32000);  /* packs of four 300-byte bodies */

	for (uint32_t uid = 1; uid <= 100; uid++)
		put_sized(c, "INBOX", 4, uid, 300);
	ck_assert_int_eq(file_size("mail/INBOX/4/5.p"), 4 * REC(300));
	ck_assert_int_eq(file_size("mail/INBOX/4/2.p"), -1);
	ck_assert_uint_eq(cache_disk_bytes(c), 25 * 4 * REC(300));
	ck_assert(body_is(c, "INBOX", 4, 1, 300));  /* 1.p is the newest now */
	/* 20 more need five packs' room: the five oldest but the one just
	 * read go (5.p to 21.p), four bodies each, as the new ones come */
	for (uint32_t uid = 101; uid <= 120; uid++)
		put_sized(c, "INBOX", 4, uid, 300);
	ck_assert_uint_eq(cache_bytes(c), (120 - 20) * 300);
	ck_assert(has_body(c, "INBOX", 4, 1));
	ck_assert(has_body(c, "INBOX", 4, 4));
	ck_assert(!has_body(c, "INBOX", 4, 5));
	ck_assert(!has_body(c, "INBOX", 4, 24));
	ck_assert(has_body(c, "INBOX", 4, 25));
	ck_assert(body_is(c, "INBOX", 4, 120, 300));
	ck_assert_int_eq(file_size("mail/INBOX/4/5.p"), -1);
	ck_assert_int_eq(file_size("mail/INBOX/4/21.p"), -1);
	/* an fd had before eviction still reads */
	struct cache_span sp;
	ck_assert_int_eq(cache_body_get(c, "INBOX", 4, 25, &sp), 0);
	for (uint32_t uid = 200; uid < 320; uid++)
		put_sized(c, "Sent", 1, uid, 300);
	ck_assert(!has_body(c, "INBOX", 4, 25));
	ck_assert_int_eq(file_size("mail/INBOX/4/25.p"), -1);
	struct buf want = BUF_INIT, got = BUF_INIT;
	fill(&want, 300, 25);
	buf_grow(&got, 300);
	ck_assert_int_eq(pread(sp.fd, got.data, 300, (off_t)sp.offset), 300);
	ck_assert(!memcmp(got.data, want.data, 300));
	close(sp.fd);
	buf_free(&want);
	buf_free(&got);
	ck_assert_uint_le(mail_bytes_on_disk(), 32000);
	cache_close(c);
}
END_TEST

/* A record whose length never got written, or whose bytes are not all
 * there, ends what is read of its pack; the bodies before it stay. */
START_TEST(test_incomplete_records_not_served)
{
	struct cache *c = open_cache(0);
	put_sized(c, "INBOX", 4, 1, 100);
	put_sized(c, "INBOX", 4, 2, 100);
	put_sized(c, "INBOX", 4, 3, 100);
	cache_close(c);
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/4/1.p", cdir);
	ck_assert_int_eq(truncate(path, 3 * 116 - 1), 0);  /* 3 is one byte short */
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 200);
	ck_assert(body_is(c, "INBOX", 4, 2, 100));
	ck_assert(!has_body(c, "INBOX", 4, 3));
	ck_assert(!cache_body_has(c, "INBOX", 4, 3));
	cache_close(c);

	/* a header still saying "not committed" */
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 116), 0);
	unsigned char h[16 + 5] = { 'I', 'M', 'B', '1', 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				    'x', 'x', 'x', 'x', 'x' };
	ck_assert_int_eq(pwrite(fd, h, sizeof h, 116), (ssize_t)sizeof h);
	close(fd);
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 100);
	ck_assert(body_is(c, "INBOX", 4, 1, 100));
	ck_assert(!has_body(c, "INBOX", 4, 2));
	cache_close(c);

	/* nothing readable at all: the pack goes */
	ck_assert_int_eq(truncate(path, 10), 0);
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_str_eq(ls("mail/INBOX/4"), "");
	cache_close(c);
}
END_TEST

/* Caches of older versions hold one file per body: still served. */
START_TEST(test_bare_body_files_served)
{
	struct cache *c = open_cache(0);
	put_sized(c, "INBOX", 4, 1, 10);
	cache_close(c);
	struct buf b = BUF_INIT;
	fill(&b, 500, 7);
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/4/7", cdir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 510);
	uint64_t off;
	ck_assert(span_is(c, "INBOX", 4, 7, 500, &off));
	ck_assert_uint_eq(off, 0);
	ck_assert(body_is(c, "INBOX", 4, 7, 500));
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 0), 0);
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_str_eq(ls("mail"), "");
	buf_free(&b);
	cache_close(c);
}
END_TEST

void check_cache_add_packs(TCase *tc)
{
	tcase_add_test(tc, test_bodies_share_packs);
	tcase_add_test(tc, test_eviction_takes_whole_packs);
	tcase_add_test(tc, test_incomplete_records_not_served);
	tcase_add_test(tc, test_bare_body_files_served);
}
