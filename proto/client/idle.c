/* idle.c: IDLE (RFC 2177) on the pipeline of pump.c, the one IDLE: the
 * imaplib emulation, the examples and imapfs's watcher all run it. */
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


/* ---------------- IDLE (RFC 2177) ---------------- */

int imap_cont_note(void *ctx, struct imap *s, struct imap_cmd *c, const char *text, struct buf *out)
{
	(void)s;
	(void)c;
	(void)text;
	(void)out;
	*(bool *)ctx = true;
	return 1;
}

/* Waits up to ms for input (or wake_fd, >= 0) and reads it; 0 on timeout,
 * wake-up or data, <0 on failure. */
static int read_within(struct imap *s, int ms, int wake_fd)
{
	if (transport_pending(s->t) == 0) {
		int w = session_wait_io_or(s, ms, wake_fd);
		if (w <= 0)
			return w;
	}
	return session_read_some(s) < 0 ? IMAP_ABORT : 0;
}

/* Sends DONE: the tagged reply follows. */
static void send_done(struct imap *s)
{
	if (s->opts.debug >= 4)
		imap_trace(s, "C: ", "DONE");
	buf_add(&s->out, "DONE\r\n", 6);
}

int imap_idle_run(struct imap *s, const struct imap_idle_opts *o)
{
	if (!imap_has_cap(s, "IDLE"))
		return imap_fail(s, IMAP_ERROR, "IDLE not supported by server");
	bool idling = false, done_sent = false;
	struct imap_cmd *c = imap_cmd_new("IDLE");
	imap_cmd_on_continuation(c, imap_cont_note, &idling);
	int rc = imap_submit(s, c);
	int check_ms = o->check_ms > 0 ? o->check_ms : 200;
	long long end_at = clock_ms() + o->duration_ms;
	/* until then the "+" may come, later the reply to DONE */
	long long answer_by = o->answer_ms > 0 ? clock_ms() + o->answer_ms : end_at;
	while (rc == 0 && !c->done) {
		if ((rc = session_emit_pending(s)) < 0 || (rc = session_flush_some(s)) < 0)
			break;
		int got = session_process_one(s);
		if (got < 0 && got != IMAP_ERROR) {  /* an unparsable response is dropped */
			rc = got;
			break;
		}
		if (got > 0)
			continue;
		long long now = clock_ms();
		if (idling && !done_sent && (now >= end_at || (o->end_now && o->end_now(o->ctx)))) {
			send_done(s);
			idling = false;
			done_sent = true;
			answer_by = now + (s->opts.timeout_ms > 0 ? s->opts.timeout_ms : 30000);
			continue;
		}
		bool listening = idling && !done_sent;
		if (!listening && now >= answer_by) {
			rc = imap_fail(s, IMAP_ABORT, "socket error: timed out waiting for IDLE");
			break;
		}
		long long left = (listening ? end_at : answer_by) - now;
		rc = read_within(s, left < check_ms ? (int)left : check_ms, listening ? o->wake_fd : -1);
	}
	if (rc == 0 && !imap_cmd_ok(c))
		rc = imap_fail(s, IMAP_ERROR, "IDLE: %s %s", imap_cmd_status(c), imap_cmd_text(c));
	imap_cmd_free(c);
	return rc;
}

static bool stop_set(void *ctx)
{
	return ctx && *(const bool *)ctx;
}

int imap_idle(struct imap *s, int duration_ms, const bool *stop)
{
	struct imap_idle_opts o = IMAP_IDLE_OPTS_INIT;
	o.duration_ms = duration_ms;
	o.end_now = stop_set;
	o.ctx = (void *)stop;
	return imap_idle_run(s, &o);
}
