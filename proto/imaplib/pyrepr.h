/* pyrepr.h: text exactly as Python 3.11's repr() prints it, so the imap4
 * tool's output matches what imaplib users see.
 *
 * Every function appends to out and cannot fail.  Containers are built with
 * a small struct pyrepr_seq on the caller's stack: open, then pyrepr_sep()
 * before each item, then pyrepr_close(); it gets "()", "[]" and the 1-tuple
 * trailing comma "(x,)" right.
 */
#ifndef IMAPFS_PYREPR_H
#define IMAPFS_PYREPR_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* b'...' as CPython prints a bytes object. */
void pyrepr_bytes(struct buf *out, const void *p, size_t n);

/* '...' as CPython prints a str.  The input is UTF-8; printable non-ASCII
 * characters stay as they are (Unicode 14.0, Python 3.11's database),
 * others become \xNN, \uNNNN or \UNNNNNNNN.  Bytes that are not valid UTF-8
 * are shown as Python shows a str decoded with errors='surrogateescape':
 * one \udcNN per byte. */
void pyrepr_str(struct buf *out, const char *s, size_t n);

void pyrepr_none(struct buf *out);
void pyrepr_bool(struct buf *out, bool v);
void pyrepr_int(struct buf *out, long long v);
void pyrepr_uint(struct buf *out, unsigned long long v);

struct pyrepr_seq {
	size_t items;
	bool tuple;
};

void pyrepr_open_tuple(struct buf *out, struct pyrepr_seq *seq);
void pyrepr_open_list(struct buf *out, struct pyrepr_seq *seq);
void pyrepr_sep(struct buf *out, struct pyrepr_seq *seq);   /* before every item */
void pyrepr_close(struct buf *out, struct pyrepr_seq *seq);

#endif
