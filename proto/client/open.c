/* open.c: a session's life: made over an open transport, its greeting
 * read, upgraded to TLS after STARTTLS, closed.  It sits on the pipeline
 * (pump.c) and the commands (cmd.c). */
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
	session_free_caps(s);
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
		session_add_printable(&shown, s->welcome.data, s->welcome.len);
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
	session_free_caps(s);
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
