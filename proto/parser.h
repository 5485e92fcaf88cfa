/* parser.h: incremental IMAP response parser with hard limits (framing in
 * parser.c, structure in resp.c).
 *
 * Two layers:
 *  - framing (imap_parser_*): bytes in, complete responses out.  A response
 *    is the text of its line(s) plus the literals embedded in it
 *    ("{N}" CRLF followed by N bytes).  Feeding never blocks and works one
 *    byte at a time.  Literals are kept in memory, or streamed to a sink chosen
 *    by the literal hook so a message body is never buffered whole.
 *  - structure (imap_resp_parse): a framed response split into tag, number,
 *    name, response code, text and a tree of arguments.
 *
 * Errors: IMAP_PARSE_ERROR drops one response but leaves the stream in sync
 * (the caller may go on); IMAP_PARSE_ABORT means the stream can no longer be
 * trusted and the connection must be closed.  imap_parser_error() says why.
 * ABORT is sticky: every later feed returns it until imap_parser_reset().
 *
 * Framing decisions (servers are hostile):
 *  - bare LF (not after CR) => ABORT; a lone CR not followed by LF is text.
 *  - a NUL byte in a line => ERROR for that response (C-string users would
 *    cut the text at it); literals may hold any byte.
 *  - "{N+}" at the end of a line is text, not a literal (LITERAL+ is for
 *    clients only; imaplib and isync agree).  literal8 "~{N}" is a literal.
 *  - a response whose text exceeds max_line is skipped up to the CRLF of the
 *    line that went over (a literal that line announced is ignored), then
 *    ERROR.
 * Memory: everything a response points to is owned by the parser and stays
 * valid until the next imap_parser_feed() or imap_parser_free().
 */
#ifndef IMAPFS_PARSER_H
#define IMAPFS_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* Memory: a response costs at most max_line + max_mem_literal bytes (plus
 * bookkeeping), whatever the server sends.  Only a literal the literal hook
 * streams (a message body going to the disk cache) may be larger, up to
 * max_literal; every other literal (a mailbox name, a header in a LIST or
 * FETCH reply, an unsolicited body nobody asked to stream) is metadata, and
 * a response whose in-memory literals would pass max_mem_literal aborts
 * when the literal is announced, before any byte of it is read.  Clients
 * that keep bodies in memory (the imap4 tool, like Python's imaplib) raise
 * max_mem_literal. */
struct imap_parser_limits {
	size_t max_line;        /* text of one response, literals excluded; 0 = 16 MiB */
	uint64_t max_literal;   /* largest literal announcement accepted; 0 = 2 GiB */
	size_t max_mem_literal; /* in-memory literal bytes per response; 0 = 1 MiB */
	size_t max_pieces;      /* literals per response; 0 = 100000 */
	unsigned max_depth;     /* list nesting (imap_resp_parse); 0 = 100 */
};

enum imap_parse_result {
	IMAP_PARSE_MORE = 0,  /* all input consumed, response not complete yet */
	IMAP_PARSE_DONE,      /* a response is complete: imap_parser_response() */
	IMAP_PARSE_ERROR,     /* a response was dropped (e.g. line too long); in sync again */
	IMAP_PARSE_ABORT,     /* stream unusable (bare LF, huge literal, sink failure) */
};

/* Where a literal goes when the hook claims it.  write() gets the bytes in
 * order (any chunking); returning < 0 aborts the parse; without write the
 * bytes are read past (and earn a command no time, imap.h).  done(), when
 * set, is called exactly once: ok = true after the last byte, ok = false if
 * the literal is cut short (abort, imap_parser_free, imap_parser_reset). */
struct imap_sink {
	int (*write)(void *ctx, const void *p, size_t n);
	void (*done)(void *ctx, bool ok);
	void *ctx;
};

struct imap_literal {
	const char *data;  /* in-memory bytes (NUL-terminated), NULL when streamed */
	uint64_t len;
	bool streamed;     /* went to a sink */
};

/* A response is a list of pieces in the same shape as Python's imaplib:
 * [(text0, literal0), (text1, literal1), ..., textN].  Each text is one line
 * without its CRLF and NUL-terminated; a piece's text ends with the "{N}"
 * announcement when has_literal is set. */
struct imap_piece {
	const char *text;
	size_t text_len;
	bool has_literal;
	struct imap_literal lit;
};

struct imap_response {
	size_t npieces;
	const struct imap_piece *pieces;
};

struct imap_parser;

/* Called when a literal of size bytes is announced; so_far holds the pieces
 * up to and including the text that announced it (its lit.len is size, its
 * lit.data NULL) and is valid only during the call.  Return true after filling
 * *sink to stream the literal, false to keep it in memory.  The hook must not
 * feed, reset or free the parser; it may call imap_resp_parse() on so_far. */
typedef bool (*imap_literal_hook)(void *ctx, const struct imap_response *so_far,
				  uint64_t size, struct imap_sink *sink);

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser *p);
void imap_parser_reset(struct imap_parser *p);  /* forget any partial response */
void imap_parser_set_literal_hook(struct imap_parser *p, imap_literal_hook hook, void *ctx);
const struct imap_parser_limits *imap_parser_limits(const struct imap_parser *p);

/* Consume bytes from data[0..n).  *used says how many were taken; on DONE
 * or ERROR the rest is left for the next call.  A line that ends with
 * "{N}" announces a literal, except in continuation ("+") lines. */
enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data,
					size_t n, size_t *used);
/* The response of the last DONE; NULL after any other result. */
const struct imap_response *imap_parser_response(const struct imap_parser *p);
const char *imap_parser_error(const struct imap_parser *p);

/* ---- structure ---- */

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* also numbers, flags (\Seen), BODY[HEADER.FIELDS (A B)]<0> */
	IMAP_ARG_STRING,   /* quoted string, unescaped */
	IMAP_ARG_LITERAL,  /* literal; str/len set when in memory */
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;   /* ATOM, STRING, in-memory LITERAL: NUL-terminated */
	size_t len;
	const struct imap_literal *lit;   /* LITERAL */
	const struct imap_arg *list;      /* LIST elements */
	size_t count;                     /* LIST element count */
};

enum imap_resp_kind { IMAP_RESP_UNTAGGED, IMAP_RESP_TAGGED, IMAP_RESP_CONTINUATION };

struct imap_resp {
	enum imap_resp_kind kind;
	const char *tag;          /* TAGGED */
	bool has_number;          /* "* 12 FETCH ..." */
	uint32_t number;
	const char *name;         /* upper-cased: OK NO BAD BYE PREAUTH CAPABILITY FETCH EXISTS ...;
				     "" for a continuation */
	/* Status responses (OK/NO/BAD/BYE/PREAUTH) and continuations: */
	const char *code;         /* response code name upper-cased ("UIDVALIDITY"), or NULL */
	const struct imap_arg *code_args; size_t code_nargs;  /* arguments inside [...] */
	const char *code_raw;     /* text between "[CODE " and "]", or NULL */
	const char *text;         /* human-readable text ("" if none) */
	/* Everything else: the arguments after the name. */
	const struct imap_arg *args;
	size_t nargs;
};

/* Split a framed response.  Returns 0, or -1 with a message appended to err
 * when the response is malformed (an error, not an abort: framing is intact).
 * The result points into r and into storage owned by the parser p; it is
 * valid as long as r is and until the next imap_resp_parse() on p (each call
 * reuses that storage).  tag is "*" for untagged and "+" for continuations.
 * code_raw is NULL for a code without arguments; arguments of a code that
 * do not tokenize leave code_nargs 0 (the code and code_raw are kept).  The
 * text of a status response is the rest of its first line.  Given the
 * so_far of the literal hook, lists left open at the cut are closed. */
int imap_resp_parse(struct imap_parser *p, const struct imap_response *r,
		    struct imap_resp *out, struct buf *err);

/* Helpers over arguments. */
bool imap_arg_is_atom(const struct imap_arg *a, const char *upper);  /* case-insensitive match */
bool imap_arg_number(const struct imap_arg *a, uint64_t *out);       /* atom of digits */
bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len); /* string/literal/NIL */
/* An astring (RFC 3501): an atom, a quoted string or an in-memory literal
 * (a mailbox name, say); NIL is not one. */
bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len);

#endif
