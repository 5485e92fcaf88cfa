/* compress.h (internal to proto/): the RFC 4978 COMPRESS=DEFLATE stream that
 * transport.c puts between its byte moving (plain or TLS) and the session.
 * Raw deflate (no zlib header), each write flushed with Z_SYNC_FLUSH so the
 * server sees every command at once.  Nothing outside transport.c uses it.
 *
 * Bounded: the compressed input, the inflated output and the compressed
 * output each live in one fixed buffer, whatever the server sends; a
 * stream that inflates to gigabytes (a bomb) is handed over a buffer at a
 * time and never held, and a stream that is not deflate fails.
 *
 * The lower layer is reached through the two callbacks, which follow
 * transport_read_some / transport_write_some's rules (bytes moved, 0 would
 * block, -1 failure with err set).  zstream_write and zstream_read give the
 * same, with transport_write_some's promise: after 0, the caller offers
 * the same bytes again.  Bytes accepted by zstream_write may still be held
 * compressed (zstream_out_pending) until zstream_flush gets them out. */
#ifndef IMAPFS_COMPRESS_H
#define IMAPFS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct zstream;

struct zlower {
	ssize_t (*read)(void *ctx, void *p, size_t n, struct buf *err);
	ssize_t (*write)(void *ctx, const void *p, size_t n, struct buf *err);
	void *ctx;
};

/* already: compressed bytes read before the switch (behind the tagged OK in
 * the same read), inflated first.  NULL (err set) when zlib fails to start
 * or already is larger than a buffer. */
struct zstream *zstream_new(const struct zlower *lower, const void *already, size_t n,
			    struct buf *err);
void zstream_free(struct zstream *z);
ssize_t zstream_write(struct zstream *z, const void *p, size_t n, struct buf *err);
/* 1 when nothing compressed is held back, 0 when the lower layer would
 * block with some left, -1 on failure. */
int zstream_flush(struct zstream *z, struct buf *err);
bool zstream_out_pending(const struct zstream *z);
ssize_t zstream_read(struct zstream *z, void *p, size_t n, struct buf *err);
/* Inflated bytes a zstream_read returns without reading the lower layer;
 * 1 after a failure not yet reported (so a waiter reads and learns it). */
size_t zstream_pending(const struct zstream *z);
/* Bytes in and out of both directions, for the session's trace. */
void zstream_counts(const struct zstream *z, unsigned long long *raw_in, unsigned long long *plain_in,
		    unsigned long long *plain_out, unsigned long long *raw_out);

#endif
