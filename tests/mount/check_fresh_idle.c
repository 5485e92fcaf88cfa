/* check_fresh_idle.c: the folder in use stays fresh on servers whose IDLE
 * is of no help.  A proxy in front of a private Dovecot makes it one that
 * has no IDLE (mailutils), or one whose IDLE says nothing until DONE
 * (Courier without FAM, Cyrus without idled).  With poll=600, only asking
 * the server about the folder in use brings another client's mail within
 * seconds. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_fresh_util.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "harness_proxy.h"

struct dovecot dc;
struct mount_env env;

/* An IDLE round lasts 30 s: time for one change to be heard only at its
 * DONE, with valgrind's slowness (of this program and its proxy) on top: a
 * round that began just before the append, then the refresh. */
#define ROUND_WITHIN_MS 75000

struct proxied {
	struct proxy *proxy;
	struct dovecot via;       /* dc, as the mount sees it: through the proxy */
};

static void proxied_start(struct proxied *px, enum proxy_mode mode)
{
	px->proxy = mount_proxy_start(&env, mode);
	px->via = dc;
	px->via.imap_port = proxy_port(px->proxy);
}

static bool idling(void *p)
{
	return proxy_idles(p) > 0;
}

/* Appends a message to mailbox; the path the mount must show it at. */
static void append_seen_at(struct imap *s, const char *mnt, const char *mailbox, const char *text,
			   char *path, size_t size)
{
	unsigned uid = append(s, mailbox, text, strlen(text));
	snprintf(path, size, "%s/%s/%u.eml", mnt, mailbox, uid);
}

/* A folder with one message, in use in the mount m (listed, one read). */
static void use_folder(struct imap *s, const struct fsmount *m, const char *mailbox)
{
	char path[1024];
	append_seen_at(s, m->dir, mailbox, "Subject: first\r\n\r\nthere before\r\n", path, sizeof path);
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert(strstr(body.data, "there before"));
	buf_free(&body);
}

START_TEST(test_without_idle_the_folder_in_use_is_asked)
{
	struct proxied px;
	proxied_start(&px, PROXY_NO_IDLE);
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "NoIdle", &r), &r);
	struct fsmount m;
	mount_on(&m, &px.via, "noidle", "poll=600");
	use_folder(s, &m, "NoIdle");

	char path[1024];
	const char *text = "Subject: later\r\n\r\nfrom another client\r\n";
	append_seen_at(s, m.dir, "NoIdle", text, path, sizeof path);
	struct reads_as want = { path, text, strlen(text) };
	ck_assert_msg(within(SEEN_WITHIN_MS, reads_as, &want), "new message not seen without IDLE");

	mount_stop(&m);
	imap_call_ok(imap_delete(s, "NoIdle", &r), &r);
	imap_close(s);
	proxy_stop(px.proxy);
}
END_TEST

START_TEST(test_a_silent_idle_is_found_and_the_folder_asked)
{
	struct proxied px;
	proxied_start(&px, PROXY_SILENT_IDLE);
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "Silent", &r), &r);
	struct fsmount m;
	mount_on(&m, &px.via, "silent", "poll=600");
	use_folder(s, &m, "Silent");
	ck_assert_msg(within(ROUND_WITHIN_MS, idling, px.proxy), "the mount never began to IDLE");

	/* two changes heard only when IDLE rounds end: the IDLE is silent */
	char path[1024];
	for (int i = 0; i < 2; i++) {
		append_seen_at(s, m.dir, "Silent", "Subject: round\r\n\r\nheard at DONE\r\n", path,
			       sizeof path);
		if (!within(ROUND_WITHIN_MS, path_exists, path)) {
			struct buf tail = BUF_INIT;
			os_read_tail(m.log, 1500, &tail);
			ck_abort_msg("change %d never seen; imapfs's log ends: %s", i, tail.data);
		}
	}
	ck_assert_uint_eq(fsmount_log_count(&m, "IDLE did not report changes"), 1);

	/* from now on the folder is asked every few seconds, not every round */
	const char *text = "Subject: asked\r\n\r\nseen without waiting for a round\r\n";
	append_seen_at(s, m.dir, "Silent", text, path, sizeof path);
	struct reads_as want = { path, text, strlen(text) };
	ck_assert_msg(within(SEEN_WITHIN_MS, reads_as, &want), "new message not seen within seconds");

	mount_stop(&m);
	imap_call_ok(imap_delete(s, "Silent", &r), &r);
	imap_close(s);
	proxy_stop(px.proxy);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_without_idle_the_folder_in_use_is_asked);
	tcase_add_test(tc, test_a_silent_idle_is_found_and_the_folder_asked);
}

int main(void)
{
	return mount_test_main("check_fresh_idle", &dc, &env, add_tests, 240);
}
