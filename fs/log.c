/* log.c: one-line messages to stderr (foreground) or syslog (daemon). */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

#include "fs.h"

static bool to_stderr = true;
static bool debug_on;

void fs_log_to_stderr(bool yes)
{
	to_stderr = yes;
	if (!yes)
		openlog("imapfs", LOG_PID, LOG_DAEMON);
}

void fs_log_debug(bool yes)
{
	debug_on = yes;
}

void fs_log(int level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !debug_on)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (to_stderr) {
		fputs("imapfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(level, fmt, ap);
	}
	va_end(ap);
}
