/* check_transport_spawn.c: the transport to a spawned command (the
 * tunnel or preauthenticated imapd case).  The child is a process of ours:
 * closing must reap it, even one that ignores SIGTERM, and writing after it
 * exited must fail without a SIGPIPE. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_transport_util.h"
#include "transport.h"

static pid_t parse_pid(const char *line)
{
	const char *p = strstr(line, "pid ");
	ck_assert_ptr_nonnull(p);
	return (pid_t)strtol(p + 4, NULL, 10);
}

START_TEST(test_spawn_echo_eof_and_reap)
{
	const char *cmd = "printf '* PREAUTH pid %s\\r\\n' $$; "
			  "while IFS= read -r line; do printf 'echo %s\\n' \"$line\"; done; "
			  "printf 'bye\\r\\n'";
	struct transport *t = NULL;
	struct buf err = BUF_INIT, in = BUF_INIT, line = BUF_INIT;
	ck_assert_msg(transport_spawn(&t, cmd, &err) == 0, "spawn: %s", err.data);
	ck_assert(!transport_is_tls(t));
	ck_assert_ptr_nonnull(strstr(transport_describe(t), "command"));
	ck_assert_int_eq(read_line(t, &in, &line, &err), 0);
	pid_t pid = parse_pid(line.data);
	ck_assert_int_gt(pid, 1);
	send_str(t, "a1 NOOP\r\n");
	expect_line(t, &in, "echo a1 NOOP\r\n");
	send_str(t, "a2 LOGOUT\r\n");
	expect_line(t, &in, "echo a2 LOGOUT\r\n");
	/* Closing its input ends the loop; its output then ends too. */
	transport_shutdown(t);
	ck_assert_int_eq(transport_write_some(t, "x", 1, &err), -1);
	expect_line(t, &in, "bye\r\n");
	buf_reset(&err);
	ck_assert_int_eq(read_line(t, &in, &line, &err), -1);
	ck_assert(transport_eof(t));
	ck_assert_msg(strstr(err.data, "closed") != NULL, "got: %s", err.data);
	transport_close(t);
	/* Reaped: not even a zombie is left. */
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	buf_free(&err);
	buf_free(&in);
	buf_free(&line);
}
END_TEST

START_TEST(test_spawn_close_kills_stubborn_child)
{
	const char *cmd = "printf 'pid %s\\r\\n' $$; trap '' TERM; exec sleep 30";
	struct transport *t = NULL;
	struct buf err = BUF_INIT, in = BUF_INIT, line = BUF_INIT;
	ck_assert_msg(transport_spawn(&t, cmd, &err) == 0, "spawn: %s", err.data);
	ck_assert_int_eq(read_line(t, &in, &line, &err), 0);
	pid_t pid = parse_pid(line.data);
	ck_assert_int_gt(pid, 1);
	transport_close(t);
	ck_assert_int_eq(kill(pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	buf_free(&err);
	buf_free(&in);
	buf_free(&line);
}
END_TEST

START_TEST(test_spawn_write_after_exit_no_sigpipe)
{
	struct transport *t = NULL;
	struct buf err = BUF_INIT, in = BUF_INIT, line = BUF_INIT;
	ck_assert_msg(transport_spawn(&t, "exit 3", &err) == 0, "spawn: %s", err.data);
	ck_assert_int_eq(read_line(t, &in, &line, &err), -1);
	ck_assert(transport_eof(t));
	buf_reset(&err);
	ck_assert_int_eq(transport_write_some(t, "a1 NOOP\r\n", 9, &err), -1);
	ck_assert_msg(strstr(err.data, "write failed") != NULL, "got: %s", err.data);
	/* No TLS over a pipe. */
	buf_reset(&err);
	ck_assert_int_eq(transport_start_tls(t, NULL, &err), -1);
	ck_assert_msg(strstr(err.data, "TCP") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&err);
	buf_free(&in);
	buf_free(&line);
}
END_TEST

void check_transport_add_spawn(Suite *s)
{
	TCase *spawn = tcase_create("spawn");
	tcase_set_timeout(spawn, 60);
	tcase_add_test(spawn, test_spawn_echo_eof_and_reap);
	tcase_add_test(spawn, test_spawn_close_kills_stubborn_child);
	tcase_add_test(spawn, test_spawn_write_after_exit_no_sigpipe);
	suite_add_tcase(s, spawn);
}
