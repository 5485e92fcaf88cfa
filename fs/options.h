/* options.h: what a mount was asked for (the -o options and the URL),
 * shared by the filesystem core (fs.h) and the connection pool below it
 * (remote/pool.h).  Filled by fuse/main.c; nothing changes it after
 * fs_new. */
#ifndef IMAPFS_OPTIONS_H
#define IMAPFS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "transport.h"
#include "url.h"

struct fs_config {
	struct imap_url url;
	struct tls_opts tls;
	bool tls_none;           /* imap:// without STARTTLS allowed */
	char *command;           /* spawned server */
	char *cachedir;
	uint64_t cache_size;
	unsigned connections;
	int timeout_s;
	int poll_s;
	bool watch;              /* keep fresh in the background (watch.c): IDLE, polling */
	bool readonly;
	bool plain_expunge;      /* without UIDPLUS, rm may use a plain EXPUNGE */
	int debug;
	uid_t uid;
	gid_t gid;
	mode_t umask;            /* applied to the modes shown */
};

#endif
