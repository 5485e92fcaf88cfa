/* quota.h: the account's storage quota (RFC 2087 GETQUOTAROOT INBOX), for
 * statfs.  The first question goes out with the mount's LIST, in the same
 * round trip (quota_question); later ones on a thread of its own, when an
 * answer older than max_age is read.  Readers get the last answer at once
 * and never wait on the server: a grep -r or find, which ask statfs as
 * they begin, pay no round trip for it, and df right after the mount
 * shows the quota.
 * Ownership: quota_new's struct is the caller's until quota_free. */
#ifndef IMAPFS_QUOTA_H
#define IMAPFS_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "remote/pool.h"

struct quota;

struct quota_usage {
	bool known;              /* false: the server has no quota, or never told */
	uint64_t used_kb, limit_kb;
};

void quota_new(struct quota **out, struct pool *p);
/* The question, for a caller that pipelines it behind another command
 * (ctx: q): NULL when the server has no QUOTA.  Every response it reads
 * then goes to quota_heard (ctx: q), which takes the QUOTA ones. */
struct imap_cmd *quota_question(void *q);
void quota_heard(void *q, struct pool_conn *c, const struct imap_response *raw, const struct imap_resp *r);
/* Starts the thread that asks again later: 0, or a negative errno when
 * it cannot start. */
int quota_start(struct quota *q);
/* The STORAGE usage and limit as last answered (an answer that failed
 * keeps the one before), asking again in the background when that is
 * max_age seconds old. */
struct quota_usage quota_get(struct quota *q, int max_age);
/* Ends the thread (its network wait ends by pool_stop first), and frees. */
void quota_free(struct quota *q);

#endif
