/* check_write.c (server): the write path's IMAP operations (fs/remote/mutate.c)
 * against a private Dovecot, every effect checked on a second connection.
 * What Dovecot cannot show (no UIDPLUS, no MOVE, a refused COPY, a
 * connection lost in the middle) is in tests/unit/check_write.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "date.h"
#include "fake.h"
#include "harness.h"
#include "harness_fakefs.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"
#include "mutf7.h"
#include "remote/mutate.h"
#include "remote/pool.h"

static struct dovecot dc;

/* ---- helpers: the pool under test and a second, independent client ---- */

static struct pool *dovecot_pool(const char *user, struct fs_config *cfg)
{
	char port[16];
	snprintf(port, sizeof port, "%d", dc.imap_port);
	return fakefs_pool_new(user, port, cfg);
}

static uint32_t number_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	ck_assert_msg(p != NULL, "no %s in %s", key, text);
	return (uint32_t)strtoul(p + strlen(key), NULL, 10);
}

/* CREATE (tolerating an existing one) and the UIDVALIDITY. */
static uint32_t make_mailbox(struct imap *s, const char *mailbox)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_create(s, mailbox, &r), 0);
	imap_result_free(&r);
	ck_assert_int_eq(imap_status(s, mailbox, "(UIDVALIDITY)", &r), 0);
	ck_assert_str_eq(r.type, "OK");
	uint32_t v = number_after(r.items[0].text.data, "UIDVALIDITY ");
	imap_result_free(&r);
	return v;
}

static bool mailbox_exists(struct imap *s, const char *mailbox)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, mailbox, "(MESSAGES)", &r), 0);
	bool ok = !strcmp(r.type, "OK");
	imap_result_free(&r);
	return ok;
}

/* APPEND by the second client; the new UID. */
static uint32_t seed(struct imap *s, const char *mailbox, const char *msg, const char *flags)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_append(s, mailbox, flags, NULL, msg, strlen(msg), &r), 0);
	ck_assert_str_eq(r.type, "OK");
	const char *code = strstr(r.items[0].text.data, "[APPENDUID ");
	ck_assert_ptr_nonnull(code);
	char *end;
	(void)strtoul(code + 11, &end, 10);
	uint32_t uid = (uint32_t)strtoul(end, NULL, 10);
	ck_assert_uint_ne(uid, 0);
	imap_result_free(&r);
	return uid;
}

/* UID FETCH uid (FLAGS INTERNALDATE BODY.PEEK[]) in mailbox: false when the
 * message is not there; else its text part (flags, date) and bytes. */
static bool fetch_message(struct imap *s, const char *mailbox, uint32_t uid, struct buf *meta,
			  struct buf *body)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, mailbox, true, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	char set[16];
	snprintf(set, sizeof set, "%u", uid);
	const char *args[] = { set, "(FLAGS INTERNALDATE BODY.PEEK[])" };
	ck_assert_int_eq(imap_uid(s, "FETCH", args, 2, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	bool found = false;
	for (size_t i = 0; i < r.n; i++) {
		if (r.items[i].none || !r.items[i].has_lit)
			continue;
		found = true;
		if (meta)
			buf_set(meta, r.items[i].text.data, r.items[i].text.len);
		if (body)
			buf_set(body, r.items[i].lit.data, r.items[i].lit.len);
	}
	imap_result_free(&r);
	return found;
}

static void check_flags(struct imap *s, const char *mailbox, uint32_t uid, const char *flag,
			bool want)
{
	struct buf meta = BUF_INIT;
	ck_assert_msg(fetch_message(s, mailbox, uid, &meta, NULL), "UID %u gone", uid);
	ck_assert_msg((strstr(meta.data, flag) != NULL) == want, "%s %s in %s", flag,
		      want ? "missing" : "present", meta.data);
	buf_free(&meta);
}

static int temp_file(const void *p, size_t n)
{
	char path[] = "/tmp/imapfs-write-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static const char msg_a[] = "From: a@example.org\r\nSubject: a\r\n\r\nfirst\r\n";
static const char msg_b[] = "From: b@example.org\r\nSubject: b\r\n\r\nsecond\r\n";
static const char msg_c[] = "From: c@example.org\r\nSubject: c\r\n\r\nthird\r\n";

/* ---- against Dovecot ---- */

START_TEST(test_expunge_removes_only_that_uid)
{
	struct imap *s = harness_login(dc.imap_port, "alice");
	uint32_t v = make_mailbox(s, "Exp");
	uint32_t a = seed(s, "Exp", msg_a, NULL);
	uint32_t b = seed(s, "Exp", msg_b, NULL);
	uint32_t c = seed(s, "Exp", msg_c, NULL);
	/* another client's \Deleted mark must survive our expunge */
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, "Exp", false, &r), 0);
	imap_result_free(&r);
	char set[16];
	snprintf(set, sizeof set, "%u", c);
	const char *args[] = { set, "+FLAGS", "(\\Deleted)" };
	ck_assert_int_eq(imap_uid(s, "STORE", args, 3, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);

	struct fs_config cfg;
	struct pool *p = dovecot_pool("alice", &cfg);
	ck_assert_int_eq(mutate_expunge(p, "Exp", v + 1, b, false), -ESTALE);
	ck_assert(fetch_message(s, "Exp", b, NULL, NULL));
	ck_assert_int_eq(mutate_expunge(p, "Exp", v, b, false), 0);
	ck_assert(!fetch_message(s, "Exp", b, NULL, NULL));
	ck_assert(fetch_message(s, "Exp", a, NULL, NULL));
	check_flags(s, "Exp", c, "\\Deleted", true);
	check_flags(s, "Exp", a, "\\Deleted", false);
	/* once more: nothing left to remove */
	ck_assert_int_eq(mutate_expunge(p, "Exp", v, b, false), -ENOENT);
	ck_assert(fetch_message(s, "Exp", c, NULL, NULL));
	ck_assert_int_eq(mutate_expunge(p, "NoSuchBox", v, b, false), -ENOENT);
	fakefs_pool_free(p, &cfg);
	imap_close(s);
}
END_TEST

START_TEST(test_move_keeps_the_bytes)
{
	struct imap *s = harness_login(dc.imap_port, "alice");
	uint32_t vs = make_mailbox(s, "MvSrc");
	uint32_t vd = make_mailbox(s, "MvDst");
	uint32_t a = seed(s, "MvSrc", msg_a, "(\\Flagged)");
	uint32_t b = seed(s, "MvSrc", msg_b, NULL);
	struct fs_config cfg;
	struct pool *p = dovecot_pool("alice", &cfg);
	uint32_t nv = 0, nu = 0;
	ck_assert_int_eq(mutate_move(p, "MvSrc", vs + 7, a, "MvDst", false, &nv, &nu), -ESTALE);
	ck_assert(fetch_message(s, "MvSrc", a, NULL, NULL));
	ck_assert_int_eq(mutate_move(p, "MvSrc", vs, a, "MvDst", false, &nv, &nu), 0);
	ck_assert_uint_eq(nv, vd);
	ck_assert_uint_ne(nu, 0);
	struct buf body = BUF_INIT;
	ck_assert(fetch_message(s, "MvDst", nu, NULL, &body));
	ck_assert_uint_eq(body.len, strlen(msg_a));
	ck_assert(!memcmp(body.data, msg_a, body.len));
	check_flags(s, "MvDst", nu, "\\Flagged", true);
	ck_assert(!fetch_message(s, "MvSrc", a, NULL, NULL));
	ck_assert(fetch_message(s, "MvSrc", b, NULL, NULL));
	/* a move to a mailbox that does not exist leaves the original */
	ck_assert_int_eq(mutate_move(p, "MvSrc", vs, b, "NoSuchBox", false, &nv, &nu), -ENOENT);
	ck_assert(fetch_message(s, "MvSrc", b, NULL, NULL));
	/* a UID that is not there */
	ck_assert_int_eq(mutate_move(p, "MvSrc", vs, a, "MvDst", false, &nv, &nu), -ENOENT);
	buf_free(&body);
	fakefs_pool_free(p, &cfg);
	imap_close(s);
}
END_TEST

static void append_and_compare(struct pool *p, struct imap *s, const char *mailbox,
			       const char *msg, size_t len)
{
	int fd = temp_file(msg, len);
	const time_t date = 1600000000;  /* 13-Sep-2020 12:26:40 UTC */
	uint32_t nv = 0, nu = 0;
	int rc = mutate_append(p, mailbox, fd, len, date, "\\Seen $Label1", &nv, &nu);
	if (rc != 0) {
		struct buf log = BUF_INIT;
		dovecot_log_tail(&dc, 2000, &log);
		ck_abort_msg("mutate_append of %zu bytes: %d; Dovecot's log:\n%s", len, rc, log.data);
	}
	close(fd);
	ck_assert_uint_ne(nu, 0);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, mailbox, "(UIDVALIDITY)", &r), 0);
	ck_assert_uint_eq(nv, number_after(r.items[0].text.data, "UIDVALIDITY "));
	imap_result_free(&r);
	struct buf meta = BUF_INIT, body = BUF_INIT;
	ck_assert(fetch_message(s, mailbox, nu, &meta, &body));
	ck_assert_uint_eq(body.len, len);
	ck_assert(!memcmp(body.data, msg, len));
	ck_assert_msg(strstr(meta.data, "\\Seen") && strstr(meta.data, "$Label1"), "%s", meta.data);
	const char *d = strstr(meta.data, "INTERNALDATE \"");
	ck_assert_ptr_nonnull(d);
	time_t got;
	ck_assert_int_eq(imap_internaldate_parse(d + 14, 26, &got), 0);
	ck_assert_int_eq(got, date);
	buf_free(&meta);
	buf_free(&body);
}

START_TEST(test_append_small_and_large)
{
	struct imap *s = harness_login(dc.imap_port, "alice");
	make_mailbox(s, "App");
	struct fs_config cfg;
	struct pool *p = dovecot_pool("alice", &cfg);
	append_and_compare(p, s, "App", msg_a, strlen(msg_a));
	/* 20 MiB of lines that differ, so a shifted or dropped chunk shows */
	size_t big = 20u << 20;
	struct buf m = BUF_INIT;
	buf_addstr(&m, "From: big@example.org\r\nSubject: big\r\n\r\n");
	for (unsigned i = 0; m.len < big - 64; i++)
		buf_addf(&m, "line %08u of the large message\r\n", i);
	while (m.len < big - 2)
		buf_addch(&m, 'x');
	buf_addstr(&m, "\r\n");
	append_and_compare(p, s, "App", m.data, m.len);
	/* no flags, no date, no one to tell the UID to */
	int fd = temp_file(msg_b, strlen(msg_b));
	ck_assert_int_eq(mutate_append(p, "App", fd, strlen(msg_b), 0, NULL, NULL, NULL), 0);
	close(fd);
	fd = temp_file(msg_b, strlen(msg_b));
	ck_assert_int_eq(mutate_append(p, "NoSuchBox", fd, strlen(msg_b), 0, NULL, NULL, NULL),
			 -ENOENT);
	ck_assert_int_eq(mutate_append(p, "App", fd, strlen(msg_b), 0, "(bad", NULL, NULL), -EINVAL);
	close(fd);
	buf_free(&m);
	fakefs_pool_free(p, &cfg);
	imap_close(s);
}
END_TEST

START_TEST(test_append_over_quota)
{
	struct imap *s = harness_login(dc.imap_port, "tiny");
	struct fs_config cfg;
	struct pool *p = dovecot_pool("tiny", &cfg);
	struct buf m = BUF_INIT;
	buf_addstr(&m, "Subject: too big\r\n\r\n");
	while (m.len < 8192)
		buf_addstr(&m, "0123456789abcdef0123456789abcdef\r\n");
	int fd = temp_file(m.data, m.len);
	uint32_t nv = 1, nu = 1;
	ck_assert_int_eq(mutate_append(p, "INBOX", fd, m.len, 0, NULL, &nv, &nu), -EDQUOT);
	ck_assert_uint_eq(nu, 0);
	close(fd);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, "INBOX", "(MESSAGES)", &r), 0);
	ck_assert_uint_eq(number_after(r.items[0].text.data, "MESSAGES "), 0);
	imap_result_free(&r);
	buf_free(&m);
	fakefs_pool_free(p, &cfg);
	imap_close(s);
}
END_TEST

START_TEST(test_create_rename_delete)
{
	struct imap *s = harness_login(dc.imap_port, "alice");
	struct buf name = BUF_INIT, renamed = BUF_INIT, err = BUF_INIT;
	const char *utf8 = "Übung ☃ 日本";
	const char *utf8_new = "Umbenannt – ü";
	ck_assert_int_eq(mutf7_from_utf8(utf8, strlen(utf8), &name, &err), 0);
	ck_assert_int_eq(mutf7_from_utf8(utf8_new, strlen(utf8_new), &renamed, &err), 0);
	struct fs_config cfg;
	struct pool *p = dovecot_pool("alice", &cfg);
	ck_assert(!mailbox_exists(s, name.data));
	ck_assert_int_eq(mutate_create(p, name.data), 0);
	ck_assert(mailbox_exists(s, name.data));
	ck_assert_int_eq(mutate_create(p, name.data), -EEXIST);
	/* keep it selected on the pool: rename and delete must still work */
	uint32_t uid = seed(s, name.data, msg_a, NULL);
	struct buf flags = BUF_INIT;
	ck_assert_int_eq(mutate_fetch_flags(p, name.data, 0, uid, &flags, NULL), 0);
	ck_assert_int_eq(mutate_rename(p, name.data, renamed.data), 0);
	ck_assert(!mailbox_exists(s, name.data));
	ck_assert(mailbox_exists(s, renamed.data));
	ck_assert(fetch_message(s, renamed.data, uid, NULL, NULL));
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_unselect(s, &r), 0);
	imap_result_free(&r);
	ck_assert_int_eq(mutate_rename(p, name.data, "Elsewhere"), -ENOENT);
	ck_assert_int_eq(mutate_fetch_flags(p, renamed.data, 0, uid, &flags, NULL), 0);
	/* DELETE would take the message along: only an empty mailbox goes */
	ck_assert_int_eq(mutate_delete(p, renamed.data), -ENOTEMPTY);
	ck_assert(mailbox_exists(s, renamed.data));
	ck_assert_int_eq(mutate_expunge(p, renamed.data, 0, uid, false), 0);
	ck_assert_int_eq(mutate_delete(p, renamed.data), 0);
	ck_assert(!mailbox_exists(s, renamed.data));
	ck_assert_int_eq(mutate_delete(p, renamed.data), -ENOENT);
	/* CR LF go in a literal, so they cannot end the command and start
	 * another: the server refuses the name and Keep stays */
	ck_assert_int_eq(mutate_create(p, "Keep"), 0);
	ck_assert_int_lt(mutate_create(p, "bad\r\nX1 DELETE Keep"), 0);
	ck_assert(mailbox_exists(s, "Keep"));
	ck_assert(!mailbox_exists(s, "bad"));
	buf_free(&flags);
	buf_free(&name);
	buf_free(&renamed);
	buf_free(&err);
	fakefs_pool_free(p, &cfg);
	imap_close(s);
}
END_TEST

START_TEST(test_flags_round_trip)
{
	struct imap *s = harness_login(dc.imap_port, "alice");
	uint32_t v = make_mailbox(s, "Flg");
	uint32_t a = seed(s, "Flg", msg_a, "(\\Seen)");
	struct fs_config cfg;
	struct pool *p = dovecot_pool("alice", &cfg);
	struct buf flags = BUF_INIT;
	uint64_t m0 = 0, m1 = 0;
	ck_assert_int_eq(mutate_fetch_flags(p, "Flg", v, a, &flags, &m0), 0);
	ck_assert_str_eq(flags.data, "\\Seen");
	ck_assert_uint_ne(m0, 0);
	ck_assert_int_eq(mutate_store_flags(p, "Flg", v, a, "\\Flagged $Label1", 0), 0);
	ck_assert_int_eq(mutate_fetch_flags(p, "Flg", v, a, &flags, &m1), 0);
	ck_assert_msg(strstr(flags.data, "\\Flagged") && strstr(flags.data, "$Label1") &&
		      !strstr(flags.data, "\\Seen"), "%s", flags.data);
	ck_assert_uint_gt(m1, m0);
	check_flags(s, "Flg", a, "$Label1", true);
	check_flags(s, "Flg", a, "\\Seen", false);
	/* conditional: refused when the message changed after m0 */
	ck_assert_int_eq(mutate_store_flags(p, "Flg", v, a, "\\Answered", m0), -EAGAIN);
	check_flags(s, "Flg", a, "\\Answered", false);
	ck_assert_int_eq(mutate_store_flags(p, "Flg", v, a, "\\Answered", m1), 0);
	check_flags(s, "Flg", a, "\\Answered", true);
	/* clearing every flag */
	ck_assert_int_eq(mutate_store_flags(p, "Flg", v, a, "", 0), 0);
	ck_assert_int_eq(mutate_fetch_flags(p, "Flg", v, a, &flags, NULL), 0);
	ck_assert_str_eq(flags.data, "");
	ck_assert_int_eq(mutate_store_flags(p, "Flg", v, a + 100, "\\Seen", 0), -ENOENT);
	ck_assert_int_eq(mutate_fetch_flags(p, "Flg", v, a + 100, &flags, NULL), -ENOENT);
	ck_assert_int_eq(mutate_store_flags(p, "Flg", v + 1, a, "\\Seen", 0), -ESTALE);
	ck_assert_int_eq(mutate_fetch_flags(p, "Flg", v + 1, a, &flags, NULL), -ESTALE);
	ck_assert_int_eq(mutate_store_flags(p, "Flg", v, a, "\\Seen)", 0), -EINVAL);
	buf_free(&flags);
	fakefs_pool_free(p, &cfg);
	imap_close(s);
}
END_TEST

int main(void)
{
	dovecot_require_or_skip("check_write");
	fs_log_to_stderr(true);
	fs_log_debug(getenv("CHECK_WRITE_DEBUG") != NULL);
	struct buf err = BUF_INIT;
	if (dovecot_start(&dc, NULL, &err) < 0) {
		fprintf(stderr, "check_write: %s\n", err.data);
		return EXIT_FAILURE;
	}
	buf_free(&err);
	Suite *su = suite_create("write");
	TCase *tc = tcase_create("dovecot");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_expunge_removes_only_that_uid);
	tcase_add_test(tc, test_move_keeps_the_bytes);
	tcase_add_test(tc, test_append_small_and_large);
	tcase_add_test(tc, test_append_over_quota);
	tcase_add_test(tc, test_create_rename_delete);
	tcase_add_test(tc, test_flags_round_trip);
	suite_add_tcase(su, tc);
	int failed = check_run_suite(su);
	dovecot_stop(&dc, NULL);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
