/* parser.c: incremental IMAP response framing with hard limits, and the split
 * of a framed response into tag, name, response code and arguments.
 *
 * Framing keeps the text of every line of the current response in one buffer
 * (each line followed by a NUL) and in-memory literals in another; pieces
 * are recorded as offsets because both buffers move when they grow, and the
 * public view (struct imap_piece) is refreshed from the offsets on demand.
 *
 * The structure layer allocates from an arena that only grows during one
 * imap_resp_parse() call, so pointers it hands out never move; lists are
 * built on an explicit stack, never by recursion. */
#include "config.h"
#include "parser.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define DEFAULT_MAX_LINE ((size_t)16 << 20)
#define DEFAULT_MAX_LITERAL ((uint64_t)2 << 30)
#define DEFAULT_MAX_MEM_LITERAL ((size_t)256 << 20)
#define DEFAULT_MAX_PIECES ((size_t)100000)
#define DEFAULT_MAX_DEPTH 100u

/* Storage grown past this by one big response is released instead of being
 * kept for the next one, so a single huge literal does not pin memory. */
#define KEEP_MAX ((size_t)1 << 20)
#define ARENA_MIN_BLOCK ((size_t)4096)

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

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	max_align_t data[];
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

	/* imap_resp_parse() storage */
	struct arena_block *arena;
	struct imap_arg *pend;  /* arguments of the lists still open */
	size_t npend, pend_cap;
	size_t *opens;          /* index in pend where each open list starts */
	size_t opens_cap;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* ---- framing ---- */

static void buf_trim(struct buf *b)
{
	if (b->cap > KEEP_MAX)
		buf_free(b);
	else
		buf_reset(b);
}

static void response_begin(struct imap_parser *p)
{
	buf_trim(&p->text);
	buf_trim(&p->lits);
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

/* Does the line end with "{N}"?  Returns false if not; sets *overflow when N
 * does not fit in 64 bits.  "{N+}" (LITERAL+) is a client-only form and is
 * taken as text, as imaplib and isync do. */
static bool literal_announced(const char *s, size_t len, uint64_t *size, bool *overflow)
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
			return frame_abort(p, "literals of one response exceed %zu bytes in memory",
					   p->lim.max_mem_literal);
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
	if (continuation || !literal_announced(line, len, &size, &overflow)) {
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

static void arena_free_all(struct imap_parser *p)
{
	while (p->arena) {
		struct arena_block *b = p->arena;
		p->arena = b->next;
		free(b);
	}
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
	arena_free_all(p);
	free(p->pend);
	free(p->opens);
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

/* ---- structure ---- */

static void arena_reset(struct imap_parser *p)
{
	struct arena_block *keep = p->arena;
	if (!keep)
		return;
	struct arena_block *b = keep->next;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	keep->next = NULL;
	keep->used = 0;
	if (keep->size > KEEP_MAX) {
		free(keep);
		p->arena = NULL;
	}
}

static void *arena_alloc(struct imap_parser *p, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n > SIZE_MAX / 2)
		abort();  /* cannot happen: n is bounded by data already in memory */
	n = (n + align - 1) / align * align;
	struct arena_block *b = p->arena;
	if (!b || b->size - b->used < n) {
		size_t size = b ? b->size * 2 : ARENA_MIN_BLOCK;
		if (size > KEEP_MAX)
			size = KEEP_MAX;
		if (size < n)
			size = n;
		b = xmalloc(sizeof *b + size);
		b->next = p->arena;
		b->size = size;
		b->used = 0;
		p->arena = b;
	}
	void *r = (char *)b->data + b->used;
	b->used += n;
	return r;
}

static char *arena_strdup(struct imap_parser *p, const char *s, size_t n, bool upper)
{
	char *d = arena_alloc(p, n + 1);
	for (size_t i = 0; i < n; i++)
		d[i] = upper ? ascii_upper(s[i]) : s[i];
	d[n] = '\0';
	return d;
}

static struct imap_arg *pend_push(struct imap_parser *p, enum imap_arg_type type)
{
	if (p->npend == p->pend_cap) {
		p->pend_cap = p->pend_cap ? p->pend_cap * 2 : 32;
		p->pend = xrealloc(p->pend, p->pend_cap * sizeof *p->pend);
	}
	struct imap_arg *a = &p->pend[p->npend++];
	memset(a, 0, sizeof *a);
	a->type = type;
	return a;
}

/* Moves pend[start..] into the arena; pend is cut back to start. */
static const struct imap_arg *pend_take(struct imap_parser *p, size_t start, size_t *count)
{
	size_t n = p->npend - start;
	struct imap_arg *a = NULL;
	if (n) {
		a = arena_alloc(p, n * sizeof *a);
		memcpy(a, p->pend + start, n * sizeof *a);
	}
	p->npend = start;
	*count = n;
	return a;
}

static void resp_storage_reset(struct imap_parser *p)
{
	arena_reset(p);
	p->npend = 0;
	if (p->pend_cap * sizeof *p->pend > KEEP_MAX) {
		free(p->pend);
		p->pend = NULL;
		p->pend_cap = 0;
	}
}

/* Where a piece's literal announcement ("{N}" or literal8's "~{N}") starts. */
static size_t literal_start(const char *s, size_t len)
{
	uint64_t size;
	bool overflow;
	if (!literal_announced(s, len, &size, &overflow))
		return len;
	size_t k = len - 1;
	while (s[k] != '{')
		k--;
	if (k > 0 && s[k - 1] == '~')
		k--;
	return k;
}

/* Reads the arguments of a response across its pieces, or the text between
 * two offsets of one piece (single). */
struct cursor {
	const struct imap_response *r;
	size_t pi;
	const char *s;
	size_t pos, end;        /* tokens lie in s[pos..end) */
	bool at_literal;        /* s[end..] announces the piece's literal */
	bool single;
	size_t close_from;      /* the first ']' at or after close_from ... */
	size_t close_at;        /* ... is at close_at (end when there is none) */
};

static void cursor_piece(struct cursor *c, size_t pi)
{
	const struct imap_piece *pc = &c->r->pieces[pi];
	c->pi = pi;
	c->s = pc->text ? pc->text : "";
	size_t len = pc->text ? pc->text_len : 0;
	c->pos = 0;
	c->end = pc->has_literal ? literal_start(c->s, len) : len;
	c->at_literal = pc->has_literal;
	c->single = false;
	c->close_from = SIZE_MAX;
	c->close_at = 0;
}

static void cursor_start(struct cursor *c, const struct imap_response *r)
{
	c->r = r;
	cursor_piece(c, 0);
}

/* Amortised linear: a search starts where the previous one found nothing
 * more to see, so no byte is scanned twice. */
static size_t cursor_next_close(struct cursor *c, size_t from)
{
	if (c->close_from > from || c->close_at < from) {
		const char *q = memchr(c->s + from, ']', c->end - from);
		c->close_from = from;
		c->close_at = q ? (size_t)(q - c->s) : c->end;
	}
	return c->close_at;
}

static bool atom_stop(char ch)
{
	return ch == ' ' || ch == '(' || ch == ')' || ch == '\r' || ch == '\n';
}

/* An atom runs to SP, a paren or the end; "[" opens a section that runs to
 * the next "]" and may hold SP and parens (BODY[HEADER.FIELDS (A B)]<0>).  A
 * "[" with no "]" after it, and a "]" with no "[", are ordinary characters. */
static void token_atom(struct imap_parser *p, struct cursor *c)
{
	size_t start = c->pos, i = c->pos;
	while (i < c->end && !atom_stop(c->s[i])) {
		if (c->s[i] == '[') {
			size_t close = cursor_next_close(c, i + 1);
			if (close < c->end) {
				i = close + 1;
				continue;
			}
		}
		i++;
	}
	size_t n = i - start;
	bool nil = n == 3 && ascii_upper(c->s[start]) == 'N' && ascii_upper(c->s[start + 1]) == 'I' &&
		   ascii_upper(c->s[start + 2]) == 'L';
	struct imap_arg *a = pend_push(p, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM);
	a->str = arena_strdup(p, c->s + start, n, false);
	a->len = n;
	c->pos = i;
}

static bool quoted_escape(const struct cursor *c, size_t i)
{
	return c->s[i] == '\\' && i + 1 < c->end && (c->s[i + 1] == '\\' || c->s[i + 1] == '"');
}

/* \\ and \" are unescaped; any other backslash is kept as it is. */
static int token_quoted(struct imap_parser *p, struct cursor *c, struct buf *err)
{
	size_t i = c->pos + 1;
	while (i < c->end && c->s[i] != '"')
		i += quoted_escape(c, i) ? 2 : 1;
	if (i >= c->end) {
		if (err)
			buf_addstr(err, "unterminated quoted string");
		return -1;
	}
	char *d = arena_alloc(p, i - c->pos);
	size_t n = 0;
	for (size_t k = c->pos + 1; k < i; k++) {
		if (quoted_escape(c, k))
			k++;
		d[n++] = c->s[k];
	}
	d[n] = '\0';
	struct imap_arg *a = pend_push(p, IMAP_ARG_STRING);
	a->str = d;
	a->len = n;
	c->pos = i + 1;
	return 0;
}

static void token_literal(struct imap_parser *p, const struct cursor *c)
{
	const struct imap_literal *lit = &c->r->pieces[c->pi].lit;
	struct imap_arg *a = pend_push(p, IMAP_ARG_LITERAL);
	a->lit = lit;
	if (!lit->streamed && lit->data) {
		a->str = lit->data;
		a->len = (size_t)lit->len;
	}
}

static void list_close(struct imap_parser *p, size_t start)
{
	size_t count;
	const struct imap_arg *elems = pend_take(p, start, &count);
	struct imap_arg *a = pend_push(p, IMAP_ARG_LIST);
	a->list = elems;
	a->count = count;
}

/* Tokenizes up to the end of the cursor's range.  With partial (a response
 * cut at a literal, as the literal hook sees it) open lists are closed at the
 * end instead of being an error. */
static int args_parse(struct imap_parser *p, struct cursor *c, bool partial,
		      const struct imap_arg **out, size_t *nout, struct buf *err)
{
	size_t base = p->npend, nopen = 0;
	*out = NULL;
	*nout = 0;
	for (;;) {
		if (c->pos >= c->end) {
			if (c->single)
				break;
			if (c->at_literal) {
				token_literal(p, c);
				c->at_literal = false;
			}
			if (c->pi + 1 >= c->r->npieces)
				break;
			cursor_piece(c, c->pi + 1);
			continue;
		}
		char ch = c->s[c->pos];
		if (ch == ' ' || ch == '\r') {
			c->pos++;
		} else if (ch == '(') {
			if (nopen >= p->lim.max_depth) {
				if (err)
					buf_addf(err, "lists nested deeper than %u", p->lim.max_depth);
				goto fail;
			}
			if (nopen == p->opens_cap) {
				p->opens_cap = p->opens_cap ? p->opens_cap * 2 : 16;
				p->opens = xrealloc(p->opens, p->opens_cap * sizeof *p->opens);
			}
			p->opens[nopen++] = p->npend;
			c->pos++;
		} else if (ch == ')') {
			if (nopen == 0) {
				if (err)
					buf_addstr(err, "unexpected ')'");
				goto fail;
			}
			list_close(p, p->opens[--nopen]);
			c->pos++;
		} else if (ch == '"') {
			if (token_quoted(p, c, err) < 0)
				goto fail;
		} else {
			token_atom(p, c);
		}
	}
	if (nopen && !partial) {
		if (err)
			buf_addstr(err, "unterminated list");
		goto fail;
	}
	while (nopen)
		list_close(p, p->opens[--nopen]);
	*out = pend_take(p, base, nout);
	return 0;
fail:
	p->npend = base;
	return -1;
}

/* The "]" that closes a response code opened before from: quoted strings,
 * parenthesised lists and nested brackets are skipped so that flags like
 * "foo]bar" in PERMANENTFLAGS survive.  Falls back to the first "]";
 * returns len when there is none. */
static size_t code_end(const char *s, size_t from, size_t len)
{
	size_t paren = 0, bracket = 0;
	bool quoted = false;
	for (size_t i = from; i < len; i++) {
		char ch = s[i];
		if (quoted) {
			if (ch == '\\' && i + 1 < len)
				i++;
			else if (ch == '"')
				quoted = false;
			continue;
		}
		if (ch == '"') {
			quoted = true;
		} else if (ch == '(') {
			paren++;
		} else if (ch == ')') {
			if (paren)
				paren--;
		} else if (ch == '[') {
			bracket++;
		} else if (ch == ']') {
			if (bracket)
				bracket--;
			else if (!paren)
				return i;
		}
	}
	const char *q = memchr(s + from, ']', len - from);
	return q ? (size_t)(q - s) : len;
}

/* resp-text: an optional "[CODE args]" and the human text, in piece 0. */
static void resp_text(struct imap_parser *p, const struct imap_response *r, size_t pos,
		      struct imap_resp *out)
{
	const char *s = r->pieces[0].text;
	size_t len = r->pieces[0].text_len;
	while (pos < len && s[pos] == ' ')
		pos++;
	if (pos < len && s[pos] == '[') {
		size_t close = code_end(s, pos + 1, len);
		size_t name = pos + 1, name_end = name;
		while (name_end < close && s[name_end] != ' ')
			name_end++;
		if (close < len && name_end > name) {
			out->code = arena_strdup(p, s + name, name_end - name, true);
			if (name_end < close) {
				size_t raw = name_end + 1;
				out->code_raw = arena_strdup(p, s + raw, close - raw, false);
				struct cursor c;
				cursor_start(&c, r);
				c.single = true;
				c.at_literal = false;
				c.pos = raw;
				c.end = close;
				/* A malformed argument list keeps the code and its raw text. */
				if (args_parse(p, &c, false, &out->code_args, &out->code_nargs, NULL) < 0) {
					out->code_args = NULL;
					out->code_nargs = 0;
				}
			}
			pos = close + 1;
			while (pos < len && s[pos] == ' ')
				pos++;
		}
	}
	out->text = s + pos;
}

static bool is_status_name(const char *name)
{
	static const char *const names[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

__attribute__((format(printf, 2, 3)))
static int resp_fail(struct buf *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		buf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static size_t word_end(const struct cursor *c, size_t i)
{
	while (i < c->end && c->s[i] != ' ')
		i++;
	return i;
}

static size_t skip_spaces(const struct cursor *c, size_t i)
{
	while (i < c->end && c->s[i] == ' ')
		i++;
	return i;
}

int imap_resp_parse(struct imap_parser *p, const struct imap_response *r,
		    struct imap_resp *out, struct buf *err)
{
	memset(out, 0, sizeof *out);
	out->text = "";
	out->name = "";
	resp_storage_reset(p);
	if (!r || !r->npieces || !r->pieces || !r->pieces[0].text)
		return resp_fail(err, "empty response");
	struct cursor c;
	cursor_start(&c, r);
	if (c.end == 0)
		return resp_fail(err, "empty response line");

	if (c.s[0] == '+') {
		out->kind = IMAP_RESP_CONTINUATION;
		out->tag = "+";
		resp_text(p, r, 1, out);
		return 0;
	}
	size_t w = word_end(&c, 0);
	if (w == 1 && c.s[0] == '*') {
		out->kind = IMAP_RESP_UNTAGGED;
		out->tag = "*";
	} else if (w == 0) {
		return resp_fail(err, "response starts with a space");
	} else {
		out->kind = IMAP_RESP_TAGGED;
		out->tag = arena_strdup(p, c.s, w, false);
	}
	size_t pos = skip_spaces(&c, w);

	if (out->kind == IMAP_RESP_UNTAGGED && pos < c.end && is_digit(c.s[pos])) {
		size_t d = pos;
		uint64_t v = 0;
		for (; d < c.end && is_digit(c.s[d]); d++)
			if (v <= UINT32_MAX)
				v = v * 10 + (uint64_t)(c.s[d] - '0');
		if (d == c.end || c.s[d] == ' ') {
			if (v > UINT32_MAX)
				return resp_fail(err, "message number out of range");
			out->has_number = true;
			out->number = (uint32_t)v;
			pos = skip_spaces(&c, d);
		}
	}
	size_t name_end = pos;
	while (name_end < c.end && c.s[name_end] != ' ' && c.s[name_end] != '(')
		name_end++;
	if (name_end == pos)
		return resp_fail(err, "response without a name");
	out->name = arena_strdup(p, c.s + pos, name_end - pos, true);
	pos = name_end;

	if (is_status_name(out->name)) {
		resp_text(p, r, pos, out);
		return 0;
	}
	c.pos = pos;
	bool partial = r->pieces[r->npieces - 1].has_literal;
	return args_parse(p, &c, partial, &out->args, &out->nargs, err);
}

/* ---- helpers over arguments ---- */

bool imap_arg_is_atom(const struct imap_arg *a, const char *upper)
{
	if (!a || !upper || !a->str || (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL))
		return false;
	size_t i = 0;
	for (; i < a->len; i++)
		if (!upper[i] || ascii_upper(a->str[i]) != ascii_upper(upper[i]))
			return false;
	return upper[i] == '\0';
}

bool imap_arg_number(const struct imap_arg *a, uint64_t *out)
{
	if (!a || a->type != IMAP_ARG_ATOM || !a->str || a->len == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < a->len; i++) {
		if (!is_digit(a->str[i]))
			return false;
		unsigned d = (unsigned)(a->str[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (out)
		*out = v;
	return true;
}

bool imap_arg_nstring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (!a)
		return false;
	const char *str = NULL;
	size_t n = 0;
	switch (a->type) {
	case IMAP_ARG_NIL:
		break;
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		if (!a->str)
			return false;  /* a streamed literal: its bytes went to a sink */
		str = a->str;
		n = a->len;
		break;
	case IMAP_ARG_ATOM:
	case IMAP_ARG_LIST:
		return false;
	}
	if (s)
		*s = str;
	if (len)
		*len = n;
	return true;
}
