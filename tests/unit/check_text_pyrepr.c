/* check_text_pyrepr.c: Python's repr() of bytes, str and the containers
 * imaplib returns.  imap4's output is compared byte for byte with
 * imaplib's, so repr must match the real interpreter on every byte value
 * and every code point, not only on the cases written by hand. */
#include "config.h"
#include <check.h>
#include <limits.h>
#include <stdint.h>

#include "buf.h"
#include "check_text_util.h"
#include "pyrepr.h"

/* ---- pyrepr ---- */

START_TEST(test_pyrepr_known)
{
	struct buf o = BUF_INIT;
#define EXPECT(call, text) do { buf_reset(&o); call; ck_assert_str_eq(o.data, text); } while (0)
	EXPECT(pyrepr_bytes(&o, "", 0), "b''");
	EXPECT(pyrepr_bytes(&o, "OK", 2), "b'OK'");
	EXPECT(pyrepr_bytes(&o, "it's", 4), "b\"it's\"");
	EXPECT(pyrepr_bytes(&o, "'\"", 2), "b'\\'\"'");
	EXPECT(pyrepr_bytes(&o, "\"", 1), "b'\"'");
	EXPECT(pyrepr_bytes(&o, "\0\xff\t\n\r\\\x7f\x1b", 8), "b'\\x00\\xff\\t\\n\\r\\\\\\x7f\\x1b'");
	EXPECT(pyrepr_str(&o, "", 0), "''");
	EXPECT(pyrepr_str(&o, "it's", 4), "\"it's\"");
	EXPECT(pyrepr_str(&o, "Z\xc3\xbcrich", 7), "'Z\xc3\xbcrich'");
	EXPECT(pyrepr_str(&o, "\xc2\xa0", 2), "'\\xa0'");        /* NBSP: Zs */
	EXPECT(pyrepr_str(&o, "\xc2\xad", 2), "'\\xad'");        /* soft hyphen: Cf */
	EXPECT(pyrepr_str(&o, "\xc2\x85", 2), "'\\x85'");        /* C1 control */
	EXPECT(pyrepr_str(&o, "\xe2\x80\x8b", 3), "'\\u200b'");  /* ZWSP: Cf */
	EXPECT(pyrepr_str(&o, "\xe2\x80\xa8", 3), "'\\u2028'");  /* Zl */
	EXPECT(pyrepr_str(&o, "\xe3\x80\x80", 3), "'\\u3000'");  /* ideographic space */
	EXPECT(pyrepr_str(&o, "\xee\x80\x80", 3), "'\\ue000'");  /* private use */
	EXPECT(pyrepr_str(&o, "\xf0\x9f\x98\x80", 4), "'\xf0\x9f\x98\x80'");
	EXPECT(pyrepr_str(&o, "\xf3\xa0\x80\x81", 4), "'\\U000e0001'");
	EXPECT(pyrepr_str(&o, "\xff" "a\xe4\xb8", 4), "'\\udcffa\\udce4\\udcb8'");
	EXPECT(pyrepr_str(&o, "\t\\\x01", 3), "'\\t\\\\\\x01'");
	EXPECT(pyrepr_none(&o), "None");
	EXPECT(pyrepr_bool(&o, true), "True");
	EXPECT(pyrepr_bool(&o, false), "False");
	EXPECT(pyrepr_int(&o, -42), "-42");
	EXPECT(pyrepr_int(&o, LLONG_MIN), "-9223372036854775808");
	EXPECT(pyrepr_uint(&o, ULLONG_MAX), "18446744073709551615");
#undef EXPECT
	buf_free(&o);
}
END_TEST

START_TEST(test_pyrepr_containers)
{
	struct buf o = BUF_INIT;
	struct pyrepr_seq outer, inner;

	pyrepr_open_tuple(&o, &outer);
	pyrepr_close(&o, &outer);
	ck_assert_str_eq(o.data, "()");

	buf_reset(&o);
	pyrepr_open_list(&o, &outer);
	pyrepr_close(&o, &outer);
	ck_assert_str_eq(o.data, "[]");

	buf_reset(&o);
	pyrepr_open_tuple(&o, &outer);
	pyrepr_sep(&o, &outer);
	pyrepr_int(&o, 1);
	pyrepr_close(&o, &outer);
	ck_assert_str_eq(o.data, "(1,)");

	buf_reset(&o);
	pyrepr_open_list(&o, &outer);
	pyrepr_sep(&o, &outer);
	pyrepr_int(&o, 1);
	pyrepr_close(&o, &outer);
	ck_assert_str_eq(o.data, "[1]");

	/* imaplib's ('OK', [b'x', (b'1 (BODY[] {3}', b'abc'), b')']) */
	buf_reset(&o);
	pyrepr_open_tuple(&o, &outer);
	pyrepr_sep(&o, &outer);
	pyrepr_str(&o, "OK", 2);
	pyrepr_sep(&o, &outer);
	struct pyrepr_seq list;
	pyrepr_open_list(&o, &list);
	pyrepr_sep(&o, &list);
	pyrepr_bytes(&o, "x", 1);
	pyrepr_sep(&o, &list);
	pyrepr_open_tuple(&o, &inner);
	pyrepr_sep(&o, &inner);
	pyrepr_bytes(&o, "1 (BODY[] {3}", 13);
	pyrepr_sep(&o, &inner);
	pyrepr_bytes(&o, "abc", 3);
	pyrepr_close(&o, &inner);
	pyrepr_sep(&o, &list);
	pyrepr_bytes(&o, ")", 1);
	pyrepr_close(&o, &list);
	pyrepr_close(&o, &outer);
	ck_assert_str_eq(o.data, "('OK', [b'x', (b'1 (BODY[] {3}', b'abc'), b')'])");

	buf_reset(&o);
	pyrepr_open_tuple(&o, &outer);
	pyrepr_sep(&o, &outer);
	pyrepr_open_tuple(&o, &inner);
	pyrepr_close(&o, &inner);
	pyrepr_close(&o, &outer);
	ck_assert_str_eq(o.data, "((),)");

	buf_reset(&o);
	pyrepr_open_list(&o, &outer);
	pyrepr_sep(&o, &outer);
	pyrepr_none(&o);
	pyrepr_sep(&o, &outer);
	pyrepr_bool(&o, true);
	pyrepr_close(&o, &outer);
	ck_assert_str_eq(o.data, "[None, True]");
	buf_free(&o);
}
END_TEST

static const char python_bytes_script[] =
	"import sys\n"
	"for line in open(sys.argv[1]):\n"
	"    print(repr(bytes.fromhex(line.strip())))\n";

START_TEST(test_pyrepr_bytes_matches_python)
{
	if (!python_present())
		return;
	struct buf input = BUF_INIT, ours = BUF_INIT, theirs = BUF_INIT;
	for (unsigned c = 0; c < 256; c++) {
		unsigned char byte = (unsigned char)c;
		hex_line(&input, &byte, 1);
		pyrepr_bytes(&ours, &byte, 1);
		buf_addch(&ours, '\n');
	}
	/* strings mixing quotes, backslashes and everything else */
	static const char pool[] = "'\"\\ab\t\n\r\x00\x7f\x80\xff";
	uint64_t seed = 99;
	for (int i = 0; i < 2000; i++) {
		unsigned char s[16];
		size_t n = rnd_below(&seed, sizeof s + 1);
		for (size_t k = 0; k < n; k++)
			s[k] = rnd_below(&seed, 3) ? (unsigned char)pool[rnd_below(&seed, sizeof pool - 1)]
						   : (unsigned char)rnd_below(&seed, 256);
		hex_line(&input, s, n);
		pyrepr_bytes(&ours, s, n);
		buf_addch(&ours, '\n');
	}
	python_run(python_bytes_script, &input, &theirs);
	assert_same_lines(&theirs, &ours);
	buf_free(&input);
	buf_free(&ours);
	buf_free(&theirs);
}
END_TEST

static const char python_str_script[] =
	"import sys\n"
	"for line in open(sys.argv[1]):\n"
	"    print(repr(bytes.fromhex(line.strip()).decode('utf-8', 'surrogateescape')))\n";

START_TEST(test_pyrepr_str_matches_python)
{
	if (!python_present())
		return;
	struct buf input = BUF_INIT, ours = BUF_INIT, theirs = BUF_INIT;
	uint64_t seed = 31337;
	static const char *const pieces[] = { "'", "\"", "\\", "\xc3", "\xa4", "\xe4\xb8", "\xad",
					      "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xff" };
	for (int i = 0; i < 3000; i++) {
		struct buf s = BUF_INIT;
		unsigned n = rnd_below(&seed, 12);
		for (unsigned k = 0; k < n; k++) {
			unsigned kind = rnd_below(&seed, 4);
			if (kind == 0)
				buf_addstr(&s, pieces[rnd_below(&seed, sizeof pieces / sizeof pieces[0])]);
			else if (kind == 1)
				buf_addch(&s, (char)rnd_below(&seed, 256));
			else
				utf8_put(&s, random_code_point(&seed));
		}
		hex_line(&input, s.data, s.len);
		pyrepr_str(&ours, s.data, s.len);
		buf_addch(&ours, '\n');
		buf_free(&s);
	}
	python_run(python_str_script, &input, &theirs);
	assert_same_lines(&theirs, &ours);
	buf_free(&input);
	buf_free(&ours);
	buf_free(&theirs);
}
END_TEST

/* repr() of one str holding every code point but the surrogates. */
static const char python_all_code_points_script[] =
	"import sys\n"
	"s = ''.join(chr(c) for c in range(0x110000) if not 0xd800 <= c <= 0xdfff)\n"
	"sys.stdout.write(repr(s))\n";

START_TEST(test_pyrepr_every_code_point_matches_python)
{
	if (!python_present())
		return;
	struct buf empty = BUF_INIT, theirs = BUF_INIT, ours = BUF_INIT, all = BUF_INIT;
	python_run(python_all_code_points_script, &empty, &theirs);
	for (uint32_t cp = 0; cp < 0x110000; cp++)
		if (cp < 0xd800 || cp > 0xdfff)
			utf8_put(&all, cp);
	pyrepr_str(&ours, all.data, all.len);
	size_t i = 0;
	while (i < ours.len && i < theirs.len && ours.data[i] == theirs.data[i])
		i++;
	size_t from = i > 40 ? i - 40 : 0;
	ck_assert_msg(i == ours.len && i == theirs.len,
		      "differ at byte %zu: python [%.80s] we [%.80s]", i, theirs.data + from,
		      ours.data + from);
	buf_free(&theirs);
	buf_free(&ours);
	buf_free(&all);
}
END_TEST

void check_text_add_pyrepr(TCase *tc, TCase *python)
{
	tcase_add_test(tc, test_pyrepr_known);
	tcase_add_test(tc, test_pyrepr_containers);
	tcase_add_test(python, test_pyrepr_bytes_matches_python);
	tcase_add_test(python, test_pyrepr_str_matches_python);
	tcase_add_test(python, test_pyrepr_every_code_point_matches_python);
}
