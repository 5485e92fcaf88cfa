/* raw.c: raw access to the connection, as imaplib's send(), read() and
 * readline(), beside the pipeline of pump.c. */
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


/* ---------------- raw access (imaplib's send/read/readline) ---------------- */

int imap_send_raw(struct imap *s, const void *p, size_t n)
{
	if (s->broken)
		return IMAP_ABORT;
	buf_add(&s->out, p, n);
	while (s->out.len) {
		int w = session_wait_for(s, false, true, s->opts.timeout_ms > 0 ? s->opts.timeout_ms : -1);
		if (w < 0)
			return w;
		if (w == 0)
			return imap_fail(s, IMAP_ABORT, "socket error: timed out");
		if (session_flush_some(s) < 0)
			return IMAP_ABORT;
	}
	return IMAP_OK;
}

static int fill_raw(struct imap *s)
{
	if (transport_pending(s->t) == 0) {
		int w = session_wait_for(s, true, false, s->opts.timeout_ms > 0 ? s->opts.timeout_ms : -1);
		if (w < 0)
			return w;
		if (w == 0)
			return imap_fail(s, IMAP_ABORT, "socket error: timed out");
	}
	return session_read_some(s) < 0 ? IMAP_ABORT : 0;
}

int imap_read_raw(struct imap *s, size_t n, struct buf *out)
{
	while (s->in.len - s->in_off < n) {
		int r = fill_raw(s);
		if (r < 0) {
			if (transport_eof(s->t)) {  /* imaplib returns what there was */
				buf_add(out, s->in.data + s->in_off, s->in.len - s->in_off);
				s->in_off = s->in.len;
				s->broken = false;
				return IMAP_OK;
			}
			return r;
		}
	}
	buf_add(out, s->in.data + s->in_off, n);
	s->in_off += n;
	return IMAP_OK;
}

int imap_readline_raw(struct imap *s, struct buf *out)
{
	for (;;) {
		const char *start = s->in.data + s->in_off;
		const char *nl = memchr(start, '\n', s->in.len - s->in_off);
		if (nl) {
			size_t n = (size_t)(nl - start) + 1;
			buf_add(out, start, n);
			s->in_off += n;
			return IMAP_OK;
		}
		int r = fill_raw(s);
		if (r < 0) {
			if (transport_eof(s->t)) {
				buf_add(out, start, s->in.len - s->in_off);
				s->in_off = s->in.len;
				s->broken = false;
				return IMAP_OK;
			}
			return r;
		}
	}
}

void imap_shutdown(struct imap *s)
{
	transport_shutdown(s->t);
}
