/* check_fresh.c: a mount stays fresh and survives faults.  Real mounts over
 * a private Dovecot, changed and checked through a second IMAP connection:
 * mail appended and expunged elsewhere shows within seconds (IDLE), folders
 * made, renamed and deleted elsewhere show, a folder recreated with new
 * content never serves the old bytes once seen, `doveadm kick` during a
 * large read, a server restart (cached mail readable meanwhile), a bounded
 * concurrent stress run; and a scripted server that stalls mid-literal.
 * The core over a scripted server alone is in tests/unit/check_fresh.c. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"
#include "fs.h"
#include "harness.h"
#include "harness_fakefs.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"
#include "clock.h"

/* "Seen within a few seconds": generous, since the sanitizer builds are slow. */
#define SEEN_WITHIN_MS 10000

static struct dovecot dc;
static struct mount_env env;

/* ---- helpers ---- */

/* The shared environment, pointed at another Dovecot. */
static struct mount_env env_for(const struct dovecot *d)
{
	struct mount_env e = env;
	e.imap_port = d->imap_port;
	return e;
}

static void mount_on(struct fsmount *m, const struct dovecot *d, const char *name, const char *extra)
{
	memset(m, 0, sizeof *m);
	struct mount_env e = env_for(d);
	mount_start(&e, m, name, extra);
}

static struct imap *second_to(const struct dovecot *d)
{
	return harness_login(d->imap_port, "alice");
}

static bool same_bytes(const struct buf *b, const void *p, size_t n)
{
	return b->len == n && (!n || !memcmp(b->data, p, n));
}

/* The next UID of mailbox, by STATUS. */
static unsigned uidnext(struct imap *s, const char *mailbox)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, mailbox, "(UIDNEXT)", &r), 0);
	ck_assert_str_eq(r.type, "OK");
	const char *p = strstr(r.items[0].text.data, "UIDNEXT ");
	ck_assert_ptr_nonnull(p);
	unsigned v = (unsigned)strtoul(p + 8, NULL, 10);
	imap_result_free(&r);
	return v;
}

/* Appends msg and returns its UID. */
static unsigned append(struct imap *s, const char *mailbox, const void *msg, size_t len)
{
	unsigned uid = uidnext(s, mailbox);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_append(s, mailbox, NULL, NULL, msg, len, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	return uid;
}

static void expunge_uid(struct imap *s, const char *mailbox, unsigned uid)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, mailbox, false, &r), 0);
	char set[16];
	snprintf(set, sizeof set, "%u", uid);
	const char *store[] = { set, "+FLAGS.SILENT", "(\\Deleted)" };
	ck_assert_int_eq(imap_uid(s, "STORE", store, 3, &r), 0);
	const char *ex[] = { set };
	ck_assert_int_eq(imap_uid(s, "EXPUNGE", ex, 1, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	ck_assert_int_eq(imap_close_mailbox(s, &r), 0);
	imap_result_free(&r);
}

static void imap_call_ok(int rc, struct imap_result *r)
{
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(!strcmp(r->type, "OK"), "%s", r->type);
	imap_result_free(r);
}

/* The server's UIDs of mailbox, ascending, as "1 2 3". */
static void server_uids(struct imap *s, const char *mailbox, struct buf *out)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, mailbox, true, &r), 0);
	const char *args[] = { "ALL" };
	ck_assert_int_eq(imap_uid(s, "SEARCH", args, 1, &r), 0);
	buf_reset(out);
	buf_addstr(out, r.n && r.items[0].text.data ? r.items[0].text.data : "");
	ck_assert_int_eq(imap_close_mailbox(s, &r), 0);
	imap_result_free(&r);
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

/* The UIDs the mount shows in dir, as "1 2 3". */
static void mount_uids(const char *dir, struct buf *out)
{
	unsigned v[4096];
	size_t n = 0;
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d)) && n < sizeof v / sizeof v[0])
		if (de->d_type == DT_REG)
			v[n++] = (unsigned)strtoul(de->d_name, NULL, 10);
	closedir(d);
	qsort(v, n, sizeof v[0], cmp_uint);
	buf_reset(out);
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%u", i ? " " : "", v[i]);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Polls cond(ctx) every 100 ms for up to ms. */
static bool within(int ms, bool (*cond)(void *ctx), void *ctx)
{
	long long end = clock_ms() + ms;
	do {
		if (cond(ctx))
			return true;
		os_sleep_ms(100);
	} while (clock_ms() < end);
	return cond(ctx);
}

static bool path_exists(void *p)
{
	return exists(p);
}

static bool path_gone(void *p)
{
	return !exists(p) && errno == ENOENT;
}

/* ---- live changes ---- */

/* With the default poll of 60 s only IDLE can bring these within seconds;
 * the expunged file's name was known to the kernel for an hour. */
START_TEST(test_appends_and_expunges_seen_within_seconds)
{
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "Live", &r), &r);
	const char *first = "Subject: first\r\n\r\nthe first message\r\n";
	const char *second = "Subject: second\r\n\r\nthe second message\r\n";
	unsigned u1 = append(s, "Live", first, strlen(first));
	unsigned u2 = append(s, "Live", second, strlen(second));
	struct fsmount m;
	mount_on(&m, &dc, "live", NULL);
	char p1[1024], p2[1024], p3[1024], dir[512];
	snprintf(dir, sizeof dir, "%s/Live", m.dir);
	snprintf(p1, sizeof p1, "%s/%u.eml", dir, u1);
	snprintf(p2, sizeof p2, "%s/%u.eml", dir, u2);
	struct buf body = BUF_INIT, uids = BUF_INIT, want = BUF_INIT;
	ck_assert_int_eq(mount_slurp(p1, &body), 0);
	ck_assert(same_bytes(&body, first, strlen(first)));
	ck_assert(exists(p2));

	const char *third = "Subject: third\r\n\r\nsent by another client\r\n";
	unsigned u3 = append(s, "Live", third, strlen(third));
	snprintf(p3, sizeof p3, "%s/%u.eml", dir, u3);
	ck_assert_msg(within(SEEN_WITHIN_MS, path_exists, p3), "new message not seen");
	buf_reset(&body);
	ck_assert_int_eq(mount_slurp(p3, &body), 0);
	ck_assert(same_bytes(&body, third, strlen(third)));

	expunge_uid(s, "Live", u1);
	ck_assert_msg(within(SEEN_WITHIN_MS, path_gone, p1), "expunged message still there");
	mount_uids(dir, &uids);
	server_uids(s, "Live", &want);
	ck_assert_str_eq(uids.data, want.data);

	mount_stop(&m);
	imap_call_ok(imap_delete(s, "Live", &r), &r);
	imap_close(s);
	buf_free(&body);
	buf_free(&uids);
	buf_free(&want);
}
END_TEST

struct dir_has {
	const char *dir;
	const char *name;
	bool want;
};

static bool dir_has_name(void *p)
{
	struct dir_has *h = p;
	DIR *d = opendir(h->dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strcmp(de->d_name, h->name))
			found = true;
	closedir(d);
	return found == h->want;
}

/* Folders made, renamed and deleted by another client (poll=2: how often
 * the folder list is asked for). */
START_TEST(test_folder_changes_seen)
{
	struct fsmount m;
	mount_on(&m, &dc, "folders", "poll=2");
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	struct dir_has h = { m.dir, "Neu", true };
	ck_assert(dir_has_name(&(struct dir_has){ m.dir, "Neu", false }));
	imap_call_ok(imap_create(s, "Neu", &r), &r);
	const char *msg = "Subject: in a new folder\r\n\r\nhello\r\n";
	unsigned uid = append(s, "Neu", msg, strlen(msg));
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &h), "new folder not seen");
	char path[512];
	snprintf(path, sizeof path, "%s/Neu/%u.eml", m.dir, uid);
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert(same_bytes(&body, msg, strlen(msg)));

	imap_call_ok(imap_rename(s, "Neu", "Umbenannt", &r), &r);
	struct dir_has renamed = { m.dir, "Umbenannt", true };
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &renamed), "renamed folder not seen");
	h.want = false;
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &h), "old name still shown");
	snprintf(path, sizeof path, "%s/Umbenannt/%u.eml", m.dir, uid);
	buf_reset(&body);
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert(same_bytes(&body, msg, strlen(msg)));

	imap_call_ok(imap_delete(s, "Umbenannt", &r), &r);
	renamed.want = false;
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &renamed), "deleted folder still shown");
	snprintf(path, sizeof path, "%s/Umbenannt", m.dir);
	ck_assert_msg(within(SEEN_WITHIN_MS, path_gone, path), "deleted folder still there");
	mount_stop(&m);
	imap_close(s);
	buf_free(&body);
}
END_TEST

struct reads_as {
	const char *path;
	const char *want;
	size_t len;
};

static bool reads_as(void *p)
{
	struct reads_as *ra = p;
	struct buf b = BUF_INIT;
	bool ok = mount_slurp(ra->path, &b) == 0 && same_bytes(&b, ra->want, ra->len);
	buf_free(&b);
	return ok;
}

/* Deleted and made again with other mail under the same UIDs, while the
 * mount watches it (no listing asked for: the watcher notices). */
START_TEST(test_folder_recreated_with_new_content)
{
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "Phoenix", &r), &r);
	const char *old = "Subject: old\r\n\r\nold generation\r\n";
	ck_assert_uint_eq(append(s, "Phoenix", old, strlen(old)), 1);
	struct fsmount m;
	mount_on(&m, &dc, "phoenix", NULL);
	char path[512];
	snprintf(path, sizeof path, "%s/Phoenix/1.eml", m.dir);
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert(same_bytes(&body, old, strlen(old)));
	imap_call_ok(imap_delete(s, "Phoenix", &r), &r);
	os_sleep_ms(1100);  /* Dovecot's UIDVALIDITY is a time stamp */
	imap_call_ok(imap_create(s, "Phoenix", &r), &r);
	const char *fresh = "Subject: new\r\n\r\nthe new generation, longer\r\n";
	ck_assert_uint_eq(append(s, "Phoenix", fresh, strlen(fresh)), 1);
	struct reads_as ra = { path, fresh, strlen(fresh) };
	ck_assert_msg(within(SEEN_WITHIN_MS, reads_as, &ra), "new generation not seen");
	/* and from then on only the new bytes, also by size */
	for (int i = 0; i < 5; i++) {
		buf_reset(&body);
		ck_assert_int_eq(mount_slurp(path, &body), 0);
		ck_assert(same_bytes(&body, fresh, strlen(fresh)));
		struct stat st;
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)strlen(fresh));
	}
	mount_stop(&m);
	imap_call_ok(imap_delete(s, "Phoenix", &r), &r);
	imap_close(s);
	buf_free(&body);
}
END_TEST

/* ---- faults ---- */

struct reader {
	const char *path;
	struct buf got;
	int rc, err;
	bool done;
};

static void *read_thread(void *arg)
{
	struct reader *rd = arg;
	rd->rc = mount_slurp(rd->path, &rd->got);
	rd->err = errno;
	__atomic_store_n(&rd->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void big_message(struct buf *out, size_t size, unsigned seed)
{
	buf_addf(out, "Subject: big %u\r\n\r\n", seed);
	while (out->len < size)
		buf_addf(out, "line %zu of a big message, seed %u, to be read whole\r\n", out->len, seed);
}

/* The read completes or fails cleanly (EIO), and the next reads work. */
START_TEST(test_kick_during_large_read)
{
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "Big", &r), &r);
	struct buf big1 = BUF_INIT, big2 = BUF_INIT;
	big_message(&big1, 24u << 20, 1);
	big_message(&big2, 2u << 20, 2);
	unsigned u1 = append(s, "Big", big1.data, big1.len);
	unsigned u2 = append(s, "Big", big2.data, big2.len);
	imap_close(s);
	struct fsmount m;
	mount_on(&m, &dc, "kick", "timeout=10");
	char p1[512], p2[512];
	snprintf(p1, sizeof p1, "%s/Big/%u.eml", m.dir, u1);
	snprintf(p2, sizeof p2, "%s/Big/%u.eml", m.dir, u2);
	ck_assert(exists(p1));  /* the listing is there before the read starts */
	struct reader rd = { .path = p1, .got = BUF_INIT };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, read_thread, &rd), 0);
	struct buf err = BUF_INIT;
	int kicked = 0;
	/* kick until the read is over, so that one lands while it streams */
	for (int i = 0; i < 100 && !__atomic_load_n(&rd.done, __ATOMIC_ACQUIRE); i++) {
		/* doveadm fails when nobody is logged in at that moment */
		buf_reset(&err);
		kicked += dovecot_kick(&dc, "alice", &err) == 0;
	}
	pthread_join(t, NULL);
	ck_assert_msg(kicked > 0, "%s", err.data);
	if (rd.rc == 0)
		ck_assert_msg(same_bytes(&rd.got, big1.data, big1.len), "read returned wrong bytes");
	else
		ck_assert_msg(rd.err == EIO, "read failed with %s, not EIO", strerror(rd.err));
	/* the mount is usable again: both messages read whole */
	struct buf again = BUF_INIT;
	ck_assert_msg(mount_slurp(p1, &again) == 0, "%s", strerror(errno));
	ck_assert(same_bytes(&again, big1.data, big1.len));
	buf_reset(&again);
	ck_assert_msg(mount_slurp(p2, &again) == 0, "%s", strerror(errno));
	ck_assert(same_bytes(&again, big2.data, big2.len));
	mount_stop(&m);
	s = second_to(&dc);
	imap_call_ok(imap_delete(s, "Big", &r), &r);
	imap_close(s);
	buf_free(&rd.got);
	buf_free(&again);
	buf_free(&big1);
	buf_free(&big2);
	buf_free(&err);
}
END_TEST

static bool log_has_online(void *p)
{
	return fsmount_log_has(p, "back online");
}

static bool log_has_offline(void *p)
{
	return fsmount_log_has(p, "offline: ");
}

/* The server stops and starts again: meanwhile cached mail and listings
 * are served and other reads fail with EIO within the timeout; afterwards
 * everything works again, changes included, without remounting. */
START_TEST(test_server_restart)
{
	struct dovecot own;
	struct buf err = BUF_INIT, root = BUF_INIT;
	ck_assert_msg(dovecot_start(&own, NULL, &err) == 0, "%s", err.data);
	dovecot_user_maildir(&own, "alice", &root);
	for (int i = 0; i < 40; i++) {
		char msg[96];
		int n = snprintf(msg, sizeof msg, "Subject: restart %d\r\n\r\nbody %d\r\n", i, i);
		ck_assert_int_eq(maildir_add(root.data, NULL, msg, (size_t)n, "S", 1700000000 + i, NULL, &err), 0);
	}
	struct fsmount m;
	mount_on(&m, &own, "restart", "timeout=3");
	char p1[1024], p9[1024], dir[512];
	snprintf(dir, sizeof dir, "%s/INBOX", m.dir);
	snprintf(p1, sizeof p1, "%s/1.eml", dir);
	snprintf(p9, sizeof p9, "%s/9.eml", dir);  /* last in name order: not read ahead */
	struct buf before = BUF_INIT, after = BUF_INIT, uids = BUF_INIT;
	ck_assert_int_eq(mount_slurp(p1, &before), 0);
	ck_assert_msg(dovecot_halt(&own, &err) == 0, "%s", err.data);

	ck_assert_int_eq(mount_slurp(p1, &after), 0);
	ck_assert(same_bytes(&after, before.data, before.len));
	mount_uids(dir, &uids);
	struct buf all = BUF_INIT;
	for (int i = 1; i <= 40; i++)
		buf_addf(&all, "%s%d", i > 1 ? " " : "", i);
	ck_assert_str_eq(uids.data, all.data);
	buf_free(&all);
	long long t0 = clock_ms();
	buf_reset(&after);
	ck_assert_int_eq(mount_slurp(p9, &after), -1);
	ck_assert_int_eq(errno, EIO);
	/* again, now that the mount knows: still EIO, and within the timeout */
	ck_assert_int_eq(mount_slurp(p9, &after), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_msg(clock_ms() - t0 < 15000, "offline reads took %lld ms", clock_ms() - t0);
	ck_assert_msg(within(SEEN_WITHIN_MS, log_has_offline, &m),
		      "no 'offline' in the log");
	/* writes fail, nothing is queued for later */
	char newdir[1024];
	snprintf(newdir, sizeof newdir, "%s/Offline", m.dir);
	ck_assert_int_eq(mkdir(newdir, 0755), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(unlink(p1), -1);
	ck_assert_int_eq(errno, EIO);

	ck_assert_msg(dovecot_resume(&own, &err) == 0, "%s", err.data);
	struct buf want9 = BUF_INIT;
	struct imap *s = second_to(&own);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, "INBOX", true, &r), 0);
	const char *args[] = { "9", "(BODY.PEEK[])" };
	ck_assert_int_eq(imap_uid(s, "FETCH", args, 2, &r), 0);
	ck_assert(r.n && r.items[0].has_lit);
	buf_add(&want9, r.items[0].lit.data, r.items[0].lit.len);
	/* what failed offline did not happen later either */
	struct buf server = BUF_INIT;
	server_uids(s, "INBOX", &server);
	ck_assert_str_eq(server.data, uids.data);
	buf_free(&server);
	ck_assert_int_eq(imap_status(s, "Offline", "(MESSAGES)", &r), 0);
	ck_assert_str_eq(r.type, "NO");
	imap_result_free(&r);
	struct reads_as ra = { p9, want9.data, want9.len };
	/* the backoff is at most 30 s; the server was away only briefly */
	ck_assert_msg(within(40000, reads_as, &ra), "uncached mail not readable after the restart");
	ck_assert_msg(within(SEEN_WITHIN_MS, log_has_online, &m), "no 'back online' in the log");
	/* live again: a new message shows */
	const char *msg = "Subject: after the restart\r\n\r\nhello again\r\n";
	unsigned uid = append(s, "INBOX", msg, strlen(msg));
	char pn[1024];
	snprintf(pn, sizeof pn, "%s/%u.eml", dir, uid);
	ck_assert_msg(within(SEEN_WITHIN_MS, path_exists, pn), "new message not seen after the restart");
	imap_close(s);
	mount_stop(&m);
	ck_assert_int_eq(dovecot_stop(&own, &err), 0);
	buf_free(&before);
	buf_free(&after);
	buf_free(&uids);
	buf_free(&want9);
	buf_free(&root);
	buf_free(&err);
}
END_TEST

/* ---- load ---- */

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

/* A server that stops in the middle of a message: the read is tried once
 * more on a new connection (a read is safe to repeat); when that stalls
 * too it fails with EIO after the timeouts, and the next read (another new
 * connection) works.  On the way it sends an ALERT, which must reach the
 * log. */
START_TEST(test_stall_mid_literal)
{
	struct buf err = BUF_INIT;
	struct fake_opts fo = { .timeout_ms = 30000 };
	struct fake_server *f = fake_start(
		FAKE_LOGIN("")
		"C: <tag2> LIST \"\" \"*\"\n"
		"S: * LIST () \"/\" INBOX\n"
		"S: * OK [ALERT] down for maintenance at noon\n"
		"S: <tag2> OK listed\n"
		"C: <tag3> EXAMINE INBOX\n"
		"C: <tag4> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)\n"
		"S: * 1 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 2] ok\n"
		"S: <tag3> OK [READ-ONLY] done\n"
		"S: * 1 FETCH (UID 1 RFC822.SIZE 100 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\")\n"
		"S: <tag4> OK done\n"
		"C: <tag5> UID FETCH 1 (UID BODY.PEEK[])\n"
		"S: * 1 FETCH (UID 1 BODY[] {100}\n"
		"S+ 0123456789\n"
		"# ... and nothing more: the client gives up after its timeout\n"
		"EOF\n"
		"ACCEPT\n"
		FAKE_LOGIN("")
		"C: <tag2> EXAMINE INBOX\n"
		"C: <tag3> UID FETCH 1 (UID BODY.PEEK[])\n"
		"S: * 1 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 2] ok\n"
		"S: <tag2> OK [READ-ONLY] done\n"
		"S: * 1 FETCH (UID 1 BODY[] {100}\n"
		"S+ 0123456789\n"
		"EOF\n"
		"PAUSE\n"
		"ACCEPT\n"
		FAKE_LOGIN("")
		"C: <tag2> EXAMINE INBOX\n"
		"C: <tag3> UID FETCH 1 (UID BODY.PEEK[])\n"
		"S: * 1 EXISTS\n"
		"S: * OK [UIDVALIDITY 7] ok\n"
		"S: * OK [UIDNEXT 2] ok\n"
		"S: <tag2> OK [READ-ONLY] done\n"
		"S: * 1 FETCH (UID 1 BODY[] {100}\n"
		"LITERAL 100 y\n"
		"S: )\n"
		"S: <tag3> OK done\n"
		"C: <tag4> LOGOUT\n"
		"S: * BYE bye\n"
		"S: <tag4> OK out\n"
		"EOF\n", &fo, &err);
	ck_assert_msg(f != NULL, "%s", err.data);
	struct fsmount m;
	memset(&m, 0, sizeof m);
	snprintf(m.dir, sizeof m.dir, "%s/mnt-stall", env.work);
	snprintf(m.log, sizeof m.log, "%s/log-stall", env.work);
	char opts[512], url[128], path[512];
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s/cache-stall,timeout=2,poll=600",
		 env.passfile, env.work);
	snprintf(url, sizeof url, "imap://alice@127.0.0.1:%s", fake_port_str(f));
	ck_assert_int_eq(mount_run(&env, &m, opts, url, &err), -1);
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	struct buf body = BUF_INIT;
	long long t0 = clock_ms();
	ck_assert_int_eq(mount_slurp(path, &body), -1);
	ck_assert_int_eq(errno, EIO);
	/* two timeouts of 2 s; the deadline only guards against a hang */
	ck_assert_msg(clock_ms() - t0 < 20000, "the stalled read took %lld ms", clock_ms() - t0);
	fake_resume(f);
	/* an ALERT reaches the user (the log) wherever it arrives */
	ck_assert(fsmount_log_has(&m, "server alert: down for maintenance at noon"));
	/* usable again: at once, or once the reconnect's pause is over */
	int rc = -1;
	for (int i = 0; i < 100 && rc != 0; i++) {
		buf_reset(&body);
		if ((rc = mount_slurp(path, &body)) != 0)
			usleep(100000);
	}
	ck_assert_msg(rc == 0, "%s", strerror(errno));
	ck_assert_uint_eq(body.len, 100);
	for (size_t i = 0; i < body.len; i++)
		ck_assert_int_eq(body.data[i], 'y');
	ck_assert_msg(fsmount_stop(&m, &err) == 0, "%s", err.data);
	ck_assert_msg(fake_finish(f, &err) == 0, "%s", err.data);
	buf_free(&body);
	buf_free(&err);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_appends_and_expunges_seen_within_seconds);
	tcase_add_test(tc, test_folder_changes_seen);
	tcase_add_test(tc, test_folder_recreated_with_new_content);
	tcase_add_test(tc, test_kick_during_large_read);
	tcase_add_test(tc, test_server_restart);
	tcase_add_test(tc, test_stall_mid_literal);
	tcase_add_test(tc, test_concurrent_stress);
}

int main(void)
{
	return mount_test_main("check_fresh", &dc, &env, add_tests, 240);
}
