/* parser.c: the framing layer of parser.h: bytes in, complete responses out,
 * within hard limits.  The structure layer is resp.c.
 *
 * The text of every line of the current response is kept in one buffer (each
 * line followed by a NUL) and in-memory literals in another; pieces are
 * recorded as offsets because both buffers move when they grow, and the
 * public view (struct imap_piece) is refreshed from the offsets on demand. */
#include "config.h"
#include "parser.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "parser_int.h"
#include "store.h"

#define DEFAULT_MAX_LINE ((size_t)16 << 20)
#define DEFAULT_MAX_LITERAL ((uint64_t)2 << 30)
#define DEFAULT_MAX_MEM_LITERAL ((size_t)1 << 20)
#define DEFAULT_MAX_PIECES ((size_t)100000)
#define DEFAULT_MAX_DEPTH 100u

/* Storage grown past this by one big response is released instead of being
 * kept for the next one, so a single huge literal does not pin memory. */
#define KEEP_MAX ((size_t)1 << 20)

enum frame_state {
	FRAME_LINE,      /* reading the text of a line */
	FRAME_LITERAL,   /* reading literal bytes */
	FRAME_SKIP,      /* discarding an over-long line up to its CRLF */
	FRAME_FINISHED,  /* a response ended (DONE or ERROR); the next feed starts anew */
	FRAME_ABORTED,   /* stream unusable until imap_parser_reset() */
};

enum literal_dest { LIT_MEMORY, LIT_SINK, LIT_DROP };

struct piece_rec {
	size_t text_off, text_len;
	bool has_literal;
	bool streamed;
	bool in_memory;    /* literal complete and stored in lits at lit_off */
	uint64_t lit_len;
	size_t lit_off;
};

struct imap_parser {
	struct imap_parser_limits lim;
	imap_literal_hook hook;
	void *hook_ctx;

	enum frame_state state;
	enum imap_parse_result finished_as;
	struct buf err;

	struct buf text;        /* lines of the response, each followed by a NUL */
	struct buf lits;        /* in-memory literals, each followed by a NUL */
	size_t line_start;      /* offset in text of the line being read */
	size_t text_total;      /* line bytes of the response so far (max_line) */
	size_t mem_used;        /* in-memory literal bytes (max_mem_literal) */
	bool cr_pending;        /* the last byte was a CR: an LF now ends the line */
	bool bad_byte;          /* a NUL was seen: the response ends as an ERROR */

	struct piece_rec *recs;
	size_t nrecs, recs_cap;

	uint64_t lit_left;
	enum literal_dest lit_dest;
	struct imap_sink sink;
	bool sink_open;

	/* Public view of recs; entries below view_valid are current as long as
	 * the buffers have not moved since they were filled. */
	struct imap_piece *view;
	size_t view_cap, view_valid;
	const char *view_text_base, *view_lits_base;
	struct imap_response resp;

	struct resp_store *store;  /* imap_resp_parse() storage, made on first use */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void storage_trim(struct buf *b)
{
	if (b->cap > KEEP_MAX)
		buf_free(b);
	else
		buf_reset(b);
}

static void response_begin(struct imap_parser *p)
{
	storage_trim(&p->text);
	storage_trim(&p->lits);
	buf_reset(&p->err);
	if (p->recs_cap * sizeof *p->recs > KEEP_MAX) {
		free(p->recs);
		free(p->view);
		p->recs = NULL;
		p->view = NULL;
		p->recs_cap = p->view_cap = 0;
	}
	p->nrecs = 0;
	p->view_valid = 0;
	p->resp.npieces = 0;
	p->resp.pieces = NULL;
	p->line_start = 0;
	p->text_total = 0;
	p->mem_used = 0;
	p->cr_pending = false;
	p->bad_byte = false;
	p->lit_left = 0;
	p->state = FRAME_LINE;
}

static void sink_close(struct imap_parser *p, bool ok)
{
	if (!p->sink_open)
		return;
	p->sink_open = false;
	if (p->sink.done)
		p->sink.done(p->sink.ctx, ok);
}

__attribute__((format(printf, 2, 3)))
static enum imap_parse_result frame_abort(struct imap_parser *p, const char *fmt, ...)
{
	sink_close(p, false);
	buf_reset(&p->err);
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&p->err, fmt, ap);
	va_end(ap);
	p->state = FRAME_ABORTED;
	return IMAP_PARSE_ABORT;
}

static enum imap_parse_result frame_finish(struct imap_parser *p, enum imap_parse_result res)
{
	p->state = FRAME_FINISHED;
	p->finished_as = res;
	return res;
}

static void view_sync(struct imap_parser *p)
{
	if (p->view_cap < p->nrecs) {
		p->view_cap = p->recs_cap;
		p->view = xrealloc(p->view, p->view_cap * sizeof *p->view);
	}
	if (p->view_text_base != p->text.data || p->view_lits_base != p->lits.data) {
		p->view_valid = 0;
		p->view_text_base = p->text.data;
		p->view_lits_base = p->lits.data;
	}
	for (size_t k = p->view_valid; k < p->nrecs; k++) {
		const struct piece_rec *r = &p->recs[k];
		struct imap_piece *v = &p->view[k];
		v->text = p->text.data + r->text_off;
		v->text_len = r->text_len;
		v->has_literal = r->has_literal;
		v->lit.data = r->in_memory ? p->lits.data + r->lit_off : NULL;
		v->lit.len = r->lit_len;
		v->lit.streamed = r->streamed;
	}
	/* The last piece may still change (its literal is being read). */
	p->view_valid = p->nrecs ? p->nrecs - 1 : 0;
	p->resp.npieces = p->nrecs;
	p->resp.pieces = p->view;
}

/* "{N+}" (LITERAL+) is a client-only form and is taken as text, as imaplib
 * and isync do. */
bool parser_literal_announced(const char *s, size_t len, uint64_t *size, bool *overflow)
{
	if (len < 3 || s[len - 1] != '}')
		return false;
	size_t k = len - 1;
	while (k > 0 && is_digit(s[k - 1]))
		k--;
	if (k == len - 1 || k == 0 || s[k - 1] != '{')
		return false;
	uint64_t v = 0;
	*overflow = false;
	for (size_t i = k; i < len - 1; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10) {
			*overflow = true;
			v = UINT64_MAX;
			break;
		}
		v = v * 10 + d;
	}
	*size = v;
	return true;
}

static void recs_push(struct imap_parser *p, size_t off, size_t len)
{
	if (p->nrecs == p->recs_cap) {
		p->recs_cap = p->recs_cap ? p->recs_cap * 2 : 8;
		p->recs = xrealloc(p->recs, p->recs_cap * sizeof *p->recs);
	}
	struct piece_rec *r = &p->recs[p->nrecs++];
	memset(r, 0, sizeof *r);
	r->text_off = off;
	r->text_len = len;
}

static enum imap_parse_result literal_end(struct imap_parser *p)
{
	struct piece_rec *r = &p->recs[p->nrecs - 1];
	if (p->lit_dest == LIT_SINK) {
		sink_close(p, true);
	} else if (p->lit_dest == LIT_MEMORY) {
		buf_addch(&p->lits, '\0');
		r->in_memory = true;
	}
	p->state = FRAME_LINE;
	p->line_start = p->text.len;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result literal_begin(struct imap_parser *p, uint64_t size)
{
	struct piece_rec *r = &p->recs[p->nrecs - 1];
	r->has_literal = true;
	r->lit_len = size;
	p->lit_left = size;
	p->lit_dest = LIT_MEMORY;
	if (p->bad_byte) {
		p->lit_dest = LIT_DROP;  /* the response is dropped anyway */
	} else if (p->hook) {
		struct imap_sink s = { 0 };
		view_sync(p);
		if (p->hook(p->hook_ctx, &p->resp, size, &s)) {
			p->sink = s;
			p->sink_open = true;
			p->lit_dest = LIT_SINK;
			r = &p->recs[p->nrecs - 1];
			r->streamed = true;
		}
	}
	if (p->lit_dest == LIT_MEMORY) {
		if (size > p->lim.max_mem_literal - p->mem_used)
			return frame_abort(p, "literals of one response exceed %zu bytes in memory "
					   "(a literal of %llu bytes announced)", p->lim.max_mem_literal,
					   (unsigned long long)size);
		p->mem_used += (size_t)size;
		r->lit_off = p->lits.len;
	}
	p->state = FRAME_LITERAL;
	if (size == 0)
		return literal_end(p);
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result line_end(struct imap_parser *p)
{
	size_t len = p->text.len - p->line_start;
	recs_push(p, p->line_start, len);
	buf_addch(&p->text, '\0');
	const char *line = p->text.data + p->line_start;
	bool continuation = p->nrecs == 1 && len > 0 && line[0] == '+';
	uint64_t size = 0;
	bool overflow = false;
	if (continuation || !parser_literal_announced(line, len, &size, &overflow)) {
		if (p->bad_byte)
			return frame_finish(p, IMAP_PARSE_ERROR);
		view_sync(p);
		return frame_finish(p, IMAP_PARSE_DONE);
	}
	if (overflow || size > p->lim.max_literal)
		return frame_abort(p, "literal of %s%llu bytes is over the limit of %llu",
				   overflow ? "more than " : "", (unsigned long long)size,
				   (unsigned long long)p->lim.max_literal);
	if (p->nrecs > p->lim.max_pieces)
		return frame_abort(p, "more than %zu literals in one response", p->lim.max_pieces);
	return literal_begin(p, size);
}

/* Appends line bytes unless max_line would be exceeded. */
static bool line_add(struct imap_parser *p, const char *s, size_t n)
{
	if (n > p->lim.max_line - p->text_total)
		return false;
	buf_add(&p->text, s, n);
	p->text_total += n;
	return true;
}

static void skip_begin(struct imap_parser *p)
{
	p->state = FRAME_SKIP;
	buf_reset(&p->err);
	buf_addf(&p->err, "response longer than %zu bytes dropped", p->lim.max_line);
}

static enum imap_parse_result feed_line(struct imap_parser *p, const char *d, size_t n, size_t *ip)
{
	size_t i = *ip;
	while (i < n) {
		char c = d[i];
		if (p->cr_pending) {
			p->cr_pending = false;
			if (c == '\n') {
				*ip = i + 1;
				return line_end(p);
			}
			/* A lone CR is text, as in Dovecot; c is looked at again. */
			if (!line_add(p, "\r", 1)) {
				skip_begin(p);
				break;
			}
			continue;
		}
		if (c == '\r') {
			p->cr_pending = true;
			i++;
		} else if (c == '\n') {
			*ip = i;
			return frame_abort(p, "bare LF in a response line");
		} else if (c == '\0') {
			if (p->text_total == p->lim.max_line) {
				skip_begin(p);
				break;
			}
			/* Not stored: C-string users would cut the text there. */
			p->text_total++;
			if (!p->bad_byte) {
				p->bad_byte = true;
				buf_reset(&p->err);
				buf_addstr(&p->err, "NUL byte in a response line");
			}
			i++;
		} else {
			size_t j = i + 1;
			while (j < n && d[j] != '\r' && d[j] != '\n' && d[j] != '\0')
				j++;
			if (!line_add(p, d + i, j - i)) {
				skip_begin(p);
				break;
			}
			i = j;
		}
	}
	*ip = i;
	return IMAP_PARSE_MORE;
}

/* An over-long line ends at its CRLF; a literal it may have announced cannot
 * be trusted and is not looked for. */
static enum imap_parse_result feed_skip(struct imap_parser *p, const char *d, size_t n, size_t *ip)
{
	size_t i = *ip;
	while (i < n) {
		char c = d[i];
		if (p->cr_pending) {
			p->cr_pending = false;
			if (c == '\n') {
				*ip = i + 1;
				return frame_finish(p, IMAP_PARSE_ERROR);
			}
			continue;
		}
		if (c == '\r') {
			p->cr_pending = true;
		} else if (c == '\n') {
			*ip = i;
			return frame_abort(p, "bare LF in a response line");
		}
		i++;
	}
	*ip = i;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result feed_literal(struct imap_parser *p, const char *d, size_t n,
					   size_t *ip)
{
	size_t i = *ip;
	size_t k = n - i;
	if ((uint64_t)k > p->lit_left)
		k = (size_t)p->lit_left;
	if (p->lit_dest == LIT_MEMORY) {
		buf_add(&p->lits, d + i, k);
	} else if (p->lit_dest == LIT_SINK && p->sink.write) {
		if (p->sink.write(p->sink.ctx, d + i, k) < 0) {
			*ip = i + k;
			return frame_abort(p, "literal sink failed");
		}
	}
	*ip = i + k;
	p->lit_left -= k;
	if (p->lit_left == 0)
		return literal_end(p);
	return IMAP_PARSE_MORE;
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data, size_t n,
					size_t *used)
{
	size_t i = 0;
	enum imap_parse_result res = IMAP_PARSE_MORE;
	if (p->state == FRAME_ABORTED) {
		if (used)
			*used = 0;
		return IMAP_PARSE_ABORT;
	}
	if (p->state == FRAME_FINISHED)
		response_begin(p);
	while (i < n && res == IMAP_PARSE_MORE) {
		switch (p->state) {
		case FRAME_LINE:
			res = feed_line(p, data, n, &i);
			break;
		case FRAME_SKIP:
			res = feed_skip(p, data, n, &i);
			break;
		case FRAME_LITERAL:
			res = feed_literal(p, data, n, &i);
			break;
		case FRAME_FINISHED:
		case FRAME_ABORTED:
			res = frame_abort(p, "parser in an impossible state");
			break;
		}
	}
	if (used)
		*used = i;
	return res;
}

const struct imap_response *imap_parser_response(const struct imap_parser *p)
{
	if (p->state == FRAME_FINISHED && p->finished_as == IMAP_PARSE_DONE)
		return &p->resp;
	return NULL;
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->err.data;
}

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof *p);
	if (limits)
		p->lim = *limits;
	if (!p->lim.max_line)
		p->lim.max_line = DEFAULT_MAX_LINE;
	if (!p->lim.max_literal)
		p->lim.max_literal = DEFAULT_MAX_LITERAL;
	if (!p->lim.max_mem_literal)
		p->lim.max_mem_literal = DEFAULT_MAX_MEM_LITERAL;
	if (!p->lim.max_pieces)
		p->lim.max_pieces = DEFAULT_MAX_PIECES;
	if (!p->lim.max_depth)
		p->lim.max_depth = DEFAULT_MAX_DEPTH;
	buf_init(&p->err);
	buf_init(&p->text);
	buf_init(&p->lits);
	response_begin(p);
	return p;
}

void imap_parser_free(struct imap_parser *p)
{
	if (!p)
		return;
	sink_close(p, false);
	buf_free(&p->err);
	buf_free(&p->text);
	buf_free(&p->lits);
	free(p->recs);
	free(p->view);
	resp_store_free(p->store);
	free(p);
}

void imap_parser_reset(struct imap_parser *p)
{
	sink_close(p, false);
	response_begin(p);
}

void imap_parser_set_literal_hook(struct imap_parser *p, imap_literal_hook hook, void *ctx)
{
	p->hook = hook;
	p->hook_ctx = ctx;
}

const struct imap_parser_limits *imap_parser_limits(const struct imap_parser *p)
{
	return &p->lim;
}

struct resp_store **parser_resp_store(struct imap_parser *p)
{
	return &p->store;
}
