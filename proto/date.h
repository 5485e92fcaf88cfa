/* date.h: IMAP INTERNALDATE values ("dd-Mon-yyyy hh:mm:ss +zzzz").
 *
 * Two families:
 *  - imaplib compatibility: imap_internaldate2tuple() and
 *    imap_time2internaldate*() behave exactly like Python 3.11 imaplib's
 *    Internaldate2tuple() and Time2Internaldate(), quirks included, so the
 *    imap4 tool prints what imaplib would;
 *  - imap_internaldate_parse(): the strict parser the filesystem uses for
 *    message times.
 *
 * Conventions: inputs are (pointer, length), not necessarily NUL-terminated.
 * Output text is appended to out, which is left untouched on failure.  Where
 * imaplib raises an exception these functions return -1.  Local time means
 * the zone in effect through TZ / tzset(), as time.localtime() sees it.
 * Times are computed in the proleptic Gregorian calendar without leap
 * seconds, like calendar.timegm().
 */
#ifndef IMAPFS_DATE_H
#define IMAPFS_DATE_H

#include <stddef.h>
#include <time.h>

struct buf;

/* Internaldate2tuple: finds `INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz"` as
 * imaplib's regex does (anywhere before the first LF; the last such match
 * wins, day " 7" allowed, no range checks on day or time fields).
 * Returns 1 with the moment in *utc_out and time.localtime() of it in
 * *local_out (either may be NULL); 0 when imaplib returns None (no match);
 * -1 where imaplib raises: unknown month name, year 0000. */
int imap_internaldate2tuple(const char *resp, size_t len, struct tm *local_out,
			    time_t *utc_out);

/* Time2Internaldate for an int/float argument: appends t in the local zone,
 * with the double quotes, e.g. "\"07-Jan-2021 10:11:12 +0100\"".  Like
 * imaplib the year is not zero-padded and an offset with seconds prints as
 * +hhmmss.  Returns 0, or -1 when imaplib raises (the date falls outside
 * years 1-9999). */
int imap_time2internaldate(time_t t, struct buf *out);

/* The same for an aware datetime at a fixed UTC offset (seconds east).
 * Returns -1 also when |gmtoff_seconds| >= 86400, as datetime.timezone
 * refuses such offsets. */
int imap_time2internaldate_tz(time_t t, long gmtoff_seconds, struct buf *out);

/* Strict parse of exactly "dd-Mon-yyyy hh:mm:ss +zzzz" (26 bytes, no quotes).
 * The day may be space-padded (" 7-Jan-..."); the month name is matched
 * case-insensitively as RFC 3501's grammar says.  Rejected: any other
 * length or layout, day not in the month, year 0000, hour > 23, minute > 59,
 * second > 60 (60 is a leap second and lands on the next minute), zone hours
 * > 23 or zone minutes > 59.  Returns 0 with the moment in *utc_out, or -1. */
int imap_internaldate_parse(const char *s, size_t len, time_t *utc_out);

#endif
