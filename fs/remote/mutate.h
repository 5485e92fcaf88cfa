/* mutate.h: the IMAP side of the filesystem's write path: expunge one
 * message, move it, append one from a file, create/delete/rename
 * mailboxes, store and fetch flags.
 *
 * The rule is NEVER LOSE MAIL: a function returns 0 only after the server
 * confirmed the effect; an original is removed only after its copy was
 * confirmed; a failure leaves both sides as they were (the one exception,
 * a move without MOVE whose expunge fails after the COPY, leaves the
 * message in both mailboxes, never in neither).
 *
 * Errors: negative errno, the server's text logged once with fs_log.
 * Tagged NO codes map by run.h's table (run_errno): [NONEXISTENT]/[TRYCREATE]
 * -ENOENT, [ALREADYEXISTS] -EEXIST, [NOPERM] -EACCES, [OVERQUOTA] -EDQUOT,
 * [READ-ONLY] (or a mailbox that SELECT opened read-only) -EROFS, [INUSE]
 * -EBUSY, any other -EIO; a CREATE refused with a NO without a code is
 * -EACCES (-EEXIST when LIST shows the name).  A UIDVALIDITY other than the caller's is -ESTALE.  A lost connection is
 * -EIO after one transparent retry of the idempotent steps (SELECT, STORE,
 * UID EXPUNGE, FETCH); APPEND, COPY, MOVE, CREATE, DELETE and RENAME are
 * never repeated.
 *
 * Ownership: nothing is kept; mailbox names are modified UTF-7 strings
 * owned by the caller; fd stays the caller's (read from its offset, not
 * closed).  Threads: like the pool, any thread may call these. */
#ifndef IMAPFS_MUTATE_H
#define IMAPFS_MUTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "remote/pool.h"

/* UID STORE \Deleted then UID EXPUNGE of this one UID (UIDPLUS); if the
 * expunge fails, \Deleted is taken away again unless it was set before.  Without
 * UIDPLUS -EOPNOTSUPP, unless allow_plain_expunge: then a plain EXPUNGE,
 * which also removes what other clients marked \Deleted.  0 when the
 * message was there before and is gone after (however the server named its
 * removal), -ENOENT when it was not there. */
int mutate_expunge(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		   bool allow_plain_expunge);
/* UID MOVE, or UID COPY then mutate_expunge of the original.  new_* (may be
 * NULL) from COPYUID, 0 when the server did not say. */
int mutate_move(struct pool *p, const char *from, uint32_t uidvalidity, uint32_t uid,
		const char *to, bool allow_plain_expunge, uint32_t *new_uidvalidity,
		uint32_t *new_uid);
/* APPEND of len bytes streamed from fd's current offset.  internaldate 0 =
 * none; flags a space separated list ("\\Seen $Label") or NULL.  new_* (may
 * be NULL) from APPENDUID, 0 when the server did not say. */
int mutate_append(struct pool *p, const char *mailbox, int fd, uint64_t len, time_t internaldate,
		  const char *flags, uint32_t *new_uidvalidity, uint32_t *new_uid);
int mutate_create(struct pool *p, const char *mailbox);
/* DELETE and RENAME leave the mailbox unselected on the connection used.
 * DELETE is sent only after a STATUS on the same connection said the
 * mailbox holds no messages (-ENOTEMPTY otherwise). */
int mutate_delete(struct pool *p, const char *mailbox);
int mutate_rename(struct pool *p, const char *from, const char *to);
/* UID STORE uid FLAGS (flags): replaces the flags.  unchangedsince (needs
 * CONDSTORE; 0 = unconditional): -EAGAIN when the message changed since. */
int mutate_store_flags(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		       const char *flags, uint64_t unchangedsince);
/* The flags, space separated, into flags_out (replaced); the MODSEQ into
 * *modseq_out (may be NULL; 0 without CONDSTORE). */
int mutate_fetch_flags(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		       struct buf *flags_out, uint64_t *modseq_out);

#endif
