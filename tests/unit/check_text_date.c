/* check_text_date.c: INTERNALDATE both ways.  imap4 must answer exactly as
 * imaplib's Internaldate2tuple and Time2Internaldate do (CPython's own
 * vectors, and the real module on random inputs in several time zones),
 * while the strict parser the fs uses for file times must refuse what
 * RFC 3501 does not allow rather than guess a date. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "check_text_util.h"
#include "date.h"

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

void check_text_add_date(TCase *tc, TCase *python)
{
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
	tcase_add_test(python, test_internaldate2tuple_matches_imaplib);
	tcase_add_test(python, test_time2internaldate_matches_imaplib);
}
