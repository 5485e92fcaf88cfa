/* log.h: the daemon's one-line messages (log.c).  Every layer of fs/ logs
 * through these, so they sit below all of them. */
#ifndef IMAPFS_LOG_H
#define IMAPFS_LOG_H

#include <stdbool.h>

/* One line, to syslog when daemonised and to stderr otherwise. */
void fs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fs_log_to_stderr(bool yes);
void fs_log_debug(bool yes);

#endif
