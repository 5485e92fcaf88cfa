/* tls.h (internal to proto/): the GnuTLS client session that transport.c
 * puts over a connected socket.  Nothing outside transport.c uses it.
 *
 * Ownership: a tls_conn owns its GnuTLS session and credentials but not the
 * socket, which stays the transport's.  tls_conn_free() never closes it.
 *
 * Errors: int functions give 0 or -1 with a one-line reason appended to err
 * (when not NULL).  tls_conn_read/write follow transport_read_some's rules:
 * bytes moved, 0 when nothing can move now, -1 on failure or end of stream.
 */
#ifndef IMAPFS_TLS_H
#define IMAPFS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct tls_conn;
struct tls_opts;

/* Handshakes over fd (non-blocking) within timeout_ms (<= 0: no limit),
 * ending early ("interrupted") when cancel_fd (>= 0) becomes readable.
 * connect_host is the name or address the socket was connected to: it is
 * verified (and sent as SNI unless it is an IP address) when o->servername
 * is NULL.  o may be NULL for the defaults (system trust, verify). */
int tls_conn_handshake(struct tls_conn **out, int fd, const char *connect_host,
		       const struct tls_opts *o, int timeout_ms, int cancel_fd, struct buf *err);
/* *eof is set when the peer ended the stream (close_notify, or a TCP close
 * without it, which IMAP servers commonly do after BYE). */
ssize_t tls_conn_read(struct tls_conn *c, void *p, size_t n, bool *eof, struct buf *err);
/* After a 0 return (the record is already encrypted and partly sent), the
 * next call must offer the same bytes again: they are checked. */
ssize_t tls_conn_write(struct tls_conn *c, const void *p, size_t n, struct buf *err);
size_t tls_conn_pending(struct tls_conn *c);
/* Sends close_notify, waiting at most timeout_ms for the socket to take it. */
void tls_conn_bye(struct tls_conn *c, int timeout_ms);
void tls_conn_free(struct tls_conn *c);
/* e.g. "(TLS1.3)-(ECDHE-SECP256R1)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM), verified" */
const char *tls_conn_describe(const struct tls_conn *c);

#endif
