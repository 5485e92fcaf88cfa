/* check_secret_token.c: the secret of a mount read when a login needs it
 * (remote/secret.h), and the pool's login by -o auth= (remote/auth.h)
 * against scripted servers.
 *
 * passcmd runs again only when asked for a fresh value, in the directory
 * imapfs started in, with stdin /dev/null, and never past its deadline,
 * also when it leaves a process behind that holds its stdout.  The
 * terminal is asked only when stdin is one.  A mechanism the server does
 * not advertise is a clear error before anything is sent; a refused token
 * is answered, logged and retried exactly once with a fresh one, and not
 * at all when the fresh one is the one refused. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check_run.h"
#include "clock.h"
#include "fake.h"
#include "fs.h"
#include "harness_fakefs.h"
#include "harness_os.h"
#include "remote/auth.h"
#include "remote/pool.h"
#include "remote/secret.h"
#include "url.h"

static char work[64];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
	snprintf(work, sizeof work, "/tmp/imapfs-token-XXXXXX");
	if (!mkdtemp(work)) {
		perror("mkdtemp");
		abort();
	}
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", work);
}

/* Kept until a fresh value is asked for; then the command runs again and
 * what changed meanwhile is seen. */
START_TEST(test_passcmd_runs_again_only_when_fresh)
{
	char token[128], cmd[300];
	snprintf(token, sizeof token, "%s/token", work);
	write_text(token, "tok-1\nsecond line\n");
	snprintf(cmd, sizeof cmd, "cat %s", token);
	struct secret *s = secret_new(NULL, cmd, NULL, "alice", "host", 5000);
	ck_assert(secret_renewable(s));
	ck_assert_str_eq(secret_source_name(s), "passcmd");
	struct buf out = BUF_INIT, err = BUF_INIT;
	ck_assert_msg(secret_get(s, false, &out, &err) == 0, "%s", err.data);
	ck_assert_str_eq(out.data, "tok-1");
	write_text(token, "tok-2\n");
	ck_assert_int_eq(secret_get(s, false, &out, &err), 0);
	ck_assert_str_eq(out.data, "tok-1");
	ck_assert_uint_eq(secret_runs(s), 1);
	ck_assert_int_eq(secret_get(s, true, &out, &err), 0);
	ck_assert_str_eq(out.data, "tok-2");
	ck_assert_uint_eq(secret_runs(s), 2);
	buf_wipe(&out);
	buf_free(&err);
	secret_free(s);
}
END_TEST

/* After the daemon moved to / and its stdin became /dev/null, the command
 * still runs where imapfs was started, and reads nothing from stdin. */
START_TEST(test_passcmd_runs_in_the_start_directory)
{
	char here[512];
	ck_assert_ptr_nonnull(getcwd(here, sizeof here));
	ck_assert_int_eq(chdir(work), 0);
	write_text("helper-output", "from-the-start-dir\n");
	struct secret *s = secret_new(NULL, "read x; echo \"[$x]$(cat helper-output)\"", NULL, "alice",
				      "host", 5000);
	ck_assert_int_eq(chdir("/"), 0);
	struct buf out = BUF_INIT, err = BUF_INIT;
	ck_assert_msg(secret_get(s, false, &out, &err) == 0, "%s", err.data);
	ck_assert_str_eq(out.data, "[]from-the-start-dir");
	buf_wipe(&out);
	buf_free(&err);
	secret_free(s);
	ck_assert_int_eq(chdir(here), 0);
}
END_TEST

/* A command that hangs is killed at its deadline (with what it started);
 * one that leaves a process holding stdout is done when it exits; one
 * that fails says so. */
START_TEST(test_passcmd_has_a_deadline)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct secret *s = secret_new(NULL, "sleep 30; echo late", NULL, "alice", "host", 700);
	long long t0 = clock_ms();
	ck_assert_int_eq(secret_get(s, false, &out, &err), -1);
	ck_assert_msg(clock_ms() - t0 < 10000, "took %lld ms", clock_ms() - t0);
	ck_assert_msg(strstr(err.data, "did not finish"), "%s", err.data);
	ck_assert_uint_eq(out.len, 0);
	secret_free(s);

	buf_reset(&err);
	s = secret_new(NULL, "sleep 30 & echo tok-bg", NULL, "alice", "host", 20000);
	t0 = clock_ms();
	ck_assert_msg(secret_get(s, false, &out, &err) == 0, "%s", err.data);
	ck_assert_str_eq(out.data, "tok-bg");
	ck_assert_msg(clock_ms() - t0 < 10000, "took %lld ms", clock_ms() - t0);
	secret_free(s);

	buf_reset(&err);
	s = secret_new(NULL, "echo half; exit 3", NULL, "alice", "host", 5000);
	ck_assert_int_eq(secret_get(s, false, &out, &err), -1);
	ck_assert_msg(strstr(err.data, "passcmd failed (exit status 3)"), "%s", err.data);
	secret_free(s);
	buf_wipe(&out);
	buf_free(&err);
}
END_TEST

static void *stop_later(void *arg)
{
	os_sleep_ms(300);
	secret_stop(arg);
	return NULL;
}

/* Unmounting ends a command that still runs (its deadline is far) and
 * runs none again. */
START_TEST(test_passcmd_ends_at_unmount)
{
	struct secret *s = secret_new(NULL, "sleep 30; echo late", NULL, "alice", "host", 25000);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, stop_later, s), 0);
	struct buf out = BUF_INIT, err = BUF_INIT;
	long long t0 = clock_ms();
	ck_assert_int_eq(secret_get(s, false, &out, &err), -1);
	ck_assert_msg(clock_ms() - t0 < 10000, "took %lld ms", clock_ms() - t0);
	ck_assert_str_eq(err.data, "passcmd ended: unmounting");
	pthread_join(t, NULL);
	buf_reset(&err);
	ck_assert_int_eq(secret_get(s, true, &out, &err), -1);
	ck_assert_str_eq(err.data, "passcmd not run: unmounting");
	ck_assert_uint_eq(secret_runs(s), 1);
	ck_assert_uint_eq(out.len, 0);
	secret_free(s);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

/* No source and no terminal: the mount-time words, nothing asked. */
START_TEST(test_terminal_only_when_stdin_is_one)
{
	int null = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(null, 0);
	ck_assert_int_eq(dup2(null, STDIN_FILENO), STDIN_FILENO);
	close(null);
	struct secret *s = secret_new(NULL, NULL, NULL, "alice", "host", 5000);
	ck_assert(!secret_renewable(s));
	struct buf out = BUF_INIT, err = BUF_INIT;
	ck_assert_int_eq(secret_get(s, false, &out, &err), -1);
	ck_assert_str_eq(err.data, "no password: give -o passfile=FILE or passcmd=CMD, or set IMAPFS_PASSWORD");
	secret_free(s);
	/* a value given at mount stays what it is */
	s = secret_new(NULL, NULL, "pw", "alice", "host", 5000);
	ck_assert_int_eq(secret_get(s, true, &out, &err), 0);
	ck_assert_str_eq(out.data, "pw");
	ck_assert_str_eq(secret_source_name(s), "IMAPFS_PASSWORD");
	secret_free(s);
	buf_wipe(&out);
	buf_free(&err);
}
END_TEST

/* ---- the pool's login by auth= ---- */

/* One login against a scripted server: the pool made by auth=mech with a
 * token from passcmd. */
struct token_case {
	struct fake_server *f;
	struct fs_config cfg;
	struct pool *p;
	struct buf err;
};

static void token_begin(struct token_case *t, const char *script, enum auth_mech mech,
			const char *passcmd)
{
	memset(t, 0, sizeof *t);
	t->f = fakefs_server_start(script, 0);
	fakefs_account(&t->cfg, "alice", fake_port_str(t->f));
	t->cfg.connections = 1;
	t->cfg.timeout_s = 10;
	t->cfg.auth = mech;
	t->cfg.secret = secret_new(NULL, passcmd, NULL, "alice", "127.0.0.1", 5000);
	buf_init(&t->err);
}

/* pool_new's result (its error in t->err). */
static int token_login(struct token_case *t)
{
	return pool_new(&t->p, &t->cfg, &t->err);
}

/* The server's script must have run to its end. */
static void token_end(struct token_case *t)
{
	if (t->p)
		pool_free(t->p);
	fakefs_server_finish(t->f);
	secret_free(t->cfg.secret);
	url_free(&t->cfg.url);
	buf_free(&t->err);
}

/* auth= naming a mechanism the server does not advertise: a clear error
 * naming what it offers, and nothing sent after CAPABILITY. */
START_TEST(test_mechanism_not_offered)
{
	struct token_case t;
	token_begin(&t,
		"S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN] ready\n"
		"EOF\n", AUTH_XOAUTH2, "echo tok");
	ck_assert_int_eq(token_login(&t), -1);
	ck_assert_str_eq(t.err.data, "auth=xoauth2: the server does not offer AUTHENTICATE XOAUTH2 "
				     "(it offers: PLAIN LOGIN)");
	ck_assert_uint_eq(secret_runs(t.cfg.secret), 0);
	token_end(&t);
}
END_TEST

/* A refused token (the JSON answered with an empty line) is read again
 * once and the second AUTHENTICATE carries the fresh one. */
START_TEST(test_refused_token_is_retried_once_fresh)
{
	/* base64 of user=alice^Aauth=Bearer tok-N^A^A, N = 1, 2 */
	static const char script[] =
		"S: * OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR] ready\n"
		"C: <tag0> AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2stMQEB\n"
		"S: + eyJzdGF0dXMiOiI0MDEifQ==\n"
		"C: \n"
		"S: <tag0> NO [AUTHENTICATIONFAILED] Authentication failed.\n"
		"C: <tag1> AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2stMgEB\n"
		"S: <tag1> OK [CAPABILITY IMAP4rev1] in\n"
		"C: <tag2> LOGOUT\n"
		"S: * BYE bye\n"
		"S: <tag2> OK out\n"
		"EOF\n";
	char cmd[300], n[128];
	snprintf(n, sizeof n, "%s/n", work);
	/* tok-1 the first time, tok-2 after */
	snprintf(cmd, sizeof cmd, "echo x >> %s; echo tok-$(wc -l < %s)", n, n);
	struct token_case t;
	token_begin(&t, script, AUTH_XOAUTH2, cmd);
	ck_assert_msg(token_login(&t) == 0, "%s", t.err.data);
	ck_assert_uint_eq(secret_runs(t.cfg.secret), 2);
	token_end(&t);
}
END_TEST

/* Refused twice: no third try; the error has the server's words and JSON,
 * never the token. */
START_TEST(test_refused_twice_gives_up)
{
	static const char script[] =
		"S: * OK [CAPABILITY IMAP4rev1 AUTH=OAUTHBEARER] ready\n"
		"C: <tag0> AUTHENTICATE OAUTHBEARER\n"
		"S: + \n"
		"C: bixhPWFsaWNlLAFob3N0PTEyNy4wLjAuMQFwb3J0PTE0MwFhdXRoPUJlYXJlciBiYWQxAQE=\n"
		"S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\n"
		"C: AQ==\n"
		"S: <tag0> NO [AUTHENTICATIONFAILED] Authentication failed.\n"
		"C: <tag1> AUTHENTICATE OAUTHBEARER\n"
		"S: + \n"
		"C: bixhPWFsaWNlLAFob3N0PTEyNy4wLjAuMQFwb3J0PTE0MwFhdXRoPUJlYXJlciBiYWQyAQE=\n"
		"S: + eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=\n"
		"C: AQ==\n"
		"S: <tag1> NO [AUTHENTICATIONFAILED] Authentication failed.\n"
		"EOF\n";
	char cmd[300], n[128];
	snprintf(n, sizeof n, "%s/n-twice", work);
	snprintf(cmd, sizeof cmd, "echo x >> %s; echo bad$(wc -l < %s)", n, n);
	struct token_case t;
	token_begin(&t, script, AUTH_OAUTHBEARER, cmd);
	/* over a command (bash bridges it to the server), so that the port
	 * OAUTHBEARER names is the URL's fixed one */
	char bridge[256];
	snprintf(bridge, sizeof bridge,
		 "exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s || exit 1; cat <&3 & c=$!; cat >&3; kill $c'",
		 fake_port_str(t.f));
	t.cfg.command = bridge;
	t.cfg.tls_none = false;
	free(t.cfg.url.port);
	t.cfg.url.port = strdup("143");
	ck_assert_int_eq(token_login(&t), -1);
	ck_assert_msg(strstr(t.err.data, "login as alice refused") &&
		      strstr(t.err.data, "{\"status\":\"invalid_token\"}"), "%s", t.err.data);
	ck_assert_msg(!strstr(t.err.data, "bad"), "%s", t.err.data);
	ck_assert_uint_eq(secret_runs(t.cfg.secret), 2);
	token_end(&t);
}
END_TEST

/* The helper gives the token just refused again: no second login with it
 * (providers count failed logins); a clear error. */
START_TEST(test_same_token_is_not_sent_twice)
{
	/* base64 of user=alice^Aauth=Bearer same^A^A */
	struct token_case t;
	token_begin(&t,
		"S: * OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 SASL-IR] ready\n"
		"C: <tag0> AUTHENTICATE XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciBzYW1lAQE=\n"
		"S: + eyJzdGF0dXMiOiI0MDEifQ==\n"
		"C: \n"
		"S: <tag0> NO [AUTHENTICATIONFAILED] Authentication failed.\n"
		"EOF\n", AUTH_XOAUTH2, "echo same");
	ck_assert_int_eq(token_login(&t), -1);
	ck_assert_msg(strstr(t.err.data, "login as alice refused") &&
		      strstr(t.err.data, "{\"status\":\"401\"}"), "%s", t.err.data);
	ck_assert_uint_eq(secret_runs(t.cfg.secret), 2);
	token_end(&t);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("secret_token");
	TCase *tc = tcase_create("token");
	tcase_set_timeout(tc, 60);
	/* in this process: a failed test (its child gone) leaves no directory */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_passcmd_runs_again_only_when_fresh);
	tcase_add_test(tc, test_passcmd_runs_in_the_start_directory);
	tcase_add_test(tc, test_passcmd_has_a_deadline);
	tcase_add_test(tc, test_passcmd_ends_at_unmount);
	tcase_add_test(tc, test_terminal_only_when_stdin_is_one);
	tcase_add_test(tc, test_mechanism_not_offered);
	tcase_add_test(tc, test_refused_token_is_retried_once_fresh);
	tcase_add_test(tc, test_refused_twice_gives_up);
	tcase_add_test(tc, test_same_token_is_not_sent_twice);
	suite_add_tcase(su, tc);
	return check_run_suite(su) ? EXIT_FAILURE : EXIT_SUCCESS;
}
