/* check_imaplib_idle.c: IDLE.  Responses may come before the "+", a
 * server without IDLE must be refused before anything is sent, and every
 * wait of imap_idle_run must end on its own terms: the wake fd at once,
 * a missing "+" by answer_ms rather than the whole duration. */
#include "config.h"
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check_imaplib_scene.h"
#include "clock.h"
#include "imap.h"
#include "imaplib.h"

START_TEST(test_idle_with_responses_before_continuation)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 IDLE\nS: <tag0> OK done\n"
				    "C: <tag1> IDLE\n"
				    "S: * 3 EXISTS\n"
				    "S: + idling\n"
				    "S: * 4 EXISTS\n"
				    "S: * 2 EXPUNGE\n"
				    "C: DONE\n"
				    "S: <tag1> OK IDLE terminated\n"
				    "C: <tag2> NOOP\n"
				    "S: <tag2> OK done\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_idle_collect(sc.s, 300, &sc.r), IMAP_OK);
	ck_assert_uint_eq(sc.r.n, 3);
	ck_assert_str_eq(sc.r.items[0].sub[0].text.data, "EXISTS");
	ck_assert_str_eq(sc.r.items[0].sub[1].text.data, "3");
	ck_assert_str_eq(sc.r.items[1].sub[1].text.data, "4");
	ck_assert_str_eq(sc.r.items[2].sub[0].text.data, "EXPUNGE");
	/* and the connection goes on */
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_OK);
	scene_end(&sc);
}
END_TEST

START_TEST(test_idle_without_capability)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_idle_collect(sc.s, 100, &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "IDLE not supported by server");
	scene_end(&sc);
}
END_TEST

/* imap_idle_run: a wake_fd ends the wait at once (check_ms alone would
 * wait a minute), end_now then sends DONE. */
struct idle_waker {
	int pipe[2];
	atomic_bool woken;
	atomic_int asked_after_wake;
};

static void *idle_wake_later(void *arg)
{
	struct idle_waker *k = arg;
	usleep(200 * 1000);
	atomic_store(&k->woken, true);
	/* a lost byte shows as the test hanging into its timeout */
	if (write(k->pipe[1], "x", 1) != 1)
		atomic_store(&k->woken, false);
	return NULL;
}

static bool idle_woken(void *ctx)
{
	struct idle_waker *k = ctx;
	char b[8];
	while (read(k->pipe[0], b, sizeof b) > 0)
		;
	if (!atomic_load(&k->woken))
		return false;
	atomic_fetch_add(&k->asked_after_wake, 1);
	return true;
}

START_TEST(test_idle_run_ends_on_wake_fd)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 IDLE\nS: <tag0> OK done\n"
				    "C: <tag1> IDLE\n"
				    "S: + idling\n"
				    "C: DONE\n"
				    "S: <tag1> OK IDLE terminated\n"
				    "EOF\n", NULL), IMAP_OK);
	struct idle_waker k = { .woken = false, .asked_after_wake = 0 };
	ck_assert_int_eq(pipe2(k.pipe, O_NONBLOCK | O_CLOEXEC), 0);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, idle_wake_later, &k), 0);
	struct imap_idle_opts o = IMAP_IDLE_OPTS_INIT;
	o.duration_ms = 60000;
	o.check_ms = 60000;
	o.wake_fd = k.pipe[0];
	o.end_now = idle_woken;
	o.ctx = &k;
	long long t0 = clock_ms();
	ck_assert_int_eq(imap_idle_run(sc.s, &o), IMAP_OK);
	/* not the minute of duration_ms or check_ms: did not hang */
	ck_assert_int_lt(clock_ms() - t0, 20000);
	ck_assert_int_eq(atomic_load(&k.asked_after_wake), 1);
	pthread_join(t, NULL);
	close(k.pipe[0]);
	close(k.pipe[1]);
	scene_end(&sc);
}
END_TEST

/* A server that never answers the IDLE with "+": answer_ms, not the
 * duration, bounds the wait. */
START_TEST(test_idle_run_answer_deadline)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 IDLE\nS: <tag0> OK done\n"
				    "C: <tag1> IDLE\n"
				    "DRAIN\n", NULL), IMAP_OK);
	struct imap_idle_opts o = IMAP_IDLE_OPTS_INIT;
	o.duration_ms = 60000;
	o.answer_ms = 300;
	ck_assert_int_eq(imap_idle_run(sc.s, &o), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "timed out waiting for IDLE") != NULL, "%s",
		      imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

void check_imaplib_add_idle(TCase *tc)
{
	tcase_add_test(tc, test_idle_with_responses_before_continuation);
	tcase_add_test(tc, test_idle_without_capability);
	tcase_add_test(tc, test_idle_run_ends_on_wake_fd);
	tcase_add_test(tc, test_idle_run_answer_deadline);
}
