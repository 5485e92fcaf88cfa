/* check_transport_tls.c: TLS, implicit and by STARTTLS, against the fake
 * server with certificates made for the test.  Verification must fail
 * closed (unknown CA, wrong name or IP, the system store that does not
 * know our CA), cleartext bytes after the STARTTLS answer must never be
 * taken as TLS data, and data GnuTLS holds decrypted must still be seen
 * by the caller that polls. */
#include "config.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "check_transport_util.h"
#include "fake.h"
#include "harness_cert.h"
#include "transport.h"
#include "xalloc.h"

static size_t count_not(const char *p, size_t n, char c)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] != c;
	return k;
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

void check_transport_add_tls(Suite *s)
{
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
}
