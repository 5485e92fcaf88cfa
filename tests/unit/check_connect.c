/* check_connect.c: the client's way in (connect.c) against scripted
 * servers: what a greeting may be (decided by the response parser alone),
 * STARTTLS before anything else, LOGIN by RFC 3501 with the password never
 * in a trace, AUTHENTICATE PLAIN where LOGINDISABLED, ENABLE; and the same
 * refusal of a crafted greeting by the imap4 tool.  Every script must run
 * to its end exactly: a greeting that is refused leaves the client sending
 * nothing at all ("EOF"). */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_run.h"
#include "fake.h"
#include "imap.h"
#include "clock.h"

struct scene {
	struct fake_server *fake;
	struct imap *s;
	struct buf err;
	struct buf trace;
	struct test_certs certs;
	char certdir[64];
};

static void scene_start(struct scene *sc, const char *script, bool tls_server)
{
	memset(sc, 0, sizeof *sc);
	buf_init(&sc->err);
	buf_init(&sc->trace);
	struct fake_opts fo = { .timeout_ms = 10000 };
	if (tls_server) {
		snprintf(sc->certdir, sizeof sc->certdir, "/tmp/imapfs-certs-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(sc->certdir));
		ck_assert_msg(test_certs_make(sc->certdir, &sc->certs, &sc->err) == 0, "%s", sc->err.data);
		fo.certs = &sc->certs;
	}
	sc->fake = fake_start(script, &fo, &sc->err);
	ck_assert_msg(sc->fake != NULL, "fake_start: %s", sc->err.data);
}

static void keep_trace(void *ctx, const char *line)
{
	struct buf *b = ctx;
	buf_addf(b, "%s\n", line);
}

static int scene_open(struct scene *sc, enum imap_link_kind kind, bool starttls, bool plaintext)
{
	struct imap_endpoint ep = { .kind = kind, .host = "127.0.0.1",
				    .port = fake_port_str(sc->fake), .starttls = starttls };
	struct imap_opts o = { .timeout_ms = 5000, .allow_plaintext = plaintext, .debug = 4,
			       .trace = keep_trace, .trace_ctx = &sc->trace };
	if (sc->certdir[0]) {
		o.tls.cafile = sc->certs.cafile;
		o.tls.servername = "localhost";
	}
	return imap_client_open(&sc->s, &ep, &o, &sc->err);
}

static void scene_end(struct scene *sc)
{
	imap_close(sc->s);
	struct buf ferr = BUF_INIT;
	ck_assert_msg(fake_finish(sc->fake, &ferr) == 0, "fake server: %s", ferr.data);
	buf_free(&ferr);
	buf_free(&sc->err);
	buf_free(&sc->trace);
	if (sc->certdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", sc->certdir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

/* On a link that must become TLS only "* OK" lets the client go on: a
 * number imaplib's regexes would skip ("* 4294967296 PREAUTH", which once
 * took a mount to an authenticated plaintext session), a PREAUTH, a BYE,
 * a continuation, a tagged line or noise are refused before one byte is
 * sent. */
START_TEST(test_starttls_link_takes_only_ok)
{
	static const char *const greetings[] = {
		"* 4294967296 PREAUTH [CAPABILITY IMAP4rev1] hi",
		"* 1 PREAUTH hi",
		"* PREAUTH [CAPABILITY IMAP4rev1] hi",
		"* 1 OK hi",
		"* BYE [CAPABILITY IMAP4rev1] go away",
		"* NO hi",
		"* CAPABILITY IMAP4rev1 STARTTLS",
		"+ hi",
		"A1 OK hi",
		"hello",
		"* PREAUTH\x01 hi",
	};
	for (size_t i = 0; i < sizeof greetings / sizeof greetings[0]; i++) {
		struct scene sc;
		char script[256];
		snprintf(script, sizeof script, "S: %s\nEOF\n", greetings[i]);
		scene_start(&sc, script, false);
		ck_assert_msg(scene_open(&sc, IMAP_LINK_TCP, true, false) < 0, "taken: %s", greetings[i]);
		ck_assert_ptr_null(sc.s);
		ck_assert_msg(sc.err.len > 0, "no reason for %s", greetings[i]);
		scene_end(&sc);
	}
}
END_TEST

/* Without TLS required a malformed greeting is still not read another way. */
START_TEST(test_malformed_greeting_refused_on_any_link)
{
	struct scene sc;
	scene_start(&sc, "S: * 4294967296 PREAUTH hi\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, true), IMAP_ERROR);
	ck_assert_msg(strstr(sc.err.data, "not an IMAP greeting: * 4294967296 PREAUTH hi"), "%s",
		      sc.err.data);
	scene_end(&sc);
}
END_TEST

/* A first line the framing drops (a NUL byte) is the greeting, refused:
 * the PREAUTH after it is never taken for one. */
START_TEST(test_dropped_first_line_is_the_greeting)
{
	struct scene sc;
	scene_start(&sc, "S+ * OK \\x00junk\\r\\n* PREAUTH [CAPABILITY IMAP4rev1] hi\\r\\n\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, true), IMAP_ERROR);
	ck_assert_ptr_null(sc.s);
	ck_assert_msg(strstr(sc.err.data, "not an IMAP greeting"), "%s", sc.err.data);
	scene_end(&sc);
}
END_TEST

START_TEST(test_bye_greeting_says_why)
{
	struct scene sc;
	scene_start(&sc, "S: * BYE too many connections\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, true), IMAP_ERROR);
	ck_assert_str_eq(sc.err.data, "the server refused the connection: too many connections");
	scene_end(&sc);
}
END_TEST

START_TEST(test_no_starttls_offered_is_refused)
{
	struct scene sc;
	scene_start(&sc, "S: * OK hi\nC: <tag0> CAPABILITY\nS: * CAPABILITY IMAP4rev1 AUTH=PLAIN\n"
			 "S: <tag0> OK done\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, true, false), IMAP_ABORT);
	ck_assert_str_eq(sc.err.data, "the server does not offer STARTTLS");
	scene_end(&sc);
}
END_TEST

START_TEST(test_starttls_refused_is_fatal)
{
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1 STARTTLS] hi\nC: <tag0> STARTTLS\n"
			 "S: <tag0> NO not now\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, true, false), IMAP_ABORT);
	ck_assert_msg(strstr(sc.err.data, "STARTTLS: NO not now"), "%s", sc.err.data);
	scene_end(&sc);
}
END_TEST

/* Bytes sent in the clear after the OK to STARTTLS are never taken as
 * responses of the encrypted session. */
START_TEST(test_starttls_injection_is_refused)
{
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1 STARTTLS] hi\nC: <tag0> STARTTLS\n"
			 "S+ <tag0> OK go\\r\\n* PREAUTH [CAPABILITY IMAP4rev1] injected\\r\\n\nDRAIN\n", true);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, true, false), IMAP_ABORT);
	ck_assert_msg(strstr(sc.err.data, "injection"), "%s", sc.err.data);
	scene_end(&sc);
}
END_TEST

/* The whole way in: STARTTLS, capabilities asked again over TLS, LOGIN
 * with astrings (an 8-bit password in a synchronizing literal) never
 * traced, capabilities again when the OK names none, ENABLE, LOGOUT. */
START_TEST(test_starttls_login_enable_logout)
{
	struct scene sc;
	scene_start(&sc,
		    "S: * OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\n"
		    "C: <tag0> STARTTLS\n"
		    "S: <tag0> OK go\n"
		    "TLS\n"
		    "C: <tag1> CAPABILITY\n"
		    "S: * CAPABILITY IMAP4rev1 AUTH=PLAIN\n"
		    "S: <tag1> OK done\n"
		    "C: <tag2> LOGIN \"al ice\" {7}\n"
		    "S: + go on\n"
		    "C-LITERAL 7 sha256:965929775aa46f105fde21bfb9ed6d73ff013c309e01924e3de3494acbf634d4\n"
		    "C: \n"
		    "S: <tag2> OK in\n"
		    "C: <tag3> CAPABILITY\n"
		    "S: * CAPABILITY IMAP4rev1 ENABLE QRESYNC UIDPLUS\n"
		    "S: <tag3> OK done\n"
		    "C: <tag4> ENABLE QRESYNC\n"
		    "S: * ENABLED QRESYNC\n"
		    "S: <tag4> OK enabled\n"
		    "C: <tag5> LOGOUT\n"
		    "S: * BYE bye\n"
		    "S: <tag5> OK out\n"
		    "EOF\n", true);
	ck_assert_msg(scene_open(&sc, IMAP_LINK_TCP, true, false) == 0, "%s", sc.err.data);
	ck_assert(imap_is_tls(sc.s));
	ck_assert(!imap_has_cap(sc.s, "LOGINDISABLED"));  /* pre-TLS capabilities forgotten */
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_NONAUTH);
	ck_assert_msg(imap_client_login(sc.s, "al ice", "s\xc3\xa9" "cret") == 0, "%s", imap_errmsg(sc.s));
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_AUTH);
	ck_assert(imap_has_cap(sc.s, "UIDPLUS"));
	bool on = false;
	ck_assert_int_eq(imap_client_enable(sc.s, "QRESYNC", &on), 0);
	ck_assert(on);
	imap_client_logout(sc.s, 2000);
	ck_assert_msg(!strstr(sc.trace.data, "cret"), "%s", sc.trace.data);
	scene_end(&sc);
}
END_TEST

/* No password goes over a network link in the clear unless allowed. */
START_TEST(test_plaintext_login_refused)
{
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1] hi\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, false), 0);
	ck_assert_int_eq(imap_client_login(sc.s, "alice", "secret"), IMAP_ERROR);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "not encrypted"), "%s", imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

static struct imap_cmd *noop_done(struct imap *s)
{
	struct imap_cmd *c = imap_cmd_new("NOOP");
	ck_assert_int_eq(imap_submit(s, c), 0);
	ck_assert_int_eq(imap_wait(s, c), 0);
	return c;
}

/* A tagged reply's response code reaches the caller parsed, argument by
 * argument (APPENDUID's UIDVALIDITY and UID set), not as text to split
 * again; a list or NIL argument is NULL, a quoted one its text. */
START_TEST(test_tagged_code_arguments_parsed)
{
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1] hi\n"
		    "C: <tag0> NOOP\nS: <tag0> OK [APPENDUID 38505 3955:3957] done\n"
		    "C: <tag1> NOOP\nS: <tag1> OK [ALERT] plain\n"
		    "C: <tag2> NOOP\nS: <tag2> NO [X-CODE (a b) \"q s\" NIL] no\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, false), 0);
	struct imap_cmd *c = noop_done(sc.s);
	ck_assert_str_eq(imap_cmd_code(c), "APPENDUID");
	ck_assert_uint_eq(imap_cmd_code_nargs(c), 2);
	ck_assert_str_eq(imap_cmd_code_argv(c, 0), "38505");
	ck_assert_str_eq(imap_cmd_code_argv(c, 1), "3955:3957");
	ck_assert_ptr_null(imap_cmd_code_argv(c, 2));
	imap_cmd_free(c);
	c = noop_done(sc.s);
	ck_assert_str_eq(imap_cmd_code(c), "ALERT");
	ck_assert_uint_eq(imap_cmd_code_nargs(c), 0);
	ck_assert_ptr_null(imap_cmd_code_argv(c, 0));
	imap_cmd_free(c);
	c = noop_done(sc.s);
	ck_assert_str_eq(imap_cmd_status(c), "NO");
	ck_assert_str_eq(imap_cmd_code(c), "X-CODE");
	ck_assert_uint_eq(imap_cmd_code_nargs(c), 3);
	ck_assert_ptr_null(imap_cmd_code_argv(c, 0));
	ck_assert_str_eq(imap_cmd_code_argv(c, 1), "q s");
	ck_assert_ptr_null(imap_cmd_code_argv(c, 2));
	imap_cmd_free(c);
	scene_end(&sc);
}
END_TEST

/* LOGINDISABLED: AUTHENTICATE PLAIN, with the response in the command
 * where SASL-IR allows, after the continuation otherwise. */
START_TEST(test_logindisabled_uses_authenticate_plain)
{
	/* base64("\0alice\0secret") */
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN SASL-IR] hi\n"
			 "C: <tag0> AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\n"
			 "S: <tag0> OK [CAPABILITY IMAP4rev1 MOVE] in\n"
			 "EOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, true), 0);
	ck_assert_msg(imap_client_login(sc.s, "alice", "secret") == 0, "%s", imap_errmsg(sc.s));
	ck_assert(imap_has_cap(sc.s, "MOVE"));
	scene_end(&sc);
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN] hi\n"
			 "C: <tag0> AUTHENTICATE PLAIN\n"
			 "S: + \n"
			 "C: AGFsaWNlAHNlY3JldA==\n"
			 "S: <tag0> OK [CAPABILITY IMAP4rev1] in\n"
			 "EOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, true), 0);
	ck_assert_msg(imap_client_login(sc.s, "alice", "secret") == 0, "%s", imap_errmsg(sc.s));
	ck_assert_msg(!strstr(sc.trace.data, "AGFsaWNl"), "%s", sc.trace.data);
	scene_end(&sc);
}
END_TEST

/* XOAUTH2 with SASL-IR: the response goes with the command; a refusal
 * comes as a base64 JSON challenge, answered with an empty line, then NO.
 * The JSON reaches the caller, the token never reaches the trace. */
START_TEST(test_xoauth2_sasl_ir_and_the_error_json)
{
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR] hi\n"
			 "C: <tag0> AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2stMQEB\n"
			 "S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciIsInNjb3BlIjoibWFpbCJ9\n"
			 "C: \n"
			 "S: <tag0> NO [AUTHENTICATIONFAILED] Authentication failed.\n"
			 "C: <tag1> AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2stMQEB\n"
			 "S: <tag1> OK [CAPABILITY IMAP4rev1 MOVE] in\n"
			 "EOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, true), 0);
	struct imap_auth auth = { .mechanism = "XOAUTH2", .user = "alice", .secret = "tok-1" };
	struct buf json = BUF_INIT;
	ck_assert_int_eq(imap_client_authenticate(sc.s, &auth, &json), IMAP_ERROR);
	ck_assert_str_eq(json.data, "{\"status\":\"invalid_token\",\"schemes\":\"bearer\",\"scope\":\"mail\"}");
	ck_assert_msg(strstr(imap_errmsg(sc.s), "AUTHENTICATIONFAILED"), "%s", imap_errmsg(sc.s));
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_NONAUTH);
	buf_free(&json);
	/* the connection is still good for another try */
	ck_assert_msg(imap_client_authenticate(sc.s, &auth, &json) == 0, "%s", imap_errmsg(sc.s));
	ck_assert_int_eq(imap_get_state(sc.s), IMAP_STATE_AUTH);
	ck_assert(imap_has_cap(sc.s, "MOVE"));
	ck_assert_uint_eq(json.len, 0);
	ck_assert_msg(!strstr(sc.trace.data, "dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2stMQEB") && !strstr(sc.trace.data, "tok-1"), "%s",
		      sc.trace.data);
	scene_end(&sc);
}
END_TEST

/* OAUTHBEARER without SASL-IR: the response after the server's "+", the
 * error JSON answered with a lone \001 (AQ==), then NO. */
START_TEST(test_oauthbearer_without_sasl_ir_and_the_error_json)
{
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER] hi\n"
			 "C: <tag0> AUTHENTICATE OAUTHBEARER\n"
			 "S: + \n"
			 "C: bixhPWFsaWNlLAFob3N0PTEyNy4wLjAuMQFwb3J0PVBPUlQBYXV0aD1CZWFyZXIgdG9rLTEBAQ==\n"
			 "S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NoZW1lcyI6ImJlYXJlciIsInNjb3BlIjoibWFpbCJ9\n"
			 "C: AQ==\n"
			 "S: <tag0> NO [AUTHENTICATIONFAILED] Authentication failed.\n"
			 "EOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, true), 0);
	struct imap_auth auth = { .mechanism = "oauthbearer", .user = "alice", .secret = "tok-1",
				  .host = "127.0.0.1", .port = "PORT" };
	struct buf json = BUF_INIT;
	ck_assert_int_eq(imap_client_authenticate(sc.s, &auth, &json), IMAP_ERROR);
	ck_assert_str_eq(json.data, "{\"status\":\"invalid_token\",\"schemes\":\"bearer\",\"scope\":\"mail\"}");
	ck_assert_msg(!strstr(sc.trace.data, "bixhPWFsaWNlLAFob3N0PTEyNy4wLjAuMQFwb3J0PVBPUlQBYXV0aD1CZWFyZXIgdG9rLTEBAQ==") && !strstr(sc.trace.data, "tok-1"), "%s",
		      sc.trace.data);
	buf_free(&json);
	scene_end(&sc);
}
END_TEST

/* A mechanism the server does not name is refused before a byte is sent,
 * and so is a token on an unencrypted network link. */
START_TEST(test_authenticate_needs_the_mechanism_and_privacy)
{
	struct scene sc;
	scene_start(&sc, "S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2] hi\nEOF\n", false);
	ck_assert_int_eq(scene_open(&sc, IMAP_LINK_TCP, false, false), 0);
	struct imap_auth auth = { .mechanism = "OAUTHBEARER", .user = "alice", .secret = "t" };
	ck_assert_int_eq(imap_client_authenticate(sc.s, &auth, NULL), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "the server does not offer AUTHENTICATE OAUTHBEARER");
	auth.mechanism = "XOAUTH2";
	ck_assert_int_eq(imap_client_authenticate(sc.s, &auth, NULL), IMAP_ERROR);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "not encrypted"), "%s", imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

/* imap4 (the imaplib emulation) on an imap:// URL refuses the crafted
 * greeting too, and sends nothing. */
START_TEST(test_imap4_refuses_malformed_preauth)
{
	const char *imap4 = getenv("IMAP4");
	if (!imap4 || access(imap4, X_OK) != 0)
		imap4 = "./tools/imap4/imap4";
	struct scene sc;
	scene_start(&sc, "S: * 4294967296 PREAUTH [CAPABILITY IMAP4rev1] hi\nEOF\n", false);
	char url[64];
	snprintf(url, sizeof url, "imap://127.0.0.1:%d", fake_port(sc.fake));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl(imap4, "imap4", url, "list", (char *)NULL);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_ne(WEXITSTATUS(status), 0);
	ck_assert_int_ne(WEXITSTATUS(status), 127);
	scene_end(&sc);
}
END_TEST

/* ---- the way in has one deadline, and a cancel fd ends it ---- */

/* A bound that proves nothing waited for a timeout of a minute. */
#define NO_HANG_MS 15000

static void *write_after_500ms(void *arg)
{
	struct timespec ts = { 0, 500 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	uint64_t one = 1;
	ck_assert_int_eq(write(*(int *)arg, &one, sizeof one), (ssize_t)sizeof one);
	return NULL;
}

/* Opens ep with a timeout of a minute and a cancel fd written after half a
 * second: the open ends, "interrupted", long before the timeout. */
static void open_interrupted(const struct imap_endpoint *ep)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct imap_opts o = { .timeout_ms = 60000, .allow_plaintext = true, .has_cancel_fd = true,
			       .cancel_fd = fd };
	o.tls.insecure = true;
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, write_after_500ms, &fd), 0);
	struct imap *s = NULL;
	struct buf err = BUF_INIT;
	long long t0 = clock_ms();
	ck_assert_int_eq(imap_client_open(&s, ep, &o, &err), IMAP_ABORT);
	long long ms = clock_ms() - t0;
	ck_assert_msg(strstr(err.data, "interrupted") != NULL, "%s", err.data);
	ck_assert_msg(ms < NO_HANG_MS, "the open took %lld ms", ms);
	ck_assert_ptr_null(s);
	pthread_join(th, NULL);
	close(fd);
	buf_free(&err);
}

/* A server that accepts and never greets, on a plain and on a TLS link
 * (where it never answers the handshake). */
START_TEST(test_open_waits_end_on_the_cancel_fd)
{
	enum imap_link_kind kinds[] = { IMAP_LINK_TCP, IMAP_LINK_TLS };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		struct scene sc;
		scene_start(&sc, "DRAIN\n", false);
		struct imap_endpoint ep = { .kind = kinds[i], .host = "127.0.0.1",
					    .port = fake_port_str(sc.fake), .starttls = true };
		open_interrupted(&ep);
		scene_end(&sc);
	}
}
END_TEST

/* A TCP connect that gets no answer (the listener's queue is full, so its
 * SYNs are dropped) ends on the cancel fd too. */
START_TEST(test_connect_ends_on_the_cancel_fd)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	int filler = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(filler, (struct sockaddr *)&a, sizeof a), 0);
	char port[16];
	snprintf(port, sizeof port, "%u", ntohs(a.sin_port));
	struct imap_endpoint ep = { .kind = IMAP_LINK_TCP, .host = "127.0.0.1", .port = port };
	open_interrupted(&ep);
	close(filler);
	close(lfd);
}
END_TEST

/* Connect, greeting and CAPABILITY share one deadline: a server that takes
 * 1.2 s for each of two steps is too slow for a timeout of 2 s, although
 * either step alone would fit in it. */
START_TEST(test_open_has_one_deadline)
{
	struct scene sc;
	scene_start(&sc, "SLEEP 1200\nS: * OK hi\nC: <tag0> CAPABILITY\nSLEEP 1200\n"
			 "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nDRAIN\n", false);
	struct imap_endpoint ep = { .kind = IMAP_LINK_TCP, .host = "127.0.0.1",
				    .port = fake_port_str(sc.fake) };
	struct imap_opts o = { .timeout_ms = 2000, .allow_plaintext = true };
	int rc = imap_client_open(&sc.s, &ep, &o, &sc.err);
	ck_assert_msg(rc == IMAP_ABORT, "opened: the steps had a deadline each");
	ck_assert_msg(strstr(sc.err.data, "timed out") != NULL, "%s", sc.err.data);
	/* the server's late answer may meet a closed socket: its end is not
	 * what this test is about */
	struct buf ferr = BUF_INIT;
	(void)fake_finish(sc.fake, &ferr);
	buf_free(&ferr);
	buf_free(&sc.err);
	buf_free(&sc.trace);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("connect");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_starttls_link_takes_only_ok);
	tcase_add_test(tc, test_malformed_greeting_refused_on_any_link);
	tcase_add_test(tc, test_bye_greeting_says_why);
	tcase_add_test(tc, test_dropped_first_line_is_the_greeting);
	tcase_add_test(tc, test_no_starttls_offered_is_refused);
	tcase_add_test(tc, test_starttls_refused_is_fatal);
	tcase_add_test(tc, test_starttls_injection_is_refused);
	tcase_add_test(tc, test_starttls_login_enable_logout);
	tcase_add_test(tc, test_plaintext_login_refused);
	tcase_add_test(tc, test_logindisabled_uses_authenticate_plain);
	tcase_add_test(tc, test_xoauth2_sasl_ir_and_the_error_json);
	tcase_add_test(tc, test_oauthbearer_without_sasl_ir_and_the_error_json);
	tcase_add_test(tc, test_authenticate_needs_the_mechanism_and_privacy);
	tcase_add_test(tc, test_imap4_refuses_malformed_preauth);
	tcase_add_test(tc, test_open_waits_end_on_the_cancel_fd);
	tcase_add_test(tc, test_connect_ends_on_the_cancel_fd);
	tcase_add_test(tc, test_open_has_one_deadline);
	tcase_add_test(tc, test_tagged_code_arguments_parsed);
	suite_add_tcase(su, tc);
	return check_run_suite(su) ? EXIT_FAILURE : EXIT_SUCCESS;
}
