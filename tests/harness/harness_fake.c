/* harness_fake.c: the scripted fake IMAP server (see fake.h). */
#include "config.h"
#include "fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

#define FAKE_MAX_TAGS 32
#define FAKE_MAX_LINE (1024 * 1024)
#define FAKE_CHUNK 65536
#define FAKE_DEFAULT_TIMEOUT_MS 5000

enum fake_op {
	FAKE_SEND, FAKE_SEND_RAW, FAKE_EXPECT, FAKE_LITERAL, FAKE_C_LITERAL, FAKE_TLS, FAKE_SNI,
	FAKE_SLEEP, FAKE_PAUSE, FAKE_CLOSE, FAKE_EOF, FAKE_DRAIN, FAKE_ACCEPT,
};

/* Text with tag placeholders: a piece is either bytes or a tag number. */
struct fake_piece {
	int tag;          /* -1 for text */
	struct buf text;
};

struct fake_step {
	enum fake_op op;
	int line;
	struct fake_piece *pieces;
	size_t npieces;
	uint64_t count;   /* LITERAL, C-LITERAL: bytes; SLEEP: ms */
	char fill;
	bool check_fill;
	bool check_hash;
	unsigned char sha256[32];
	char *name;       /* SNI: expected name, NULL for none */
};

struct fake_server {
	struct fake_step *steps;
	size_t nsteps;
	struct fake_opts opts;
	struct test_certs certs;
	gnutls_certificate_credentials_t cred;
	int listen_fd;
	int port;
	char port_str[16];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool resumed;     /* under mu */
	bool handshaken;  /* under mu */
	bool done;        /* under mu */
	char sni[256];    /* under mu */

	/* The script thread's own state; read by others only after the join. */
	struct buf error;
	int fd;
	gnutls_session_t tls;
	struct buf in;
	struct buf tags[FAKE_MAX_TAGS];
	bool bound[FAKE_MAX_TAGS];
	const struct fake_step *cur;
};

static long long fake_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Printable rendering of bytes for messages, cut after a few hundred. */
static void fake_show(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t shown = n > 300 ? 300 : n;
	buf_addch(out, '\'');
	for (size_t i = 0; i < shown; i++) {
		if (s[i] == '\r')
			buf_addstr(out, "\\r");
		else if (s[i] == '\n')
			buf_addstr(out, "\\n");
		else if (s[i] == '\\')
			buf_addstr(out, "\\\\");
		else if (s[i] < 32 || s[i] >= 127)
			buf_addf(out, "\\x%02x", s[i]);
		else
			buf_addch(out, (char)s[i]);
	}
	buf_addch(out, '\'');
	if (shown < n)
		buf_addf(out, "... (%zu bytes)", n);
}

static void fake_show_pattern(struct buf *out, const struct fake_step *st)
{
	struct buf flat = BUF_INIT;
	for (size_t i = 0; i < st->npieces; i++) {
		if (st->pieces[i].tag >= 0)
			buf_addf(&flat, "<tag%d>", st->pieces[i].tag);
		else
			buf_add(&flat, st->pieces[i].text.data, st->pieces[i].text.len);
	}
	fake_show(out, flat.data, flat.len);
	buf_free(&flat);
}

/* Records the first failure, prefixed with where the script was. */
static int fake_fail(struct fake_server *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fake_fail(struct fake_server *f, const char *fmt, ...)
{
	if (f->error.len)
		return -1;
	if (f->cur)
		buf_addf(&f->error, "fake server: script line %d: ", f->cur->line);
	else
		buf_addstr(&f->error, "fake server: ");
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&f->error, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---------------- script parsing ---------------- */

static int fake_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static struct buf *fake_text_piece(struct fake_step *st)
{
	if (!st->npieces || st->pieces[st->npieces - 1].tag >= 0) {
		st->pieces = xrealloc(st->pieces, (st->npieces + 1) * sizeof *st->pieces);
		st->pieces[st->npieces].tag = -1;
		buf_init(&st->pieces[st->npieces].text);
		st->npieces++;
	}
	return &st->pieces[st->npieces - 1].text;
}

static int fake_parse_text(struct fake_step *st, const char *s, size_t n, struct buf *err)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == '<' && n - i > 5 && strncmp(s + i, "<tag", 4) == 0) {
			size_t j = i + 4;
			int num = 0;
			while (j < n && s[j] >= '0' && s[j] <= '9' && num < 1000)
				num = num * 10 + (s[j++] - '0');
			if (j > i + 4 && j < n && s[j] == '>') {
				if (num >= FAKE_MAX_TAGS) {
					buf_addf(err, "fake script line %d: <tag%d>: at most %d tags",
						 st->line, num, FAKE_MAX_TAGS);
					return -1;
				}
				st->pieces = xrealloc(st->pieces, (st->npieces + 1) * sizeof *st->pieces);
				st->pieces[st->npieces].tag = num;
				buf_init(&st->pieces[st->npieces].text);
				st->npieces++;
				i = j + 1;
				continue;
			}
		}
		struct buf *out = fake_text_piece(st);
		if (s[i] != '\\') {
			buf_addch(out, s[i++]);
			continue;
		}
		char e = i + 1 < n ? s[i + 1] : '\0';
		if (e == 'r' || e == 'n' || e == 't' || e == '\\') {
			buf_addch(out, e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : '\\');
			i += 2;
		} else if (e == 'x' && i + 3 < n && fake_hex(s[i + 2]) >= 0 && fake_hex(s[i + 3]) >= 0) {
			buf_addch(out, (char)(fake_hex(s[i + 2]) * 16 + fake_hex(s[i + 3])));
			i += 4;
		} else {
			buf_addf(err, "fake script line %d: bad escape at column %zu", st->line, i + 1);
			return -1;
		}
	}
	return 0;
}

static int fake_parse_count(const char *s, uint64_t *out, const char **end)
{
	char *e;
	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || v > (1ULL << 40))
		return -1;
	*out = v;
	*end = e;
	return 0;
}

static int fake_parse_clit(struct fake_step *st, const char *rest, struct buf *err)
{
	while (*rest == ' ')
		rest++;
	if (!*rest)
		return 0;
	if (strncmp(rest, "sha256:", 7) == 0) {
		const char *h = rest + 7;
		if (strlen(h) != 64)
			goto bad;
		for (int i = 0; i < 32; i++) {
			int hi = fake_hex(h[2 * i]), lo = fake_hex(h[2 * i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			st->sha256[i] = (unsigned char)(hi * 16 + lo);
		}
		st->check_hash = true;
		return 0;
	}
	if (rest[1] != '\0')
		goto bad;
	st->fill = rest[0];
	st->check_fill = true;
	return 0;
bad:
	buf_addf(err, "fake script line %d: C-LITERAL N [c | sha256:HEX]", st->line);
	return -1;
}

static int fake_parse_line(struct fake_step *st, const char *s, size_t n, struct buf *err)
{
	static const struct {
		const char *word;
		enum fake_op op;
	} words[] = {
		{ "LITERAL", FAKE_LITERAL }, { "C-LITERAL", FAKE_C_LITERAL }, { "TLS", FAKE_TLS },
		{ "SNI", FAKE_SNI }, { "SLEEP", FAKE_SLEEP }, { "PAUSE", FAKE_PAUSE },
		{ "CLOSE", FAKE_CLOSE }, { "EOF", FAKE_EOF }, { "DRAIN", FAKE_DRAIN },
		{ "ACCEPT", FAKE_ACCEPT },
	};
	if (n >= 2 && (strncmp(s, "S:", 2) == 0 || strncmp(s, "S+", 2) == 0 ||
		       strncmp(s, "C:", 2) == 0)) {
		st->op = s[0] == 'C' ? FAKE_EXPECT : s[1] == '+' ? FAKE_SEND_RAW : FAKE_SEND;
		size_t skip = n > 2 && s[2] == ' ' ? 3 : 2;
		return fake_parse_text(st, s + skip, n - skip, err);
	}
	char *line = xmemdup(s, n);
	char *rest = line + strcspn(line, " ");
	if (*rest)
		*rest++ = '\0';
	size_t i = 0;
	while (i < sizeof words / sizeof words[0] && strcmp(words[i].word, line) != 0)
		i++;
	int r = 0;
	const char *end = rest;
	if (i == sizeof words / sizeof words[0]) {
		buf_addf(err, "fake script line %d: unknown directive '%s'", st->line, line);
		r = -1;
		goto out;
	}
	st->op = words[i].op;
	switch (st->op) {
	case FAKE_LITERAL:
		st->fill = 'x';
		if (fake_parse_count(rest, &st->count, &end) < 0 ||
		    (*end && (end[0] != ' ' || !end[1] || end[2]))) {
			buf_addf(err, "fake script line %d: LITERAL N [c]", st->line);
			r = -1;
		} else if (*end) {
			st->fill = end[1];
		}
		break;
	case FAKE_C_LITERAL:
		if (fake_parse_count(rest, &st->count, &end) < 0 || (*end && *end != ' ')) {
			buf_addf(err, "fake script line %d: C-LITERAL N [c | sha256:HEX]", st->line);
			r = -1;
		} else {
			r = fake_parse_clit(st, end, err);
		}
		break;
	case FAKE_SLEEP:
		if (fake_parse_count(rest, &st->count, &end) < 0 || *end || st->count > 600000) {
			buf_addf(err, "fake script line %d: SLEEP MS", st->line);
			r = -1;
		}
		break;
	case FAKE_SNI:
		st->name = *rest ? xstrdup(rest) : NULL;
		break;
	default:
		if (*rest) {
			buf_addf(err, "fake script line %d: %s takes no argument", st->line, line);
			r = -1;
		}
		break;
	}
out:
	free(line);
	return r;
}

static void fake_free_steps(struct fake_server *f)
{
	for (size_t i = 0; i < f->nsteps; i++) {
		for (size_t k = 0; k < f->steps[i].npieces; k++)
			buf_free(&f->steps[i].pieces[k].text);
		free(f->steps[i].pieces);
		free(f->steps[i].name);
	}
	free(f->steps);
	f->steps = NULL;
	f->nsteps = 0;
}

static int fake_parse_script(struct fake_server *f, const char *script, struct buf *err)
{
	int lineno = 0;
	for (const char *p = script; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *next = nl ? nl + 1 : p + n;
		lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		size_t lead = 0;
		while (lead < n && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		if (lead < n && p[lead] != '#') {
			f->steps = xrealloc(f->steps, (f->nsteps + 1) * sizeof *f->steps);
			struct fake_step *st = &f->steps[f->nsteps++];
			memset(st, 0, sizeof *st);
			st->line = lineno;
			if (fake_parse_line(st, p + lead, n - lead, err) < 0)
				return -1;
		}
		p = next;
	}
	return 0;
}

/* ---------------- connection I/O (script thread) ---------------- */

static int fake_timeout(const struct fake_server *f)
{
	return f->opts.timeout_ms > 0 ? f->opts.timeout_ms : FAKE_DEFAULT_TIMEOUT_MS;
}

/* 1 ready, 0 timed out, -1 error. */
static int fake_poll(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - fake_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static void fake_conn_close(struct fake_server *f, bool bye)
{
	if (f->tls) {
		if (bye) {
			long long deadline = fake_now_ms() + 500;
			int r;
			while ((r = gnutls_bye(f->tls, GNUTLS_SHUT_WR)) == GNUTLS_E_AGAIN &&
			       fake_poll(f->fd, POLLOUT, deadline) == 1)
				;
		}
		gnutls_deinit(f->tls);
		f->tls = NULL;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	buf_reset(&f->in);
}

static int fake_need_conn(struct fake_server *f)
{
	return f->fd >= 0 ? 0 : fake_fail(f, "the connection is already closed");
}

/* Reads more into f->in.  >0 bytes added, 0 end of stream, -1 failure.
 * A reset counts as end of stream: a client that closes with our output
 * unread resets the connection, and that is still a close. */
static int fake_fill(struct fake_server *f, const char *awaiting)
{
	if (fake_need_conn(f) < 0)
		return -1;
	long long deadline = fake_now_ms() + fake_timeout(f);
	char tmp[FAKE_CHUNK];
	for (;;) {
		ssize_t r;
		short ev = POLLIN;
		if (f->tls) {
			r = gnutls_record_recv(f->tls, tmp, sizeof tmp);
			if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR)
				r = 0;
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				ev = gnutls_record_get_direction(f->tls) ? POLLOUT : POLLIN;
			} else if (r < 0 && gnutls_error_is_fatal((int)r)) {
				return fake_fail(f, "TLS read failed while awaiting %s: %s", awaiting,
						 gnutls_strerror((int)r));
			} else if (r < 0) {
				continue;
			}
		} else {
			r = recv(f->fd, tmp, sizeof tmp, 0);
			if (r < 0 && errno == ECONNRESET)
				r = 0;
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fake_fail(f, "read failed while awaiting %s: %s", awaiting,
						 strerror(errno));
		}
		if (r >= 0) {
			buf_add(&f->in, tmp, (size_t)r);
			return (int)(r > 0);
		}
		int w = fake_poll(f->fd, ev, deadline);
		if (w == 0)
			return fake_fail(f, "timed out after %d ms awaiting %s", fake_timeout(f),
					 awaiting);
		if (w < 0)
			return fake_fail(f, "poll failed: %s", strerror(errno));
	}
}

static int fake_send(struct fake_server *f, const void *p, size_t n)
{
	if (fake_need_conn(f) < 0)
		return -1;
	const char *s = p;
	long long deadline = fake_now_ms() + fake_timeout(f);
	while (n > 0) {
		ssize_t r;
		short ev = POLLOUT;
		if (f->tls) {
			r = gnutls_record_send(f->tls, s, n);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				ev = gnutls_record_get_direction(f->tls) ? POLLOUT : POLLIN;
				r = -1;
			} else if (r < 0) {
				return fake_fail(f, "TLS write failed: %s", gnutls_strerror((int)r));
			}
		} else {
			r = send(f->fd, s, n, MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fake_fail(f, "write failed: %s", strerror(errno));
		}
		if (r > 0) {
			s += r;
			n -= (size_t)r;
			deadline = fake_now_ms() + fake_timeout(f);
			continue;
		}
		int w = fake_poll(f->fd, ev, deadline);
		if (w == 0)
			return fake_fail(f, "timed out after %d ms writing (the client does not read)",
					 fake_timeout(f));
		if (w < 0)
			return fake_fail(f, "poll failed: %s", strerror(errno));
	}
	return 0;
}

static int fake_handshake(struct fake_server *f)
{
	if (fake_need_conn(f) < 0)
		return -1;
	if (!f->cred)
		return fake_fail(f, "TLS without certificates (fake_opts.certs)");
	if (f->in.len) {
		struct buf shown = BUF_INIT;
		fake_show(&shown, f->in.data, f->in.len);
		fake_fail(f, "the client sent data before the TLS handshake: %s", shown.data);
		buf_free(&shown);
		return -1;
	}
	int r = gnutls_init(&f->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (r < 0) {
		f->tls = NULL;
		return fake_fail(f, "gnutls_init: %s", gnutls_strerror(r));
	}
	gnutls_set_default_priority(f->tls);
	gnutls_credentials_set(f->tls, GNUTLS_CRD_CERTIFICATE, f->cred);
	gnutls_certificate_server_set_request(f->tls, GNUTLS_CERT_IGNORE);
	gnutls_transport_set_int(f->tls, f->fd);
	long long deadline = fake_now_ms() + fake_timeout(f);
	while ((r = gnutls_handshake(f->tls)) < 0) {
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(r))
			return fake_fail(f, "TLS handshake failed: %s", gnutls_strerror(r));
		short ev = gnutls_record_get_direction(f->tls) ? POLLOUT : POLLIN;
		if (r == GNUTLS_E_AGAIN && fake_poll(f->fd, ev, deadline) != 1)
			return fake_fail(f, "TLS handshake timed out");
	}
	char name[256] = "";
	size_t len = sizeof name - 1;
	unsigned type = 0;
	if (gnutls_server_name_get(f->tls, name, &len, &type, 0) != 0 || type != GNUTLS_NAME_DNS)
		name[0] = '\0';
	name[sizeof name - 1] = '\0';
	pthread_mutex_lock(&f->mu);
	memcpy(f->sni, name, sizeof name);
	f->handshaken = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static int fake_accept(struct fake_server *f)
{
	fake_conn_close(f, false);
	if (fake_poll(f->listen_fd, POLLIN, fake_now_ms() + fake_timeout(f)) != 1)
		return fake_fail(f, "timed out after %d ms waiting for a client to connect",
				 fake_timeout(f));
	f->fd = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (f->fd < 0)
		return fake_fail(f, "accept failed: %s", strerror(errno));
	if (f->opts.implicit_tls)
		return fake_handshake(f);
	return 0;
}

/* ---------------- directives ---------------- */

static int fake_do_send(struct fake_server *f, const struct fake_step *st)
{
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < st->npieces; i++) {
		const struct fake_piece *pc = &st->pieces[i];
		if (pc->tag < 0) {
			buf_add(&out, pc->text.data, pc->text.len);
		} else if (!f->bound[pc->tag]) {
			buf_free(&out);
			return fake_fail(f, "<tag%d> is used before a C: line bound it", pc->tag);
		} else {
			buf_add(&out, f->tags[pc->tag].data, f->tags[pc->tag].len);
		}
	}
	if (st->op == FAKE_SEND)
		buf_addstr(&out, "\r\n");
	int r = fake_send(f, out.data, out.len);
	buf_free(&out);
	return r;
}

/* Matches a client line (without CRLF) against the step's pattern. */
static bool fake_match(struct fake_server *f, const struct fake_step *st, const char *s,
		       size_t n)
{
	size_t pos = 0;
	for (size_t i = 0; i < st->npieces; i++) {
		const struct fake_piece *pc = &st->pieces[i];
		if (pc->tag < 0) {
			if (n - pos < pc->text.len || memcmp(s + pos, pc->text.data, pc->text.len) != 0)
				return false;
			pos += pc->text.len;
			continue;
		}
		size_t end = pos;
		while (end < n && s[end] != ' ')
			end++;
		if (end == pos)
			return false;
		buf_set(&f->tags[pc->tag], s + pos, end - pos);
		f->bound[pc->tag] = true;
		pos = end;
	}
	return pos == n;
}

static int fake_do_expect(struct fake_server *f, const struct fake_step *st)
{
	char *nl;
	while (!(nl = memchr(f->in.data, '\n', f->in.len))) {
		if (f->in.len > FAKE_MAX_LINE)
			return fake_fail(f, "client line longer than %d bytes", FAKE_MAX_LINE);
		int r = fake_fill(f, "a client line");
		if (r < 0)
			return -1;
		if (r == 0) {
			struct buf m = BUF_INIT;
			fake_show_pattern(&m, st);
			buf_addstr(&m, ", got end of stream");
			if (f->in.len) {
				buf_addstr(&m, " after ");
				fake_show(&m, f->in.data, f->in.len);
			}
			fake_fail(f, "expected C: %s", m.data);
			buf_free(&m);
			return -1;
		}
	}
	size_t len = (size_t)(nl - f->in.data) + 1;
	bool crlf = len >= 2 && f->in.data[len - 2] == '\r';
	bool ok = crlf && fake_match(f, st, f->in.data, len - 2);
	if (!ok) {
		struct buf m = BUF_INIT;
		fake_show_pattern(&m, st);
		buf_addstr(&m, ", got ");
		fake_show(&m, f->in.data, crlf ? len - 2 : len);
		if (!crlf)
			buf_addstr(&m, " (a bare LF, not CRLF)");
		fake_fail(f, "expected C: %s", m.data);
		buf_free(&m);
		return -1;
	}
	buf_consume(&f->in, len);
	return 0;
}

static int fake_do_literal(struct fake_server *f, const struct fake_step *st)
{
	char chunk[FAKE_CHUNK];
	memset(chunk, st->fill, sizeof chunk);
	for (uint64_t left = st->count; left > 0;) {
		size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
		if (fake_send(f, chunk, n) < 0)
			return -1;
		left -= n;
	}
	return 0;
}

static int fake_do_client_literal(struct fake_server *f, const struct fake_step *st)
{
	gnutls_hash_hd_t h = NULL;
	if (st->check_hash && gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return fake_fail(f, "gnutls_hash_init failed");
	uint64_t got = 0;
	int r = 0;
	while (got < st->count) {
		if (!f->in.len) {
			int k = fake_fill(f, "literal bytes from the client");
			if (k < 0) {
				r = -1;
				break;
			}
			if (k == 0) {
				r = fake_fail(f, "C-LITERAL %" PRIu64 ": end of stream after %" PRIu64
					      " bytes", st->count, got);
				break;
			}
		}
		size_t n = f->in.len;
		if (n > st->count - got)
			n = (size_t)(st->count - got);
		if (st->check_fill) {
			for (size_t i = 0; i < n; i++) {
				if (f->in.data[i] != st->fill) {
					r = fake_fail(f, "C-LITERAL: byte %" PRIu64 " is 0x%02x, "
						      "expected '%c'", got + i,
						      (unsigned char)f->in.data[i], st->fill);
					break;
				}
			}
			if (r < 0)
				break;
		}
		if (h)
			gnutls_hash(h, f->in.data, n);
		buf_consume(&f->in, n);
		got += n;
	}
	if (h) {
		unsigned char digest[32];
		gnutls_hash_deinit(h, digest);
		if (r == 0 && memcmp(digest, st->sha256, sizeof digest) != 0)
			r = fake_fail(f, "C-LITERAL %" PRIu64 ": the bytes' SHA-256 differs", st->count);
	}
	return r;
}

static int fake_do_sni(struct fake_server *f, const struct fake_step *st)
{
	pthread_mutex_lock(&f->mu);
	bool handshaken = f->handshaken;
	char sni[sizeof f->sni];
	memcpy(sni, f->sni, sizeof sni);
	pthread_mutex_unlock(&f->mu);
	if (!handshaken)
		return fake_fail(f, "SNI before any TLS handshake");
	const char *want = st->name ? st->name : "";
	if (strcmp(sni, want) != 0)
		return fake_fail(f, "expected SNI '%s', got '%s'", want, sni);
	return 0;
}

static int fake_do_pause(struct fake_server *f)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += fake_timeout(f) / 1000;
	until.tv_nsec += (long)(fake_timeout(f) % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->mu);
	int r = 0;
	while (!f->resumed && r == 0)
		r = pthread_cond_timedwait(&f->cv, &f->mu, &until);
	bool resumed = f->resumed;
	f->resumed = false;
	pthread_mutex_unlock(&f->mu);
	return resumed ? 0 : fake_fail(f, "PAUSE: fake_resume() was not called in time");
}

static int fake_do_eof(struct fake_server *f, bool drain)
{
	for (;;) {
		if (f->in.len && !drain) {
			struct buf m = BUF_INIT;
			fake_show(&m, f->in.data, f->in.len);
			fake_fail(f, "expected end of stream, got %s", m.data);
			buf_free(&m);
			return -1;
		}
		buf_reset(&f->in);
		int r = fake_fill(f, "end of stream");
		if (r <= 0)
			return r;
	}
}

static int fake_run_step(struct fake_server *f, const struct fake_step *st)
{
	switch (st->op) {
	case FAKE_SEND:
	case FAKE_SEND_RAW:
		return fake_do_send(f, st);
	case FAKE_EXPECT:
		return fake_do_expect(f, st);
	case FAKE_LITERAL:
		return fake_do_literal(f, st);
	case FAKE_C_LITERAL:
		return fake_do_client_literal(f, st);
	case FAKE_TLS:
		return fake_handshake(f);
	case FAKE_SNI:
		return fake_do_sni(f, st);
	case FAKE_SLEEP: {
		struct timespec ts = { (time_t)(st->count / 1000), (long)(st->count % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return 0;
	}
	case FAKE_PAUSE:
		return fake_do_pause(f);
	case FAKE_CLOSE:
		if (fake_need_conn(f) < 0)
			return -1;
		fake_conn_close(f, true);
		return 0;
	case FAKE_EOF:
		return fake_do_eof(f, false);
	case FAKE_DRAIN:
		return fake_do_eof(f, true);
	case FAKE_ACCEPT:
		return fake_accept(f);
	}
	return fake_fail(f, "internal error: unknown step");
}

static void *fake_main(void *arg)
{
	struct fake_server *f = arg;
	if (fake_accept(f) == 0) {
		for (size_t i = 0; i < f->nsteps; i++) {
			f->cur = &f->steps[i];
			if (fake_run_step(f, f->cur) < 0)
				break;
		}
	}
	fake_conn_close(f, f->error.len == 0);
	pthread_mutex_lock(&f->mu);
	f->done = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* ---------------- the public side ---------------- */

static int fake_listen(struct fake_server *f, struct buf *err)
{
	int family = f->opts.ipv6 ? AF_INET6 : AF_INET;
	f->listen_fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0) {
		buf_addf(err, "fake server: socket: %s", strerror(errno));
		return -1;
	}
	if (f->opts.rcvbuf > 0)
		setsockopt(f->listen_fd, SOL_SOCKET, SO_RCVBUF, &f->opts.rcvbuf,
			   sizeof f->opts.rcvbuf);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	if (f->opts.ipv6) {
		int one = 1;
		setsockopt(f->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *a;
	}
	if (bind(f->listen_fd, (struct sockaddr *)&ss, len) < 0 || listen(f->listen_fd, 8) < 0 ||
	    getsockname(f->listen_fd, (struct sockaddr *)&ss, &len) < 0) {
		buf_addf(err, "fake server: cannot listen on %s: %s",
			 f->opts.ipv6 ? "::1" : "127.0.0.1", strerror(errno));
		return -1;
	}
	f->port = ntohs(f->opts.ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				     : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(f->port_str, sizeof f->port_str, "%d", f->port);
	return 0;
}

static void fake_free(struct fake_server *f)
{
	fake_free_steps(f);
	if (f->cred)
		gnutls_certificate_free_credentials(f->cred);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	for (int i = 0; i < FAKE_MAX_TAGS; i++)
		buf_free(&f->tags[i]);
	buf_free(&f->in);
	buf_free(&f->error);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static bool fake_script_uses_tls(const struct fake_server *f)
{
	if (f->opts.implicit_tls)
		return true;
	for (size_t i = 0; i < f->nsteps; i++) {
		if (f->steps[i].op == FAKE_TLS)
			return true;
	}
	return false;
}

struct fake_server *fake_start(const char *script, const struct fake_opts *o, struct buf *err)
{
	struct fake_server *f = xcalloc(1, sizeof *f);
	if (o)
		f->opts = *o;
	f->listen_fd = -1;
	f->fd = -1;
	buf_init(&f->in);
	buf_init(&f->error);
	for (int i = 0; i < FAKE_MAX_TAGS; i++)
		buf_init(&f->tags[i]);
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (f->opts.certs) {
		f->certs = *f->opts.certs;
		f->opts.certs = &f->certs;
	}
	if (fake_parse_script(f, script, err) < 0)
		goto fail;
	if (fake_script_uses_tls(f)) {
		if (!f->opts.certs) {
			buf_addstr(err, "fake server: the script uses TLS but fake_opts.certs is NULL");
			goto fail;
		}
		int r = gnutls_certificate_allocate_credentials(&f->cred);
		if (r >= 0)
			r = gnutls_certificate_set_x509_key_file(f->cred, f->certs.certfile,
								 f->certs.keyfile, GNUTLS_X509_FMT_PEM);
		if (r < 0) {
			buf_addf(err, "fake server: cannot load %s: %s", f->certs.certfile,
				 gnutls_strerror(r));
			goto fail;
		}
	}
	if (fake_listen(f, err) < 0)
		goto fail;
	int r = pthread_create(&f->thread, NULL, fake_main, f);
	if (r != 0) {
		buf_addf(err, "fake server: pthread_create: %s", strerror(r));
		goto fail;
	}
	return f;
fail:
	fake_free(f);
	return NULL;
}

int fake_port(const struct fake_server *f)
{
	return f->port;
}

const char *fake_port_str(const struct fake_server *f)
{
	return f->port_str;
}

void fake_resume(struct fake_server *f)
{
	pthread_mutex_lock(&f->mu);
	f->resumed = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

int fake_sni(struct fake_server *f, struct buf *out)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += fake_timeout(f) / 1000 + 1;
	pthread_mutex_lock(&f->mu);
	while (!f->handshaken && !f->done) {
		if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
			break;
	}
	bool ok = f->handshaken;
	if (ok)
		buf_addstr(out, f->sni);
	pthread_mutex_unlock(&f->mu);
	return ok ? 0 : -1;
}

int fake_finish(struct fake_server *f, struct buf *err)
{
	pthread_join(f->thread, NULL);
	int r = 0;
	if (f->error.len) {
		if (err)
			buf_add(err, f->error.data, f->error.len);
		r = -1;
	}
	fake_free(f);
	return r;
}
