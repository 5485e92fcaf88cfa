/* check_stall_core.c: the IMAP core against servers that stall, trickle
 * or chatter.  Each command has one deadline for its whole exchange
 * (IMAP_ABORT "timed out"), the greeting included; only literal bytes that
 * move for it (a body kept, a message sent) earn it time, so a server
 * cannot keep a reader waiting by talking; without a timeout a slow answer
 * is waited for, as imaplib does; and a cancel fd ends a wait at once. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check_stall_util.h"
#include "clock.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"
#include "xalloc.h"

#define CORE_GREETING                          \
	"S: * OK fake\n"                       \
	"C: <tag0> CAPABILITY\n"               \
	"S: * CAPABILITY IMAP4rev1\n"          \
	"S: <tag0> OK done\n"

static struct imap *core_open(struct fake_server *f, int timeout_ms)
{
	struct imap_opts o = { .timeout_ms = timeout_ms, .allow_plaintext = true };
	struct buf err = BUF_INIT;
	struct imap *s;
	ck_assert_msg(imap_open(&s, "127.0.0.1", fake_port_str(f), &o, &err) == 0, "%s", err.data);
	buf_free(&err);
	return s;
}

/* Submits UID FETCH 1 (UID BODY.PEEK[]) and waits for it; *ms: how long. */
static int core_fetch(struct imap *s, long long *ms)
{
	struct imap_cmd *c = imap_cmd_new("UID FETCH");
	imap_cmd_add(c, " 1 (UID BODY.PEEK[])");
	long long t0 = clock_ms();
	int rc = imap_submit(s, c);
	if (rc == 0)
		rc = imap_wait(s, c);
	*ms = clock_ms() - t0;
	if (rc == 0)
		ck_assert_msg(imap_cmd_ok(c), "%s %s", imap_cmd_status(c), imap_cmd_text(c));
	imap_cmd_free(c);
	return rc;
}

START_TEST(test_core_chatter_cannot_keep_a_command_alive)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, CORE_GREETING "C: <tag1> UID FETCH 1 (UID BODY.PEEK[])\n");
	add_chatter(&script, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 2000);
	long long ms;
	ck_assert_int_eq(core_fetch(s, &ms), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(s), "timed out") != NULL, "%s", imap_errmsg(s));
	ck_assert_msg(ms < NO_HANG_MS, "the wait took %lld ms", ms);
	imap_close(s);
	finish_abandoned(f);
	buf_free(&script);
}
END_TEST

START_TEST(test_core_trickled_literal_times_out)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, CORE_GREETING "C: <tag1> UID FETCH 1 (UID BODY.PEEK[])\n");
	add_trickle(&script, "* 1 FETCH (UID 1 BODY[]", 1000, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 2000);
	long long ms;
	ck_assert_int_eq(core_fetch(s, &ms), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(s), "timed out") != NULL, "%s", imap_errmsg(s));
	ck_assert_msg(ms < NO_HANG_MS, "the wait took %lld ms", ms);
	imap_close(s);
	finish_abandoned(f);
	buf_free(&script);
}
END_TEST

/* Data the command did not ask for earns it nothing: a NOOP answered
 * only by "* SEARCH ..." and "* 1 EXISTS", 20 KB a second, is cut off
 * at its deadline. */
START_TEST(test_core_data_chatter_cannot_keep_a_command_alive)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, CORE_GREETING "C: <tag1> NOOP\n");
	add_data_chatter(&script, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 2000);
	struct imap_cmd *c = imap_cmd_new("NOOP");
	long long t0 = clock_ms();
	int rc = imap_submit(s, c);
	if (rc == 0)
		rc = imap_wait(s, c);
	long long ms = clock_ms() - t0;
	ck_assert_int_eq(rc, IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(s), "timed out") != NULL, "%s", imap_errmsg(s));
	ck_assert_msg(ms < NO_HANG_MS, "the wait took %lld ms", ms);
	imap_cmd_free(c);
	imap_close(s);
	finish_abandoned(f);
	buf_free(&script);
}
END_TEST

/* A literal the caller's hook reads past (a sink without write) is no
 * progress either: a FETCH answered only by bodies of another message is
 * cut off at its deadline. */
static bool discard_it(void *ctx, const struct imap_response *so_far, uint64_t size, struct imap_sink *sink)
{
	(void)so_far;
	(void)size;
	(*(int *)ctx)++;
	sink->write = NULL;
	sink->done = NULL;
	sink->ctx = NULL;
	return true;
}

START_TEST(test_core_discarded_literals_earn_nothing)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, CORE_GREETING "C: <tag1> UID FETCH 1 (UID BODY.PEEK[])\n");
	add_unwanted_bodies(&script, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 2000);
	int discarded = 0;
	imap_set_literal_hook(s, discard_it, &discarded);
	long long ms;
	ck_assert_int_eq(core_fetch(s, &ms), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(s), "timed out") != NULL, "%s", imap_errmsg(s));
	ck_assert_msg(ms < NO_HANG_MS, "the wait took %lld ms", ms);
	ck_assert_int_gt(discarded, 0);
	imap_close(s);
	finish_abandoned(f);
	buf_free(&script);
}
END_TEST

/* The greeting is one exchange too: one trickled a byte a second does
 * not keep the connect waiting. */
START_TEST(test_core_greeting_has_one_deadline)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, "S+ * OK\n");
	for (int i = 0; i < STALL_S; i++)
		buf_addstr(&script, "SLEEP 1000\nS+ .\n");
	struct fake_server *f = start_fake(&script);
	struct imap_opts o = { .timeout_ms = 2000, .allow_plaintext = true };
	struct buf err = BUF_INIT;
	struct imap *s = NULL;
	long long t0 = clock_ms();
	ck_assert_int_eq(imap_open(&s, "127.0.0.1", fake_port_str(f), &o, &err), IMAP_ABORT);
	ck_assert_msg(clock_ms() - t0 < NO_HANG_MS, "the greeting took %lld ms", clock_ms() - t0);
	ck_assert_msg(strstr(err.data, "timed out") != NULL, "%s", err.data);
	ck_assert_ptr_null(s);
	finish_abandoned(f);
	buf_free(&err);
	buf_free(&script);
}
END_TEST

struct counted {
	uint64_t bytes;
	bool all_z;
	bool done_ok;
};

static int counted_write(void *ctx, const void *p, size_t n)
{
	struct counted *k = ctx;
	for (size_t i = 0; i < n; i++)
		k->all_z &= ((const char *)p)[i] == 'z';
	k->bytes += n;
	return 0;
}

static void counted_done(void *ctx, bool ok)
{
	((struct counted *)ctx)->done_ok = ok;
}

static bool stream_it(void *ctx, const struct imap_response *so_far, uint64_t size, struct imap_sink *sink)
{
	(void)so_far;
	(void)size;
	sink->write = counted_write;
	sink->done = counted_done;
	sink->ctx = ctx;
	return true;
}

/* A body on a slow link is not cut off: it takes twice the timeout, but
 * each second brings more than IMAP_PROGRESS_BYTES. */
START_TEST(test_core_arriving_body_earns_time)
{
	enum { CHUNKS = 16, CHUNK = 2 * IMAP_PROGRESS_BYTES };
	struct buf script = BUF_INIT;
	buf_addf(&script, CORE_GREETING "C: <tag1> UID FETCH 1 (UID BODY.PEEK[])\n"
		 "S+ * 1 FETCH (UID 1 BODY[] {%d}\\r\\n\n", CHUNKS * CHUNK);
	for (int i = 0; i < CHUNKS; i++)
		buf_addf(&script, "SLEEP 250\nLITERAL %d z\n", CHUNK);
	buf_addstr(&script, "S: )\nS: <tag1> OK done\nC: <tag2> LOGOUT\nS: * BYE bye\nS: <tag2> OK out\nEOF\n");
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 2000);
	struct counted k = { 0, true, false };
	imap_set_literal_hook(s, stream_it, &k);
	long long ms;
	ck_assert_int_eq(core_fetch(s, &ms), IMAP_OK);
	ck_assert_uint_eq(k.bytes, CHUNKS * CHUNK);
	ck_assert(k.all_z);
	ck_assert(k.done_ok);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_logout(s, &r), 0);
	imap_result_free(&r);
	imap_close(s);
	fakefs_server_finish(f);
	buf_free(&script);
}
END_TEST

/* What the server takes from us earns time too: an APPEND whose message
 * the server reads for twice the timeout is not cut off, because its
 * literal moves faster than IMAP_PROGRESS_BYTES a second. */
START_TEST(test_core_literal_going_out_earns_time)
{
	enum { CHUNKS = 16, CHUNK = 4 * IMAP_PROGRESS_BYTES };
	struct buf script = BUF_INIT;
	buf_addf(&script, CORE_GREETING "C: <tag1> APPEND INBOX {%d}\nS: + go\n", CHUNKS * CHUNK);
	for (int i = 0; i < CHUNKS; i++)
		buf_addf(&script, "SLEEP 250\nC-LITERAL %d a\n", CHUNK);
	buf_addstr(&script, "C: \nS: <tag1> OK appended\nC: <tag2> LOGOUT\nS: * BYE bye\nS: <tag2> OK out\nEOF\n");
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 2000);
	char *msg = xmalloc(CHUNKS * CHUNK);
	memset(msg, 'a', CHUNKS * CHUNK);
	struct imap_cmd *c = imap_cmd_new("APPEND");
	imap_cmd_add(c, " INBOX");
	imap_cmd_add_literal(c, msg, CHUNKS * CHUNK);
	free(msg);
	int rc = imap_submit(s, c);
	if (rc == 0)
		rc = imap_wait(s, c);
	ck_assert_msg(rc == IMAP_OK, "%s", imap_errmsg(s));
	ck_assert_str_eq(imap_cmd_status(c), "OK");
	imap_cmd_free(c);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_logout(s, &r), 0);
	imap_result_free(&r);
	imap_close(s);
	fakefs_server_finish(f);
	buf_free(&script);
}
END_TEST

/* imaplib's rule stays: without a timeout a slow answer is waited for. */
START_TEST(test_core_no_timeout_waits_as_imaplib)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, CORE_GREETING "C: <tag1> NOOP\n");
	add_chatter(&script, 3);
	buf_addstr(&script, "S: <tag1> OK done\nEOF\n");
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 0);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_noop(s, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	imap_close(s);
	fakefs_server_finish(f);
	buf_free(&script);
}
END_TEST

static void *write_after_500ms(void *arg)
{
	os_sleep_ms(500);
	uint64_t one = 1;
	ck_assert_int_eq(write(*(int *)arg, &one, sizeof one), (ssize_t)sizeof one);
	return NULL;
}

/* The cancel fd ends a wait that has no deadline at all. */
START_TEST(test_core_cancel_fd_ends_the_wait)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, CORE_GREETING "C: <tag1> UID FETCH 1 (UID BODY.PEEK[])\n");
	add_chatter(&script, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct imap *s = core_open(f, 0);
	int fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	imap_set_cancel_fd(s, fd);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, write_after_500ms, &fd), 0);
	long long ms;
	ck_assert_int_eq(core_fetch(s, &ms), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(s), "interrupted") != NULL, "%s", imap_errmsg(s));
	ck_assert_msg(ms < NO_HANG_MS, "the wait took %lld ms", ms);
	pthread_join(th, NULL);
	imap_close(s);
	close(fd);
	finish_abandoned(f);
	buf_free(&script);
}
END_TEST

void check_stall_add_core(TCase *tc)
{
	tcase_add_test(tc, test_core_chatter_cannot_keep_a_command_alive);
	tcase_add_test(tc, test_core_trickled_literal_times_out);
	tcase_add_test(tc, test_core_data_chatter_cannot_keep_a_command_alive);
	tcase_add_test(tc, test_core_discarded_literals_earn_nothing);
	tcase_add_test(tc, test_core_greeting_has_one_deadline);
	tcase_add_test(tc, test_core_arriving_body_earns_time);
	tcase_add_test(tc, test_core_literal_going_out_earns_time);
	tcase_add_test(tc, test_core_no_timeout_waits_as_imaplib);
	tcase_add_test(tc, test_core_cancel_fd_ends_the_wait);
}
