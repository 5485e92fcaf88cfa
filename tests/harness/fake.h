/* fake.h: a scripted IMAP server for protocol tests that no real server can
 * drive (in the spirit of curl's tests/data and CPython's test_imaplib).
 *
 * A thread listens on 127.0.0.1 (or ::1) on a port picked by the kernel,
 * accepts one client and plays a script, one directive per line:
 *
 *   S: TEXT         send TEXT + CRLF
 *   S+ TEXT         send TEXT as it is (no CRLF)
 *   C: TEXT         read one CRLF-terminated line; it must equal TEXT
 *   LITERAL N [c]   send N bytes of the character c (default 'x')
 *   C-LITERAL N [c | sha256:HEX]
 *                   read exactly N bytes; each must be c, or their SHA-256
 *                   must be HEX, or (neither given) anything goes
 *   TLS             server-side TLS handshake now (needs fake_opts.certs)
 *   SNI [NAME]      the client's TLS server name must be NAME (none: no SNI)
 *   SLEEP MS        pause
 *   PAUSE           wait until the test calls fake_resume()
 *   CLOSE           close the connection (after a TLS close_notify)
 *   EOF             expect the client to close: a read returns end of stream
 *   DRAIN           read and discard until the client closes
 *   ACCEPT          close the connection if open and accept the next client
 *
 * Blank lines and lines starting with '#' are ignored.  In S:, S+ and C:
 * text, <tagN> (N = 0..31) stands for a tag: in C: it matches any tag word
 * (a run of bytes up to a space) and binds it, in S: it sends what was
 * bound.  Escapes: \r \n \t \\ \xNN (write "\x3ctag1>" for a literal
 * "<tag1>").  A leading space after "S:" / "C:" / "S+" is a separator.
 *
 * Every wait (accept, read, write, PAUSE) gives up after the timeout, so a
 * test never hangs; the failure then says what was awaited.  When the
 * script ends the connection is closed.
 *
 * Ownership and errors: fake_start copies the script and options and returns
 * NULL with a reason in err on a setup failure (bad script, no IPv6, ...).
 * fake_finish always frees the server.
 */
#ifndef IMAPFS_FAKE_H
#define IMAPFS_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include "harness_cert.h"

struct buf;
struct fake_server;

struct fake_opts {
	bool ipv6;                      /* listen on ::1 instead of 127.0.0.1 */
	bool implicit_tls;              /* TLS handshake right after each accept */
	const struct test_certs *certs; /* server certificate for TLS (copied) */
	int timeout_ms;                 /* every wait; 0 = 5000 */
	int rcvbuf;                     /* SO_RCVBUF of the server socket; 0 = the kernel's */
};

/* o may be NULL for the defaults. */
struct fake_server *fake_start(const char *script, const struct fake_opts *o, struct buf *err);
int fake_port(const struct fake_server *f);
/* The port as a string, for transport_connect_tcp. */
const char *fake_port_str(const struct fake_server *f);
/* Lets a script waiting at PAUSE go on. */
void fake_resume(struct fake_server *f);
/* Waits until the script waits at PAUSE: 0, or -1 when it ended or the
 * timeout passed first. */
int fake_wait_paused(struct fake_server *f);
/* Waits until a TLS handshake has finished on the server side (or the
 * script has ended) and appends the server name the client sent in the
 * latest one ("" when it sent none).  0, or -1 when no handshake finished. */
int fake_sni(struct fake_server *f, struct buf *out);
/* Joins the thread.  0 iff the whole script ran and every expected line
 * matched; otherwise err explains the first failure (script line number,
 * expected vs got).  Always frees f. */
int fake_finish(struct fake_server *f, struct buf *err);

/* The start of most scripts: a greeting, CAPABILITY (IMAP4rev1 and caps,
 * a space separated list or ""), and LOGIN alice with password secret
 * (astrings: atoms), whose OK names the capabilities again, tagged <tag0>
 * and <tag1>. */
#define FAKE_LOGIN(caps)                                   \
	"S: * OK fake\n"                                   \
	"C: <tag0> CAPABILITY\n"                           \
	"S: * CAPABILITY IMAP4rev1 " caps "\n"             \
	"S: <tag0> OK done\n"                              \
	"C: <tag1> LOGIN alice secret\n"                   \
	"S: <tag1> OK [CAPABILITY IMAP4rev1 " caps "] in\n"

/* The end of most scripts: the LOGOUT a client closes with (<tag9> binds
 * whatever tag it sends), and the close. */
#define FAKE_LOGOUT                                        \
	"C: <tag9> LOGOUT\n"                               \
	"S: * BYE bye\n"                                   \
	"S: <tag9> OK out\n"                               \
	"EOF\n"

#endif
