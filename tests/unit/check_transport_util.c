/* check_transport_util.c: the helpers the parts of check_transport share.
 * Every read and write waits at most WAIT_MS, so a broken transport fails
 * its test instead of hanging the run. */
#include "config.h"
#include <check.h>
#include <ftw.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "check_transport_util.h"
#include "fake.h"
#include "harness_cert.h"
#include "transport.h"
#include "xalloc.h"

int read_line(struct transport *t, struct buf *in, struct buf *line, struct buf *err)
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

void expect_line(struct transport *t, struct buf *in, const char *want)
{
	struct buf line = BUF_INIT, err = BUF_INIT;
	ck_assert_msg(read_line(t, in, &line, &err) == 0, "reading '%s': %s", want, err.data);
	ck_assert_str_eq(line.data, want);
	buf_free(&line);
	buf_free(&err);
}

void send_str(struct transport *t, const char *s)
{
	struct buf err = BUF_INIT;
	ck_assert_msg(write_all(t, s, strlen(s), &err) == 0, "writing '%s': %s", s, err.data);
	buf_free(&err);
}

struct fake_server *start_fake(const char *script, const struct fake_opts *o)
{
	struct buf err = BUF_INIT;
	struct fake_server *f = fake_start(script, o, &err);
	ck_assert_msg(f != NULL, "fake_start: %s", err.data);
	buf_free(&err);
	return f;
}

void finish_ok(struct fake_server *f)
{
	struct buf err = BUF_INIT;
	int r = fake_finish(f, &err);
	ck_assert_msg(r == 0, "%s", err.data);
	buf_free(&err);
}

struct transport *connect_ok(const char *host, const struct fake_server *f)
{
	struct transport *t = NULL;
	struct buf err = BUF_INIT;
	int r = transport_connect_tcp(&t, host, fake_port_str(f), WAIT_MS, &err);
	ck_assert_msg(r == 0, "connect %s: %s", host, err.data);
	ck_assert_ptr_nonnull(t);
	buf_free(&err);
	return t;
}

bool have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
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

static char cert_dir[256];
struct test_certs certs;

void certs_setup(void)
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

void certs_teardown(void)
{
	if (cert_dir[0])
		nftw(cert_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

struct fake_opts tls_fake_opts(bool implicit)
{
	/* loading the system trust store takes seconds under valgrind on a
	 * loaded machine: the server must outwait it */
	struct fake_opts o = { .implicit_tls = implicit, .certs = &certs, .timeout_ms = 30000 };
	return o;
}

void big_write_with_slow_reader(bool tls)
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
