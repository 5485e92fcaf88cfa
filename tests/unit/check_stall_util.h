/* check_stall_util.h: what the parts of check_stall share: how long the
 * hostile servers stall and the bound that proves nobody waited for them,
 * the scripts that stall, and the fs core over one such server.  Each part
 * adds its tests through one check_stall_add_* function, called by main()
 * in check_stall.c. */
#ifndef IMAPFS_CHECK_STALL_UTIL_H
#define IMAPFS_CHECK_STALL_UTIL_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "fake.h"
#include "harness_fakefs.h"
#include "harness_mount.h"

/* How long the hostile servers keep it up, and the bound that proves no
 * wait lasted that long (generous: two loaded cores, sanitizers). */
#define STALL_S 60
#define NO_HANG_MS 15000

/* The server outlasts every stall. */
#define SERVER_TIMEOUT_MS ((STALL_S + 30) * 1000)

extern struct mount_env env;
extern char workdir[64];   /* the fs core's caches, removed at the end even after a failure */

/* ---- hostile scripts ---- */

/* "* OK still here" every second for s seconds. */
void add_chatter(struct buf *script, int s);
/* The start of a body literal of n bytes, then one byte a second for s
 * seconds (s < n: it never ends in time). */
void add_trickle(struct buf *script, const char *fetch_head, int n, int s);
/* Untagged data about 20 KB a second for s seconds. */
void add_data_chatter(struct buf *script, int s);
/* Bodies of a message nobody asked for (UID 99), 20 KB a second for s
 * seconds. */
void add_unwanted_bodies(struct buf *script, int s);
/* The server went on sending after the client closed: its next write
 * failed. */
void finish_abandoned(struct fake_server *f);
struct fake_server *start_fake(const struct buf *script);

/* ---- the filesystem core ---- */

/* Login, the folder list, INBOX with messages 1 and 2 listed (tags 0-4). */
#define FS_SCRIPT_LISTED                                                                                 \
	FAKE_LOGIN("")                                                                                   \
	FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED                                          \
	FAKEFS_LISTING("INBOX", "2", "7", "3", FAKEFS_MSG("1", "1", "100") FAKEFS_MSG("2", "2", "100"))
/* And the fetch of both bodies (<tag5>) that reading 1.eml starts. */
#define FS_SCRIPT_HEAD FS_SCRIPT_LISTED "C: <tag5> UID FETCH 1:2 (UID BODY.PEEK[])\n"

struct stall_fs {
	struct fakefs ff;
	uint64_t ino;            /* INBOX/1.eml */
};

/* The core with one connection to a server playing script and its own
 * cache under workdir; 1.eml looked up. */
void stall_fs_open(struct stall_fs *sf, const struct buf *script, int timeout_s);
/* fs_open_body of 1.eml; *ms: how long it took. */
int open_body(struct stall_fs *sf, long long *ms);
/* Joins t within ms; false when it is still running. */
bool join_within(pthread_t t, int ms);

/* ---- the parts ---- */

void check_stall_add_core(TCase *tc);
void check_stall_add_fs(TCase *tc);
void check_stall_add_session(TCase *tc);
void check_stall_add_fire(TCase *tc);
void check_stall_add_mount(TCase *tc);

#endif
