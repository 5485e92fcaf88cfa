/* check_parser_literals.c: literals, where a hostile or broken server can
 * do the most harm: sizes are announced before the bytes, so limits must
 * be applied when a literal is announced, streamed bodies must not count
 * against memory, and a sink must be finished exactly once whatever
 * happens to the parser. */
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
#include "xalloc.h"

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

void check_parser_add_literals(TCase *tc)
{
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
}
