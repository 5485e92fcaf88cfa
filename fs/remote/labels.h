/* labels.h: Gmail's labels (X-GM-EXT-1) of messages, for the read-only
 * attributes user.gmail.labels, .msgid and .thrid (write/xattr.c).
 *
 * Labels are not part of a folder's listing (mailbox.h): most servers
 * have none, and asking for them with every listing would cost Gmail
 * users bytes on every refresh.  They are asked for when read, and kept a
 * short while (labels_new's max_age) per folder: the first read in a
 * folder asks for its one message; a second miss in the same folder
 * within max_age asks for the whole folder in one UID FETCH 1:*, so a
 * getfattr -R or a backup reading every file's labels costs two round
 * trips per folder, not one per file.  A few folders are kept (the ones
 * used last); a folder larger than LABELS_WHOLE_MAX is asked one message
 * at a time.  What a server can make it hold is bounded: a message's
 * text at 64 KiB (the kernel's limit for an attribute value; a longer one
 * is -ENODATA), a folder's texts at 16 MiB, a folder at LABELS_WHOLE_MAX
 * messages, one answer per message asked for alone.
 *
 * The text of user.gmail.labels: one label per line, each line ending in
 * "\n", sorted by bytes, no duplicates; user labels in UTF-8 (decoded
 * from modified UTF-7, or as sent when the server sent UTF-8), system
 * labels as Gmail names them ("\Inbox", "\Important", "\Sent", ...).
 * Gmail leaves the label of the folder the message is read in out of
 * X-GM-LABELS; it is added back for INBOX ("\Inbox") and for user label
 * folders (any folder outside "[Gmail]/" and "[Google Mail]/"), not for
 * Gmail's own folders (All Mail has no label; the others are named by
 * LIST attributes this layer does not see).  A label that is neither
 * modified UTF-7 nor UTF-8 is left out (logged).
 *
 * Errors: negative errno: -ESTALE when the folder's UIDVALIDITY changed,
 * -ENODATA when the server gave no labels for the message (it is gone,
 * or they were malformed), else as run.h.
 * Threads: any; the cache has its own lock, never held while the server
 * is asked. */
#ifndef IMAPFS_LABELS_H
#define IMAPFS_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "gmail.h"
#include "remote/pool.h"

#define LABELS_WHOLE_MAX 200000
/* The longest an answer is used (less when the mount polls more often). */
#define LABELS_MAX_AGE 10

struct labels;

struct gm_info {
	struct buf labels;     /* the text above; the caller frees it */
	uint64_t msgid, thrid; /* 0 when the server did not say */
};

/* max_age: how long an answer is used, in seconds (0: never again). */
struct labels *labels_new(int max_age);
void labels_free(struct labels *l);
/* The labels and ids of message uid of mailbox (uidvalidity) into out
 * (its labels buffer replaced). */
int labels_get(struct labels *l, struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
	       struct gm_info *out);
/* The text of a message's labels as read in mailbox (see above): g's
 * labels, the folder's own added back; out is replaced.  For tests. */
void labels_text(const struct imap_gm_fetch *g, const char *mailbox, bool utf8, struct buf *out);

#endif
