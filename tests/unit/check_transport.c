/* check_transport.c: TCP, TLS and spawned-command transports against the
 * scripted fake server, SASL mechanisms, and the fake server itself. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "check_run.h"
#include "fake.h"
#include "harness_cert.h"
#include "sasl.h"
#include "transport.h"

/* Bounds every wait so a broken transport fails instead of hanging. */
#define WAIT_MS 5000

/* ---------------- helpers ---------------- */

static int read_line(struct transport *t, struct buf *in, struct buf *line, struct buf *err)
{
	for (;;) {
		char *nl = memchr(in->data, '\n', in->len);
		if (nl) {
			size_t n = (size_t)(nl - in->data) + 1;
			buf_set(line, in->data, n);
			buf_consume(in, n);
			return 0;
		}
		char tmp[4096];
		ssize_t r = transport_read_some(t, tmp, sizeof tmp, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			buf_add(in, tmp, (size_t)r);
			continue;
		}
		int w = transport_wait(t, true, false, WAIT_MS, err);
		if (w == 0)
			buf_addstr(err, "test: no line within the wait limit");
		if (w <= 0)
			return -1;
	}
}

static int write_all(struct transport *t, const void *p, size_t n, struct buf *err)
{
	const char *s = p;
	while (n > 0) {
		ssize_t r = transport_write_some(t, s, n, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			int w = transport_wait(t, false, true, WAIT_MS, err);
			if (w == 0)
				buf_addstr(err, "test: not writable within the wait limit");
			if (w <= 0)
				return -1;
			continue;
		}
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

static void expect_line(struct transport *t, struct buf *in, const char *want)
{
	struct buf line = BUF_INIT, err = BUF_INIT;
	ck_assert_msg(read_line(t, in, &line, &err) == 0, "reading '%s': %s", want, err.data);
	ck_assert_str_eq(line.data, want);
	buf_free(&line);
	buf_free(&err);
}

static void send_str(struct transport *t, const char *s)
{
	struct buf err = BUF_INIT;
	ck_assert_msg(write_all(t, s, strlen(s), &err) == 0, "writing '%s': %s", s, err.data);
	buf_free(&err);
}

static struct fake_server *start_fake(const char *script, const struct fake_opts *o)
{
	struct buf err = BUF_INIT;
	struct fake_server *f = fake_start(script, o, &err);
	ck_assert_msg(f != NULL, "fake_start: %s", err.data);
	buf_free(&err);
	return f;
}

static void finish_ok(struct fake_server *f)
{
	struct buf err = BUF_INIT;
	int r = fake_finish(f, &err);
	ck_assert_msg(r == 0, "%s", err.data);
	buf_free(&err);
}

static struct transport *connect_ok(const char *host, const struct fake_server *f)
{
	struct transport *t = NULL;
	struct buf err = BUF_INIT;
	int r = transport_connect_tcp(&t, host, fake_port_str(f), WAIT_MS, &err);
	ck_assert_msg(r == 0, "connect %s: %s", host, err.data);
	ck_assert_ptr_nonnull(t);
	buf_free(&err);
	return t;
}

static bool have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static size_t count_not(const char *p, size_t n, char c)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] != c;
	return k;
}

/* A fixed, non-periodic byte pattern and the script line that checks it. */
static char *make_pattern(size_t n, struct buf *clit_line)
{
	char *p = xmalloc(n);
	unsigned x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (char)(x >> 16);
	}
	unsigned char d[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, p, n, d);
	buf_addf(clit_line, "C-LITERAL %zu sha256:", n);
	for (int i = 0; i < 32; i++)
		buf_addf(clit_line, "%02x", d[i]);
	buf_addch(clit_line, '\n');
	return p;
}

/* ---------------- TCP ---------------- */

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
static void big_write_with_slow_reader(bool tls);

START_TEST(test_tcp_big_write_slow_reader)
{
	big_write_with_slow_reader(false);
}
END_TEST

/* ---------------- spawned command ---------------- */

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

/* ---------------- TLS ---------------- */

static char cert_dir[256];
static struct test_certs certs;

static void certs_setup(void)
{
	snprintf(cert_dir, sizeof cert_dir, "/tmp/imapfs-check-transport-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(cert_dir));
	struct buf err = BUF_INIT;
	ck_assert_msg(test_certs_make(cert_dir, &certs, &err) == 0, "certs: %s", err.data);
	buf_free(&err);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void certs_teardown(void)
{
	if (cert_dir[0])
		nftw(cert_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct fake_opts tls_fake_opts(bool implicit)
{
	/* loading the system trust store takes seconds under valgrind on a
	 * loaded machine: the server must outwait it */
	struct fake_opts o = { .implicit_tls = implicit, .certs = &certs, .timeout_ms = 30000 };
	return o;
}

static struct transport *tls_connect(const char *host, struct fake_server *f,
				     const struct tls_opts *to, struct buf *err)
{
	struct transport *t = connect_ok(host, f);
	if (transport_start_tls(t, to, err) < 0) {
		transport_close(t);
		return NULL;
	}
	return t;
}

START_TEST(test_tls_verify_servername_and_sni)
{
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("SNI localhost\n"
					   "S: * OK over TLS\n"
					   "C: <tag1> NOOP\n"
					   "S: <tag1> OK done\n"
					   "EOF\n", &o);
	struct tls_opts to = { .servername = "localhost", .cafile = certs.cafile };
	struct buf err = BUF_INIT, sni = BUF_INIT, in = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	ck_assert(transport_is_tls(t));
	ck_assert_ptr_nonnull(strstr(transport_describe(t), "TLS"));
	ck_assert_ptr_nonnull(strstr(transport_describe(t), "verified"));
	ck_assert_int_eq(fake_sni(f, &sni), 0);
	ck_assert_str_eq(sni.data, "localhost");
	expect_line(t, &in, "* OK over TLS\r\n");
	send_str(t, "a1 NOOP\r\n");
	expect_line(t, &in, "a1 OK done\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
	buf_free(&sni);
	buf_free(&in);
}
END_TEST

/* The connect host is the default name; an IP address is checked against
 * the certificate's IP SANs and sent as no SNI at all. */
START_TEST(test_tls_verify_ip_address)
{
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("SNI\nS: * OK over TLS\nEOF\n", &o);
	struct tls_opts to = { .cafile = certs.cafile };
	struct buf err = BUF_INIT, sni = BUF_INIT, in = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	ck_assert_int_eq(fake_sni(f, &sni), 0);
	ck_assert_str_eq(sni.data, "");
	expect_line(t, &in, "* OK over TLS\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
	buf_free(&sni);
	buf_free(&in);
}
END_TEST

START_TEST(test_tls_verify_ipv6_address)
{
	if (!have_ipv6()) {
		fprintf(stderr, "test_tls_verify_ipv6_address: skipped, no IPv6 on this host\n");
		return;
	}
	struct fake_opts o = tls_fake_opts(true);
	o.ipv6 = true;
	struct fake_server *f = start_fake("S: * OK over TLS\nEOF\n", &o);
	struct tls_opts to = { .cafile = certs.cafile };
	struct buf err = BUF_INIT, in = BUF_INIT;
	struct transport *t = tls_connect("::1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	expect_line(t, &in, "* OK over TLS\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
	buf_free(&in);
}
END_TEST

static void expect_tls_failure(const struct tls_opts *to, const char *host, const char *want)
{
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("S: * OK must not be seen\n", &o);
	struct buf err = BUF_INIT, ferr = BUF_INIT;
	struct transport *t = tls_connect(host, f, to, &err);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err.data, want) != NULL, "wanted '%s', got: %s", want, err.data);
	/* The server saw the handshake fail too. */
	ck_assert_int_eq(fake_finish(f, &ferr), -1);
	ck_assert_msg(strstr(ferr.data, "TLS handshake failed") != NULL, "got: %s", ferr.data);
	buf_free(&err);
	buf_free(&ferr);
}

START_TEST(test_tls_unknown_ca_fails)
{
	struct tls_opts to = { .servername = "localhost", .cafile = certs.otherca };
	expect_tls_failure(&to, "127.0.0.1", "certificate verify failed for localhost: signer not found");
}
END_TEST

START_TEST(test_tls_hostname_mismatch_fails)
{
	struct tls_opts to = { .servername = "imap.example.org", .cafile = certs.cafile };
	expect_tls_failure(&to, "127.0.0.1", "hostname mismatch");
}
END_TEST

/* An IP address is matched for real, not waved through. */
START_TEST(test_tls_ip_mismatch_fails)
{
	struct tls_opts to = { .servername = "127.0.0.2", .cafile = certs.cafile };
	expect_tls_failure(&to, "127.0.0.1", "certificate verify failed for 127.0.0.2: hostname mismatch");
}
END_TEST

START_TEST(test_tls_system_trust_rejects_test_ca)
{
	/* No cafile: the system store is used, and it does not know our CA. */
	struct tls_opts to = { .servername = "localhost" };
	expect_tls_failure(&to, "127.0.0.1", "certificate verify failed");
}
END_TEST

START_TEST(test_tls_insecure_skips_verification)
{
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("S: * OK anyway\nEOF\n", &o);
	struct tls_opts to = { .servername = "imap.example.org", .cafile = certs.otherca,
			       .insecure = true };
	struct buf err = BUF_INIT, in = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	ck_assert_ptr_nonnull(strstr(transport_describe(t), "NOT verified"));
	expect_line(t, &in, "* OK anyway\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
	buf_free(&in);
}
END_TEST

START_TEST(test_tls_bad_options)
{
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("S: * OK\n", &o);
	struct buf err = BUF_INIT, ferr = BUF_INIT;
	struct tls_opts half = { .cafile = certs.cafile, .certfile = certs.certfile };
	struct transport *t = connect_ok("127.0.0.1", f);
	ck_assert_int_eq(transport_start_tls(t, &half, &err), -1);
	ck_assert_msg(strstr(err.data, "both a certificate and a key") != NULL, "got: %s", err.data);
	buf_reset(&err);
	struct tls_opts missing = { .cafile = "/nonexistent/ca.pem" };
	ck_assert_int_eq(transport_start_tls(t, &missing, &err), -1);
	ck_assert_msg(strstr(err.data, "cannot load CA file /nonexistent/ca.pem") != NULL,
		      "got: %s", err.data);
	transport_close(t);
	ck_assert_int_eq(fake_finish(f, &ferr), -1); /* it never got a handshake */
	buf_free(&err);
	buf_free(&ferr);
}
END_TEST

START_TEST(test_tls_client_certificate_loads)
{
	/* The fake server does not ask for it; this checks the option path. */
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("S: * OK\nEOF\n", &o);
	struct tls_opts to = { .cafile = certs.cafile, .certfile = certs.certfile,
			       .keyfile = certs.keyfile };
	struct buf err = BUF_INIT, in = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	expect_line(t, &in, "* OK\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
	buf_free(&in);
}
END_TEST

START_TEST(test_tls_starttls)
{
	struct fake_opts o = tls_fake_opts(false);
	struct fake_server *f = start_fake("S: * OK [CAPABILITY IMAP4rev1 STARTTLS] plain\n"
					   "C: <tag1> STARTTLS\n"
					   "S: <tag1> OK Begin TLS negotiation now\n"
					   "TLS\n"
					   "SNI localhost\n"
					   "C: <tag2> CAPABILITY\n"
					   "S: * CAPABILITY IMAP4rev1 AUTH=PLAIN\n"
					   "S: <tag2> OK done\n"
					   "EOF\n", &o);
	struct transport *t = connect_ok("localhost", f);
	struct buf err = BUF_INIT, in = BUF_INIT;
	expect_line(t, &in, "* OK [CAPABILITY IMAP4rev1 STARTTLS] plain\r\n");
	send_str(t, "s1 STARTTLS\r\n");
	expect_line(t, &in, "s1 OK Begin TLS negotiation now\r\n");
	ck_assert(!transport_is_tls(t));
	struct tls_opts to = { .cafile = certs.cafile };
	ck_assert_msg(transport_start_tls(t, &to, &err) == 0, "STARTTLS: %s", err.data);
	ck_assert(transport_is_tls(t));
	ck_assert_int_eq(transport_start_tls(t, &to, &err), -1); /* only once */
	send_str(t, "s2 CAPABILITY\r\n");
	expect_line(t, &in, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
	expect_line(t, &in, "s2 OK done\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
	buf_free(&in);
}
END_TEST

/* Bytes that follow the tagged OK in the clear must never become TLS data. */
START_TEST(test_tls_starttls_refuses_unread_bytes)
{
	struct fake_opts o = tls_fake_opts(false);
	struct fake_server *f = start_fake("C: <tag1> STARTTLS\n"
					   "S+ <tag1> OK begin\\r\\n* OK [CAPABILITY IMAP4rev1] injected\\r\\n\n"
					   "DRAIN\n", &o);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf err = BUF_INIT;
	send_str(t, "s1 STARTTLS\r\n");
	/* Read exactly the tagged line and leave the rest in the socket. */
	const char *ok = "s1 OK begin\r\n";
	char got[64];
	size_t have = 0;
	while (have < strlen(ok)) {
		ssize_t r = transport_read_some(t, got + have, strlen(ok) - have, &err);
		ck_assert_msg(r >= 0, "read: %s", err.data);
		if (r == 0)
			ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
		have += (size_t)r;
	}
	ck_assert_int_eq(memcmp(got, ok, have), 0);
	struct tls_opts to = { .cafile = certs.cafile };
	ck_assert_int_eq(transport_start_tls(t, &to, &err), -1);
	ck_assert_msg(strstr(err.data, "before the handshake") != NULL, "got: %s", err.data);
	ck_assert(!transport_is_tls(t));
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
}
END_TEST

START_TEST(test_tls_garbage_instead_of_handshake)
{
	struct fake_opts o = { 0 };
	/* Answer the ClientHello (so the bytes cannot arrive before it). */
	struct fake_server *f = start_fake("C-LITERAL 1\nS: * OK this is no TLS server\nDRAIN\n", &o);
	struct tls_opts to = { .servername = "localhost", .cafile = certs.cafile };
	struct buf err = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err.data, "TLS handshake failed") != NULL, "got: %s", err.data);
	finish_ok(f);
	buf_free(&err);
}
END_TEST

START_TEST(test_tls_handshake_timeout)
{
	struct fake_opts o = { 0 };
	struct fake_server *f = start_fake("PAUSE\nDRAIN\n", &o);
	struct tls_opts to = { .cafile = certs.cafile, .timeout_ms = 200 };
	struct buf err = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err.data, "TLS handshake timed out") != NULL, "got: %s", err.data);
	fake_resume(f);
	finish_ok(f);
	buf_free(&err);
}
END_TEST

/* Two lines in one record: after reading the first bytes the rest sits
 * decrypted inside GnuTLS where poll() cannot see it. */
START_TEST(test_tls_pending_and_big_read)
{
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("S+ * OK one\\r\\n* OK two\\r\\n\n"
					   "S: * 1 FETCH (BODY[] {1048576}\n"
					   "LITERAL 1048576 y\n"
					   "S: )\n"
					   "EOF\n", &o);
	struct tls_opts to = { .cafile = certs.cafile };
	struct buf err = BUF_INIT, in = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	char first[4];
	ssize_t r;
	while ((r = transport_read_some(t, first, sizeof first, &err)) == 0)
		ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
	ck_assert_int_eq(r, 4);
	ck_assert_int_eq(memcmp(first, "* OK", 4), 0);
	ck_assert_uint_eq(transport_pending(t), strlen(" one\r\n* OK two\r\n"));
	ck_assert_int_eq(transport_wait(t, true, false, 0, &err), 1);
	expect_line(t, &in, " one\r\n");
	expect_line(t, &in, "* OK two\r\n");
	expect_line(t, &in, "* 1 FETCH (BODY[] {1048576}\r\n");
	size_t got = in.len, wrong = count_not(in.data, in.len, 'y');
	char chunk[65536];
	while (got < 1048576) {
		size_t want = 1048576 - got < sizeof chunk ? 1048576 - got : sizeof chunk;
		r = transport_read_some(t, chunk, want, &err);
		ck_assert_msg(r >= 0, "read: %s", err.data);
		if (r == 0) {
			ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
			continue;
		}
		wrong += count_not(chunk, (size_t)r, 'y');
		got += (size_t)r;
	}
	ck_assert_uint_eq(wrong, 0);
	buf_reset(&in);
	expect_line(t, &in, ")\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&err);
	buf_free(&in);
}
END_TEST

START_TEST(test_tls_eof_and_no_sigpipe)
{
	struct fake_opts o = tls_fake_opts(true);
	struct fake_server *f = start_fake("S: * BYE\nCLOSE\n", &o);
	struct tls_opts to = { .cafile = certs.cafile };
	struct buf err = BUF_INIT, in = BUF_INIT, line = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	expect_line(t, &in, "* BYE\r\n");
	ck_assert_int_eq(read_line(t, &in, &line, &err), -1);
	ck_assert(transport_eof(t));
	finish_ok(f);
	ssize_t r = 0;
	for (int i = 0; i < 100 && r >= 0; i++) {
		buf_reset(&err);
		r = transport_write_some(t, "a1 NOOP\r\n", 9, &err);
	}
	ck_assert_int_eq(r, -1);
	ck_assert_msg(strstr(err.data, "TLS write failed") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&err);
	buf_free(&in);
	buf_free(&line);
}
END_TEST

START_TEST(test_tls_big_write_slow_reader)
{
	big_write_with_slow_reader(true);
}
END_TEST

/* After write_some returned 0 in TLS the record is committed: offering other
 * bytes next is a caller bug that must be caught, not silently corrupt. */
START_TEST(test_tls_write_retry_must_repeat_data)
{
	struct fake_opts o = tls_fake_opts(true);
	o.rcvbuf = 16384;
	struct fake_server *f = start_fake("PAUSE\nDRAIN\n", &o);
	struct tls_opts to = { .cafile = certs.cafile };
	struct buf err = BUF_INIT;
	struct transport *t = tls_connect("127.0.0.1", f, &to, &err);
	ck_assert_msg(t != NULL, "TLS: %s", err.data);
	int small = 16384;
	setsockopt(transport_fd(t), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	size_t n = 1 << 20;
	char *a = xmalloc(n), *b = xmalloc(n);
	memset(a, 'a', n);
	memset(b, 'b', n);
	size_t off = 0;
	ssize_t r;
	while ((r = transport_write_some(t, a + off, n - off, &err)) > 0)
		off += (size_t)r;
	ck_assert_msg(r == 0, "write: %s", err.data);
	ck_assert_uint_lt(off, n);
	ck_assert_int_eq(transport_write_some(t, b, n - off, &err), -1);
	ck_assert_msg(strstr(err.data, "different data") != NULL, "got: %s", err.data);
	fake_resume(f);
	transport_close(t);
	fake_finish(f, NULL); /* it read a cut stream: not the point here */
	free(a);
	free(b);
	buf_free(&err);
}
END_TEST

static void big_write_with_slow_reader(bool tls)
{
	const size_t n = 4u << 20;
	struct buf script = BUF_INIT, err = BUF_INIT, in = BUF_INIT;
	buf_addstr(&script, "S: * OK send it\nPAUSE\n");
	char *data = make_pattern(n, &script);
	buf_addstr(&script, "S: * OK got it\nEOF\n");
	struct fake_opts o = tls_fake_opts(tls);
	o.rcvbuf = 65536;
	struct fake_server *f = start_fake(script.data, &o);
	struct transport *t = connect_ok("127.0.0.1", f);
	int small = 65536;
	setsockopt(transport_fd(t), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	if (tls) {
		struct tls_opts to = { .cafile = certs.cafile };
		ck_assert_msg(transport_start_tls(t, &to, &err) == 0, "TLS: %s", err.data);
	}
	expect_line(t, &in, "* OK send it\r\n");

	size_t off = 0;
	bool saw_partial = false, saw_zero = false, resumed = false;
	while (off < n) {
		ssize_t r = transport_write_some(t, data + off, n - off, &err);
		ck_assert_msg(r >= 0, "write: %s", err.data);
		if ((size_t)r < n - off && r > 0)
			saw_partial = true;
		off += (size_t)r;
		if (r > 0)
			continue;
		saw_zero = true;
		if (!resumed) {
			/* Buffers are full and the reader is paused: let it read. */
			fake_resume(f);
			resumed = true;
		}
		ck_assert_int_eq(transport_wait(t, false, true, WAIT_MS, &err), 1);
	}
	ck_assert(saw_partial);
	ck_assert(saw_zero);
	expect_line(t, &in, "* OK got it\r\n");
	transport_close(t);
	finish_ok(f);
	free(data);
	buf_free(&script);
	buf_free(&err);
	buf_free(&in);
}

/* ---------------- SASL ---------------- */

START_TEST(test_base64_rfc4648_vectors)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		struct buf enc = BUF_INIT, dec = BUF_INIT, err = BUF_INIT;
		sasl_base64_encode(&enc, vec[i][0], strlen(vec[i][0]));
		ck_assert_str_eq(enc.data, vec[i][1]);
		ck_assert_int_eq(sasl_base64_decode(&dec, vec[i][1], strlen(vec[i][1]), &err), 0);
		ck_assert_uint_eq(dec.len, strlen(vec[i][0]));
		ck_assert_str_eq(dec.data, vec[i][0]);
		buf_free(&enc);
		buf_free(&dec);
		buf_free(&err);
	}
	/* Every byte value survives a round trip, and '+' '/' are used. */
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	sasl_base64_encode(&enc, all, sizeof all);
	ck_assert_ptr_nonnull(strchr(enc.data, '+'));
	ck_assert_ptr_nonnull(strchr(enc.data, '/'));
	ck_assert_int_eq(sasl_base64_decode(&dec, enc.data, enc.len, NULL), 0);
	ck_assert_uint_eq(dec.len, sizeof all);
	ck_assert_int_eq(memcmp(dec.data, all, sizeof all), 0);
	buf_free(&enc);
	buf_free(&dec);
}
END_TEST

START_TEST(test_base64_rejects_bad_input)
{
	static const char *const bad[] = {
		"Zm9", "Zm9v!", "Zg=", "Z===", "Zm=v", "Zh==", "Zm9=", "Zm9=Zm9v", "Zm 9v", "Zm9v\r\n",
		"=Zm9", "Zm9v====", "Zg==Zg==", "Zm9-", "Zm9_",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf dec = BUF_INIT, err = BUF_INIT;
		buf_addstr(&dec, "kept");
		ck_assert_msg(sasl_base64_decode(&dec, bad[i], strlen(bad[i]), &err) == -1,
			      "accepted '%s'", bad[i]);
		ck_assert_str_eq(dec.data, "kept");
		ck_assert_msg(strstr(err.data, "invalid base64") != NULL, "got: %s", err.data);
		buf_free(&dec);
		buf_free(&err);
	}
}
END_TEST

static void step_ok(struct sasl *a, const char *challenge, const void *want, size_t wantlen)
{
	struct buf resp = BUF_INIT;
	bool cancel = true;
	ck_assert_int_eq(sasl_step(a, challenge, strlen(challenge), &resp, &cancel), 0);
	ck_assert(!cancel);
	ck_assert_uint_eq(resp.len, wantlen);
	ck_assert_int_eq(memcmp(resp.data, want, wantlen), 0);
	sasl_wipe(&resp);
	ck_assert_uint_eq(resp.len, 0);
}

static void step_cancels(struct sasl *a, const char *challenge)
{
	struct buf resp = BUF_INIT;
	bool cancel = false;
	ck_assert_int_eq(sasl_step(a, challenge, strlen(challenge), &resp, &cancel), 0);
	ck_assert(cancel);
	ck_assert_uint_eq(resp.len, 0);
	sasl_wipe(&resp);
}

START_TEST(test_sasl_plain)
{
	struct sasl *a = sasl_new("plain", "tim", "tanstaaftanstaaf", NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(sasl_mechanism(a), "PLAIN");
	ck_assert(sasl_has_initial_response(a));
	step_ok(a, "", "\0tim\0tanstaaftanstaaf", 21);
	step_cancels(a, "again?");
	sasl_free(a);

	a = sasl_new("PLAIN", "tim", "secret", NULL);
	sasl_set_authzid(a, "admin");
	step_ok(a, "", "admin\0tim\0secret", 16);
	sasl_free(a);

	struct buf out = BUF_INIT, enc = BUF_INIT;
	sasl_plain_response(&out, NULL, "alice", "secret");
	sasl_base64_encode(&enc, out.data, out.len);
	ck_assert_str_eq(enc.data, "AGFsaWNlAHNlY3JldA==");
	sasl_wipe(&out);
	buf_free(&enc);
}
END_TEST

START_TEST(test_sasl_login)
{
	struct sasl *a = sasl_new("LOGIN", "tim", "tanstaaftanstaaf", NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert(!sasl_has_initial_response(a));
	step_ok(a, "Username:", "tim", 3);
	step_ok(a, "Password:", "tanstaaftanstaaf", 16);
	step_cancels(a, "Password:");
	sasl_free(a);

	/* Prompts are matched by meaning, and unknown ones go by order. */
	a = sasl_new("login", "tim", "pw", NULL);
	step_ok(a, "PASSWORD", "pw", 2);
	step_ok(a, "User Name", "tim", 3);
	step_cancels(a, "anything else");
	sasl_free(a);
	a = sasl_new("login", "tim", "pw", NULL);
	step_ok(a, "", "tim", 3);
	step_ok(a, "", "pw", 2);
	sasl_free(a);
}
END_TEST

START_TEST(test_sasl_cram_md5_rfc2195)
{
	const char *challenge_b64 = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
	struct buf challenge = BUF_INIT, resp = BUF_INIT, enc = BUF_INIT;
	ck_assert_int_eq(sasl_base64_decode(&challenge, challenge_b64, strlen(challenge_b64), NULL), 0);
	ck_assert_str_eq(challenge.data, "<1896.697170952@postoffice.reston.mci.net>");

	struct sasl *a = sasl_new("cram-md5", "tim", "tanstaaftanstaaf", NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(sasl_mechanism(a), "CRAM-MD5");
	ck_assert(!sasl_has_initial_response(a));
	bool cancel = true;
	ck_assert_int_eq(sasl_step(a, challenge.data, challenge.len, &resp, &cancel), 0);
	ck_assert(!cancel);
	ck_assert_str_eq(resp.data, "tim b913a602c7eda7a495b4e6e7334d3890");
	sasl_base64_encode(&enc, resp.data, resp.len);
	ck_assert_str_eq(enc.data, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	step_cancels(a, "more?");
	sasl_free(a);

	sasl_wipe(&resp);
	ck_assert_int_eq(sasl_cram_md5_response(&resp, "tim", "tanstaaftanstaaf", challenge.data,
						challenge.len, NULL), 0);
	ck_assert_str_eq(resp.data, "tim b913a602c7eda7a495b4e6e7334d3890");
	sasl_wipe(&resp);
	buf_free(&challenge);
	buf_free(&enc);
}
END_TEST

START_TEST(test_sasl_xoauth2)
{
	const char *token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
	const char *want = "user=someuser@example.com\001auth=Bearer "
			   "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001";
	struct sasl *a = sasl_new("XOAUTH2", "someuser@example.com", token, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert(sasl_has_initial_response(a));
	step_ok(a, "", want, strlen(want));
	/* A failure comes as a JSON challenge that wants an empty answer. */
	step_ok(a, "{\"status\":\"401\",\"schemes\":\"bearer\"}", "", 0);
	step_cancels(a, "{}");
	sasl_free(a);

	struct buf out = BUF_INIT, enc = BUF_INIT, err = BUF_INIT;
	ck_assert_int_eq(sasl_xoauth2_response(&out, "someuser@example.com", token, &err), 0);
	sasl_base64_encode(&enc, out.data, out.len);
	ck_assert_str_eq(enc.data, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxb"
				   "VRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
	ck_assert_ptr_null(sasl_new("XOAUTH2", "evil\001auth=Bearer x", token, &err));
	ck_assert_msg(strstr(err.data, "\\001") != NULL, "got: %s", err.data);
	sasl_wipe(&out);
	buf_free(&enc);
	buf_free(&err);
}
END_TEST

START_TEST(test_sasl_unknown_mechanism)
{
	struct buf err = BUF_INIT;
	ck_assert_ptr_null(sasl_new("GSSAPI", "u", "p", &err));
	ck_assert_str_eq(err.data, "SASL mechanism not supported: GSSAPI");
	buf_free(&err);
}
END_TEST

/* ---------------- the fake server itself ---------------- */

START_TEST(test_fake_reports_wrong_client_line)
{
	struct fake_server *f = start_fake("S: * OK ready\n"
					   "C: <tag1> LOGIN alice \"secret\"\n"
					   "S: <tag1> OK LOGIN completed\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf in = BUF_INIT, err = BUF_INIT;
	expect_line(t, &in, "* OK ready\r\n");
	send_str(t, "a1 LOGIN alice wrong\r\n");
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "script line 2") != NULL, "got: %s", err.data);
	ck_assert_msg(strstr(err.data, "expected C: '<tag1> LOGIN alice \"secret\"'") != NULL,
		      "got: %s", err.data);
	ck_assert_msg(strstr(err.data, "got 'a1 LOGIN alice wrong'") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&in);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_binds_tags_and_escapes)
{
	struct fake_server *f = start_fake("# comments and blank lines are skipped\n"
					   "\n"
					   "S+ * OK \\x41\\\\B\\tC\\r\\n\n"
					   "C: <tag7> SELECT \"x\\x3ctag1>\"\n"
					   "S: <tag7> OK [READ-WRITE] done\n"
					   "LITERAL 5 z\n"
					   "S:\n"
					   "C: DONE\n"
					   "EOF\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf in = BUF_INIT;
	expect_line(t, &in, "* OK A\\B\tC\r\n");
	send_str(t, "X0042 SELECT \"x<tag1>\"\r\n");
	expect_line(t, &in, "X0042 OK [READ-WRITE] done\r\n");
	expect_line(t, &in, "zzzzz\r\n");
	send_str(t, "DONE\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&in);
}
END_TEST

START_TEST(test_fake_reports_bare_lf_and_early_close)
{
	struct fake_server *f = start_fake("C: a1 NOOP\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf err = BUF_INIT;
	send_str(t, "a1 NOOP\n");
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "bare LF") != NULL, "got: %s", err.data);
	transport_close(t);

	buf_reset(&err);
	f = start_fake("C: a1 NOOP\nC: a2 NOOP\n", NULL);
	t = connect_ok("127.0.0.1", f);
	send_str(t, "a1 NOOP\r\n");
	transport_close(t);
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "script line 2: expected C: 'a2 NOOP', got end of stream") != NULL,
		      "got: %s", err.data);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_times_out)
{
	struct fake_opts o = { .timeout_ms = 200 };
	struct fake_server *f = start_fake("S: * OK\nC: a1 NOOP\n", &o);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(fake_finish(f, &err), -1); /* we never send the command */
	ck_assert_msg(strstr(err.data, "timed out after 200 ms awaiting a client line") != NULL,
		      "got: %s", err.data);
	transport_close(t);

	buf_reset(&err);
	f = start_fake("S: * OK\n", &o); /* nobody connects */
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "waiting for a client to connect") != NULL, "got: %s",
		      err.data);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_rejects_bad_scripts)
{
	static const char *const bad[][2] = {
		{ "S: ok\nBOGUS 1\n", "line 2: unknown directive 'BOGUS'" },
		{ "SLEEP soon\n", "SLEEP MS" },
		{ "C-LITERAL 5 sha256:zz\n", "C-LITERAL N" },
		{ "S: \\q\n", "bad escape" },
		{ "C: <tag99> NOOP\n", "at most" },
		{ "TLS\n", "certs is NULL" },
		{ "EOF now\n", "takes no argument" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf err = BUF_INIT;
		ck_assert_ptr_null(fake_start(bad[i][0], NULL, &err));
		ck_assert_msg(strstr(err.data, bad[i][1]) != NULL, "script '%s': got %s", bad[i][0],
			      err.data);
		buf_free(&err);
	}
	/* A tag sent before any C: line bound it fails at run time. */
	struct buf err = BUF_INIT;
	struct fake_server *f = start_fake("S: <tag3> OK\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "<tag3> is used before") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_accepts_a_second_connection)
{
	struct fake_server *f = start_fake("S: * OK first\n"
					   "EOF\n"
					   "ACCEPT\n"
					   "S: * OK second\n"
					   "C: <tag1> LOGOUT\n"
					   "S: * BYE\n"
					   "CLOSE\n", NULL);
	struct buf in = BUF_INIT, line = BUF_INIT, err = BUF_INIT;
	struct transport *t = connect_ok("127.0.0.1", f);
	expect_line(t, &in, "* OK first\r\n");
	transport_close(t);
	buf_reset(&in);
	t = connect_ok("127.0.0.1", f);
	expect_line(t, &in, "* OK second\r\n");
	send_str(t, "a1 LOGOUT\r\n");
	expect_line(t, &in, "* BYE\r\n");
	ck_assert_int_eq(read_line(t, &in, &line, &err), -1);
	ck_assert(transport_eof(t));
	transport_close(t);
	finish_ok(f);
	buf_free(&in);
	buf_free(&line);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_checks_client_literal_fill)
{
	struct fake_server *f = start_fake("C: a1 APPEND INBOX {6}\nC-LITERAL 6 q\nC: \n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf err = BUF_INIT;
	send_str(t, "a1 APPEND INBOX {6}\r\nqqqxqq\r\n");
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "byte 3 is 0x78, expected 'q'") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("transport");

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

	TCase *spawn = tcase_create("spawn");
	tcase_set_timeout(spawn, 60);
	tcase_add_test(spawn, test_spawn_echo_eof_and_reap);
	tcase_add_test(spawn, test_spawn_close_kills_stubborn_child);
	tcase_add_test(spawn, test_spawn_write_after_exit_no_sigpipe);
	suite_add_tcase(s, spawn);

	TCase *tls = tcase_create("tls");
	tcase_set_timeout(tls, 60);
	tcase_add_unchecked_fixture(tls, certs_setup, certs_teardown);
	tcase_add_test(tls, test_tls_verify_servername_and_sni);
	tcase_add_test(tls, test_tls_verify_ip_address);
	tcase_add_test(tls, test_tls_verify_ipv6_address);
	tcase_add_test(tls, test_tls_unknown_ca_fails);
	tcase_add_test(tls, test_tls_hostname_mismatch_fails);
	tcase_add_test(tls, test_tls_ip_mismatch_fails);
	tcase_add_test(tls, test_tls_system_trust_rejects_test_ca);
	tcase_add_test(tls, test_tls_insecure_skips_verification);
	tcase_add_test(tls, test_tls_bad_options);
	tcase_add_test(tls, test_tls_client_certificate_loads);
	tcase_add_test(tls, test_tls_starttls);
	tcase_add_test(tls, test_tls_starttls_refuses_unread_bytes);
	tcase_add_test(tls, test_tls_garbage_instead_of_handshake);
	tcase_add_test(tls, test_tls_handshake_timeout);
	tcase_add_test(tls, test_tls_pending_and_big_read);
	tcase_add_test(tls, test_tls_eof_and_no_sigpipe);
	tcase_add_test(tls, test_tls_big_write_slow_reader);
	tcase_add_test(tls, test_tls_write_retry_must_repeat_data);
	suite_add_tcase(s, tls);

	TCase *sasl = tcase_create("sasl");
	tcase_add_test(sasl, test_base64_rfc4648_vectors);
	tcase_add_test(sasl, test_base64_rejects_bad_input);
	tcase_add_test(sasl, test_sasl_plain);
	tcase_add_test(sasl, test_sasl_login);
	tcase_add_test(sasl, test_sasl_cram_md5_rfc2195);
	tcase_add_test(sasl, test_sasl_xoauth2);
	tcase_add_test(sasl, test_sasl_unknown_mechanism);
	suite_add_tcase(s, sasl);

	TCase *fake = tcase_create("fake");
	tcase_set_timeout(fake, 60);
	tcase_add_test(fake, test_fake_reports_wrong_client_line);
	tcase_add_test(fake, test_fake_binds_tags_and_escapes);
	tcase_add_test(fake, test_fake_reports_bare_lf_and_early_close);
	tcase_add_test(fake, test_fake_times_out);
	tcase_add_test(fake, test_fake_rejects_bad_scripts);
	tcase_add_test(fake, test_fake_accepts_a_second_connection);
	tcase_add_test(fake, test_fake_checks_client_literal_fill);
	suite_add_tcase(s, fake);

	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
