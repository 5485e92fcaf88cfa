/* harness_cyrus_impl.h: the insides of the private Cyrus (see
 * harness_cyrus.h), shared by its parts only: the instance's files, its
 * processes and the watchdog are set up by harness_cyrus.c's start and
 * stop, and each part names what it makes below the instance's directory,
 * which is how leftovers are found and removed. */
#ifndef IMAPFS_HARNESS_CYRUS_IMPL_H
#define IMAPFS_HARNESS_CYRUS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness_cyrus.h"

struct buf;

#define LEFTOVER_TIMEOUT_MS 5000
#define CYRUS_DIR_PREFIX "/tmp/imapfs-cyrus-"
/* First line of every imapd.conf we write: cyrus_stop() and the sweep of
 * stale instances remove only directories that hold it. */
#define CYRUS_CONF_MARK "# A private Cyrus of the imapfs test harness; removed with its directory."

/* Messages on the watchdog's pipe; each is written whole (below PIPE_BUF). */
enum { CYRUS_WD_MASTER = 'm', CYRUS_WD_QUIT = 'q' };

/* Finds name in the usual program directories; its path in out (harness_cyrus.c). */
bool cyrus_find_program(const char *name, char *out, size_t size);

/* Files of the instance (harness_cyrus_files.c). */
void cyrus_path(const struct cyrus *c, const char *name, char *out, size_t size);
int cyrus_make_dir(struct cyrus *c, struct buf *err);
int cyrus_write_imapd_conf(const struct cyrus *c, struct buf *err);
int cyrus_write_services(const struct cyrus *c, struct buf *err);
int cyrus_make_tree(const struct cyrus *c, struct buf *err);
int cyrus_add_sasl_users(const struct cyrus *c, struct buf *err);

/* Processes of one instance and its listening socket (harness_cyrus_proc.c). */
int cyrus_find_ours(const char *dir, pid_t *out, size_t max);
int cyrus_kill_leftovers(const char *dir);
void cyrus_add_log_tail(const struct cyrus *c, struct buf *err);
int cyrus_port_owner(int port, pid_t master);

/* The watchdog (harness_cyrus_watchdog.c). */
int cyrus_watchdog_start(struct cyrus *c, struct buf *err);
void cyrus_watchdog_tell(const struct cyrus *c, int op, pid_t pid);
void cyrus_watchdog_stop(struct cyrus *c);

#endif
