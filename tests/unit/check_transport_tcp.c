/* check_transport_tcp.c: plain TCP connects and I/O against the fake
 * server.  Every way a connect can fail (refused, unknown host, no answer)
 * must end within its deadline with an error that names the cause, and a
 * peer that goes away must show as EOF or a failed write, never as a
 * SIGPIPE that kills the process. */
#include "config.h"
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "check_transport_util.h"
#include "fake.h"
#include "transport.h"

static const char *const echo_script =
	"S: * OK fake ready\n"
	"C: <tag1> NOOP\n"
	"S: <tag1> OK NOOP completed\n"
	"EOF\n";

static void run_echo_exchange(struct transport *t)
{
	struct buf in = BUF_INIT;
	expect_line(t, &in, "* OK fake ready\r\n");
	send_str(t, "a1 NOOP\r\n");
	expect_line(t, &in, "a1 OK NOOP completed\r\n");
	buf_free(&in);
}

START_TEST(test_tcp_ipv4)
{
	struct fake_server *f = start_fake(echo_script, NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	ck_assert(!transport_is_tls(t));
	ck_assert_int_ge(transport_fd(t), 0);
	ck_assert_ptr_nonnull(strstr(transport_describe(t), "127.0.0.1:"));
	run_echo_exchange(t);
	transport_close(t);
	finish_ok(f);
}
END_TEST

/* "localhost" may resolve to ::1 first: the connect must go on to the
 * next address when one is refused. */
START_TEST(test_tcp_name_tries_every_address)
{
	struct fake_server *f = start_fake(echo_script, NULL);
	struct transport *t = connect_ok("localhost", f);
	run_echo_exchange(t);
	transport_close(t);
	finish_ok(f);
}
END_TEST

START_TEST(test_tcp_ipv6)
{
	if (!have_ipv6()) {
		fprintf(stderr, "test_tcp_ipv6: skipped, no IPv6 on this host\n");
		return;
	}
	struct fake_opts o = { .ipv6 = true };
	struct fake_server *f = start_fake(echo_script, &o);
	struct transport *t = connect_ok("::1", f);
	ck_assert_ptr_nonnull(strstr(transport_describe(t), "[::1]:"));
	run_echo_exchange(t);
	transport_close(t);
	finish_ok(f);
}
END_TEST

START_TEST(test_tcp_refused)
{
	/* A bound socket that does not listen: its port answers with RST. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	char port[16];
	snprintf(port, sizeof port, "%u", ntohs(a.sin_port));

	struct transport *t = (struct transport *)&a; /* must be reset to NULL */
	struct buf err = BUF_INIT;
	ck_assert_int_eq(transport_connect_tcp(&t, "127.0.0.1", port, WAIT_MS, &err), -1);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err.data, "connection refused") != NULL, "got: %s", err.data);
	ck_assert_msg(strstr(err.data, port) != NULL, "got: %s", err.data);
	buf_free(&err);
	close(fd);
}
END_TEST

START_TEST(test_tcp_host_not_found)
{
	struct transport *t = NULL;
	struct buf err = BUF_INIT;
	ck_assert_int_eq(transport_connect_tcp(&t, "no-such-host.invalid", "143", WAIT_MS, &err), -1);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err.data, "host not found: no-such-host.invalid") != NULL, "got: %s",
		      err.data);
	buf_free(&err);
}
END_TEST

/* A listener whose accept queue is full drops new SYNs, so the connect
 * can only end by the timeout. */
START_TEST(test_tcp_connect_timeout)
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

	struct transport *t = NULL;
	struct buf err = BUF_INIT;
	ck_assert_int_eq(transport_connect_tcp(&t, "127.0.0.1", port, 300, &err), -1);
	ck_assert_msg(strstr(err.data, "timed out") != NULL, "got: %s", err.data);
	buf_free(&err);
	close(filler);
	close(lfd);
}
END_TEST

START_TEST(test_tcp_wait_times_out_when_server_is_silent)
{
	struct fake_server *f = start_fake(echo_script, NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf in = BUF_INIT, err = BUF_INIT;
	expect_line(t, &in, "* OK fake ready\r\n");
	/* The script waits for our command: nothing can arrive now. */
	ck_assert_int_eq(transport_wait(t, true, false, 100, &err), 0);
	char c;
	ck_assert_int_eq(transport_read_some(t, &c, 1, &err), 0);
	ck_assert(!transport_eof(t));
	ck_assert_str_eq(err.data, "");
	send_str(t, "a1 NOOP\r\n");
	expect_line(t, &in, "a1 OK NOOP completed\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&in);
	buf_free(&err);
}
END_TEST

START_TEST(test_tcp_eof_and_no_sigpipe)
{
	struct fake_server *f = start_fake("S: * BYE going away\nCLOSE\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf in = BUF_INIT, line = BUF_INIT, err = BUF_INIT;
	expect_line(t, &in, "* BYE going away\r\n");
	ck_assert_int_eq(read_line(t, &in, &line, &err), -1);
	ck_assert(transport_eof(t));
	ck_assert_msg(strstr(err.data, "closed") != NULL, "got: %s", err.data);
	finish_ok(f);
	/* Writing to the closed peer fails (RST, then EPIPE) without a SIGPIPE
	 * killing this process. */
	ssize_t r = 0;
	for (int i = 0; i < 100 && r >= 0; i++) {
		buf_reset(&err);
		r = transport_write_some(t, "a2 NOOP\r\n", 9, &err);
		if (r >= 0)
			transport_wait(t, true, false, 10, NULL);
	}
	ck_assert_int_eq(r, -1);
	ck_assert_msg(strstr(err.data, "write failed") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&in);
	buf_free(&line);
	buf_free(&err);
}
END_TEST

/* The server does not read until we are blocked, so write_some must report
 * partial progress and 0, and every byte must still arrive in order. */
START_TEST(test_tcp_big_write_slow_reader)
{
	big_write_with_slow_reader(false);
}
END_TEST

void check_transport_add_tcp(Suite *s)
{
	TCase *tcp = tcase_create("tcp");
	tcase_set_timeout(tcp, 60);
	tcase_add_test(tcp, test_tcp_ipv4);
	tcase_add_test(tcp, test_tcp_name_tries_every_address);
	tcase_add_test(tcp, test_tcp_ipv6);
	tcase_add_test(tcp, test_tcp_refused);
	tcase_add_test(tcp, test_tcp_host_not_found);
	tcase_add_test(tcp, test_tcp_connect_timeout);
	tcase_add_test(tcp, test_tcp_wait_times_out_when_server_is_silent);
	tcase_add_test(tcp, test_tcp_eof_and_no_sigpipe);
	tcase_add_test(tcp, test_tcp_big_write_slow_reader);
	suite_add_tcase(s, tcp);
}
