/* check_fresh_load.c: a bounded concurrent stress run on a mount (two grep
 * -r, an rsync, rm through the mount and another client churning the
 * mail at once): nothing hangs, memory stays bounded, and afterwards the
 * mount agrees with the server byte for byte. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_fresh_util.h"
#include "clock.h"
#include "harness_os.h"

#define STRESS_SECONDS 12
#define DOOMED 200   /* rm through the mount removes at most ~10 a second */
/* A plain build stays under 10 MB here; AddressSanitizer keeps up to
 * 256 MB of freed memory in quarantine. */
#ifdef __SANITIZE_ADDRESS__
#define PEAK_RSS_LIMIT_KB (400ul * 1024)
#else
#define PEAK_RSS_LIMIT_KB (64ul * 1024)
#endif

struct churn {
	const struct dovecot *d;
	unsigned first, next;     /* UIDs [first, next) are in Churn */
	unsigned rounds;
};

/* Another client expunging the oldest message and appending a new one,
 * over and over, while the mount is scanned. */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	struct imap *s = second_to(c->d);
	long long end = clock_ms() + STRESS_SECONDS * 1000LL;
	while (clock_ms() < end) {
		expunge_uid(s, "Churn", c->first++);
		struct buf msg = BUF_INIT;
		big_message(&msg, 3000 + 97 * (c->rounds % 50), 1000 + c->rounds);
		ck_assert_uint_eq(append(s, "Churn", msg.data, msg.len), c->next);
		c->next++;
		c->rounds++;
		buf_free(&msg);
	}
	imap_close(s);
	return NULL;
}

static pid_t spawn_loop(const char *name, const char *body)
{
	char script[2048], out[256];
	snprintf(script, sizeof script,
		 "end=$(($(date +%%s) + %d)); while [ $(date +%%s) -lt $end ]; do %s; done; exit 0",
		 STRESS_SECONDS, body);
	snprintf(out, sizeof out, "%s/stress-%s.out", env.work, name);
	const char *argv[] = { "/usr/bin/timeout", "120", "/bin/sh", "-c", script, NULL };
	struct os_spawn_opts so = { .output = out, .die_with_parent = true };
	struct buf err = BUF_INIT;
	pid_t pid = os_spawn(argv, &so, &err);
	ck_assert_msg(pid > 0, "%s", err.data);
	buf_free(&err);
	return pid;
}

struct same_uids {
	struct imap *s;
	const char *mailbox;
	const char *dir;
};

static bool uids_agree(void *p)
{
	struct same_uids *su = p;
	struct buf a = BUF_INIT, b = BUF_INIT;
	mount_uids(su->dir, &a);
	server_uids(su->s, su->mailbox, &b);
	bool same = !strcmp(a.data ? a.data : "", b.data ? b.data : "");
	buf_free(&a);
	buf_free(&b);
	return same;
}

/* Two grep -r, an rsync, rm through the mount in a loop and another client
 * deleting and adding mail, all at once for a bounded time: nothing hangs
 * (every loop ends by itself), memory stays bounded, and afterwards the
 * mount agrees with the server byte for byte. */
START_TEST(test_concurrent_stress)
{
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "Churn", &r), &r);
	struct churn c = { .d = &dc, .first = 1, .next = 1 };
	for (unsigned i = 0; i < 150; i++) {
		struct buf msg = BUF_INIT;
		big_message(&msg, 2000 + 131 * (i % 40), i);
		ck_assert_uint_eq(append(s, "Churn", msg.data, msg.len), c.next);
		c.next++;
		buf_free(&msg);
	}
	imap_call_ok(imap_create(s, "Doomed", &r), &r);
	for (unsigned i = 0; i < DOOMED; i++) {
		struct buf msg = BUF_INIT;
		big_message(&msg, 1500, 5000 + i);
		append(s, "Doomed", msg.data, msg.len);
		buf_free(&msg);
	}
	struct fsmount m;
	mount_on(&m, &dc, "stress", "poll=2");
	char body[1024], dest[256];
	snprintf(dest, sizeof dest, "%s/stress-copy", env.work);
	pid_t pids[4];
	snprintf(body, sizeof body, "grep -r -c imapfs-corpus '%s' >/dev/null 2>&1 || true", m.dir);
	pids[0] = spawn_loop("grep1", body);
	pids[1] = spawn_loop("grep2", body);
	snprintf(body, sizeof body, "rsync -a --delete '%s/' '%s/' >/dev/null 2>&1 || true", m.dir, dest);
	pids[2] = spawn_loop("rsync", body);
	snprintf(body, sizeof body,
		 "f=$(ls '%s/Doomed' | head -n 1); [ -z \"$f\" ] || rm -f '%s/Doomed/'\"$f\"; sleep 0.1",
		 m.dir, m.dir);
	pids[3] = spawn_loop("rm", body);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, churn_thread, &c), 0);
	pthread_join(t, NULL);
	for (size_t i = 0; i < 4; i++) {
		int st = -1;
		ck_assert_msg(os_child_wait(pids[i], 120000, &st) == 0, "a scan never ended");
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "scan %zu ended with 0x%x (124: hung)",
			      i, (unsigned)st);
	}
	ck_assert_uint_gt(c.rounds, 5);
	unsigned long kb = fsmount_peak_kb(&m);
	ck_assert_msg(kb > 0 && kb < PEAK_RSS_LIMIT_KB, "peak RSS %lu kB", kb);

	char dir[512];
	snprintf(dir, sizeof dir, "%s/Churn", m.dir);
	struct same_uids su = { s, "Churn", dir };
	ck_assert_msg(within(SEEN_WITHIN_MS, uids_agree, &su), "the mount's Churn differs from the server's");
	snprintf(dir, sizeof dir, "%s/INBOX", m.dir);
	struct same_uids inbox = { s, "INBOX", dir };
	ck_assert(uids_agree(&inbox));
	/* what rm removed through the mount is gone on the server, nothing else */
	snprintf(dir, sizeof dir, "%s/Doomed", m.dir);
	struct same_uids doomed = { s, "Doomed", dir };
	ck_assert_msg(within(SEEN_WITHIN_MS, uids_agree, &doomed), "the mount's Doomed differs");
	struct buf left = BUF_INIT;
	server_uids(s, "Doomed", &left);
	size_t nleft = left.len ? 1 : 0;  /* "1 2 3" */
	for (const char *q = left.data ? left.data : ""; *q; q++)
		nleft += *q == ' ';
	ck_assert_msg(nleft > 0 && nleft < DOOMED, "Doomed holds %zu of %u", nleft, DOOMED);
	buf_free(&left);
	/* every byte of what is left */
	ck_assert_int_eq(imap_select(s, "Churn", true, &r), 0);
	const char *args[] = { "1:*", "(UID BODY.PEEK[])" };
	ck_assert_int_eq(imap_uid(s, "FETCH", args, 2, &r), 0);
	unsigned compared = 0;
	for (size_t i = 0; i < r.n; i++) {
		const struct imap_item *it = &r.items[i];
		if (!it->has_lit)
			continue;
		const char *u = strstr(it->text.data, "UID ");
		ck_assert_ptr_nonnull(u);
		char path[1024];
		snprintf(path, sizeof path, "%s/Churn/%lu.eml", m.dir, strtoul(u + 4, NULL, 10));
		struct buf got = BUF_INIT;
		ck_assert_msg(mount_slurp(path, &got) == 0, "%s: %s", path, strerror(errno));
		ck_assert_msg(same_bytes(&got, it->lit.data, it->lit.len), "%s differs", path);
		buf_free(&got);
		compared++;
	}
	ck_assert_uint_eq(compared, 150);
	imap_result_free(&r);
	mount_stop(&m);
	/* Dovecot drops a session whose selected mailbox is deleted */
	imap_call_ok(imap_close_mailbox(s, &r), &r);
	imap_call_ok(imap_delete(s, "Churn", &r), &r);
	imap_call_ok(imap_delete(s, "Doomed", &r), &r);
	imap_close(s);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dest);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

void check_fresh_add_load(TCase *tc)
{
	tcase_add_test(tc, test_concurrent_stress);
}
