/* check_secret.c: where the password comes from and where it must not go.
 * url_read_password (a passfile others may read warns; IMAPFS_PASSWORD is
 * wiped from the environment block; the first line only), and the pool's
 * login over -o command= against scripted servers: without a user in the
 * URL no LOGIN is ever sent. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "harness_fakefs.h"
#include "harness_os.h"
#include "remote/pool.h"
#include "url.h"

struct read_call {
	struct url_options o;
	struct imap_url u;
	int rc;
};

static void call_read_password(void *ctx)
{
	struct read_call *c = ctx;
	struct buf err = BUF_INIT;
	c->rc = url_read_password(&c->o, &c->u, &err);
	buf_free(&err);
}

/* url_read_password on a passfile of this mode holding text: the password
 * read, and what was said on stderr. */
static void read_passfile(mode_t mode, const char *text, struct buf *password, struct buf *said)
{
	char path[] = "/tmp/imapfs-pass-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
	struct read_call c = { .rc = -1 };
	c.o.passfile = path;
	c.u.user = (char *)"alice";
	ck_assert_int_eq(os_stderr_of(call_read_password, &c, said, NULL), 0);
	unlink(path);
	ck_assert_int_eq(c.rc, 0);
	buf_set(password, c.u.password, strlen(c.u.password));
	c.u.user = NULL;
	url_free(&c.u);
}

START_TEST(test_passfile_open_to_others_warns)
{
	struct buf pw = BUF_INIT, said = BUF_INIT;
	read_passfile(0644, "s3cret\r\nsecond line\n", &pw, &said);
	ck_assert_str_eq(pw.data, "s3cret");
	ck_assert_msg(strstr(said.data, "warning: passfile") && strstr(said.data, "0644") &&
		      strstr(said.data, "chmod 600"), "said: '%s'", said.data);
	ck_assert_msg(!strchr(said.data, '\n') || strchr(said.data, '\n')[1] == '\0',
		      "more than one line: '%s'", said.data);
	ck_assert_msg(!strstr(said.data, "s3cret"), "the password was shown: '%s'", said.data);
	buf_reset(&said);
	read_passfile(0640, "s3cret", &pw, &said);
	ck_assert_str_eq(pw.data, "s3cret");
	ck_assert_msg(strstr(said.data, "0640"), "said: '%s'", said.data);
	buf_reset(&said);
	read_passfile(0600, "s3cret\n", &pw, &said);
	ck_assert_str_eq(pw.data, "s3cret");
	ck_assert_str_eq(said.data, "");
	buf_reset(&said);
	read_passfile(0400, "", &pw, &said);
	ck_assert_str_eq(pw.data, "");
	ck_assert_str_eq(said.data, "");
	buf_free(&pw);
	buf_free(&said);
}
END_TEST

/* The value's bytes themselves are overwritten (in the real environment
 * block /proc/PID/environ shows them; check_mount looks there). */
START_TEST(test_env_password_wiped)
{
	ck_assert_int_eq(setenv("IMAPFS_PASSWORD", "env-s3cret", 1), 0);
	char *value = getenv("IMAPFS_PASSWORD");
	size_t len = strlen(value);
	struct read_call c = { .rc = -1 };
	c.u.user = (char *)"alice";
	struct buf said = BUF_INIT;
	ck_assert_int_eq(os_stderr_of(call_read_password, &c, &said, NULL), 0);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_str_eq(c.u.password, "env-s3cret");
	ck_assert_ptr_null(getenv("IMAPFS_PASSWORD"));
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(value[i] == '\0', "byte %zu of the value is still there", i);
	c.u.user = NULL;
	url_free(&c.u);
	buf_free(&said);
}
END_TEST

/* The first line of passcmd's output; a command that writes more than a
 * pipe holds after it is not left blocked; a failing one is an error. */
START_TEST(test_passcmd_first_line)
{
	struct url_options o = { .passcmd = (char *)"printf 'cmd-s3cret\\r\\n'; head -c 200000 /dev/zero" };
	struct imap_url u = { .user = (char *)"alice" };
	struct buf err = BUF_INIT;
	ck_assert_msg(url_read_password(&o, &u, &err) == 0, "%s", err.data);
	ck_assert_str_eq(u.password, "cmd-s3cret");
	u.user = NULL;
	url_free(&u);
	o.passcmd = (char *)"echo almost; exit 3";
	u.user = (char *)"alice";
	ck_assert_int_eq(url_read_password(&o, &u, &err), -1);
	ck_assert_ptr_null(u.password);
	ck_assert_msg(strstr(err.data, "passcmd failed"), "%s", err.data);
	buf_free(&err);
}
END_TEST

/* The command never sees a password the environment still held. */
START_TEST(test_passcmd_does_not_inherit_the_env_password)
{
	ck_assert_int_eq(setenv("IMAPFS_PASSWORD", "env-s3cret", 1), 0);
	struct url_options o = { .passcmd = (char *)"printf '%s\\n' \"${IMAPFS_PASSWORD:-none}\"" };
	struct imap_url u = { .user = (char *)"alice" };
	struct buf err = BUF_INIT;
	ck_assert_msg(url_read_password(&o, &u, &err) == 0, "%s", err.data);
	ck_assert_str_eq(u.password, "none");
	ck_assert_ptr_null(getenv("IMAPFS_PASSWORD"));
	u.user = NULL;
	url_free(&u);
	buf_free(&err);
}
END_TEST

START_TEST(test_passfile_without_line_end_limit)
{
	/* /dev/zero has no line end: refused instead of read for ever */
	struct url_options o = { .passfile = (char *)"/dev/zero" };
	struct imap_url u = { .user = (char *)"alice" };
	struct buf err = BUF_INIT;
	ck_assert_int_eq(url_read_password(&o, &u, &err), -1);
	ck_assert_msg(strstr(err.data, "longer than"), "%s", err.data);
	ck_assert_ptr_null(u.password);
	buf_free(&err);
}
END_TEST

/* ---- -o command= without a user ---- */

/* command= for a scripted server: bash bridges the command's stdin and
 * stdout to the server's TCP port. */
static void command_config(struct fs_config *cfg, const struct fake_server *f, char *cmd,
			   size_t size)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cmd, size,
		 "exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s || exit 1; cat <&3 & c=$!; cat >&3; kill $c'",
		 fake_port_str(f));
	struct buf err = BUF_INIT;
	ck_assert_int_eq(url_parse("imap://localhost", &cfg->url, &err), 0);
	ck_assert_ptr_null(cfg->url.user);
	buf_free(&err);
	cfg->command = cmd;
	cfg->connections = 1;
	cfg->timeout_s = 10;
}

/* A server that greets with PREAUTH is used as it is: CAPABILITY, then
 * the LOGOUT of pool_free; a LOGIN in between fails the script. */
START_TEST(test_command_preauth_sends_no_login)
{
	struct fake_server *f = fakefs_server_start(
		"S: * PREAUTH logged in as the user who ran the command\n"
		"C: <tag0> CAPABILITY\n"
		"S: * CAPABILITY IMAP4rev1\n"
		"S: <tag0> OK done\n"
		"C: <tag1> LOGOUT\n"
		"S: * BYE bye\n"
		"S: <tag1> OK out\n"
		"EOF\n", 0);
	struct fs_config cfg;
	char cmd[256];
	command_config(&cfg, f, cmd, sizeof cmd);
	struct pool *p;
	struct buf err = BUF_INIT;
	ck_assert_msg(pool_new(&p, &cfg, &err) == 0, "pool_new: %s", err.data);
	pool_free(p);
	fakefs_server_finish(f);
	url_free(&cfg.url);
	buf_free(&err);
}
END_TEST

/* A server that wants a login while the URL names no user: refused with a
 * clear reason, and nothing (no LOGIN "" "") is sent after CAPABILITY. */
START_TEST(test_command_login_wanted_without_user)
{
	struct fake_server *f = fakefs_server_start(
		"S: * OK ready\n"
		"C: <tag0> CAPABILITY\n"
		"S: * CAPABILITY IMAP4rev1\n"
		"S: <tag0> OK done\n"
		"EOF\n", 0);
	struct fs_config cfg;
	char cmd[256];
	command_config(&cfg, f, cmd, sizeof cmd);
	struct pool *p = NULL;
	struct buf err = BUF_INIT;
	ck_assert_int_eq(pool_new(&p, &cfg, &err), -1);
	ck_assert_msg(strstr(err.data, "names no user"), "%s", err.data);
	fakefs_server_finish(f);
	url_free(&cfg.url);
	buf_free(&err);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("secret");
	TCase *tc = tcase_create("password");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_passfile_open_to_others_warns);
	tcase_add_test(tc, test_env_password_wiped);
	tcase_add_test(tc, test_passcmd_first_line);
	tcase_add_test(tc, test_passcmd_does_not_inherit_the_env_password);
	tcase_add_test(tc, test_passfile_without_line_end_limit);
	tcase_add_test(tc, test_command_preauth_sends_no_login);
	tcase_add_test(tc, test_command_login_wanted_without_user);
	suite_add_tcase(su, tc);
	return check_run_suite(su) ? EXIT_FAILURE : EXIT_SUCCESS;
}
