/* compress.c: COMPRESS=DEFLATE's two zlib streams over the transport's
 * byte moving (compress.h). */
#include "config.h"
#include "compress.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "xalloc.h"

/* Sizes of the three buffers: compressed bytes read, inflated bytes not yet
 * read by the session, and plain bytes deflated per write (the compressed
 * output buffer holds deflateBound of that). */
enum { ZIN_CAP = 16 * 1024, PLAIN_CAP = 64 * 1024, WRITE_CHUNK = 16 * 1024 };

struct zstream {
	struct zlower lower;
	z_stream inf;
	z_stream def;
	unsigned char zin[ZIN_CAP];
	unsigned char plain[PLAIN_CAP];
	size_t plain_off, plain_len;
	bool inflate_more;        /* the last inflate filled plain: it may hold more */
	unsigned char *zout;
	size_t zout_cap, zout_off, zout_len;
	bool deflate_more;        /* the last deflate filled zout: its flush is unfinished */
	bool failed;              /* the inflate stream went wrong: why is in error */
	char error[200];
	unsigned long long raw_in, plain_in, plain_out, raw_out;
};

static void zstream_fail(struct zstream *z, const char *what, const char *msg)
{
	z->failed = true;
	snprintf(z->error, sizeof z->error, "COMPRESS: %s%s%s", what, msg ? ": " : "", msg ? msg : "");
}

/* Inflates buffered input into the (drained) plain buffer, without reading
 * the lower layer.  Afterwards plain holds bytes, or all input is used up,
 * or the stream failed. */
static void zstream_refill(struct zstream *z)
{
	z->plain_off = z->plain_len = 0;
	if (z->failed || (z->inf.avail_in == 0 && !z->inflate_more))
		return;
	z->inf.next_out = z->plain;
	z->inf.avail_out = PLAIN_CAP;
	int r = inflate(&z->inf, Z_SYNC_FLUSH);
	z->plain_len = PLAIN_CAP - z->inf.avail_out;
	z->inflate_more = z->inf.avail_out == 0;
	z->plain_in += z->plain_len;
	switch (r) {
	case Z_OK:
	case Z_BUF_ERROR:  /* no progress possible: more input needed */
		return;
	case Z_STREAM_END:
		/* RFC 4978 has no end: a final block is the server's mistake */
		zstream_fail(z, "the server ended the compressed stream", NULL);
		return;
	case Z_DATA_ERROR:
		zstream_fail(z, "the server's data does not inflate", z->inf.msg);
		return;
	case Z_MEM_ERROR:
		zstream_fail(z, "out of memory", NULL);
		return;
	default:
		zstream_fail(z, "inflate failed", z->inf.msg);
		return;
	}
}

struct zstream *zstream_new(const struct zlower *lower, const void *already, size_t n,
			    struct buf *err)
{
	if (n > ZIN_CAP) {
		buf_adderr(err, "COMPRESS: %zu bytes arrived before the switch", n);
		return NULL;
	}
	struct zstream *z = xcalloc(1, sizeof *z);
	z->lower = *lower;
	/* windowBits -15: raw deflate, as RFC 4978 says */
	if (inflateInit2(&z->inf, -15) != Z_OK) {
		buf_adderr(err, "COMPRESS: cannot start inflate");
		free(z);
		return NULL;
	}
	if (deflateInit2(&z->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		buf_adderr(err, "COMPRESS: cannot start deflate");
		inflateEnd(&z->inf);
		free(z);
		return NULL;
	}
	/* room for a chunk and its sync flush marker, so one deflate call
	 * normally finishes; deflate_more covers the rest */
	z->zout_cap = deflateBound(&z->def, WRITE_CHUNK) + 64;
	z->zout = xmalloc(z->zout_cap);
	if (n) {
		memcpy(z->zin, already, n);
		z->inf.next_in = z->zin;
		z->inf.avail_in = (uInt)n;
		z->raw_in += n;
		zstream_refill(z);
	}
	return z;
}

void zstream_free(struct zstream *z)
{
	if (!z)
		return;
	inflateEnd(&z->inf);
	deflateEnd(&z->def);
	free(z->zout);
	free(z);
}

/* Compresses (more of) the current flush into the drained zout. */
static void zstream_deflate(struct zstream *z, int flush)
{
	z->def.next_out = z->zout;
	z->def.avail_out = (uInt)z->zout_cap;
	(void)deflate(&z->def, flush);  /* only Z_STREAM_ERROR, a bug, is fatal, and Z_BUF_ERROR harmless */
	z->zout_off = 0;
	z->zout_len = z->zout_cap - z->def.avail_out;
	z->deflate_more = z->def.avail_out == 0;
}

int zstream_flush(struct zstream *z, struct buf *err)
{
	for (;;) {
		while (z->zout_off < z->zout_len) {
			ssize_t w = z->lower.write(z->lower.ctx, z->zout + z->zout_off,
						   z->zout_len - z->zout_off, err);
			if (w < 0)
				return -1;
			if (w == 0)
				return 0;
			z->zout_off += (size_t)w;
			z->raw_out += (size_t)w;
		}
		z->zout_off = z->zout_len = 0;
		if (!z->deflate_more)
			return 1;
		z->def.next_in = NULL;
		z->def.avail_in = 0;
		zstream_deflate(z, Z_SYNC_FLUSH);
	}
}

bool zstream_out_pending(const struct zstream *z)
{
	return z->zout_off < z->zout_len || z->deflate_more;
}

ssize_t zstream_write(struct zstream *z, const void *p, size_t n, struct buf *err)
{
	int f = zstream_flush(z, err);
	if (f <= 0)
		return f;  /* nothing taken: the caller offers the same bytes again */
	if (n == 0)
		return 0;
	size_t take = n < WRITE_CHUNK ? n : WRITE_CHUNK;
	z->def.next_in = (unsigned char *)(uintptr_t)p;
	z->def.avail_in = (uInt)take;
	zstream_deflate(z, Z_SYNC_FLUSH);
	size_t used = take - z->def.avail_in;
	z->def.next_in = NULL;
	z->def.avail_in = 0;
	z->plain_out += used;
	/* taken even if the link is full now: zstream_flush sends the rest */
	if (zstream_flush(z, err) < 0)
		return -1;
	return (ssize_t)used;
}

ssize_t zstream_read(struct zstream *z, void *p, size_t n, struct buf *err)
{
	if (n == 0)
		return 0;
	for (;;) {
		if (z->plain_off < z->plain_len) {
			size_t k = z->plain_len - z->plain_off;
			if (k > n)
				k = n;
			memcpy(p, z->plain + z->plain_off, k);
			z->plain_off += k;
			if (z->plain_off == z->plain_len)
				zstream_refill(z);  /* so zstream_pending tells the truth */
			return (ssize_t)k;
		}
		if (z->failed) {
			buf_adderr(err, "%s", z->error);
			return -1;
		}
		if (z->inf.avail_in) {  /* cannot happen: refill uses all input while plain has room */
			buf_adderr(err, "COMPRESS: inflate stalled");
			return -1;
		}
		ssize_t r = z->lower.read(z->lower.ctx, z->zin, ZIN_CAP, err);
		if (r <= 0)
			return r;
		z->raw_in += (size_t)r;
		z->inf.next_in = z->zin;
		z->inf.avail_in = (uInt)r;
		zstream_refill(z);
	}
}

size_t zstream_pending(const struct zstream *z)
{
	size_t k = z->plain_len - z->plain_off;
	return k ? k : z->failed ? 1 : 0;
}

void zstream_counts(const struct zstream *z, unsigned long long *raw_in, unsigned long long *plain_in,
		    unsigned long long *plain_out, unsigned long long *raw_out)
{
	*raw_in = z->raw_in;
	*plain_in = z->plain_in;
	*plain_out = z->plain_out;
	*raw_out = z->raw_out;
}
