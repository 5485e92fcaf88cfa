/* buf.h: a growable byte buffer, always NUL-terminated so text can be used
 * as a C string; it may also hold binary data with embedded NULs.
 *
 * Ownership: a buf owns its storage; buf_free() releases it and leaves an
 * empty, reusable buffer.  buf_detach() hands the storage to the caller.
 * Allocation failure aborts the process: the library never reports ENOMEM
 * through return values. */
#ifndef IMAPFS_BUF_H
#define IMAPFS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;  /* never NULL once initialised; "" when empty */
	size_t len;  /* bytes used, not counting the trailing NUL */
	size_t cap;  /* bytes allocated; 0 while data points at a static "" */
};

#define BUF_INIT { (char *)buf_empty_, 0, 0 }
extern const char buf_empty_[1];

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_wipe(struct buf *b);                  /* zero the bytes (secrets), then free */
void buf_reset(struct buf *b);                 /* len = 0, keeps storage */
void buf_grow(struct buf *b, size_t extra);    /* room for extra more bytes */
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append a one-line error reason to err, the `struct buf *err` that fallible
 * functions take; nothing happens when err is NULL (the caller did not ask). */
void buf_adderr(struct buf *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vadderr(struct buf *err, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void buf_set(struct buf *b, const void *p, size_t n); /* replace contents */
void buf_consume(struct buf *b, size_t n);     /* drop the first n bytes */
void buf_truncate(struct buf *b, size_t len);
char *buf_detach(struct buf *b, size_t *len);  /* caller frees; b is reset */

#endif
