/* pool.h: a small pool of logged-in IMAP connections.  A caller takes one
 * (preferring one that already has the wanted mailbox selected), uses it
 * alone, and gives it back; a connection that failed is closed and opened
 * again on its next use.
 *
 * Commands run on a connection through run.h; the pool itself sends only
 * what opens and closes a connection (login, ENABLE, LOGOUT).
 *
 * Errors: negative errno (-EIO for a connection that cannot be had).
 * Ownership: the pool owns its connections; pool_conn pointers are valid
 * between pool_get and pool_put. */
#ifndef IMAPFS_POOL_H
#define IMAPFS_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "options.h"
#include "imap.h"

struct pool;

struct pool_conn {
	struct pool *pool;
	struct imap *s;
	char *selected;            /* mailbox selected (EXAMINE or SELECT), or NULL */
	bool selected_rw;
	uint32_t uidvalidity;      /* of the selected mailbox */
	uint32_t uidnext;
	uint32_t exists;
	uint64_t highestmodseq;
	bool broken;               /* set by users on IMAP_ABORT: reopened on next get */
	bool qresync;              /* QRESYNC enabled: UID FETCH ... (CHANGEDSINCE m VANISHED) */
	bool unrepeatable;         /* run.c: a command not safe to send twice went out */
	bool idling;               /* the watcher's IDLE or NOOP: every FETCH heard is news */
	uint64_t changes;          /* changes heard while a mailbox was selected */
	/* while a command runs, untagged responses go here */
	void (*on_untagged)(void *ctx, struct pool_conn *c, const struct imap_response *raw,
			    const struct imap_resp *r);
	void *untagged_ctx;
	unsigned index;
	int wake;                  /* eventfd that ends the session's waits (cancel.h, pool_stop) */
};

/* Opens the first connection now so errors show before mounting. */
int pool_new(struct pool **out, const struct fs_config *cfg, struct buf *err);
void pool_free(struct pool *p);
/* Logs in the other connections now, all at once and in the background,
 * so that the first reads find them open instead of paying for logins one
 * after another (each several round trips).  Their slots are busy until
 * their logins end; one that fails is dialled again on its first use.
 * For the mount only (the pool's first connection logged in already, so
 * a wrong password is refused once, not once per connection). */
void pool_open_spares(struct pool *p);
/* Blocks until a connection is free.  mailbox may be NULL (any).  -EINTR
 * when the calling thread's request is cancelled meanwhile (cancel.h):
 * then, and until pool_put, a cancel also ends the connection's network
 * waits.  -EIO once the pool is stopping. */
int pool_get(struct pool *p, const char *mailbox, struct pool_conn **out);
/* Gives c back; a connection left broken (a command abandoned mid-way) is
 * closed now, so the server stops sending what nobody reads. */
void pool_put(struct pool *p, struct pool_conn *c);
/* At unmount: every network wait on the pool's connections (and the
 * private ones) ends now, and pool_get fails from now on, so the threads
 * using them can be joined at once even when the server stalls. */
void pool_stop(struct pool *p);
/* A capability of the server (after login, as the first connection saw). */
bool pool_has_cap(struct pool *p, const char *cap);
/* Whether mailbox names are UTF-8 rather than modified UTF-7, both ways:
 * the server offers UTF8=ACCEPT and ENABLE, and every connection enabled
 * it (one that could not is not used). */
bool pool_utf8_names(struct pool *p);
/* Closes the connection at once (it is reopened on its next use). */
void pool_disconnect(struct pool_conn *c);
/* Maps the result of a core call to errno, marking the connection broken on
 * an abort (-EINTR when the calling thread's request was cancelled). */
int pool_errno(struct pool_conn *c, int rc);

/* (Re)opens c: connect, TLS, greeting, STARTTLS, login and ENABLE within
 * one timeout, all ending at once when c's wake-up fd is written (the
 * request holding c was interrupted, or pool_stop).  After a failed attempt
 * the pool is offline: it logs that once, and no connection is dialled
 * again before a backoff (1 s doubling up to 30 s) has passed: until then
 * this fails at once with -EIO.  An attempt given up on (interrupted,
 * stopping) says nothing about the server and leaves that as it was.  The
 * first success logs "back online".  -EIO at once while the pool is
 * stopping. */
int pool_reconnect(struct pool *p, struct pool_conn *c);
/* A connection outside the pool (the watcher's IDLE), opened with
 * pool_reconnect, freed (LOGOUT if open) with pool_private_free. */
struct pool_conn *pool_private_new(struct pool *p);
void pool_private_free(struct pool_conn *c);
/* Told (from whichever thread holds the connection, with no lock of ours
 * held) when untagged EXISTS, EXPUNGE or VANISHED show that the selected
 * mailbox changed while a connection did something else.  Keep it short
 * and take no lock but a leaf one. */
typedef void (*pool_change_fn)(void *ctx, const char *mailbox);
void pool_set_change_hook(struct pool *p, pool_change_fn fn, void *ctx);

#endif
