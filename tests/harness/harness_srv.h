/* harness_srv.h: what the server holds, asked through a second IMAP
 * connection (harness_login / mount_second): the witness of the mount
 * tests, on the imaplib-style API.
 *
 * The functions fail the running Check test instead of returning errors;
 * text and lit (may be NULL) are appended to. */
#ifndef IMAPFS_HARNESS_SRV_H
#define IMAPFS_HARNESS_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imaplib.h"

/* The command (rc, result r) must have answered OK. */
void srv_ok(int rc, const struct imap_result *r, const char *what);
void srv_select(struct imap *s, const char *mailbox, bool readonly);
/* The UIDs of mailbox, ascending, up to max; returns how many it has. */
size_t srv_uids(struct imap *s, const char *mailbox, uint32_t *uids, size_t max);
/* UID FETCH uid item: the first response's text and literal. */
void srv_fetch(struct imap *s, const char *mailbox, uint32_t uid, const char *item, struct buf *text,
	       struct buf *lit);
/* LIST "" "*", one line per mailbox. */
void srv_list(struct imap *s, struct buf *out);
/* Whether a LIST (srv_list) names mailbox, quoted or as an atom. */
bool srv_listed(const struct buf *list, const char *mailbox);
void srv_append(struct imap *s, const char *mailbox, const char *msg);
/* A folder of its own for one test, with n small messages. */
void srv_folder(struct imap *s, const char *mailbox, unsigned n);

#endif
