/* util.h: imaplib's rule that turns a caller's argument into command text
 * (for the imaplib emulation only: everything else sends strings by
 * quote.h's RFC 3501 rule).  imaplib's helpers are public: ParseFlags in
 * imaplib.h, Int2AP in tag.h, the dates in date.h.
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

#include "imaplib.h"
#include "quote.h"

struct buf;

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

#endif
