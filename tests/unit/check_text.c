/* check_text.c: the text helpers: modified UTF-7, INTERNALDATE, sequence sets, imaplib's
 * helpers and argument quoting, Python repr.
 *
 * Expected values are written by hand (from the RFCs and CPython's own
 * test_imaplib vectors) and, where a rule is large, compared with the real
 * /usr/bin/python3 (imaplib, repr, base64) on generated inputs. */
#include "config.h"
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "check_run.h"
#include "date.h"
#include "mutf7.h"
#include "pyrepr.h"
#include "quote.h"
#include "seqset.h"
#include "util.h"

#define PYTHON "/usr/bin/python3"

/* ---- helpers ---- */

/* xorshift64: a fixed seed per test keeps every run identical. */
static uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd_next(s) % n);
}

static void utf8_put(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addch(b, (char)(0xc0 | cp >> 6));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addch(b, (char)(0xe0 | cp >> 12));
		buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addch(b, (char)(0xf0 | cp >> 18));
		buf_addch(b, (char)(0x80 | (cp >> 12 & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	}
}

static void hex_line(struct buf *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%02x", s[i]);
	buf_addch(b, '\n');
}

static bool python_present(void)
{
	if (access(PYTHON, X_OK) == 0)
		return true;
	fprintf(stderr, "check_text: %s is missing; comparison with Python skipped\n", PYTHON);
	return false;
}

/* Runs `python3 -c script FILE` where FILE holds input; returns its stdout. */
static void python_run(const char *script, const struct buf *input, struct buf *out)
{
	const char *tmp = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/check_text.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path.data);
	ck_assert_msg(fd >= 0, "mkstemp %s", path.data);
	ck_assert_int_eq(write(fd, input->data, input->len), (ssize_t)input->len);
	close(fd);

	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(PYTHON, PYTHON, "-c", script, path.data, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	char chunk[65536];
	ssize_t n;
	while ((n = read(pipefd[0], chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	close(pipefd[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unlink(path.data);
	buf_free(&path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "python exited with status %d", status);
}

/* Line-by-line comparison so a failure names the first differing line. */
static void assert_same_lines(const struct buf *expected, const struct buf *got)
{
	const char *e = expected->data, *g = got->data;
	size_t line = 1;
	while (*e || *g) {
		size_t el = strcspn(e, "\n"), gl = strcspn(g, "\n");
		ck_assert_msg(el == gl && memcmp(e, g, el) == 0,
			      "line %zu: python says [%.*s], we say [%.*s]", line, (int)el, e,
			      (int)gl, g);
		e += el + (e[el] == '\n');
		g += gl + (g[gl] == '\n');
		line++;
	}
	ck_assert_uint_eq(expected->len, got->len);
}

static void set_tz(const char *tz)
{
	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

static bool have_zoneinfo(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
	if (access(path, R_OK) == 0)
		return true;
	fprintf(stderr, "check_text: no tzdata for %s; that case skipped\n", name);
	return false;
}

/* ---- mutf7 ---- */

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

static uint32_t random_code_point(uint64_t *s)
{
	switch (rnd_below(s, 7)) {
	case 0:
	case 1:
		return 0x20 + rnd_below(s, 0x5f);
	case 2:
		return '&';
	case 3:
		return rnd_below(s, 2) ? 0x7f : 1 + rnd_below(s, 0x1f);
	case 4:
		return 0x80 + rnd_below(s, 0x780);
	case 5: {
		uint32_t cp = 0x800 + rnd_below(s, 0xf800);
		return cp >= 0xd800 && cp <= 0xdfff ? cp + 0x800 : cp;
	}
	default:
		return 0x10000 + rnd_below(s, 0x100000);
	}
}

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

/* ---- date: imaplib's Internaldate2tuple ---- */

static int i2t(const char *resp, struct tm *tm, time_t *t)
{
	return imap_internaldate2tuple(resp, strlen(resp), tm, t);
}

START_TEST(test_internaldate2tuple_cpython_vectors)
{
	/* test_imaplib.test_Internaldate2tuple: all three are 2000-01-01 UTC */
	static const char *const resps[] = {
		"25 (INTERNALDATE \"01-Jan-2000 00:00:00 +0000\")",
		"25 (INTERNALDATE \"01-Jan-2000 11:30:00 +1130\")",
		"25 (INTERNALDATE \"31-Dec-1999 12:30:00 -1130\")",
	};
	set_tz("STD-1DST,M3.2.0,M11.1.0");
	for (size_t i = 0; i < 3; i++) {
		struct tm tm;
		time_t t;
		ck_assert_int_eq(i2t(resps[i], &tm, &t), 1);
		ck_assert_int_eq(t, 946684800);
		ck_assert_int_eq(mktime(&tm), 946684800); /* what the CPython test checks */
		ck_assert_int_eq(tm.tm_hour, 1);          /* STD is UTC+1 */
	}
	set_tz("UTC");
	struct tm tm;
	ck_assert_int_eq(i2t(resps[2], &tm, NULL), 1);
	ck_assert_int_eq(tm.tm_year, 100);
	ck_assert_int_eq(tm.tm_mon, 0);
	ck_assert_int_eq(tm.tm_mday, 1);
	ck_assert_int_eq(tm.tm_hour + tm.tm_min + tm.tm_sec, 0);
}
END_TEST

START_TEST(test_internaldate2tuple_issue10941)
{
	/* CPython issue 10941: both moments fall just before the US switch to
	 * DST, in MST (UTC-7), and must stay an hour apart. */
	set_tz("MST+07MDT,M4.1.0,M10.5.0");
	struct tm a, b;
	time_t ta, tb;
	ck_assert_int_eq(i2t("25 (INTERNALDATE \"02-Apr-2000 02:30:00 +0000\")", &a, &ta), 1);
	ck_assert_int_eq(i2t("25 (INTERNALDATE \"02-Apr-2000 03:30:00 +0000\")", &b, &tb), 1);
	ck_assert_int_eq(tb - ta, 3600);
	ck_assert_int_eq(a.tm_mday, 1);
	ck_assert_int_eq(a.tm_hour, 19);
	ck_assert_int_eq(b.tm_hour, 20);
	ck_assert_int_eq(a.tm_isdst, 0);
}
END_TEST

START_TEST(test_internaldate2tuple_berlin)
{
	if (!have_zoneinfo("Europe/Berlin"))
		return;
	set_tz("Europe/Berlin");
	struct tm tm;
	time_t t;
	ck_assert_int_eq(i2t("* 3 FETCH (INTERNALDATE \"07-Jan-2021 10:11:12 +0100\")", &tm, &t), 1);
	ck_assert_int_eq(t, 1610010672);
	ck_assert_int_eq(tm.tm_hour, 10);
	ck_assert_int_eq(tm.tm_gmtoff, 3600);
	ck_assert_int_eq(tm.tm_isdst, 0);
	ck_assert_int_eq(i2t("INTERNALDATE \"01-Jul-2021 12:00:00 +0000\"", &tm, &t), 1);
	ck_assert_int_eq(t, 1625140800);
	ck_assert_int_eq(tm.tm_hour, 14);
	ck_assert_int_eq(tm.tm_isdst, 1);
}
END_TEST

START_TEST(test_internaldate2tuple_shapes)
{
	struct tm tm;
	time_t t, t07;
	set_tz("UTC");
	ck_assert_int_eq(i2t("1 (INTERNALDATE \"07-Jan-2021 10:11:12 +0100\")", NULL, &t07), 1);
	ck_assert_int_eq(t07, 1610010672);
	/* space-padded day */
	ck_assert_int_eq(i2t("1 (INTERNALDATE \" 7-Jan-2021 10:11:12 +0100\")", &tm, &t), 1);
	ck_assert_int_eq(t, t07);
	ck_assert_int_eq(tm.tm_mday, 7);
	ck_assert_int_eq(tm.tm_hour, 9);
	/* negative offsets */
	ck_assert_int_eq(i2t("INTERNALDATE \"06-Jan-2021 23:41:12 -0930\"", NULL, &t), 1);
	ck_assert_int_eq(t, t07);
	ck_assert_int_eq(i2t("INTERNALDATE \"07-Jan-2021 04:11:12 -0500\"", NULL, &t), 1);
	ck_assert_int_eq(t, t07);
	/* imaplib does no range checks: fields carry over (day 00, 99:99:99) */
	ck_assert_int_eq(i2t("INTERNALDATE \"00-Jan-2000 99:99:99 +9999\"", &tm, &t), 1);
	ck_assert_int_eq(t, 946598499);
	ck_assert_int_eq(tm.tm_mday, 31);
	ck_assert_int_eq(tm.tm_min, 1);
	ck_assert_int_eq(tm.tm_sec, 39);
	/* CR and other bytes before it are fine; only LF stops '.*' */
	ck_assert_int_eq(i2t("x\r\ty INTERNALDATE \"07-Jan-2021 10:11:12 +0100\"", NULL, &t), 1);
	ck_assert_int_eq(imap_internaldate2tuple("a\0INTERNALDATE \"07-Jan-2021 10:11:12 +0100\"",
						 43, NULL, &t), 1);
	ck_assert_int_eq(t, t07);
	ck_assert_int_eq(i2t("INTERNALDATE \"07-Jan-2021 10:11:12 +0100\"\nrest", NULL, &t), 1);
}
END_TEST

START_TEST(test_internaldate2tuple_none_and_raise)
{
	set_tz("UTC");
	static const char *const none[] = {
		"",
		"* 1 FETCH (UID 5)",
		"INTERNALDATE \"07-Jan-2021 10:11:12 +0100",       /* missing closing quote */
		"1 (INTERNALDATE \"07-Jan-2021 10:11:12 +0100)",
		"1 (INTERNALDATE \"07-Jan-2021 10:11:12 +0100 UID 4)",
		"INTERNALDATE 07-Jan-2021 10:11:12 +0100\"",       /* missing opening quote */
		"INTERNALDATE \"7-Jan-2021 10:11:12 +0100\"",      /* one-digit day */
		"INTERNALDATE \"47-Jan-2021 10:11:12 +0100\"",     /* day's first digit > 3 */
		"INTERNALDATE \"07-jan-2021 10:11:12 +0100\"",     /* regex wants [A-Z][a-z][a-z] */
		"INTERNALDATE \"07-JAN-2021 10:11:12 +0100\"",
		"INTERNALDATE \"07-Jan-21 10:11:12 +0100\"",
		"INTERNALDATE \"07-Jan-2021 10:11:12 0100\"",
		"INTERNALDATE \"07-Jan-2021 10:11 +0100\"",
		"INTERNALDATE \"07-Jan-2021  10:11:12 +0100\"",
		"internaldate \"07-Jan-2021 10:11:12 +0100\"",
		"\nINTERNALDATE \"07-Jan-2021 10:11:12 +0100\"",  /* '.' does not match LF */
		"* 1 FETCH\n(INTERNALDATE \"07-Jan-2021 10:11:12 +0100\")",
	};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		ck_assert_msg(i2t(none[i], NULL, NULL) == 0, "matched: %s", none[i]);
	/* KeyError for a month name of the right shape; ValueError for year 0 */
	ck_assert_int_eq(i2t("INTERNALDATE \"07-Foo-2021 10:11:12 +0100\"", NULL, NULL), -1);
	ck_assert_int_eq(i2t("INTERNALDATE \"07-Jan-0000 10:11:12 +0100\"", NULL, NULL), -1);
}
END_TEST

START_TEST(test_internaldate2tuple_greedy)
{
	time_t t;
	set_tz("UTC");
	/* the last match wins */
	ck_assert_int_eq(i2t("INTERNALDATE \"01-Jan-2000 00:00:00 +0000\" "
			     "INTERNALDATE \"07-Jan-2021 10:11:12 +0100\"", NULL, &t), 1);
	ck_assert_int_eq(t, 1610010672);
	/* ... even when its month is unknown: imaplib raises */
	ck_assert_int_eq(i2t("INTERNALDATE \"01-Jan-2000 00:00:00 +0000\" "
			     "INTERNALDATE \"07-Foo-2021 10:11:12 +0100\"", NULL, &t), -1);
	/* a later one that does not match the regex is passed over */
	ck_assert_int_eq(i2t("INTERNALDATE \"01-Jan-2000 00:00:00 +0000\" "
			     "INTERNALDATE \"07-jan-2021 10:11:12 +0100\"", NULL, &t), 1);
	ck_assert_int_eq(t, 946684800);
	/* and one after a LF is out of reach */
	ck_assert_int_eq(i2t("INTERNALDATE \"01-Jan-2000 00:00:00 +0000\"\n"
			     "INTERNALDATE \"07-Jan-2021 10:11:12 +0100\"", NULL, &t), 1);
	ck_assert_int_eq(t, 946684800);
}
END_TEST

/* Prints what imaplib makes of each hex-encoded response. */
static const char python_i2t_script[] =
	"import sys, imaplib\n"
	"for line in open(sys.argv[1]):\n"
	"    try:\n"
	"        tt = imaplib.Internaldate2tuple(bytes.fromhex(line.strip()))\n"
	"    except Exception:\n"
	"        print('raise'); continue\n"
	"    print('None' if tt is None else ' '.join(str(x) for x in tuple(tt) + (tt.tm_gmtoff,)))\n";

static void i2t_describe(const char *resp, size_t len, struct buf *out)
{
	struct tm tm;
	int r = imap_internaldate2tuple(resp, len, &tm, NULL);
	if (r < 0) {
		buf_addstr(out, "raise\n");
	} else if (r == 0) {
		buf_addstr(out, "None\n");
	} else {
		/* struct_time: weekday Monday=0, yday 1-based */
		buf_addf(out, "%d %d %d %d %d %d %d %d %d %ld\n", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (tm.tm_wday + 6) % 7,
			 tm.tm_yday + 1, tm.tm_isdst, tm.tm_gmtoff);
	}
}

static void random_internaldate(uint64_t *s, struct buf *b)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
					      "Foo", "jan", "MAY" };
	static const char *const prefixes[] = { "* 1 FETCH (INTERNALDATE \"", "INTERNALDATE \"",
						"x\nINTERNALDATE \"", "INTERNALDATE  \"",
						"(UID 4 INTERNALDATE \"" };
	buf_addstr(b, prefixes[rnd_below(s, 5)]);
	unsigned d = rnd_below(s, 40);
	if (rnd_below(s, 4) == 0 && d < 10)
		buf_addf(b, " %u", d);
	else
		buf_addf(b, "%02u", d);
	buf_addf(b, "-%s-%04u %02u:%02u:%02u %c%02u%02u", months[rnd_below(s, 15)],
		 rnd_below(s, 20) ? 1900 + rnd_below(s, 200) : rnd_below(s, 10000),
		 rnd_below(s, 100), rnd_below(s, 100), rnd_below(s, 100),
		 rnd_below(s, 2) ? '+' : '-', rnd_below(s, 100), rnd_below(s, 100));
	switch (rnd_below(s, 6)) {
	case 0:
		buf_addstr(b, rnd_below(s, 2) ? ")" : ""); /* no closing quote */
		break;
	case 1:
		buf_addstr(b, "\" INTERNALDATE \"03-Mar-2003 03:03:03 +0300\")");
		break;
	default:
		buf_addstr(b, "\")");
	}
}

START_TEST(test_internaldate2tuple_matches_imaplib)
{
	static const char *const zones[] = { "UTC", "STD-1DST,M3.2.0,M11.1.0",
					     "MST+07MDT,M4.1.0,M10.5.0", "Europe/Berlin",
					     "America/St_Johns" };
	if (!python_present())
		return;
	uint64_t seed = 0x1234567ULL;
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		if (strchr(zones[z], '/') && !have_zoneinfo(zones[z]))
			continue;
		set_tz(zones[z]);
		struct buf input = BUF_INIT, ours = BUF_INIT, theirs = BUF_INIT;
		for (int i = 0; i < 600; i++) {
			struct buf r = BUF_INIT;
			random_internaldate(&seed, &r);
			hex_line(&input, r.data, r.len);
			i2t_describe(r.data, r.len, &ours);
			buf_free(&r);
		}
		python_run(python_i2t_script, &input, &theirs);
		assert_same_lines(&theirs, &ours);
		buf_free(&input);
		buf_free(&ours);
		buf_free(&theirs);
	}
}
END_TEST

/* ---- date: imaplib's Time2Internaldate ---- */

static void assert_t2i_tz(time_t t, long off, const char *expected)
{
	struct buf out = BUF_INIT;
	ck_assert_int_eq(imap_time2internaldate_tz(t, off, &out), 0);
	ck_assert_str_eq(out.data, expected);
	buf_free(&out);
}

static void assert_t2i_local(time_t t, const char *expected)
{
	struct buf out = BUF_INIT;
	ck_assert_int_eq(imap_time2internaldate(t, &out), 0);
	ck_assert_str_eq(out.data, expected);
	buf_free(&out);
}

START_TEST(test_time2internaldate_cpython_vector)
{
	/* test_imaplib.test_Time2Internaldate */
	set_tz("STD-1DST,M3.2.0,M11.1.0");
	assert_t2i_local(2000000000, "\"18-May-2033 05:33:20 +0200\"");
	assert_t2i_tz(2000000000, 7200, "\"18-May-2033 05:33:20 +0200\"");
	assert_t2i_local(946684800, "\"01-Jan-2000 01:00:00 +0100\"");
}
END_TEST

START_TEST(test_time2internaldate_offsets)
{
	set_tz("UTC");
	assert_t2i_local(0, "\"01-Jan-1970 00:00:00 +0000\"");
	assert_t2i_tz(0, 0, "\"01-Jan-1970 00:00:00 +0000\"");
	assert_t2i_tz(0, -5 * 3600, "\"31-Dec-1969 19:00:00 -0500\"");
	assert_t2i_tz(0, -(5 * 3600 + 30 * 60), "\"31-Dec-1969 18:30:00 -0530\"");
	assert_t2i_tz(1610010672, 3600, "\"07-Jan-2021 10:11:12 +0100\"");
	assert_t2i_tz(1610010672, 13 * 3600 + 45 * 60, "\"07-Jan-2021 22:56:12 +1345\"");
	/* offsets with seconds print as %z does: +hhmmss */
	assert_t2i_tz(0, 1172, "\"01-Jan-1970 00:19:32 +001932\"");
	assert_t2i_tz(0, -1172, "\"31-Dec-1969 23:40:28 -001932\"");
	assert_t2i_tz(0, 86399, "\"01-Jan-1970 23:59:59 +235959\"");
	/* the year is not zero-padded, as glibc's %Y */
	assert_t2i_tz(-62135596800, 0, "\"01-Jan-1 00:00:00 +0000\"");
	assert_t2i_tz(-30610224000, 0, "\"01-Jan-1000 00:00:00 +0000\"");
	assert_t2i_tz(-30641760000, 0, "\"01-Jan-999 00:00:00 +0000\"");
	assert_t2i_tz(253402300799, 0, "\"31-Dec-9999 23:59:59 +0000\"");
}
END_TEST

START_TEST(test_time2internaldate_raises)
{
	struct buf out = BUF_INIT;
	buf_addstr(&out, "keep");
	set_tz("UTC");
	ck_assert_int_eq(imap_time2internaldate_tz(0, 86400, &out), -1);
	ck_assert_int_eq(imap_time2internaldate_tz(0, -86400, &out), -1);
	ck_assert_int_eq(imap_time2internaldate_tz(-62135596801, 0, &out), -1);
	ck_assert_int_eq(imap_time2internaldate_tz(-62135596800, -1, &out), -1);
	ck_assert_int_eq(imap_time2internaldate_tz(253402300800, 0, &out), -1);
	ck_assert_int_eq(imap_time2internaldate_tz(253402300799, 3600, &out), -1);
	ck_assert_int_eq(imap_time2internaldate(253402300800, &out), -1);
	ck_assert_int_eq(imap_time2internaldate(-62135596801, &out), -1);
	ck_assert_str_eq(out.data, "keep");
	buf_free(&out);
}
END_TEST

START_TEST(test_time2internaldate_berlin)
{
	if (!have_zoneinfo("Europe/Berlin"))
		return;
	set_tz("Europe/Berlin");
	assert_t2i_local(1610010672, "\"07-Jan-2021 10:11:12 +0100\"");
	assert_t2i_local(1625140800, "\"01-Jul-2021 14:00:00 +0200\"");
}
END_TEST

static const char python_t2i_script[] =
	"import sys, imaplib\n"
	"from datetime import datetime, timezone, timedelta\n"
	"for line in open(sys.argv[1]):\n"
	"    t, off = (int(x) for x in line.split())\n"
	"    out = []\n"
	"    for aware in (False, True):\n"
	"        try:\n"
	"            arg = datetime.fromtimestamp(t, timezone(timedelta(seconds=off))) if aware else t\n"
	"            out.append(imaplib.Time2Internaldate(arg))\n"
	"        except Exception:\n"
	"            out.append('raise')\n"
	"    print(' '.join(out))\n";

START_TEST(test_time2internaldate_matches_imaplib)
{
	static const char *const zones[] = { "UTC", "MST+07MDT,M4.1.0,M10.5.0",
					     "Europe/Amsterdam", "Asia/Kolkata" };
	if (!python_present())
		return;
	uint64_t seed = 0xabcdef987ULL;
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		if (strchr(zones[z], '/') && !have_zoneinfo(zones[z]))
			continue;
		set_tz(zones[z]);
		struct buf input = BUF_INIT, ours = BUF_INIT, theirs = BUF_INIT;
		for (int i = 0; i < 500; i++) {
			/* up to +-5000 years around 1970 reaches both ends of 1-9999;
			 * offsets in minutes, sometimes with seconds */
			int64_t span = (int64_t)5000 * 366 * 86400;
			time_t t = (time_t)((int64_t)(rnd_next(&seed) % (uint64_t)(2 * span)) - span);
			long off = ((long)rnd_below(&seed, 2 * 24 * 60) - 24 * 60) * 60;
			if (rnd_below(&seed, 8) == 0)
				off += (long)rnd_below(&seed, 60);
			buf_addf(&input, "%lld %ld\n", (long long)t, off);
			struct buf a = BUF_INIT, b = BUF_INIT;
			if (imap_time2internaldate(t, &a) < 0)
				buf_set(&a, "raise", 5);
			if (imap_time2internaldate_tz(t, off, &b) < 0)
				buf_set(&b, "raise", 5);
			buf_addf(&ours, "%s %s\n", a.data, b.data);
			buf_free(&a);
			buf_free(&b);
		}
		python_run(python_t2i_script, &input, &theirs);
		assert_same_lines(&theirs, &ours);
		buf_free(&input);
		buf_free(&ours);
		buf_free(&theirs);
	}
}
END_TEST

/* ---- date: strict INTERNALDATE parsing ---- */

static int parse(const char *s, time_t *t)
{
	return imap_internaldate_parse(s, strlen(s), t);
}

START_TEST(test_internaldate_parse_accepts)
{
	time_t t;
	ck_assert_int_eq(parse("07-Jan-2021 10:11:12 +0100", &t), 0);
	ck_assert_int_eq(t, 1610010672);
	ck_assert_int_eq(parse(" 7-Jan-2021 10:11:12 +0100", &t), 0);
	ck_assert_int_eq(t, 1610010672);
	ck_assert_int_eq(parse("07-jan-2021 10:11:12 +0100", &t), 0);
	ck_assert_int_eq(t, 1610010672);
	ck_assert_int_eq(parse("07-JAN-2021 04:11:12 -0500", &t), 0);
	ck_assert_int_eq(t, 1610010672);
	ck_assert_int_eq(parse("01-Jan-1970 00:00:00 +0000", &t), 0);
	ck_assert_int_eq(t, 0);
	ck_assert_int_eq(parse("31-Dec-1969 23:59:59 +0000", &t), 0);
	ck_assert_int_eq(t, -1);
	ck_assert_int_eq(parse("29-Feb-2024 12:00:00 +0000", &t), 0);
	ck_assert_int_eq(t, 1709208000);
	ck_assert_int_eq(parse("29-Feb-2000 00:00:00 +0000", &t), 0);
	ck_assert_int_eq(t, 951782400);
	ck_assert_int_eq(parse("31-Dec-1999 12:30:00 -1130", &t), 0);
	ck_assert_int_eq(t, 946684800);
	ck_assert_int_eq(parse("31-Dec-2016 23:59:60 +0000", &t), 0); /* leap second */
	ck_assert_int_eq(t, 1483228800);
	ck_assert_int_eq(parse("01-Jan-0001 00:00:00 +0000", &t), 0);
	ck_assert_int_eq(t, -62135596800);
	ck_assert_int_eq(parse("31-Dec-9999 23:59:59 +0000", &t), 0);
	ck_assert_int_eq(t, 253402300799);
}
END_TEST

START_TEST(test_internaldate_parse_rejects)
{
	static const char *const bad[] = {
		"",
		"7-Jan-2021 10:11:12 +0100",
		"\"07-Jan-2021 10:11:12 +0100\"",
		"07-Jan-2021 10:11:12 +0100 ",
		" 07-Jan-2021 10:11:12 +0100",
		"07 Jan 2021 10:11:12 +0100",
		"07/Jan/2021 10:11:12 +0100",
		"07-Jan-2021T10:11:12 +0100",
		"07-Jan-2021 10:11:12 0100 ",
		"07-Jan-2021 10:11:12 *0100",
		"07-Jan-2021 10-11-12 +0100",
		"07-Jan-2021 10:11:12 +01:0",
		"07-Jan-2O21 10:11:12 +0100",
		"0x-Jan-2021 10:11:12 +0100",
		"x7-Jan-2021 10:11:12 +0100",
		"7 -Jan-2021 10:11:12 +0100",
		"07-Foo-2021 10:11:12 +0100",
		"07-Ja -2021 10:11:12 +0100",
		"00-Jan-2021 10:11:12 +0100",
		" 0-Jan-2021 10:11:12 +0100",
		"32-Jan-2021 10:11:12 +0100",
		"31-Apr-2021 10:11:12 +0100",
		"29-Feb-2021 10:11:12 +0100",
		"29-Feb-1900 10:11:12 +0100",
		"07-Jan-0000 10:11:12 +0100",
		"07-Jan-2021 24:00:00 +0100",
		"07-Jan-2021 10:60:12 +0100",
		"07-Jan-2021 10:11:61 +0100",
		"07-Jan-2021 10:11:12 +2400",
		"07-Jan-2021 10:11:12 +0160",
		"07-Jan-2021 10:11:12 -9999",
		"07-Jan-2021 10:11:12 +01000",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		time_t t = 42;
		ck_assert_msg(parse(bad[i], &t) == -1, "accepted [%s]", bad[i]);
		ck_assert_int_eq(t, 42);
	}
	time_t t;
	ck_assert_int_eq(imap_internaldate_parse("07-Jan-2021 10:11:12 +0100\0", 27, &t), -1);
	ck_assert_int_eq(imap_internaldate_parse("07-Jan-2021\0" "10:11:12 +0100", 26, &t), -1);
}
END_TEST

START_TEST(test_internaldate_parse_round_trip)
{
	uint64_t seed = 77;
	for (int i = 0; i < 3000; i++) {
		/* years 1001-9998, where the year has four digits as the grammar wants */
		int64_t first = -30578688000, last = 253370764800;
		time_t t = (time_t)(first + (int64_t)(rnd_next(&seed) % (uint64_t)(last - first)));
		long off = ((long)rnd_below(&seed, 2 * 24 * 60 - 1) - (24 * 60 - 1)) * 60;
		struct buf out = BUF_INIT;
		ck_assert_int_eq(imap_time2internaldate_tz(t, off, &out), 0);
		ck_assert_uint_eq(out.len, 28);
		time_t back;
		ck_assert_msg(imap_internaldate_parse(out.data + 1, 26, &back) == 0, "rejected %s",
			      out.data);
		ck_assert_int_eq(back, t);
		buf_free(&out);
	}
}
END_TEST

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

/* ---- sequence sets ---- */

/* The ranges of a set as "lo-hi lo-hi ..." (the parse's own order). */
static void seqset_ranges(const struct seqset *set, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < set->n && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%u-%u", i ? " " : "",
					 set->r[i].lo, set->r[i].hi);
}

START_TEST(test_seqset_parse_accepts)
{
	static const struct {
		const char *text;
		uint32_t star;
		const char *ranges;
	} v[] = {
		{ "7", 0, "7-7" },
		{ "1:3,7,9:12", 0, "1-3 7-7 9-12" },
		{ "12:9", 0, "9-12" },                      /* a:b in either order */
		{ "4294967295", 0, "4294967295-4294967295" },
		{ "5:*", 20, "5-20" },
		{ "*:5", 20, "5-20" },
		{ "*", 3, "3-3" },
		{ "1,1,1", 0, "1-1 1-1 1-1" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct seqset set = SEQSET_INIT;
		char got[128];
		ck_assert_int_eq(seqset_parse(&set, v[i].text, strlen(v[i].text), v[i].star), 0);
		seqset_ranges(&set, got, sizeof got);
		ck_assert_str_eq(got, v[i].ranges);
		seqset_free(&set);
		ck_assert_ptr_null(set.r);
		ck_assert_uint_eq(set.n, 0);
	}
}
END_TEST

/* A fault stops the parse; what came before it stays. */
START_TEST(test_seqset_parse_rejects)
{
	static const struct {
		const char *text;
		uint32_t star;
		const char *kept;
	} v[] = {
		{ "", 0, "" },
		{ "0", 0, "" },
		{ "4294967296", 0, "" },
		{ "99999999999999999999", 0, "" },
		{ "*", 0, "" },                 /* '*' where a server must name UIDs */
		{ "1:*", 0, "" },
		{ "1:", 0, "" },
		{ ":1", 0, "" },
		{ "1,", 0, "1-1" },
		{ ",1", 0, "" },
		{ "1,,2", 0, "1-1" },
		{ "1:3,x,9", 0, "1-3" },
		{ "+5", 0, "" },
		{ " 5", 0, "" },
		{ "5 ", 0, "5-5" },
		{ "1:2:3", 0, "1-2" },
		{ "3,0:4", 0, "3-3" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct seqset set = SEQSET_INIT;
		char got[128];
		ck_assert_msg(seqset_parse(&set, v[i].text, strlen(v[i].text), v[i].star) == -1,
			      "accepted \"%s\"", v[i].text);
		seqset_ranges(&set, got, sizeof got);
		ck_assert_str_eq(got, v[i].kept);
		seqset_free(&set);
	}
}
END_TEST

/* The length bounds the parse: no reading past it for a digit. */
START_TEST(test_seqset_parse_stops_at_len)
{
	struct seqset set = SEQSET_INIT;
	char got[64];
	ck_assert_int_eq(seqset_parse(&set, "12:345", 4, 0), 0);
	seqset_ranges(&set, got, sizeof got);
	ck_assert_str_eq(got, "3-12");
	/* parses add up */
	ck_assert_int_eq(seqset_parse(&set, "9", 1, 0), 0);
	seqset_ranges(&set, got, sizeof got);
	ck_assert_str_eq(got, "3-12 9-9");
	seqset_free(&set);
}
END_TEST

START_TEST(test_seqset_single)
{
	struct seqset set = SEQSET_INIT;
	uint32_t v = 0;
	ck_assert(!seqset_single(&set, &v));
	ck_assert_int_eq(seqset_parse(&set, "42", 2, 0), 0);
	ck_assert(seqset_single(&set, &v));
	ck_assert_uint_eq(v, 42);
	seqset_free(&set);
	ck_assert_int_eq(seqset_parse(&set, "42:43", 5, 0), 0);
	ck_assert(!seqset_single(&set, &v));
	seqset_free(&set);
	ck_assert_int_eq(seqset_parse(&set, "42,42", 5, 0), 0);
	ck_assert(!seqset_single(&set, &v));
	seqset_free(&set);
}
END_TEST

START_TEST(test_seqset_build)
{
	static const uint32_t a[] = { 1, 2, 3, 5, 7, 8, 4294967294u, 4294967295u };
	struct buf out = BUF_INIT;
	seqset_build(a, sizeof a / sizeof a[0], &out);
	ck_assert_str_eq(out.data, "1:3,5,7:8,4294967294:4294967295");
	buf_reset(&out);
	seqset_build(a + 3, 1, &out);
	ck_assert_str_eq(out.data, "5");
	/* a second call adds to what is there */
	seqset_build(a, 2, &out);
	ck_assert_str_eq(out.data, "5,1:2");
	buf_reset(&out);
	seqset_build(a, 0, &out);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&out);
}
END_TEST

/* What seqset_build writes, seqset_parse reads back as the same UIDs. */
START_TEST(test_seqset_round_trip)
{
	uint64_t rng = 0x5e95e7;
	for (int round = 0; round < 200; round++) {
		uint32_t uids[64];
		size_t n = 1 + rnd_below(&rng, 64);
		uint32_t u = 1 + rnd_below(&rng, 5);
		for (size_t i = 0; i < n; i++) {
			uids[i] = u;
			u += 1 + (rnd_below(&rng, 3) ? 0 : rnd_below(&rng, 1000));
		}
		struct buf text = BUF_INIT;
		seqset_build(uids, n, &text);
		struct seqset set = SEQSET_INIT;
		ck_assert_int_eq(seqset_parse(&set, text.data, text.len, 0), 0);
		size_t k = 0;
		for (size_t i = 0; i < set.n; i++)
			for (uint64_t x = set.r[i].lo; x <= set.r[i].hi; x++) {
				ck_assert_uint_lt(k, n);
				ck_assert_uint_eq(x, uids[k++]);
			}
		ck_assert_uint_eq(k, n);
		seqset_free(&set);
		buf_free(&text);
	}
}
END_TEST

static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc;

	tc = tcase_create("mutf7");
	tcase_add_test(tc, test_mutf7_known_pairs);
	tcase_add_test(tc, test_mutf7_appends_to_output);
	tcase_add_test(tc, test_mutf7_decode_rejects);
	tcase_add_test(tc, test_mutf7_encode_rejects_bad_utf8);
	tcase_add_test(tc, test_mutf7_random_round_trips);
	suite_add_tcase(s, tc);

	tc = tcase_create("date");
	tcase_add_test(tc, test_internaldate2tuple_cpython_vectors);
	tcase_add_test(tc, test_internaldate2tuple_issue10941);
	tcase_add_test(tc, test_internaldate2tuple_berlin);
	tcase_add_test(tc, test_internaldate2tuple_shapes);
	tcase_add_test(tc, test_internaldate2tuple_none_and_raise);
	tcase_add_test(tc, test_internaldate2tuple_greedy);
	tcase_add_test(tc, test_time2internaldate_cpython_vector);
	tcase_add_test(tc, test_time2internaldate_offsets);
	tcase_add_test(tc, test_time2internaldate_raises);
	tcase_add_test(tc, test_time2internaldate_berlin);
	tcase_add_test(tc, test_internaldate_parse_accepts);
	tcase_add_test(tc, test_internaldate_parse_rejects);
	tcase_add_test(tc, test_internaldate_parse_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("util");
	tcase_add_test(tc, test_int2ap);
	tcase_add_test(tc, test_parse_flags);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_astring_form);
	tcase_add_test(tc, test_append_arg_rule);
	tcase_add_test(tc, test_append_arg_rejects_injection);
	suite_add_tcase(s, tc);

	tc = tcase_create("seqset");
	tcase_add_test(tc, test_seqset_parse_accepts);
	tcase_add_test(tc, test_seqset_parse_rejects);
	tcase_add_test(tc, test_seqset_parse_stops_at_len);
	tcase_add_test(tc, test_seqset_single);
	tcase_add_test(tc, test_seqset_build);
	tcase_add_test(tc, test_seqset_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("pyrepr");
	tcase_add_test(tc, test_pyrepr_known);
	tcase_add_test(tc, test_pyrepr_containers);
	suite_add_tcase(s, tc);

	/* Comparisons with the real interpreter: larger, so a longer timeout
	 * (Check's default is 4 s, too short under valgrind). */
	tc = tcase_create("python");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_mutf7_matches_python_base64);
	tcase_add_test(tc, test_internaldate2tuple_matches_imaplib);
	tcase_add_test(tc, test_time2internaldate_matches_imaplib);
	tcase_add_test(tc, test_parse_flags_matches_imaplib);
	tcase_add_test(tc, test_pyrepr_bytes_matches_python);
	tcase_add_test(tc, test_pyrepr_str_matches_python);
	tcase_add_test(tc, test_pyrepr_every_code_point_matches_python);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int failed = check_run_suite(text_suite());
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
