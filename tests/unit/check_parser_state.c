/* check_parser_state.c: the parser object across responses: its default
 * limits, a response that lives until the next feed, and thousands of
 * responses through one parser, whose reused buffers must not carry one
 * response into the next. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "check_parser_conv.h"
#include "parser.h"

START_TEST(test_limits_and_state)
{
	struct imap_parser *p = imap_parser_new(NULL);
	const struct imap_parser_limits *l = imap_parser_limits(p);
	ck_assert_uint_eq(l->max_line, (size_t)16 << 20);
	ck_assert(l->max_literal == (uint64_t)2 << 30);
	ck_assert_uint_eq(l->max_mem_literal, (size_t)1 << 20);
	ck_assert_uint_eq(l->max_pieces, 100000);
	ck_assert_uint_eq(l->max_depth, 100);
	ck_assert_ptr_null(imap_parser_response(p));
	ck_assert_str_eq(imap_parser_error(p), "");

	/* DONE leaves the rest of the input; the response lives until the next feed */
	const char *in = "A1 OK one\r\nA2 OK two\r\n";
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_DONE);
	ck_assert_uint_eq(used, 11);
	ck_assert_str_eq(imap_parser_response(p)->pieces[0].text, "A1 OK one");
	ck_assert_int_eq(imap_parser_feed(p, in + used, 0, &used), IMAP_PARSE_MORE);
	ck_assert_ptr_null(imap_parser_response(p));
	ck_assert_int_eq(imap_parser_feed(p, in + 11, strlen(in) - 11, &used), IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_response(p)->pieces[0].text, "A2 OK two");
	imap_parser_free(p);

	struct imap_parser_limits mine = { .max_line = 5, .max_depth = 2 };
	p = imap_parser_new(&mine);
	ck_assert_uint_eq(imap_parser_limits(p)->max_line, 5);
	ck_assert_uint_eq(imap_parser_limits(p)->max_depth, 2);
	ck_assert_uint_eq(imap_parser_limits(p)->max_pieces, 100000);
	imap_parser_free(p);
	imap_parser_free(NULL);
}
END_TEST

/* Many responses through one parser: buffers are reused, results stay right. */
START_TEST(test_many_responses)
{
	struct buf in = BUF_INIT;
	for (int i = 1; i <= 2000; i++) {
		buf_addf(&in, "* %d FETCH (UID %d BODY[] {%d}\r\n", i, i * 3, i % 50);
		for (int k = 0; k < i % 50; k++)
			buf_addch(&in, (char)('a' + k % 26));
		buf_addstr(&in, ")\r\n");
	}
	struct imap_parser *p = imap_parser_new(NULL);
	size_t off = 0;
	int count = 0;
	while (off < in.len) {
		size_t used;
		enum imap_parse_result r = imap_parser_feed(p, in.data + off, in.len - off, &used);
		off += used;
		if (r != IMAP_PARSE_DONE) {
			ck_assert_int_eq(r, IMAP_PARSE_MORE);
			continue;
		}
		count++;
		struct imap_resp out;
		ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, NULL), 0);
		ck_assert_uint_eq(out.number, (unsigned)count);
		ck_assert_uint_eq(out.nargs, 1);
		ck_assert_uint_eq(out.args[0].count, 4);
		uint64_t uid;
		ck_assert(imap_arg_number(&out.args[0].list[1], &uid));
		ck_assert_uint_eq(uid, (unsigned)count * 3);
		ck_assert_uint_eq(out.args[0].list[3].len, (unsigned)count % 50);
	}
	ck_assert_int_eq(count, 2000);
	imap_parser_free(p);
	buf_free(&in);
}
END_TEST

void check_parser_add_state(TCase *tc)
{
	tcase_add_test(tc, test_limits_and_state);
	tcase_add_test(tc, test_many_responses);
}
