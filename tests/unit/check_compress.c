/* check_compress.c: COMPRESS=DEFLATE (RFC 4978) in the transport and the
 * session's switch to it, against a peer made here with zlib itself over
 * a loopback TCP connection: a round trip both ways, writes the socket
 * cannot take at once (held compressed bytes must go out while the client
 * only waits), inflated bytes buffered past one read (pending, waits), a
 * stream that is not deflate, a decompression bomb read in bounded memory,
 * a spawned command's link (a Python zlib echo), and the session's COMPRESS
 * command with bytes right behind its OK. */
#include "config.h"
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "check_run.h"
#include "imap.h"
#include "transport.h"

#define WAIT_MS 5000

/* The server end: a blocking socket and the server's two zlib streams. */
struct peer {
	int fd;
	z_stream def, inf;
	unsigned char raw[16384];
	struct buf plain;  /* inflated, not yet taken */
};

static void peer_accept(struct peer *pe, int lfd)
{
	memset(pe, 0, sizeof *pe);
	pe->fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(pe->fd, 0);
	ck_assert_int_eq(deflateInit2(&pe->def, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	ck_assert_int_eq(inflateInit2(&pe->inf, -15), Z_OK);
	buf_init(&pe->plain);
}

static void peer_end(struct peer *pe)
{
	deflateEnd(&pe->def);
	inflateEnd(&pe->inf);
	buf_free(&pe->plain);
	if (pe->fd >= 0)
		close(pe->fd);
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		ck_assert_int_gt(w, 0);
		c += w;
		n -= (size_t)w;
	}
}

/* Deflated bytes of p (sync flushed), appended to out. */
static void peer_deflate(struct peer *pe, const void *p, size_t n, int flush, struct buf *out)
{
	pe->def.next_in = (unsigned char *)(uintptr_t)p;
	pe->def.avail_in = (uInt)n;
	do {
		unsigned char chunk[16384];
		pe->def.next_out = chunk;
		pe->def.avail_out = sizeof chunk;
		int r = deflate(&pe->def, flush);
		ck_assert(r == Z_OK || r == Z_BUF_ERROR);
		buf_add(out, chunk, sizeof chunk - pe->def.avail_out);
	} while (pe->def.avail_out == 0 || pe->def.avail_in > 0);
}

static void peer_send(struct peer *pe, const void *p, size_t n)
{
	struct buf z = BUF_INIT;
	peer_deflate(pe, p, n, Z_SYNC_FLUSH, &z);
	write_all(pe->fd, z.data, z.len);
	buf_free(&z);
}

/* Reads and inflates until pe->plain holds at least n bytes; false at EOF. */
static bool peer_fill(struct peer *pe, size_t n)
{
	while (pe->plain.len < n) {
		ssize_t r = recv(pe->fd, pe->raw, sizeof pe->raw, 0);
		if (r <= 0)
			return false;
		pe->inf.next_in = pe->raw;
		pe->inf.avail_in = (uInt)r;
		while (pe->inf.avail_in > 0) {
			unsigned char out[65536];
			pe->inf.next_out = out;
			pe->inf.avail_out = sizeof out;
			int z = inflate(&pe->inf, Z_SYNC_FLUSH);
			ck_assert_msg(z == Z_OK || z == Z_BUF_ERROR, "peer inflate: %d", z);
			buf_add(&pe->plain, out, sizeof out - pe->inf.avail_out);
		}
	}
	return true;
}

static void peer_expect(struct peer *pe, const char *want)
{
	size_t n = strlen(want);
	ck_assert(peer_fill(pe, n));
	ck_assert_msg(!memcmp(pe->plain.data, want, n), "peer got: %.*s", (int)n, pe->plain.data);
	buf_consume(&pe->plain, n);
}

static int listen_any(char port[16])
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	socklen_t len = sizeof a;
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(port, 16, "%u", ntohs(a.sin_port));
	return fd;
}

/* A client transport with COMPRESS on, and its peer. */
static struct transport *pair(struct peer *pe, const void *already, size_t n)
{
	char port[16];
	int lfd = listen_any(port);
	struct transport *t = NULL;
	struct buf err = BUF_INIT;
	ck_assert_msg(transport_connect_tcp(&t, "127.0.0.1", port, WAIT_MS, &err) == 0, "%s", err.data);
	peer_accept(pe, lfd);
	close(lfd);
	ck_assert(!transport_is_compressed(t));
	ck_assert_msg(transport_start_compress(t, already, n, &err) == 0, "%s", err.data);
	ck_assert(transport_is_compressed(t));
	ck_assert_ptr_nonnull(strstr(transport_describe(t), "COMPRESS=DEFLATE"));
	buf_free(&err);
	return t;
}

static void client_send(struct transport *t, const char *s)
{
	struct buf err = BUF_INIT;
	size_t n = strlen(s), off = 0;
	while (off < n) {
		ssize_t w = transport_write_some(t, s + off, n - off, &err);
		ck_assert_msg(w >= 0, "%s", err.data);
		if (w == 0)
			ck_assert_int_eq(transport_wait(t, false, true, WAIT_MS, &err), 1);
		off += (size_t)w;
	}
	buf_free(&err);
}

/* Reads exactly strlen(want) bytes, waiting only when nothing is pending. */
static void client_expect(struct transport *t, const char *want)
{
	struct buf err = BUF_INIT;
	size_t n = strlen(want), got = 0;
	char *b = malloc(n + 1);
	while (got < n) {
		ssize_t r = transport_read_some(t, b + got, n - got, &err);
		ck_assert_msg(r >= 0, "%s", err.data);
		if (r == 0)
			ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
		got += (size_t)r;
	}
	ck_assert(!memcmp(b, want, n));
	free(b);
	buf_free(&err);
}

START_TEST(test_round_trip)
{
	struct peer pe;
	struct transport *t = pair(&pe, NULL, 0);
	client_send(t, "a1 NOOP\r\n");
	peer_expect(&pe, "a1 NOOP\r\n");
	peer_send(&pe, "a1 OK done\r\n", 12);
	client_expect(t, "a1 OK done\r\n");
	/* the compressed bytes on the wire are not the text */
	client_send(t, "a2 LOGOUT\r\n");
	ck_assert(peer_fill(&pe, 1));
	peer_expect(&pe, "a2 LOGOUT\r\n");
	unsigned long long raw_in, plain_in, plain_out, raw_out;
	transport_compress_counts(t, &raw_in, &plain_in, &plain_out, &raw_out);
	ck_assert_uint_eq(plain_in, 12);
	ck_assert_uint_eq(plain_out, 20);
	ck_assert_uint_gt(raw_in, 0);
	ck_assert_uint_gt(raw_out, 0);
	transport_close(t);
	peer_end(&pe);
}
END_TEST

/* Bytes the server sent behind COMPRESS's OK, read with it: they are
 * compressed and come out first. */
START_TEST(test_already_read_bytes)
{
	char port[16];
	int lfd = listen_any(port);
	struct transport *t = NULL;
	struct buf err = BUF_INIT, early = BUF_INIT;
	ck_assert(transport_connect_tcp(&t, "127.0.0.1", port, WAIT_MS, &err) == 0);
	struct peer pe;
	peer_accept(&pe, lfd);
	close(lfd);
	peer_deflate(&pe, "* 3 EXISTS\r\n", 12, Z_SYNC_FLUSH, &early);
	ck_assert(transport_start_compress(t, early.data, early.len, &err) == 0);
	ck_assert_uint_eq(transport_pending(t), 12);
	peer_send(&pe, "* 4 EXISTS\r\n", 12);
	client_expect(t, "* 3 EXISTS\r\n* 4 EXISTS\r\n");
	transport_close(t);
	peer_end(&pe);
	buf_free(&err);
	buf_free(&early);
}
END_TEST

struct drain_ctx {
	struct peer *pe;
	size_t want;
	bool ok;
};

static void *drain_thread(void *arg)
{
	struct drain_ctx *d = arg;
	d->ok = peer_fill(d->pe, d->want);
	if (d->ok)
		peer_send(d->pe, "done\r\n", 6);
	return NULL;
}

/* The server does not read until the client is blocked: write_some takes
 * bytes it cannot send yet, and once the client has nothing more to write
 * and only waits to read, those held bytes must still reach the server,
 * which answers only when it has them all. */
START_TEST(test_partial_writes_flushed_while_waiting)
{
	struct peer pe;
	struct transport *t = pair(&pe, NULL, 0);
	struct buf err = BUF_INIT, sent = BUF_INIT;
	/* incompressible bytes, so the socket fills */
	unsigned int seed = 7;
	char chunk[8192];
	bool blocked = false;
	while (!blocked || sent.len < 4u << 20) {
		for (size_t i = 0; i < sizeof chunk; i++)
			chunk[i] = (char)rand_r(&seed);
		size_t off = 0;
		while (off < sizeof chunk) {
			ssize_t w = transport_write_some(t, chunk + off, sizeof chunk - off, &err);
			ck_assert_msg(w >= 0, "%s", err.data);
			if (w == 0) {
				blocked = true;
				break;
			}
			buf_add(&sent, chunk + off, (size_t)w);
			off += (size_t)w;
		}
		if (off < sizeof chunk)
			break;
	}
	ck_assert(blocked);
	struct drain_ctx d = { &pe, sent.len, false };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, drain_thread, &d), 0);
	/* nothing more to write: only reads and waits from here */
	client_expect(t, "done\r\n");
	pthread_join(th, NULL);
	ck_assert(d.ok);
	ck_assert_uint_eq(pe.plain.len, sent.len);
	ck_assert(!memcmp(pe.plain.data, sent.data, sent.len));
	transport_close(t);
	peer_end(&pe);
	buf_free(&err);
	buf_free(&sent);
}
END_TEST

/* 200 KB of text arrive in one small burst: after a short read the rest
 * is pending inside the transport, the socket is quiet, and a wait for
 * reading must say so at once. */
START_TEST(test_pending_and_wait)
{
	struct peer pe;
	struct transport *t = pair(&pe, NULL, 0);
	struct buf err = BUF_INIT, text = BUF_INIT;
	while (text.len < 200000)
		buf_addf(&text, "* %zu FETCH (FLAGS (\\Seen))\r\n", text.len);
	peer_send(&pe, text.data, text.len);
	char b[16];
	ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
	ssize_t r;
	while ((r = transport_read_some(t, b, sizeof b, &err)) == 0)
		ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
	ck_assert_int_eq(r, (ssize_t)sizeof b);
	ck_assert_uint_gt(transport_pending(t), 0);
	/* the socket holds nothing more now: only the transport's own buffer */
	size_t got = sizeof b;
	char *all = malloc(text.len);
	memcpy(all, b, sizeof b);
	while (got < text.len) {
		ck_assert_int_eq(transport_wait(t, true, false, 0, &err), 1);
		r = transport_read_some(t, all + got, text.len - got, &err);
		ck_assert_msg(r >= 0, "%s", err.data);
		if (r == 0)  /* the peer's burst may still be on its way */
			ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
		got += (size_t)r;
	}
	ck_assert(!memcmp(all, text.data, text.len));
	ck_assert_uint_eq(transport_pending(t), 0);
	free(all);
	transport_close(t);
	peer_end(&pe);
	buf_free(&err);
	buf_free(&text);
}
END_TEST

/* A server that sends bytes that are not deflate fails the read with the
 * reason, and a wait does not hang on it. */
START_TEST(test_garbage_fails)
{
	struct peer pe;
	struct transport *t = pair(&pe, NULL, 0);
	struct buf err = BUF_INIT;
	write_all(pe.fd, "* OK plain text, not deflate\r\n\xff\xff\xff\xff", 34);
	ssize_t r;
	char b[256];
	int rounds = 0;
	while ((r = transport_read_some(t, b, sizeof b, &err)) >= 0) {
		ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
		ck_assert_int_lt(++rounds, 100);
	}
	ck_assert_msg(strstr(err.data, "COMPRESS: the server's data does not inflate") != NULL, "got: %s",
		      err.data);
	/* it stays failed */
	ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
	ck_assert_int_eq(transport_read_some(t, b, sizeof b, &err), -1);
	transport_close(t);
	peer_end(&pe);
	buf_free(&err);
}
END_TEST

struct bomb_ctx {
	struct peer *pe;
	size_t total;
};

static void *bomb_thread(void *arg)
{
	struct bomb_ctx *b = arg;
	static const char zeros[1 << 16];
	struct buf z = BUF_INIT;
	for (size_t sent = 0; sent < b->total; sent += sizeof zeros) {
		buf_reset(&z);
		peer_deflate(b->pe, zeros, sizeof zeros, Z_NO_FLUSH, &z);
		write_all(b->pe->fd, z.data, z.len);
	}
	buf_reset(&z);
	peer_deflate(b->pe, "", 0, Z_SYNC_FLUSH, &z);
	write_all(b->pe->fd, z.data, z.len);
	buf_free(&z);
	return NULL;
}

static long max_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 64 MiB of zeros deflate to about 64 KiB: the transport hands them over
 * a buffer at a time without ever holding them. */
START_TEST(test_bomb_bounded)
{
	struct peer pe;
	struct transport *t = pair(&pe, NULL, 0);
	struct buf err = BUF_INIT;
	struct bomb_ctx b = { &pe, (size_t)64 << 20 };
	long rss0 = max_rss_kb();
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, bomb_thread, &b), 0);
	char *p = malloc(65536);
	size_t got = 0;
	while (got < b.total) {
		ssize_t r = transport_read_some(t, p, 65536, &err);
		ck_assert_msg(r >= 0, "%s", err.data);
		ck_assert_int_le(r, 65536);
		if (r == 0)
			ck_assert_int_eq(transport_wait(t, true, false, WAIT_MS, &err), 1);
		ck_assert(r == 0 || (p[0] == 0 && !memcmp(p, p + 1, (size_t)r - 1)));
		got += (size_t)r;
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(got, b.total);
	ck_assert_int_lt(max_rss_kb() - rss0, 32 * 1024);
	free(p);
	transport_close(t);
	peer_end(&pe);
	buf_free(&err);
}
END_TEST

/* The spawned-command transport: a Python zlib echo on the command's
 * stdin and stdout.  Writing and reading interleave (the echo stops
 * reading while its output is full), every byte comes back. */
START_TEST(test_spawned_echo)
{
	const char *cmd = "exec python3 -c 'import os, zlib\n"
			  "d = zlib.decompressobj(-15)\n"
			  "c = zlib.compressobj(6, zlib.DEFLATED, -15)\n"
			  "while True:\n"
			  "    b = os.read(0, 65536)\n"
			  "    if not b:\n"
			  "        break\n"
			  "    o = d.decompress(b)\n"
			  "    if o:\n"
			  "        o = c.compress(o) + c.flush(zlib.Z_SYNC_FLUSH)\n"
			  "        while o:\n"
			  "            o = o[os.write(1, o):]\n'";
	struct transport *t = NULL;
	struct buf err = BUF_INIT, text = BUF_INIT, back = BUF_INIT;
	ck_assert_msg(transport_spawn(&t, cmd, &err) == 0, "spawn: %s", err.data);
	ck_assert_msg(transport_start_compress(t, NULL, 0, &err) == 0, "%s", err.data);
	ck_assert(transport_peer_is_local(t));
	while (text.len < 2u << 20)
		buf_addf(&text, "* %zu FETCH (BODY[] {%zu}\r\n", text.len, text.len % 977);
	size_t sent = 0;
	char b[65536];
	while (back.len < text.len) {
		if (sent < text.len) {
			ssize_t w = transport_write_some(t, text.data + sent, text.len - sent, &err);
			ck_assert_msg(w >= 0, "%s", err.data);
			sent += (size_t)w;
		}
		ssize_t r = transport_read_some(t, b, sizeof b, &err);
		ck_assert_msg(r >= 0, "%s", err.data);
		buf_add(&back, b, (size_t)r);
		if (r == 0)
			ck_assert_int_eq(transport_wait(t, true, sent < text.len, WAIT_MS, &err), 1);
	}
	ck_assert_uint_eq(back.len, text.len);
	ck_assert(!memcmp(back.data, text.data, text.len));
	transport_close(t);
	buf_free(&err);
	buf_free(&text);
	buf_free(&back);
}
END_TEST

/* The session's switch: the server offers COMPRESS=DEFLATE, answers OK
 * and sends compressed bytes right behind the OK, in the same segment. */
struct server_ctx {
	int lfd;
	char tag[32];
	bool refuse;
};

static void *server_thread(void *arg)
{
	struct server_ctx *sc = arg;
	struct peer pe;
	peer_accept(&pe, sc->lfd);
	const char *greet = "* OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] ready\r\n";
	write_all(pe.fd, greet, strlen(greet));
	char line[256];
	size_t n = 0;
	while (n < sizeof line - 1 && (n < 2 || memcmp(line + n - 2, "\r\n", 2))) {
		ssize_t r = recv(pe.fd, line + n, 1, 0);
		ck_assert_int_eq(r, 1);
		n++;
	}
	line[n] = '\0';
	char *sp = strchr(line, ' ');
	ck_assert_ptr_nonnull(sp);
	ck_assert_str_eq(sp, " COMPRESS DEFLATE\r\n");
	snprintf(sc->tag, sizeof sc->tag, "%.*s", (int)(sp - line), line);
	struct buf out = BUF_INIT;
	if (sc->refuse) {
		buf_addf(&out, "%s NO [COMPRESSIONACTIVE] not now\r\n", sc->tag);
		write_all(pe.fd, out.data, out.len);
		/* plain from here: a NOOP and its answer */
		ck_assert_int_gt(recv(pe.fd, line, sizeof line - 1, 0), 0);
		buf_reset(&out);
		buf_addf(&out, "%.*s OK plain\r\n", (int)strcspn(line, " "), line);
		write_all(pe.fd, out.data, out.len);
	} else {
		buf_addf(&out, "%s OK DEFLATE active\r\n", sc->tag);
		peer_deflate(&pe, "* 9 EXISTS\r\n", 12, Z_SYNC_FLUSH, &out);
		write_all(pe.fd, out.data, out.len);
		ck_assert(peer_fill(&pe, 1));
		while (!memmem(pe.plain.data, pe.plain.len, "\r\n", 2))
			ck_assert(peer_fill(&pe, pe.plain.len + 1));
		const char *nl = memmem(pe.plain.data, pe.plain.len, " NOOP\r\n", 7);
		ck_assert_ptr_nonnull(nl);
		buf_reset(&out);
		buf_addf(&out, "%.*s OK squeezed\r\n", (int)(nl - pe.plain.data), pe.plain.data);
		peer_send(&pe, out.data, out.len);
	}
	buf_free(&out);
	peer_end(&pe);
	return NULL;
}

static unsigned long exists_seen;

static void on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			const struct imap_resp *r)
{
	(void)ctx;
	(void)s;
	(void)raw;
	if (r && r->has_number && !strcmp(r->name, "EXISTS"))
		exists_seen = (unsigned long)r->number;
}

static void session_compress(bool refuse)
{
	char port[16];
	struct server_ctx sc = { .lfd = listen_any(port), .refuse = refuse };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, server_thread, &sc), 0);
	struct imap_endpoint ep = { .kind = IMAP_LINK_TCP, .host = "127.0.0.1", .port = port };
	struct imap_opts o = { .timeout_ms = WAIT_MS };
	struct imap *s = NULL;
	struct buf err = BUF_INIT;
	ck_assert_msg(imap_client_open(&s, &ep, &o, &err) == 0, "%s", err.data);
	imap_set_untagged_handler(s, on_untagged, NULL);
	exists_seen = 0;
	ck_assert(imap_peer_is_local(s));
	int rc = imap_client_compress(s);
	ck_assert_int_eq(rc, refuse ? IMAP_ERROR : IMAP_OK);
	ck_assert(imap_is_compressed(s) == !refuse);
	struct imap_cmd *c = imap_cmd_new("NOOP");
	ck_assert_int_eq(imap_submit(s, c), 0);
	ck_assert_int_eq(imap_wait(s, c), 0);
	ck_assert_msg(imap_cmd_ok(c), "%s", imap_cmd_text(c));
	ck_assert_str_eq(imap_cmd_text(c), refuse ? "plain" : "squeezed");
	if (!refuse)
		ck_assert_uint_eq(exists_seen, 9);
	imap_cmd_free(c);
	pthread_join(th, NULL);
	imap_close(s);
	close(sc.lfd);
	buf_free(&err);
}

START_TEST(test_session_compress)
{
	session_compress(false);
}
END_TEST

START_TEST(test_session_compress_refused)
{
	session_compress(true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compress");
	TCase *tc = tcase_create("deflate");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_already_read_bytes);
	tcase_add_test(tc, test_partial_writes_flushed_while_waiting);
	tcase_add_test(tc, test_pending_and_wait);
	tcase_add_test(tc, test_garbage_fails);
	tcase_add_test(tc, test_bomb_bounded);
	tcase_add_test(tc, test_spawned_echo);
	tcase_add_test(tc, test_session_compress);
	tcase_add_test(tc, test_session_compress_refused);
	suite_add_tcase(s, tc);
	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
