/* harness_fakefs.h: the filesystem core (and its connection pool) against
 * a scripted server (fake.h), set up the one way the fs-core tests need:
 * the account alice, password secret, plaintext, on the server's port; a
 * cache in a directory of its own; one connection.
 *
 * The functions fail the running Check test instead of returning errors.
 * This file is in tests/harness/libfakefs.la, which needs fs/libfscore.la,
 * fs/libfsunits.la and tests/harness/libharness.la linked after it
 * (FAKEFS_LIBS in tests/local.mk); libharness itself stays free of the fs
 * core. */
#ifndef IMAPFS_HARNESS_FAKEFS_H
#define IMAPFS_HARNESS_FAKEFS_H

#include <stdbool.h>
#include <stdint.h>

#include "fake.h"
#include "fs.h"

struct pool;

/* What differs from test to test; zero for the defaults. */
struct fakefs_opts {
	int timeout_s;           /* the core's timeout; 0: 10 */
	int server_timeout_ms;   /* every wait of the server; 0: fake.h's */
	uint64_t cache_size;     /* 0: the core's default */
	unsigned connections;    /* 0: 1 */
	bool poll_each_access;   /* poll=0, every access asks the server; else
				  * 600 s: the tests ask for each LIST themselves */
	bool start;              /* fs_start too: the watcher and read-ahead threads */
	const char *parent;      /* where the cache directory is made; NULL: /tmp */
};

struct fakefs {
	struct fake_server *f;
	struct fs_config cfg;
	struct fs *fs;           /* NULL after fakefs_config */
	char dir[256];           /* the cache directory, made for it */
};

/* cfg for the account user on 127.0.0.1:port, password secret (as in
 * FAKE_LOGIN and the private Dovecot), plaintext; the rest zero.  The
 * caller frees cfg->url (url_free). */
void fakefs_account(struct fs_config *cfg, const char *user, const char *port);
/* A connection pool alone for user on 127.0.0.1:port (fakefs_account, two
 * connections, 30 s deadlines; CHECK_WRITE_DEBUG traces it), for the tests
 * of the remote side.  fakefs_pool_free frees it and cfg->url. */
struct pool *fakefs_pool_new(const char *user, const char *port, struct fs_config *cfg);
void fakefs_pool_free(struct pool *p, struct fs_config *cfg);
/* Starts the server on script and configures the core (o may be NULL),
 * without making it: for a test that calls fs_new itself. */
void fakefs_config(struct fakefs *ff, const char *script, const struct fakefs_opts *o);
/* fakefs_config and fs_new (and fs_start if o says so). */
void fakefs_open(struct fakefs *ff, const char *script, const struct fakefs_opts *o);
/* Ends the core (if any) and removes its cache; ff->f is left to the
 * caller, for a test that expects the script to end otherwise. */
void fakefs_free(struct fakefs *ff);
/* fakefs_free; the server must have seen exactly its script. */
void fakefs_close(struct fakefs *ff);

/* A scripted server that must start (timeout_ms: every wait; 0: fake.h's). */
struct fake_server *fakefs_server_start(const char *script, int timeout_ms);
/* The server must have seen exactly its script; frees f. */
void fakefs_server_finish(struct fake_server *f);

/* ---- script pieces: what the core sends, and answers (after FAKE_LOGIN) ---- */

/* The mailbox list: the LIST, then "S: * LIST ..." lines, then its end. */
#define FAKEFS_LIST "C: <tag2> LIST \"\" \"*\"\n"
#define FAKEFS_LISTED "S: <tag2> OK listed\n"
/* The first listing of mailbox name: EXAMINE answered with exists
 * messages, UIDVALIDITY and UIDNEXT, and the UID FETCH that lists them
 * (fetched: FAKEFS_MSG lines). */
#define FAKEFS_LISTING(name, exists, uidvalidity, uidnext, fetched)          \
	"C: <tag3> EXAMINE " name "\n"                                       \
	"C: <tag4> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)\n"     \
	"S: * " exists " EXISTS\n"                                           \
	"S: * OK [UIDVALIDITY " uidvalidity "] ok\n"                         \
	"S: * OK [UIDNEXT " uidnext "] ok\n"                                 \
	"S: <tag3> OK [READ-ONLY] done\n" fetched "S: <tag4> OK done\n"
/* One message of such a listing, of 1 January 2020, seen. */
#define FAKEFS_MSG(seq, uid, size)                                                                   \
	"S: * " seq " FETCH (UID " uid " RFC822.SIZE " size " INTERNALDATE \"01-Jan-2020 00:00:00 +0000\"" \
	" FLAGS (\\\\Seen))\n"

#endif
