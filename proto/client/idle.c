/* idle.c: IDLE (RFC 2177) on the pipeline of pump.c. */
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

/* Waits up to ms for input and reads it; 0 on timeout or data, <0 on failure. */
static int read_within(struct imap *s, int ms)
{
	if (transport_pending(s->t) == 0) {
		int w = session_wait_io(s, ms);
		if (w <= 0)
			return w;
	}
	return session_read_some(s) < 0 ? IMAP_ABORT : 0;
}

int imap_idle(struct imap *s, int duration_ms, const bool *stop)
{
	if (!imap_has_cap(s, "IDLE"))
		return imap_fail(s, IMAP_ERROR, "IDLE not supported by server");
	bool idling = false;
	struct imap_cmd *c = imap_cmd_new("IDLE");
	imap_cmd_on_continuation(c, imap_cont_note, &idling);
	int rc = imap_submit(s, c);
	long long deadline = clock_ms() + duration_ms;
	while (rc == 0 && !c->done) {
		if ((rc = session_emit_pending(s)) < 0 || (rc = session_flush_some(s)) < 0)
			break;
		int got = session_process_one(s);
		if (got < 0 && got != IMAP_ERROR) {
			rc = got;
			break;
		}
		if (got > 0)
			continue;
		long long left = deadline - clock_ms();
		if (idling && (left <= 0 || (stop && *stop))) {
			/* done: end IDLE and wait for its tagged reply */
			if (s->opts.debug >= 4)
				imap_trace(s, "C: ", "DONE");
			buf_add(&s->out, "DONE\r\n", 6);
			idling = false;
			deadline = clock_ms() + (s->opts.timeout_ms > 0 ? s->opts.timeout_ms : 30000);
			continue;
		}
		if (!idling && left <= 0) {
			rc = imap_fail(s, IMAP_ABORT, "socket error: timed out waiting for IDLE");
			break;
		}
		rc = read_within(s, left > 0 ? (int)(left < 200 ? left : 200) : 0);
	}
	if (rc == 0 && !imap_cmd_ok(c))
		rc = imap_fail(s, IMAP_ERROR, "IDLE: %s %s", imap_cmd_status(c), imap_cmd_text(c));
	imap_cmd_free(c);
	return rc;
}
