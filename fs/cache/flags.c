/* flags.c: strings interned (cache.h): a listing keeps a number per
 * message instead of a string.  Two tables: flag lists (the few distinct
 * lists of an account, most messages share "\Seen" or nothing, are kept
 * once) and the names messages were written or moved under, which keeps
 * struct cache_msg a plain value that owns nothing. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cache/cache_impl.h"
#include "siphash.h"
#include "xalloc.h"

void cache_flags_init(struct cache_flags *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	siphash_key_random(f->key, f);
}

void cache_flags_free(struct cache_flags *f)
{
	for (uint32_t i = 0; i < f->n; i++)
		free(f->text[i]);
	free(f->text);
	free(f->len);
	free(f->slot);
	pthread_mutex_destroy(&f->mu);
}

/* Under f->mu: where text[id - 1] goes in the slots (ids, 0 = free). */
static size_t probe(const struct cache_flags *f, const char *s, size_t len)
{
	size_t mask = f->nslots - 1, i = siphash13(f->key, s, len) & mask;
	for (;; i = (i + 1) & mask) {
		uint32_t id = f->slot[i];
		if (!id || (f->len[id - 1] == len && !memcmp(f->text[id - 1], s, len)))
			return i;
	}
}

static void grow(struct cache_flags *f)
{
	size_t old = f->nslots;
	uint32_t *slots = f->slot;
	f->nslots = old ? old * 2 : 64;
	f->slot = xcalloc(f->nslots, sizeof *f->slot);
	for (size_t i = 0; i < old; i++)
		if (slots[i])
			f->slot[probe(f, f->text[slots[i] - 1], f->len[slots[i] - 1])] = slots[i];
	free(slots);
}

static uint32_t intern(struct cache_flags *f, const char *flags, size_t len)
{
	pthread_mutex_lock(&f->mu);
	if ((f->n + 1) * 2 > f->nslots)
		grow(f);
	size_t i = probe(f, flags, len);
	if (!f->slot[i]) {
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 16;
			f->text = xrealloc(f->text, f->cap * sizeof *f->text);
			f->len = xrealloc(f->len, f->cap * sizeof *f->len);
		}
		f->text[f->n] = xmemdup(flags, len);
		f->len[f->n] = len;
		f->slot[i] = ++f->n;
	}
	uint32_t id = f->slot[i];
	pthread_mutex_unlock(&f->mu);
	return id;
}

static const char *text_of(struct cache_flags *f, uint32_t id)
{
	pthread_mutex_lock(&f->mu);
	const char *s = id && id <= f->n ? f->text[id - 1] : NULL;
	pthread_mutex_unlock(&f->mu);
	return s;
}

uint32_t cache_flags_id(struct cache *c, const char *flags, size_t len)
{
	return intern(&c->flags, flags, len);
}

const char *cache_flags_text(struct cache *c, uint32_t id)
{
	return text_of(&c->flags, id);
}

uint32_t cache_name_id(struct cache *c, const char *name)
{
	return intern(&c->names, name, strlen(name));
}

const char *cache_name_text(struct cache *c, uint32_t id)
{
	return text_of(&c->names, id);
}
