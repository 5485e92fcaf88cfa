/* harness_piped.h: IMAP servers that speak on stdin/stdout, one session per
 * process, started as imapfs's -o command= (and by the test's second
 * client, imap_open_stream): Courier-IMAP's imapd and GNU mailutils'
 * imap4d, both greeting PREAUTH.  Debian installs neither next to
 * cyrus-imapd, so contrib/unpack-servers.sh unpacks them into
 * /var/lib/imapfs/PKG; a machine without that copy skips their tests.
 *
 * Each store lives in a fresh directory /tmp/imapfs-piped-XXXXXX (0755,
 * root's) holding the mail (the mail user's, HARNESS_MAIL_USER), the
 * server's settings, a log of the sessions' stderr, and the command: a
 * shell script that runs one session as the mail user.  Nothing runs
 * between sessions, so there is no daemon to stop; piped_remove() ends
 * what sessions are left (a failed test's) and removes the directory.
 *
 * Errors: int functions return 0 or -1 with a one-line reason appended to
 * err.  Ownership: struct piped is plain data, no heap.
 */
#ifndef IMAPFS_HARNESS_PIPED_H
#define IMAPFS_HARNESS_PIPED_H

#include <stdbool.h>

#include "harness.h"

struct buf;
struct imap;

enum piped_kind {
	PIPED_COURIER,          /* Courier-IMAP 5, Maildir; folders below "INBOX." */
	PIPED_MAILUTILS,        /* GNU mailutils imap4d, maildir, '/' separator */
	PIPED_MAILUTILS_MBOX,   /* the same with mbox files */
};

struct piped {
	enum piped_kind kind;
	char dir[HARNESS_PATH_MAX / 2];  /* everything of this store is below it */
	char mail[HARNESS_PATH_MAX];     /* the Maildir, or the directory of mbox files */
	char command[HARNESS_PATH_MAX];  /* runs one session: for command= (no quoting needed) */
	char log[HARNESS_PATH_MAX];      /* the sessions' stderr */
	char version[64];                /* of the unpacked package */
};

/* 0 if the kind's unpacked package and setpriv are there (and we are
 * root); otherwise -1 and why, e.g. "courier-imap is not unpacked in
 * /var/lib/imapfs (contrib/unpack-servers.sh)". */
int piped_usable(enum piped_kind kind, struct buf *why);
/* An empty store with its command. */
int piped_make(struct piped *p, enum piped_kind kind, struct buf *err);
/* Ends the sessions still running on the store and removes its directory. */
int piped_remove(struct piped *p, struct buf *err);
/* Sessions running on the store now. */
int piped_count_processes(const struct piped *p);
/* For Check tests: a session of the store's own, the second client; the
 * test fails if it cannot be had. */
struct imap *piped_second(const struct piped *p);

#endif
