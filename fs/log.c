/* log.c: one-line messages to stderr (foreground) or syslog (daemon).
 * A line is formatted whole and leaves in one write(2) or one syslog()
 * call: pieces written one by one would let the lines of other threads in
 * between them. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

static bool to_stderr = true;
static bool debug_on;
static long long debug_since;   /* clock_ms() when the trace began */

void fs_log_to_stderr(bool yes)
{
	to_stderr = yes;
	if (!yes)
		openlog("imapfs", LOG_PID, LOG_DAEMON);
}

void fs_log_debug(bool yes)
{
	debug_on = yes;
	debug_since = clock_ms();
}

/* Control characters (a server's text may hold CR, LF or escapes) as \xNN,
 * so one message stays one line and cannot forge another. */
static void add_printable(struct buf *line, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			buf_addf(line, "\\x%02x", *p);
		else
			buf_addch(line, (char)*p);
	}
}

static void write_whole(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;  /* nowhere else to report it */
		p += w;
		n -= (size_t)w;
	}
}

void fs_log(int level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !debug_on)
		return;
	struct buf text = BUF_INIT, line = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&text, fmt, ap);
	va_end(ap);
	if (to_stderr) {
		buf_addstr(&line, "imapfs: ");
		/* a trace says when: where a slow scan waits shows in the gaps */
		if (debug_on) {
			long long ms = clock_ms() - debug_since;
			buf_addf(&line, "%lld.%03lld ", ms / 1000, ms % 1000);
		}
		add_printable(&line, text.data);
		buf_addch(&line, '\n');
		write_whole(STDERR_FILENO, line.data, line.len);
	} else {
		add_printable(&line, text.data);
		syslog(level, "%s", line.data);
	}
	buf_free(&text);
	buf_free(&line);
}
