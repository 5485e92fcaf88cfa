/* check_dovecot.c: the protocol core against a real, private Dovecot:
 * plain and implicit TLS, a UTF-8 folder name round trip, a 20 MiB APPEND
 * streamed from a file and read back byte for byte on a second connection,
 * pipelined fetches, SASL, quota refusal, and a kicked session. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "harness.h"
#include "imap.h"
#include "imaplib.h"
#include "mutf7.h"
#include "sasl.h"
#include "xalloc.h"

static struct dovecot dc;


static void stop_dovecot(void)
{
	struct buf err = BUF_INIT;
	if (dovecot_stop(&dc, &err) < 0)
		fprintf(stderr, "dovecot_stop: %s\n", err.data);
	buf_free(&err);
}

static char port_imap[16], port_imaps[16];

/* A logged-in connection: plain (LOGIN allowed explicitly) or implicit TLS. */
static struct imap *login(const char *user, bool tls)
{
	/* whole messages are read into memory here, as imaplib does */
	struct imap_opts o = { .timeout_ms = 20000, .allow_plaintext = !tls,
			       .limits = { .max_mem_literal = (size_t)256 << 20 } };
	o.tls.cafile = dc.certs.cafile;
	o.tls.servername = "localhost";
	struct buf err = BUF_INIT;
	struct imap *s;
	snprintf(port_imap, sizeof port_imap, "%d", dc.imap_port);
	snprintf(port_imaps, sizeof port_imaps, "%d", dc.imaps_port);
	int rc = tls ? imap_open_ssl(&s, "127.0.0.1", port_imaps, &o, &err)
		     : imap_open(&s, "127.0.0.1", port_imap, &o, &err);
	ck_assert_msg(rc == IMAP_OK, "connect: %s", err.data);
	struct imap_result r = { .n = 0 };
	ck_assert_msg(imap_login(s, user, "secret", &r) == IMAP_OK, "login: %s", imap_errmsg(s));
	imap_result_free(&r);
	buf_free(&err);
	return s;
}

static bool result_has(const struct imap_result *r, const char *needle)
{
	for (size_t i = 0; i < r->n; i++)
		if (strstr(r->items[i].text.data, needle))
			return true;
	return false;
}

START_TEST(test_list_plain_and_tls)
{
	for (int tls = 0; tls < 2; tls++) {
		struct imap *s = login("alice", tls);
		ck_assert(imap_is_tls(s) == (tls == 1));
		struct imap_result r = { .n = 0 };
		ck_assert_int_eq(imap_list(s, NULL, NULL, &r), IMAP_OK);
		ck_assert_str_eq(r.type, "OK");
		ck_assert(result_has(&r, "Reisen.Z&APw-rich"));
		ck_assert(result_has(&r, "&ZeVnLIqe-"));
		ck_assert(result_has(&r, "INBOX"));
		ck_assert_int_eq(imap_logout(s, &r), IMAP_OK);
		ck_assert_str_eq(r.type, "BYE");
		imap_result_free(&r);
		imap_close(s);
	}
}
END_TEST

START_TEST(test_utf8_folder_round_trip)
{
	const char *name = "Übung & Prüfung 日本語 ✉";
	struct buf m = BUF_INIT, err = BUF_INIT, back = BUF_INIT, quoted = BUF_INIT;
	ck_assert_int_eq(mutf7_from_utf8(name, strlen(name), &m, &err), 0);
	struct imap *s = login("alice", true);
	struct imap_result r = { .n = 0 };
	buf_addf(&quoted, "\"%s\"", m.data);
	ck_assert_int_eq(imap_create(s, m.data, &r), IMAP_OK);
	ck_assert_str_eq(r.type, "OK");
	ck_assert_int_eq(imap_list(s, "\"\"", quoted.data, &r), IMAP_OK);
	ck_assert_uint_eq(r.n, 1);
	/* (\HasNoChildren) "." "<name>": the name is the last quoted string */
	const char *line = r.items[0].text.data;
	const char *end = strrchr(line, '"');
	ck_assert_ptr_nonnull(end);
	const char *start = end - 1;
	while (start > line && *start != '"')
		start--;
	ck_assert_int_eq(mutf7_to_utf8(start + 1, (size_t)(end - start - 1), &back, &err), 0);
	ck_assert_str_eq(back.data, name);
	ck_assert_int_eq(imap_delete(s, m.data, &r), IMAP_OK);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	imap_close(s);
	buf_free(&m);
	buf_free(&err);
	buf_free(&back);
	buf_free(&quoted);
}
END_TEST

/* A sink that compares streamed bytes with the file they were sent from. */
struct compare_sink {
	int fd;
	uint64_t seen;
	bool equal;
	int done_calls;
};

static int compare_write(void *ctx, const void *p, size_t n)
{
	struct compare_sink *c = ctx;
	char *expect = xmalloc(n);
	ssize_t got = pread(c->fd, expect, n, (off_t)c->seen);
	if (got != (ssize_t)n || memcmp(expect, p, n))
		c->equal = false;
	free(expect);
	c->seen += n;
	return 0;
}

static void compare_done(void *ctx, bool ok)
{
	struct compare_sink *c = ctx;
	c->done_calls++;
	if (!ok)
		c->equal = false;
}

static bool compare_hook(void *ctx, const struct imap_response *so_far, uint64_t size,
			 struct imap_sink *sink)
{
	(void)so_far;
	(void)size;
	sink->write = compare_write;
	sink->done = compare_done;
	sink->ctx = ctx;
	return true;
}

static int make_big_message(size_t size)
{
	char path[] = "/tmp/imapfs-big-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	struct buf b = BUF_INIT;
	buf_addstr(&b, "From: alice@example.org\r\nSubject: big\r\n\r\n");
	unsigned x = 12345;
	while (b.len < size) {
		/* printable pseudo-random lines, CRLF-terminated */
		for (int i = 0; i < 76; i++) {
			x = x * 1103515245u + 12345u;
			buf_addch(&b, (char)('!' + (x >> 16) % 90));
		}
		buf_add(&b, "\r\n", 2);
	}
	buf_truncate(&b, size - 2);
	buf_add(&b, "\r\n", 2);
	ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	buf_free(&b);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

START_TEST(test_append_20mib_streamed_and_verified_elsewhere)
{
	const size_t size = 20u << 20;
	int fd = make_big_message(size);
	struct imap *s = login("alice", true);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_create(s, "Big", &r), IMAP_OK);
	struct imap_cmd *c = imap_cmd_new("APPEND");
	imap_cmd_add(c, " Big (\\Seen)");
	imap_cmd_add_literal_fd(c, fd, size);
	ck_assert_int_eq(imap_submit(s, c), IMAP_OK);
	ck_assert_int_eq(imap_wait(s, c), IMAP_OK);
	ck_assert_msg(imap_cmd_ok(c), "APPEND: %s %s", imap_cmd_status(c), imap_cmd_text(c));
	ck_assert_str_eq(imap_cmd_code(c), "APPENDUID");
	imap_cmd_free(c);

	/* A second connection reads it back, streamed, compared byte by byte. */
	struct imap *s2 = login("alice", false);
	struct compare_sink cmp = { fd, 0, true, 0 };
	ck_assert_int_eq(imap_select(s2, "Big", true, &r), IMAP_OK);
	imap_set_literal_hook(s2, compare_hook, &cmp);
	c = imap_cmd_new("UID FETCH");
	imap_cmd_add(c, " 1 (BODY.PEEK[])");
	ck_assert_int_eq(imap_submit(s2, c), IMAP_OK);
	ck_assert_int_eq(imap_wait(s2, c), IMAP_OK);
	ck_assert(imap_cmd_ok(c));
	imap_cmd_free(c);
	ck_assert_uint_eq(cmp.seen, size);
	ck_assert(cmp.equal);
	ck_assert_int_eq(cmp.done_calls, 1);
	imap_set_literal_hook(s2, NULL, NULL);
	ck_assert_int_eq(imap_delete(s, "Big", &r), IMAP_OK);
	imap_result_free(&r);
	imap_close(s2);
	imap_close(s);
	close(fd);
}
END_TEST

static int fetched;
static void count_fetch(void *ctx, struct imap *s, const struct imap_response *raw,
			const struct imap_resp *r)
{
	(void)ctx;
	(void)s;
	(void)raw;
	if (r && !strcmp(r->name, "FETCH"))
		fetched++;
}

START_TEST(test_pipelined_fetches)
{
	struct imap *s = login("alice", false);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, "INBOX", true, &r), IMAP_OK);
	unsigned long exists = strtoul(r.items[0].text.data, NULL, 10);
	ck_assert_uint_gt(exists, 50);
	imap_result_free(&r);
	imap_set_untagged_handler(s, count_fetch, NULL);
	fetched = 0;
	struct imap_cmd **cmds = xcalloc(exists, sizeof *cmds);
	for (unsigned long i = 0; i < exists; i++) {
		cmds[i] = imap_cmd_new("UID FETCH");
		imap_cmd_addf(cmds[i], " %lu (UID RFC822.SIZE BODY.PEEK[])", i + 1);
		ck_assert_int_eq(imap_submit(s, cmds[i]), IMAP_OK);
	}
	ck_assert_int_eq(imap_wait_all(s), IMAP_OK);
	for (unsigned long i = 0; i < exists; i++) {
		ck_assert(imap_cmd_ok(cmds[i]));
		imap_cmd_free(cmds[i]);
	}
	free(cmds);
	ck_assert_int_eq(fetched, (int)exists);
	imap_close(s);
}
END_TEST

START_TEST(test_sasl_plain_and_cram_md5)
{
	static const char *const mechs[] = { "PLAIN", "LOGIN", "CRAM-MD5" };
	for (size_t i = 0; i < 3; i++) {
		struct imap_opts o = { .timeout_ms = 20000, .allow_plaintext = true };
		struct buf err = BUF_INIT;
		struct imap *s;
		snprintf(port_imap, sizeof port_imap, "%d", dc.imap_port);
		ck_assert_int_eq(imap_open(&s, "127.0.0.1", port_imap, &o, &err), IMAP_OK);
		struct sasl *a = sasl_new(mechs[i], "alice", "secret", &err);
		ck_assert_ptr_nonnull(a);
		struct imap_result r = { .n = 0 };
		ck_assert_msg(imap_authenticate(s, mechs[i], sasl_step, a, &r) == IMAP_OK, "%s: %s",
			      mechs[i], imap_errmsg(s));
		ck_assert_int_eq(imap_get_state(s), IMAP_STATE_AUTH);
		sasl_free(a);
		a = sasl_new(mechs[i], "alice", "wrong", &err);
		imap_result_free(&r);
		imap_close(s);
		ck_assert_int_eq(imap_open(&s, "127.0.0.1", port_imap, &o, &err), IMAP_OK);
		ck_assert_int_eq(imap_authenticate(s, mechs[i], sasl_step, a, &r), IMAP_ERROR);
		ck_assert_int_eq(imap_get_state(s), IMAP_STATE_NONAUTH);
		sasl_free(a);
		imap_result_free(&r);
		imap_close(s);
		buf_free(&err);
	}
}
END_TEST

START_TEST(test_quota_refuses_append)
{
	struct imap *s = login("tiny", false);
	struct imap_result r = { .n = 0 };
	char msg[8192];
	memset(msg, 'q', sizeof msg);
	memcpy(msg, "Subject: too big\r\n\r\n", 20);
	ck_assert_int_eq(imap_append(s, "INBOX", NULL, NULL, msg, sizeof msg, &r), IMAP_OK);
	ck_assert_str_eq(r.type, "NO");
	ck_assert_msg(strstr(r.items[0].text.data, "OVERQUOTA") != NULL, "%s", r.items[0].text.data);
	ck_assert_int_eq(imap_getquotaroot(s, "INBOX", &r), IMAP_OK);
	ck_assert_uint_eq(r.n, 2);
	ck_assert(r.items[1].is_list);
	ck_assert_msg(strstr(r.items[1].sub[0].text.data, "STORAGE 0 2") != NULL, "%s",
		      r.items[1].sub[0].text.data);
	imap_result_free(&r);
	imap_close(s);
}
END_TEST

START_TEST(test_idle_sees_an_append_from_elsewhere)
{
	struct imap *s = login("alice", false), *other = login("alice", true);
	struct imap_result r = { .n = 0 }, r2 = { .n = 0 };
	ck_assert_int_eq(imap_create(s, "Idle", &r), IMAP_OK);
	ck_assert_int_eq(imap_select(s, "Idle", false, &r), IMAP_OK);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {  /* the other client appends while the first idles */
		usleep(300000);
		_exit(imap_append(other, "Idle", NULL, NULL, "Subject: hi\r\n\r\nx\r\n", 19, &r2) == 0 &&
		      !strcmp(r2.type, "OK") ? 0 : 1);
	}
	ck_assert_int_eq(imap_idle_collect(s, 2000, &r), IMAP_OK);
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	bool exists = false;
	for (size_t i = 0; i < r.n; i++)
		if (!strcmp(r.items[i].sub[0].text.data, "EXISTS") && !strcmp(r.items[i].sub[1].text.data, "1"))
			exists = true;
	ck_assert_msg(exists, "no * 1 EXISTS during IDLE");
	ck_assert_int_eq(imap_close_mailbox(s, &r), IMAP_OK);
	ck_assert_int_eq(imap_delete(s, "Idle", &r), IMAP_OK);
	imap_result_free(&r);
	imap_close(s);
	imap_close(other);
}
END_TEST

START_TEST(test_kicked_session_aborts_cleanly)
{
	struct imap *s = login("bob", false);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_noop(s, &r), IMAP_OK);
	struct buf err = BUF_INIT;
	ck_assert_msg(dovecot_kick(&dc, "bob", &err) == 0, "%s", err.data);
	int rc = imap_noop(s, &r);
	ck_assert_int_eq(rc, IMAP_ABORT);
	/* and the connection stays failed, quickly */
	ck_assert_int_eq(imap_noop(s, &r), IMAP_ABORT);
	imap_result_free(&r);
	imap_close(s);
	buf_free(&err);
}
END_TEST

int main(void)
{
	dovecot_require_or_skip("check_dovecot");
	dovecot_start_demo_or_exit(&dc, "check_dovecot");
	Suite *su = suite_create("dovecot");
	TCase *tc = tcase_create("proto");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_list_plain_and_tls);
	tcase_add_test(tc, test_utf8_folder_round_trip);
	tcase_add_test(tc, test_append_20mib_streamed_and_verified_elsewhere);
	tcase_add_test(tc, test_pipelined_fetches);
	tcase_add_test(tc, test_sasl_plain_and_cram_md5);
	tcase_add_test(tc, test_quota_refuses_append);
	tcase_add_test(tc, test_idle_sees_an_append_from_elsewhere);
	tcase_add_test(tc, test_kicked_session_aborts_cleanly);
	suite_add_tcase(su, tc);
	int failed = check_run_suite(su);
	stop_dovecot();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
