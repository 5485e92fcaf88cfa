/* check_imaplib_login.c: the greeting, LOGIN and AUTHENTICATE.  A greeting
 * cut short or a PREAUTH where TLS is required must end the connection,
 * the password must reach the wire quoted by RFC 3501 and never the debug
 * trace, and a refused login must leave the state unauthenticated. */
#include "config.h"
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "check_imaplib_scene.h"
#include "imap.h"
#include "imaplib.h"
#include "sasl.h"

START_TEST(test_connect_reads_greeting_and_capabilities)
{
	struct scene sc;
	ck_assert_msg(scene_open(&sc, GREETING "EOF\n", NULL) == IMAP_OK, "%s", sc.err.data);
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_NONAUTH);
	ck_assert_str_eq(imap_protocol_version(sc.s), "IMAP4REV1");
	ck_assert(imap_has_cap(sc.s, "STARTTLS"));
	ck_assert_str_eq(imap_welcome(sc.s), "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN ENABLE] ready");
	scene_end(&sc);
}
END_TEST

START_TEST(test_greeting_cut_short_aborts)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S+ * OK IMAP4rev1\nCLOSE\n", NULL), IMAP_ABORT);
	ck_assert_ptr_null(sc.s);
	ck_assert_msg(strstr(sc.err.data, "EOF") != NULL, "got: %s", sc.err.data);
	scene_end(&sc);
}
END_TEST

START_TEST(test_bare_lf_aborts)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S+ * OK IMAP4rev1\\n\nDRAIN\n", NULL), IMAP_ABORT);
	scene_end(&sc);
}
END_TEST

START_TEST(test_bye_greeting_is_an_error)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * BYE go away\nDRAIN\n", NULL), IMAP_ERROR);
	ck_assert_str_eq(sc.err.data, "b'* BYE go away'");
	scene_end(&sc);
}
END_TEST

START_TEST(test_not_imap4_compliant)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * OK hi\nC: <tag0> CAPABILITY\nS: * CAPABILITY FOO\n"
				    "S: <tag0> OK done\nDRAIN\n", NULL), IMAP_ERROR);
	ck_assert_str_eq(sc.err.data, "server not IMAP4 compliant");
	scene_end(&sc);
}
END_TEST

START_TEST(test_preauth_sets_auth_state)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH ready\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_AUTH);
	scene_end(&sc);
}
END_TEST

START_TEST(test_preauth_refused_when_tls_required)
{
	struct scene sc;
	struct imap_opts o = default_opts();
	o.require_tls = true;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH ready\nDRAIN\n", &o), IMAP_ABORT);
	ck_assert_msg(strstr(sc.err.data, "PREAUTH") != NULL, "got: %s", sc.err.data);
	scene_end(&sc);
}
END_TEST

START_TEST(test_login_quotes_password_and_sets_auth)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> LOGIN alice \"se\\\\\"cret\"\n"
				    "S: <tag1> OK [CAPABILITY IMAP4rev1 UIDPLUS] Logged in\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_login(sc.s, "alice", "se\"cret", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'[CAPABILITY IMAP4rev1 UIDPLUS] Logged in'])");
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_AUTH);
	/* the core follows the capability update; imaplib's tuple does not */
	ck_assert(imap_has_cap(sc.s, "UIDPLUS"));
	scene_end(&sc);
}
END_TEST

static void collect_trace(void *ctx, const char *line)
{
	buf_addf(ctx, "%s\n", line);
}

START_TEST(test_debug_trace_never_shows_the_password)
{
	struct scene sc;
	struct buf trace = BUF_INIT;
	struct imap_opts o = default_opts();
	o.debug = 5;
	o.trace = collect_trace;
	o.trace_ctx = &trace;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> LOGIN alice \"hunter2\"\n"
				    "S: <tag1> OK Logged in\n"
				    "C: <tag2> NOOP\n"
				    "S: <tag2> OK done\n"
				    "EOF\n", &o), IMAP_OK);
	ck_assert_int_eq(imap_login(sc.s, "alice", "hunter2", &sc.r), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_OK);
	ck_assert_msg(strstr(trace.data, "NOOP") != NULL, "no trace of the commands: %s", trace.data);
	ck_assert_msg(strstr(trace.data, "LOGIN alice") != NULL, "%s", trace.data);
	ck_assert_msg(strstr(trace.data, "hunter2") == NULL, "password in the trace: %s", trace.data);
	scene_end(&sc);
	buf_free(&trace);
}
END_TEST

START_TEST(test_login_failure_is_an_error)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> LOGIN alice \"wrong\"\n"
				    "S: <tag1> NO [AUTHENTICATIONFAILED] Authentication failed.\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_login(sc.s, "alice", "wrong", &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "b'[AUTHENTICATIONFAILED] Authentication failed.'");
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_NONAUTH);
	scene_end(&sc);
}
END_TEST

START_TEST(test_login_refused_without_tls)
{
	struct scene sc;
	struct imap_opts o = default_opts();
	o.allow_plaintext = false;
	ck_assert_int_eq(scene_open(&sc, GREETING "EOF\n", &o), IMAP_OK);
	ck_assert_int_eq(imap_login(sc.s, "alice", "secret", &sc.r), IMAP_ERROR);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "not encrypted") != NULL, "%s", imap_errmsg(sc.s));
	scene_end(&sc);  /* EOF: nothing was sent */
}
END_TEST

START_TEST(test_logindisabled_is_honoured)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * OK hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 LOGINDISABLED\nS: <tag0> OK done\nEOF\n", NULL),
			 IMAP_OK);
	ck_assert_int_eq(imap_login(sc.s, "alice", "secret", &sc.r), IMAP_ERROR);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "LOGINDISABLED") != NULL, "%s", imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

static int auth_fake(void *ctx, const void *challenge, size_t len, struct buf *resp, bool *cancel)
{
	(void)ctx;
	(void)challenge;
	(void)len;
	(void)cancel;
	buf_addstr(resp, "fake");
	return 0;
}

static int auth_cancel(void *ctx, const void *challenge, size_t len, struct buf *resp, bool *cancel)
{
	(void)ctx;
	(void)challenge;
	(void)len;
	(void)resp;
	*cancel = true;
	return 0;
}

START_TEST(test_authenticate_sends_base64)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> AUTHENTICATE MYAUTH\n"
				    "S: +\n"
				    "C: ZmFrZQ==\n"
				    "S: <tag1> OK FAKEAUTH successful\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_authenticate(sc.s, "myauth", auth_fake, NULL, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'FAKEAUTH successful'])");
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_AUTH);
	scene_end(&sc);
}
END_TEST

START_TEST(test_authenticate_cancel_sends_star)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> AUTHENTICATE MYAUTH\n"
				    "S: +\n"
				    "C: *\n"
				    "S: <tag1> BAD Authentication cancelled\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_authenticate(sc.s, "MYAUTH", auth_cancel, NULL, &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s),
			 "AUTHENTICATE command error: BAD [b'Authentication cancelled']");
	scene_end(&sc);
}
END_TEST

START_TEST(test_authenticate_rejected)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> AUTHENTICATE MYAUTH\n"
				    "S: +\n"
				    "C: ZmFrZQ==\n"
				    "S: <tag1> NO [AUTHENTICATIONFAILED] invalid\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_authenticate(sc.s, "MYAUTH", auth_fake, NULL, &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "[AUTHENTICATIONFAILED] invalid");
	scene_end(&sc);
}
END_TEST

START_TEST(test_login_cram_md5_rfc2195_vector)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> AUTHENTICATE CRAM-MD5\n"
				    "S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\n"
				    "C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\n"
				    "S: <tag1> OK CRAM-MD5 successful\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_login_cram_md5(sc.s, "tim", "tanstaaftanstaaf", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'CRAM-MD5 successful'])");
	scene_end(&sc);
}
END_TEST

void check_imaplib_add_login(TCase *tc)
{
	tcase_add_test(tc, test_connect_reads_greeting_and_capabilities);
	tcase_add_test(tc, test_greeting_cut_short_aborts);
	tcase_add_test(tc, test_bare_lf_aborts);
	tcase_add_test(tc, test_bye_greeting_is_an_error);
	tcase_add_test(tc, test_not_imap4_compliant);
	tcase_add_test(tc, test_preauth_sets_auth_state);
	tcase_add_test(tc, test_preauth_refused_when_tls_required);
	tcase_add_test(tc, test_login_quotes_password_and_sets_auth);
	tcase_add_test(tc, test_login_failure_is_an_error);
	tcase_add_test(tc, test_debug_trace_never_shows_the_password);
	tcase_add_test(tc, test_login_refused_without_tls);
	tcase_add_test(tc, test_logindisabled_is_honoured);
	tcase_add_test(tc, test_authenticate_sends_base64);
	tcase_add_test(tc, test_authenticate_cancel_sends_star);
	tcase_add_test(tc, test_authenticate_rejected);
	tcase_add_test(tc, test_login_cram_md5_rfc2195_vector);
}
