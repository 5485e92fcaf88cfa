/* session.h: the session's insides, shared by the client's files (session,
 * connect) and by the imaplib layer, which is built on the core and reads
 * them; the core never calls up into a layer (imap.h: layers).  Not
 * installed. */
#ifndef IMAPFS_SESSION_H
#define IMAPFS_SESSION_H

#include "imap.h"

enum cmd_part_kind { PART_TEXT, PART_LITERAL_MEM, PART_LITERAL_FD };

struct cmd_part {
	enum cmd_part_kind kind;
	struct buf data;     /* TEXT, LITERAL_MEM */
	int fd;              /* LITERAL_FD */
	uint64_t len;        /* literal size */
	bool literal8;       /* "~{N}" right after the text before it (RFC 6855's UTF8 APPEND) */
	bool secret;         /* masked in traces */
};

struct imap_cmd {
	char *name;
	struct cmd_part *parts;
	size_t nparts;
	char tag[24];
	imap_cont_fn cont;
	void *cont_ctx;

	struct imap_cmd *next;   /* in the session's list of unfinished commands */
	struct imap *owner;
	size_t part;             /* next part to emit */
	bool announced;          /* literal of parts[part] announced */
	bool waiting_cont;       /* a synchronizing literal waits for "+" */
	uint64_t lit_sent;       /* bytes of parts[part] written */
	long long deadline;      /* clock_ms() by which the tagged reply is due; -1: none */
	uint64_t progress_base;  /* the session's progress when submitted */
	bool emitted;            /* the whole command line has been queued */
	bool done;
	char status[8];
	struct buf text;
	char *code;
	char *code_arg;
	char **code_args;          /* the code's arguments as parsed; NULL: a list */
	size_t code_nargs;
};

/* The first response of a connection, as the response parser reads it;
 * only OK and PREAUTH let a session go on. */
enum imap_greeting { GREETING_NONE, GREETING_OK, GREETING_PREAUTH, GREETING_BYE, GREETING_INVALID };

struct imap {
	struct transport *t;
	struct imap_parser *parser;
	struct imap_opts opts;
	struct buf in;           /* bytes read, in[in_off..] not yet parsed */
	size_t in_off;
	struct buf out;          /* bytes queued for writing */
	bool out_secret;         /* out held a secret: wiped once drained */
	struct imap_cmd *cmds;   /* unfinished commands, in submission order */
	struct imap_cmd *writer; /* first command not yet fully emitted */
	enum imap_state state;
	char tagpre[8];
	unsigned long tagnum;
	char **caps;
	size_t ncaps;
	unsigned long caps_seen;  /* how many capability lists the server sent */
	char *protocol_version;
	bool utf8;
	bool broken;             /* an abort happened: everything fails from now on */
	bool bye;
	struct buf bye_text;
	struct buf welcome;
	struct buf continuation; /* text of the last "+" nobody asked for */
	struct buf err;
	imap_untagged_fn on_untagged;
	void *untagged_ctx;
	/* Deadlines (imap.h): bytes that count as progress, which earn a
	 * command more time (literal bytes a caller's sink kept, our own
	 * literal bytes sent); how many bytes of our literals are still to
	 * be sent; the deadline of a wait with no command (the greeting);
	 * the fd that ends every wait (imap_set_cancel_fd). */
	uint64_t progress;
	uint64_t send_credit;
	long long deadline;
	long long limit;         /* no wait goes past it (imap_set_time_limit); -1: none */
	int cancel_fd;
	/* the caller's literal hook, behind the session's own (which counts) */
	imap_literal_hook lit_hook;
	void *lit_ctx;
	struct imap_sink lit_sink;
	bool expect_greeting;
	bool greeting_seen;
	enum imap_greeting greeting;  /* what the parser made of it */
	bool spawned;            /* a spawned command: no network path to protect */

	/* the layer built on this session (imap.h: layers) */
	imap_tagged_fn on_tagged;
	void *tagged_ctx;
	const void *layer_key;
	void *layer_state;
	void (*layer_free)(void *state);
};

/* Record an error kind with a formatted message; returns kind. */
int imap_fail(struct imap *s, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Replace the capability list from a list of atoms. */
void imap_set_caps_from_args(struct imap *s, const struct imap_arg *args, size_t n);
void imap_trace(struct imap *s, const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A session over an open transport (taken over); then read the greeting
 * (after the untagged handler is set, so a valid greeting reaches it).
 * The response parser alone decides what the greeting is: "* OK" makes the
 * session NONAUTH, "* PREAUTH" AUTH (IMAP_ABORT on an unencrypted link when
 * opts.require_tls); a BYE, or anything that does not parse as one of the
 * three, is IMAP_ERROR ("* BYE": why the server refused) and the session
 * stays in LOGOUT. */
struct imap *imap_session_new(struct transport *t, const struct imap_opts *o);
int imap_session_greet(struct imap *s);
/* What is left of the time limit (imap_set_time_limit) in ms: -1 when
 * there is none, 0 when it has passed. */
int imap_time_limit_left(const struct imap *s);
/* ---- between the client's files, each calling only those before it:
 * session.c (errors, state), cmd.c, pump.c, idle.c, raw.c, open.c ---- */

/* Protocol text for traces and errors, control bytes escaped, appended to b. */
void session_add_printable(struct buf *b, const char *p, size_t n);
/* Forgets the capability list (session.c). */
void session_free_caps(struct imap *s);
/* A trace line of server or client text, unprintable bytes escaped. */
void session_trace_text(struct imap *s, const char *dir, const char *p, size_t n);
/* Records r's response code on c, its arguments one by one (cmd.c). */
void session_cmd_set_code(struct imap_cmd *c, const struct imap_resp *r);
/* Takes c off its session's list of unfinished commands (cmd.c). */
void session_cmd_unlink(struct imap_cmd *c);
/* The session's literal hook (pump.c): counts literal bytes as progress,
 * then hands them to the caller's hook (imap_set_literal_hook). */
bool session_counted_hook(void *ctx, const struct imap_response *so_far, uint64_t size,
			  struct imap_sink *sink);
/* The pipeline (pump.c).  emit_pending moves queued commands into the out
 * buffer; flush_some writes what the link takes now; read_some reads what
 * has arrived; process_one handles one buffered response (1), needs more
 * input (0) or aborts (<0); wait_for waits up to ms (-1: no limit) for the
 * link to be readable (or writable when want_write): 1 ready, 0 timed out,
 * IMAP_ABORT; wait_io waits for whatever the session needs now, wait_io_or
 * also ends (0) when wake_fd (>= 0) is readable.  All but process_one and
 * the waits return 0 or IMAP_ABORT. */
int session_emit_pending(struct imap *s);
int session_flush_some(struct imap *s);
int session_read_some(struct imap *s);
int session_process_one(struct imap *s);
int session_wait_for(struct imap *s, bool want_read, bool want_write, int ms);
int session_wait_io(struct imap *s, int ms);
int session_wait_io_or(struct imap *s, int ms, int wake_fd);

/* TLS handshake on the open connection after STARTTLS succeeded; aborts if
 * any byte arrived before the handshake. */
int imap_tls_upgrade(struct imap *s, const struct tls_opts *o);

#endif
