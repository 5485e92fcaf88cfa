/* gmail.h: Gmail's FETCH items (capability X-GM-EXT-1), read from a FETCH
 * response that imap_resp_parse() (parser.h) split; the grammar is the one
 * parser's, this only says what the arguments mean and bounds them.
 *
 *   X-GM-LABELS (astring*)   the message's labels: system labels are
 *                            backslash names ("\\Inbox" quoted, or atoms),
 *                            user labels modified UTF-7 folder names
 *   X-GM-MSGID  number64     one id of the message in every folder
 *   X-GM-THRID  number64     its conversation
 *
 * Hostile input: a label list longer than IMAP_GM_MAX_LABELS, a label
 * longer than IMAP_GM_MAX_LABEL or empty, one holding a control byte (a
 * literal may carry NUL, CR or LF), one that is NIL, a list or a literal
 * streamed away, and a number that is not 1 to 20 digits within 64 bits
 * or is 0: each makes its item unread (has_* false), never half read.
 * Memory: labels point into the response (valid as long as it is). */
#ifndef IMAPFS_GMAIL_H
#define IMAPFS_GMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

/* Gmail caps a label name at 225 characters and an account at 10,000
 * labels; one message carries far fewer.  Bounds on what the server may
 * make us hold per message, not Gmail's exact rules. */
#define IMAP_GM_MAX_LABELS 1000
#define IMAP_GM_MAX_LABEL 1024

struct imap_gm_fetch {
	uint32_t uid;                    /* the FETCH's UID item, 0 when none */
	bool has_labels, has_msgid, has_thrid;
	const struct imap_arg *labels;   /* has_labels: nlabels valid astrings */
	size_t nlabels;
	uint64_t msgid, thrid;
	bool malformed;                  /* an item named was left unread */
};

/* The Gmail items (and the UID) of a FETCH response; false when r is not a
 * FETCH with an attribute list. */
bool imap_gm_fetch(const struct imap_resp *r, struct imap_gm_fetch *out);
/* Label i of a decoded list (i < nlabels). */
void imap_gm_label(const struct imap_gm_fetch *g, size_t i, const char **s, size_t *len);
/* Whether a label is a system label (\Inbox, \Important, \Sent ...). */
bool imap_gm_label_is_system(const char *s, size_t len);

#endif
