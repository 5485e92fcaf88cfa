/* check_uidset.c: the in-flight UID set: a run of members that wraps
 * around the table's end, the two edge values, and random adds and
 * removes against a plain reference, with the table's own consistency
 * checked as it goes. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "uidset.h"

START_TEST(test_empty_and_single)
{
	struct uidset s = UIDSET_INIT;
	ck_assert(!uidset_has(&s, 1));
	ck_assert(!uidset_remove(&s, 1));
	ck_assert(uidset_add(&s, 7));
	ck_assert(!uidset_add(&s, 7));
	ck_assert(uidset_has(&s, 7));
	ck_assert(!uidset_has(&s, 8));
	ck_assert_uint_eq(uidset_count(&s), 1);
	ck_assert(uidset_remove(&s, 7));
	ck_assert(!uidset_has(&s, 7));
	ck_assert_uint_eq(uidset_count(&s), 0);
	ck_assert_ptr_null(s.slot);  /* the emptied set holds no memory */
	ck_assert(uidset_valid(&s));
}
END_TEST

/* 0 and UINT32_MAX are UIDs no server should send; the set keeps them
 * apart from everything else, through growth and emptying */
START_TEST(test_edge_values)
{
	struct uidset s = UIDSET_INIT;
	ck_assert(uidset_add(&s, UINT32_MAX));
	ck_assert(uidset_add(&s, 0));
	for (uint32_t u = 1; u <= 100; u++)  /* several growths */
		ck_assert(uidset_add(&s, u));
	ck_assert(uidset_has(&s, UINT32_MAX));
	ck_assert(!uidset_has(&s, UINT32_MAX - 1));
	ck_assert(!uidset_add(&s, UINT32_MAX));
	ck_assert_uint_eq(uidset_count(&s), 102);
	for (uint32_t u = 0; u <= 100; u++)
		ck_assert(uidset_remove(&s, u));
	ck_assert(uidset_has(&s, UINT32_MAX));
	ck_assert_uint_eq(uidset_count(&s), 1);
	ck_assert(uidset_remove(&s, UINT32_MAX));
	ck_assert(!uidset_has(&s, UINT32_MAX));
	ck_assert(uidset_add(&s, UINT32_MAX));
	uidset_free(&s);
	ck_assert(!uidset_has(&s, UINT32_MAX));
	ck_assert_uint_eq(uidset_count(&s), 0);
	ck_assert(uidset_valid(&s));
}
END_TEST

/* the first n UIDs after from whose search begins at slot home */
static void uids_at(const struct uidset *s, size_t home, uint32_t from, uint32_t *out, size_t n)
{
	for (uint32_t u = from; n; u++) {
		if (uidset_home(s, u) == home) {
			*out++ = u;
			n--;
		}
	}
}

/* Members whose search begins near the table's end make one run that
 * wraps to its start; removing from the middle of it must leave every
 * other member findable (a removal that only emptied its slot, or
 * mistook the wrapped part, would cut the run). */
START_TEST(test_removal_inside_a_wrapped_run)
{
	struct uidset s = UIDSET_INIT;
	ck_assert(uidset_add(&s, 1));  /* makes the smallest table */
	size_t cap = s.cap;
	ck_assert_uint_ge(cap, 16);
	uint32_t end[5], start[3];
	uids_at(&s, cap - 2, 2, end, 5);    /* slots cap-2, cap-1, 0, 1, 2 */
	uids_at(&s, 0, 2, start, 3);        /* after them: 3, 4, 5 */
	ck_assert(uidset_remove(&s, 1));  /* empty: the same size comes back */
	for (int i = 0; i < 5; i++)
		ck_assert(uidset_add(&s, end[i]));
	for (int i = 0; i < 3; i++)
		ck_assert(uidset_add(&s, start[i]));
	ck_assert_uint_eq(s.cap, cap);  /* still the table the homes were for */
	ck_assert(uidset_valid(&s));
	uint32_t gone[] = { end[1], start[0], end[3] };
	for (size_t i = 0; i < 3; i++) {
		ck_assert(uidset_remove(&s, gone[i]));
		ck_assert(uidset_valid(&s));
	}
	for (int i = 0; i < 5; i++)
		ck_assert_msg(uidset_has(&s, end[i]) == (i != 1 && i != 3), "end[%d]", i);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(uidset_has(&s, start[i]) == (i != 0), "start[%d]", i);
	uidset_free(&s);
}
END_TEST

START_TEST(test_random_against_reference)
{
	enum { POOL = 3000, STEPS = 200000 };
	static uint32_t pool[POOL];
	static unsigned char in[POOL];
	memset(in, 0, sizeof in);
	unsigned seed = 12345;
	for (size_t i = 0; i < POOL; i++)
		pool[i] = (uint32_t)rand_r(&seed) << 16 ^ (uint32_t)rand_r(&seed);
	pool[0] = 0;
	pool[1] = UINT32_MAX;
	for (size_t i = 2; i < POOL; i++)  /* distinct, so the reference is exact */
		for (size_t j = 0; j < i; j++)
			if (pool[j] == pool[i]) {
				pool[i] = (uint32_t)i;
				j = (size_t)-1;
			}
	struct uidset s = UIDSET_INIT;
	size_t members = 0;
	for (int step = 0; step < STEPS; step++) {
		size_t k = (size_t)rand_r(&seed) % POOL;
		/* mostly adds early on, mostly removes later: the set grows
		 * through several sizes, then drains */
		bool add = (unsigned)rand_r(&seed) % STEPS > (unsigned)step;
		if (add) {
			ck_assert(uidset_add(&s, pool[k]) == !in[k]);
			members += !in[k];
			in[k] = 1;
		} else {
			ck_assert(uidset_remove(&s, pool[k]) == in[k]);
			members -= in[k];
			in[k] = 0;
		}
		ck_assert_uint_eq(uidset_count(&s), members);
		if (step % 101 == 0)
			ck_assert_msg(uidset_valid(&s), "step %d", step);
		if (step % 997 == 0)
			for (size_t i = 0; i < POOL; i++)
				ck_assert_msg(uidset_has(&s, pool[i]) == in[i], "step %d uid %u", step, pool[i]);
	}
	uidset_free(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uidset");
	TCase *tc = tcase_create("set");
	tcase_add_test(tc, test_empty_and_single);
	tcase_add_test(tc, test_edge_values);
	tcase_add_test(tc, test_removal_inside_a_wrapped_run);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_random_against_reference);
	suite_add_tcase(s, tc);
	return check_run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
