/* check_mount_partial.c: partial fetch of big messages against a real
 * Dovecot, the mount behind a proxy that counts the bytes the server
 * sends: `head -c 200` of a 30 MB message pulls at most 2 MB, and so does
 * reading a small message just before it (read-ahead leaves the big one
 * alone); reads at scattered offsets give the right bytes; st_size is
 * right before and after; the whole file equals what a second connection
 * fetches; a remount reads it from the cache, fetching nothing again. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_proxy.h"
#include "harness_srv.h"
#include "imap.h"

static struct dovecot dc;
static struct mount_env env;

#define BIG_BYTES (30u << 20)
#define PULL_MAX (2u << 20)

/* 30 MB whose every line names its offset: a byte from the wrong place
 * differs. */
static void big_message(struct buf *msg)
{
	buf_addf(msg, "Subject: big\r\nFrom: t@example.org\r\n\r\n");
	while (msg->len < BIG_BYTES)
		buf_addf(msg, "%010zu the quick brown fox jumps over the lazy dog\r\n", msg->len);
}

/* The proxy's count once the mount has stopped pulling (read-ahead may
 * still be landing when a reader returns). */
static unsigned long long pulled_settled(struct proxy *px)
{
	unsigned long long before;
	do {
		before = proxy_server_bytes(px);
		usleep(500 * 1000);
	} while (proxy_server_bytes(px) != before);
	return before;
}

static void read_at(const char *path, off_t off, size_t n, struct buf *out)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	buf_reset(out);
	buf_grow(out, n + 1);
	ssize_t k = pread(fd, out->data, n, off);
	ck_assert_int_ge(k, 0);
	out->len = (size_t)k;
	close(fd);
}

static void assert_size(const char *path, size_t want)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, want);
}

START_TEST(test_head_of_big_message_pulls_little)
{
	/* bob: an account of its own, so what the mount pulls is this test's */
	struct imap *s = mount_second(&env, "bob");
	srv_folder(s, "Big", 2);  /* small ones before it: read-ahead must skip it */
	struct buf msg = BUF_INIT, text = BUF_INIT, theirs = BUF_INIT, mine = BUF_INIT, path = BUF_INIT;
	big_message(&msg);
	srv_append(s, "Big", msg.data);
	uint32_t uids[8];
	ck_assert_uint_eq(srv_uids(s, "Big", uids, 8), 3);
	srv_fetch(s, "Big", uids[2], "BODY.PEEK[]", &text, &theirs);
	ck_assert_uint_eq(theirs.len, msg.len);

	struct proxy *px = mount_proxy_start(&env, 0);
	struct fsmount m = { .pid = 0 };
	mount_start_via(&env, px, &m, "partial", "bob", "connections=3");
	char base[300];
	snprintf(base, sizeof base, "%s/Big", m.dir);

	/* the message before it: read-ahead brings the small ones only */
	unsigned long long at_mount = pulled_settled(px);
	buf_addf(&path, "%s/%u.eml", base, uids[1]);
	ck_assert_int_eq(mount_sh(&mine, "head -c 200 '%s'", path.data), 0);
	unsigned long long after_small = pulled_settled(px);
	ck_assert_msg(after_small - at_mount <= PULL_MAX, "reading a small message pulled %llu bytes",
		      after_small - at_mount);

	buf_reset(&path);
	buf_addf(&path, "%s/%u.eml", base, uids[2]);
	assert_size(path.data, msg.len);
	buf_reset(&mine);
	ck_assert_int_eq(mount_sh(&mine, "head -c 200 '%s'", path.data), 0);
	ck_assert_uint_eq(mine.len, 200);
	ck_assert(!memcmp(mine.data, msg.data, 200));
	unsigned long long after_head = pulled_settled(px);
	ck_assert_msg(after_head - after_small <= PULL_MAX, "head -c 200 of %zu bytes pulled %llu bytes",
		      msg.len, after_head - after_small);
	assert_size(path.data, msg.len);

	/* jumps: each a window of its own, the right bytes */
	const off_t offs[] = { 17 * 1000 * 1000 + 3, 5 << 20, (off_t)msg.len - 100, 1 << 20, 29 << 20 };
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
		read_at(path.data, offs[i], 5000, &mine);
		size_t want = msg.len - (size_t)offs[i] < 5000 ? msg.len - (size_t)offs[i] : 5000;
		ck_assert_uint_eq(mine.len, want);
		ck_assert_msg(!memcmp(mine.data, msg.data + offs[i], want), "bytes at %lld differ",
			      (long long)offs[i]);
	}

	/* the whole file, as the server holds it; then it is complete */
	buf_reset(&mine);
	ck_assert_int_eq(mount_slurp(path.data, &mine), 0);
	ck_assert_uint_eq(mine.len, theirs.len);
	ck_assert(!memcmp(mine.data, theirs.data, mine.len));
	assert_size(path.data, msg.len);
	unsigned long long after_all = pulled_settled(px);
	ck_assert_msg(after_all - at_mount < 2ull * msg.len, "the whole file pulled %llu bytes",
		      after_all - at_mount);
	mount_stop(&m);

	/* a remount has it in its cache */
	struct fsmount again = { .pid = 0 };
	snprintf(again.cache, sizeof again.cache, "%s", m.cache);
	mount_start_via(&env, px, &again, "partial2", "bob", "connections=3");
	buf_reset(&path);
	buf_addf(&path, "%s/Big/%u.eml", again.dir, uids[2]);
	unsigned long long at_remount = pulled_settled(px);
	buf_reset(&mine);
	ck_assert_int_eq(mount_slurp(path.data, &mine), 0);
	ck_assert_uint_eq(mine.len, theirs.len);
	ck_assert(!memcmp(mine.data, theirs.data, mine.len));
	unsigned long long after_reread = pulled_settled(px);
	ck_assert_msg(after_reread - at_remount < (1u << 20), "the cached message pulled %llu bytes again",
		      after_reread - at_remount);
	mount_stop(&again);
	proxy_stop(px);
	imap_close(s);
	buf_free(&msg);
	buf_free(&text);
	buf_free(&theirs);
	buf_free(&mine);
	buf_free(&path);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_head_of_big_message_pulls_little);
}

int main(void)
{
	return mount_test_main("check_mount_partial", &dc, &env, add_tests, 240);
}
