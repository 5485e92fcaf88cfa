/* xalloc.h: allocation that aborts with a message on failure, so callers
 * never handle ENOMEM.  Internal to the project: libimap4 does not export
 * these names (a program linking it keeps its own xmalloc, if it has one). */
#ifndef IMAPFS_XALLOC_H
#define IMAPFS_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t n);        /* adds a trailing NUL */
/* What they do when memory runs out (n bytes asked for): a message, abort. */
void xalloc_fail(size_t n) __attribute__((noreturn));

#endif
