/* utf8.h: strict UTF-8 decoding (RFC 3629), shared by the modified UTF-7
 * converter and the Python repr() printer.
 *
 * Conventions: input is (pointer, length), need not be NUL-terminated and
 * may hold any bytes.  Nothing is allocated; the only failure is a byte
 * sequence that is not well-formed, reported as a length of 0.
 */
#ifndef IMAPFS_UTF8_H
#define IMAPFS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the well-formed UTF-8 sequence at p (n >= 1 bytes
 * available), with its code point in *cp; 0 when p does not start one:
 * overlong forms, surrogates, code points above U+10FFFF and sequences cut
 * short by n are all rejected.  U+0000 is accepted as 1 byte. */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

#endif
