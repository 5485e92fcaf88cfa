/* harness_fake_steps.c: the fake server's script thread, which plays the
 * directives one by one and stops at the first one that fails, so the
 * failure names the exact script line and what the client sent instead. */
#include "config.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "harness_fake_impl.h"

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
	f->paused = true;
	pthread_cond_broadcast(&f->cv);
	int r = 0;
	while (!f->resumed && r == 0)
		r = pthread_cond_timedwait(&f->cv, &f->mu, &until);
	bool resumed = f->resumed;
	f->resumed = false;
	f->paused = false;
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

void *fake_main(void *arg)
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
