/* check_stall_fs.c: the filesystem core against a server that stalls:
 * fs_open_body and mkdir fail with EIO at their deadline, an interrupted
 * request returns EINTR at once (its fetch goes on into the cache), and
 * fs_stop returns at once, also while a connection is being opened, which
 * has one deadline for connect, greeting and login.  Readers are what a
 * stall would hold, so each test asserts they came back. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "cancel.h"
#include "check_stall_util.h"
#include "clock.h"
#include "fs.h"
#include "fs_impl.h"  /* the mailbox tree, to hold a mailbox's lock */
#include "harness_os.h"

/* The fetch and its retry on a fresh connection each give up after the
 * timeout (the fresh one finds a server that never greets). */
START_TEST(test_fs_chatter_is_eio)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_HEAD);
	add_chatter(&script, STALL_S);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, 2);
	long long ms;
	ck_assert_int_eq(open_body(&sf, &ms), -EIO);
	ck_assert_msg(ms < NO_HANG_MS, "the read took %lld ms", ms);
	fakefs_free(&sf.ff);
	finish_abandoned(sf.ff.f);
	buf_free(&script);
}
END_TEST

START_TEST(test_fs_trickle_is_eio)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_HEAD);
	add_trickle(&script, "* 1 FETCH (UID 1 BODY[]", 1000, STALL_S);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, 2);
	long long ms;
	ck_assert_int_eq(open_body(&sf, &ms), -EIO);
	ck_assert_msg(ms < NO_HANG_MS, "the read took %lld ms", ms);
	fakefs_free(&sf.ff);
	finish_abandoned(sf.ff.f);
	buf_free(&script);
}
END_TEST

/* The same at the filesystem's level: mkdir (CREATE, never cut short by
 * an interrupt) answered only by untagged data fails at its deadline. */
START_TEST(test_fs_mkdir_against_data_chatter_is_eio)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_LISTED "C: <tag5> CREATE Proj\n");
	add_data_chatter(&script, STALL_S);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, 2);
	struct fs_entry e;
	long long t0 = clock_ms();
	ck_assert_int_eq(fs_mkdir(sf.ff.fs, FS_ROOT_INO, "Proj", &e), -EIO);
	ck_assert_msg(clock_ms() - t0 < NO_HANG_MS, "mkdir took %lld ms", clock_ms() - t0);
	fakefs_free(&sf.ff);
	finish_abandoned(sf.ff.f);
	buf_free(&script);
}
END_TEST

/* A read whose FETCH brings only bodies nobody asked for (which fetch.c
 * reads past) fails like one against a stalled server. */
START_TEST(test_fs_unwanted_bodies_are_eio)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_HEAD);
	add_unwanted_bodies(&script, STALL_S);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, 2);
	long long ms;
	ck_assert_int_eq(open_body(&sf, &ms), -EIO);
	ck_assert_msg(ms < NO_HANG_MS, "the read took %lld ms", ms);
	fakefs_free(&sf.ff);
	finish_abandoned(sf.ff.f);
	buf_free(&script);
}
END_TEST

struct reader {
	struct stall_fs *sf;
	struct fs_cancel *token;   /* NULL: a request nobody can cancel */
	int rc;
	long long ms;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	fs_cancel_enter(r->token);
	r->rc = open_body(r->sf, &r->ms);
	fs_cancel_enter(NULL);
	return NULL;
}

/* Starts fn (reader_main or another request) for sf in a thread of its
 * own, interruptible through token unless NULL. */
static pthread_t request_start(struct reader *r, struct stall_fs *sf, struct fs_cancel *token,
			       void *(*fn)(void *))
{
	*r = (struct reader){ sf, token, 1, 0 };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, fn, r), 0);
	return th;
}

/* The request in th ended soon (it does not wait for the stall) with rc. */
static void request_ends_with(pthread_t th, const struct reader *r, int rc)
{
	ck_assert_msg(join_within(th, NO_HANG_MS), "the request still waits");
	ck_assert_int_eq(r->rc, rc);
}

/* fs_stop returns soon, whatever stalls. */
static void fs_stop_at_once(struct stall_fs *sf)
{
	long long t0 = clock_ms();
	fs_stop(sf->ff.fs);
	ck_assert_msg(clock_ms() - t0 < NO_HANG_MS, "fs_stop took %lld ms", clock_ms() - t0);
}

/* An interrupted request returns EINTR at once, with no timeout in sight;
 * the body it asked for still arrives, into the cache, on the same
 * connection (the script has no second FETCH). */
START_TEST(test_fs_interrupted_read_returns_at_once)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_HEAD);
	add_chatter(&script, 6);
	buf_addstr(&script, "S: * 1 FETCH (UID 1 BODY[] {100}\nLITERAL 100 z\nS: )\n"
			    "S: * 2 FETCH (UID 2 BODY[] {100}\nLITERAL 100 w\nS: )\n"
			    "S: <tag5> OK done\n" FAKE_LOGOUT);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, STALL_S);
	struct fs_cancel token;
	fs_cancel_init(&token);
	struct reader r;
	pthread_t th = request_start(&r, &sf, &token, reader_main);
	os_sleep_ms(1000);
	long long t0 = clock_ms();
	fs_cancel_fire(&token);
	request_ends_with(th, &r, -EINTR);
	ck_assert_msg(clock_ms() - t0 < NO_HANG_MS, "took %lld ms", clock_ms() - t0);
	fs_cancel_destroy(&token);
	/* the fetch finishes in the background */
	struct cache_span body;
	int rc = -ENOENT;
	for (int i = 0; i < 300 && rc < 0; i++)
		if ((rc = fs_cached_body(sf.ff.fs, sf.ino, &body)) < 0)
			os_sleep_ms(100);
	ck_assert_int_eq(rc, 0);
	char bytes[100];
	ck_assert_uint_eq(body.size, 100);  /* the cache file may hold more bodies after it */
	ck_assert_int_eq(pread(body.fd, bytes, sizeof bytes, (off_t)body.offset), 100);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(bytes[i], 'z');
	close(body.fd);
	fakefs_close(&sf.ff);
	buf_free(&script);
}
END_TEST

/* fs_stop while a fetch stalls (timeout far away) and a reader waits for
 * it: both return at once. */
START_TEST(test_fs_stop_does_not_wait_for_a_stall)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_HEAD);
	add_chatter(&script, STALL_S);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, STALL_S);
	struct reader r;
	pthread_t th = request_start(&r, &sf, NULL, reader_main);
	os_sleep_ms(1000);
	fs_stop_at_once(&sf);
	request_ends_with(th, &r, -EIO);
	fakefs_free(&sf.ff);
	finish_abandoned(sf.ff.f);
	buf_free(&script);
}
END_TEST

/* A reader already on its way into the read-ahead when fs_stop runs,
 * and still on it afterwards (held here at its mailbox's lock), finds what
 * it uses still there and gets EIO.  (A daemon stops after the FUSE loop,
 * whose readers are gone; fs_stop does not count on that.) */
START_TEST(test_fs_stop_leaves_readers_what_they_use)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_LISTED FAKE_LOGOUT);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, STALL_S);
	struct mbox *m = mtree_by_name(&sf.ff.fs->tree, "INBOX");
	ck_assert_ptr_nonnull(m);
	pthread_mutex_lock(&m->lock);
	struct reader r;
	pthread_t th = request_start(&r, &sf, NULL, reader_main);
	os_sleep_ms(500);  /* the reader waits for the lock on its way in */
	fs_stop(sf.ff.fs);
	pthread_mutex_unlock(&m->lock);
	request_ends_with(th, &r, -EIO);
	mbox_put(m);
	fakefs_close(&sf.ff);
	buf_free(&script);
}
END_TEST

/* ---- opening a connection ---- */

/* After the listing the server drops the connection and takes the next
 * one, which it never greets: whoever needs the server next reconnects
 * and waits for a greeting that does not come. */
#define FS_SCRIPT_SILENT_RECONNECT FS_SCRIPT_LISTED "ACCEPT\nDRAIN\n"

/* A flag change: a STORE, which only the server can answer (reading the
 * flags is served from the listing). */
static void *setxattr_main(void *arg)
{
	struct reader *r = arg;
	fs_cancel_enter(r->token);
	long long t0 = clock_ms();
	r->rc = fs_setxattr(r->sf->ff.fs, r->sf->ino, "user.imap.flags", "\\Seen", 5);
	r->ms = clock_ms() - t0;
	fs_cancel_enter(NULL);
	return NULL;
}

/* A request interrupted while its own thread reconnects (connect,
 * greeting, login) returns EINTR at once, with the timeout a minute
 * away. */
START_TEST(test_fs_interrupted_reconnect_returns_at_once)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_SILENT_RECONNECT);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, STALL_S);
	struct fs_cancel token;
	fs_cancel_init(&token);
	struct reader r;
	pthread_t th = request_start(&r, &sf, &token, setxattr_main);
	os_sleep_ms(1500);  /* the first try found the connection gone; the second waits to be greeted */
	long long t0 = clock_ms();
	fs_cancel_fire(&token);
	request_ends_with(th, &r, -EINTR);
	ck_assert_msg(clock_ms() - t0 < NO_HANG_MS, "took %lld ms", clock_ms() - t0);
	fs_cancel_destroy(&token);
	fakefs_close(&sf.ff);
	buf_free(&script);
}
END_TEST

/* fs_stop while a read-ahead worker reconnects to a server that never
 * greets (the timeout a minute away): it returns at once, and so does
 * the reader waiting for the worker. */
START_TEST(test_fs_stop_during_a_stalled_reconnect)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_SILENT_RECONNECT);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, STALL_S);
	struct reader r;
	pthread_t th = request_start(&r, &sf, NULL, reader_main);
	os_sleep_ms(1500);  /* the worker found the connection gone and dials again */
	fs_stop_at_once(&sf);
	request_ends_with(th, &r, -EIO);
	fakefs_close(&sf.ff);
	buf_free(&script);
}
END_TEST

/* Connect, greeting, CAPABILITY and LOGIN share one deadline: a server
 * that answers each in time for a deadline of its own, but not all of
 * them together, is too slow (LOGIN is answered after 2.2 s of 2). */
START_TEST(test_fs_connection_opens_within_one_timeout)
{
	struct fakefs ff;
	struct fakefs_opts o = { .timeout_s = 2, .server_timeout_ms = SERVER_TIMEOUT_MS, .parent = workdir };
	fakefs_config(&ff,
		      "SLEEP 500\nS: * OK fake\nC: <tag0> CAPABILITY\nSLEEP 500\n"
		      "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
		      "C: <tag1> LOGIN alice secret\nSLEEP 1200\n"
		      "S: <tag1> OK [CAPABILITY IMAP4rev1] in\n" FAKEFS_LIST "S: * LIST () \"/\" INBOX\n"
		      FAKEFS_LISTED "DRAIN\n",
		      &o);
	struct buf err = BUF_INIT;
	ck_assert_msg(fs_new(&ff.fs, &ff.cfg, &err) < 0, "mounted: each step had a deadline of its own");
	ck_assert_msg(strstr(err.data, "timed out") != NULL, "%s", err.data);
	fakefs_free(&ff);
	/* the server's late answer may meet a closed socket: not what this
	 * test is about */
	(void)fake_finish(ff.f, &err);
	buf_free(&err);
}
END_TEST

void check_stall_add_fs(TCase *tc)
{
	tcase_add_test(tc, test_fs_chatter_is_eio);
	tcase_add_test(tc, test_fs_trickle_is_eio);
	tcase_add_test(tc, test_fs_mkdir_against_data_chatter_is_eio);
	tcase_add_test(tc, test_fs_unwanted_bodies_are_eio);
	tcase_add_test(tc, test_fs_interrupted_read_returns_at_once);
	tcase_add_test(tc, test_fs_stop_does_not_wait_for_a_stall);
	tcase_add_test(tc, test_fs_stop_leaves_readers_what_they_use);
	tcase_add_test(tc, test_fs_interrupted_reconnect_returns_at_once);
	tcase_add_test(tc, test_fs_stop_during_a_stalled_reconnect);
	tcase_add_test(tc, test_fs_connection_opens_within_one_timeout);
}
