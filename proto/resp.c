/* resp.c: the structure layer of parser.h: a framed response split into
 * tag, number, name, response code, text and a tree of arguments.
 *
 * Everything is allocated from the store (store.h), whose pointers never
 * move during one imap_resp_parse() call; lists are built on an explicit
 * stack, never by recursion, so nesting costs no C stack whatever max_depth
 * is.  Every scan is linear in the response. */
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

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Where a piece's literal announcement ("{N}" or literal8's "~{N}") starts. */
static size_t literal_start(const char *s, size_t len)
{
	uint64_t size;
	bool overflow;
	if (!parser_literal_announced(s, len, &size, &overflow))
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
static void token_atom(struct resp_store *st, struct cursor *c)
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
	struct imap_arg *a = resp_store_push(st, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM);
	a->str = resp_store_strdup(st, c->s + start, n, false);
	a->len = n;
	c->pos = i;
}

static bool quoted_escape(const struct cursor *c, size_t i)
{
	return c->s[i] == '\\' && i + 1 < c->end && (c->s[i + 1] == '\\' || c->s[i + 1] == '"');
}

/* \\ and \" are unescaped; any other backslash is kept as it is. */
static int token_quoted(struct resp_store *st, struct cursor *c, struct buf *err)
{
	size_t i = c->pos + 1;
	while (i < c->end && c->s[i] != '"')
		i += quoted_escape(c, i) ? 2 : 1;
	if (i >= c->end) {
		buf_adderr(err, "unterminated quoted string");
		return -1;
	}
	char *d = resp_store_alloc(st, i - c->pos);
	size_t n = 0;
	for (size_t k = c->pos + 1; k < i; k++) {
		if (quoted_escape(c, k))
			k++;
		d[n++] = c->s[k];
	}
	d[n] = '\0';
	struct imap_arg *a = resp_store_push(st, IMAP_ARG_STRING);
	a->str = d;
	a->len = n;
	c->pos = i + 1;
	return 0;
}

static void token_literal(struct resp_store *st, const struct cursor *c)
{
	const struct imap_literal *lit = &c->r->pieces[c->pi].lit;
	struct imap_arg *a = resp_store_push(st, IMAP_ARG_LITERAL);
	a->lit = lit;
	if (!lit->streamed && lit->data) {
		a->str = lit->data;
		a->len = (size_t)lit->len;
	}
}

static void list_close(struct resp_store *st, size_t start)
{
	size_t count;
	const struct imap_arg *elems = resp_store_take(st, start, &count);
	struct imap_arg *a = resp_store_push(st, IMAP_ARG_LIST);
	a->list = elems;
	a->count = count;
}

/* Tokenizes up to the end of the cursor's range.  With partial (a response
 * cut at a literal, as the literal hook sees it) open lists are closed at the
 * end instead of being an error. */
static int args_parse(struct resp_store *st, struct cursor *c, bool partial,
		      const struct imap_arg **out, size_t *nout, struct buf *err)
{
	size_t base = st->npend, nopen = 0;
	*out = NULL;
	*nout = 0;
	for (;;) {
		if (c->pos >= c->end) {
			if (c->single)
				break;
			if (c->at_literal) {
				token_literal(st, c);
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
			if (nopen >= st->max_depth) {
				buf_adderr(err, "lists nested deeper than %u", st->max_depth);
				goto fail;
			}
			if (nopen == st->opens_cap) {
				st->opens_cap = st->opens_cap ? st->opens_cap * 2 : 16;
				st->opens = xrealloc(st->opens, st->opens_cap * sizeof *st->opens);
			}
			st->opens[nopen++] = st->npend;
			c->pos++;
		} else if (ch == ')') {
			if (nopen == 0) {
				buf_adderr(err, "unexpected ')'");
				goto fail;
			}
			list_close(st, st->opens[--nopen]);
			c->pos++;
		} else if (ch == '"') {
			if (token_quoted(st, c, err) < 0)
				goto fail;
		} else {
			token_atom(st, c);
		}
	}
	if (nopen && !partial) {
		buf_adderr(err, "unterminated list");
		goto fail;
	}
	while (nopen)
		list_close(st, st->opens[--nopen]);
	*out = resp_store_take(st, base, nout);
	return 0;
fail:
	st->npend = base;
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
static void resp_text(struct resp_store *st, const struct imap_response *r, size_t pos,
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
			out->code = resp_store_strdup(st, s + name, name_end - name, true);
			if (name_end < close) {
				size_t raw = name_end + 1;
				out->code_raw = resp_store_strdup(st, s + raw, close - raw, false);
				struct cursor c;
				cursor_start(&c, r);
				c.single = true;
				c.at_literal = false;
				c.pos = raw;
				c.end = close;
				/* A malformed argument list keeps the code and its raw text. */
				if (args_parse(st, &c, false, &out->code_args, &out->code_nargs, NULL) < 0) {
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
	va_list ap;
	va_start(ap, fmt);
	buf_vadderr(err, fmt, ap);
	va_end(ap);
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
	struct resp_store **slot = parser_resp_store(p);
	if (!*slot)
		*slot = xcalloc(1, sizeof **slot);
	struct resp_store *st = *slot;
	st->max_depth = imap_parser_limits(p)->max_depth;
	resp_store_reset(st);
	if (!r || !r->npieces || !r->pieces || !r->pieces[0].text)
		return resp_fail(err, "empty response");
	struct cursor c;
	cursor_start(&c, r);
	if (c.end == 0)
		return resp_fail(err, "empty response line");

	if (c.s[0] == '+') {
		out->kind = IMAP_RESP_CONTINUATION;
		out->tag = "+";
		resp_text(st, r, 1, out);
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
		out->tag = resp_store_strdup(st, c.s, w, false);
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
	out->name = resp_store_strdup(st, c.s + pos, name_end - pos, true);
	pos = name_end;

	if (is_status_name(out->name)) {
		resp_text(st, r, pos, out);
		return 0;
	}
	c.pos = pos;
	bool partial = r->pieces[r->npieces - 1].has_literal;
	return args_parse(st, &c, partial, &out->args, &out->nargs, err);
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

bool imap_arg_astring(const struct imap_arg *a, const char **s, size_t *len)
{
	if (!a || a->type == IMAP_ARG_NIL || a->type == IMAP_ARG_LIST || !a->str)
		return false;
	*s = a->str;
	*len = a->len;
	return true;
}
