/* words.h: split a string into words the way a POSIX shell does (quotes and
 * backslashes; no expansions).  Ownership: the words belong to struct words
 * until words_free().  Errors: -1 with a reason in err (unterminated quote). */
#ifndef IMAPFS_WORDS_H
#define IMAPFS_WORDS_H

#include <stddef.h>

struct buf;

struct words {
	char **v;
	size_t n;
};

int words_split(const char *text, struct words *out, struct buf *err);
void words_free(struct words *w);

#endif
