/* session.c: a session's life and state: errors and traces, state and
 * capabilities, the settings, STARTTLS, the greeting, closing.  The
 * pipeline that moves commands and responses is pump.c; building and
 * submitting commands is cmd.c. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <stdbool.h>
#include <unistd.h>

#include "session.h"
#include "clock.h"
#include "quote.h"
#include "tag.h"


/* ---------------- errors and traces ---------------- */

int imap_fail(struct imap *s, int kind, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&s->err);
	va_start(ap, fmt);
	buf_vaddf(&s->err, fmt, ap);
	va_end(ap);
	if (kind == IMAP_ABORT)
		s->broken = true;
	return kind;
}

const char *imap_errmsg(const struct imap *s)
{
	return s->err.data;
}

void imap_trace(struct imap *s, const char *dir, const char *fmt, ...)
{
	struct buf line = BUF_INIT;
	va_list ap;
	buf_addstr(&line, dir);
	va_start(ap, fmt);
	buf_vaddf(&line, fmt, ap);
	va_end(ap);
	if (s->opts.trace)
		s->opts.trace(s->opts.trace_ctx, line.data);
	else
		fprintf(stderr, "imap: %s\n", line.data);
	buf_free(&line);
}

/* Printable form of protocol text for traces and errors: control bytes escaped. */
static void add_printable(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\x%02x", c);
		else
			buf_addch(b, (char)c);
	}
}

void session_trace_text(struct imap *s, const char *dir, const char *p, size_t n)
{
	struct buf b = BUF_INIT;
	add_printable(&b, p, n);
	imap_trace(s, dir, "%s", b.data);
	buf_free(&b);
}

/* ---------------- state and capabilities ---------------- */

enum imap_state imap_get_state(const struct imap *s) { return s->state; }

const char *imap_state_name(enum imap_state st)
{
	static const char *const names[] = { "LOGOUT", "NONAUTH", "AUTH", "SELECTED" };
	return names[st];
}

static void free_caps(struct imap *s)
{
	for (size_t i = 0; i < s->ncaps; i++)
		free(s->caps[i]);
	free(s->caps);
	s->caps = NULL;
	s->ncaps = 0;
}

void imap_set_caps_from_args(struct imap *s, const struct imap_arg *args, size_t n)
{
	free_caps(s);
	s->caps_seen++;
	s->caps = xcalloc(n ? n : 1, sizeof *s->caps);
	for (size_t i = 0; i < n; i++) {
		if (args[i].type != IMAP_ARG_ATOM)
			continue;
		char *c = xmemdup(args[i].str, args[i].len);
		for (char *q = c; *q; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 'a' + 'A');
		s->caps[s->ncaps++] = c;
	}
}

bool imap_has_cap(const struct imap *s, const char *cap)
{
	for (size_t i = 0; i < s->ncaps; i++)
		if (!strcasecmp(s->caps[i], cap))
			return true;
	return false;
}

size_t imap_ncaps(const struct imap *s) { return s->ncaps; }
const char *imap_cap(const struct imap *s, size_t i) { return i < s->ncaps ? s->caps[i] : NULL; }
const char *imap_protocol_version(const struct imap *s) { return s->protocol_version; }
bool imap_utf8_enabled(const struct imap *s) { return s->utf8; }
bool imap_is_tls(const struct imap *s) { return transport_is_tls(s->t); }
const char *imap_welcome(const struct imap *s) { return s->welcome.data; }
void imap_set_timeout(struct imap *s, int timeout_ms) { s->opts.timeout_ms = timeout_ms; }
int imap_fd(const struct imap *s) { return transport_fd(s->t); }

void imap_set_untagged_handler(struct imap *s, imap_untagged_fn fn, void *ctx)
{
	s->on_untagged = fn;
	s->untagged_ctx = ctx;
}

void imap_set_tagged_handler(struct imap *s, imap_tagged_fn fn, void *ctx)
{
	s->on_tagged = fn;
	s->tagged_ctx = ctx;
}

void imap_set_layer_state(struct imap *s, const void *key, void *state, void (*free_fn)(void *state))
{
	if (s->layer_free)
		s->layer_free(s->layer_state);
	s->layer_key = key;
	s->layer_state = state;
	s->layer_free = free_fn;
}

void *imap_layer_state(const struct imap *s, const void *key)
{
	return s->layer_key == key ? s->layer_state : NULL;
}

void imap_set_literal_hook(struct imap *s, imap_literal_hook hook, void *ctx)
{
	s->lit_hook = hook;
	s->lit_ctx = ctx;
}

void imap_set_cancel_fd(struct imap *s, int fd)
{
	s->cancel_fd = fd;
	transport_set_cancel_fd(s->t, fd);  /* a STARTTLS handshake too */
}

void imap_set_time_limit(struct imap *s, int ms)
{
	s->limit = ms > 0 ? clock_ms() + ms : -1;
}

int imap_time_limit_left(const struct imap *s)
{
	if (s->limit < 0)
		return -1;
	long long left = s->limit - clock_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* ---------------- STARTTLS ---------------- */

int imap_tls_upgrade(struct imap *s, const struct tls_opts *o)
{
	/* Anything already received came before the handshake and was not
	 * protected: taking it as a post-TLS response would let a
	 * man-in-the-middle inject responses (the CVE-2021-22947 class). */
	if (s->in_off < s->in.len || s->cmds)
		return imap_fail(s, IMAP_ABORT,
				 "STARTTLS: server sent data before the TLS handshake (response injection?)");
	struct buf err = BUF_INIT;
	struct tls_opts tls = *o;
	if (!tls.timeout_ms)
		tls.timeout_ms = s->opts.timeout_ms;
	int left = imap_time_limit_left(s);
	if (left == 0)
		return imap_fail(s, IMAP_ABORT, "socket error: timed out");
	if (left > 0 && (tls.timeout_ms <= 0 || left < tls.timeout_ms))
		tls.timeout_ms = left;
	if (transport_start_tls(s->t, &tls, &err) < 0) {
		int r = imap_fail(s, IMAP_ABORT, "TLS handshake failed: %s", err.data);
		buf_free(&err);
		return r;
	}
	buf_free(&err);
	free_caps(s);
	imap_parser_reset(s->parser);
	return IMAP_OK;
}

/* ---------------- opening ---------------- */

static void make_tag_prefix(struct imap *s)
{
	unsigned short r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (unsigned short)(time(NULL) ^ getpid());
	unsigned long v = 4096 + r % (65535 - 4096 + 1);
	struct buf b = BUF_INIT;
	imap_int2ap(v, &b);
	snprintf(s->tagpre, sizeof s->tagpre, "%s", b.data);
	buf_free(&b);
}

struct imap *imap_session_new(struct transport *t, const struct imap_opts *o)
{
	struct imap *s = xcalloc(1, sizeof *s);
	if (o)
		s->opts = *o;
	s->t = t;
	s->parser = imap_parser_new(&s->opts.limits);
	imap_parser_set_literal_hook(s->parser, session_counted_hook, s);
	s->deadline = -1;
	s->limit = -1;
	/* the greeting already ends when the caller's cancel fd fires */
	s->cancel_fd = s->opts.has_cancel_fd ? s->opts.cancel_fd : -1;
	transport_set_cancel_fd(t, s->cancel_fd);
	buf_init(&s->in);
	buf_init(&s->out);
	buf_init(&s->bye_text);
	buf_init(&s->welcome);
	buf_init(&s->continuation);
	buf_init(&s->err);
	s->state = IMAP_STATE_LOGOUT;
	make_tag_prefix(s);
	return s;
}

int imap_session_greet(struct imap *s)
{
	s->expect_greeting = true;
	/* one deadline for the whole greeting, however slowly it trickles */
	s->deadline = s->opts.timeout_ms > 0 ? clock_ms() + s->opts.timeout_ms : -1;
	while (!s->greeting_seen) {
		int r = imap_read_response(s);
		if (r == IMAP_ERROR && !s->greeting_seen) {
			/* a first line the parser dropped (a NUL, too long) is the
			 * greeting too: the line after it must not become one */
			s->greeting_seen = true;
			s->greeting = GREETING_INVALID;
			buf_set(&s->welcome, s->err.data, s->err.len);
		} else if (r < 0 && r != IMAP_ERROR) {
			s->deadline = -1;
			return r;
		}
	}
	s->deadline = -1;
	s->expect_greeting = false;
	struct buf shown = BUF_INIT;
	int rc = IMAP_OK;
	switch (s->greeting) {
	case GREETING_OK:
		s->state = IMAP_STATE_NONAUTH;
		break;
	case GREETING_PREAUTH:
		if (s->opts.require_tls && !transport_is_tls(s->t)) {
			rc = imap_fail(s, IMAP_ABORT, "server greeted with PREAUTH on an unencrypted "
				       "connection; TLS was required");
			break;
		}
		s->state = IMAP_STATE_AUTH;
		break;
	case GREETING_BYE:
		rc = imap_fail(s, IMAP_ERROR, "the server refused the connection: %s", s->bye_text.data);
		break;
	case GREETING_NONE:
	case GREETING_INVALID:
		add_printable(&shown, s->welcome.data, s->welcome.len);
		rc = imap_fail(s, IMAP_ERROR, "not an IMAP greeting: %s", shown.data);
		break;
	}
	buf_free(&shown);
	return rc;
}

void imap_close(struct imap *s)
{
	if (!s)
		return;
	while (s->cmds)
		session_cmd_unlink(s->cmds);
	transport_close(s->t);
	imap_parser_free(s->parser);
	free_caps(s);
	free(s->protocol_version);
	buf_free(&s->in);
	if (s->out_secret)
		buf_wipe(&s->out);
	else
		buf_free(&s->out);
	buf_free(&s->bye_text);
	buf_free(&s->welcome);
	buf_free(&s->continuation);
	buf_free(&s->err);
	if (s->layer_free)
		s->layer_free(s->layer_state);
	free(s);
}
