/* harness_cyrus.h: a private Cyrus IMAP 3.6 started as root, for the
 * commands Dovecot lacks (GETANNOTATION/SETANNOTATION) and for Cyrus's own
 * ACL and QUOTA behaviour.
 *
 * Each instance lives in a fresh directory /tmp/imapfs-cyrus-XXXXXX, listens
 * on 127.0.0.1 at a port picked at run time (plain IMAP, LOGIN allowed), and
 * has two SASL users, "alice" and the Cyrus administrator "admin", both with
 * the password "secret".  alice's INBOX (user.alice) exists.  Names use the
 * standard namespace with '.' as the separator: alice's "INBOX.x" is the
 * admin's "user.alice.x".  8-bit bytes in the header of an APPENDed
 * message are stored as 'X' (munge8bit).
 *
 * Errors: int functions return 0 on success and -1 on failure with a
 * one-line reason appended to err (which only cyrus_stop() accepts NULL); a
 * failed start also appends the tail of the instance's log.
 * Ownership: struct cyrus is plain data, no heap; copies may be read, but
 * only one of them may be stopped (it holds the watchdog's pipe).
 * cyrus_stop() ends every process of the instance (and no other) and
 * removes its directory.
 * An instance is also stopped when the process that started it exits
 * (atexit; a forked child never stops its parent's instance), and a
 * watchdog process sends Cyrus SIGTERM if the starting process dies without
 * exiting (a crash, or a failed Check test leaving with _exit()); the
 * directory left then is removed by the next cyrus_start().
 *
 * Cyrus logs only to syslog.  Where the machine allows a private mount
 * namespace (root usually does), Cyrus runs with its own /dev/log whose
 * messages the watchdog appends to the instance's log file; otherwise that
 * file holds only what Cyrus prints on stdout and stderr.
 */
#ifndef IMAPFS_HARNESS_CYRUS_H
#define IMAPFS_HARNESS_CYRUS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

struct buf;

#define CYRUS_USER "alice"
#define CYRUS_ADMIN "admin"
#define CYRUS_PASSWORD "secret"   /* of both users */

struct cyrus {
	char dir[HARNESS_PATH_MAX / 2];    /* everything of this instance is below it */
	char conf[HARNESS_PATH_MAX];       /* imapd.conf, given with -C to every Cyrus program */
	char services[HARNESS_PATH_MAX];   /* cyrus.conf, the master's -M */
	char log[HARNESS_PATH_MAX];        /* syslog of the instance (when captured) plus stdout/stderr */
	int port;                          /* 127.0.0.1, plain IMAP */
	bool syslog_captured;              /* false: no mount namespace, the log has little in it */
	pid_t master;                      /* cyrmaster, our child */
	pid_t watchdog;                    /* our child: syslog receiver, stops Cyrus if we die */
	int watchdog_fd;                   /* write end of the watchdog's pipe; -1 when none */
	pid_t owner;                       /* process that stops it at exit */
	bool running;
};

/* 0 if this machine can run a private Cyrus (root, the Cyrus programs and
 * saslpasswd2 installed, user cyrus present); otherwise -1 and why. */
int cyrus_usable(struct buf *why);
/* For test programs: prints why and exits with HARNESS_EXIT_SKIP unless usable. */
void cyrus_require_or_skip(const char *program);

/* Starts an instance and returns once it serves IMAP and user.alice exists
 * (a few seconds at most; bounded by timeouts). */
int cyrus_start(struct cyrus *c, struct buf *err);
/* TERMs the master, waits until every process of the instance (Cyrus's and
 * the watchdog) is gone and removes the directory.  -1 if something could
 * not be cleaned up. */
int cyrus_stop(struct cyrus *c, struct buf *err);
/* Live processes of this instance, the watchdog not counted (also after it
 * stopped). */
int cyrus_count_processes(const struct cyrus *c);
/* The last max bytes of the instance's log, replacing out's contents. */
void cyrus_log_tail(const struct cyrus *c, size_t max, struct buf *out);

#endif
