/* select.h: the mailbox a pool connection has open.  SELECT (read-write)
 * or EXAMINE (read-only) fill the connection's uidvalidity, uidnext,
 * exists and highestmodseq (from the untagged answers, pool.c); a mailbox
 * already open as wanted is not opened again.
 *
 * Errors: negative errno as run.h says (a refusal by the response code
 * table, logged).  Threads: the thread holding the connection. */
#ifndef IMAPFS_SELECT_H
#define IMAPFS_SELECT_H

#include <stdbool.h>

#include "remote/pool.h"

/* EXAMINE (or SELECT when rw) unless already selected so.  A SELECT the
 * server answered OK [READ-ONLY] leaves c->selected_rw false. */
int select_mailbox(struct pool_conn *c, const char *mailbox, bool rw);
/* The same in two halves, so the commands that need the mailbox can be
 * pipelined behind it (one round trip instead of two): begin queues the
 * command (*cmd NULL when nothing is needed), end waits for it and frees
 * it.  Between them, c->uidvalidity is 0 until the server has named it. */
int select_begin(struct pool_conn *c, const char *mailbox, bool rw, struct imap_cmd **cmd);
int select_end(struct pool_conn *c, struct imap_cmd *cmd, const char *mailbox, bool rw);
/* Leaves the selected mailbox (UNSELECT, or CLOSE once it is read-only):
 * STATUS of a selected mailbox reports the session's view, which can be
 * older than the server's. */
int select_none(struct pool_conn *c);

#endif
