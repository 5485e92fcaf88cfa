/* utf8.h: strict UTF-8 decoding (RFC 3629), shared by the modified UTF-7
 * converter, the Python repr() printer and the names and labels a server
 * sends as UTF-8.
 *
 * Conventions: input is (pointer, length), need not be NUL-terminated and
 * may hold any bytes.  Nothing is allocated; the only failure is a byte
 * sequence that is not well-formed, reported as a length of 0.
 */
#ifndef IMAPFS_UTF8_H
#define IMAPFS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the well-formed UTF-8 sequence at p (n >= 1 bytes
 * available), with its code point in *cp; 0 when p does not start one:
 * overlong forms, surrogates, code points above U+10FFFF and sequences cut
 * short by n are all rejected.  U+0000 is accepted as 1 byte. */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);
/* Whether the n bytes at s are well-formed UTF-8 text without NUL (a name
 * or label taken as it is); when not, *bad (may be NULL) is the offset of
 * the first byte that is not. */
bool utf8_text_valid(const char *s, size_t n, size_t *bad);

#endif
