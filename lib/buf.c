/* buf.c: growable byte buffers. */
#include "config.h"
#include "buf.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char buf_empty_[1];

void buf_init(struct buf *b)
{
	b->data = (char *)buf_empty_;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b);
}

void buf_wipe(struct buf *b)
{
	if (b->cap)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

void buf_grow(struct buf *b, size_t extra)
{
	if (extra >= (size_t)-1 - b->len - 1)
		xalloc_fail((size_t)-1);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap < ((size_t)-1) / 2 ? cap * 2 : need;
	if (b->cap) {
		b->data = xrealloc(b->data, cap);
	} else {
		b->data = xmalloc(cap);
		b->data[0] = '\0';
	}
	b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n <= 0)
		return;
	buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_vadderr(struct buf *err, const char *fmt, va_list ap)
{
	if (err)
		buf_vaddf(err, fmt, ap);
}

void buf_adderr(struct buf *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vadderr(err, fmt, ap);
	va_end(ap);
}

void buf_set(struct buf *b, const void *p, size_t n)
{
	buf_reset(b);
	buf_add(b, p, n);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	buf_truncate(b, b->len - n);
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len)
		return;
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->cap ? b->data : xstrdup("");
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
