/* store.c: the memory of one parsed response (store.h). */
#include "config.h"
#include "store.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

/* An arena block kept for the next parse is at most this big. */
#define KEEP_MAX ((size_t)1 << 20)
#define ARENA_MIN_BLOCK ((size_t)4096)

static void arena_free_all(struct resp_store *st)
{
	while (st->arena) {
		struct arena_block *b = st->arena;
		st->arena = b->next;
		free(b);
	}
}

void resp_store_free(struct resp_store *st)
{
	if (!st)
		return;
	arena_free_all(st);
	free(st->pend);
	free(st->opens);
	free(st);
}

static void arena_reset(struct resp_store *st)
{
	struct arena_block *keep = st->arena;
	if (!keep)
		return;
	struct arena_block *b = keep->next;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	keep->next = NULL;
	keep->used = 0;
	if (keep->size > KEEP_MAX) {
		free(keep);
		st->arena = NULL;
	}
}

void *resp_store_alloc(struct resp_store *st, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n > SIZE_MAX / 2)
		abort();  /* cannot happen: n is bounded by data already in memory */
	n = (n + align - 1) / align * align;
	struct arena_block *b = st->arena;
	if (!b || b->size - b->used < n) {
		size_t size = b ? b->size * 2 : ARENA_MIN_BLOCK;
		if (size > KEEP_MAX)
			size = KEEP_MAX;
		if (size < n)
			size = n;
		b = xmalloc(sizeof *b + size);
		b->next = st->arena;
		b->size = size;
		b->used = 0;
		st->arena = b;
	}
	void *r = (char *)b->data + b->used;
	b->used += n;
	return r;
}

char *resp_store_strdup(struct resp_store *st, const char *s, size_t n, bool upper)
{
	char *d = resp_store_alloc(st, n + 1);
	for (size_t i = 0; i < n; i++)
		d[i] = upper && s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
	d[n] = '\0';
	return d;
}

struct imap_arg *resp_store_push(struct resp_store *st, enum imap_arg_type type)
{
	if (st->npend == st->pend_cap) {
		st->pend_cap = st->pend_cap ? st->pend_cap * 2 : 32;
		st->pend = xrealloc(st->pend, st->pend_cap * sizeof *st->pend);
	}
	struct imap_arg *a = &st->pend[st->npend++];
	memset(a, 0, sizeof *a);
	a->type = type;
	return a;
}

const struct imap_arg *resp_store_take(struct resp_store *st, size_t start, size_t *count)
{
	size_t n = st->npend - start;
	struct imap_arg *a = NULL;
	if (n) {
		a = resp_store_alloc(st, n * sizeof *a);
		memcpy(a, st->pend + start, n * sizeof *a);
	}
	st->npend = start;
	*count = n;
	return a;
}

void resp_store_reset(struct resp_store *st)
{
	arena_reset(st);
	st->npend = 0;
	if (st->pend_cap * sizeof *st->pend > KEEP_MAX) {
		free(st->pend);
		st->pend = NULL;
		st->pend_cap = 0;
	}
}
