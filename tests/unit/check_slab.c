/* check_slab.c: the slab that holds per-message structures: items are
 * zeroed, distinct and aligned, survive the allocations after them, and a
 * freed one is reused rather than the slab growing. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "slab.h"

struct item {
	uint64_t key;
	uint32_t tag;
	char pad[29];   /* an odd size: the slab rounds it up */
};

#define N 5000  /* several blocks */

static void fill(struct item *it, uint64_t i)
{
	it->key = i * 0x9e3779b97f4a7c15ull;
	it->tag = (uint32_t)i;
	memset(it->pad, (int)(i & 0x7f), sizeof it->pad);
}

static int intact(const struct item *it, uint64_t i)
{
	for (size_t k = 0; k < sizeof it->pad; k++)
		if (it->pad[k] != (char)(i & 0x7f))
			return 0;
	return it->key == i * 0x9e3779b97f4a7c15ull && it->tag == (uint32_t)i;
}

static int zeroed(const struct item *it)
{
	static const struct item zero;
	return !memcmp(it, &zero, sizeof zero);
}

START_TEST(test_items_apart_and_kept)
{
	struct slab s;
	slab_init(&s, sizeof(struct item));
	struct item **v = calloc(N, sizeof *v);
	for (uint64_t i = 0; i < N; i++) {
		v[i] = slab_zalloc(&s);
		ck_assert(zeroed(v[i]));
		ck_assert_uint_eq((uintptr_t)v[i] % _Alignof(struct item), 0);
		fill(v[i], i);
	}
	ck_assert_uint_eq(slab_live(&s), N);
	for (uint64_t i = 0; i < N; i++)
		ck_assert_msg(intact(v[i], i), "item %llu was overwritten", (unsigned long long)i);
	for (uint64_t i = 0; i < N; i++)
		slab_free(&s, v[i]);
	slab_free(&s, NULL);
	ck_assert_uint_eq(slab_live(&s), 0);
	slab_destroy(&s);
	free(v);
}
END_TEST

/* Freeing half and allocating as many again takes no more memory, and
 * the reused items come zeroed; the ones kept are untouched. */
START_TEST(test_freed_reused)
{
	struct slab s;
	slab_init(&s, sizeof(struct item));
	struct item **v = calloc(N, sizeof *v);
	for (uint64_t i = 0; i < N; i++)
		fill(v[i] = slab_zalloc(&s), i);
	size_t bytes = slab_bytes(&s);
	for (uint64_t i = 0; i < N; i += 2)
		slab_free(&s, v[i]);
	ck_assert_uint_eq(slab_live(&s), N / 2);
	for (uint64_t i = 0; i < N; i += 2) {
		v[i] = slab_zalloc(&s);
		ck_assert(zeroed(v[i]));
		fill(v[i], i + N);
	}
	ck_assert_uint_eq(slab_bytes(&s), bytes);
	ck_assert_uint_eq(slab_live(&s), N);
	for (uint64_t i = 0; i < N; i++)
		ck_assert(intact(v[i], i % 2 ? i : i + N));
	for (uint64_t i = 0; i < N; i++)
		slab_free(&s, v[i]);
	slab_destroy(&s);
	ck_assert_uint_eq(slab_bytes(&s), 0);
	free(v);
}
END_TEST

/* An item smaller than the link the free list keeps in it. */
START_TEST(test_tiny_items)
{
	struct slab s;
	slab_init(&s, 1);
	unsigned char *a = slab_zalloc(&s), *b = slab_zalloc(&s);
	ck_assert_ptr_ne(a, b);
	*a = 0xaa;
	*b = 0xbb;
	slab_free(&s, a);
	unsigned char *c = slab_zalloc(&s);
	ck_assert_uint_eq(*c, 0);
	ck_assert_uint_eq(*b, 0xbb);
	slab_free(&s, b);
	slab_free(&s, c);
	slab_destroy(&s);
}
END_TEST

static Suite *slab_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_items_apart_and_kept);
	tcase_add_test(tc, test_freed_reused);
	tcase_add_test(tc, test_tiny_items);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(slab_suite()) ? EXIT_FAILURE : EXIT_SUCCESS;
}
