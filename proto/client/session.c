/* session.c: a session's state: errors and traces, state and
 * capabilities, the settings.  Building and submitting commands is cmd.c;
 * the pipeline that moves commands and responses is pump.c; opening, the
 * greeting, STARTTLS and closing are open.c. */
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
#include "xalloc.h"


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
void session_add_printable(struct buf *b, const char *p, size_t n)
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
	session_add_printable(&b, p, n);
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

void session_free_caps(struct imap *s)
{
	for (size_t i = 0; i < s->ncaps; i++)
		free(s->caps[i]);
	free(s->caps);
	s->caps = NULL;
	s->ncaps = 0;
}

void imap_set_caps_from_args(struct imap *s, const struct imap_arg *args, size_t n)
{
	session_free_caps(s);
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
bool imap_is_compressed(const struct imap *s) { return transport_is_compressed(s->t); }
bool imap_peer_is_local(const struct imap *s) { return transport_peer_is_local(s->t); }

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
