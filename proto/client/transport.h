/* transport.h: the byte stream under an IMAP session.  Three kinds behind one
 * interface: a TCP socket (IPv4 or IPv6), the same socket after a TLS
 * handshake (GnuTLS; implicit TLS or STARTTLS), and a spawned command whose
 * stdin/stdout carry the protocol (imaplib's IMAP4_stream): both are one end
 * of a UNIX socket pair, so there is one fd to poll.
 *
 * All I/O is non-blocking underneath so a session can read and write at the
 * same time (pipelining); the *_some calls never block and the caller waits
 * with transport_wait().
 *
 * Errors: functions returning int give 0 on success and -1 on failure with a
 * one-line reason appended to err (when err is not NULL).  The *_some calls
 * return bytes moved, 0 when nothing could be moved right now (would block),
 * and -1 on failure or end of stream (err says which; transport_eof() tells).
 * After transport_write_some returned 0 the next call must offer the same
 * bytes again (at least as many): over TLS a record of them is already
 * committed, and other bytes are refused as an error.
 * After transport_start_compress (RFC 4978) everything written is deflated
 * and everything read inflated, inside TLS when TLS is on.  Bytes
 * transport_write_some accepted may then still be held compressed while the
 * socket is full: every transport_read_some and transport_wait* sends them
 * on (a wait also wakes for that alone), and shutdown and close wait a
 * moment for them.
 * No call raises SIGPIPE.  GnuTLS needs no global init (since 3.3 it
 * initialises itself when loaded).
 * A transport owns its socket, pipes and child process; transport_close()
 * releases them all and reaps the child.
 */
#ifndef IMAPFS_TRANSPORT_H
#define IMAPFS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct transport;

struct tls_opts {
	const char *servername;  /* host name to verify and send as SNI; NULL = the connect host */
	const char *cafile;      /* PEM trust anchors; NULL = the system trust store */
	const char *certfile;    /* client certificate (PEM), with keyfile */
	const char *keyfile;
	bool insecure;           /* skip certificate verification: never the default */
	int timeout_ms;          /* handshake timeout; 0 = the transport's io timeout */
};

/* host may be a name, an IPv4 literal or an IPv6 literal (without brackets).
 * connect_timeout_ms bounds the whole connect over all resolved addresses
 * (not the name lookup itself); <= 0 means no limit but the kernel's.  It
 * is also the default TLS handshake timeout. */
int transport_connect_tcp(struct transport **out, const char *host, const char *port,
			  int connect_timeout_ms, struct buf *err);
/* The same, also ending ("interrupted") as soon as cancel_fd (>= 0) is
 * readable, which the transport then keeps for its TLS handshake
 * (transport_set_cancel_fd). */
int transport_connect_tcp_or(struct transport **out, const char *host, const char *port,
			     int connect_timeout_ms, int cancel_fd, struct buf *err);
/* Runs "/bin/sh -c command" with its stdin and stdout as the stream; its
 * stderr is inherited. */
int transport_spawn(struct transport **out, const char *command, struct buf *err);
/* Handshake over an open TCP transport; afterwards reads and writes are
 * encrypted.  Fails on a spawned transport.  Refuses (returns -1) if any
 * received byte is still unread in the transport: bytes the server sent
 * before the handshake must never be taken as post-TLS data. */
int transport_start_tls(struct transport *t, const struct tls_opts *o, struct buf *err);
/* COMPRESS=DEFLATE from now on, both ways (after the server's OK to
 * COMPRESS DEFLATE, with nothing sent behind it).  already: bytes read from
 * this transport after that OK (compressed), at most 16 KiB.  Once on it
 * stays on.  A stream from the server that does not inflate fails the
 * read with "COMPRESS: ..."; buffers stay bounded whatever it holds. */
int transport_start_compress(struct transport *t, const void *already, size_t n, struct buf *err);
bool transport_is_compressed(const struct transport *t);
/* Bytes read from the link and inflated from them, bytes given to
 * transport_write_some and sent for them; all 0 without COMPRESS. */
void transport_compress_counts(const struct transport *t, unsigned long long *raw_in,
			       unsigned long long *plain_in, unsigned long long *plain_out,
			       unsigned long long *raw_out);
/* While fd >= 0, the TLS handshake also ends ("interrupted") as soon as fd
 * is readable; -1 turns that off. */
void transport_set_cancel_fd(struct transport *t, int fd);
void transport_close(struct transport *t);

ssize_t transport_read_some(struct transport *t, void *p, size_t n, struct buf *err);
ssize_t transport_write_some(struct transport *t, const void *p, size_t n, struct buf *err);
/* Wait until readable (or, with want_write, writable) or the timeout
 * (ms, -1 = forever).  Returns 1 ready, 0 timeout, -1 error.  With want_read
 * it returns 1 at once when TLS holds pending bytes or the stream ended. */
int transport_wait(struct transport *t, bool want_read, bool want_write, int timeout_ms,
		   struct buf *err);
/* The same, also ending when cancel_fd (>= 0) is readable: then 2, even
 * when the socket is ready too. */
int transport_wait_or(struct transport *t, bool want_read, bool want_write, int timeout_ms,
		      int cancel_fd, struct buf *err);
/* The same, also ending when wake_fd (>= 0) is readable: then 3 (2 still
 * wins).  wake_fd is not read: its owner drains it. */
int transport_wait_any(struct transport *t, bool want_read, bool want_write, int timeout_ms,
		       int cancel_fd, int wake_fd, struct buf *err);
/* Bytes already decrypted and buffered inside the transport (TLS), or
 * inflated and not yet read (COMPRESS), which poll() on the socket would
 * not show. */
size_t transport_pending(struct transport *t);
bool transport_eof(const struct transport *t);
bool transport_is_tls(const struct transport *t);
/* Half-close for writing (shutdown(SHUT_WR) / close child's stdin). */
void transport_shutdown(struct transport *t);
/* The peer is this machine: a spawned command, or a TCP peer on a loopback
 * address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
bool transport_peer_is_local(const struct transport *t);
/* The socket (TCP, TLS, or our end of the spawned command's pair), for poll(). */
int transport_fd(const struct transport *t);
/* Human description of the peer and, after TLS, of the cipher suite. */
const char *transport_describe(const struct transport *t);

#endif
