/* check_mount_compress.c: COMPRESS=DEFLATE (RFC 4978) against a real
 * Dovecot with the imap_zlib plugin: a mount with compress=yes, over
 * implicit TLS (deflate inside TLS) and over plain IMAP, reads messages
 * byte for byte as a second connection fetches them, writes one (cp in)
 * that the server then holds, and says in its log that compression was
 * on; compress=auto leaves it off on loopback, compress=no off. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_srv.h"
#include "imap.h"

static struct dovecot dc;
static struct mount_env env;

#define ON_LINE "COMPRESS=DEFLATE on"

/* A message of text that spans many deflate blocks and inflate buffers. */
static void big_message(struct buf *msg, const char *tag)
{
	buf_addf(msg, "Subject: big %s\r\nFrom: t@example.org\r\n\r\n", tag);
	for (unsigned i = 0; msg->len < 300 * 1024; i++)
		buf_addf(msg, "line %u of %s: the quick brown fox jumps over the lazy dog %u\r\n", i, tag,
			 i * 7919u % 1000003u);
}

/* Every message of folder read through the mount equals the server's. */
static void check_reads(struct imap *s, const struct fsmount *m, const char *folder, size_t want)
{
	uint32_t uids[64];
	size_t n = srv_uids(s, folder, uids, 64);
	ck_assert_uint_eq(n, want);
	struct buf path = BUF_INIT, mine = BUF_INIT, text = BUF_INIT, theirs = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_reset(&path);
		buf_reset(&mine);
		buf_reset(&text);
		buf_reset(&theirs);
		buf_addf(&path, "%s/%s/%u.eml", m->dir, folder, uids[i]);
		if (mount_slurp(path.data, &mine) < 0) {
			struct buf log = BUF_INIT;
			mount_sh(&log, "tail -c 2000 '%s'", m->log);
			ck_abort_msg("cannot read %s; imapfs's log: %s", path.data, log.data);
		}
		srv_fetch(s, folder, uids[i], "BODY.PEEK[]", &text, &theirs);
		ck_assert_uint_eq(mine.len, theirs.len);
		ck_assert_msg(!memcmp(mine.data, theirs.data, mine.len), "%s differs", path.data);
	}
	buf_free(&path);
	buf_free(&mine);
	buf_free(&text);
	buf_free(&theirs);
}

/* cp a message in; the server holds it afterwards, byte for byte. */
static void check_write(struct imap *s, const struct fsmount *m, const char *folder, size_t before)
{
	struct buf msg = BUF_INIT, text = BUF_INIT, theirs = BUF_INIT;
	big_message(&msg, "written");
	char src[256];
	snprintf(src, sizeof src, "%s/written.eml", env.work);
	FILE *f = fopen(src, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(msg.data, 1, msg.len, f), msg.len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(mount_sh(NULL, "cp '%s' '%s/%s/new.eml'", src, m->dir, folder), 0);
	uint32_t uids[64];
	size_t n = srv_uids(s, folder, uids, 64);
	ck_assert_uint_eq(n, before + 1);
	srv_fetch(s, folder, uids[n - 1], "BODY.PEEK[]", &text, &theirs);
	ck_assert_uint_eq(theirs.len, msg.len);
	ck_assert(!memcmp(theirs.data, msg.data, msg.len));
	buf_free(&msg);
	buf_free(&text);
	buf_free(&theirs);
}

static void fill(struct imap *s, const char *folder)
{
	srv_folder(s, folder, 10);
	struct buf msg = BUF_INIT;
	big_message(&msg, folder);
	srv_append(s, folder, msg.data);
	buf_free(&msg);
}

static void mount_tls(struct fsmount *m, const char *name, const char *extra)
{
	snprintf(m->dir, sizeof m->dir, "%s/mnt-%s", env.work, name);
	snprintf(m->log, sizeof m->log, "%s/log-%s", env.work, name);
	snprintf(m->cache, sizeof m->cache, "%s/cache-%s", env.work, name);
	char opts[1024], url[128];
	snprintf(opts, sizeof opts, "passfile=%s,cachedir=%s,cafile=%s,%s", env.passfile, m->cache,
		 dc.certs.cafile, extra);
	snprintf(url, sizeof url, "imaps://alice@localhost:%d", dc.imaps_port);
	struct buf err = BUF_INIT;
	int rc = mount_run(&env, m, opts, url, &err);
	ck_assert_msg(rc == -1, "imapfs exited %d: %s", rc, err.data);
	buf_free(&err);
}

START_TEST(test_compress_yes_over_tls)
{
	struct imap *s = mount_second(&env, "alice");
	ck_assert(imap_has_cap(s, "COMPRESS=DEFLATE"));
	fill(s, "ZipTls");
	struct fsmount m = { .pid = 0 };
	mount_tls(&m, "ztls", "compress=yes");
	check_reads(s, &m, "ZipTls", 11);
	check_write(s, &m, "ZipTls", 11);
	ck_assert_msg(fsmount_log_has(&m, ON_LINE), "no \"" ON_LINE "\" in %s", m.log);
	mount_stop(&m);
	imap_close(s);
}
END_TEST

START_TEST(test_compress_yes_plain)
{
	struct imap *s = mount_second(&env, "alice");
	fill(s, "ZipPlain");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "zplain", "compress=yes,connections=2");
	check_reads(s, &m, "ZipPlain", 11);
	check_write(s, &m, "ZipPlain", 11);
	ck_assert_msg(fsmount_log_has(&m, ON_LINE), "no \"" ON_LINE "\" in %s", m.log);
	mount_stop(&m);
	imap_close(s);
}
END_TEST

/* On loopback, auto is off (deflate would cost more than the link saves);
 * no is off everywhere.  Reads still work. */
START_TEST(test_compress_auto_and_no_off_on_loopback)
{
	struct imap *s = mount_second(&env, "alice");
	fill(s, "ZipOff");
	const char *opts[] = { "compress=auto", "compress=no" };
	for (int i = 0; i < 2; i++) {
		struct fsmount m = { .pid = 0 };
		char name[16];
		snprintf(name, sizeof name, "zoff%d", i);
		mount_start(&env, &m, name, opts[i]);
		check_reads(s, &m, "ZipOff", 11);
		ck_assert_msg(!fsmount_log_has(&m, ON_LINE), "%s compressed", opts[i]);
		mount_stop(&m);
	}
	imap_close(s);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_compress_yes_over_tls);
	tcase_add_test(tc, test_compress_yes_plain);
	tcase_add_test(tc, test_compress_auto_and_no_off_on_loopback);
}

int main(void)
{
	struct dovecot_opts o = { .compress = true };
	return mount_test_main_with("check_mount_compress", &dc, &o, &env, add_tests, 240);
}
