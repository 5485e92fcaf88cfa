/* date.c: INTERNALDATE parsing and formatting, imaplib-compatible and strict. */
#include "config.h"
#include "date.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

/* Length of "dd-Mon-yyyy hh:mm:ss +zzzz". */
#define DATE_TEXT_LEN 26

static const char date_month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

struct date_fields {
	int day, month, year;
	int hour, min, sec;
	int zone_sign, zone_hours, zone_min;
};

static bool date_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool date_all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!date_is_digit(p[i]))
			return false;
	return true;
}

static int date_number(const char *p, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p[i] == ' ' ? 0 : p[i] - '0');
	return v;
}

static char date_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* 1-12, or 0 when the name is not a month. */
static int date_month_number(const char *p, bool any_case)
{
	for (int m = 0; m < 12; m++) {
		const char *name = date_month_names[m];
		bool same = true;
		for (int i = 0; i < 3 && same; i++)
			same = any_case ? date_ascii_lower(p[i]) == date_ascii_lower(name[i])
					: p[i] == name[i];
		if (same)
			return m + 1;
	}
	return 0;
}

/* Every byte but the day and month: digits, separators and zone sign. */
static bool date_layout_ok(const char *q)
{
	return q[2] == '-' && q[6] == '-' && date_all_digits(q + 7, 4) &&
	       q[11] == ' ' && date_all_digits(q + 12, 2) && q[14] == ':' &&
	       date_all_digits(q + 15, 2) && q[17] == ':' && date_all_digits(q + 18, 2) &&
	       q[20] == ' ' && (q[21] == '+' || q[21] == '-') && date_all_digits(q + 22, 4);
}

/* The shape imaplib's InternalDate regex demands of the 26 bytes. */
static bool date_imaplib_shape(const char *q)
{
	return (q[0] == ' ' || (q[0] >= '0' && q[0] <= '3')) && date_is_digit(q[1]) &&
	       q[3] >= 'A' && q[3] <= 'Z' && q[4] >= 'a' && q[4] <= 'z' &&
	       q[5] >= 'a' && q[5] <= 'z' && date_layout_ok(q);
}

/* Numbers of a text already known to have the layout; month left at 0. */
static void date_split(const char *q, struct date_fields *f)
{
	f->day = date_number(q, 2);
	f->month = 0;
	f->year = date_number(q + 7, 4);
	f->hour = date_number(q + 12, 2);
	f->min = date_number(q + 15, 2);
	f->sec = date_number(q + 18, 2);
	f->zone_sign = q[21] == '-' ? -1 : 1;
	f->zone_hours = date_number(q + 22, 2);
	f->zone_min = date_number(q + 24, 2);
}

static bool date_is_leap(int64_t year)
{
	return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

static int date_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return days[month - 1] + (month == 2 && date_is_leap(year));
}

/* Days from 1970-01-01 to the first of the month, for years >= 1. */
static int64_t date_days_to_month(int year, int month)
{
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t y = year - 1;
	int64_t ordinal = y * 365 + y / 4 - y / 100 + y / 400 + before[month - 1] +
			  (month > 2 && date_is_leap(year));
	return ordinal - 719162; /* days from 0001-01-01 to 1970-01-01 */
}

/* calendar.timegm() minus the zone: fields out of range simply carry over. */
static time_t date_fields_to_utc(const struct date_fields *f)
{
	int64_t days = date_days_to_month(f->year, f->month) + f->day - 1;
	int64_t zone = f->zone_sign * ((int64_t)f->zone_hours * 3600 + f->zone_min * 60);
	return (time_t)(days * 86400 + f->hour * 3600 + f->min * 60 + f->sec - zone);
}

int imap_internaldate2tuple(const char *resp, size_t len, struct tm *local_out,
			    time_t *utc_out)
{
	static const char key[] = "INTERNALDATE \"";
	const size_t key_len = sizeof key - 1;
	const size_t need = key_len + DATE_TEXT_LEN + 1;

	if (len < need)
		return 0;
	/* imaplib matches `.*INTERNALDATE "...` from the start: '.' stops at
	 * LF, and the greedy '.*' makes the last matching place win. */
	const char *lf = memchr(resp, '\n', len);
	size_t pos = len - need;
	if (lf && (size_t)(lf - resp) < pos)
		pos = (size_t)(lf - resp);
	for (;; pos--) {
		const char *q = resp + pos + key_len;
		if (memcmp(resp + pos, key, key_len) == 0 && date_imaplib_shape(q) &&
		    q[DATE_TEXT_LEN] == '"')
			break;
		if (pos == 0)
			return 0;
	}

	const char *q = resp + pos + key_len;
	struct date_fields f;
	date_split(q, &f);
	f.month = date_month_number(q + 3, false);
	if (f.month == 0 || f.year == 0)
		return -1; /* imaplib: KeyError, or ValueError from datetime.date */
	time_t utc = date_fields_to_utc(&f);
	struct tm local;
	if (!localtime_r(&utc, &local))
		return -1;
	if (local_out)
		*local_out = local;
	if (utc_out)
		*utc_out = utc;
	return 1;
}

static bool date_year_in_range(const struct tm *tm)
{
	return tm->tm_year >= 1 - 1900 && tm->tm_year <= 9999 - 1900;
}

/* datetime.strftime('"%d-{Mon}-%Y %H:%M:%S %z"') as imaplib builds it. */
static void date_format(struct buf *out, const struct tm *tm, long gmtoff)
{
	long off = gmtoff < 0 ? -gmtoff : gmtoff;
	buf_addf(out, "\"%02d-%s-%d %02d:%02d:%02d %c%02ld%02ld", tm->tm_mday,
		 date_month_names[tm->tm_mon], tm->tm_year + 1900, tm->tm_hour, tm->tm_min,
		 tm->tm_sec, gmtoff < 0 ? '-' : '+', off / 3600, off / 60 % 60);
	if (off % 60)
		buf_addf(out, "%02ld", off % 60);
	buf_addch(out, '"');
}

int imap_time2internaldate(time_t t, struct buf *out)
{
	struct tm utc, local;
	if (!gmtime_r(&t, &utc) || !date_year_in_range(&utc))
		return -1;
	if (!localtime_r(&t, &local) || !date_year_in_range(&local))
		return -1;
	date_format(out, &local, local.tm_gmtoff);
	return 0;
}

int imap_time2internaldate_tz(time_t t, long gmtoff_seconds, struct buf *out)
{
	if (gmtoff_seconds <= -86400 || gmtoff_seconds >= 86400)
		return -1;
	struct tm utc, shifted;
	if (!gmtime_r(&t, &utc) || !date_year_in_range(&utc))
		return -1;
	/* t is within years 1-9999 here, so adding under a day cannot overflow. */
	time_t moved = t + gmtoff_seconds;
	if (!gmtime_r(&moved, &shifted) || !date_year_in_range(&shifted))
		return -1;
	date_format(out, &shifted, gmtoff_seconds);
	return 0;
}

int imap_internaldate_parse(const char *s, size_t len, time_t *utc_out)
{
	if (len != DATE_TEXT_LEN)
		return -1;
	bool day_ok = (s[0] == ' ' || (s[0] >= '0' && s[0] <= '3')) && date_is_digit(s[1]);
	if (!day_ok || !date_layout_ok(s))
		return -1;
	struct date_fields f;
	date_split(s, &f);
	f.month = date_month_number(s + 3, true);
	if (f.month == 0 || f.year == 0)
		return -1;
	if (f.day < 1 || f.day > date_days_in_month(f.year, f.month))
		return -1;
	if (f.hour > 23 || f.min > 59 || f.sec > 60 || f.zone_hours > 23 || f.zone_min > 59)
		return -1;
	*utc_out = date_fields_to_utc(&f);
	return 0;
}
