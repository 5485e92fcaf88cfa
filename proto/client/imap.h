/* imap.h: the imapfs IMAP4rev1 client core.
 *
 * The client (imap_client_*: connecting, STARTTLS, logging in, ENABLE) and
 * the pipelined core (imap_cmd_*, imap_wait*) on one connection object,
 * struct imap: commands are queued objects; many can be in flight, replies
 * are matched by tag, reading and writing are interleaved, literals can be
 * streamed both ways.  The filesystem uses this alone.  Layers may be built
 * on it (see "layers built on the core"): the imaplib emulation, one C
 * function per method of Python's imaplib.IMAP4, is one, declared in
 * imaplib.h.
 *
 * Errors.  Every function that can fail returns an int: 0 (IMAP_OK) when
 * it returned, or a negative number: IMAP_ERROR (the command or its
 * arguments were wrong, or the server refused; the connection is still
 * usable), IMAP_ABORT (the connection is unusable: close it).  The reason
 * is in imap_errmsg() until the next call.
 *
 * Ownership.  struct imap owns its transport, parser and buffers;
 * imap_close() frees everything.  Strings passed in are copied when needed;
 * nothing keeps a caller's pointer after the call returns, except a
 * command's streamed literal source (see imap_cmd).
 *
 * Secrets.  Passwords and SASL responses are marked secret when queued and
 * never appear in debug output.
 *
 * Threads.  A struct imap is used by one thread at a time.
 *
 * Deadlines.  With opts.timeout_ms > 0 every command has one deadline for
 * its whole exchange: timeout_ms after imap_submit() its tagged reply must
 * have arrived, however the server fills the time in between, and a wait
 * of any of the core's calls (imap_wait, imap_wait_all,
 * imap_read_response) ends with IMAP_ABORT ("timed out") once the first
 * command in flight is past its deadline; the connection is then unusable.
 * A server that answers "* OK still here" every few seconds, or sends a
 * body one byte at a time, is no longer able to keep a command alive.
 * What may extend a deadline is progress toward the commands in flight,
 * and only that: each IMAP_PROGRESS_BYTES of literal bytes that moved
 * since the command was submitted add one second, counting the bytes of a
 * literal the caller's literal hook took into a sink that writes them (as
 * they arrive) and the bytes of our own literals, such as an APPEND's
 * message (as the server takes them).  A large body or message on a slow
 * link that still moves at least that fast is never cut off, while a
 * trickle earns practically nothing.  Untagged responses earn nothing,
 * however much data they carry ("* OK still here", "* SEARCH 1 1 1 ...",
 * "* 1 EXISTS", literals kept in memory): any server may send them
 * unasked.  Nor does a literal read past (a sink without write).  So the
 * most a command can earn is one second per IMAP_PROGRESS_BYTES of the
 * literals moved, whose sizes the caller chose to accept or to send.
 * The greeting has one deadline as a whole too.  IDLE (imap_idle)
 * lasts the duration asked for; its DONE exchange then has the deadline.
 * With timeout_ms = 0 nothing has a deadline and waits last for ever, as
 * in imaplib without a timeout.  The raw calls (imap_send_raw,
 * imap_read_raw, imap_readline_raw) bound each wait by timeout_ms, like
 * imaplib's socket timeout.
 */
#ifndef IMAPFS_IMAP_H
#define IMAPFS_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "parser.h"
#include "transport.h"

#define IMAP_PROTOCOL_VERSION_REV1 "IMAP4REV1"

/* Literal bytes that earn a command one more second (see Deadlines): a
 * floor rate of 16 KiB/s, slower than any link a mailbox is read over. */
#define IMAP_PROGRESS_BYTES 16384

enum {
	IMAP_OK = 0,
	IMAP_ERROR = -1,
	IMAP_ABORT = -2,
	/* -3 is imaplib.h's IMAP_READONLY */
};

enum imap_state { IMAP_STATE_LOGOUT, IMAP_STATE_NONAUTH, IMAP_STATE_AUTH, IMAP_STATE_SELECTED };

struct imap;

typedef void (*imap_trace_fn)(void *ctx, const char *line);

struct imap_opts {
	int timeout_ms;        /* connect, and each command's deadline (see Deadlines);
				  0 = wait forever (imaplib's default) */
	struct tls_opts tls;   /* implicit TLS and STARTTLS */
	bool require_tls;      /* a PREAUTH greeting on a plain link is then an error */
	bool allow_plaintext;  /* permit LOGIN / plaintext SASL without TLS */
	int debug;             /* imaplib's Debug levels: 1 messages, 4 each line (secrets masked) */
	imap_trace_fn trace;   /* where debug lines go; NULL = stderr */
	void *trace_ctx;
	struct imap_parser_limits limits;
	/* With has_cancel_fd, cancel_fd ends every wait from the first on (the
	 * TCP connect and TLS handshake of imap_client_open, the greeting, and
	 * later as imap_set_cancel_fd), with "interrupted". */
	bool has_cancel_fd;
	int cancel_fd;
};

/* Closes the transport and frees everything (imaplib's shutdown()); for a
 * session from imap_client_open() or imaplib.h's imap_open*(). */
void imap_close(struct imap *s);

const char *imap_errmsg(const struct imap *s);
enum imap_state imap_get_state(const struct imap *s);
const char *imap_state_name(enum imap_state st);
bool imap_has_cap(const struct imap *s, const char *cap);       /* case-insensitive */
size_t imap_ncaps(const struct imap *s);
const char *imap_cap(const struct imap *s, size_t i);
const char *imap_protocol_version(const struct imap *s);
bool imap_utf8_enabled(const struct imap *s);
bool imap_is_tls(const struct imap *s);
const char *imap_welcome(const struct imap *s);
/* For commands submitted from now on. */
void imap_set_timeout(struct imap *s, int timeout_ms);
/* While fd >= 0, every wait also ends as soon as fd is readable (an
 * eventfd or pipe another thread writes to): with IMAP_ABORT and
 * "interrupted", as what is in flight can no longer be finished; the
 * connection must then be closed.  The caller owns fd; -1 turns it off. */
void imap_set_cancel_fd(struct imap *s, int fd);
/* From now on no wait of s lasts past ms from now, whatever the deadlines
 * of the commands in flight: IMAP_ABORT ("timed out") then.  For steps that
 * share one deadline (logging in and ENABLE after imap_client_open); ms <=
 * 0 lifts the limit. */
void imap_set_time_limit(struct imap *s, int ms);

/* ---------------- the client: connecting and logging in ---------------- */

enum imap_link_kind { IMAP_LINK_TCP, IMAP_LINK_TLS, IMAP_LINK_COMMAND };

/* How to reach the server. */
struct imap_endpoint {
	enum imap_link_kind kind;
	const char *host;        /* TCP, TLS; NULL = localhost */
	const char *port;        /* NULL = 143 (TCP) or 993 (TLS) */
	const char *command;     /* COMMAND: run by /bin/sh; its stdin/stdout are the link */
	bool starttls;           /* TCP: become TLS (STARTTLS) before anything else */
};

/* Connects, reads the greeting and learns the capabilities; with
 * ep->starttls, upgrades to TLS first.  The greeting is decided by the
 * response parser alone: "* OK" (NONAUTH), "* PREAUTH" (AUTH); a BYE or
 * anything else is refused, and on a link that must become TLS so are a
 * PREAUTH, a server without STARTTLS, and any byte sent before the
 * handshake.  With o->timeout_ms > 0 all of it (connect, TLS handshakes,
 * greeting, CAPABILITY, STARTTLS) has one deadline, timeout_ms from the
 * call; o->cancel_fd ends it at once.  On failure *out is NULL and err
 * says why.  o may be NULL. */
int imap_client_open(struct imap **out, const struct imap_endpoint *ep, const struct imap_opts *o,
		     struct buf *err);
/* The same, also telling (*answered) whether the server's greeting
 * arrived: a failure is then the server's answer (its greeting, STARTTLS,
 * CAPABILITY), not the way to it (no connection, no answer in time,
 * interrupted). */
int imap_client_dial(struct imap **out, const struct imap_endpoint *ep, const struct imap_opts *o,
		     bool *answered, struct buf *err);
/* CAPABILITY: the session's capability list is replaced. */
int imap_client_capability(struct imap *s);
/* LOGIN with user and password as astrings (or AUTHENTICATE PLAIN where
 * the server says LOGINDISABLED); the password is never traced.  Refused
 * (IMAP_ERROR, nothing sent) on an unencrypted network link unless
 * opts.allow_plaintext.  Afterwards the capabilities are those the server
 * gives an authenticated session.  IMAP_ERROR: refused (imap_errmsg holds
 * the server's words). */
int imap_client_login(struct imap *s, const char *user, const char *password);
/* AUTHENTICATE (RFC 3501 6.2.2) with one of the SASL mechanisms of
 * sasl.h: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER (host and port, may
 * be NULL, go into OAUTHBEARER's response).  The first response goes with
 * the command where the server has SASL-IR.  IMAP_ERROR, nothing sent,
 * when the server does not advertise AUTH=mechanism, and on an unencrypted
 * network link unless opts.allow_plaintext (as imap_client_login).
 * Responses are never traced.  After a refused XOAUTH2 or OAUTHBEARER,
 * server_error (may be NULL) gets the server's error JSON (printable, no
 * secret of ours: fit for a log).  Afterwards as imap_client_login. */
struct imap_auth {
	const char *mechanism;
	const char *user;
	const char *secret;    /* password or OAuth 2 access token */
	const char *host;      /* OAUTHBEARER */
	const char *port;
};
int imap_client_authenticate(struct imap *s, const struct imap_auth *auth, struct buf *server_error);
/* ENABLE ext (RFC 5161): *enabled when the server said ENABLED for it.  A
 * server without ENABLE, or one that refuses, leaves it false (0). */
int imap_client_enable(struct imap *s, const char *ext, bool *enabled);
/* COMPRESS DEFLATE (RFC 4978): on the server's OK, everything both ways is
 * deflated from the next byte on (inside TLS).  Sent alone (IMAP_ERROR when
 * other commands are in flight); IMAP_ERROR, nothing changed, when the
 * server does not offer COMPRESS=DEFLATE or refuses (the session goes on
 * uncompressed); IMAP_OK at once when already on.  A server stream that
 * does not inflate later fails the connection ("COMPRESS: ..."). */
int imap_client_compress(struct imap *s);
bool imap_is_compressed(const struct imap *s);
/* The server is on this machine: a spawned command or a loopback address
 * (where compressing costs more CPU than it saves). */
bool imap_peer_is_local(const struct imap *s);
/* LOGOUT, waiting at most timeout_ms for the reply; imap_close() still
 * frees the session. */
void imap_client_logout(struct imap *s, int timeout_ms);

/* ---------------- the pipelined core ---------------- */

struct imap_cmd;

/* Called for every untagged response, after the core has taken what it
 * tracks itself (capabilities, BYE, state). */
typedef void (*imap_untagged_fn)(void *ctx, struct imap *s, const struct imap_response *raw,
				 const struct imap_resp *r);
/* Called when a continuation request ("+ ...") reaches a command that
 * asked for them (AUTHENTICATE, IDLE).  Append the line to send (without
 * CRLF) to out and return 0, return 1 to send nothing, or return -1 to
 * stop and abort. */
typedef int (*imap_cont_fn)(void *ctx, struct imap *s, struct imap_cmd *c, const char *text,
			    struct buf *out);
/* An imap_cont_fn for IDLE: sets the bool ctx points to, sends nothing. */
int imap_cont_note(void *ctx, struct imap *s, struct imap_cmd *c, const char *text, struct buf *out);

void imap_set_untagged_handler(struct imap *s, imap_untagged_fn fn, void *ctx);
void imap_set_literal_hook(struct imap *s, imap_literal_hook hook, void *ctx);

/* A command, built then submitted.  The tag and CRLF are added by the core. */
struct imap_cmd *imap_cmd_new(const char *name);
void imap_cmd_free(struct imap_cmd *c);
void imap_cmd_add(struct imap_cmd *c, const char *text);     /* raw text, appended as is */
void imap_cmd_addf(struct imap_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* " " + str as an RFC 3501 astring, decided by its bytes alone (quote.h):
 * an atom, a quoted string, or a literal (8-bit bytes, CR, LF, or long).
 * Every mailbox name, flag keyword and string argument goes this way.
 * -1 (nothing added) when it holds a NUL byte, which no string can carry. */
int imap_cmd_add_astring(struct imap_cmd *c, const char *str, size_t n);
/* The same for a password or token: masked in traces, wiped when c is freed. */
int imap_cmd_add_secret(struct imap_cmd *c, const char *str, size_t n);
/* Text appended as it is but masked in traces (imaplib's quoted password). */
void imap_cmd_add_secret_text(struct imap_cmd *c, const char *text);
/* A literal from memory (copied) or streamed from fd (len bytes from its
 * current offset; the fd must stay open until the command is done).  Sent
 * non-synchronizing when the server has LITERAL+ (or LITERAL- and len <=
 * 4096), else after the server's continuation. */
void imap_cmd_add_literal(struct imap_cmd *c, const void *p, size_t len);
void imap_cmd_add_literal_fd(struct imap_cmd *c, int fd, uint64_t len);
/* The same as a literal8 ("~{N}", RFC 3516), glued to the text before it
 * (no space): for RFC 6855's APPEND ... UTF8 (~{N}...). */
void imap_cmd_add_literal8_fd(struct imap_cmd *c, int fd, uint64_t len);
void imap_cmd_on_continuation(struct imap_cmd *c, imap_cont_fn fn, void *ctx);

/* Queue c; it is written as soon as the connection allows.  The core takes
 * no ownership: free c after it is done (or after imap_close). */
int imap_submit(struct imap *s, struct imap_cmd *c);
/* Pump the connection until c completes.  0: c has a tagged result (which may
 * be NO or BAD); IMAP_ABORT: the connection failed, a deadline passed (of c
 * or of a command before it), or the cancel fd fired. */
int imap_wait(struct imap *s, struct imap_cmd *c);
/* Pump until no command is in flight. */
int imap_wait_all(struct imap *s);
/* Process exactly one response (waiting for it; with nothing in flight
 * the wait is bounded by one timeout_ms). */
int imap_read_response(struct imap *s);
/* Move bytes without waiting: write what can be written, parse what has
 * arrived.  For event loops: poll imap_fd(); deadlines are the loop's
 * business here. */
int imap_pump_nowait(struct imap *s);
int imap_fd(const struct imap *s);
size_t imap_in_flight(const struct imap *s);

/* IDLE for duration_ms (or until *stop turns true, checked between
 * responses and at least every 200 ms); untagged responses meanwhile go to
 * the untagged handler.  Then DONE and the tagged reply.  0, IMAP_ERROR
 * (not supported, refused), IMAP_ABORT. */
int imap_idle(struct imap *s, int duration_ms, const bool *stop);

/* IDLE for a program with its own events (imap_idle is this with
 * end_now reading *stop).  DONE goes out when duration_ms has passed or
 * end_now answers true; end_now is asked (on the calling thread) only
 * while idling: after each batch of responses, when wake_fd is readable,
 * and at least every check_ms.  wake_fd (-1: none) ends a wait early
 * without being read: end_now must drain it or answer true, else the wait
 * spins.  The server has answer_ms to send its "+" (0: until duration_ms
 * ends), and timeout_ms (30 s when 0) to answer DONE; past either the
 * connection aborts ("timed out waiting for IDLE").  Untagged responses go
 * to the untagged handler; an unparsable one is dropped.  The session's
 * cancel fd ends it at once.  0, IMAP_ERROR (not supported, NO, BAD: the
 * reason in imap_errmsg), IMAP_ABORT. */
struct imap_idle_opts {
	int duration_ms;
	int answer_ms;
	int check_ms;             /* 0: 200 */
	int wake_fd;
	bool (*end_now)(void *ctx);
	void *ctx;
};
#define IMAP_IDLE_OPTS_INIT { 0, 0, 0, -1, NULL, NULL }
int imap_idle_run(struct imap *s, const struct imap_idle_opts *o);

/* After completion. */
bool imap_cmd_done(const struct imap_cmd *c);
const char *imap_cmd_tag(const struct imap_cmd *c);
const char *imap_cmd_status(const struct imap_cmd *c);  /* "OK", "NO", "BAD", or "" */
bool imap_cmd_ok(const struct imap_cmd *c);
const char *imap_cmd_text(const struct imap_cmd *c);    /* the tagged line after the status word */
const char *imap_cmd_code(const struct imap_cmd *c);    /* response code name, or NULL */
const char *imap_cmd_code_arg(const struct imap_cmd *c); /* raw code arguments, or NULL */
/* The code's arguments as the response parser split them, so that nobody
 * splits the raw text again: "[APPENDUID 38505 3955]" gives 2 arguments,
 * "38505" and "3955".  An atom or a string is given as its text; a list, NIL
 * or a literal not in memory as NULL.  NULL past the last argument. */
size_t imap_cmd_code_nargs(const struct imap_cmd *c);
const char *imap_cmd_code_argv(const struct imap_cmd *c, size_t i);

/* Send raw bytes / read raw, as imaplib's send() and read()/readline(). */
int imap_send_raw(struct imap *s, const void *p, size_t n);
int imap_read_raw(struct imap *s, size_t n, struct buf *out);
int imap_readline_raw(struct imap *s, struct buf *out);
void imap_shutdown(struct imap *s);

/* ---------------- layers built on the core ---------------- */

/* A layer built on the core (the imaplib emulation is one) sees every
 * tagged reply and may keep its own state on the session; the core never
 * calls a layer by name and never looks inside its state.
 *
 * The tagged handler runs for each tagged reply once the core has recorded
 * the command's status, text and code (imap_cmd_status() and the rest
 * already answer), before the command counts as done.  raw is the response
 * as framed; r is its parse, or for a line whose response code does not
 * parse, just its tag, status name and text (r->code NULL).  Both are valid
 * during the call only. */
typedef void (*imap_tagged_fn)(void *ctx, struct imap *s, const struct imap_response *raw,
			       const struct imap_resp *r);
void imap_set_tagged_handler(struct imap *s, imap_tagged_fn fn, void *ctx);
/* One layer's state on s, told apart by key (the address of something of
 * the layer's own): imap_layer_state() gives it back only for that key,
 * NULL for any other.  free_fn (may be NULL) frees it in imap_close() or
 * when another state replaces it. */
void imap_set_layer_state(struct imap *s, const void *key, void *state, void (*free_fn)(void *state));
void *imap_layer_state(const struct imap *s, const void *key);

#endif
