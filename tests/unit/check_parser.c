/* check_parser.c: the incremental IMAP response parser (proto/parser.c).
 *
 * Most tests are conversations as data: server bytes in, a transcript out.
 * The transcript has one line per event: DONE (the framed pieces "=>" the
 * parsed structure), ERROR, ABORT, HOOK (a literal announced, with the parse
 * of what came before it) and SINK (a streamed literal finished).  Every
 * input is fed whole, one byte at a time and in random chunk sizes, and all
 * ways must give the same transcript. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "check_run.h"
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

enum hook_mode { HOOK_NONE, HOOK_MEMORY, HOOK_STREAM };

struct run_opts {
	struct imap_parser_limits lim;
	enum hook_mode hook;
	uint64_t stream_min;     /* HOOK_STREAM: literals of at least this size */
	uint64_t sink_fail_at;   /* a sink fails once it would hold more; 0 = never */
};

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

static uint64_t fnv1a(const void *p, size_t n)
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

static uint64_t rng_next(uint64_t *state)
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

/* Runs data every way and checks the transcript against want. */
static void check_conv_n(const char *data, size_t len, const struct run_opts *o, const char *want)
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

static void check_conv(const char *data, const struct run_opts *o, const char *want)
{
	check_conv_n(data, strlen(data), o, want);
}

/* ---- simple responses ---- */

START_TEST(test_simple)
{
	check_conv("A001 OK LOGIN completed\r\n"
		   "* 23 EXISTS\r\n"
		   "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n"
		   "+ Ready for literal data\r\n"
		   "+\r\n"
		   "* 1 RECENT\r\n"
		   "* SEARCH 2 84 882\r\n"
		   "* SEARCH\r\n",
		   NULL,
		   "DONE A001 OK LOGIN completed => A001 OK text=LOGIN completed\n"
		   "DONE * 23 EXISTS => * #23 EXISTS args=()\n"
		   "DONE * CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN => * CAPABILITY args=(IMAP4rev1 STARTTLS AUTH=PLAIN)\n"
		   "DONE + Ready for literal data => + text=Ready for literal data\n"
		   "DONE + => + text=\n"
		   "DONE * 1 RECENT => * #1 RECENT args=()\n"
		   "DONE * SEARCH 2 84 882 => * SEARCH args=(2 84 882)\n"
		   "DONE * SEARCH => * SEARCH args=()\n");
}
END_TEST

START_TEST(test_list_lsub_status)
{
	check_conv("* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
		   "* LIST () NIL \"[Gmail]/Sent Mail\"\r\n"
		   "* LSUB (\\Noselect) \".\" [Gmail]/Drafts\r\n"
		   "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
		   "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))\r\n"
		   "* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3\r\n",
		   NULL,
		   "DONE * LIST (\\HasNoChildren) \"/\" INBOX => * LIST args=((\\HasNoChildren) \"/\" INBOX)\n"
		   "DONE * LIST () NIL \"[Gmail]/Sent Mail\" => * LIST args=(() NIL \"[Gmail]/Sent Mail\")\n"
		   "DONE * LSUB (\\Noselect) \".\" [Gmail]/Drafts => * LSUB args=((\\Noselect) \".\" [Gmail]/Drafts)\n"
		   "DONE * STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292) => * STATUS args=(blurdybloop (MESSAGES 231 UIDNEXT 44292))\n"
		   "DONE * NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\")) => * NAMESPACE args=(((\"\" \"/\")) NIL ((\"Shared/\" \"/\")))\n"
		   "DONE * ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3 => * ESEARCH args=((TAG \"A282\") UID MIN 2 COUNT 3)\n");
}
END_TEST

/* ---- literals ---- */

START_TEST(test_fetch_body_literal)
{
	check_conv("* 12 FETCH (FLAGS (\\Seen) BODY[] {12}\r\nHello\r\nWorld)\r\n", NULL,
		   "DONE * 12 FETCH (FLAGS (\\Seen) BODY[] {12}<lit:Hello\\x0d\\x0aWorld>) "
		   "=> * #12 FETCH args=((FLAGS (\\Seen) BODY[] {12:Hello\\x0d\\x0aWorld}))\n");
	/* The hook sees the response up to the literal, parsed with the list closed. */
	struct run_opts o = { .hook = HOOK_MEMORY };
	check_conv("* 12 FETCH (UID 7 BODY[] {12}\r\nHello\r\nWorld)\r\n", &o,
		   "HOOK 12 => * #12 FETCH args=((UID 7 BODY[] {12:pending}))\n"
		   "DONE * 12 FETCH (UID 7 BODY[] {12}<lit:Hello\\x0d\\x0aWorld>) "
		   "=> * #12 FETCH args=((UID 7 BODY[] {12:Hello\\x0d\\x0aWorld}))\n");
	/* A literal one byte too long takes the ")": the list is unterminated. */
	check_conv("* 12 FETCH (BODY[] {13}\r\nHello\r\nWorld)\r\n", NULL,
		   "DONE * 12 FETCH (BODY[] {13}<lit:Hello\\x0d\\x0aWorld)> "
		   "=> PARSEFAIL unterminated list\n");
}
END_TEST

START_TEST(test_two_literals)
{
	struct run_opts o = { .hook = HOOK_MEMORY };
	check_conv("* 3 FETCH (BODY[HEADER] {6}\r\nSub: x BODY[TEXT] {4}\r\nbody UID 9)\r\n"
		   "A1 OK FETCH done\r\n", &o,
		   "HOOK 6 => * #3 FETCH args=((BODY[HEADER] {6:pending}))\n"
		   "HOOK 4 => * #3 FETCH args=((BODY[HEADER] {6:Sub: x} BODY[TEXT] {4:pending}))\n"
		   "DONE * 3 FETCH (BODY[HEADER] {6}<lit:Sub: x> BODY[TEXT] {4}<lit:body> UID 9) "
		   "=> * #3 FETCH args=((BODY[HEADER] {6:Sub: x} BODY[TEXT] {4:body} UID 9))\n"
		   "DONE A1 OK FETCH done => A1 OK text=FETCH done\n");
	/* A literal right after a literal: the text between them is empty. */
	check_conv("* 1 FETCH (X {2}\r\nab{3}\r\ncde)\r\n", NULL,
		   "DONE * 1 FETCH (X {2}<lit:ab>{3}<lit:cde>) => * #1 FETCH args=((X {2:ab} {3:cde}))\n");
	/* literal8 (BINARY) */
	static const char bin[] = "* 1 FETCH (BINARY[1] ~{3}\r\na\0b)\r\n";
	check_conv_n(bin, sizeof bin - 1, NULL,
		   "DONE * 1 FETCH (BINARY[1] ~{3}<lit:a\\x00b>) => * #1 FETCH args=((BINARY[1] {3:a\\x00b}))\n");
}
END_TEST

START_TEST(test_zero_literal)
{
	check_conv("* 4 FETCH (BODY[] {0}\r\n)\r\n", NULL,
		   "DONE * 4 FETCH (BODY[] {0}<lit:>) => * #4 FETCH args=((BODY[] {0:}))\n");
	struct run_opts o = { .hook = HOOK_STREAM };
	check_conv("* 4 FETCH (BODY[] {0}\r\n)\r\n", &o,
		   "HOOK 0 => * #4 FETCH args=((BODY[] {0:pending}))\n"
		   "SINK 0: ok\n"
		   "DONE * 4 FETCH (BODY[] {0}<lit:streamed>) => * #4 FETCH args=((BODY[] {0:streamed}))\n");
	/* leading zeros are fine */
	check_conv("* 4 FETCH (BODY[] {0000000000000000000000000000003}\r\nabc)\r\n", NULL,
		   "DONE * 4 FETCH (BODY[] {0000000000000000000000000000003}<lit:abc>) "
		   "=> * #4 FETCH args=((BODY[] {3:abc}))\n");
}
END_TEST

/* A message of several MiB with every byte value, CRLFs and bare LFs. */
static char *big_input(size_t lit_len, size_t *len, uint64_t *hash)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "* 7 FETCH (UID 70 BODY[] {%zu}\r\n", lit_len);
	size_t start = b.len;
	uint64_t st = 42;
	for (size_t i = 0; i < lit_len; i++) {
		char c = (char)(rng_next(&st) & 0xff);
		if (i % 77 == 0)
			c = '\r';
		else if (i % 77 == 1 || i % 91 == 0)
			c = '\n';
		buf_addch(&b, c);
	}
	*hash = fnv1a(b.data + start, lit_len);
	buf_addstr(&b, " FLAGS (\\Seen))\r\nA5 OK done\r\n");
	return buf_detach(&b, len);
}

/* A client that keeps bodies in memory (the imap4 tool) raises the limit. */
START_TEST(test_big_literal_in_memory)
{
	size_t lit_len = (size_t)5 << 20, len;
	uint64_t h;
	char *in = big_input(lit_len, &len, &h);
	struct run_opts o = { .lim = { .max_mem_literal = lit_len } };
	char want[512];
	snprintf(want, sizeof want,
		 "DONE * 7 FETCH (UID 70 BODY[] {%zu}<lit:%zu#%016llx> FLAGS (\\Seen)) "
		 "=> * #7 FETCH args=((UID 70 BODY[] {%zu#%016llx} FLAGS (\\Seen)))\n"
		 "DONE A5 OK done => A5 OK text=done\n",
		 lit_len, lit_len, (unsigned long long)h, lit_len, (unsigned long long)h);
	check_conv_n(in, len, &o, want);

	/* and the bytes themselves, not only their hash */
	struct imap_parser *p = imap_parser_new(&o.lim);
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, in, len, &used), IMAP_PARSE_DONE);
	const struct imap_response *r = imap_parser_response(p);
	ck_assert_uint_eq(r->npieces, 2);
	ck_assert_uint_eq(r->pieces[0].lit.len, lit_len);
	const char *body = strstr(in, "}\r\n") + 3;
	ck_assert_int_eq(memcmp(r->pieces[0].lit.data, body, lit_len), 0);
	imap_parser_free(p);
	free(in);
}
END_TEST

START_TEST(test_big_literal_streamed)
{
	size_t lit_len = (size_t)5 << 20, len;
	uint64_t h;
	char *in = big_input(lit_len, &len, &h);
	struct run_opts o = { .hook = HOOK_STREAM, .stream_min = 1000,
			      .lim = { .max_mem_literal = 4096 } };
	char want[640];
	snprintf(want, sizeof want,
		 "HOOK %zu => * #7 FETCH args=((UID 70 BODY[] {%zu:pending}))\n"
		 "SINK %zu#%016llx ok\n"
		 "DONE * 7 FETCH (UID 70 BODY[] {%zu}<lit:streamed> FLAGS (\\Seen)) "
		 "=> * #7 FETCH args=((UID 70 BODY[] {%zu:streamed} FLAGS (\\Seen)))\n"
		 "DONE A5 OK done => A5 OK text=done\n",
		 lit_len, lit_len, lit_len, (unsigned long long)h, lit_len, lit_len);
	check_conv_n(in, len, &o, want);
	free(in);
}
END_TEST

START_TEST(test_huge_literal_announcement)
{
	check_conv("* 1 FETCH (BODY[] {99999999999999999999}\r\n", NULL,
		   "ABORT literal of more than 18446744073709551615 bytes is over the limit of 2147483648\n");
	check_conv("* 1 FETCH (BODY[] {2147483649}\r\nxyz", NULL,
		   "ABORT literal of 2147483649 bytes is over the limit of 2147483648\n");
	struct run_opts o = { .lim = { .max_literal = 10 } };
	check_conv("* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n* 2 FETCH (BODY[] {11}\r\n", &o,
		   "DONE * 1 FETCH (BODY[] {10}<lit:0123456789>) => * #1 FETCH args=((BODY[] {10:0123456789}))\n"
		   "ABORT literal of 11 bytes is over the limit of 10\n");
}
END_TEST

START_TEST(test_mem_literal_limit)
{
	struct run_opts o = { .lim = { .max_mem_literal = 10 } };
	check_conv("* 1 FETCH (A {6}\r\nabcdef B {4}\r\nghij)\r\n"
		   "* 2 FETCH (A {6}\r\nabcdef B {5}\r\nghijk)\r\n", &o,
		   "DONE * 1 FETCH (A {6}<lit:abcdef> B {4}<lit:ghij>) => * #1 FETCH args=((A {6:abcdef} B {4:ghij}))\n"
		   "ABORT literals of one response exceed 10 bytes in memory (a literal of 5 bytes announced)\n");
	/* streamed literals do not count */
	struct run_opts s = { .lim = { .max_mem_literal = 10 }, .hook = HOOK_STREAM, .stream_min = 5 };
	check_conv("* 1 FETCH (A {6}\r\nabcdef B {4}\r\nghij C {20}\r\n01234567890123456789)\r\n", &s,
		   "HOOK 6 => * #1 FETCH args=((A {6:pending}))\n"
		   "SINK 6:abcdef ok\n"
		   "HOOK 4 => * #1 FETCH args=((A {6:streamed} B {4:pending}))\n"
		   "HOOK 20 => * #1 FETCH args=((A {6:streamed} B {4:ghij} C {20:pending}))\n"
		   "SINK 20:01234567890123456789 ok\n"
		   "DONE * 1 FETCH (A {6}<lit:streamed> B {4}<lit:ghij> C {20}<lit:streamed>) "
		   "=> * #1 FETCH args=((A {6:streamed} B {4:ghij} C {20:streamed}))\n");
}
END_TEST

START_TEST(test_max_pieces)
{
	struct run_opts o = { .lim = { .max_pieces = 2 } };
	check_conv("* 1 FETCH (A {1}\r\na B {1}\r\nb)\r\n"
		   "* 2 FETCH (A {1}\r\na B {1}\r\nb C {1}\r\nc)\r\n", &o,
		   "DONE * 1 FETCH (A {1}<lit:a> B {1}<lit:b>) => * #1 FETCH args=((A {1:a} B {1:b}))\n"
		   "ABORT more than 2 literals in one response\n");
}
END_TEST

START_TEST(test_sink_failure)
{
	struct run_opts o = { .hook = HOOK_STREAM, .sink_fail_at = 3 };
	check_conv("* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n", &o,
		   "HOOK 10 => * #1 FETCH args=((BODY[] {10:pending}))\n"
		   "SINK cut\n"
		   "ABORT literal sink failed\n");
}
END_TEST

struct probe_sink {
	size_t bytes;
	int done_true, done_false;
};

static int probe_write(void *ctx, const void *p, size_t n)
{
	(void)p;
	((struct probe_sink *)ctx)->bytes += n;
	return 0;
}

static void probe_done(void *ctx, bool ok)
{
	struct probe_sink *s = ctx;
	if (ok)
		s->done_true++;
	else
		s->done_false++;
}

static bool probe_hook(void *ctx, const struct imap_response *so_far, uint64_t size,
		       struct imap_sink *sink)
{
	(void)so_far;
	(void)size;
	sink->write = probe_write;
	sink->done = probe_done;
	sink->ctx = ctx;
	return true;
}

/* The largest literal allowed is accepted when streamed, and too big to
 * hold in memory otherwise. */
START_TEST(test_max_literal_streamed)
{
	struct probe_sink s = { 0 };
	struct imap_parser *p = imap_parser_new(NULL);
	size_t used;
	const char *in = "* 1 FETCH (BODY[] {2147483648}\r\nabc";
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_ABORT);
	ck_assert_str_eq(imap_parser_error(p), "literals of one response exceed 1048576 bytes in memory "
					       "(a literal of 2147483648 bytes announced)");
	imap_parser_reset(p);
	imap_parser_set_literal_hook(p, probe_hook, &s);
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_MORE);
	ck_assert_uint_eq(used, strlen(in));
	ck_assert_uint_eq(s.bytes, 3);
	imap_parser_free(p);
	ck_assert_int_eq(s.done_false, 1);
}
END_TEST

/* The literal hook of the filesystem: only message bodies are streamed. */
static bool body_only_hook(void *ctx, const struct imap_response *so_far, uint64_t size,
			   struct imap_sink *sink)
{
	const struct imap_piece *last = &so_far->pieces[so_far->npieces - 1];
	if (!strstr(last->text, "BODY[] {"))
		return false;
	return probe_hook(ctx, so_far, size, sink);
}

/* A hostile server's 250 MB literal inside a LIST reply (5 connections
 * times the old 256 MiB limit made 773 MB of RSS) is refused when it is
 * announced: not one byte of it is taken, let alone buffered.  With the
 * same limits a body of that size, which the hook streams, goes through. */
START_TEST(test_metadata_literal_refused_before_buffering)
{
	struct probe_sink s = { 0 };
	struct imap_parser *p = imap_parser_new(NULL);
	imap_parser_set_literal_hook(p, body_only_hook, &s);
	const char *head = "* LIST () \"/\" {262144000}\r\n";
	size_t n = strlen(head) + 65536, used = 0;
	char *in = xmalloc(n);
	memcpy(in, head, strlen(head));
	memset(in + strlen(head), 'x', n - strlen(head));
	ck_assert_int_eq(imap_parser_feed(p, in, n, &used), IMAP_PARSE_ABORT);
	ck_assert_uint_eq(used, strlen(head));
	ck_assert_str_eq(imap_parser_error(p), "literals of one response exceed 1048576 bytes in memory "
					       "(a literal of 262144000 bytes announced)");
	ck_assert_uint_eq(s.bytes, 0);

	/* a response that is just under the limit is still had whole */
	imap_parser_reset(p);
	struct buf ok = BUF_INIT;
	buf_addstr(&ok, "* LIST () \"/\" {1048576}\r\n");
	for (size_t i = 0; i < ((size_t)1 << 20); i++)
		buf_addch(&ok, 'n');
	buf_addstr(&ok, "\r\n");
	ck_assert_int_eq(imap_parser_feed(p, ok.data, ok.len, &used), IMAP_PARSE_DONE);
	ck_assert_uint_eq(imap_parser_response(p)->pieces[0].lit.len, (size_t)1 << 20);
	buf_free(&ok);

	const char *body = "* 1 FETCH (UID 9 BODY[] {262144000}\r\n";
	memcpy(in, body, strlen(body));
	memset(in + strlen(body), 'x', n - strlen(body));
	ck_assert_int_eq(imap_parser_feed(p, in, n, &used), IMAP_PARSE_MORE);
	ck_assert_uint_eq(used, n);
	ck_assert_uint_eq(s.bytes, n - strlen(body));
	imap_parser_free(p);
	ck_assert_int_eq(s.done_false, 1);
	free(in);
}
END_TEST

START_TEST(test_reset_mid_literal)
{
	struct probe_sink s = { 0 };
	struct imap_parser *p = imap_parser_new(NULL);
	imap_parser_set_literal_hook(p, probe_hook, &s);
	const char *a = "* 1 FETCH (BODY[] {10}\r\nabc";
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, a, strlen(a), &used), IMAP_PARSE_MORE);
	ck_assert_uint_eq(s.bytes, 3);
	ck_assert_int_eq(s.done_true + s.done_false, 0);
	imap_parser_reset(p);
	ck_assert_int_eq(s.done_false, 1);
	ck_assert_int_eq(s.done_true, 0);
	imap_parser_reset(p);  /* no second done() */
	ck_assert_int_eq(s.done_false, 1);
	const char *b = "A1 OK back\r\n";
	ck_assert_int_eq(imap_parser_feed(p, b, strlen(b), &used), IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_response(p)->pieces[0].text, "A1 OK back");

	/* imap_parser_free mid-literal cuts the sink short too */
	ck_assert_int_eq(imap_parser_feed(p, a, strlen(a), &used), IMAP_PARSE_MORE);
	imap_parser_free(p);
	ck_assert_int_eq(s.done_false, 2);
	ck_assert_int_eq(s.done_true, 0);
	ck_assert_uint_eq(s.bytes, 6);
}
END_TEST

/* ---- atoms, lists, strings ---- */

START_TEST(test_bracket_in_flags)
{
	check_conv("* FLAGS (\\Answered \\Seen foo]bar $Label] \\*)\r\n"
		   "* 9 FETCH (FLAGS (\\Seen foo]bar) UID 4)\r\n"
		   "* FLAGS (a[b \\Seen)\r\n",
		   NULL,
		   "DONE * FLAGS (\\Answered \\Seen foo]bar $Label] \\*) => * FLAGS args=((\\Answered \\Seen foo]bar $Label] \\*))\n"
		   "DONE * 9 FETCH (FLAGS (\\Seen foo]bar) UID 4) => * #9 FETCH args=((FLAGS (\\Seen foo]bar) UID 4))\n"
		   "DONE * FLAGS (a[b \\Seen) => * FLAGS args=((a[b \\Seen))\n");
}
END_TEST

START_TEST(test_section_atoms)
{
	check_conv("* 1 FETCH (UID 5 BODY[HEADER.FIELDS (FROM TO)]<0> {4}\r\nab\r\n)\r\n"
		   "* 2 FETCH (BODY[HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[1.2.MIME] \"\" BINARY.SIZE[1] 40)\r\n",
		   NULL,
		   "DONE * 1 FETCH (UID 5 BODY[HEADER.FIELDS (FROM TO)]<0> {4}<lit:ab\\x0d\\x0a>) "
		   "=> * #1 FETCH args=((UID 5 BODY[HEADER.FIELDS (FROM TO)]<0> {4:ab\\x0d\\x0a}))\n"
		   "DONE * 2 FETCH (BODY[HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[1.2.MIME] \"\" BINARY.SIZE[1] 40) "
		   "=> * #2 FETCH args=((BODY[HEADER.FIELDS.NOT (X-A X-B)] NIL BODY[1.2.MIME] \"\" BINARY.SIZE[1] 40))\n");
}
END_TEST

static char *nested(unsigned depth)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, "* X ");
	for (unsigned i = 0; i < depth; i++)
		buf_addch(&b, '(');
	buf_addch(&b, 'a');
	for (unsigned i = 0; i < depth; i++)
		buf_addch(&b, ')');
	buf_addstr(&b, "\r\n");
	return buf_detach(&b, NULL);
}

START_TEST(test_nesting_and_depth)
{
	struct run_opts o = { .lim = { .max_depth = 3 } };
	check_conv("* X (a (b (c)) d) ((e))\r\n"
		   "* X (a (b (c (d))))\r\n"
		   "* X ()\r\n",
		   &o,
		   "DONE * X (a (b (c)) d) ((e)) => * X args=((a (b (c)) d) ((e)))\n"
		   "DONE * X (a (b (c (d)))) => PARSEFAIL lists nested deeper than 3\n"
		   "DONE * X () => * X args=(())\n");
	/* the default depth (100), and a nesting of 100000 that must not recurse */
	char *ok = nested(100), *deep = nested(101), *huge = nested(100000);
	struct imap_parser *p = imap_parser_new(NULL);
	struct imap_resp out;
	struct buf err = BUF_INIT;
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, ok, strlen(ok), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, &err), 0);
	const struct imap_arg *a = out.args;
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(a->type, IMAP_ARG_LIST);
		ck_assert_uint_eq(a->count, 1);
		a = a->list;
	}
	ck_assert(imap_arg_is_atom(a, "A"));
	ck_assert_int_eq(imap_parser_feed(p, deep, strlen(deep), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, &err), -1);
	ck_assert_str_eq(err.data, "lists nested deeper than 100");
	buf_reset(&err);
	ck_assert_int_eq(imap_parser_feed(p, huge, strlen(huge), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, &err), -1);
	ck_assert_str_eq(err.data, "lists nested deeper than 100");
	buf_free(&err);
	imap_parser_free(p);
	free(ok);
	free(deep);
	free(huge);
}
END_TEST

START_TEST(test_quoted_strings)
{
	check_conv("* LIST () \"/\" \"a \\\"q\\\" \\\\ b\"\r\n"
		   "* LIST () \"\\\\\" \"c:\\dir\"\r\n"
		   "* X \"\" \"(not a list)\" \"]\"\r\n",
		   NULL,
		   "DONE * LIST () \"/\" \"a \\\"q\\\" \\\\ b\" => * LIST args=(() \"/\" \"a \"q\" \\ b\")\n"
		   "DONE * LIST () \"\\\\\" \"c:\\dir\" => * LIST args=(() \"\\\" \"c:\\dir\")\n"
		   "DONE * X \"\" \"(not a list)\" \"]\" => * X args=(\"\" \"(not a list)\" \"]\")\n");
	/* exact bytes, not only the transcript */
	struct imap_parser *p = imap_parser_new(NULL);
	const char *in = "* LIST () \"/\" \"a \\\"q\\\" \\\\ b\"\r\n";
	size_t used;
	struct imap_resp out;
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, NULL), 0);
	ck_assert_uint_eq(out.nargs, 3);
	ck_assert_int_eq(out.args[2].type, IMAP_ARG_STRING);
	ck_assert_str_eq(out.args[2].str, "a \"q\" \\ b");
	ck_assert_uint_eq(out.args[2].len, 9);
	imap_parser_free(p);
}
END_TEST

/* ---- framing errors ---- */

START_TEST(test_bare_lf)
{
	check_conv("* OK fine\r\n* OK hi\nA1 OK\r\n", NULL,
		   "DONE * OK fine => * OK text=fine\n"
		   "ABORT bare LF in a response line\n");
	/* in a line already being skipped, too */
	struct run_opts o = { .lim = { .max_line = 8 } };
	check_conv("* OK 0123456789\nA1 OK\r\n", &o, "ABORT bare LF in a response line\n");
	/* LF inside a literal is data */
	check_conv("* 1 FETCH (BODY[] {2}\r\n\n\n)\r\n", NULL,
		   "DONE * 1 FETCH (BODY[] {2}<lit:\\x0a\\x0a>) => * #1 FETCH args=((BODY[] {2:\\x0a\\x0a}))\n");
	/* after reset the parser works again */
	struct imap_parser *p = imap_parser_new(NULL);
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, "* OK\n", 5, &used), IMAP_PARSE_ABORT);
	ck_assert_str_eq(imap_parser_error(p), "bare LF in a response line");
	ck_assert_int_eq(imap_parser_feed(p, "A1 OK\r\n", 7, &used), IMAP_PARSE_ABORT);
	imap_parser_reset(p);
	ck_assert_int_eq(imap_parser_feed(p, "A1 OK\r\n", 7, &used), IMAP_PARSE_DONE);
	ck_assert_uint_eq(used, 7);
	imap_parser_free(p);
}
END_TEST

START_TEST(test_lone_cr)
{
	check_conv("* OK a\rb\r\n* OK x\r\r\n* OK \r\r\r\n", NULL,
		   "DONE * OK a\\x0db => * OK text=a\\x0db\n"
		   "DONE * OK x\\x0d => * OK text=x\\x0d\n"
		   "DONE * OK \\x0d\\x0d => * OK text=\\x0d\\x0d\n");
}
END_TEST

START_TEST(test_line_too_long)
{
	struct run_opts o = { .lim = { .max_line = 32 } };
	check_conv("* OK 0123456789012345678901234567 {5}\r\n"   /* 37 bytes: over, {5} ignored */
		   "A1 OK done\r\n"
		   "* OK 012345678901234567890123456\r\n"           /* exactly 32: fine */
		   "* 1 FETCH (BODY[] {3}\r\nabc 0123456789012)\r\n" /* 21 + 15 over two lines */
		   "A2 OK still in sync\r\n", &o,
		   "ERROR response longer than 32 bytes dropped\n"
		   "DONE A1 OK done => A1 OK text=done\n"
		   "DONE * OK 012345678901234567890123456 => * OK text=012345678901234567890123456\n"
		   "ERROR response longer than 32 bytes dropped\n"
		   "DONE A2 OK still in sync => A2 OK text=still in sync\n");
	/* an over-long line whose literal is streamed: the sink was finished first */
	struct run_opts s = { .lim = { .max_line = 32 }, .hook = HOOK_STREAM };
	check_conv("* 1 FETCH (BODY[] {3}\r\nabc 0123456789012)\r\nA3 OK\r\n", &s,
		   "HOOK 3 => * #1 FETCH args=((BODY[] {3:pending}))\n"
		   "SINK 3:abc ok\n"
		   "ERROR response longer than 32 bytes dropped\n"
		   "DONE A3 OK => A3 OK text=\n");
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const char in[] = "* OK a\0b\r\nA1 OK fine\r\n"
				 "* 1 FETCH (X\0 {3}\r\nabc)\r\nA2 OK\r\n"
				 "* 2 FETCH (BODY[] {3}\r\na\0b)\r\n";
	struct run_opts o = { .hook = HOOK_MEMORY };
	check_conv_n(in, sizeof in - 1, &o,
		     "ERROR NUL byte in a response line\n"
		     "DONE A1 OK fine => A1 OK text=fine\n"
		     "ERROR NUL byte in a response line\n"
		     "DONE A2 OK => A2 OK text=\n"
		     "HOOK 3 => * #2 FETCH args=((BODY[] {3:pending}))\n"
		     "DONE * 2 FETCH (BODY[] {3}<lit:a\\x00b>) => * #2 FETCH args=((BODY[] {3:a\\x00b}))\n");
}
END_TEST

START_TEST(test_not_literals)
{
	check_conv("+ send {5}\r\nA1 OK\r\n"
		   "* OK weird {3+}\r\nA2 OK\r\n"
		   "* OK {}\r\n* OK {x}\r\n* OK }\r\n",
		   NULL,
		   "DONE + send {5} => + text=send {5}\n"
		   "DONE A1 OK => A1 OK text=\n"
		   "DONE * OK weird {3+} => * OK text=weird {3+}\n"
		   "DONE A2 OK => A2 OK text=\n"
		   "DONE * OK {} => * OK text={}\n"
		   "DONE * OK {x} => * OK text={x}\n"
		   "DONE * OK } => * OK text=}\n");
}
END_TEST

/* ---- response codes ---- */

START_TEST(test_response_codes)
{
	check_conv("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
		   "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
		   "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n"
		   "A3 OK [APPENDUID 38505 3955] APPEND completed\r\n"
		   "A4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
		   "A2 OK [READ-ONLY] EXAMINE completed\r\n"
		   "A5 OK [READ-WRITE]\r\n"
		   "A6 NO Permission denied\r\n"
		   "a7 ok [uidnext 4392] Predicted next UID\r\n"
		   "* BYE [UNAVAILABLE] shutting down\r\n"
		   "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as nobody\r\n"
		   "+ [ALERT] hi\r\n"
		   "* NO [ALERT] Disk full\r\n"
		   "A8 BAD [CLIENTBUG]  two spaces\r\n",
		   NULL,
		   "DONE * OK [UIDVALIDITY 3857529045] UIDs valid => * OK [UIDVALIDITY raw=3857529045 args=(3857529045)] text=UIDs valid\n"
		   "DONE * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited => * OK [PERMANENTFLAGS raw=(\\Deleted \\Seen \\*) args=((\\Deleted \\Seen \\*))] text=Limited\n"
		   "DONE * OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready. => * OK [CAPABILITY raw=IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN args=(IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN)] text=Dovecot ready.\n"
		   "DONE A3 OK [APPENDUID 38505 3955] APPEND completed => A3 OK [APPENDUID raw=38505 3955 args=(38505 3955)] text=APPEND completed\n"
		   "DONE A4 OK [COPYUID 38505 304,319:320 3956:3958] Done => A4 OK [COPYUID raw=38505 304,319:320 3956:3958 args=(38505 304,319:320 3956:3958)] text=Done\n"
		   "DONE A2 OK [READ-ONLY] EXAMINE completed => A2 OK [READ-ONLY] text=EXAMINE completed\n"
		   "DONE A5 OK [READ-WRITE] => A5 OK [READ-WRITE] text=\n"
		   "DONE A6 NO Permission denied => A6 NO text=Permission denied\n"
		   "DONE a7 ok [uidnext 4392] Predicted next UID => a7 OK [UIDNEXT raw=4392 args=(4392)] text=Predicted next UID\n"
		   "DONE * BYE [UNAVAILABLE] shutting down => * BYE [UNAVAILABLE] text=shutting down\n"
		   "DONE * PREAUTH [CAPABILITY IMAP4rev1] Logged in as nobody => * PREAUTH [CAPABILITY raw=IMAP4rev1 args=(IMAP4rev1)] text=Logged in as nobody\n"
		   "DONE + [ALERT] hi => + [ALERT] text=hi\n"
		   "DONE * NO [ALERT] Disk full => * NO [ALERT] text=Disk full\n"
		   "DONE A8 BAD [CLIENTBUG]  two spaces => A8 BAD [CLIENTBUG] text=two spaces\n");
}
END_TEST

START_TEST(test_odd_response_codes)
{
	check_conv("* OK [X-ODD [a] b] text\r\n"
		   "* OK [ALERT unterminated\r\n"
		   "* NO [BADCHARSET (\"x]y\" UTF-8)] no\r\n"
		   "* OK [PERMANENTFLAGS (\\Seen foo]bar \\*)] ok\r\n"
		   "* OK [X (unbalanced] t\r\n"
		   "* OK [] empty\r\n"
		   "* OK [X \"open] q\r\n"
		   "* OK [A] [B] two\r\n"
		   "* OK [X]\r\n",
		   NULL,
		   "DONE * OK [X-ODD [a] b] text => * OK [X-ODD raw=[a] b args=([a] b)] text=text\n"
		   "DONE * OK [ALERT unterminated => * OK text=[ALERT unterminated\n"
		   "DONE * NO [BADCHARSET (\"x]y\" UTF-8)] no => * NO [BADCHARSET raw=(\"x]y\" UTF-8) args=((\"x]y\" UTF-8))] text=no\n"
		   "DONE * OK [PERMANENTFLAGS (\\Seen foo]bar \\*)] ok => * OK [PERMANENTFLAGS raw=(\\Seen foo]bar \\*) args=((\\Seen foo]bar \\*))] text=ok\n"
		   "DONE * OK [X (unbalanced] t => * OK [X raw=(unbalanced] text=t\n"
		   "DONE * OK [] empty => * OK text=[] empty\n"
		   "DONE * OK [X \"open] q => * OK [X raw=\"open] text=q\n"
		   "DONE * OK [A] [B] two => * OK [A] text=[B] two\n"
		   "DONE * OK [X] => * OK [X] text=\n");
}
END_TEST

START_TEST(test_malformed)
{
	check_conv("\r\n"
		   "A1\r\n"
		   "* 12\r\n"
		   "* LIST (a))\r\n"
		   "* LIST (a\r\n"
		   "* LIST \"abc\r\n"
		   "* 4294967296 EXISTS\r\n"
		   "* 4294967295 EXISTS\r\n"
		   " OK\r\n"
		   "*\r\n"
		   "* 1 FETCH (BODY[] \"x {3}\r\nabc\")\r\n",
		   NULL,
		   "DONE  => PARSEFAIL empty response line\n"
		   "DONE A1 => PARSEFAIL response without a name\n"
		   "DONE * 12 => PARSEFAIL response without a name\n"
		   "DONE * LIST (a)) => PARSEFAIL unexpected ')'\n"
		   "DONE * LIST (a => PARSEFAIL unterminated list\n"
		   "DONE * LIST \"abc => PARSEFAIL unterminated quoted string\n"
		   "DONE * 4294967296 EXISTS => PARSEFAIL message number out of range\n"
		   "DONE * 4294967295 EXISTS => * #4294967295 EXISTS args=()\n"
		   "DONE  OK => PARSEFAIL response starts with a space\n"
		   "DONE * => PARSEFAIL response without a name\n"
		   "DONE * 1 FETCH (BODY[] \"x {3}<lit:abc>\") => PARSEFAIL unterminated quoted string\n");
}
END_TEST

/* ---- helpers and the API around them ---- */

START_TEST(test_arg_helpers)
{
	struct imap_parser *p = imap_parser_new(NULL);
	const char *in = "* X 0 18446744073709551615 18446744073709551616 12a nil \"s\" {2}\r\nab Seen\r\n";
	size_t used;
	struct imap_resp out;
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_DONE);
	ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, NULL), 0);
	ck_assert_uint_eq(out.nargs, 8);
	uint64_t v = 99;
	ck_assert(imap_arg_number(&out.args[0], &v));
	ck_assert_uint_eq(v, 0);
	ck_assert(imap_arg_number(&out.args[1], &v));
	ck_assert(v == UINT64_MAX);
	ck_assert(!imap_arg_number(&out.args[2], &v));
	ck_assert(!imap_arg_number(&out.args[3], &v));
	ck_assert(!imap_arg_number(&out.args[5], &v));  /* a string, not an atom */
	ck_assert(!imap_arg_number(NULL, &v));

	const char *s = "x";
	size_t n = 7;
	ck_assert_int_eq(out.args[4].type, IMAP_ARG_NIL);
	ck_assert(imap_arg_nstring(&out.args[4], &s, &n));
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(n, 0);
	ck_assert(imap_arg_nstring(&out.args[5], &s, &n));
	ck_assert_str_eq(s, "s");
	ck_assert(imap_arg_nstring(&out.args[6], &s, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(memcmp(s, "ab", 2), 0);
	ck_assert(!imap_arg_nstring(&out.args[7], &s, &n));  /* an atom */

	ck_assert(imap_arg_is_atom(&out.args[7], "SEEN"));
	ck_assert(imap_arg_is_atom(&out.args[7], "seen"));
	ck_assert(!imap_arg_is_atom(&out.args[7], "SEE"));
	ck_assert(!imap_arg_is_atom(&out.args[7], "SEENX"));
	ck_assert(imap_arg_is_atom(&out.args[4], "NIL"));
	ck_assert(!imap_arg_is_atom(&out.args[5], "S"));
	ck_assert(!imap_arg_is_atom(NULL, "S"));
	imap_parser_free(p);
}
END_TEST

START_TEST(test_limits_and_state)
{
	struct imap_parser *p = imap_parser_new(NULL);
	const struct imap_parser_limits *l = imap_parser_limits(p);
	ck_assert_uint_eq(l->max_line, (size_t)16 << 20);
	ck_assert(l->max_literal == (uint64_t)2 << 30);
	ck_assert_uint_eq(l->max_mem_literal, (size_t)1 << 20);
	ck_assert_uint_eq(l->max_pieces, 100000);
	ck_assert_uint_eq(l->max_depth, 100);
	ck_assert_ptr_null(imap_parser_response(p));
	ck_assert_str_eq(imap_parser_error(p), "");

	/* DONE leaves the rest of the input; the response lives until the next feed */
	const char *in = "A1 OK one\r\nA2 OK two\r\n";
	size_t used;
	ck_assert_int_eq(imap_parser_feed(p, in, strlen(in), &used), IMAP_PARSE_DONE);
	ck_assert_uint_eq(used, 11);
	ck_assert_str_eq(imap_parser_response(p)->pieces[0].text, "A1 OK one");
	ck_assert_int_eq(imap_parser_feed(p, in + used, 0, &used), IMAP_PARSE_MORE);
	ck_assert_ptr_null(imap_parser_response(p));
	ck_assert_int_eq(imap_parser_feed(p, in + 11, strlen(in) - 11, &used), IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_response(p)->pieces[0].text, "A2 OK two");
	imap_parser_free(p);

	struct imap_parser_limits mine = { .max_line = 5, .max_depth = 2 };
	p = imap_parser_new(&mine);
	ck_assert_uint_eq(imap_parser_limits(p)->max_line, 5);
	ck_assert_uint_eq(imap_parser_limits(p)->max_depth, 2);
	ck_assert_uint_eq(imap_parser_limits(p)->max_pieces, 100000);
	imap_parser_free(p);
	imap_parser_free(NULL);
}
END_TEST

/* Many responses through one parser: buffers are reused, results stay right. */
START_TEST(test_many_responses)
{
	struct buf in = BUF_INIT;
	for (int i = 1; i <= 2000; i++) {
		buf_addf(&in, "* %d FETCH (UID %d BODY[] {%d}\r\n", i, i * 3, i % 50);
		for (int k = 0; k < i % 50; k++)
			buf_addch(&in, (char)('a' + k % 26));
		buf_addstr(&in, ")\r\n");
	}
	struct imap_parser *p = imap_parser_new(NULL);
	size_t off = 0;
	int count = 0;
	while (off < in.len) {
		size_t used;
		enum imap_parse_result r = imap_parser_feed(p, in.data + off, in.len - off, &used);
		off += used;
		if (r != IMAP_PARSE_DONE) {
			ck_assert_int_eq(r, IMAP_PARSE_MORE);
			continue;
		}
		count++;
		struct imap_resp out;
		ck_assert_int_eq(imap_resp_parse(p, imap_parser_response(p), &out, NULL), 0);
		ck_assert_uint_eq(out.number, (unsigned)count);
		ck_assert_uint_eq(out.nargs, 1);
		ck_assert_uint_eq(out.args[0].count, 4);
		uint64_t uid;
		ck_assert(imap_arg_number(&out.args[0].list[1], &uid));
		ck_assert_uint_eq(uid, (unsigned)count * 3);
		ck_assert_uint_eq(out.args[0].list[3].len, (unsigned)count % 50);
	}
	ck_assert_int_eq(count, 2000);
	imap_parser_free(p);
	buf_free(&in);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parser");
	TCase *tc = tcase_create("framing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_simple);
	tcase_add_test(tc, test_list_lsub_status);
	tcase_add_test(tc, test_fetch_body_literal);
	tcase_add_test(tc, test_two_literals);
	tcase_add_test(tc, test_zero_literal);
	tcase_add_test(tc, test_big_literal_in_memory);
	tcase_add_test(tc, test_big_literal_streamed);
	tcase_add_test(tc, test_huge_literal_announcement);
	tcase_add_test(tc, test_mem_literal_limit);
	tcase_add_test(tc, test_max_pieces);
	tcase_add_test(tc, test_sink_failure);
	tcase_add_test(tc, test_max_literal_streamed);
	tcase_add_test(tc, test_metadata_literal_refused_before_buffering);
	tcase_add_test(tc, test_reset_mid_literal);
	tcase_add_test(tc, test_bare_lf);
	tcase_add_test(tc, test_lone_cr);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_not_literals);
	tcase_add_test(tc, test_limits_and_state);
	tcase_add_test(tc, test_many_responses);
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bracket_in_flags);
	tcase_add_test(tc, test_section_atoms);
	tcase_add_test(tc, test_nesting_and_depth);
	tcase_add_test(tc, test_quoted_strings);
	tcase_add_test(tc, test_response_codes);
	tcase_add_test(tc, test_odd_response_codes);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_arg_helpers);
	suite_add_tcase(s, tc);

	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
