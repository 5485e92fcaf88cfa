/* quote.h: how a string goes on the wire as an RFC 3501 astring, decided
 * by its bytes alone (never by how it looks: a name that starts and ends
 * with '"' or '(' is quoted like any other).
 *
 *  - an atom when every byte is an ATOM-CHAR (7-bit, no control byte,
 *    space, '(', ')', '{', '%', '*', '"', '\' or ']') and it is not NIL
 *    (which some servers read as nil);
 *  - otherwise a quoted string, '\' and '"' escaped, when every byte is
 *    7-bit and none is CR, LF or NUL, and it is not longer than
 *    IMAP_QUOTED_MAX;
 *  - otherwise a literal ("{N}" CRLF and the bytes), which carries 8-bit
 *    bytes, CR and LF; the session sends it non-synchronizing where the
 *    server has LITERAL+ (see imap_cmd_add_literal).
 *  - a NUL byte cannot go in any of them: IMAP_ASTRING_INVALID.
 *
 * This is the grammar alone: no I/O, no state.  imaplib's looser rule
 * (arguments already in quotes or parentheses go as they are) lives with
 * the imaplib emulation (util.h, imap_append_arg) and nowhere else. */
#ifndef IMAPFS_QUOTE_H
#define IMAPFS_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Longer strings go as literals: a quoted string must fit in the line
 * limits servers keep (Dovecot 64 KiB, others less). */
#define IMAP_QUOTED_MAX 1024

enum imap_astring_form {
	IMAP_ASTRING_ATOM,
	IMAP_ASTRING_QUOTED,
	IMAP_ASTRING_LITERAL,
	IMAP_ASTRING_INVALID,
};

enum imap_astring_form imap_astring_form(const char *s, size_t n);

/* ATOM-CHAR of RFC 3501 (without resp-specials' ']'). */
bool imap_is_atom_char(unsigned char c);

/* Appends s as a quoted string: '"', the bytes with '\' and '"' escaped,
 * '"'.  The caller has checked that it may be one (or is emulating
 * imaplib's _quote, which checks nothing). */
void imap_quote(const char *s, size_t len, struct buf *out);

#endif
