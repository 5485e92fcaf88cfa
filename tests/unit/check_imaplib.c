/* check_imaplib.c: the imaplib layer and the pipelined core against scripted
 * fake servers: CPython's test_imaplib scenarios ported to C, plus what a
 * real server cannot be made to do (STARTTLS injection, PREAUTH downgrade,
 * cut-short greetings).  Every script must run to its end exactly: the wire
 * bytes are asserted, not just the results. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "clock.h"
#include "fake.h"
#include "imap.h"
#include "imaplib.h"
#include "sasl.h"

#define GREETING                                                   \
	"S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN ENABLE] ready\n" \
	"C: <tag0> CAPABILITY\n"                                     \
	"S: * CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=CRAM-MD5 ENABLE STARTTLS\n" \
	"S: <tag0> OK CAPABILITY completed\n"

struct scene {
	struct fake_server *fake;
	struct imap *s;
	struct imap_result r;
	struct buf err;
	struct test_certs certs;
	char certdir[64];
};

static struct imap_opts default_opts(void)
{
	struct imap_opts o = { .timeout_ms = 5000, .allow_plaintext = true };
	return o;
}

static void scene_fake(struct scene *sc, const char *script, const struct fake_opts *fo)
{
	memset(sc, 0, sizeof *sc);
	buf_init(&sc->err);
	sc->fake = fake_start(script, fo, &sc->err);
	ck_assert_msg(sc->fake != NULL, "fake_start: %s", sc->err.data);
}

/* Starts the fake and connects; returns imap_open's result. */
static int scene_open(struct scene *sc, const char *script, const struct imap_opts *o)
{
	scene_fake(sc, script, NULL);
	struct imap_opts opts = o ? *o : default_opts();
	return imap_open(&sc->s, "127.0.0.1", fake_port_str(sc->fake), &opts, &sc->err);
}

/* Closes the client and requires the script to have run exactly, or (with
 * fake_failure) the fake server to have failed saying so. */
static void scene_end_with(struct scene *sc, const char *fake_failure)
{
	imap_result_free(&sc->r);
	imap_close(sc->s);
	sc->s = NULL;
	struct buf ferr = BUF_INIT;
	int rc = fake_finish(sc->fake, &ferr);
	if (fake_failure)
		ck_assert_msg(rc < 0 && strstr(ferr.data, fake_failure), "fake server: %s", ferr.data);
	else
		ck_assert_msg(rc == 0, "fake server: %s", ferr.data);
	buf_free(&ferr);
	buf_free(&sc->err);
	if (sc->certdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", sc->certdir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

static void scene_end(struct scene *sc)
{
	scene_end_with(sc, NULL);
}

static const char *repr(struct scene *sc)
{
	static struct buf out;
	buf_free(&out);
	imap_result_repr(&sc->r, &out);
	return out.data;
}

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

START_TEST(test_enable_in_wrong_state)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_enable(sc.s, "CONDSTORE", &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s),
			 "command ENABLE illegal in state NONAUTH, only allowed in states AUTH");
	scene_end(&sc);
}
END_TEST

START_TEST(test_enable_without_capability)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_enable(sc.s, "CONDSTORE", &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "Server does not support ENABLE");
	scene_end(&sc);
}
END_TEST

START_TEST(test_enable_utf8_wraps_append_and_forbids_charset)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT\nS: <tag0> OK done\n"
				    "C: <tag1> ENABLE UTF8=ACCEPT\n"
				    "S: * ENABLED UTF8=ACCEPT\n"
				    "S: <tag1> OK ENABLE successful\n"
				    "C: <tag2> APPEND INBOX {12}\n"
				    "S: + go ahead\n"
				    "C-LITERAL 12 sha256:b962abee8fed5a4fe9c90f15fe379da838c2f964419d1ec7d7fc560b58a7bdbc\n"
				    "C:\n"
				    "S: <tag2> OK [APPENDUID 1 2] Append completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_enable(sc.s, "UTF8=ACCEPT", &sc.r), IMAP_OK);
	ck_assert(imap_utf8_enabled(sc.s));
	ck_assert_int_eq(imap_append(sc.s, NULL, NULL, NULL, "a\xc3\xa4\n", 4, &sc.r), IMAP_OK);
	ck_assert_int_eq(imap_search(sc.s, "UTF-8", (const char *[]){ "ALL" }, 1, &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "Non-None charset not valid in UTF8 mode");
	scene_end(&sc);
}
END_TEST

START_TEST(test_append_rejected_before_literal)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> APPEND INBOX (\\\\Seen) {5}\n"
				    "S: <tag1> NO [OVERQUOTA] Quota exceeded\n"
				    "C: <tag2> NOOP\n"
				    "S: <tag2> OK NOOP completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_append(sc.s, "INBOX", "\\Seen", NULL, "hello", 5, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('NO', [b'[OVERQUOTA] Quota exceeded'])");
	/* the literal was never sent: the next command follows directly */
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_OK);
	scene_end(&sc);
}
END_TEST

START_TEST(test_append_uses_literal_plus)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 LITERAL+\nS: <tag0> OK done\n"
				    "C: <tag1> APPEND Drafts \"01-Jan-2020 10:00:00 +0000\" {7+}\n"
				    "C-LITERAL 7\n"
				    "C:\n"
				    "S: <tag1> OK done\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_append(sc.s, "Drafts", NULL, "\"01-Jan-2020 10:00:00 +0000\"",
				     "a\nb\rc", 5, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'done'])");
	scene_end(&sc);
}
END_TEST

START_TEST(test_arguments_with_crlf_are_refused)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_create(sc.s, "x\r\nA2 DELETE INBOX", &sc.r), IMAP_ERROR);
	scene_end(&sc);
}
END_TEST

START_TEST(test_bracket_flags_in_response_code)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> SELECT test\n"
				    "S: * 2 EXISTS\n"
				    "S: * FLAGS (\\\\Answered \\\\Seen [test] foo]bar)\n"
				    "S: * OK [PERMANENTFLAGS (\\\\Answered \\\\Seen [test] \\\\*)] Flags permitted.\n"
				    "S: <tag1> OK [READ-WRITE] SELECT completed\n"
				    "C: <tag2> STORE 1 +FLAGS ([test])\n"
				    "S: * 1 FETCH (FLAGS (\\\\Seen [test] foo]bar))\n"
				    "S: <tag2> OK STORE completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_select(sc.s, "test", false, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'2'])");
	ck_assert_int_eq(imap_response(sc.s, "PERMANENTFLAGS", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('PERMANENTFLAGS', [b'(\\\\Answered \\\\Seen [test] \\\\*)'])");
	ck_assert_int_eq(imap_store(sc.s, "1", "+FLAGS", "[test]", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'1 (FLAGS (\\\\Seen [test] foo]bar))'])");
	scene_end(&sc);
}
END_TEST

START_TEST(test_select_readonly_raises_readonly)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> SELECT shared\n"
				    "S: * 0 EXISTS\n"
				    "S: <tag1> OK [READ-ONLY] SELECT completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_select(sc.s, "shared", false, &sc.r), IMAP_READONLY);
	ck_assert_str_eq(imap_errmsg(sc.s), "shared is not writable");
	/* and every later command says the mailbox turned read-only */
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_READONLY);
	scene_end(&sc);
}
END_TEST

START_TEST(test_bye_during_command_aborts)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> NOOP\n"
				    "S: * BYE server shutting down\n"
				    "CLOSE\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ABORT);
	ck_assert_str_eq(imap_errmsg(sc.s), "command: NOOP => server shutting down");
	scene_end(&sc);
}
END_TEST

START_TEST(test_unexpected_tagged_response_aborts)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> NOOP\n"
				    "S: ZZZ9 OK what\n"
				    "DRAIN\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "unexpected tagged response") != NULL, "%s",
		      imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

START_TEST(test_timeout_aborts)
{
	struct scene sc;
	struct imap_opts o = default_opts();
	o.timeout_ms = 300;
	ck_assert_int_eq(scene_open(&sc, GREETING "C: <tag1> NOOP\nDRAIN\n", &o), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "timed out") != NULL, "%s", imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

START_TEST(test_line_too_long_is_an_error_not_an_abort)
{
	struct scene sc;
	struct imap_opts o = default_opts();
	o.limits.max_line = 1000;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> NOOP\n"
				    "S+ * OK \n"
				    "LITERAL 5000 a\n"
				    "S: \n"
				    "S: <tag1> OK done\n"
				    "C: <tag2> NOOP\n"
				    "S: <tag2> OK still here\n"
				    "EOF\n", &o), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ERROR);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'still here'])");
	scene_end(&sc);
}
END_TEST

START_TEST(test_untagged_literals_as_imaplib_tuples)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> SELECT INBOX\nS: * 1 EXISTS\nS: <tag1> OK [READ-WRITE] done\n"
				    "C: <tag2> FETCH 1 (BODY[] BODY[HEADER])\n"
				    "S: * 1 FETCH (BODY[] {3}\n"
				    "S+ a\"c BODY[HEADER] {0}\\r\\n\n"
				    "S: )\n"
				    "S: <tag2> OK FETCH completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_select(sc.s, NULL, false, &sc.r), IMAP_OK);
	ck_assert_int_eq(imap_fetch(sc.s, "1", "(BODY[] BODY[HEADER])", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [(b'1 (BODY[] {3}', b'a\"c'), "
				    "(b' BODY[HEADER] {0}', b''), b')'])");
	scene_end(&sc);
}
END_TEST

START_TEST(test_idle_with_responses_before_continuation)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 IDLE\nS: <tag0> OK done\n"
				    "C: <tag1> IDLE\n"
				    "S: * 3 EXISTS\n"
				    "S: + idling\n"
				    "S: * 4 EXISTS\n"
				    "S: * 2 EXPUNGE\n"
				    "C: DONE\n"
				    "S: <tag1> OK IDLE terminated\n"
				    "C: <tag2> NOOP\n"
				    "S: <tag2> OK done\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_idle_collect(sc.s, 300, &sc.r), IMAP_OK);
	ck_assert_uint_eq(sc.r.n, 3);
	ck_assert_str_eq(sc.r.items[0].sub[0].text.data, "EXISTS");
	ck_assert_str_eq(sc.r.items[0].sub[1].text.data, "3");
	ck_assert_str_eq(sc.r.items[1].sub[1].text.data, "4");
	ck_assert_str_eq(sc.r.items[2].sub[0].text.data, "EXPUNGE");
	/* and the connection goes on */
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_OK);
	scene_end(&sc);
}
END_TEST

START_TEST(test_idle_without_capability)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_idle_collect(sc.s, 100, &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "IDLE not supported by server");
	scene_end(&sc);
}
END_TEST

/* imap_idle_run: a wake_fd ends the wait at once (check_ms alone would
 * wait a minute), end_now then sends DONE. */
struct idle_waker {
	int pipe[2];
	atomic_bool woken;
	atomic_int asked_after_wake;
};

static void *idle_wake_later(void *arg)
{
	struct idle_waker *k = arg;
	usleep(200 * 1000);
	atomic_store(&k->woken, true);
	/* a lost byte shows as the test hanging into its timeout */
	if (write(k->pipe[1], "x", 1) != 1)
		atomic_store(&k->woken, false);
	return NULL;
}

static bool idle_woken(void *ctx)
{
	struct idle_waker *k = ctx;
	char b[8];
	while (read(k->pipe[0], b, sizeof b) > 0)
		;
	if (!atomic_load(&k->woken))
		return false;
	atomic_fetch_add(&k->asked_after_wake, 1);
	return true;
}

START_TEST(test_idle_run_ends_on_wake_fd)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 IDLE\nS: <tag0> OK done\n"
				    "C: <tag1> IDLE\n"
				    "S: + idling\n"
				    "C: DONE\n"
				    "S: <tag1> OK IDLE terminated\n"
				    "EOF\n", NULL), IMAP_OK);
	struct idle_waker k = { .woken = false, .asked_after_wake = 0 };
	ck_assert_int_eq(pipe2(k.pipe, O_NONBLOCK | O_CLOEXEC), 0);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, idle_wake_later, &k), 0);
	struct imap_idle_opts o = IMAP_IDLE_OPTS_INIT;
	o.duration_ms = 60000;
	o.check_ms = 60000;
	o.wake_fd = k.pipe[0];
	o.end_now = idle_woken;
	o.ctx = &k;
	long long t0 = clock_ms();
	ck_assert_int_eq(imap_idle_run(sc.s, &o), IMAP_OK);
	/* not the minute of duration_ms or check_ms: did not hang */
	ck_assert_int_lt(clock_ms() - t0, 20000);
	ck_assert_int_eq(atomic_load(&k.asked_after_wake), 1);
	pthread_join(t, NULL);
	close(k.pipe[0]);
	close(k.pipe[1]);
	scene_end(&sc);
}
END_TEST

/* A server that never answers the IDLE with "+": answer_ms, not the
 * duration, bounds the wait. */
START_TEST(test_idle_run_answer_deadline)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 IDLE\nS: <tag0> OK done\n"
				    "C: <tag1> IDLE\n"
				    "DRAIN\n", NULL), IMAP_OK);
	struct imap_idle_opts o = IMAP_IDLE_OPTS_INIT;
	o.duration_ms = 60000;
	o.answer_ms = 300;
	ck_assert_int_eq(imap_idle_run(sc.s, &o), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "timed out waiting for IDLE") != NULL, "%s",
		      imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

/* ---- STARTTLS ---- */

static void make_certs(struct scene *sc)
{
	snprintf(sc->certdir, sizeof sc->certdir, "/tmp/imapfs-certs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sc->certdir));
	struct buf err = BUF_INIT;
	ck_assert_msg(test_certs_make(sc->certdir, &sc->certs, &err) == 0, "%s", err.data);
	buf_free(&err);
}

START_TEST(test_starttls_injection_is_refused)
{
	struct scene sc;
	struct test_certs certs;
	memset(&sc, 0, sizeof sc);
	make_certs(&sc);
	certs = sc.certs;
	char dir[64];
	memcpy(dir, sc.certdir, sizeof dir);
	struct fake_opts fo = { .certs = &certs };
	scene_fake(&sc, GREETING
		   "C: <tag1> STARTTLS\n"
		   "S+ <tag1> OK Begin TLS negotiation now\\r\\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\\r\\n\n"
		   "DRAIN\n", &fo);
	memcpy(sc.certdir, dir, sizeof dir);
	struct imap_opts o = default_opts();
	o.tls.cafile = certs.cafile;
	ck_assert_int_eq(imap_open(&sc.s, "127.0.0.1", fake_port_str(sc.fake), &o, &sc.err), IMAP_OK);
	int rc = imap_starttls(sc.s, NULL, &sc.r);
	ck_assert_int_eq(rc, IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "injection") != NULL, "%s", imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

START_TEST(test_starttls_not_advertised)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * OK hi\nC: <tag0> CAPABILITY\nS: * CAPABILITY IMAP4rev1\n"
				    "S: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_starttls(sc.s, NULL, &sc.r), IMAP_ABORT);
	ck_assert_str_eq(imap_errmsg(sc.s), "TLS not supported by server");
	scene_end(&sc);
}
END_TEST

START_TEST(test_starttls_then_capabilities_again)
{
	struct scene sc;
	memset(&sc, 0, sizeof sc);
	make_certs(&sc);
	struct test_certs certs = sc.certs;
	char dir[64];
	memcpy(dir, sc.certdir, sizeof dir);
	struct fake_opts fo = { .certs = &certs };
	scene_fake(&sc, GREETING
		   "C: <tag1> STARTTLS\n"
		   "S: <tag1> OK Begin TLS negotiation now\n"
		   "TLS\n"
		   "C: <tag2> CAPABILITY\n"
		   "S: * CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN\n"
		   "S: <tag2> OK done\n"
		   "C: <tag3> LOGIN alice \"secret\"\n"
		   "S: <tag3> OK Logged in\n"
		   "EOF\n", &fo);
	memcpy(sc.certdir, dir, sizeof dir);
	struct imap_opts o = default_opts();
	o.allow_plaintext = false;
	o.tls.cafile = certs.cafile;
	o.tls.servername = "localhost";
	ck_assert_int_eq(imap_open(&sc.s, "127.0.0.1", fake_port_str(sc.fake), &o, &sc.err), IMAP_OK);
	ck_assert_int_eq(imap_starttls(sc.s, NULL, &sc.r), IMAP_OK);
	ck_assert(imap_is_tls(sc.s));
	ck_assert(!imap_has_cap(sc.s, "STARTTLS"));   /* pre-TLS capabilities forgotten */
	ck_assert(imap_has_cap(sc.s, "AUTH=LOGIN"));
	ck_assert_int_eq(imap_login(sc.s, "alice", "secret", &sc.r), IMAP_OK);
	scene_end(&sc);
}
END_TEST

START_TEST(test_starttls_untrusted_certificate_aborts)
{
	struct scene sc;
	memset(&sc, 0, sizeof sc);
	make_certs(&sc);
	struct test_certs certs = sc.certs;
	char dir[64];
	memcpy(dir, sc.certdir, sizeof dir);
	struct fake_opts fo = { .certs = &certs };
	scene_fake(&sc, GREETING
		   "C: <tag1> STARTTLS\n"
		   "S: <tag1> OK Begin TLS negotiation now\n"
		   "TLS\n", &fo);
	memcpy(sc.certdir, dir, sizeof dir);
	struct imap_opts o = default_opts();
	o.tls.cafile = certs.otherca;
	o.tls.servername = "localhost";
	ck_assert_int_eq(imap_open(&sc.s, "127.0.0.1", fake_port_str(sc.fake), &o, &sc.err), IMAP_OK);
	ck_assert_int_eq(imap_starttls(sc.s, NULL, &sc.r), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "signer not found") != NULL, "%s", imap_errmsg(sc.s));
	scene_end_with(&sc, "TLS handshake failed");
}
END_TEST

/* ---- the pipelined core ---- */

START_TEST(test_pipelined_commands_match_by_tag)
{
	struct scene sc;
	struct buf script = BUF_INIT;
	buf_addstr(&script, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\nS: * CAPABILITY IMAP4rev1\n"
			    "S: <tag0> OK done\n");
	/* all ten commands arrive before the first reply is sent */
	for (int i = 1; i <= 10; i++)
		buf_addf(&script, "C: <tag%d> UID FETCH %d (UID)\n", i, i);
	for (int i = 10; i >= 1; i--)   /* replies in reverse order */
		buf_addf(&script, "S: * %d FETCH (UID %d)\nS: <tag%d> OK done %d\n", i, i, i, i);
	buf_addstr(&script, "EOF\n");
	ck_assert_int_eq(scene_open(&sc, script.data, NULL), IMAP_OK);
	buf_free(&script);
	struct imap_cmd *cmds[10];
	for (int i = 0; i < 10; i++) {
		cmds[i] = imap_cmd_new("UID FETCH");
		imap_cmd_addf(cmds[i], " %d (UID)", i + 1);
		ck_assert_int_eq(imap_submit(sc.s, cmds[i]), IMAP_OK);
	}
	ck_assert_uint_eq(imap_in_flight(sc.s), 10);
	ck_assert_int_eq(imap_wait(sc.s, cmds[0]), IMAP_OK);
	ck_assert_uint_eq(imap_in_flight(sc.s), 0);  /* the first tag is answered last */
	for (int i = 0; i < 10; i++) {
		char want[32];
		snprintf(want, sizeof want, "done %d", i + 1);
		ck_assert(imap_cmd_ok(cmds[i]));
		ck_assert_str_eq(imap_cmd_text(cmds[i]), want);
		imap_cmd_free(cmds[i]);
	}
	scene_end(&sc);
}
END_TEST

struct collect {
	struct buf bytes;
	int done_calls;
	bool ok;
};

static int collect_write(void *ctx, const void *p, size_t n)
{
	buf_add(&((struct collect *)ctx)->bytes, p, n);
	return 0;
}

static void collect_done(void *ctx, bool ok)
{
	struct collect *c = ctx;
	c->done_calls++;
	c->ok = ok;
}

static bool claim_literal(void *ctx, const struct imap_response *so_far, uint64_t size,
			  struct imap_sink *sink)
{
	(void)so_far;
	(void)size;
	sink->write = collect_write;
	sink->done = collect_done;
	sink->ctx = ctx;
	return true;
}

static int count_untagged;

static void on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			const struct imap_resp *r)
{
	(void)ctx;
	(void)s;
	(void)raw;
	if (r && !strcmp(r->name, "FETCH"))
		count_untagged++;
}

START_TEST(test_streamed_literal_reaches_sink_whole)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> UID FETCH 7 (BODY.PEEK[])\n"
				    "S: * 1 FETCH (UID 7 BODY[] {4194304}\n"
				    "LITERAL 4194304 m\n"
				    "S: )\n"
				    "S: <tag1> OK done\n"
				    "EOF\n", NULL), IMAP_OK);
	struct collect col = { BUF_INIT, 0, false };
	count_untagged = 0;
	imap_set_literal_hook(sc.s, claim_literal, &col);
	imap_set_untagged_handler(sc.s, on_untagged, NULL);
	struct imap_cmd *c = imap_cmd_new("UID FETCH");
	imap_cmd_add(c, " 7 (BODY.PEEK[])");
	ck_assert_int_eq(imap_submit(sc.s, c), IMAP_OK);
	ck_assert_int_eq(imap_wait(sc.s, c), IMAP_OK);
	ck_assert(imap_cmd_ok(c));
	imap_cmd_free(c);
	ck_assert_uint_eq(col.bytes.len, 4194304);
	for (size_t i = 0; i < col.bytes.len; i++)
		if (col.bytes.data[i] != 'm')
			ck_abort_msg("byte %zu is %d", i, col.bytes.data[i]);
	ck_assert_int_eq(col.done_calls, 1);
	ck_assert(col.ok);
	ck_assert_int_eq(count_untagged, 1);
	buf_free(&col.bytes);
	scene_end(&sc);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imaplib");
	TCase *tc = tcase_create("fake-server");
	tcase_set_timeout(tc, 30);
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
	tcase_add_test(tc, test_enable_in_wrong_state);
	tcase_add_test(tc, test_enable_without_capability);
	tcase_add_test(tc, test_enable_utf8_wraps_append_and_forbids_charset);
	tcase_add_test(tc, test_append_rejected_before_literal);
	tcase_add_test(tc, test_append_uses_literal_plus);
	tcase_add_test(tc, test_arguments_with_crlf_are_refused);
	tcase_add_test(tc, test_bracket_flags_in_response_code);
	tcase_add_test(tc, test_select_readonly_raises_readonly);
	tcase_add_test(tc, test_bye_during_command_aborts);
	tcase_add_test(tc, test_unexpected_tagged_response_aborts);
	tcase_add_test(tc, test_timeout_aborts);
	tcase_add_test(tc, test_line_too_long_is_an_error_not_an_abort);
	tcase_add_test(tc, test_untagged_literals_as_imaplib_tuples);
	tcase_add_test(tc, test_idle_with_responses_before_continuation);
	tcase_add_test(tc, test_idle_without_capability);
	tcase_add_test(tc, test_idle_run_ends_on_wake_fd);
	tcase_add_test(tc, test_idle_run_answer_deadline);
	tcase_add_test(tc, test_starttls_injection_is_refused);
	tcase_add_test(tc, test_starttls_not_advertised);
	tcase_add_test(tc, test_starttls_then_capabilities_again);
	tcase_add_test(tc, test_starttls_untrusted_certificate_aborts);
	tcase_add_test(tc, test_pipelined_commands_match_by_tag);
	tcase_add_test(tc, test_streamed_literal_reaches_sink_whole);
	suite_add_tcase(s, tc);
	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
