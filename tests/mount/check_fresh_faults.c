/* check_fresh_faults.c: a mount survives faults of the server: `doveadm
 * kick` during a large read (it completes or fails cleanly, and the next
 * reads work), a server restart (cached mail readable meanwhile, online
 * again afterwards), and a scripted server that stalls mid-literal. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_fresh_util.h"
#include "clock.h"
#include "fake.h"
#include "harness_os.h"

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
	/* one connection: the script plays one client at a time, and the
	 * mount's other connections would log in at mount */
	snprintf(opts, sizeof opts,
		 "tls=none,passfile=%s,cachedir=%s/cache-stall,timeout=2,poll=600,nowatch,connections=1",
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

void check_fresh_add_faults(TCase *tc)
{
	tcase_add_test(tc, test_kick_during_large_read);
	tcase_add_test(tc, test_server_restart);
	tcase_add_test(tc, test_stall_mid_literal);
}
