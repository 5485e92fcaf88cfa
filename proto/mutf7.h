/* mutf7.h: mailbox names in modified UTF-7 (RFC 3501 section 5.1.3) and
 * UTF-8, converted both ways with strict validation.
 *
 * Encoding: bytes 0x20-0x7e except '&' stand for themselves, '&' is "&-",
 * and every maximal stretch of other characters becomes one "&...-" run of
 * modified base64 (',' instead of '/', no padding) over UTF-16BE.
 *
 * Decoding accepts exactly what a conforming encoder produces and rejects
 * the rest: bytes outside 0x20-0x7e, an unterminated run, characters outside
 * the modified base64 alphabet, non-zero or excess leftover bits, an odd
 * UTF-16 byte count, unpaired surrogates, encoded NUL, encoded printable
 * ASCII (it must be written directly), and two runs back to back
 * ("&AOQ-&APY-" must be "&AOQA9g-"), as Dovecot does.
 *
 * Conventions: input is (pointer, length) and need not be NUL-terminated.
 * Output is appended to out.  On error the functions return -1, leave out
 * exactly as it was and append a one-line reason to err (when err is not
 * NULL); they return 0 on success.
 */
#ifndef IMAPFS_MUTF7_H
#define IMAPFS_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* utf8 must be well-formed UTF-8 (RFC 3629: no overlongs, surrogates, code
 * points above U+10FFFF or truncated sequences) without NUL. */
int mutf7_from_utf8(const char *utf8, size_t len, struct buf *out, struct buf *err);

int mutf7_to_utf8(const char *mutf7, size_t len, struct buf *out, struct buf *err);

/* True when mutf7_to_utf8() would accept the input. */
bool mutf7_is_valid(const char *mutf7, size_t len);

#endif
