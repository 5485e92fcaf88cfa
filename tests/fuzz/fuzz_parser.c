/* fuzz_parser.c: libFuzzer target for proto/parser.c.
 *
 * Input layout: byte 0 picks limits and what the literal hook does, byte 1
 * seeds the chunk sizes, the rest is what the "server" sends.  The stream is
 * fed twice, whole and in chunks, and both runs must give the same events
 * (framing must not depend on how bytes arrive).  Every DONE response goes
 * through imap_resp_parse() and the argument helpers.  Small limits make the
 * limit paths reachable.  Violations trap so libFuzzer reports them. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "gmail.h"
#include "parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) \
	do { \
		if (!(c)) \
			__builtin_trap(); \
	} while (0)

enum hook_mode { HOOK_NONE, HOOK_MEMORY, HOOK_STREAM, HOOK_STREAM_FAILING };

struct fuzz_run {
	struct imap_parser *p;
	enum hook_mode hook;
	uint64_t events;      /* hash of everything observed */
	bool sink_active;
	uint64_t sink_bytes;
	uint64_t sink_hash;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t mix_u64(uint64_t h, uint64_t v)
{
	return mix(h, &v, sizeof v);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	return s ? mix(h, s, strlen(s) + 1) : mix_u64(h, 0x6e756c6cull);
}

static uint64_t walk_args(const struct imap_arg *a, size_t n, unsigned depth, uint64_t h)
{
	REQUIRE(depth <= 1000);
	REQUIRE(n == 0 || a != NULL);
	for (size_t i = 0; i < n; i++) {
		h = mix_u64(h, a[i].type);
		uint64_t v;
		const char *s;
		size_t len;
		if (imap_arg_number(&a[i], &v))
			h = mix_u64(h, v);
		if (imap_arg_nstring(&a[i], &s, &len)) {
			REQUIRE(s != NULL || len == 0);
			if (s)
				h = mix(h, s, len);
		}
		h = mix_u64(h, imap_arg_is_atom(&a[i], "NIL"));
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
		case IMAP_ARG_STRING:
			REQUIRE(a[i].str != NULL);
			REQUIRE(a[i].str[a[i].len] == '\0');
			h = mix(h, a[i].str, a[i].len);
			break;
		case IMAP_ARG_NIL:
			break;
		case IMAP_ARG_LITERAL:
			REQUIRE(a[i].lit != NULL);
			h = mix_u64(h, a[i].lit->len);
			if (a[i].str) {
				REQUIRE(a[i].len == a[i].lit->len);
				h = mix(h, a[i].str, a[i].len);
			}
			break;
		case IMAP_ARG_LIST:
			h = walk_args(a[i].list, a[i].count, depth + 1, h);
			break;
		}
	}
	return h;
}

/* Gmail's items: whatever the bytes, a label list is whole and bounded
 * or absent, and no label holds a control byte. */
static uint64_t walk_gmail(const struct imap_resp *out, uint64_t h)
{
	struct imap_gm_fetch g;
	if (!imap_gm_fetch(out, &g))
		return h;
	REQUIRE(g.has_labels || (g.labels == NULL && g.nlabels == 0));
	REQUIRE(g.nlabels <= IMAP_GM_MAX_LABELS);
	for (size_t i = 0; i < g.nlabels; i++) {
		const char *s;
		size_t len;
		imap_gm_label(&g, i, &s, &len);
		REQUIRE(s != NULL && len > 0 && len <= IMAP_GM_MAX_LABEL);
		for (size_t k = 0; k < len; k++)
			REQUIRE((unsigned char)s[k] >= 0x20 && s[k] != 0x7f);
		h = mix(h, s, len);
	}
	REQUIRE(!g.has_msgid || g.msgid != 0);
	REQUIRE(!g.has_thrid || g.thrid != 0);
	return mix_u64(mix_u64(h, g.msgid), g.thrid);
}

static uint64_t parse_and_walk(struct imap_parser *p, const struct imap_response *r, uint64_t h)
{
	struct imap_resp out;
	struct buf err = BUF_INIT;
	if (imap_resp_parse(p, r, &out, &err) < 0) {
		REQUIRE(err.len > 0);
		h = mix(h, err.data, err.len);
		buf_free(&err);
		return h;
	}
	REQUIRE(err.len == 0);
	REQUIRE(out.name != NULL && out.text != NULL && out.tag != NULL);
	h = mix_u64(h, out.kind);
	h = mix_str(h, out.tag);
	h = mix_u64(h, out.has_number ? out.number : 0xffffffffffull);
	h = mix_str(h, out.name);
	h = mix_str(h, out.code);
	h = mix_str(h, out.code_raw);
	h = mix_str(h, out.text);
	h = walk_args(out.code_args, out.code_nargs, 0, h);
	h = walk_args(out.args, out.nargs, 0, h);
	h = walk_gmail(&out, h);
	buf_free(&err);
	return h;
}

static void check_pieces(const struct imap_response *r, bool complete)
{
	REQUIRE(r->npieces > 0);
	for (size_t i = 0; i < r->npieces; i++) {
		const struct imap_piece *pc = &r->pieces[i];
		REQUIRE(strlen(pc->text) == pc->text_len);
		bool last = i + 1 == r->npieces;
		REQUIRE(pc->has_literal == (!last || !complete));
		if (pc->has_literal && (!last || complete) && !pc->lit.streamed) {
			REQUIRE(pc->lit.data != NULL);
			REQUIRE(pc->lit.data[pc->lit.len] == '\0');
		}
	}
}

static int sink_write(void *ctx, const void *p, size_t n)
{
	struct fuzz_run *run = ctx;
	REQUIRE(run->sink_active);
	if (run->hook == HOOK_STREAM_FAILING && run->sink_bytes + n > 100)
		return -1;
	run->sink_bytes += n;
	run->sink_hash = mix(run->sink_hash, p, n);
	return 0;
}

static void sink_done(void *ctx, bool ok)
{
	struct fuzz_run *run = ctx;
	REQUIRE(run->sink_active);
	run->sink_active = false;
	run->events = mix_u64(run->events, ok ? run->sink_hash ^ run->sink_bytes : 0xc07);
}

static bool hook(void *ctx, const struct imap_response *so_far, uint64_t size, struct imap_sink *sink)
{
	struct fuzz_run *run = ctx;
	REQUIRE(!run->sink_active);
	check_pieces(so_far, false);
	REQUIRE(so_far->pieces[so_far->npieces - 1].lit.len == size);
	run->events = mix_u64(run->events, size);
	run->events = parse_and_walk(run->p, so_far, run->events);
	if (run->hook == HOOK_MEMORY || (size & 1))
		return false;
	run->sink_active = true;
	run->sink_bytes = 0;
	run->sink_hash = 1469598103934665603ull;
	sink->write = sink_write;
	sink->done = sink_done;
	sink->ctx = run;
	return true;
}

static uint64_t feed_all(const char *in, size_t len, const struct imap_parser_limits *lim,
			 enum hook_mode mode, uint32_t chunk_seed)
{
	struct fuzz_run run = { 0 };
	run.p = imap_parser_new(lim);
	run.hook = mode;
	run.events = 1469598103934665603ull;
	if (mode != HOOK_NONE)
		imap_parser_set_literal_hook(run.p, hook, &run);
	size_t off = 0;
	bool aborted = false;
	while (off < len && !aborted) {
		size_t chunk = len - off;
		if (chunk_seed) {
			chunk_seed = chunk_seed * 1103515245u + 12345u;
			size_t want = 1 + (chunk_seed >> 16) % 13;
			if (want < chunk)
				chunk = want;
		}
		size_t pos = 0;
		while (pos < chunk && !aborted) {
			size_t used = 0;
			enum imap_parse_result r = imap_parser_feed(run.p, in + off + pos, chunk - pos, &used);
			REQUIRE(used <= chunk - pos);
			pos += used;
			if (r != IMAP_PARSE_MORE)
				run.events = mix_u64(run.events, r);
			switch (r) {
			case IMAP_PARSE_MORE:
				REQUIRE(pos == chunk);
				REQUIRE(imap_parser_response(run.p) == NULL);
				break;
			case IMAP_PARSE_DONE: {
				REQUIRE(used > 0);
				const struct imap_response *resp = imap_parser_response(run.p);
				REQUIRE(resp != NULL);
				check_pieces(resp, true);
				for (size_t i = 0; i < resp->npieces; i++) {
					run.events = mix(run.events, resp->pieces[i].text,
							 resp->pieces[i].text_len);
					if (resp->pieces[i].lit.data)
						run.events = mix(run.events, resp->pieces[i].lit.data,
								 (size_t)resp->pieces[i].lit.len);
				}
				run.events = parse_and_walk(run.p, resp, run.events);
				break;
			}
			case IMAP_PARSE_ERROR:
				REQUIRE(used > 0);
				REQUIRE(imap_parser_error(run.p)[0] != '\0');
				run.events = mix_str(run.events, imap_parser_error(run.p));
				break;
			case IMAP_PARSE_ABORT:
				REQUIRE(!run.sink_active);
				run.events = mix_str(run.events, imap_parser_error(run.p));
				REQUIRE(imap_parser_feed(run.p, "\r\n", 2, &used) == IMAP_PARSE_ABORT);
				aborted = true;
				break;
			}
		}
		off += chunk;
	}
	imap_parser_free(run.p);
	REQUIRE(!run.sink_active);
	return run.events;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t cfg = data[0];
	uint32_t seed = data[1] | 0x100u;  /* never 0: 0 means "whole" */
	const char *in = (const char *)data + 2;
	size_t len = size - 2;

	struct imap_parser_limits lim = { 0 };
	if (cfg & 0x04) {
		lim.max_line = 256;
		lim.max_literal = 4096;
		lim.max_mem_literal = 1024;
		lim.max_pieces = 8;
		lim.max_depth = 8;
	}
	if (cfg & 0x08)
		lim.max_line = 1 + (cfg >> 4);
	enum hook_mode mode = (enum hook_mode)(cfg & 0x03);

	uint64_t whole = feed_all(in, len, &lim, mode, 0);
	uint64_t chunked = feed_all(in, len, &lim, mode, seed);
	REQUIRE(whole == chunked);
	return 0;
}
