/* check_mount_oauth.c: logging in with OAuth 2 tokens (-o auth=xoauth2,
 * oauthbearer) against a Dovecot whose oauth2 passdb asks a local token
 * introspection endpoint (harness_oauth2.py), and without any password
 * against a server that greets PREAUTH.
 *
 * The token comes from passcmd=, a script that prints a file and counts
 * its runs.  Tokens rotate as with a real provider: the endpoint stops
 * accepting the old one, the helper's file gets the new one, the sessions
 * are kicked; reads of mail not cached yet must go on.  A token nobody can
 * replace must give a clear log line and failed reads, with the helper run
 * a bounded number of times: one retry, never a loop. */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "harness_srv.h"
#include "imap.h"

static struct dovecot dc;
static struct mount_env env;
static char tokens_path[160];    /* what the introspection endpoint accepts */

/* The token helper of one test: passcmd prints token, then (like a helper
 * that refreshed in the background) puts next in its place if there is one. */
struct helper {
	char script[160];
	char token[160];
	char next[160];
	char runs[160];
};

static void write_text(const char *path, const char *text)
{
	char tmp[200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Only token is valid for alice from now on (NULL: none is). */
static void provider_accepts(const char *token)
{
	char line[128] = "";
	if (token)
		snprintf(line, sizeof line, "%s alice\n", token);
	write_text(tokens_path, line);
}

static void helper_make(struct helper *h, const char *name, const char *token)
{
	snprintf(h->script, sizeof h->script, "%s/helper-%s.sh", env.work, name);
	snprintf(h->token, sizeof h->token, "%s/token-%s", env.work, name);
	snprintf(h->next, sizeof h->next, "%s/next-%s", env.work, name);
	snprintf(h->runs, sizeof h->runs, "%s/runs-%s", env.work, name);
	char text[1024];
	snprintf(text, sizeof text, "#!/bin/sh\necho run >> %s\ncat %s\n"
		 "if [ -f %s ]; then mv %s %s; fi\n", h->runs, h->token, h->next, h->next, h->token);
	write_text(h->script, text);
	ck_assert_int_eq(chmod(h->script, 0700), 0);
	snprintf(text, sizeof text, "%s\n", token);
	write_text(h->token, text);
	unlink(h->runs);
}

static unsigned helper_runs(const struct helper *h)
{
	struct buf out = BUF_INIT;
	mount_sh(&out, "cat %s 2>/dev/null | wc -l", h->runs);
	unsigned n = (unsigned)atoi(out.data);
	buf_free(&out);
	return n;
}

/* imapfs with auth=mech and the helper as passcmd; the exit status if it
 * did not mount (output gets its words), -1 once mounted. */
static int mount_oauth(struct fsmount *m, const char *name, const char *mech,
		       const struct helper *h, struct buf *output)
{
	snprintf(m->dir, sizeof m->dir, "%s/mnt-%s", env.work, name);
	snprintf(m->log, sizeof m->log, "%s/log-%s", env.work, name);
	snprintf(m->cache, sizeof m->cache, "%s/cache-%s", env.work, name);
	char opts[1024], url[128];
	snprintf(opts, sizeof opts, "tls=none,auth=%s,passcmd=%s,cachedir=%s,connections=2,timeout=10",
		 mech, h->script, m->cache);
	snprintf(url, sizeof url, "imap://alice@127.0.0.1:%d", env.imap_port);
	return mount_run(&env, m, opts, url, output);
}

/* The mount's bytes of folder/uid.eml are the server's. */
static void same_bytes(const struct fsmount *m, struct imap *s, const char *folder, uint32_t uid)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s/%u.eml", m->dir, folder, uid);
	struct buf mine = BUF_INIT, text = BUF_INIT, theirs = BUF_INIT;
	ck_assert_msg(mount_slurp(path, &mine) == 0, "cannot read %s", path);
	srv_fetch(s, folder, uid, "BODY.PEEK[]", &text, &theirs);
	ck_assert_uint_gt(theirs.len, 0);
	ck_assert_uint_eq(mine.len, theirs.len);
	ck_assert_int_eq(memcmp(mine.data, theirs.data, mine.len), 0);
	buf_free(&mine);
	buf_free(&text);
	buf_free(&theirs);
}

/* Waits (30 s at most: the bound only proves nothing hangs) until the
 * mount's log has text at least once: after a kick, the next login may
 * come from the watcher reconnecting rather than from a read, which
 * read-ahead may have served from the cache already. */
static void wait_for_log(const struct fsmount *m, const char *text)
{
	for (int waited = 0; fsmount_log_count(m, text) < 1 && waited < 30000; waited += 100)
		os_sleep_ms(100);
}

/* The same for the helper's run count to pass before. */
static void wait_for_runs(const struct helper *h, unsigned before)
{
	for (int waited = 0; helper_runs(h) <= before && waited < 30000; waited += 100)
		os_sleep_ms(100);
}

static void kick_alice(void)
{
	struct buf err = BUF_INIT;
	ck_assert_msg(dovecot_kick(&dc, "alice", &err) == 0, "%s", err.data);
	buf_free(&err);
}

/* XOAUTH2: reads work; after a rotation and a kick, the new connections
 * run the helper again and log in with the new token at once. */
START_TEST(test_xoauth2_token_rotates_without_remounting)
{
	struct helper h;
	provider_accepts("tokA1xo");
	helper_make(&h, "xo", "tokA1xo");
	struct imap *s = mount_second(&env, "alice");
	/* 40: the first read's prefetch windows (8, 8) leave the end uncached */
	srv_folder(s, "OAuthX", 40);
	struct fsmount m = { .pid = 0 };
	struct buf out = BUF_INIT;
	ck_assert_msg(mount_oauth(&m, "xo", "xoauth2", &h, &out) == -1, "%s", out.data);
	same_bytes(&m, s, "OAuthX", 1);
	unsigned before = helper_runs(&h);
	ck_assert_uint_ge(before, 1);

	provider_accepts("tokB2xo");
	write_text(h.token, "tokB2xo\n");
	imap_close(s);
	kick_alice();
	s = mount_second(&env, "alice");
	for (uint32_t uid = 40; uid >= 30; uid -= 5)
		same_bytes(&m, s, "OAuthX", uid);
	wait_for_runs(&h, before);
	ck_assert_uint_gt(helper_runs(&h), before);
	ck_assert_uint_eq(fsmount_log_count(&m, "refused"), 0);
	mount_stop(&m);
	imap_close(s);
	buf_free(&out);
}
END_TEST

/* OAUTHBEARER: the helper hands out a token that just expired (and has
 * the fresh one ready): the refusal is answered, logged with the server's
 * JSON, and the one retry with the helper's next answer gets in. */
START_TEST(test_oauthbearer_expired_token_gets_one_retry)
{
	struct helper h;
	provider_accepts("tokC3ob");
	helper_make(&h, "ob", "tokC3ob");
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "OAuthB", 40);
	struct fsmount m = { .pid = 0 };
	struct buf out = BUF_INIT;
	ck_assert_msg(mount_oauth(&m, "ob", "oauthbearer", &h, &out) == -1, "%s", out.data);
	same_bytes(&m, s, "OAuthB", 1);

	provider_accepts("tokD4ob");  /* tokC3ob expired; the helper still says it once */
	write_text(h.next, "tokD4ob\n");
	imap_close(s);
	kick_alice();
	s = mount_second(&env, "alice");
	for (uint32_t uid = 40; uid >= 30; uid -= 5)
		same_bytes(&m, s, "OAuthB", uid);
	wait_for_log(&m, "reading the token again (passcmd)");
	struct buf log = BUF_INIT;
	mount_sh(&log, "tail -c 3000 '%s'", m.log);
	ck_assert_msg(fsmount_log_count(&m, "reading the token again (passcmd)") >= 1, "%s", log.data);
	buf_free(&log);
	ck_assert_uint_ge(fsmount_log_count(&m, "\"status\""), 1);
	ck_assert_uint_eq(fsmount_log_count(&m, "refused again"), 0);
	ck_assert_uint_eq(fsmount_log_count(&m, "tokC3ob"), 0);
	ck_assert_uint_eq(fsmount_log_count(&m, "tokD4ob"), 0);
	mount_stop(&m);
	imap_close(s);
	buf_free(&out);
}
END_TEST

/* A token nobody can replace: at mount, one retry then a clear error; in
 * a mount whose token went bad, reads of uncached mail fail (EIO) with a
 * clear log line, and the helper runs a bounded number of times. */
START_TEST(test_invalid_token_fails_cleanly)
{
	struct helper h;
	provider_accepts(NULL);
	helper_make(&h, "bad", "tokE5bad");
	struct fsmount m = { .pid = 0 };
	struct buf out = BUF_INIT;
	int rc = mount_oauth(&m, "bad", "xoauth2", &h, &out);
	ck_assert_msg(rc > 0, "imapfs mounted with an invalid token: %d %s", rc, out.data);
	ck_assert_msg(strstr(out.data, "login as alice refused"), "%s", out.data);
	ck_assert_msg(!strstr(out.data, "tokE5bad"), "token in the output: %s", out.data);
	ck_assert_uint_eq(helper_runs(&h), 2);

	provider_accepts("tokF6bad");
	helper_make(&h, "bad2", "tokF6bad");
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "OAuthE", 20);
	imap_close(s);
	struct fsmount m2 = { .pid = 0 };
	buf_reset(&out);
	ck_assert_msg(mount_oauth(&m2, "bad2", "xoauth2", &h, &out) == -1, "%s", out.data);
	ck_assert_int_eq(mount_sh(NULL, "ls '%s/OAuthE' > /dev/null", m2.dir), 0);
	provider_accepts(NULL);
	kick_alice();
	unsigned before = helper_runs(&h);
	buf_reset(&out);
	ck_assert_int_ne(mount_sh(&out, "cat '%s/OAuthE/20.eml' 2>&1", m2.dir), 0);
	ck_assert_msg(strstr(out.data, "Input/output error") || strstr(out.data, "timed out"), "%s",
		      out.data);
	ck_assert_uint_ge(fsmount_log_count(&m2, "passcmd gives the same token again: giving up"), 1);
	/* a few seconds more: the backoff paces any retry, nothing loops */
	sleep(4);
	unsigned after = helper_runs(&h);
	ck_assert_uint_ge(after, before + 2);
	ck_assert_msg(after <= before + 10, "passcmd ran %u times", after - before);
	mount_stop(&m2);
	buf_free(&out);
}
END_TEST

/* As a daemon (no -f: it moved to / and its stdin is /dev/null), a
 * passcmd given relative to where imapfs was started still runs for each
 * new connection. */
START_TEST(test_daemon_runs_a_relative_passcmd)
{
	struct helper h;
	provider_accepts("tokG7dm");
	helper_make(&h, "dm", "tokG7dm");
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "OAuthD", 40);
	struct fsmount m = { .pid = 0 };
	snprintf(m.dir, sizeof m.dir, "%s/mnt-dm", env.work);
	ck_assert_int_eq(mkdir(m.dir, 0755), 0);
	ck_assert_int_eq(mount_sh(NULL, "cd '%s' && '%s' -o tls=none,auth=xoauth2,passcmd=./helper-dm.sh,"
				  "cachedir=%s/cache-dm,connections=2,timeout=10 imap://alice@127.0.0.1:%d '%s' "
				  "< /dev/null > /dev/null 2>&1", env.work, env.imapfs, env.work, env.imap_port,
				  m.dir), 0);
	ck_assert(fsmount_present(m.dir));
	same_bytes(&m, s, "OAuthD", 1);
	unsigned before = helper_runs(&h);
	provider_accepts("tokH8dm");
	write_text(h.token, "tokH8dm\n");
	imap_close(s);
	kick_alice();
	s = mount_second(&env, "alice");
	same_bytes(&m, s, "OAuthD", 40);
	ck_assert_uint_gt(helper_runs(&h), before);
	ck_assert_int_eq(mount_sh(NULL, "fusermount3 -u '%s'", m.dir), 0);
	ck_assert(!fsmount_present(m.dir));
	imap_close(s);
}
END_TEST

/* No password source, a server that wants a login, imapfs on a terminal
 * (script(1) gives it one): the first connection, made before imapfs
 * becomes a daemon, asks there, and the mount works. */
START_TEST(test_terminal_asked_before_daemonizing)
{
	if (access("/usr/bin/script", X_OK) != 0) {
		fprintf(stderr, "test_terminal_asked_before_daemonizing: SKIP: no script(1)\n");
		return;
	}
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "Asked", 2);
	struct fsmount m = { .pid = 0 };
	snprintf(m.dir, sizeof m.dir, "%s/mnt-tty", env.work);
	ck_assert_int_eq(mkdir(m.dir, 0755), 0);
	struct buf out = BUF_INIT;
	mount_sh(&out, "cd '%s' && printf 'secret\\n' | timeout 60 script -qec \"'%s' -o tls=none,"
		 "cachedir=%s/cache-tty imap://alice@127.0.0.1:%d '%s'\" /dev/null 2>&1", env.work,
		 env.imapfs, env.work, env.imap_port, m.dir);
	ck_assert_msg(strstr(out.data, "Password for alice@127.0.0.1"), "%s", out.data);
	ck_assert_msg(fsmount_present(m.dir), "%s", out.data);
	same_bytes(&m, s, "Asked", 2);
	ck_assert_int_eq(mount_sh(NULL, "fusermount3 -u '%s'", m.dir), 0);
	ck_assert(!fsmount_present(m.dir));
	imap_close(s);
	buf_free(&out);
}
END_TEST

/* A spawned server that greets PREAUTH, a user in the URL, no password
 * source and no terminal: nothing to ask, it mounts and reads. */
START_TEST(test_preauth_needs_no_password)
{
	const char *dir = dovecot_imap_dir();
	ck_assert_ptr_nonnull(dir);
	struct buf maildir = BUF_INIT, out = BUF_INIT;
	dovecot_user_maildir(&dc, "alice", &maildir);
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "PreAuth", 2);
	struct fsmount m = { .pid = 0 };
	snprintf(m.dir, sizeof m.dir, "%s/mnt-preauth", env.work);
	snprintf(m.log, sizeof m.log, "%s/log-preauth", env.work);
	char opts[1024], url[64];
	snprintf(opts, sizeof opts, "cachedir=%s/cache-preauth,command=runuser -u " HARNESS_MAIL_USER
		 " -- env USER=" HARNESS_MAIL_USER " HOME=%s %s/imap -c /dev/null -o mail_location=maildir:%s",
		 env.work, maildir.data, dir, maildir.data);
	snprintf(url, sizeof url, "imap://alice@localhost");
	ck_assert_msg(mount_run(&env, &m, opts, url, &out) == -1, "imapfs did not mount: %s", out.data);
	same_bytes(&m, s, "PreAuth", 2);
	mount_stop(&m);
	imap_close(s);
	buf_free(&maildir);
	buf_free(&out);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_xoauth2_token_rotates_without_remounting);
	tcase_add_test(tc, test_oauthbearer_expired_token_gets_one_retry);
	tcase_add_test(tc, test_invalid_token_fails_cleanly);
	tcase_add_test(tc, test_daemon_runs_a_relative_passcmd);
	tcase_add_test(tc, test_terminal_asked_before_daemonizing);
	tcase_add_test(tc, test_preauth_needs_no_password);
}

int main(void)
{
	struct buf err = BUF_INIT;
	int port = os_free_port(&err);
	char dir[] = "/tmp/imapfs-oauth2-XXXXXX", portstr[16];
	if (port < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "check_mount_oauth: no port or directory: %s\n", err.data);
		return EXIT_FAILURE;
	}
	snprintf(tokens_path, sizeof tokens_path, "%s/tokens", dir);
	snprintf(portstr, sizeof portstr, "%d", port);
	char log[200];
	snprintf(log, sizeof log, "%s/introspect.log", dir);
	const char *argv[] = { "/usr/bin/env", "python3", HARNESS_SRCDIR "/tests/harness/harness_oauth2.py",
			       portstr, tokens_path, NULL };
	struct os_spawn_opts so = { .output = log, .die_with_parent = true };
	pid_t pid = os_spawn(argv, &so, &err);
	for (int i = 0; pid > 0 && i < 100 && !os_port_accepts(port); i++)
		usleep(100000);
	if (pid < 0 || !os_port_accepts(port)) {
		fprintf(stderr, "check_mount_oauth: the introspection server did not start: %s\n", err.data);
		return EXIT_FAILURE;
	}
	struct dovecot_opts o = { .oauth2_port = port };
	int status = mount_test_main_with("check_mount_oauth", &dc, &o, &env, add_tests, 240);
	kill(pid, SIGTERM);
	os_child_wait(pid, 5000, NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		status = EXIT_FAILURE;
	buf_free(&err);
	return status;
}
