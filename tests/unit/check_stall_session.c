/* check_stall_session.c: the end of a FUSE session (over custom io whose
 * writes can be held, as the kernel holds a notification nobody answers):
 * it is never destroyed while a notification is still inside it, since
 * libfuse reads the session when that write returns. */
#include "config.h"

#define FUSE_USE_VERSION 34
#include <check.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check_stall_util.h"
#include "fs.h"
#include "fs_impl.h"  /* the notifier hooks, to queue notifications */
#include "fuse/ops.h"
#include "harness_os.h"

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

void check_stall_add_session(TCase *tc)
{
	tcase_add_test(tc, test_session_ends_when_notifications_are_done);
	tcase_add_test(tc, test_session_outlives_a_stuck_notification);
}
