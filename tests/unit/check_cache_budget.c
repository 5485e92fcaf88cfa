/* check_cache_budget.c: the size bound.  The cache lives on the user's
 * disk, so its budget must hold at every moment (even while a body longer
 * than announced streams in), and what goes first is what was used last
 * longest ago. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

START_TEST(test_lru_eviction_order)
{
	struct cache *c = open_cache(3 * REC(1000));

	put_sized(c, "INBOX", 1, 1, 1000);
	put_sized(c, "INBOX", 1, 2, 1000);
	put_sized(c, "Sent", 9, 3, 1000);
	cache_trim(c);  /* within budget: nothing goes */
	ck_assert_uint_eq(cache_bytes(c), 3000);
	ck_assert_uint_eq(cache_disk_bytes(c), 3 * REC(1000));
	ck_assert(body_is(c, "INBOX", 1, 1, 1000));  /* 1 is now the most recent */
	/* order, oldest first: 2 3 1; the fourth body makes room as it comes */
	put_sized(c, "INBOX", 1, 4, 1000);
	ck_assert_uint_eq(cache_bytes(c), 3000);
	ck_assert(!has_body(c, "INBOX", 1, 2));
	/* Opening marks used: the order becomes 1 4 3. */
	ck_assert(body_is(c, "INBOX", 1, 1, 1000));
	ck_assert(body_is(c, "INBOX", 1, 4, 1000));
	ck_assert(body_is(c, "Sent", 9, 3, 1000));
	/* A 1500-byte body pushes out the two least recent: 1 and 4. */
	put_sized(c, "INBOX", 1, 5, 1500);
	ck_assert_uint_eq(cache_bytes(c), 2500);
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert(!has_body(c, "INBOX", 1, 4));
	ck_assert(body_is(c, "Sent", 9, 3, 1000));
	ck_assert(body_is(c, "INBOX", 1, 5, 1500));
	/* The evicted files are gone from disk too (with a budget this small
	 * every body has a pack of its own). */
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	ck_assert_uint_eq(mail_bytes_on_disk(), REC(1000) + REC(1500));
	cache_close(c);
}
END_TEST

START_TEST(test_budget_bounds)
{
	struct cache *c = open_cache(10000);
	uint64_t total = 0, records = 0;

	/* Many bodies: never over budget on disk, not even between commits. */
	for (uint32_t uid = 1; uid <= 200; uid++) {
		size_t n = 100 + (uid * 37) % 900;
		put_sized(c, "INBOX", 7, uid, n);
		ck_assert_uint_le(cache_disk_bytes(c), 10000);
		ck_assert_uint_le(mail_bytes_on_disk(), 10000);
	}
	/* What the index counts is what is on disk. */
	for (uint32_t uid = 1; uid <= 200; uid++) {
		size_t n = 100 + (uid * 37) % 900;
		if (has_body(c, "INBOX", 7, uid)) {
			ck_assert(body_is(c, "INBOX", 7, uid, n));
			total += n;
			records++;
		}
	}
	ck_assert_uint_eq(total, cache_bytes(c));
	ck_assert_uint_eq(total + 16 * records, cache_disk_bytes(c));
	ck_assert_uint_eq(cache_disk_bytes(c), mail_bytes_on_disk());
	ck_assert_uint_gt(cache_disk_bytes(c), 10000 - REC(1000));
	/* The most recent 5 are certainly there. */
	for (uint32_t uid = 196; uid <= 200; uid++)
		ck_assert(has_body(c, "INBOX", 7, uid));

	/* A body bigger than the budget is refused; the budget holds. */
	ck_assert(cache_body_fits(c, 10000 - 16));
	ck_assert(!cache_body_fits(c, 10000 - 15));
	ck_assert(!cache_body_fits(c, UINT64_MAX));
	struct cache_writer *w;
	struct buf big = BUF_INIT, err = BUF_INIT;
	fill(&big, 20000, 1000);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 7, 1000, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, big.data, big.len), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_int_eq(cache_writer_commit(w, NULL, &err), -1);
	ck_assert_msg(strstr(err.data, strerror(EFBIG)), "%s", err.data);
	ck_assert(!has_body(c, "INBOX", 7, 1000));
	ck_assert_uint_le(mail_bytes_on_disk(), 10000);
	put_sized(c, "INBOX", 7, 1001, 10);
	ck_assert(body_is(c, "INBOX", 7, 1001, 10));
	ck_assert_uint_le(cache_disk_bytes(c), 10000);
	buf_free(&big);
	buf_free(&err);
	cache_close(c);

	/* A smaller budget at the next open: the oldest go at once. */
	c = open_cache(2000);
	ck_assert_uint_le(cache_disk_bytes(c), 2000);
	ck_assert_uint_le(mail_bytes_on_disk(), 2000);
	ck_assert(body_is(c, "INBOX", 7, 1001, 10));
	cache_close(c);

	/* 0 = unbounded. */
	c = open_cache(0);
	put_sized(c, "INBOX", 7, 2000, 50000);
	cache_trim(c);
	ck_assert(body_is(c, "INBOX", 7, 2000, 50000));
	ck_assert(cache_body_fits(c, UINT64_MAX));
	cache_close(c);
}
END_TEST

/* A body far longer than the server announced streams in: at no point do
 * the files on disk pass the budget.  Room is made by evicting older
 * bodies while it fits; once it cannot fit, its writes fail (EFBIG) and
 * nothing of it stays. */
START_TEST(test_budget_holds_while_a_body_streams)
{
	const uint64_t budget = 100000;
	struct cache *c = open_cache(budget);
	for (uint32_t uid = 1; uid <= 50; uid++)
		put_sized(c, "INBOX", 3, uid, 1000);
	struct buf chunk = BUF_INIT;
	fill(&chunk, 8192, 99);

	/* 80 KB: fits once older bodies are gone */
	struct cache_writer *w;
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 3, 99, &w, NULL), 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(cache_writer_write(w, chunk.data, chunk.len), 0);
		ck_assert_uint_le(mail_bytes_on_disk(), budget);
		ck_assert_uint_le(cache_disk_bytes(c), budget);
	}
	ck_assert_int_eq(cache_writer_commit(w, NULL, NULL), 0);
	ck_assert_uint_le(mail_bytes_on_disk(), budget);
	ck_assert(has_body(c, "INBOX", 3, 99));
	ck_assert(has_body(c, "INBOX", 3, 50));
	ck_assert(!has_body(c, "INBOX", 3, 1));

	/* 1.5 MB: refused once it outgrows the budget, the bound held meanwhile */
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 3, 100, &w, NULL), 0);
	int refused_at = -1;
	for (int i = 0; i < 180 && refused_at < 0; i++) {
		if (cache_writer_write(w, chunk.data, chunk.len) < 0) {
			ck_assert_int_eq(errno, EFBIG);
			refused_at = i;
		}
		ck_assert_uint_le(mail_bytes_on_disk(), budget);
		ck_assert_uint_le(cache_disk_bytes(c), budget);
	}
	ck_assert_int_eq(refused_at, (int)(budget / chunk.len));
	cache_writer_abort(w);
	ck_assert(!has_body(c, "INBOX", 3, 100));
	ck_assert_uint_eq(cache_disk_bytes(c), mail_bytes_on_disk());
	put_sized(c, "INBOX", 3, 101, 500);
	ck_assert(body_is(c, "INBOX", 3, 101, 500));
	ck_assert_uint_le(mail_bytes_on_disk(), budget);
	buf_free(&chunk);
	cache_close(c);
}
END_TEST

START_TEST(test_evicted_body_still_readable_when_open)
{
	struct cache *c = open_cache(1500);
	struct buf want = BUF_INIT, got = BUF_INIT;

	put_sized(c, "INBOX", 1, 1, 1000);
	int fd = cache_body_open(c, "INBOX", 1, 1);
	ck_assert_int_ge(fd, 0);
	put_sized(c, "INBOX", 1, 2, 1000);
	cache_trim(c);
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert_uint_eq(cache_bytes(c), 1000);
	fill(&want, 1000, 1);
	read_fd(fd, &got);
	ck_assert_uint_eq(got.len, 1000);
	ck_assert(memcmp(got.data, want.data, 1000) == 0);
	close(fd);
	buf_free(&want);
	buf_free(&got);
	cache_close(c);
}
END_TEST

void check_cache_add_budget(TCase *tc)
{
	tcase_add_test(tc, test_lru_eviction_order);
	tcase_add_test(tc, test_budget_bounds);
	tcase_add_test(tc, test_budget_holds_while_a_body_streams);
	tcase_add_test(tc, test_evicted_body_still_readable_when_open);
}
