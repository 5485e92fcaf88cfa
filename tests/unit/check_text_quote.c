/* check_text_quote.c: imaplib's small helpers (Int2AP tags, ParseFlags)
 * and how an argument goes on the wire.  The form of a string is decided
 * by its bytes alone (RFC 3501 atom, quoted or literal), and a CR, LF or
 * NUL in an argument must be refused outright, because it would let a
 * name inject a second command. */
#include "config.h"
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "check_text_util.h"
#include "pyrepr.h"
#include "quote.h"
#include "util.h"

/* ---- util ---- */

static void assert_int2ap(unsigned long n, const char *expected)
{
	struct buf out = BUF_INIT;
	imap_int2ap(n, &out);
	ck_assert_str_eq(out.data, expected);
	buf_free(&out);
}

START_TEST(test_int2ap)
{
	assert_int2ap(0, "");
	assert_int2ap(1, "B");
	assert_int2ap(15, "P");
	assert_int2ap(16, "BA");
	assert_int2ap(17, "BB");
	assert_int2ap(255, "PP");
	assert_int2ap(4096, "BAAA");
	assert_int2ap(65535, "PPPP");
	assert_int2ap(0xdeadbeefUL, "NOKNLOOP");
	if (ULONG_MAX == 0xffffffffffffffffUL)
		assert_int2ap(ULONG_MAX, "PPPPPPPPPPPPPPPP");
}
END_TEST

/* Flags as one string "a|b|c" for easy comparison. */
static int flags_joined(const char *resp, size_t len, struct buf *joined)
{
	struct buf flags = BUF_INIT;
	size_t count = 99;
	int r = imap_parse_flags(resp, len, &flags, &count);
	size_t seen = 0;
	for (size_t i = 0; i < flags.len; i += strlen(flags.data + i) + 1) {
		if (seen++)
			buf_addch(joined, '|');
		buf_addstr(joined, flags.data + i);
	}
	ck_assert_uint_eq(seen, count);
	buf_free(&flags);
	return r;
}

static void assert_flags(const char *resp, int expected_r, const char *expected)
{
	struct buf joined = BUF_INIT;
	ck_assert_int_eq(flags_joined(resp, strlen(resp), &joined), expected_r);
	ck_assert_str_eq(joined.data, expected);
	buf_free(&joined);
}

START_TEST(test_parse_flags)
{
	assert_flags("1 (FLAGS (\\Seen \\Answered) UID 4)", 1, "\\Seen|\\Answered");
	assert_flags("* 12 FETCH (UID 7 FLAGS (\\Seen))", 1, "\\Seen");
	assert_flags("1 (UID 4 RFC822.SIZE 100)", 0, "");
	assert_flags("1 (FLAGS ())", 1, "");
	assert_flags("1 (FLAGS (   ))", 1, "");
	assert_flags("", 0, "");
	assert_flags("FLAGS (", 0, "");
	assert_flags("1 (FLAGS (\\Seen", 0, "");
	assert_flags("1 (FLAGS \\Seen)", 0, "");
	assert_flags("1 (flags (\\Seen))", 0, "");
	/* bytes.split(): runs of any ASCII whitespace */
	assert_flags("1 (FLAGS ( a\t\tb\r\x0b" "c\x0c  $Label1 ))", 1, "a|b|c|$Label1");
	/* greedy '.*': the last "FLAGS (" with a ')' after it wins, and
	 * PERMANENTFLAGS counts */
	assert_flags("1 (FLAGS (\\Seen) X-FLAGS (\\Draft \\Flagged))", 1, "\\Draft|\\Flagged");
	assert_flags("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited", 1,
		     "\\Deleted|\\Seen|\\*");
	assert_flags("1 (FLAGS (a b) UID 3 FLAGS (c", 1, "a|b");
	/* '.' stops at LF but the group [^)]* crosses it */
	assert_flags("\n1 (FLAGS (\\Seen))", 0, "");
	assert_flags("1 (FLAGS (a\nb) x)\n2 (FLAGS (c))", 1, "a|b");
	assert_flags("1 (FLAGS (a\nFLAGS (b))", 1, "a|FLAGS|(b");
	/* a NUL inside the flags cannot be carried NUL-separated */
	struct buf flags = BUF_INIT;
	size_t count = 5;
	ck_assert_int_eq(imap_parse_flags("1 (FLAGS (a\0b))", 15, &flags, &count), -1);
	ck_assert_uint_eq(count, 0);
	ck_assert_uint_eq(flags.len, 0);
	/* a NUL before the match is just another byte */
	ck_assert_int_eq(imap_parse_flags("\0 (FLAGS (a b))", 15, &flags, &count), 1);
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(flags.len, 4);
	buf_free(&flags);
}
END_TEST

static const char python_flags_script[] =
	"import sys, imaplib\n"
	"for line in open(sys.argv[1]):\n"
	"    print(repr(imaplib.ParseFlags(bytes.fromhex(line.strip()))))\n";

START_TEST(test_parse_flags_matches_imaplib)
{
	static const char *const parts[] = { "FLAGS (", "PERMANENTFLAGS (", ")", "(", " ",
					     "\\Seen", "\\Answered", "$Junk", "\t", "\n", "\r",
					     "UID 5", "FLAGS", "x" };
	if (!python_present())
		return;
	uint64_t seed = 4242;
	struct buf input = BUF_INIT, ours = BUF_INIT, theirs = BUF_INIT;
	for (int i = 0; i < 3000; i++) {
		struct buf r = BUF_INIT, flags = BUF_INIT;
		unsigned n = rnd_below(&seed, 12);
		for (unsigned k = 0; k < n; k++)
			buf_addstr(&r, parts[rnd_below(&seed, sizeof parts / sizeof parts[0])]);
		hex_line(&input, r.data, r.len);
		size_t count;
		ck_assert_int_ge(imap_parse_flags(r.data, r.len, &flags, &count), 0);
		struct pyrepr_seq seq;
		pyrepr_open_tuple(&ours, &seq);
		for (size_t k = 0, at = 0; k < count; k++) {
			size_t len = strlen(flags.data + at);
			pyrepr_sep(&ours, &seq);
			pyrepr_bytes(&ours, flags.data + at, len);
			at += len + 1;
		}
		pyrepr_close(&ours, &seq);
		buf_addch(&ours, '\n');
		buf_free(&r);
		buf_free(&flags);
	}
	python_run(python_flags_script, &input, &theirs);
	assert_same_lines(&theirs, &ours);
	buf_free(&input);
	buf_free(&ours);
	buf_free(&theirs);
}
END_TEST

START_TEST(test_quote)
{
	struct buf out = BUF_INIT;
	imap_quote("", 0, &out);
	ck_assert_str_eq(out.data, "\"\"");
	buf_reset(&out);
	imap_quote("pass word", 9, &out);
	ck_assert_str_eq(out.data, "\"pass word\"");
	buf_reset(&out);
	imap_quote("a\"b\\c", 5, &out);
	ck_assert_str_eq(out.data, "\"a\\\"b\\\\c\"");
	buf_reset(&out);
	imap_quote("\\\"", 2, &out);
	ck_assert_str_eq(out.data, "\"\\\\\\\"\"");
	buf_free(&out);
}
END_TEST

/* The RFC 3501 rule, decided by the bytes alone. */
START_TEST(test_astring_form)
{
	static const struct {
		const char *s;
		size_t n;
		enum imap_astring_form form;
	} cases[] = {
		{ "INBOX", 5, IMAP_ASTRING_ATOM },
		{ "&AOQ-", 5, IMAP_ASTRING_ATOM },
		{ "secret", 6, IMAP_ASTRING_ATOM },
		{ "\"X\"", 3, IMAP_ASTRING_QUOTED },
		{ "(X)", 3, IMAP_ASTRING_QUOTED },
		{ "X%", 2, IMAP_ASTRING_QUOTED },
		{ "X*", 2, IMAP_ASTRING_QUOTED },
		{ "{5}", 3, IMAP_ASTRING_QUOTED },
		{ "NIL", 3, IMAP_ASTRING_QUOTED },
		{ "nil", 3, IMAP_ASTRING_QUOTED },
		{ "a\\b", 3, IMAP_ASTRING_QUOTED },
		{ "a b", 3, IMAP_ASTRING_QUOTED },
		{ "x]y", 3, IMAP_ASTRING_QUOTED },
		{ "", 0, IMAP_ASTRING_QUOTED },
		{ "\t", 1, IMAP_ASTRING_QUOTED },
		{ "Gr\xc3\xbc\xc3\x9f", 6, IMAP_ASTRING_LITERAL },
		{ "a\r\nA1 DELETE INBOX", 18, IMAP_ASTRING_LITERAL },
		{ "a\nb", 3, IMAP_ASTRING_LITERAL },
		{ "a\0b", 3, IMAP_ASTRING_INVALID },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(imap_astring_form(cases[i].s, cases[i].n) == cases[i].form, "case %zu", i);
	char long_name[IMAP_QUOTED_MAX + 2];
	memset(long_name, ' ', sizeof long_name);
	ck_assert_int_eq(imap_astring_form(long_name, IMAP_QUOTED_MAX), IMAP_ASTRING_QUOTED);
	ck_assert_int_eq(imap_astring_form(long_name, IMAP_QUOTED_MAX + 1), IMAP_ASTRING_LITERAL);
}
END_TEST

static void assert_arg(const char *arg, const char *expected)
{
	struct buf cmd = BUF_INIT, err = BUF_INIT;
	buf_addstr(&cmd, "A1 CMD");
	ck_assert_int_eq(imap_append_arg(&cmd, arg, strlen(arg), &err), 0);
	ck_assert_str_eq(cmd.data + 6, expected);
	ck_assert_uint_eq(err.len, 0);
	buf_free(&cmd);
	buf_free(&err);
}

START_TEST(test_append_arg_rule)
{
	assert_arg("INBOX", " INBOX");
	assert_arg("1:*", " 1:*");
	assert_arg("BODY.PEEK[HEADER.FIELDS]", " BODY.PEEK[HEADER.FIELDS]");
	assert_arg("&AOQ-", " &AOQ-");
	assert_arg("", " \"\"");
	assert_arg("my folder", " \"my folder\"");
	assert_arg("a\"b", " \"a\\\"b\"");
	assert_arg("\\Seen", " \"\\\\Seen\"");
	assert_arg("{5}", " \"{5}\"");
	assert_arg("a(b", " \"a(b\"");
	assert_arg("a)b", " \"a)b\"");
	assert_arg("\"", " \"\\\"\"");
	assert_arg("(", " \"(\"");
	assert_arg("\t", " \"\t\"");
	assert_arg("\x7f", " \"\x7f\"");
	assert_arg("Z\xc3\xbcrich", " \"Z\xc3\xbcrich\"");
	/* already wrapped: as is */
	assert_arg("(FLAGS UID)", " (FLAGS UID)");
	assert_arg("()", " ()");
	assert_arg("(\\Seen \\Deleted)", " (\\Seen \\Deleted)");
	assert_arg("\"already quoted\"", " \"already quoted\"");
	assert_arg("\"\"", " \"\"");
}
END_TEST

START_TEST(test_append_arg_rejects_injection)
{
	static const struct {
		const char *arg;
		size_t len;
	} bad[] = {
		{ "a\r\nA2 DELETE INBOX", 18 },
		{ "a\nb", 3 },
		{ "a\rb", 3 },
		{ "a\0b", 3 },
		{ "\r\n", 2 },
		{ "(a\r\nA2 DELETE INBOX)", 20 },
		{ "\"a\r\nA2 DELETE INBOX\"", 20 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf cmd = BUF_INIT, err = BUF_INIT;
		buf_addstr(&cmd, "A1 SELECT");
		ck_assert(!imap_arg_is_safe(bad[i].arg, bad[i].len));
		ck_assert_int_eq(imap_append_arg(&cmd, bad[i].arg, bad[i].len, &err), -1);
		ck_assert_str_eq(cmd.data, "A1 SELECT");
		ck_assert_uint_eq(cmd.len, 9);
		ck_assert(err.len > 0);
		buf_free(&cmd);
		buf_free(&err);
	}
	ck_assert(imap_arg_is_safe("", 0));
	ck_assert(imap_arg_is_safe("a b\t\"\\", 6));
	struct buf cmd = BUF_INIT;
	ck_assert_int_eq(imap_append_arg(&cmd, "a\nb", 3, NULL), -1);
	ck_assert_uint_eq(cmd.len, 0);
	buf_free(&cmd);
}
END_TEST

void check_text_add_quote(TCase *tc, TCase *python)
{
	tcase_add_test(tc, test_int2ap);
	tcase_add_test(tc, test_parse_flags);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_astring_form);
	tcase_add_test(tc, test_append_arg_rule);
	tcase_add_test(tc, test_append_arg_rejects_injection);
	tcase_add_test(python, test_parse_flags_matches_imaplib);
}
