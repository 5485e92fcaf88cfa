/* check_stall.c: a server that stalls, trickles or chatters never holds a
 * reader for ever.  Scripted hostile servers that, after a command, say
 * "* OK still here" every second, send untagged data or bodies nobody
 * asked for, or send the body one byte a second:
 *  - core: each command has one deadline for its whole exchange
 *    (IMAP_ABORT "timed out"), only literal bytes that move for it (a
 *    body kept, a message sent) earn time, and a cancel fd ends a wait at
 *    once;
 *  - fs core: fs_open_body fails with EIO, an interrupted request returns
 *    EINTR at once (the fetch goes on into the cache), fs_stop returns at
 *    once, also while a connection is being opened, which has one
 *    deadline for connect, greeting and login;
 *  - a token fired while its request wakes for another reason: the wait
 *    returns only once the fire is done with its lock;
 *  - the end of a FUSE session (over custom io whose writes can be held):
 *    never destroyed while a notification is still inside it;
 *  - a real mount: a killed reader is reaped at once, an interrupted read
 *    returns EINTR, unmount ends the daemon while the server stalls, and
 *    -o timeout= bounds a read.
 * Every stall lasts far longer than the bounds asserted, which only prove
 * that nothing waited for the stall to end. */
#include "config.h"

#define FUSE_USE_VERSION 34
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cancel.h"
#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "fs_impl.h"  /* the notifier hooks, to queue notifications */
#include "harness.h"
#include "harness_fakefs.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "imap.h"
#include "fuse/ops.h"
#include "imaplib.h"
#include "clock.h"
#include "xalloc.h"

/* How long the hostile servers keep it up, and the bound that proves no
 * wait lasted that long (generous: two loaded cores, sanitizers). */
#define STALL_S 60
#define NO_HANG_MS 15000

static struct mount_env env;
static char workdir[64];   /* the fs core's caches, removed at the end even after a failure */

/* ---- hostile scripts ---- */

/* "* OK still here" every second for s seconds. */
static void add_chatter(struct buf *script, int s)
{
	for (int i = 0; i < s; i++)
		buf_addstr(script, "SLEEP 1000\nS: * OK still here\n");
}

/* The start of a body literal of n bytes, then one byte a second for s
 * seconds (s < n: it never ends in time). */
static void add_trickle(struct buf *script, const char *fetch_head, int n, int s)
{
	buf_addf(script, "S+ %s {%d}\\r\\n\n", fetch_head, n);
	for (int i = 0; i < s; i++)
		buf_addstr(script, "SLEEP 1000\nS+ x\n");
}

/* Untagged data about 20 KB a second for s seconds: "* SEARCH 1 1 1 ..."
 * and "* 1 EXISTS", which any server may send at any time and no command
 * asked for. */
static void add_data_chatter(struct buf *script, int s)
{
	struct buf search = BUF_INIT;
	buf_addstr(&search, "* SEARCH");
	while (search.len < 5000)
		buf_addstr(&search, " 1");
	for (int i = 0; i < 4 * s; i++)
		buf_addf(script, "SLEEP 250\nS: %s\nS: * 1 EXISTS\n", search.data);
	buf_free(&search);
}

/* Bodies of a message nobody asked for (UID 99), 20 KB a second for s
 * seconds: read past (a discarding sink), never progress. */
static void add_unwanted_bodies(struct buf *script, int s)
{
	for (int i = 0; i < 4 * s; i++)
		buf_addstr(script, "SLEEP 250\nS: * 9 FETCH (UID 99 BODY[] {5000}\nLITERAL 5000 u\nS: )\n");
}

/* A server that goes on sending after the client closed fails its next
 * write: the client abandoned the exchange instead of waiting it out. */
static void finish_abandoned(struct fake_server *f)
{
	struct buf err = BUF_INIT;
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "write failed") != NULL, "fake server: %s", err.data);
	buf_free(&err);
}

/* The server outlasts every stall. */
#define SERVER_TIMEOUT_MS ((STALL_S + 30) * 1000)

static struct fake_server *start_fake(const struct buf *script)
{
	return fakefs_server_start(script->data, SERVER_TIMEOUT_MS);
}

/* ---- the core ---- */

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

/* ---- the filesystem core ---- */

/* Login, the folder list, INBOX with messages 1 and 2 listed (tags 0-4). */
#define FS_SCRIPT_LISTED                                                                                 \
	FAKE_LOGIN("")                                                                                   \
	FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED                                          \
	FAKEFS_LISTING("INBOX", "2", "7", "3", FAKEFS_MSG("1", "1", "100") FAKEFS_MSG("2", "2", "100"))
/* And the fetch of both bodies (<tag5>) that reading 1.eml starts. */
#define FS_SCRIPT_HEAD FS_SCRIPT_LISTED "C: <tag5> UID FETCH 1:2 (UID BODY.PEEK[])\n"

struct stall_fs {
	struct fakefs ff;
	uint64_t ino;            /* INBOX/1.eml */
};

/* The core with one connection to a server playing script and its own
 * cache under workdir; 1.eml looked up. */
static void stall_fs_open(struct stall_fs *sf, const struct buf *script, int timeout_s)
{
	struct fakefs_opts o = { .timeout_s = timeout_s, .server_timeout_ms = SERVER_TIMEOUT_MS,
				 .cache_size = 1ull << 30, .start = true, .parent = workdir };
	fakefs_open(&sf->ff, script->data, &o);
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(sf->ff.fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(sf->ff.fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	sf->ino = e.ino;
}

/* fs_open_body of 1.eml; *ms: how long it took. */
static int open_body(struct stall_fs *sf, long long *ms)
{
	struct cache_span body;
	bool keep;
	long long t0 = clock_ms();
	int rc = fs_open_body(sf->ff.fs, sf->ino, O_RDONLY, &body, &keep);
	*ms = clock_ms() - t0;
	if (rc == 0)
		close(body.fd);
	return rc;
}

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

/* Joins t within ms; false when it is still running. */
static bool join_within(pthread_t t, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	return pthread_timedjoin_np(t, NULL, &until) == 0;
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

/* ---- firing a token ---- */

/* A request waiting in fs_cond_wait, woken by someone else while its
 * token is being fired, must not return while the fire is still to touch
 * its lock and condition: they may belong to an entry the request then
 * lets go of (fs_cond_wait's promise). */
struct fire_race {
	struct fs_cancel token;
	pthread_mutex_t lock;        /* the waiter's own, like a mailbox's */
	pthread_cond_t cond;
	atomic_bool fire_done;
	int rc;
	bool fire_pending;           /* the fire had not ended when the wait returned */
};

static void *race_waiter(void *arg)
{
	struct fire_race *r = arg;
	fs_cancel_enter(&r->token);
	pthread_mutex_lock(&r->lock);
	r->rc = fs_cond_wait(&r->cond, &r->lock);
	/* still holding the lock, as a caller does: a fire that has yet to
	 * broadcast cannot end now */
	for (int i = 0; i < 500 && !atomic_load(&r->fire_done); i++)
		os_sleep_ms(10);
	r->fire_pending = !atomic_load(&r->fire_done);
	pthread_mutex_unlock(&r->lock);
	fs_cancel_enter(NULL);
	return NULL;
}

static void *race_firer(void *arg)
{
	struct fire_race *r = arg;
	fs_cancel_fire(&r->token);
	atomic_store(&r->fire_done, true);
	return NULL;
}

static bool race_registered(struct fire_race *r)
{
	pthread_mutex_lock(&r->token.lock);
	bool yes = r->token.wait_cond != NULL;
	pthread_mutex_unlock(&r->token.lock);
	return yes;
}

START_TEST(test_wait_outlives_the_fire)
{
	struct fire_race r;
	memset(&r, 0, sizeof r);
	fs_cancel_init(&r.token);
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	atomic_init(&r.fire_done, false);
	pthread_t waiter, firer;
	ck_assert_int_eq(pthread_create(&waiter, NULL, race_waiter, &r), 0);
	for (int i = 0; i < 1000 && !race_registered(&r); i++)
		os_sleep_ms(5);
	ck_assert(race_registered(&r));
	/* The token's lock held, the fire queues for it first, then the
	 * waiter, woken by a broadcast of its own, queues behind with its lock
	 * held: the fire sees the registration, and the waiter returns before
	 * the fire can take its lock, unless the waiter waits for the fire. */
	pthread_mutex_lock(&r.token.lock);
	ck_assert_int_eq(pthread_create(&firer, NULL, race_firer, &r), 0);
	os_sleep_ms(300);
	pthread_cond_broadcast(&r.cond);
	os_sleep_ms(300);
	pthread_mutex_unlock(&r.token.lock);
	ck_assert_msg(join_within(waiter, NO_HANG_MS), "the waiter still waits");
	ck_assert_msg(join_within(firer, NO_HANG_MS), "the fire still runs");
	ck_assert_int_eq(r.rc, -EINTR);
	ck_assert_msg(!r.fire_pending, "fs_cond_wait returned while the fire was still to use its lock");
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	fs_cancel_destroy(&r.token);
}
END_TEST

/* ---- the end of the FUSE session ---- */

/* A FUSE session over a socket pair instead of /dev/fuse (custom io),
 * whose writes can be held, as the kernel holds a notification for a
 * request that nobody answers any more once the FUSE loop is over. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool hold;      /* writes wait while set */
	int inside;     /* writes waiting */
	char init[sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in)];
	size_t init_len;  /* the INIT request still to be read */
} gate = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static ssize_t gate_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)fd;
	(void)userdata;
	pthread_mutex_lock(&gate.lock);
	gate.inside++;
	pthread_cond_broadcast(&gate.cond);
	while (gate.hold)
		pthread_cond_wait(&gate.cond, &gate.lock);
	gate.inside--;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
	ssize_t n = 0;  /* taken, like the kernel would (the fd may be closed by now) */
	for (int i = 0; i < count; i++)
		n += (ssize_t)iov[i].iov_len;
	return n;
}

static ssize_t gate_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)fd;
	(void)userdata;
	size_t n = gate.init_len < len ? gate.init_len : len;
	memcpy(buf, gate.init, n);
	gate.init_len = 0;
	return (ssize_t)n;
}

/* Waits (bounded) until writes_inside writes wait at the gate. */
static bool gate_reached(int writes_inside)
{
	bool ok;
	pthread_mutex_lock(&gate.lock);
	for (int i = 0; i < 100 && gate.inside != writes_inside; i++) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&gate.cond, &gate.lock, &until);
	}
	ok = gate.inside == writes_inside;
	pthread_mutex_unlock(&gate.lock);
	return ok;
}

static void gate_set(bool hold)
{
	pthread_mutex_lock(&gate.lock);
	gate.hold = hold;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

/* A session for ff with the kernel's INIT done (notifications need it);
 * *peer: the other end of its fd, which sees the fd closed. */
static struct fuse_session *gate_session(struct stall_fs *sf, int *peer)
{
	static char *argv[] = { (char *)"check_stall", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct fuse_session *se = fuse_session_new(&args, ops_table(), sizeof(struct fuse_lowlevel_ops), &sf->ff.fs);
	fuse_opt_free_args(&args);
	ck_assert_ptr_nonnull(se);
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	static const struct fuse_custom_io io = { .writev = gate_writev, .read = gate_read };
	ck_assert_int_eq(fuse_session_custom_io(se, &io, sv[0]), 0);
	struct fuse_in_header h = { .len = sizeof gate.init, .opcode = FUSE_INIT, .unique = 1 };
	struct fuse_init_in in = { .major = 7, .minor = 31, .max_readahead = 65536 };
	memcpy(gate.init, &h, sizeof h);
	memcpy(gate.init + sizeof h, &in, sizeof in);
	gate.init_len = sizeof gate.init;
	struct fuse_buf fbuf = { .mem = NULL };
	ck_assert_int_gt(fuse_session_receive_buf(se, &fbuf), 0);
	fuse_session_process_buf(se, &fbuf);
	free(fbuf.mem);
	*peer = sv[1];
	return se;
}

/* Whether the session's fd was closed (the session destroyed). */
static bool session_fd_closed(int peer)
{
	struct pollfd p = { .fd = peer, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLIN));
}

/* The body of 1.eml in the cache, so it can be pushed to the page cache. */
#define FS_SCRIPT_ONE_BODY                                                        \
	FS_SCRIPT_HEAD                                                            \
	"S: * 1 FETCH (UID 1 BODY[] {100}\nLITERAL 100 z\nS: )\n"                 \
	"S: * 2 FETCH (UID 2 BODY[] {100}\nLITERAL 100 w\nS: )\n"                 \
	"S: <tag5> OK done\n" FAKE_LOGOUT

/* Notifications that reach the kernel: the session is destroyed at the
 * end, as usual. */
START_TEST(test_session_ends_when_notifications_are_done)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_ONE_BODY);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, STALL_S);
	long long ms;
	ck_assert_int_eq(open_body(&sf, &ms), 0);
	int peer;
	struct fuse_session *se = gate_session(&sf, &peer);
	struct notifier *n = notifier_start(sf.ff.fs, se);
	ck_assert_ptr_nonnull(n);
	sf.ff.fs->notify.inval_entry(sf.ff.fs->notify.ctx, FS_ROOT_INO, "INBOX");
	sf.ff.fs->notify.push(sf.ff.fs->notify.ctx, sf.ino);
	sf.ff.fs->notify.flush(sf.ff.fs->notify.ctx);
	fs_stop(sf.ff.fs);
	notifier_end_session(sf.ff.fs, n, se);
	ck_assert_msg(session_fd_closed(peer), "the session was not destroyed");
	close(peer);
	fakefs_close(&sf.ff);
	buf_free(&script);
}
END_TEST

/* An invalidation and a page-cache store still inside the kernel when the
 * session ends: it is not destroyed under them (libfuse reads it when their
 * write returns); they finish later, and nothing they use was freed. */
START_TEST(test_session_outlives_a_stuck_notification)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, FS_SCRIPT_ONE_BODY);
	struct stall_fs sf;
	stall_fs_open(&sf, &script, STALL_S);
	long long ms;
	ck_assert_int_eq(open_body(&sf, &ms), 0);
	int peer;
	struct fuse_session *se = gate_session(&sf, &peer);
	struct notifier *n = notifier_start(sf.ff.fs, se);
	ck_assert_ptr_nonnull(n);
	gate_set(true);
	sf.ff.fs->notify.inval_entry(sf.ff.fs->notify.ctx, FS_ROOT_INO, "INBOX");
	sf.ff.fs->notify.push(sf.ff.fs->notify.ctx, sf.ino);
	ck_assert_msg(gate_reached(2), "the invalidation and the store never wrote");
	fs_stop(sf.ff.fs);
	notifier_end_session(sf.ff.fs, n, se);
	ck_assert_msg(!session_fd_closed(peer), "the session was destroyed with threads inside it");
	gate_set(false);
	ck_assert_msg(gate_reached(0), "the held writes never returned");
	os_sleep_ms(200);  /* the threads end after their writes */
	close(peer);
	fakefs_close(&sf.ff);
	buf_free(&script);
}
END_TEST

/* ---- a real mount ---- */

/* One message in INBOX, whose fetch (tag5) comes next in the script. */
#define MOUNT_SCRIPT_ONE                                                  \
	FAKE_LOGIN("")                                                    \
	FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED           \
	FAKEFS_LISTING("INBOX", "1", "7", "2", FAKEFS_MSG("1", "1", "100")) \
	"C: <tag5> UID FETCH 1 (UID BODY.PEEK[])\n"

/* Mounts f's account at work/mnt-NAME with one connection, no polling,
 * and the extra options. */
static void mount_fake(struct fsmount *m, struct fake_server *f, const char *name, const char *extra)
{
	memset(m, 0, sizeof *m);
	snprintf(m->dir, sizeof m->dir, "%s/mnt-%s", env.work, name);
	snprintf(m->log, sizeof m->log, "%s/log-%s", env.work, name);
	char opts[512], url[128];
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s/cache-%s,connections=1,poll=600,%s",
		 env.passfile, env.work, name, extra);
	snprintf(url, sizeof url, "imap://alice@127.0.0.1:%s", fake_port_str(f));
	struct buf err = BUF_INIT;
	ck_assert_msg(mount_run(&env, m, opts, url, &err) == -1, "%s", err.data);
	buf_free(&err);
}

/* fusermount3 -u; the daemon must then exit 0 within ms. */
static void unmount_within(struct fsmount *m, int ms)
{
	struct buf err = BUF_INIT;
	const char *argv[] = { "/bin/fusermount3", "-u", m->dir, NULL };
	ck_assert_msg(os_run(argv, NULL, &err) == 0, "%s", err.data);
	long long t0 = clock_ms();
	int st = 0;
	ck_assert_msg(os_child_wait(m->pid, ms, &st) == 0, "imapfs still runs %lld ms after the unmount",
		      clock_ms() - t0);
	m->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		struct buf tail = BUF_INIT;
		os_read_tail(m->log, 2000, &tail);
		ck_abort_msg("imapfs ended with status 0x%x: %s", (unsigned)st, tail.data);
	}
	ck_assert(!fsmount_present(m->dir));
	rmdir(m->dir);
	buf_free(&err);
}

/* Whether pid sleeps where a body is waited for: in the FUSE OPEN or READ
 * of a message (a lookup passes through FUSE too, but quickly), or on a
 * page the kernel's read-ahead asked for.  -1 when there is no stack to
 * look at. */
static int waits_for_body(pid_t pid)
{
	static const char *const where[] = { "fuse_file_open", "fuse_readahead", "read_folio",
					     "folio_wait" };
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stack", (int)pid);
	struct buf stack = BUF_INIT;
	int rc = os_read_tail(path, 8192, &stack) < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && stack.data && i < sizeof where / sizeof where[0]; i++)
		if (strstr(stack.data, where[i]))
			rc = 1;
	buf_free(&stack);
	return rc;
}

/* Waits (bounded) until pid has waited for a body for a while, so a
 * signal finds it there; with no stack to look at, two seconds must do. */
static void wait_in_fuse(pid_t pid)
{
	int seen = 0;
	for (int i = 0; i < 400 && seen < 10; i++) {
		int w = waits_for_body(pid);
		if (w < 0) {
			os_sleep_ms(2000);
			return;
		}
		seen = w ? seen + 1 : 0;
		os_sleep_ms(50);
	}
	ck_assert_msg(seen >= 10, "pid %d never waited for a body", (int)pid);
}

/* kill -9 of a reader waiting for a body: it is gone at once (the kernel
 * holds a killed process until the daemon answers the request it sent). */
START_TEST(test_mount_killed_reader_is_reaped)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, MOUNT_SCRIPT_ONE);
	add_chatter(&script, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct fsmount m;
	mount_fake(&m, f, "kill", "timeout=60");
	char path[512];
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	const char *argv[] = { "/bin/cat", path, NULL };
	struct os_spawn_opts so = { .die_with_parent = true };
	struct buf err = BUF_INIT;
	pid_t cat = os_spawn(argv, &so, &err);
	ck_assert_msg(cat > 0, "%s", err.data);
	wait_in_fuse(cat);
	long long t0 = clock_ms();
	ck_assert_int_eq(kill(cat, SIGKILL), 0);
	int st = 0;
	ck_assert_msg(os_child_wait(cat, NO_HANG_MS, &st) == 0, "the killed cat is not gone after %lld ms",
		      clock_ms() - t0);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	unmount_within(&m, NO_HANG_MS);
	finish_abandoned(f);
	buf_free(&err);
	buf_free(&script);
}
END_TEST

/* A child that reads path with a SIGUSR1 handler installed without
 * SA_RESTART, and writes the errno of its read (0 for success) to fd. */
static void handler(int sig)
{
	(void)sig;
}

static void interrupted_reader(const char *path, int fd)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL);
	int e = 0;
	int in = open(path, O_RDONLY);
	char b[4096];
	if (in < 0 || read(in, b, sizeof b) < 0)
		e = errno;
	if (write(fd, &e, sizeof e) != sizeof e)
		_exit(2);
	_exit(0);
}

/* A read interrupted by a signal returns EINTR at once, while the body's
 * fetch goes on and serves the next read.  1.eml is read first, so the
 * kernel sends no OPEN any more: the wait is in a READ. */
START_TEST(test_mount_interrupted_read_returns_eintr)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script,
		   FS_SCRIPT_HEAD
		   "S: * 1 FETCH (UID 1 BODY[] {100}\n"
		   "LITERAL 100 y\n"
		   "S: )\n");
	add_chatter(&script, 12);
	buf_addstr(&script, "S: * 2 FETCH (UID 2 BODY[] {100}\nLITERAL 100 z\nS: )\nS: <tag5> OK done\n" FAKE_LOGOUT);
	struct fake_server *f = start_fake(&script);
	struct fsmount m;
	mount_fake(&m, f, "eintr", "timeout=60");
	char path[512];
	struct buf body = BUF_INIT;
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert_uint_eq(body.len, 100);
	snprintf(path, sizeof path, "%s/INBOX/2.eml", m.dir);
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(pfd[0]);
		interrupted_reader(path, pfd[1]);
	}
	close(pfd[1]);
	wait_in_fuse(child);
	long long t0 = clock_ms();
	ck_assert_int_eq(kill(child, SIGUSR1), 0);
	int st = 0;
	ck_assert_msg(os_child_wait(child, NO_HANG_MS, &st) == 0, "the interrupted read still waits after %lld ms",
		      clock_ms() - t0);
	int e = -1;
	ck_assert_int_eq(read(pfd[0], &e, sizeof e), (ssize_t)sizeof e);
	close(pfd[0]);
	ck_assert_msg(e == EINTR, "read: %s", e ? strerror(e) : "no error");
	/* the fetch was left to finish: the next read gets the bytes */
	buf_reset(&body);
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert_uint_eq(body.len, 100);
	ck_assert_int_eq(body.data[0], 'z');
	unmount_within(&m, NO_HANG_MS);
	fakefs_server_finish(f);
	buf_free(&body);
	buf_free(&script);
}
END_TEST

/* Unmounting while a read-ahead fetch stalls (its timeout a minute away):
 * the daemon exits at once. */
START_TEST(test_mount_unmount_while_the_server_stalls)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script,
		   FS_SCRIPT_HEAD
		   "S: * 1 FETCH (UID 1 BODY[] {100}\n"
		   "LITERAL 100 y\n"
		   "S: )\n");
	add_chatter(&script, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct fsmount m;
	mount_fake(&m, f, "unmount", "timeout=60");
	char path[512];
	struct buf body = BUF_INIT;
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert_uint_eq(body.len, 100);
	os_sleep_ms(1000);  /* the fetch of 2.eml is now well into the chatter */
	unmount_within(&m, NO_HANG_MS);
	finish_abandoned(f);
	buf_free(&body);
	buf_free(&script);
}
END_TEST

/* -o timeout=3 and a body trickling in: cat fails with EIO after the
 * fetch and its one retry have each had their 3 s. */
START_TEST(test_mount_timeout_bounds_a_read)
{
	struct buf script = BUF_INIT;
	buf_addstr(&script, MOUNT_SCRIPT_ONE);
	add_trickle(&script, "* 1 FETCH (UID 1 BODY[]", 1000, STALL_S);
	struct fake_server *f = start_fake(&script);
	struct fsmount m;
	mount_fake(&m, f, "timeout", "timeout=3");
	char path[512];
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	struct buf body = BUF_INIT;
	long long t0 = clock_ms();
	ck_assert_int_eq(mount_slurp(path, &body), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_msg(clock_ms() - t0 < NO_HANG_MS, "the read took %lld ms", clock_ms() - t0);
	ck_assert(fsmount_log_has(&m, "timed out waiting for the reply to UID FETCH"));
	unmount_within(&m, NO_HANG_MS);
	finish_abandoned(f);
	buf_free(&body);
	buf_free(&script);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	snprintf(workdir, sizeof workdir, "/tmp/imapfs-stall-XXXXXX");
	if (!mkdtemp(workdir))
		return EXIT_FAILURE;
	Suite *su = suite_create("stall");
	TCase *core = tcase_create("core");
	tcase_set_timeout(core, 2 * STALL_S);
	tcase_add_test(core, test_core_chatter_cannot_keep_a_command_alive);
	tcase_add_test(core, test_core_trickled_literal_times_out);
	tcase_add_test(core, test_core_data_chatter_cannot_keep_a_command_alive);
	tcase_add_test(core, test_core_discarded_literals_earn_nothing);
	tcase_add_test(core, test_core_greeting_has_one_deadline);
	tcase_add_test(core, test_core_arriving_body_earns_time);
	tcase_add_test(core, test_core_literal_going_out_earns_time);
	tcase_add_test(core, test_core_no_timeout_waits_as_imaplib);
	tcase_add_test(core, test_core_cancel_fd_ends_the_wait);
	suite_add_tcase(su, core);
	TCase *fsc = tcase_create("fs");
	tcase_set_timeout(fsc, 2 * STALL_S);
	tcase_add_test(fsc, test_fs_chatter_is_eio);
	tcase_add_test(fsc, test_fs_trickle_is_eio);
	tcase_add_test(fsc, test_fs_mkdir_against_data_chatter_is_eio);
	tcase_add_test(fsc, test_fs_unwanted_bodies_are_eio);
	tcase_add_test(fsc, test_fs_interrupted_read_returns_at_once);
	tcase_add_test(fsc, test_fs_stop_does_not_wait_for_a_stall);
	tcase_add_test(fsc, test_fs_stop_leaves_readers_what_they_use);
	tcase_add_test(fsc, test_fs_interrupted_reconnect_returns_at_once);
	tcase_add_test(fsc, test_fs_stop_during_a_stalled_reconnect);
	tcase_add_test(fsc, test_fs_connection_opens_within_one_timeout);
	suite_add_tcase(su, fsc);
	TCase *end = tcase_create("end");
	tcase_set_timeout(end, 2 * STALL_S);
	tcase_add_test(end, test_session_ends_when_notifications_are_done);
	tcase_add_test(end, test_session_outlives_a_stuck_notification);
	suite_add_tcase(su, end);
	TCase *fire = tcase_create("fire");
	tcase_set_timeout(fire, 60);
	tcase_add_test(fire, test_wait_outlives_the_fire);
	suite_add_tcase(su, fire);
	bool mounts = getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 &&
		      access("/bin/fusermount3", X_OK) == 0 && mount_env_init(&env) == 0;
	if (mounts) {
		TCase *mnt = tcase_create("mount");
		tcase_set_timeout(mnt, 2 * STALL_S);
		tcase_add_test(mnt, test_mount_killed_reader_is_reaped);
		tcase_add_test(mnt, test_mount_interrupted_read_returns_eintr);
		tcase_add_test(mnt, test_mount_unmount_while_the_server_stalls);
		tcase_add_test(mnt, test_mount_timeout_bounds_a_read);
		suite_add_tcase(su, mnt);
	} else {
		fprintf(stderr, "check_stall: no FUSE mounts here (root, /dev/fuse, fusermount3): "
				"the mount tests are skipped\n");
	}
	int failed = check_run_suite(su);
	if (mounts)
		failed += mount_env_cleanup(&env);
	struct buf err = BUF_INIT;
	if (os_rmtree(workdir, &err) != 0) {
		fprintf(stderr, "check_stall: %s\n", err.len ? err.data : workdir);
		failed++;
	}
	buf_free(&err);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
