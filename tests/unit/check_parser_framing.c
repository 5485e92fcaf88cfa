/* check_parser_framing.c: where a response ends.  Bare LFs, lone CRs,
 * NUL bytes, over-long lines and things that only look like literals must
 * either be refused or leave the parser in step with the server, never
 * make it read the next response as part of this one. */
#include "config.h"
#include <check.h>
#include <stddef.h>

#include "check_parser_conv.h"
#include "parser.h"

START_TEST(test_bare_lf)
{
	check_conv("* OK fine\r\n* OK hi\nA1 OK\r\n", NULL,
		   "DONE * OK fine => * OK text=fine\n"
		   "ABORT bare LF in a response line\n");
	/* in a line already being skipped, too */
	struct run_opts o = { .lim = { .max_line = 8 } };
	check_conv("* OK 0123456789\nA1 OK\r\n", &o, "ABORT bare LF in a response line\n");
	/* LF inside a literal is data */
	check_conv("* 1 FETCH (BODY[] {2}\r\n\n\n)\r\n", NULL,
		   "DONE * 1 FETCH (BODY[] {2}<lit:\\x0a\\x0a>) => * #1 FETCH args=((BODY[] {2:\\x0a\\x0a}))\n");
	/* after reset the parser works again */
	struct imap_parser *p = imap_parser_new(NULL);
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, "* OK\n", 5, &used), IMAP_PARSE_ABORT);
	ck_assert_str_eq(imap_parser_error(p), "bare LF in a response line");
	ck_assert_int_eq(imap_parser_feed(p, "A1 OK\r\n", 7, &used), IMAP_PARSE_ABORT);
	imap_parser_reset(p);
	ck_assert_int_eq(imap_parser_feed(p, "A1 OK\r\n", 7, &used), IMAP_PARSE_DONE);
	ck_assert_uint_eq(used, 7);
	imap_parser_free(p);
}
END_TEST

START_TEST(test_lone_cr)
{
	check_conv("* OK a\rb\r\n* OK x\r\r\n* OK \r\r\r\n", NULL,
		   "DONE * OK a\\x0db => * OK text=a\\x0db\n"
		   "DONE * OK x\\x0d => * OK text=x\\x0d\n"
		   "DONE * OK \\x0d\\x0d => * OK text=\\x0d\\x0d\n");
}
END_TEST

START_TEST(test_line_too_long)
{
	struct run_opts o = { .lim = { .max_line = 32 } };
	check_conv("* OK 0123456789012345678901234567 {5}\r\n"   /* 37 bytes: over, {5} ignored */
		   "A1 OK done\r\n"
		   "* OK 012345678901234567890123456\r\n"           /* exactly 32: fine */
		   "* 1 FETCH (BODY[] {3}\r\nabc 0123456789012)\r\n" /* 21 + 15 over two lines */
		   "A2 OK still in sync\r\n", &o,
		   "ERROR response longer than 32 bytes dropped\n"
		   "DONE A1 OK done => A1 OK text=done\n"
		   "DONE * OK 012345678901234567890123456 => * OK text=012345678901234567890123456\n"
		   "ERROR response longer than 32 bytes dropped\n"
		   "DONE A2 OK still in sync => A2 OK text=still in sync\n");
	/* an over-long line whose literal is streamed: the sink was finished first */
	struct run_opts s = { .lim = { .max_line = 32 }, .hook = HOOK_STREAM };
	check_conv("* 1 FETCH (BODY[] {3}\r\nabc 0123456789012)\r\nA3 OK\r\n", &s,
		   "HOOK 3 => * #1 FETCH args=((BODY[] {3:pending}))\n"
		   "SINK 3:abc ok\n"
		   "ERROR response longer than 32 bytes dropped\n"
		   "DONE A3 OK => A3 OK text=\n");
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const char in[] = "* OK a\0b\r\nA1 OK fine\r\n"
				 "* 1 FETCH (X\0 {3}\r\nabc)\r\nA2 OK\r\n"
				 "* 2 FETCH (BODY[] {3}\r\na\0b)\r\n";
	struct run_opts o = { .hook = HOOK_MEMORY };
	check_conv_n(in, sizeof in - 1, &o,
		     "ERROR NUL byte in a response line\n"
		     "DONE A1 OK fine => A1 OK text=fine\n"
		     "ERROR NUL byte in a response line\n"
		     "DONE A2 OK => A2 OK text=\n"
		     "HOOK 3 => * #2 FETCH args=((BODY[] {3:pending}))\n"
		     "DONE * 2 FETCH (BODY[] {3}<lit:a\\x00b>) => * #2 FETCH args=((BODY[] {3:a\\x00b}))\n");
}
END_TEST

START_TEST(test_not_literals)
{
	check_conv("+ send {5}\r\nA1 OK\r\n"
		   "* OK weird {3+}\r\nA2 OK\r\n"
		   "* OK {}\r\n* OK {x}\r\n* OK }\r\n",
		   NULL,
		   "DONE + send {5} => + text=send {5}\n"
		   "DONE A1 OK => A1 OK text=\n"
		   "DONE * OK weird {3+} => * OK text=weird {3+}\n"
		   "DONE A2 OK => A2 OK text=\n"
		   "DONE * OK {} => * OK text={}\n"
		   "DONE * OK {x} => * OK text={x}\n"
		   "DONE * OK } => * OK text=}\n");
}
END_TEST

void check_parser_add_framing(TCase *tc)
{
	tcase_add_test(tc, test_bare_lf);
	tcase_add_test(tc, test_lone_cr);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_not_literals);
}
