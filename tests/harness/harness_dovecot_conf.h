/* harness_dovecot_conf.h: the files that make and describe a private Dovecot
 * instance (internal to harness_dovecot.c).
 *
 * Errors: int functions return 0 or -1 with a one-line reason appended to
 * err (not NULL).  Nothing returned is allocated.
 */
#ifndef IMAPFS_HARNESS_DOVECOT_CONF_H
#define IMAPFS_HARNESS_DOVECOT_CONF_H

#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

struct buf;

/* An absolute path of letters, digits and /._-+ only: paths go into
 * Dovecot's configuration and into shell lines unquoted. */
bool dovecot_conf_plain_path(const char *p);
/* A user name of letters, digits and ._- (at most 64). */
bool dovecot_conf_plain_name(const char *s);

/* DIR/passwd: alice, bob, tiny and o's users, passwords in {PLAIN}. */
int dovecot_conf_write_passwd(const struct dovecot *d, const struct dovecot_opts *o,
			      struct buf *err);
/* d->conf from d's paths, ports, certificates and separator; mail runs as
 * uid:gid.  imap_dir: where the imap executables are when not in Dovecot's
 * default place (then DIR/modules is the mail_plugin_dir); NULL = default. */
int dovecot_conf_write(const struct dovecot *d, const char *imap_dir, uid_t uid, gid_t gid,
		       struct buf *err);
/* DIR/server.env: IMAP_PORT=... lines for the shell and for read_env. */
int dovecot_conf_write_env(const struct dovecot *d, struct buf *err);
/* Fills d (not .running, .owner) from DIR/server.env; fails unless the file
 * describes DIR itself. */
int dovecot_conf_read_env(struct dovecot *d, const char *dir, struct buf *err);
/* True if d->dir holds a configuration written by dovecot_conf_write(). */
bool dovecot_conf_is_ours(const struct dovecot *d);

#endif
