/* store.h: the memory of one parsed response, for resp.c (the structure
 * layer of parser.h), kept by the parser between responses.  Not for other
 * modules.
 *
 * An arena that only grows during one imap_resp_parse() call, so the
 * pointers it hands out never move, and a stack of the arguments of the
 * lists still open.  resp_store_reset() makes it empty for the next
 * response and gives back what one large response took beyond a bound. */
#ifndef IMAPFS_STORE_H
#define IMAPFS_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "parser.h"

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	max_align_t data[];
};

struct resp_store {
	struct arena_block *arena;
	struct imap_arg *pend;  /* arguments of the lists still open */
	size_t npend, pend_cap;
	size_t *opens;          /* index in pend where each open list starts */
	size_t opens_cap;
	unsigned max_depth;
};

/* n bytes aligned for any type, valid until the next reset. */
void *resp_store_alloc(struct resp_store *st, size_t n);
/* s[0..n) and a NUL in the arena; upper: ASCII letters upper-cased. */
char *resp_store_strdup(struct resp_store *st, const char *s, size_t n, bool upper);
/* A zeroed argument of type on the stack of open lists. */
struct imap_arg *resp_store_push(struct resp_store *st, enum imap_arg_type type);
/* Moves the stack's arguments from start on into the arena (*count of
 * them); the stack is cut back to start. */
const struct imap_arg *resp_store_take(struct resp_store *st, size_t start, size_t *count);
void resp_store_reset(struct resp_store *st);
void resp_store_free(struct resp_store *st);

#endif
