/* check_imaplib_pipeline.c: the pipelined core under imaplib.  Answers in
 * any order must reach the command that owns the tag, and a large literal
 * handed to a sink must arrive whole, once, with its FETCH still seen by
 * the untagged handler. */
#include "config.h"
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check_imaplib_scene.h"
#include "imap.h"
#include "imaplib.h"

START_TEST(test_pipelined_commands_match_by_tag)
{
	struct scene sc;
	struct buf script = BUF_INIT;
	buf_addstr(&script, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\nS: * CAPABILITY IMAP4rev1\n"
			    "S: <tag0> OK done\n");
	/* all ten commands arrive before the first reply is sent */
	for (int i = 1; i <= 10; i++)
		buf_addf(&script, "C: <tag%d> UID FETCH %d (UID)\n", i, i);
	for (int i = 10; i >= 1; i--)   /* replies in reverse order */
		buf_addf(&script, "S: * %d FETCH (UID %d)\nS: <tag%d> OK done %d\n", i, i, i, i);
	buf_addstr(&script, "EOF\n");
	ck_assert_int_eq(scene_open(&sc, script.data, NULL), IMAP_OK);
	buf_free(&script);
	struct imap_cmd *cmds[10];
	for (int i = 0; i < 10; i++) {
		cmds[i] = imap_cmd_new("UID FETCH");
		imap_cmd_addf(cmds[i], " %d (UID)", i + 1);
		ck_assert_int_eq(imap_submit(sc.s, cmds[i]), IMAP_OK);
	}
	ck_assert_uint_eq(imap_in_flight(sc.s), 10);
	ck_assert_int_eq(imap_wait(sc.s, cmds[0]), IMAP_OK);
	ck_assert_uint_eq(imap_in_flight(sc.s), 0);  /* the first tag is answered last */
	for (int i = 0; i < 10; i++) {
		char want[32];
		snprintf(want, sizeof want, "done %d", i + 1);
		ck_assert(imap_cmd_ok(cmds[i]));
		ck_assert_str_eq(imap_cmd_text(cmds[i]), want);
		imap_cmd_free(cmds[i]);
	}
	scene_end(&sc);
}
END_TEST

struct collect {
	struct buf bytes;
	int done_calls;
	bool ok;
};

static int collect_write(void *ctx, const void *p, size_t n)
{
	buf_add(&((struct collect *)ctx)->bytes, p, n);
	return 0;
}

static void collect_done(void *ctx, bool ok)
{
	struct collect *c = ctx;
	c->done_calls++;
	c->ok = ok;
}

static bool claim_literal(void *ctx, const struct imap_response *so_far, uint64_t size,
			  struct imap_sink *sink)
{
	(void)so_far;
	(void)size;
	sink->write = collect_write;
	sink->done = collect_done;
	sink->ctx = ctx;
	return true;
}

static int count_untagged;

static void on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			const struct imap_resp *r)
{
	(void)ctx;
	(void)s;
	(void)raw;
	if (r && !strcmp(r->name, "FETCH"))
		count_untagged++;
}

START_TEST(test_streamed_literal_reaches_sink_whole)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> UID FETCH 7 (BODY.PEEK[])\n"
				    "S: * 1 FETCH (UID 7 BODY[] {4194304}\n"
				    "LITERAL 4194304 m\n"
				    "S: )\n"
				    "S: <tag1> OK done\n"
				    "EOF\n", NULL), IMAP_OK);
	struct collect col = { BUF_INIT, 0, false };
	count_untagged = 0;
	imap_set_literal_hook(sc.s, claim_literal, &col);
	imap_set_untagged_handler(sc.s, on_untagged, NULL);
	struct imap_cmd *c = imap_cmd_new("UID FETCH");
	imap_cmd_add(c, " 7 (BODY.PEEK[])");
	ck_assert_int_eq(imap_submit(sc.s, c), IMAP_OK);
	ck_assert_int_eq(imap_wait(sc.s, c), IMAP_OK);
	ck_assert(imap_cmd_ok(c));
	imap_cmd_free(c);
	ck_assert_uint_eq(col.bytes.len, 4194304);
	for (size_t i = 0; i < col.bytes.len; i++)
		if (col.bytes.data[i] != 'm')
			ck_abort_msg("byte %zu is %d", i, col.bytes.data[i]);
	ck_assert_int_eq(col.done_calls, 1);
	ck_assert(col.ok);
	ck_assert_int_eq(count_untagged, 1);
	buf_free(&col.bytes);
	scene_end(&sc);
}
END_TEST

void check_imaplib_add_pipeline(TCase *tc)
{
	tcase_add_test(tc, test_pipelined_commands_match_by_tag);
	tcase_add_test(tc, test_streamed_literal_reaches_sink_whole);
}
