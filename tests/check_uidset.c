/* check_uidset.c: the in-flight UID set against a plain reference array,
 * under random adds and removes that make long probe runs and wrap them
 * around the table's end. */
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
	uidset_free(&s);
	ck_assert_uint_eq(uidset_count(&s), 0);
}
END_TEST

/* 0 and UINT32_MAX are UIDs no server should send; the set still keeps
 * them apart from everything else */
START_TEST(test_edge_values)
{
	struct uidset s = UIDSET_INIT;
	ck_assert(uidset_add(&s, 0));
	ck_assert(uidset_add(&s, UINT32_MAX));
	ck_assert(!uidset_add(&s, UINT32_MAX));
	ck_assert(uidset_has(&s, 0));
	ck_assert(uidset_has(&s, UINT32_MAX));
	ck_assert(!uidset_has(&s, UINT32_MAX - 1));
	ck_assert_uint_eq(uidset_count(&s), 2);
	ck_assert(uidset_remove(&s, UINT32_MAX));
	ck_assert(!uidset_has(&s, UINT32_MAX));
	ck_assert(uidset_has(&s, 0));
	uidset_free(&s);
}
END_TEST

/* At half load the table has runs of several members: removing some
 * must leave every other one findable (a removal that only emptied its
 * slot would cut the runs behind it). */
START_TEST(test_removal_inside_a_run)
{
	struct uidset s = UIDSET_INIT;
	enum { N = 30 };
	for (uint32_t i = 0; i < N; i++)
		ck_assert(uidset_add(&s, i * 64 + 1));
	for (uint32_t i = 0; i < N; i += 3)
		ck_assert(uidset_remove(&s, i * 64 + 1));
	for (uint32_t i = 0; i < N; i++)
		ck_assert_msg(uidset_has(&s, i * 64 + 1) == (i % 3 != 0), "uid %u", i * 64 + 1);
	uidset_free(&s);
}
END_TEST

START_TEST(test_random_against_reference)
{
	enum { RANGE = 3000, STEPS = 200000 };
	static unsigned char ref[RANGE];
	memset(ref, 0, sizeof ref);
	struct uidset s = UIDSET_INIT;
	size_t members = 0;
	unsigned seed = 12345;
	for (int step = 0; step < STEPS; step++) {
		uint32_t uid = (uint32_t)(rand_r(&seed) % RANGE);
		/* mostly adds early on, mostly removes later: the set grows
		 * through several sizes and then drains */
		bool add = (unsigned)rand_r(&seed) % STEPS > (unsigned)step;
		if (add) {
			ck_assert(uidset_add(&s, uid) == !ref[uid]);
			members += !ref[uid];
			ref[uid] = 1;
		} else {
			ck_assert(uidset_remove(&s, uid) == ref[uid]);
			members -= ref[uid];
			ref[uid] = 0;
		}
		ck_assert_uint_eq(uidset_count(&s), members);
		if (step % 997 == 0)
			for (uint32_t u = 0; u < RANGE; u++)
				ck_assert_msg(uidset_has(&s, u) == ref[u], "step %d uid %u", step, u);
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
	tcase_add_test(tc, test_removal_inside_a_run);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_random_against_reference);
	suite_add_tcase(s, tc);
	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
