/* check_mount_latency.c: what a far server's round trips cost a mount is
 * paid per connection, not per folder.  A proxy in front of a private
 * Dovecot notes the commands the mount sends (harness_proxy.h), and the
 * tests check their structure, never a time: the pool's connections log
 * in at mount, all at once, not one by one when the reads first want
 * them; a scan that finishes a folder has the listings and first bodies
 * of the next folders asked for together, not one folder after the
 * other; statfs asks the server nothing, the quota having come with the
 * mount's LIST. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "harness_proxy.h"

static struct dovecot dc;
static struct mount_env env;

/* "Happens": a generous bound, only proving nothing hangs (sanitizers,
 * valgrind and a loaded machine make everything slow). */
#define HAPPENS_WITHIN_MS 20000

/* The folders of the scan: more messages each than a scan's first window
 * of a folder (WINDOW_SCAN, 256), so none is brought in whole and the old
 * chain of small folders does not reach past the next one. */
#define SCAN_FOLDERS 5
#define SCAN_MESSAGES 300

static unsigned logins(struct proxy *p)
{
	return proxy_commands(p, "LOGIN", NULL) + proxy_commands(p, "AUTHENTICATE", NULL);
}

struct want_logins {
	struct proxy *p;
	unsigned n;
};

static bool logged_in(void *ctx)
{
	struct want_logins *w = ctx;
	return logins(w->p) >= w->n;
}

struct want_examined {
	struct proxy *p;
	const char *mailbox;
};

static bool examined(void *ctx)
{
	struct want_examined *w = ctx;
	return proxy_commands(w->p, "EXAMINE", w->mailbox) + proxy_commands(w->p, "SELECT", w->mailbox) > 0;
}

/* How many bodies of folder the mount's read-ahead fetched, as its debug
 * log says ("prefetch FOLDER: N bodies in ..." as each stream ends). */
static unsigned bodies_fetched(const struct fsmount *m, const char *folder)
{
	struct buf log = BUF_INIT;
	os_read_tail(m->log, 64u << 20, &log);
	char key[64];
	snprintf(key, sizeof key, "prefetch %s: ", folder);
	unsigned n = 0;
	for (const char *p = log.data; p && (p = strstr(p, key)); p += strlen(key))
		n += (unsigned)strtoul(p + strlen(key), NULL, 10);
	buf_free(&log);
	return n;
}

struct want_bodies {
	const struct fsmount *m;
	const char *folder;
	unsigned n;
};

static bool bodies_in(void *ctx)
{
	struct want_bodies *w = ctx;
	return bodies_fetched(w->m, w->folder) >= w->n;
}

/* Polls cond every 50 ms for up to ms. */
static bool happens(int ms, bool (*cond)(void *), void *ctx)
{
	for (int waited = 0;; waited += 50) {
		if (cond(ctx))
			return true;
		if (waited >= ms)
			return false;
		usleep(50 * 1000);
	}
}

static void folder_name(char *out, size_t size, unsigned i)
{
	snprintf(out, size, "Scan%u", i);
}

/* Scan1..ScanN, written into the Maildir (faster than APPENDs). */
static void make_scan_folders(void)
{
	struct buf root = BUF_INIT, err = BUF_INIT;
	dovecot_user_maildir(&dc, "alice", &root);
	char folder[32], msg[160];
	time_t t0 = 1600000000;
	for (unsigned f = 1; f <= SCAN_FOLDERS; f++) {
		folder_name(folder, sizeof folder, f);
		ck_assert_msg(maildir_make_folder(root.data, folder, &err) == 0, "%s", err.data);
		for (unsigned i = 1; i <= SCAN_MESSAGES; i++) {
			int n = snprintf(msg, sizeof msg, "Subject: %u\r\n\r\nscan message %u of <%s>\r\n", i, i,
					 folder);
			ck_assert_msg(maildir_add(root.data, folder, msg, (size_t)n, "S", t0 + i, NULL, &err) == 0,
				      "%s", err.data);
		}
	}
	buf_free(&root);
	buf_free(&err);
}

static void remove_scan_folders(void)
{
	struct buf root = BUF_INIT, err = BUF_INIT;
	dovecot_user_maildir(&dc, "alice", &root);
	char folder[32];
	for (unsigned f = 1; f <= SCAN_FOLDERS; f++) {
		folder_name(folder, sizeof folder, f);
		ck_assert_msg(maildir_remove_folder(root.data, folder, &err) == 0, "%s", err.data);
	}
	buf_free(&root);
	buf_free(&err);
}

/* How many of folder's messages grep -r finds its own line in, through
 * the mount. */
static unsigned grep_count(const struct fsmount *m, const char *folder)
{
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "grep -r -l 'of <%s>' '%s/%s' | wc -l", folder, m->dir, folder), 0);
	unsigned n = (unsigned)strtoul(out.data, NULL, 10);
	buf_free(&out);
	return n;
}

/* All four connections log in at mount, before anything is read (nowatch:
 * no IDLE connection either), and the reads after use them: no login
 * more. */
START_TEST(test_every_connection_logs_in_at_mount)
{
	struct proxy *p = mount_proxy_start(&env, 0);
	struct fsmount m = { .pid = 0 };
	mount_start_via(&env, p, &m, "logins", "alice", "connections=4,nowatch");
	struct want_logins w = { p, 4 };
	ck_assert_msg(happens(HAPPENS_WITHIN_MS, logged_in, &w),
		      "%u login(s) after the mount, not one per connection (4)", logins(p));
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "cd '%s' && for f in *; do grep -r -l . \"$f\" > /dev/null & done; wait; "
				  "grep -r -l . . | wc -l", m.dir), 0);
	ck_assert_uint_gt(strtoul(out.data, NULL, 10), 0);
	ck_assert_uint_eq(logins(p), 4);
	buf_free(&out);
	mount_stop(&m);
	proxy_stop(p);
}
END_TEST

/* grep -r through Scan1 (nothing else read): the mount brings in Scan2,
 * Scan3 and Scan4 at once (each EXAMINEd for its listing and bodies), not
 * only Scan2, each whole (its first window and the one a scan's second
 * open would ask for), before anything of them is read; and what it
 * brought in reads back right. */
START_TEST(test_a_scan_brings_in_several_folders_ahead)
{
	make_scan_folders();
	struct proxy *p = mount_proxy_start(&env, 0);
	struct fsmount m = { .pid = 0 };
	mount_start_via(&env, p, &m, "ahead", "alice", "connections=4,nowatch,debug");
	ck_assert_uint_eq(grep_count(&m, "Scan1"), SCAN_MESSAGES);
	for (unsigned f = 2; f <= 4; f++) {
		char folder[32];
		folder_name(folder, sizeof folder, f);
		struct want_examined w = { p, folder };
		ck_assert_msg(happens(HAPPENS_WITHIN_MS, examined, &w),
			      "the scan of Scan1 did not bring in %s", folder);
		struct want_bodies b = { &m, folder, SCAN_MESSAGES };
		ck_assert_msg(happens(HAPPENS_WITHIN_MS, bodies_in, &b), "%u bodies of %s fetched ahead, not %u",
			      bodies_fetched(&m, folder), folder, SCAN_MESSAGES);
	}
	for (unsigned f = 2; f <= SCAN_FOLDERS; f++) {
		char folder[32];
		folder_name(folder, sizeof folder, f);
		ck_assert_uint_eq(grep_count(&m, folder), SCAN_MESSAGES);
	}
	mount_stop(&m);
	proxy_stop(p);
	remove_scan_folders();
}
END_TEST

/* The quota comes with the mount's LIST, and statfs (df, and grep -r or
 * find as they begin) answers from it: no GETQUOTAROOT but the mount's. */
START_TEST(test_statfs_asks_the_server_nothing)
{
	struct proxy *p = mount_proxy_start(&env, 0);
	struct fsmount m = { .pid = 0 };
	mount_start_via(&env, p, &m, "statfs", "alice", "nowatch");
	ck_assert_uint_eq(proxy_commands(p, "GETQUOTAROOT", NULL), 1);
	for (int i = 0; i < 2; i++) {
		struct statvfs sv;
		ck_assert_int_eq(statvfs(m.dir, &sv), 0);
		/* Dovecot's quota for alice is 1 GiB */
		ck_assert_uint_eq((uint64_t)sv.f_blocks * sv.f_frsize, 1ull << 30);
	}
	ck_assert_uint_eq(proxy_commands(p, "GETQUOTAROOT", NULL), 1);
	mount_stop(&m);
	proxy_stop(p);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_every_connection_logs_in_at_mount);
	tcase_add_test(tc, test_a_scan_brings_in_several_folders_ahead);
	tcase_add_test(tc, test_statfs_asks_the_server_nothing);
}

int main(void)
{
	return mount_test_main("check_mount_latency", &dc, &env, add_tests, 240);
}
