/* check_buf.c: the growable buffer everything else is built on. */
#include "config.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_run.h"

START_TEST(test_empty_is_terminated)
{
	struct buf b = BUF_INIT;
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	buf_free(&b);
	ck_assert_str_eq(b.data, "");
}
END_TEST

START_TEST(test_add_and_format)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, "A001");
	buf_addch(&b, ' ');
	buf_addf(&b, "FETCH %u:%s (%s)", 1u, "*", "UID");
	ck_assert_str_eq(b.data, "A001 FETCH 1:* (UID)");
	ck_assert_uint_eq(b.len, strlen("A001 FETCH 1:* (UID)"));
	buf_free(&b);
}
END_TEST

START_TEST(test_binary_and_consume)
{
	struct buf b = BUF_INIT;
	buf_add(&b, "a\0b\0c", 5);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_int_eq(memcmp(b.data, "a\0b\0c", 5), 0);
	buf_consume(&b, 2);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "b\0c", 4), 0);
	buf_consume(&b, 99);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	buf_free(&b);
}
END_TEST

START_TEST(test_growth_keeps_bytes)
{
	struct buf b = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_addch(&b, (char)('a' + i % 26));
	ck_assert_uint_eq(b.len, 100000);
	for (int i = 0; i < 100000; i++)
		ck_assert_int_eq(b.data[i], 'a' + i % 26);
	ck_assert_int_eq(b.data[b.len], '\0');
	size_t n;
	char *p = buf_detach(&b, &n);
	ck_assert_uint_eq(n, 100000);
	ck_assert_uint_eq(b.len, 0);
	free(p);
}
END_TEST

START_TEST(test_truncate_and_set)
{
	struct buf b = BUF_INIT;
	buf_set(&b, "hello world", 11);
	buf_truncate(&b, 5);
	ck_assert_str_eq(b.data, "hello");
	buf_truncate(&b, 50); /* longer than the contents: no change */
	ck_assert_str_eq(b.data, "hello");
	buf_set(&b, "x", 1);
	ck_assert_str_eq(b.data, "x");
	buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_empty_is_terminated);
	tcase_add_test(tc, test_add_and_format);
	tcase_add_test(tc, test_binary_and_consume);
	tcase_add_test(tc, test_growth_keeps_bytes);
	tcase_add_test(tc, test_truncate_and_set);
	suite_add_tcase(s, tc);
	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
