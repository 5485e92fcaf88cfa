/* util.h: imaplib's small helpers (Int2AP, ParseFlags), imaplib's rule
 * that turns a caller's argument into command text (for the imaplib
 * emulation only: everything else sends strings by quote.h's RFC 3501
 * rule), and the clock that every timeout is measured with.
 *
 * Conventions: inputs are (pointer, length), not necessarily NUL-terminated,
 * and may hold any bytes.  Output is appended to the given buffer.  The only
 * failure is a rejected argument: -1 with a one-line reason appended to err
 * (when err is not NULL) and nothing appended to the command.
 */
#ifndef IMAPFS_UTIL_H
#define IMAPFS_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "quote.h"

struct buf;

/* imaplib.Int2AP: base 16 with the letters A-P, most significant first;
 * 0 gives "" as in imaplib. */
void imap_int2ap(unsigned long num, struct buf *out);

/* imaplib.ParseFlags: the regex `.*FLAGS \((?P<flags>[^\)]*)\)` matched at
 * the start (so '.' stops at the first LF and the last matching "FLAGS ("
 * wins, "PERMANENTFLAGS (" included), then bytes.split() on ASCII
 * whitespace.  Appends each flag followed by a NUL to flags_out and sets
 * *count.  Returns 1 when the regex matched (possibly 0 flags), 0 when it
 * did not (count 0), -1 when a flag would contain a NUL byte, which the
 * NUL-separated output cannot carry (nothing appended, count 0). */
int imap_parse_flags(const char *resp, size_t len, struct buf *flags_out, size_t *count);

/* No CR, LF or NUL: the argument cannot break out of its command line. */
bool imap_arg_is_safe(const char *arg, size_t len);

/* Appends " " and the argument by imaplib's rule (the emulation's only):
 *  - an argument with CR, LF or NUL is rejected (-1), never sent;
 *  - one already in parentheses "(...)" or double quotes "\"...\"" goes
 *    as is;
 *  - one that is empty or holds SP, '"', '\', '(', ')', '{', or a byte
 *    < 0x20 or >= 0x7f is quoted with imap_quote();
 *  - any other goes as is.
 * Returns 0 or -1. */
int imap_append_arg(struct buf *cmd, const char *arg, size_t len, struct buf *err);

/* Milliseconds on CLOCK_MONOTONIC (not wall time, so deadlines survive clock
 * changes); only differences between two readings mean anything. */
long long clock_ms(void);

#endif
