/* options.h: what a mount was asked for (the -o options and the URL),
 * shared by the filesystem core (fs.h) and the connection pool below it
 * (remote/pool.h).  Filled by fuse/main.c; nothing changes it after
 * fs_new (the secret object keeps what it read, under its own lock). */
#ifndef IMAPFS_OPTIONS_H
#define IMAPFS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "remote/auth.h"
#include "transport.h"
#include "url.h"

struct secret;

/* -o compress=: COMPRESS=DEFLATE (RFC 4978).  auto: on where the server
 * offers it and is not on this machine (a loopback address or a spawned
 * command, where deflating costs more CPU than the link saves). */
enum fs_compress { FS_COMPRESS_AUTO, FS_COMPRESS_YES, FS_COMPRESS_NO };

struct fs_config {
	struct imap_url url;     /* url.password: used when secret is NULL (tests) */
	struct secret *secret;   /* the password or token, read when needed (remote/secret.h) */
	enum auth_mech auth;     /* -o auth= */
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
	enum fs_compress compress;
	int debug;
	uid_t uid;
	gid_t gid;
	mode_t umask;            /* applied to the modes shown */
};

#endif
