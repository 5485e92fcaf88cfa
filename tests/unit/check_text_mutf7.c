/* check_text_mutf7.c: modified UTF-7 (RFC 3501 5.1.3), the mailbox names
 * on the wire.  A name decoded leniently could turn two server names into
 * one path, so every non-canonical form must be refused, and every UTF-8
 * name must survive the round trip; Python's own UTF-16 and base64 codecs
 * are the independent encoder. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "check_text_util.h"
#include "mutf7.h"
#include "utf8.h"

static const struct {
	const char *utf8, *mutf7;
} mutf7_pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Z\xc3\xbcrich", "Z&APw-rich" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	{ "\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-" },
	{ "\xc3\xa4\xc3\xb6", "&AOQA9g-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "\x01", "&AAE-" },
	{ "a\x7f" "b", "a&AH8-b" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "Mails \xf0\x9f\x93\xa7 \xe2\x82\xac", "Mails &2D3c5w- &IKw-" },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xf0\x9f\x98\x80x", "&ZeVnLIqe2D3eAA-x" },
	{ "\xf4\x8f\xbf\xbf", "&2,,f,w-" },
};

START_TEST(test_mutf7_known_pairs)
{
	for (size_t i = 0; i < sizeof mutf7_pairs / sizeof mutf7_pairs[0]; i++) {
		struct buf out = BUF_INIT, err = BUF_INIT;
		const char *u = mutf7_pairs[i].utf8, *m = mutf7_pairs[i].mutf7;

		ck_assert_int_eq(mutf7_from_utf8(u, strlen(u), &out, &err), 0);
		ck_assert_str_eq(out.data, m);
		buf_reset(&out);
		ck_assert_int_eq(mutf7_to_utf8(m, strlen(m), &out, &err), 0);
		ck_assert_str_eq(out.data, u);
		ck_assert(mutf7_is_valid(m, strlen(m)));
		ck_assert_uint_eq(err.len, 0);
		buf_free(&out);
		buf_free(&err);
	}
}
END_TEST

START_TEST(test_mutf7_appends_to_output)
{
	struct buf out = BUF_INIT;
	buf_addstr(&out, "prefix:");
	ck_assert_int_eq(mutf7_from_utf8("\xc3\xa4", 2, &out, NULL), 0);
	ck_assert_str_eq(out.data, "prefix:&AOQ-");
	ck_assert_int_eq(mutf7_to_utf8("&AOQ-", 5, &out, NULL), 0);
	ck_assert_str_eq(out.data, "prefix:&AOQ-\xc3\xa4");
	buf_free(&out);
}
END_TEST

static const struct {
	const char *text;
	size_t len;  /* 0: strlen */
	const char *why;
} mutf7_bad[] = {
	{ "a\x7f", 0, "DEL" },
	{ "a\tb", 0, "TAB" },
	{ "a\0b", 3, "NUL byte" },
	{ "Z\xc3\xbcrich", 0, "raw 8-bit" },
	{ "&", 0, "lone &" },
	{ "abc&", 0, "& at the end" },
	{ "&AOQ", 0, "unterminated run" },
	{ "&AOQ!-", 0, "'!' in base64" },
	{ "&AOQ/-", 0, "'/' instead of ','" },
	{ "&AOQ=-", 0, "padding" },
	{ "&AO Q-", 0, "space in base64" },
	{ "&AOR-", 0, "non-zero leftover bits" },
	{ "&AOQ,-", 0, "excess 6 bits" },
	{ "&A-", 0, "6 bits" },
	{ "&AO-", 0, "12 bits: odd byte" },
	{ "&AOQA-", 0, "odd UTF-16 byte count" },
	{ "&2D0-", 0, "lone high surrogate" },
	{ "&2D0AOQ-", 0, "high surrogate then BMP" },
	{ "&2D3YPQ-", 0, "two high surrogates" },
	{ "&3gA-", 0, "lone low surrogate" },
	{ "&AGE-", 0, "encoded 'a'" },
	{ "&ACY-", 0, "encoded '&'" },
	{ "&ACA-", 0, "encoded space" },
	{ "&AH4-", 0, "encoded '~'" },
	{ "&AOQAYQ-", 0, "encoded 'a' after a letter" },
	{ "&AAA-", 0, "encoded NUL" },
	{ "&AOQ-&APY-", 0, "runs back to back" },
	{ "x&AOQ-&APY-y", 0, "runs back to back inside" },
};

START_TEST(test_mutf7_decode_rejects)
{
	for (size_t i = 0; i < sizeof mutf7_bad / sizeof mutf7_bad[0]; i++) {
		const char *t = mutf7_bad[i].text;
		size_t len = mutf7_bad[i].len ? mutf7_bad[i].len : strlen(t);
		struct buf out = BUF_INIT, err = BUF_INIT;
		buf_addstr(&out, "keep");

		ck_assert_msg(mutf7_to_utf8(t, len, &out, &err) == -1, "accepted: %s",
			      mutf7_bad[i].why);
		ck_assert_str_eq(out.data, "keep");
		ck_assert_uint_eq(out.len, 4);
		ck_assert_msg(err.len > 0 && !memchr(err.data, '\n', err.len), "reason for %s",
			      mutf7_bad[i].why);
		ck_assert_msg(!mutf7_is_valid(t, len), "valid: %s", mutf7_bad[i].why);
		buf_free(&out);
		buf_free(&err);
	}
	/* the neighbours of those cases that must pass */
	ck_assert(mutf7_is_valid("&AOQ-&-", 7));
	ck_assert(mutf7_is_valid("&AOQ-x&APY-", 11));
	ck_assert(mutf7_is_valid("&2D3eAA-", 8));
	ck_assert(mutf7_is_valid("&-&-", 4));
	ck_assert(mutf7_is_valid("-&--", 4));
}
END_TEST

static const struct {
	const char *text;
	size_t len;  /* 0: strlen */
} utf8_bad[] = {
	{ "\xc0\xaf", 0 },                 /* overlong '/' */
	{ "\xc1\xbf", 0 },                 /* overlong */
	{ "\xe0\x80\xaf", 0 },             /* overlong, 3 bytes */
	{ "\xf0\x80\x80\xaf", 0 },         /* overlong, 4 bytes */
	{ "\xed\xa0\x80", 0 },             /* surrogate U+D800 */
	{ "\xed\xbf\xbf", 0 },             /* surrogate U+DFFF */
	{ "\xf4\x90\x80\x80", 0 },         /* U+110000 */
	{ "\xf5\x80\x80\x80", 0 },
	{ "\xf8\x88\x80\x80\x80", 0 },     /* 5-byte form */
	{ "\xe4\xb8", 0 },                 /* truncated at the end */
	{ "\xe4\xb8" "a", 0 },             /* truncated before ASCII */
	{ "\xc3", 0 },
	{ "\x80", 0 },                     /* lone continuation */
	{ "a\xbf" "b", 0 },
	{ "\xff", 0 },
	{ "\xfe", 0 },
	{ "a\0b", 3 },                     /* NUL */
	{ "\0", 1 },
	{ "\xc3\xa4\0", 3 },               /* NUL inside a non-ASCII stretch */
};

START_TEST(test_mutf7_encode_rejects_bad_utf8)
{
	for (size_t i = 0; i < sizeof utf8_bad / sizeof utf8_bad[0]; i++) {
		const char *t = utf8_bad[i].text;
		size_t len = utf8_bad[i].len ? utf8_bad[i].len : strlen(t);
		struct buf out = BUF_INIT, err = BUF_INIT;
		buf_addstr(&out, "keep");
		ck_assert_msg(mutf7_from_utf8(t, len, &out, &err) == -1, "accepted case %zu", i);
		ck_assert_str_eq(out.data, "keep");
		ck_assert_msg(err.len > 0, "no reason for case %zu", i);
		buf_free(&out);
		buf_free(&err);
	}
}
END_TEST

/* The check names and labels taken as UTF-8 get: the same verdict as the
 * encoder's, and where the first bad byte is. */
START_TEST(test_utf8_text_valid)
{
	for (size_t i = 0; i < sizeof utf8_bad / sizeof utf8_bad[0]; i++) {
		const char *t = utf8_bad[i].text;
		size_t len = utf8_bad[i].len ? utf8_bad[i].len : strlen(t);
		size_t bad = len;
		ck_assert_msg(!utf8_text_valid(t, len, &bad), "accepted case %zu", i);
		ck_assert_uint_lt(bad, len);
	}
	size_t bad = 99;
	ck_assert(utf8_text_valid("Entw\xc3\xbcrfe \xf0\x9f\x98\x80", 14, &bad));
	ck_assert_uint_eq(bad, 99);
	ck_assert(utf8_text_valid("", 0, NULL));
	ck_assert(!utf8_text_valid("ab\xc3\xbc\xff", 5, &bad));
	ck_assert_uint_eq(bad, 4);
}
END_TEST

static void random_utf8(uint64_t *s, struct buf *b)
{
	unsigned n = rnd_below(s, 24);
	for (unsigned i = 0; i < n; i++)
		utf8_put(b, random_code_point(s));
}

START_TEST(test_mutf7_random_round_trips)
{
	uint64_t seed = 0x5eed1234abcdULL;
	for (int i = 0; i < 5000; i++) {
		struct buf u = BUF_INIT, m = BUF_INIT, back = BUF_INIT, err = BUF_INIT;
		random_utf8(&seed, &u);
		ck_assert_int_eq(mutf7_from_utf8(u.data, u.len, &m, &err), 0);
		for (size_t k = 0; k < m.len; k++)
			ck_assert(m.data[k] >= 0x20 && m.data[k] <= 0x7e);
		ck_assert_msg(mutf7_is_valid(m.data, m.len), "invalid: %s", m.data);
		ck_assert_int_eq(mutf7_to_utf8(m.data, m.len, &back, &err), 0);
		ck_assert_uint_eq(back.len, u.len);
		ck_assert_int_eq(memcmp(back.data, u.data, u.len), 0);
		buf_free(&u);
		buf_free(&m);
		buf_free(&back);
		buf_free(&err);
	}
}
END_TEST

/* An independent encoder: Python's UTF-16 codec and base64 module. */
static const char python_mutf7_script[] =
	"import sys, base64\n"
	"def run(s):\n"
	"    b = base64.b64encode(s.encode('utf-16-be')).decode()\n"
	"    return '&' + b.rstrip('=').replace('/', ',') + '-'\n"
	"for line in open(sys.argv[1]):\n"
	"    s = bytes.fromhex(line.strip()).decode('utf-8')\n"
	"    out, pend = [], ''\n"
	"    for ch in s:\n"
	"        if ' ' <= ch <= '~':\n"
	"            if pend: out.append(run(pend)); pend = ''\n"
	"            out.append('&-' if ch == '&' else ch)\n"
	"        else:\n"
	"            pend += ch\n"
	"    if pend: out.append(run(pend))\n"
	"    print(''.join(out))\n";

START_TEST(test_mutf7_matches_python_base64)
{
	if (!python_present())
		return;
	uint64_t seed = 0xfeedface1ULL;
	struct buf input = BUF_INIT, ours = BUF_INIT, theirs = BUF_INIT;
	for (int i = 0; i < 2000; i++) {
		struct buf u = BUF_INIT;
		random_utf8(&seed, &u);
		hex_line(&input, u.data, u.len);
		ck_assert_int_eq(mutf7_from_utf8(u.data, u.len, &ours, NULL), 0);
		buf_addch(&ours, '\n');
		buf_free(&u);
	}
	python_run(python_mutf7_script, &input, &theirs);
	assert_same_lines(&theirs, &ours);
	buf_free(&input);
	buf_free(&ours);
	buf_free(&theirs);
}
END_TEST

void check_text_add_mutf7(TCase *tc, TCase *python)
{
	tcase_add_test(tc, test_mutf7_known_pairs);
	tcase_add_test(tc, test_mutf7_appends_to_output);
	tcase_add_test(tc, test_mutf7_decode_rejects);
	tcase_add_test(tc, test_mutf7_encode_rejects_bad_utf8);
	tcase_add_test(tc, test_utf8_text_valid);
	tcase_add_test(tc, test_mutf7_random_round_trips);
	tcase_add_test(python, test_mutf7_matches_python_base64);
}
