/* check_write.c: the write path's IMAP operations (fs/write.c) against a
 * private Dovecot, every effect checked on a second connection, and against
 * scripted servers for what Dovecot cannot show (no UIDPLUS, no MOVE, a
 * refused COPY, a connection lost in the middle). */
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
#include "mutf7.h"
#include "pool.h"
#include "write.h"

static struct dovecot dc;

/* ---- helpers: the pool under test and a second, independent client ---- */

static struct pool *make_pool(const char *user, const char *port, struct fs_config *cfg)
{
	fakefs_account(cfg, user, port);
	struct buf err = BUF_INIT;
	cfg->connections = 2;
	cfg->timeout_s = 30;
	cfg->debug = getenv("CHECK_WRITE_DEBUG") != NULL;
	struct pool *p;
	ck_assert_msg(pool_new(&p, cfg, &err) == 0, "pool_new: %s", err.data);
	buf_free(&err);
	return p;
}

static struct pool *dovecot_pool(const char *user, struct fs_config *cfg)
{
	char port[16];
	snprintf(port, sizeof port, "%d", dc.imap_port);
	return make_pool(user, port, cfg);
}

static void drop_pool(struct pool *p, struct fs_config *cfg)
{
	pool_free(p);
	url_free(&cfg->url);
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
	ck_assert_int_eq(write_expunge(p, "Exp", v + 1, b, false), -ESTALE);
	ck_assert(fetch_message(s, "Exp", b, NULL, NULL));
	ck_assert_int_eq(write_expunge(p, "Exp", v, b, false), 0);
	ck_assert(!fetch_message(s, "Exp", b, NULL, NULL));
	ck_assert(fetch_message(s, "Exp", a, NULL, NULL));
	check_flags(s, "Exp", c, "\\Deleted", true);
	check_flags(s, "Exp", a, "\\Deleted", false);
	/* once more: nothing left to remove */
	ck_assert_int_eq(write_expunge(p, "Exp", v, b, false), -ENOENT);
	ck_assert(fetch_message(s, "Exp", c, NULL, NULL));
	ck_assert_int_eq(write_expunge(p, "NoSuchBox", v, b, false), -ENOENT);
	drop_pool(p, &cfg);
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
	ck_assert_int_eq(write_move(p, "MvSrc", vs + 7, a, "MvDst", false, &nv, &nu), -ESTALE);
	ck_assert(fetch_message(s, "MvSrc", a, NULL, NULL));
	ck_assert_int_eq(write_move(p, "MvSrc", vs, a, "MvDst", false, &nv, &nu), 0);
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
	ck_assert_int_eq(write_move(p, "MvSrc", vs, b, "NoSuchBox", false, &nv, &nu), -ENOENT);
	ck_assert(fetch_message(s, "MvSrc", b, NULL, NULL));
	/* a UID that is not there */
	ck_assert_int_eq(write_move(p, "MvSrc", vs, a, "MvDst", false, &nv, &nu), -ENOENT);
	buf_free(&body);
	drop_pool(p, &cfg);
	imap_close(s);
}
END_TEST

static void append_and_compare(struct pool *p, struct imap *s, const char *mailbox,
			       const char *msg, size_t len)
{
	int fd = temp_file(msg, len);
	const time_t date = 1600000000;  /* 13-Sep-2020 12:26:40 UTC */
	uint32_t nv = 0, nu = 0;
	int rc = write_append(p, mailbox, fd, len, date, "\\Seen $Label1", &nv, &nu);
	if (rc != 0) {
		struct buf log = BUF_INIT;
		dovecot_log_tail(&dc, 2000, &log);
		ck_abort_msg("write_append of %zu bytes: %d; Dovecot's log:\n%s", len, rc, log.data);
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
	ck_assert_int_eq(write_append(p, "App", fd, strlen(msg_b), 0, NULL, NULL, NULL), 0);
	close(fd);
	fd = temp_file(msg_b, strlen(msg_b));
	ck_assert_int_eq(write_append(p, "NoSuchBox", fd, strlen(msg_b), 0, NULL, NULL, NULL),
			 -ENOENT);
	ck_assert_int_eq(write_append(p, "App", fd, strlen(msg_b), 0, "(bad", NULL, NULL), -EINVAL);
	close(fd);
	buf_free(&m);
	drop_pool(p, &cfg);
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
	ck_assert_int_eq(write_append(p, "INBOX", fd, m.len, 0, NULL, &nv, &nu), -EDQUOT);
	ck_assert_uint_eq(nu, 0);
	close(fd);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, "INBOX", "(MESSAGES)", &r), 0);
	ck_assert_uint_eq(number_after(r.items[0].text.data, "MESSAGES "), 0);
	imap_result_free(&r);
	buf_free(&m);
	drop_pool(p, &cfg);
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
	ck_assert_int_eq(write_create(p, name.data), 0);
	ck_assert(mailbox_exists(s, name.data));
	ck_assert_int_eq(write_create(p, name.data), -EEXIST);
	/* keep it selected on the pool: rename and delete must still work */
	uint32_t uid = seed(s, name.data, msg_a, NULL);
	struct buf flags = BUF_INIT;
	ck_assert_int_eq(write_fetch_flags(p, name.data, 0, uid, &flags, NULL), 0);
	ck_assert_int_eq(write_rename(p, name.data, renamed.data), 0);
	ck_assert(!mailbox_exists(s, name.data));
	ck_assert(mailbox_exists(s, renamed.data));
	ck_assert(fetch_message(s, renamed.data, uid, NULL, NULL));
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_unselect(s, &r), 0);
	imap_result_free(&r);
	ck_assert_int_eq(write_rename(p, name.data, "Elsewhere"), -ENOENT);
	ck_assert_int_eq(write_fetch_flags(p, renamed.data, 0, uid, &flags, NULL), 0);
	/* DELETE would take the message along: only an empty mailbox goes */
	ck_assert_int_eq(write_delete(p, renamed.data), -ENOTEMPTY);
	ck_assert(mailbox_exists(s, renamed.data));
	ck_assert_int_eq(write_expunge(p, renamed.data, 0, uid, false), 0);
	ck_assert_int_eq(write_delete(p, renamed.data), 0);
	ck_assert(!mailbox_exists(s, renamed.data));
	ck_assert_int_eq(write_delete(p, renamed.data), -ENOENT);
	/* CR LF go in a literal, so they cannot end the command and start
	 * another: the server refuses the name and Keep stays */
	ck_assert_int_eq(write_create(p, "Keep"), 0);
	ck_assert_int_lt(write_create(p, "bad\r\nX1 DELETE Keep"), 0);
	ck_assert(mailbox_exists(s, "Keep"));
	ck_assert(!mailbox_exists(s, "bad"));
	buf_free(&flags);
	buf_free(&name);
	buf_free(&renamed);
	buf_free(&err);
	drop_pool(p, &cfg);
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
	ck_assert_int_eq(write_fetch_flags(p, "Flg", v, a, &flags, &m0), 0);
	ck_assert_str_eq(flags.data, "\\Seen");
	ck_assert_uint_ne(m0, 0);
	ck_assert_int_eq(write_store_flags(p, "Flg", v, a, "\\Flagged $Label1", 0), 0);
	ck_assert_int_eq(write_fetch_flags(p, "Flg", v, a, &flags, &m1), 0);
	ck_assert_msg(strstr(flags.data, "\\Flagged") && strstr(flags.data, "$Label1") &&
		      !strstr(flags.data, "\\Seen"), "%s", flags.data);
	ck_assert_uint_gt(m1, m0);
	check_flags(s, "Flg", a, "$Label1", true);
	check_flags(s, "Flg", a, "\\Seen", false);
	/* conditional: refused when the message changed after m0 */
	ck_assert_int_eq(write_store_flags(p, "Flg", v, a, "\\Answered", m0), -EAGAIN);
	check_flags(s, "Flg", a, "\\Answered", false);
	ck_assert_int_eq(write_store_flags(p, "Flg", v, a, "\\Answered", m1), 0);
	check_flags(s, "Flg", a, "\\Answered", true);
	/* clearing every flag */
	ck_assert_int_eq(write_store_flags(p, "Flg", v, a, "", 0), 0);
	ck_assert_int_eq(write_fetch_flags(p, "Flg", v, a, &flags, NULL), 0);
	ck_assert_str_eq(flags.data, "");
	ck_assert_int_eq(write_store_flags(p, "Flg", v, a + 100, "\\Seen", 0), -ENOENT);
	ck_assert_int_eq(write_fetch_flags(p, "Flg", v, a + 100, &flags, NULL), -ENOENT);
	ck_assert_int_eq(write_store_flags(p, "Flg", v + 1, a, "\\Seen", 0), -ESTALE);
	ck_assert_int_eq(write_fetch_flags(p, "Flg", v + 1, a, &flags, NULL), -ESTALE);
	ck_assert_int_eq(write_store_flags(p, "Flg", v, a, "\\Seen)", 0), -EINVAL);
	buf_free(&flags);
	drop_pool(p, &cfg);
	imap_close(s);
}
END_TEST

START_TEST(test_errno_mapping)
{
	ck_assert_int_eq(write_status_errno("NO", "NONEXISTENT"), -ENOENT);
	ck_assert_int_eq(write_status_errno("NO", "ALREADYEXISTS"), -EEXIST);
	ck_assert_int_eq(write_status_errno("NO", "NOPERM"), -EACCES);
	ck_assert_int_eq(write_status_errno("NO", "OVERQUOTA"), -EDQUOT);
	ck_assert_int_eq(write_status_errno("NO", "READ-ONLY"), -EROFS);
	ck_assert_int_eq(write_status_errno("NO", "INUSE"), -EBUSY);
	ck_assert_int_eq(write_status_errno("NO", "CANNOT"), -EIO);
	ck_assert_int_eq(write_status_errno("NO", NULL), -EIO);
	ck_assert_int_eq(write_status_errno("BAD", "NONEXISTENT"), -EIO);
}
END_TEST

/* ---- against scripted servers ---- */

#define FAKE_SELECT(tag, box)                              \
	"C: <" tag "> SELECT " box "\n"                    \
	"S: * 3 EXISTS\n"                                  \
	"S: * OK [UIDVALIDITY 5] ok\n"                     \
	"S: * OK [UIDNEXT 9] ok\n"                         \
	"S: <" tag "> OK [READ-WRITE] selected\n"

static struct pool *fake_pool(struct fake_server *f, struct fs_config *cfg)
{
	struct pool *p = make_pool("alice", fake_port_str(f), cfg);
	return p;
}

/* Without UIDPLUS nothing is sent: the script's next line is LOGOUT. */
START_TEST(test_fake_no_uidplus_refuses)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("MOVE") FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 7, false), -EOPNOTSUPP);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
	f = fakefs_server_start(FAKE_LOGIN("") FAKE_LOGOUT, 0);
	p = fake_pool(f, &cfg);
	uint32_t nv, nu;
	ck_assert_int_eq(write_move(p, "INBOX", 5, 7, "Dst", false, &nv, &nu), -EOPNOTSUPP);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Allowed plainly: STORE, EXPUNGE, then a check that the UID is gone. */
START_TEST(test_fake_plain_expunge_when_allowed)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS (\\\\Seen))\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> EXPUNGE\n"
		"S: * 2 EXPUNGE\n"
		"S: <tag5> OK expunged\n"
		"C: <tag6> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag6> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 7, true), 0);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* GNU mailutils answers a plain EXPUNGE with "* 2 EXPUNGED", a word no
 * standard has: the message that was there before our STORE and is gone
 * afterwards was removed, whatever the server called it. */
START_TEST(test_fake_plain_expunge_mailutils_words)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS (\\\\Seen))\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> EXPUNGE\n"
		"S: * 2 EXPUNGED\n"
		"S: <tag5> OK expunged\n"
		"C: <tag6> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag6> OK searched\n"
		/* a UID that was not there before either: ENOENT still */
		"C: <tag7> UID FETCH 8 (FLAGS)\n"
		"C: <tag8> UID STORE 8 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag7> OK fetched\n"
		"S: <tag8> OK stored\n"
		"C: <tag10> EXPUNGE\n"
		"S: <tag10> OK expunged\n"
		"C: <tag11> UID SEARCH UID 8\n"
		"S: * SEARCH\n"
		"S: <tag11> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 7, true), 0);
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 8, true), -ENOENT);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A message appended through another connection a moment ago is not yet
 * in this session's view (Dovecot shows new mail at the end of a command):
 * the FETCH does not name it and the STORE and EXPUNGE miss it, then the
 * SEARCH sees it.  The expunge is made once more, now that it is seen. */
START_TEST(test_fake_expunge_of_mail_new_to_the_session)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 9 (FLAGS)\n"
		"C: <tag4> UID STORE 9 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> UID EXPUNGE 9\n"
		"S: * 4 EXISTS\n"
		"S: <tag5> OK expunged\n"
		"C: <tag6> UID SEARCH UID 9\n"
		"S: * SEARCH 9\n"
		"S: <tag6> OK searched\n"
		"C: <tag7> UID FETCH 9 (FLAGS)\n"
		"C: <tag8> UID STORE 9 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 4 FETCH (UID 9 FLAGS ())\n"
		"S: <tag7> OK fetched\n"
		"S: <tag8> OK stored\n"
		"C: <tag10> UID EXPUNGE 9\n"
		"S: * 4 EXPUNGE\n"
		"S: <tag10> OK expunged\n"
		"C: <tag11> UID SEARCH UID 9\n"
		"S: * SEARCH\n"
		"S: <tag11> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 9, false), 0);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

struct create_call {
	struct pool *p;
	const char *mailbox;
	int rc;
};

static void call_create(void *ctx)
{
	struct create_call *c = ctx;
	c->rc = write_create(c->p, c->mailbox);
}

/* Cyrus and Courier refuse a CREATE outside the user's namespaces with a
 * NO that has no response code: that is a refusal (EACCES, the server's
 * words in the log), not an I/O error; one for a name that exists is
 * EEXIST. */
START_TEST(test_fake_create_refused_without_code)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("")
		"C: <tag2> CREATE Outside\n"
		"S: <tag2> NO Permission denied\n"
		"C: <tag3> LIST \"\" Outside\n"
		"S: <tag3> OK listed\n"
		"C: <tag4> CREATE There\n"
		"S: <tag4> NO Mailbox already exists\n"
		"C: <tag5> LIST \"\" There\n"
		"S: * LIST () \".\" There\n"
		"S: <tag5> OK listed\n"
		"C: <tag6> CREATE Unsure\n"
		"S: <tag6> NO Permission denied\n"
		"C: <tag7> LIST \"\" Unsure\n"
		"S: <tag7> NO LIST not now\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	struct create_call c = { p, "Outside", 0 };
	struct buf log = BUF_INIT;
	ck_assert_int_eq(os_stderr_of(call_create, &c, &log, NULL), 0);
	ck_assert_int_eq(c.rc, -EACCES);
	ck_assert_msg(strstr(log.data, "CREATE Outside: NO Permission denied") != NULL, "log: %s",
		      log.data);
	ck_assert_int_eq(write_create(p, "There"), -EEXIST);
	/* the LIST that would tell failed: still the refusal, not EEXIST */
	ck_assert_int_eq(write_create(p, "Unsure"), -EACCES);
	buf_free(&log);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A refused expunge takes our \Deleted away again (another client's
 * EXPUNGE would otherwise remove the message), but never one that was
 * there before. */
START_TEST(test_fake_refused_expunge_unmarks)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS (\\\\Seen))\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> UID EXPUNGE 7\n"
		"S: <tag5> NO [NOPERM] no expunge right\n"
		"C: <tag6> UID STORE 7 -FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag6> OK stored\n"
		"C: <tag10> UID FETCH 8 (FLAGS)\n"
		"C: <tag11> UID STORE 8 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 3 FETCH (UID 8 FLAGS (\\\\Deleted))\n"
		"S: <tag10> OK fetched\n"
		"S: <tag11> OK stored\n"
		"C: <tag12> UID EXPUNGE 8\n"
		"S: <tag12> NO [NOPERM] no expunge right\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 7, false), -EACCES);
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 8, false), -EACCES);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Without MOVE: COPY, then STORE \Deleted, then UID EXPUNGE, in order. */
START_TEST(test_fake_move_without_move)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "Src")
		"C: <tag3> UID COPY 7 Dst\n"
		"S: <tag3> OK [COPYUID 11 7 4] copied\n"
		"C: <tag4> UID FETCH 7 (FLAGS)\n"
		"C: <tag5> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS ())\n"
		"S: <tag4> OK fetched\n"
		"S: <tag5> OK stored\n"
		"C: <tag6> UID EXPUNGE 7\n"
		"S: * 2 EXPUNGE\n"
		"S: <tag6> OK expunged\n"
		"C: <tag7> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag7> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	uint32_t nv = 0, nu = 0;
	ck_assert_int_eq(write_move(p, "Src", 5, 7, "Dst", false, &nv, &nu), 0);
	ck_assert_uint_eq(nv, 11);
	ck_assert_uint_eq(nu, 4);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A refused COPY deletes nothing: LOGOUT follows it. */
START_TEST(test_fake_copy_refused_deletes_nothing)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "Src")
		"C: <tag3> UID COPY 7 Dst\n"
		"S: <tag3> NO [OVERQUOTA] quota exceeded\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	uint32_t nv = 1, nu = 1;
	ck_assert_int_eq(write_move(p, "Src", 5, 7, "Dst", false, &nv, &nu), -EDQUOT);
	ck_assert_uint_eq(nu, 0);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* MOVE with COPYUID in an untagged OK before the tagged one. */
START_TEST(test_fake_move_untagged_copyuid)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS MOVE")
		FAKE_SELECT("tag2", "Src")
		"C: <tag3> UID MOVE 7 \"Dst Box\"\n"
		"S: * OK [COPYUID 12 7 40] moved\n"
		"S: * 2 EXPUNGE\n"
		"S: <tag3> OK done\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	uint32_t nv = 0, nu = 0;
	ck_assert_int_eq(write_move(p, "Src", 5, 7, "Dst Box", false, &nv, &nu), 0);
	ck_assert_uint_eq(nv, 12);
	ck_assert_uint_eq(nu, 40);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Mailbox names go as RFC 3501 astrings decided by their bytes: a name
 * that looks quoted or parenthesized is quoted like any other (imaplib's
 * rule sent '"Proj"' as it is, which the server read as Proj), wildcards
 * and NIL are quoted, 8-bit and CR LF go in literals, synchronizing
 * without LITERAL+ (after the server's "+"). */
START_TEST(test_fake_names_by_their_bytes)
{
	/* in a script, "\\" stands for one backslash on the wire */
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		"C: <tag2> CREATE \"\\\\\"Proj\\\\\"\"\n"
		"S: <tag2> OK created\n"
		"C: <tag3> CREATE \"\\\\\"a\\\\\" \\\\\"b\\\\\"\"\n"
		"S: <tag3> OK created\n"
		"C: <tag4> CREATE \"(X)\"\n"
		"S: <tag4> OK created\n"
		"C: <tag5> CREATE \"X%\"\n"
		"S: <tag5> OK created\n"
		"C: <tag6> CREATE \"X*\"\n"
		"S: <tag6> OK created\n"
		"C: <tag7> CREATE \"{5}\"\n"
		"S: <tag7> OK created\n"
		"C: <tag8> CREATE \"NIL\"\n"
		"S: <tag8> OK created\n"
		"C: <tag9> CREATE \"a\\\\\\\\b\"\n"
		"S: <tag9> OK created\n"
		"C: <tag10> CREATE \"a b\"\n"
		"S: <tag10> OK created\n"
		"C: <tag11> CREATE \"x]y\"\n"
		"S: <tag11> OK created\n"
		"C: <tag12> CREATE {6}\n"
		"S: + go on\n"
		"C-LITERAL 6 sha256:dc68a451a69ed32a88043406dc6b8c6cc613d83ace42aab6fbbd2cc871e7618e\n"
		"C: \n"
		"S: <tag12> OK created\n"
		"C: <tag13> RENAME Proj \"\\\\\"Proj\\\\\"\"\n"
		"S: <tag13> NO [ALREADYEXISTS] exists\n"
		"C: <tag14> LOGOUT\n"
		"S: * BYE bye\n"
		"S: <tag14> OK out\n"
		"EOF\n", 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	static const char *const names[] = {
		"\"Proj\"", "\"a\" \"b\"", "(X)", "X%", "X*", "{5}", "NIL", "a\\b", "a b", "x]y",
		"Gr\xc3\xbc\xc3\x9f",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		ck_assert_msg(write_create(p, names[i]) == 0, "%s", names[i]);
	ck_assert_int_eq(write_rename(p, "Proj", "\"Proj\""), -EEXIST);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A connection lost in the middle of an expunge: the idempotent steps run
 * again on a new connection.  A lost APPEND is not repeated: the next
 * command on the new connection is the CREATE that follows it. */
START_TEST(test_fake_lost_connection)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS LITERAL+")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"CLOSE\n"
		"ACCEPT\n"
		FAKE_LOGIN("UIDPLUS LITERAL+")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> UID EXPUNGE 7\n"
		"S: <tag5> OK nothing left\n"
		"C: <tag6> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag6> OK searched\n"
		"C: <tag7> APPEND INBOX {5+}\n"
		"C-LITERAL 5 m\n"
		"C: \n"
		"CLOSE\n"
		"ACCEPT\n"
		FAKE_LOGIN("UIDPLUS LITERAL+")
		"C: <tag8> CREATE New\n"
		"S: <tag8> OK created\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	/* the retry found nothing to expunge: the lost attempt did it */
	ck_assert_int_eq(write_expunge(p, "INBOX", 5, 7, false), 0);
	int fd = temp_file("mmmmm", 5);
	ck_assert_int_eq(write_append(p, "INBOX", fd, 5, 0, NULL, NULL, NULL), -EIO);
	close(fd);
	ck_assert_int_eq(write_create(p, "New"), 0);
	drop_pool(p, &cfg);
	fakefs_server_finish(f);
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
	tcase_add_test(tc, test_errno_mapping);
	suite_add_tcase(su, tc);
	TCase *tf = tcase_create("fake");
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_fake_no_uidplus_refuses);
	tcase_add_test(tf, test_fake_plain_expunge_when_allowed);
	tcase_add_test(tf, test_fake_plain_expunge_mailutils_words);
	tcase_add_test(tf, test_fake_expunge_of_mail_new_to_the_session);
	tcase_add_test(tf, test_fake_create_refused_without_code);
	tcase_add_test(tf, test_fake_move_without_move);
	tcase_add_test(tf, test_fake_refused_expunge_unmarks);
	tcase_add_test(tf, test_fake_copy_refused_deletes_nothing);
	tcase_add_test(tf, test_fake_move_untagged_copyuid);
	tcase_add_test(tf, test_fake_lost_connection);
	tcase_add_test(tf, test_fake_names_by_their_bytes);
	suite_add_tcase(su, tf);
	int failed = check_run_suite(su);
	dovecot_stop(&dc, NULL);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
