/* check_parser_conv.c: the conversations that most check_parser tests
 * are written as: server bytes in, a transcript out.
 * The transcript has one line per event: DONE (the framed pieces "=>" the
 * parsed structure), ERROR, ABORT, HOOK (a literal announced, with the parse
 * of what came before it) and SINK (a streamed literal finished).  Every
 * input is fed whole, one byte at a time and in random chunk sizes, and all
 * ways must give the same transcript. */
#include "config.h"
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_parser_conv.h"
#include "parser.h"

/* ck_assert records every passing check in a file; the feed loops run
 * millions of checks, so they only call into Check on failure. */
#define FAST_TRUE(c) \
	do { \
		if (!(c)) \
			ck_abort_msg("%s:%d: failed: %s", __FILE__, __LINE__, #c); \
	} while (0)
#define FAST_EQ(a, b) FAST_TRUE((a) == (b))
#define FAST_LE(a, b) FAST_TRUE((a) <= (b))
#define FAST_LT(a, b) FAST_TRUE((a) < (b))
#define FAST_GT(a, b) FAST_TRUE((a) > (b))
#define FAST_NULL(a) FAST_TRUE((a) == NULL)
#define FAST_NONNULL(a) FAST_TRUE((a) != NULL)

struct sink_rec {
	struct buf bytes;
	struct buf *log;
	uint64_t fail_at;
	int done_calls;
	struct sink_rec *next;
};

struct run {
	const struct run_opts *o;
	struct imap_parser *p;
	struct buf *log;
	struct sink_rec *sinks;
};

uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void add_escaped(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			buf_addch(b, (char)c);
		else
			buf_addf(b, "\\x%02x", c);
	}
}

static void add_literal(struct buf *b, const struct imap_literal *lit)
{
	buf_addf(b, "%llu", (unsigned long long)lit->len);
	if (lit->streamed)
		buf_addstr(b, ":streamed");
	else if (!lit->data)
		buf_addstr(b, ":pending");
	else if (lit->len > 64)
		buf_addf(b, "#%016llx", (unsigned long long)fnv1a(lit->data, (size_t)lit->len));
	else {
		buf_addch(b, ':');
		add_escaped(b, lit->data, (size_t)lit->len);
	}
}

static void add_args(struct buf *b, const struct imap_arg *a, size_t n)
{
	buf_addch(b, '(');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addch(b, ' ');
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			FAST_EQ(strlen(a[i].str), a[i].len);
			add_escaped(b, a[i].str, a[i].len);
			break;
		case IMAP_ARG_NIL:
			buf_addstr(b, "NIL");
			break;
		case IMAP_ARG_STRING:
			buf_addch(b, '"');
			add_escaped(b, a[i].str, a[i].len);
			buf_addch(b, '"');
			break;
		case IMAP_ARG_LITERAL:
			FAST_NONNULL(a[i].lit);
			buf_addch(b, '{');
			add_literal(b, a[i].lit);
			buf_addch(b, '}');
			break;
		case IMAP_ARG_LIST:
			add_args(b, a[i].list, a[i].count);
			break;
		}
	}
	buf_addch(b, ')');
}

static void add_parsed(struct buf *b, struct imap_parser *p, const struct imap_response *r)
{
	struct imap_resp out;
	struct buf err = BUF_INIT;
	if (imap_resp_parse(p, r, &out, &err) < 0) {
		FAST_GT(err.len, 0);
		buf_addf(b, "PARSEFAIL %s", err.data);
		buf_free(&err);
		return;
	}
	FAST_EQ(err.len, 0);
	buf_free(&err);
	switch (out.kind) {
	case IMAP_RESP_CONTINUATION:
		FAST_TRUE(out.name[0] == '\0');
		buf_addstr(b, "+");
		break;
	case IMAP_RESP_UNTAGGED:
		buf_addstr(b, "*");
		break;
	case IMAP_RESP_TAGGED:
		buf_addstr(b, out.tag);
		break;
	}
	if (out.has_number)
		buf_addf(b, " #%u", (unsigned)out.number);
	if (out.kind != IMAP_RESP_CONTINUATION)
		buf_addf(b, " %s", out.name);
	bool status = out.kind == IMAP_RESP_CONTINUATION || !strcmp(out.name, "OK") ||
		      !strcmp(out.name, "NO") || !strcmp(out.name, "BAD") ||
		      !strcmp(out.name, "BYE") || !strcmp(out.name, "PREAUTH");
	if (!status) {
		FAST_NULL(out.code);
		FAST_TRUE(out.text[0] == '\0');
		buf_addstr(b, " args=");
		add_args(b, out.args, out.nargs);
		return;
	}
	FAST_EQ(out.nargs, 0);
	if (out.code) {
		buf_addf(b, " [%s", out.code);
		if (out.code_raw) {
			buf_addstr(b, " raw=");
			add_escaped(b, out.code_raw, strlen(out.code_raw));
		}
		if (out.code_nargs) {
			buf_addstr(b, " args=");
			add_args(b, out.code_args, out.code_nargs);
		}
		buf_addch(b, ']');
	} else {
		FAST_NULL(out.code_raw);
		FAST_EQ(out.code_nargs, 0);
	}
	buf_addstr(b, " text=");
	add_escaped(b, out.text, strlen(out.text));
}

static void add_pieces(struct buf *b, const struct imap_response *r)
{
	for (size_t i = 0; i < r->npieces; i++) {
		const struct imap_piece *pc = &r->pieces[i];
		FAST_EQ(strlen(pc->text), pc->text_len);
		add_escaped(b, pc->text, pc->text_len);
		if (pc->has_literal) {
			FAST_LT(i + 1, r->npieces);
			buf_addstr(b, "<lit:");
			if (pc->lit.streamed) {
				FAST_NULL(pc->lit.data);
				buf_addstr(b, "streamed");
			} else if (pc->lit.len > 64) {
				FAST_EQ(pc->lit.data[pc->lit.len], '\0');
				buf_addf(b, "%llu#%016llx", (unsigned long long)pc->lit.len,
					 (unsigned long long)fnv1a(pc->lit.data, (size_t)pc->lit.len));
			} else {
				FAST_EQ(pc->lit.data[pc->lit.len], '\0');
				add_escaped(b, pc->lit.data, (size_t)pc->lit.len);
			}
			buf_addch(b, '>');
		} else {
			FAST_EQ(i + 1, r->npieces);
		}
	}
}

static int sink_write(void *ctx, const void *p, size_t n)
{
	struct sink_rec *s = ctx;
	FAST_EQ(s->done_calls, 0);
	if (s->fail_at && s->bytes.len + n > s->fail_at)
		return -1;
	buf_add(&s->bytes, p, n);
	return 0;
}

static void sink_done(void *ctx, bool ok)
{
	struct sink_rec *s = ctx;
	s->done_calls++;
	if (!ok) {
		buf_addstr(s->log, "SINK cut\n");
	} else if (s->bytes.len > 64) {
		buf_addf(s->log, "SINK %zu#%016llx ok\n", s->bytes.len,
			 (unsigned long long)fnv1a(s->bytes.data, s->bytes.len));
	} else {
		buf_addf(s->log, "SINK %zu:", s->bytes.len);
		add_escaped(s->log, s->bytes.data, s->bytes.len);
		buf_addstr(s->log, " ok\n");
	}
}

static bool hook(void *ctx, const struct imap_response *so_far, uint64_t size, struct imap_sink *sink)
{
	struct run *run = ctx;
	FAST_GT(so_far->npieces, 0);
	const struct imap_piece *last = &so_far->pieces[so_far->npieces - 1];
	FAST_TRUE(last->has_literal);
	FAST_EQ(last->lit.len, size);
	FAST_NULL(last->lit.data);
	buf_addf(run->log, "HOOK %llu => ", (unsigned long long)size);
	add_parsed(run->log, run->p, so_far);
	buf_addch(run->log, '\n');
	if (run->o->hook != HOOK_STREAM || size < run->o->stream_min)
		return false;
	struct sink_rec *s = calloc(1, sizeof *s);
	FAST_NONNULL(s);
	buf_init(&s->bytes);
	s->log = run->log;
	s->fail_at = run->o->sink_fail_at;
	s->next = run->sinks;
	run->sinks = s;
	sink->write = sink_write;
	sink->done = sink_done;
	sink->ctx = s;
	return true;
}

uint64_t rng_next(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 33;
}

/* Feeds data in chunks: mode 0 whole, 1 one byte at a time, 2 random sizes
 * drawn from seed.  Appends the transcript to log. */
static void run_feed(struct run *run, const char *data, size_t len, int mode, uint64_t seed)
{
	static const size_t max_chunks[] = { 2, 3, 7, 64, 5000 };
	size_t max_chunk = max_chunks[seed % 5];
	size_t off = 0;
	while (off < len) {
		size_t chunk = len - off;
		if (mode == 1)
			chunk = 1;
		else if (mode == 2 && chunk > 1)
			chunk = 1 + (size_t)(rng_next(&seed) % max_chunk) % chunk;
		size_t pos = 0;
		while (pos < chunk) {
			size_t used = 12345;
			enum imap_parse_result r = imap_parser_feed(run->p, data + off + pos, chunk - pos, &used);
			FAST_LE(used, chunk - pos);
			pos += used;
			switch (r) {
			case IMAP_PARSE_MORE:
				FAST_EQ(pos, chunk);
				FAST_NULL(imap_parser_response(run->p));
				break;
			case IMAP_PARSE_DONE: {
				FAST_GT(used, 0);
				const struct imap_response *resp = imap_parser_response(run->p);
				FAST_NONNULL(resp);
				buf_addstr(run->log, "DONE ");
				add_pieces(run->log, resp);
				buf_addstr(run->log, " => ");
				add_parsed(run->log, run->p, resp);
				buf_addch(run->log, '\n');
				break;
			}
			case IMAP_PARSE_ERROR:
				FAST_GT(used, 0);
				FAST_NULL(imap_parser_response(run->p));
				buf_addf(run->log, "ERROR %s\n", imap_parser_error(run->p));
				break;
			case IMAP_PARSE_ABORT:
				buf_addf(run->log, "ABORT %s\n", imap_parser_error(run->p));
				/* sticky until reset */
				FAST_EQ(imap_parser_feed(run->p, "\r\n", 2, &used), IMAP_PARSE_ABORT);
				FAST_EQ(used, 0);
				return;
			}
		}
		off += chunk;
	}
}

static void run_init(struct run *run, const struct run_opts *o, struct buf *log)
{
	memset(run, 0, sizeof *run);
	run->o = o;
	run->log = log;
	run->p = imap_parser_new(&o->lim);
	if (o->hook != HOOK_NONE)
		imap_parser_set_literal_hook(run->p, hook, run);
}

static void run_free(struct run *run)
{
	imap_parser_free(run->p);
	while (run->sinks) {
		struct sink_rec *s = run->sinks;
		run->sinks = s->next;
		FAST_EQ(s->done_calls, 1);
		buf_free(&s->bytes);
		free(s);
	}
}

static void transcript(const char *data, size_t len, const struct run_opts *o, int mode,
		       uint64_t seed, struct buf *log)
{
	struct run run;
	run_init(&run, o, log);
	run_feed(&run, data, len, mode, seed);
	run_free(&run);
}

void check_conv_n(const char *data, size_t len, const struct run_opts *o, const char *want)
{
	static const struct run_opts defaults;
	if (!o)
		o = &defaults;
	struct buf whole = BUF_INIT, other = BUF_INIT;
	transcript(data, len, o, 0, 0, &whole);
	ck_assert_str_eq(whole.data, want);
	transcript(data, len, o, 1, 0, &other);
	ck_assert_str_eq(other.data, whole.data);
	for (uint64_t seed = 1; seed <= 10; seed++) {
		buf_reset(&other);
		transcript(data, len, o, 2, seed, &other);
		ck_assert_str_eq(other.data, whole.data);
	}
	buf_free(&whole);
	buf_free(&other);
}

void check_conv(const char *data, const struct run_opts *o, const char *want)
{
	check_conv_n(data, strlen(data), o, want);
}
