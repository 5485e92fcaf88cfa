/* secret.h: where a mount's password or OAuth 2 token comes from, and a
 * copy of it when a connection needs one.
 *
 * Sources: a file (passfile=, its first line), a command (passcmd=, the
 * first line of its output), a value given at mount ($IMAPFS_PASSWORD),
 * or the terminal.  Nothing is read before a login needs it, so a server
 * that greets PREAUTH never makes anyone type a password.  The value read
 * is kept for the next connections; secret_get(..., fresh) reads a file or
 * runs a command again (a token an outside helper refreshed, or a password
 * changed since the mount), which a value given at mount or typed on the
 * terminal cannot: they are kept as they are.
 *
 * The command runs as /bin/sh -c CMD in the directory imapfs was started
 * in (the daemon has moved to /), stdin /dev/null, stderr as imapfs's, in
 * its own process group, with a deadline: past it the group is killed.
 * Nothing secret is in a child's argv or environment; output is read with
 * read(2) and every copy is wiped.  The terminal is asked (without echo)
 * only while stdin is one, that is before the daemon detaches.
 *
 * Threads: every call may come from any thread; one reading at a time.
 * Errors: -1 with a one-line reason appended to err. */
#ifndef IMAPFS_SECRET_H
#define IMAPFS_SECRET_H

#include <stdbool.h>

struct buf;
struct secret;

/* user and host are for the terminal's question; timeout_ms bounds a
 * command (0: 30 s).  At most one of passfile, passcmd and given is set;
 * none means the terminal.  given is copied (the caller wipes its own). */
struct secret *secret_new(const char *passfile, const char *passcmd, const char *given,
			  const char *user, const char *host, int timeout_ms);
void secret_free(struct secret *s);
/* Replaces out's contents with the secret (a block of its own: wipe it
 * with buf_wipe).  fresh: read the file or run the command again even
 * when a value is kept. */
int secret_get(struct secret *s, bool fresh, struct buf *out, struct buf *err);
/* Unmounting: a command running now is killed within 100 ms (its
 * secret_get fails), and none runs again.  Any thread. */
void secret_stop(struct secret *s);
/* True when secret_get(..., true) can give something new (a file or a
 * command). */
bool secret_renewable(const struct secret *s);
/* How many times the command ran (for the log and tests). */
unsigned secret_runs(const struct secret *s);
/* "passcmd", "passfile", "IMAPFS_PASSWORD" or "terminal": for messages. */
const char *secret_source_name(const struct secret *s);

#endif
