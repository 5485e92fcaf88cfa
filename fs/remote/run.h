/* run.h: the one place the filesystem runs an IMAP command.  On a
 * connection of the pool: the command's untagged responses go to its
 * handler, it is submitted and waited for (with the session's deadline for
 * the whole exchange; a cancelled request or pool_stop ends the wait at
 * once), the handler is taken away again, and the tagged answer becomes an
 * errno through one table.  A whole operation (a few commands on one
 * connection) runs once more on a fresh connection when its connection was
 * lost and nothing it sent is unsafe to repeat.
 *
 * Errors: negative errno.  A lost connection (failed, past its deadline,
 * interrupted, unmounting: see pool_errno) is -EIO, or -EINTR when the
 * calling thread's request was cancelled; c->broken is then set.  A
 * refusal (NO, BAD) is what run_errno makes of its response code, unless
 * the command says what its refusals mean (run_opts.refused).
 *
 * Ownership: commands stay the caller's (free them after the run, when
 * their tagged response code may still be read); nothing is kept.
 * Threads: like the pool: a connection is used by the thread holding it. */
#ifndef IMAPFS_RUN_H
#define IMAPFS_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "imap.h"
#include "remote/pool.h"

/* Gets each untagged response while the command runs (r NULL for one the
 * parser could not read). */
typedef void (*run_untagged_fn)(void *ctx, struct pool_conn *c, const struct imap_response *raw,
				const struct imap_resp *r);

struct run_opts {
	const char *verb;          /* names the command: "UID STORE" (log, table, repeat rule) */
	const char *mailbox;       /* the mailbox it concerns, for the log (may be NULL) */
	run_untagged_fn on_untagged;
	void *ctx;
	bool idempotent;           /* changes the server, but running it twice is like once */
	bool quiet;                /* the caller reports a refusal or a loss itself (if at all) */
	bool any_answer;           /* a refusal changes nothing for the caller: it is 0 */
	int refused;               /* the errno of every refusal; 0: by its response code */
};

/* The one table from a tagged answer to an errno: NO [NONEXISTENT] or
 * [TRYCREATE] -ENOENT, [ALREADYEXISTS] -EEXIST, [NOPERM] or
 * [AUTHORIZATIONFAILED] -EACCES, [OVERQUOTA] -EDQUOT, [READ-ONLY] -EROFS,
 * [INUSE] -EBUSY; a CREATE refused with a NO without a code -EACCES (Cyrus
 * and Courier say so outside the namespaces one may create in); anything
 * else, BAD included, -EIO.  verb may be NULL. */
int run_errno(const char *verb, const char *status, const char *code);
/* Whether a command may be sent again after its connection was lost: the
 * ones that only read (and SELECT/EXAMINE/UNSELECT), or marked idempotent. */
bool run_repeatable(const char *verb, bool idempotent);

/* "VERB mailbox", the name an RFC 3501 astring (atom, quoted or literal by
 * its bytes); NULL (logged) for a name no command can carry (NUL). */
struct imap_cmd *run_mailbox_cmd(const char *verb, const char *mailbox);

/* The halves, for commands their owner pipelines behind others (SELECT,
 * body FETCHes, IDLE): all of them safe to repeat.  0 or the lost errno;
 * an answer is read with run_answer. */
int run_submit(struct pool_conn *c, struct imap_cmd *cmd);
int run_wait(struct pool_conn *c, struct imap_cmd *cmd);
/* What a command's tagged answer means for the caller, by o (logged once
 * unless quiet): 0 for OK. */
int run_answer(const struct imap_cmd *cmd, const struct run_opts *o);

/* Runs cmds (pipelined, in one round trip) on c, untagged responses to o's
 * handler: 0 when each has its tagged answer (read them with run_answer),
 * or the lost errno. */
int run_all(struct pool_conn *c, struct imap_cmd *const *cmds, size_t n, const struct run_opts *o);
/* One command on c: 0, a refusal's errno, or the lost errno. */
int run_on(struct pool_conn *c, struct imap_cmd *cmd, const struct run_opts *o);
/* run_on, for a command made only for this run: cmd is freed after. */
int run_free(struct pool_conn *c, struct imap_cmd *cmd, const struct run_opts *o);
/* A NOOP on c, the server's chance to tell what changed in the selected
 * mailbox (to o's handler, or the pool's): like run_on. */
int run_noop(struct pool_conn *c, const struct run_opts *o);
/* One command on a connection of p (preferring one with mailbox selected;
 * mailbox may be NULL), given back after; never repeated. */
int run_command(struct pool *p, const char *mailbox, struct imap_cmd *cmd, const struct run_opts *o);

/* One attempt of an operation on a connection held for it; again is set
 * on the second attempt (the first one's connection was lost). */
typedef int (*run_attempt_fn)(struct pool_conn *c, void *ctx, bool again);
/* fn on a connection of p (preferring one with mailbox selected): once. */
int run_once(struct pool *p, const char *mailbox, run_attempt_fn fn, void *ctx);
/* The same, and once more on a fresh connection when the first was lost
 * and every command sent on it was repeatable (run_repeatable). */
int run_retry(struct pool *p, const char *mailbox, run_attempt_fn fn, void *ctx);

#endif
