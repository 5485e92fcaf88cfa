/* check_stall_mount.c: a real mount over a server that stalls: a killed
 * reader is reaped at once, an interrupted read returns EINTR, unmount
 * ends the daemon while the server stalls, and -o timeout= bounds a read.
 * These are what a user sees of a stall: a cat that cannot be killed or a
 * mount that cannot be left. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_stall_util.h"
#include "clock.h"
#include "harness_os.h"

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
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s/cache-%s,connections=1,poll=600,nowatch,%s",
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

void check_stall_add_mount(TCase *tc)
{
	tcase_add_test(tc, test_mount_killed_reader_is_reaped);
	tcase_add_test(tc, test_mount_interrupted_read_returns_eintr);
	tcase_add_test(tc, test_mount_unmount_while_the_server_stalls);
	tcase_add_test(tc, test_mount_timeout_bounds_a_read);
}
