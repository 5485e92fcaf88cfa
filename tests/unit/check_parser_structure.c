/* check_parser_structure.c: what a response line parses into: atoms with
 * brackets, nested lists up to the depth limit, quoted strings, response
 * codes (odd ones included) and the arg helpers callers read them with.
 * Callers act on these values (a UIDVALIDITY, a flag list), so every odd
 * input must give one defined answer, never a value read from elsewhere. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_parser_conv.h"
#include "parser.h"

START_TEST(test_bracket_in_flags)
{
	check_conv("* FLAGS (\\Answered \\Seen foo]bar $Label] \\*)\r\n"
		   "* 9 FETCH (FLAGS (\\Seen foo]bar) UID 4)\r\n"
		   "* FLAGS (a[b \\Seen)\r\n",
		   NULL,
		   "DONE * FLAGS (\\Answered \\Seen foo]bar $Label] \\*) => * FLAGS args=((\\Answered \\Seen foo]bar $Label] \\*))\n"
		   "DONE * 9 FETCH (FLAGS (\\Seen foo]bar) UID 4) => * #9 FETCH args=((FLAGS (\\Seen foo]bar) UID 4))\n"
		   "DONE * FLAGS (a[b \\Seen) => * FLAGS args=((a[b \\Seen))\n");
}
END_TEST

START_TEST(test_section_atoms)
{
	check_conv("* 1 FETCH (UID 5 BODY[HEADER.FIELDS (FROM TO)]<0> {4}\r\nab\r\n)\r\n"
		   "* 2 FETCH (BODY[HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[1.2.MIME] \"\" BINARY.SIZE[1] 40)\r\n",
		   NULL,
		   "DONE * 1 FETCH (UID 5 BODY[HEADER.FIELDS (FROM TO)]<0> {4}<lit:ab\\x0d\\x0a>) "
		   "=> * #1 FETCH args=((UID 5 BODY[HEADER.FIELDS (FROM TO)]<0> {4:ab\\x0d\\x0a}))\n"
		   "DONE * 2 FETCH (BODY[HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[1.2.MIME] \"\" BINARY.SIZE[1] 40) "
		   "=> * #2 FETCH args=((BODY[HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[1.2.MIME] \"\" BINARY.SIZE[1] 40))\n");
}
END_TEST

static char *nested(unsigned depth)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, "* X ");
	for (unsigned i = 0; i < depth; i++)
		buf_addch(&b, '(');
	buf_addch(&b, 'a');
	for (unsigned i = 0; i < depth; i++)
		buf_addch(&b, ')');
	buf_addstr(&b, "\r\n");
	return buf_detach(&b, NULL);
}

START_TEST(test_nesting_and_depth)
{
	struct run_opts o = { .lim = { .max_depth = 3 } };
	check_conv("* X (a (b (c)) d) ((e))\r\n"
		   "* X (a (b (c (d))))\r\n"
		   "* X ()\r\n",
		   &o,
		   "DONE * X (a (b (c)) d) ((e)) => * X args=((a (b (c)) d) ((e)))\n"
		   "DONE * X (a (b (c (d)))) => PARSEFAIL lists nested deeper than 3\n"
		   "DONE * X () => * X args=(())\n");
	/* the default depth (100), and a nesting of 100000 that must not recurse */
	char *ok = nested(100), *deep = nested(101), *huge = nested(100000);
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp out;
	struct buf err = BUF_INIT;
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, ok, strlen(ok), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, &err), 0);
	const struct imap_arg *a = out.args;
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(a->type, IMAP_ARG_LIST);
		ck_assert_uint_eq(a->count, 1);
		a = a->list;
	}
	ck_assert(imap_arg_is_atom(a, "A"));
	ck_assert_int_eq(imap_parser_feed(p, deep, strlen(deep), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, &err), -1);
	ck_assert_str_eq(err.data, "lists nested deeper than 100");
	buf_reset(&err);
	ck_assert_int_eq(imap_parser_feed(p, huge, strlen(huge), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, &err), -1);
	ck_assert_str_eq(err.data, "lists nested deeper than 100");
	buf_free(&err);
	imap_parser_free(p);
	free(ok);
	free(deep);
	free(huge);
}
END_TEST

START_TEST(test_quoted_strings)
{
	check_conv("* LIST () \"/\" \"a \\\"q\\\" \\\\ b\"\r\n"
		   "* LIST () \"\\\\\" \"c:\\dir\"\r\n"
		   "* X \"\" \"(not a list)\" \"]\"\r\n",
		   NULL,
		   "DONE * LIST () \"/\" \"a \\\"q\\\" \\\\ b\" => * LIST args=(() \"/\" \"a \"q\" \\ b\")\n"
		   "DONE * LIST () \"\\\\\" \"c:\\dir\" => * LIST args=(() \"\\\" \"c:\\dir\")\n"
		   "DONE * X \"\" \"(not a list)\" \"]\" => * X args=(\"\" \"(not a list)\" \"]\")\n");
	/* exact bytes, not only the transcript */
	struct imap_parser *p = imap_parser_new(NULL);
	const char *in = "* LIST () \"/\" \"a \\\"q\\\" \\\\ b\"\r\n";
	size_t used;
	struct imap_resp out;
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, NULL), 0);
	ck_assert_uint_eq(out.nargs, 3);
	ck_assert_int_eq(out.args[2].type, IMAP_ARG_STRING);
	ck_assert_str_eq(out.args[2].str, "a \"q\" \\ b");
	ck_assert_uint_eq(out.args[2].len, 9);
	imap_parser_free(p);
}
END_TEST

START_TEST(test_response_codes)
{
	check_conv("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
		   "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
		   "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n"
		   "A3 OK [APPENDUID 38505 3955] APPEND completed\r\n"
		   "A4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
		   "A2 OK [READ-ONLY] EXAMINE completed\r\n"
		   "A5 OK [READ-WRITE]\r\n"
		   "A6 NO Permission denied\r\n"
		   "a7 ok [uidnext 4392] Predicted next UID\r\n"
		   "* BYE [UNAVAILABLE] shutting down\r\n"
		   "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as nobody\r\n"
		   "+ [ALERT] hi\r\n"
		   "* NO [ALERT] Disk full\r\n"
		   "A8 BAD [CLIENTBUG]  two spaces\r\n",
		   NULL,
		   "DONE * OK [UIDVALIDITY 3857529045] UIDs valid => * OK [UIDVALIDITY raw=3857529045 args=(3857529045)] text=UIDs valid\n"
		   "DONE * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited => * OK [PERMANENTFLAGS raw=(\\Deleted \\Seen \\*) args=((\\Deleted \\Seen \\*))] text=Limited\n"
		   "DONE * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready. => * OK [CAPABILITY raw=IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN args=(IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN)] text=Dovecot ready.\n"
		   "DONE A3 OK [APPENDUID 38505 3955] APPEND completed => A3 OK [APPENDUID raw=38505 3955 args=(38505 3955)] text=APPEND completed\n"
		   "DONE A4 OK [COPYUID 38505 304,319:320 3956:3958] Done => A4 OK [COPYUID raw=38505 304,319:320 3956:3958 args=(38505 304,319:320 3956:3958)] text=Done\n"
		   "DONE A2 OK [READ-ONLY] EXAMINE completed => A2 OK [READ-ONLY] text=EXAMINE completed\n"
		   "DONE A5 OK [READ-WRITE] => A5 OK [READ-WRITE] text=\n"
		   "DONE A6 NO Permission denied => A6 NO text=Permission denied\n"
		   "DONE a7 ok [uidnext 4392] Predicted next UID => a7 OK [UIDNEXT raw=4392 args=(4392)] text=Predicted next UID\n"
		   "DONE * BYE [UNAVAILABLE] shutting down => * BYE [UNAVAILABLE] text=shutting down\n"
		   "DONE * PREAUTH [CAPABILITY IMAP4rev1] Logged in as nobody => * PREAUTH [CAPABILITY raw=IMAP4rev1 args=(IMAP4rev1)] text=Logged in as nobody\n"
		   "DONE + [ALERT] hi => + [ALERT] text=hi\n"
		   "DONE * NO [ALERT] Disk full => * NO [ALERT] text=Disk full\n"
		   "DONE A8 BAD [CLIENTBUG]  two spaces => A8 BAD [CLIENTBUG] text=two spaces\n");
}
END_TEST

START_TEST(test_odd_response_codes)
{
	check_conv("* OK [X-ODD [a] b] text\r\n"
		   "* OK [ALERT unterminated\r\n"
		   "* NO [BADCHARSET (\"x]y\" UTF-8)] no\r\n"
		   "* OK [PERMANENTFLAGS (\\Seen foo]bar \\*)] ok\r\n"
		   "* OK [X (unbalanced] t\r\n"
		   "* OK [] empty\r\n"
		   "* OK [X \"open] q\r\n"
		   "* OK [A] [B] two\r\n"
		   "* OK [X]\r\n",
		   NULL,
		   "DONE * OK [X-ODD [a] b] text => * OK [X-ODD raw=[a] b args=([a] b)] text=text\n"
		   "DONE * OK [ALERT unterminated => * OK text=[ALERT unterminated\n"
		   "DONE * NO [BADCHARSET (\"x]y\" UTF-8)] no => * NO [BADCHARSET raw=(\"x]y\" UTF-8) args=((\"x]y\" UTF-8))] text=no\n"
		   "DONE * OK [PERMANENTFLAGS (\\Seen foo]bar \\*)] ok => * OK [PERMANENTFLAGS raw=(\\Seen foo]bar \\*) args=((\\Seen foo]bar \\*))] text=ok\n"
		   "DONE * OK [X (unbalanced] t => * OK [X raw=(unbalanced] text=t\n"
		   "DONE * OK [] empty => * OK text=[] empty\n"
		   "DONE * OK [X \"open] q => * OK [X raw=\"open] text=q\n"
		   "DONE * OK [A] [B] two => * OK [A] text=[B] two\n"
		   "DONE * OK [X] => * OK [X] text=\n");
}
END_TEST

START_TEST(test_malformed)
{
	check_conv("\r\n"
		   "A1\r\n"
		   "* 12\r\n"
		   "* LIST (a))\r\n"
		   "* LIST (a\r\n"
		   "* LIST \"abc\r\n"
		   "* 4294967296 EXISTS\r\n"
		   "* 4294967295 EXISTS\r\n"
		   " OK\r\n"
		   "*\r\n"
		   "* 1 FETCH (BODY[] \"x {3}\r\nabc\")\r\n",
		   NULL,
		   "DONE  => PARSEFAIL empty response line\n"
		   "DONE A1 => PARSEFAIL response without a name\n"
		   "DONE * 12 => PARSEFAIL response without a name\n"
		   "DONE * LIST (a)) => PARSEFAIL unexpected ')'\n"
		   "DONE * LIST (a => PARSEFAIL unterminated list\n"
		   "DONE * LIST \"abc => PARSEFAIL unterminated quoted string\n"
		   "DONE * 4294967296 EXISTS => PARSEFAIL message number out of range\n"
		   "DONE * 4294967295 EXISTS => * #4294967295 EXISTS args=()\n"
		   "DONE  OK => PARSEFAIL response starts with a space\n"
		   "DONE * => PARSEFAIL response without a name\n"
		   "DONE * 1 FETCH (BODY[] \"x {3}<lit:abc>\") => PARSEFAIL unterminated quoted string\n");
}
END_TEST

START_TEST(test_arg_helpers)
{
	struct imap_parser *p = imap_parser_new(NULL);
	const char *in = "* X 0 18446744073709551615 18446744073709551616 12a nil \"s\" {2}\r\nab Seen\r\n";
	size_t used;
	struct imap_resp out;
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, NULL), 0);
	ck_assert_uint_eq(out.nargs, 8);
	uint64_t v = 99;
	ck_assert(imap_arg_number(&out.args[0], &v));
	ck_assert_uint_eq(v, 0);
	ck_assert(imap_arg_number(&out.args[1], &v));
	ck_assert(v == UINT64_MAX);
	ck_assert(!imap_arg_number(&out.args[2], &v));
	ck_assert(!imap_arg_number(&out.args[3], &v));
	ck_assert(!imap_arg_number(&out.args[5], &v));  /* a string, not an atom */
	ck_assert(!imap_arg_number(NULL, &v));

	const char *s = "x";
	size_t n = 7;
	ck_assert_int_eq(out.args[4].type, IMAP_ARG_NIL);
	ck_assert(imap_arg_nstring(&out.args[4], &s, &n));
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(n, 0);
	ck_assert(imap_arg_nstring(&out.args[5], &s, &n));
	ck_assert_str_eq(s, "s");
	ck_assert(imap_arg_nstring(&out.args[6], &s, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(memcmp(s, "ab", 2), 0);
	ck_assert(!imap_arg_nstring(&out.args[7], &s, &n));  /* an atom */

	ck_assert(imap_arg_is_atom(&out.args[7], "SEEN"));
	ck_assert(imap_arg_is_atom(&out.args[7], "seen"));
	ck_assert(!imap_arg_is_atom(&out.args[7], "SEE"));
	ck_assert(!imap_arg_is_atom(&out.args[7], "SEENX"));
	ck_assert(imap_arg_is_atom(&out.args[4], "NIL"));
	ck_assert(!imap_arg_is_atom(&out.args[5], "S"));
	ck_assert(!imap_arg_is_atom(NULL, "S"));
	imap_parser_free(p);
}
END_TEST

void check_parser_add_structure(TCase *tc)
{
	tcase_add_test(tc, test_bracket_in_flags);
	tcase_add_test(tc, test_section_atoms);
	tcase_add_test(tc, test_nesting_and_depth);
	tcase_add_test(tc, test_quoted_strings);
	tcase_add_test(tc, test_response_codes);
	tcase_add_test(tc, test_odd_response_codes);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_arg_helpers);
}
