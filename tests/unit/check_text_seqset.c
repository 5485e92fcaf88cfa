/* check_text_seqset.c: sequence sets, read from server answers such as
 * COPYUID and written into UID commands.  A server's set is hostile input:
 * zero, overflow, '*' where UIDs are due and trailing junk must stop the
 * parse, and what seqset_build writes must read back as the same UIDs. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check_text_util.h"
#include "seqset.h"

/* ---- sequence sets ---- */

/* The ranges of a set as "lo-hi lo-hi ..." (the parse's own order). */
static void seqset_ranges(const struct seqset *set, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < set->n && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%u-%u", i ? " " : "",
					 set->r[i].lo, set->r[i].hi);
}

START_TEST(test_seqset_parse_accepts)
{
	static const struct {
		const char *text;
		uint32_t star;
		const char *ranges;
	} v[] = {
		{ "7", 0, "7-7" },
		{ "1:3,7,9:12", 0, "1-3 7-7 9-12" },
		{ "12:9", 0, "9-12" },                      /* a:b in either order */
		{ "4294967295", 0, "4294967295-4294967295" },
		{ "5:*", 20, "5-20" },
		{ "*:5", 20, "5-20" },
		{ "*", 3, "3-3" },
		{ "1,1,1", 0, "1-1 1-1 1-1" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct seqset set = SEQSET_INIT;
		char got[128];
		ck_assert_int_eq(seqset_parse(&set, v[i].text, strlen(v[i].text), v[i].star), 0);
		seqset_ranges(&set, got, sizeof got);
		ck_assert_str_eq(got, v[i].ranges);
		seqset_free(&set);
		ck_assert_ptr_null(set.r);
		ck_assert_uint_eq(set.n, 0);
	}
}
END_TEST

/* A fault stops the parse; what came before it stays. */
START_TEST(test_seqset_parse_rejects)
{
	static const struct {
		const char *text;
		uint32_t star;
		const char *kept;
	} v[] = {
		{ "", 0, "" },
		{ "0", 0, "" },
		{ "4294967296", 0, "" },
		{ "99999999999999999999", 0, "" },
		{ "*", 0, "" },                 /* '*' where a server must name UIDs */
		{ "1:*", 0, "" },
		{ "1:", 0, "" },
		{ ":1", 0, "" },
		{ "1,", 0, "1-1" },
		{ ",1", 0, "" },
		{ "1,,2", 0, "1-1" },
		{ "1:3,x,9", 0, "1-3" },
		{ "+5", 0, "" },
		{ " 5", 0, "" },
		{ "5 ", 0, "5-5" },
		{ "1:2:3", 0, "1-2" },
		{ "3,0:4", 0, "3-3" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct seqset set = SEQSET_INIT;
		char got[128];
		ck_assert_msg(seqset_parse(&set, v[i].text, strlen(v[i].text), v[i].star) == -1,
			      "accepted \"%s\"", v[i].text);
		seqset_ranges(&set, got, sizeof got);
		ck_assert_str_eq(got, v[i].kept);
		seqset_free(&set);
	}
}
END_TEST

/* The length bounds the parse: no reading past it for a digit. */
START_TEST(test_seqset_parse_stops_at_len)
{
	struct seqset set = SEQSET_INIT;
	char got[64];
	ck_assert_int_eq(seqset_parse(&set, "12:345", 4, 0), 0);
	seqset_ranges(&set, got, sizeof got);
	ck_assert_str_eq(got, "3-12");
	/* parses add up */
	ck_assert_int_eq(seqset_parse(&set, "9", 1, 0), 0);
	seqset_ranges(&set, got, sizeof got);
	ck_assert_str_eq(got, "3-12 9-9");
	seqset_free(&set);
}
END_TEST

START_TEST(test_seqset_single)
{
	struct seqset set = SEQSET_INIT;
	uint32_t v = 0;
	ck_assert(!seqset_single(&set, &v));
	ck_assert_int_eq(seqset_parse(&set, "42", 2, 0), 0);
	ck_assert(seqset_single(&set, &v));
	ck_assert_uint_eq(v, 42);
	seqset_free(&set);
	ck_assert_int_eq(seqset_parse(&set, "42:43", 5, 0), 0);
	ck_assert(!seqset_single(&set, &v));
	seqset_free(&set);
	ck_assert_int_eq(seqset_parse(&set, "42,42", 5, 0), 0);
	ck_assert(!seqset_single(&set, &v));
	seqset_free(&set);
}
END_TEST

START_TEST(test_seqset_build)
{
	static const uint32_t a[] = { 1, 2, 3, 5, 7, 8, 4294967294u, 4294967295u };
	struct buf out = BUF_INIT;
	seqset_build(a, sizeof a / sizeof a[0], &out);
	ck_assert_str_eq(out.data, "1:3,5,7:8,4294967294:4294967295");
	buf_reset(&out);
	seqset_build(a + 3, 1, &out);
	ck_assert_str_eq(out.data, "5");
	/* a second call adds to what is there */
	seqset_build(a, 2, &out);
	ck_assert_str_eq(out.data, "5,1:2");
	buf_reset(&out);
	seqset_build(a, 0, &out);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

/* What seqset_build writes, seqset_parse reads back as the same UIDs. */
START_TEST(test_seqset_round_trip)
{
	uint64_t rng = 0x5e95e7;
	for (int round = 0; round < 200; round++) {
		uint32_t uids[64];
		size_t n = 1 + rnd_below(&rng, 64);
		uint32_t u = 1 + rnd_below(&rng, 5);
		for (size_t i = 0; i < n; i++) {
			uids[i] = u;
			u += 1 + (rnd_below(&rng, 3) ? 0 : rnd_below(&rng, 1000));
		}
		struct buf text = BUF_INIT;
		seqset_build(uids, n, &text);
		struct seqset set = SEQSET_INIT;
		ck_assert_int_eq(seqset_parse(&set, text.data, text.len, 0), 0);
		size_t k = 0;
		for (size_t i = 0; i < set.n; i++)
			for (uint64_t x = set.r[i].lo; x <= set.r[i].hi; x++) {
				ck_assert_uint_lt(k, n);
				ck_assert_uint_eq(x, uids[k++]);
			}
		ck_assert_uint_eq(k, n);
		seqset_free(&set);
		buf_free(&text);
	}
}
END_TEST

void check_text_add_seqset(TCase *tc)
{
	tcase_add_test(tc, test_seqset_parse_accepts);
	tcase_add_test(tc, test_seqset_parse_rejects);
	tcase_add_test(tc, test_seqset_parse_stops_at_len);
	tcase_add_test(tc, test_seqset_single);
	tcase_add_test(tc, test_seqset_build);
	tcase_add_test(tc, test_seqset_round_trip);
}
