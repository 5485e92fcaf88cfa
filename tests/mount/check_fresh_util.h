/* check_fresh_util.h: what the parts of check_fresh share: the private
 * Dovecot and mount environment main() sets up, mounts on it, the second
 * connection that changes the mail behind the mount's back, and waits that
 * poll for what the mount should show "within seconds".  Each part adds its
 * tests through one check_fresh_add_* function, called by main() in
 * check_fresh.c in the order they ran before the split. */
#ifndef IMAPFS_CHECK_FRESH_UTIL_H
#define IMAPFS_CHECK_FRESH_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "harness.h"
#include "harness_mount.h"
#include "imap.h"
#include "imaplib.h"

/* "Seen within a few seconds": generous, since the sanitizer builds are slow. */
#define SEEN_WITHIN_MS 10000

extern struct dovecot dc;
extern struct mount_env env;

void mount_on(struct fsmount *m, const struct dovecot *d, const char *name, const char *extra);
struct imap *second_to(const struct dovecot *d);
bool same_bytes(const struct buf *b, const void *p, size_t n);
/* Appends msg to mailbox; the UID it got. */
unsigned append(struct imap *s, const char *mailbox, const void *msg, size_t len);
void expunge_uid(struct imap *s, const char *mailbox, unsigned uid);
void imap_call_ok(int rc, struct imap_result *r);
/* The server's UIDs of mailbox, ascending, as "1 2 3". */
void server_uids(struct imap *s, const char *mailbox, struct buf *out);
/* The UIDs the mount shows in dir, as "1 2 3". */
void mount_uids(const char *dir, struct buf *out);
bool exists(const char *path);
/* Polls cond(ctx) every 100 ms for up to ms. */
bool within(int ms, bool (*cond)(void *ctx), void *ctx);
bool path_exists(void *p);
bool path_gone(void *p);

/* Conditions for within(): path reads as want. */
struct reads_as {
	const char *path;
	const char *want;
	size_t len;
};
bool reads_as(void *p);

/* A message of about size bytes, its lines telling seed apart. */
void big_message(struct buf *out, size_t size, unsigned seed);

/* ---- the parts ---- */

void check_fresh_add_live(TCase *tc);
void check_fresh_add_faults(TCase *tc);
void check_fresh_add_load(TCase *tc);

#endif
