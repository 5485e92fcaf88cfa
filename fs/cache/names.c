/* names.c: mailbox names as directory names, and the interned mailboxes. */
#include "config.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_impl.h"
#include "xalloc.h"

static bool cache_byte_is_safe(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

/* Appends the file-name form of name: reversible %XX escaping, or when
 * that would be too long a prefix of it plus '~' and a SHA-256. */
void cache_encode_name(const char *name, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = out->len, keep = 0;

	for (size_t i = 0; name[i]; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (cache_byte_is_safe(ch) && !(i == 0 && ch == '.')) {
			buf_addch(out, (char)ch);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 0xf] };
			buf_add(out, e, sizeof e);
		}
		if (out->len - start <= CACHE_BOX_NAME_KEEP)
			keep = out->len - start;
	}
	if (out->len - start <= CACHE_BOX_NAME_MAX)
		return;
	unsigned char digest[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, name, strlen(name), digest) != 0)
		abort();  /* SHA-256 is always there; nothing sane to fall back on */
	buf_truncate(out, start + keep);
	buf_addch(out, '~');
	for (size_t i = 0; i < sizeof digest; i++)
		buf_addf(out, "%02x", digest[i]);
}

static size_t cache_str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return (size_t)h;
}

size_t cache_rec_hash(const struct cache_box *b, uint32_t uidvalidity, uint32_t uid)
{
	uint64_t h = (uint64_t)(uintptr_t)b;
	h ^= (uint64_t)uidvalidity * 0x9e3779b97f4a7c15u;
	h ^= (uint64_t)uid * 0xc2b2ae3d27d4eb4fu;
	h ^= h >> 31;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 29;
	return (size_t)h;
}

/* Under c->mu.  Returns the interned box for a directory name, creating
 * it when create is set; NULL otherwise when unknown. */
struct cache_box *cache_box_get(struct cache *c, const char *dirname, bool create)
{
	size_t i = cache_str_hash(dirname) % c->nbox_buckets;
	for (struct cache_box *b = c->boxes[i]; b; b = b->hnext)
		if (!strcmp(b->dirname, dirname))
			return b;
	if (!create)
		return NULL;
	if (c->nboxes >= c->nbox_buckets) {
		size_t n = c->nbox_buckets * 2;
		struct cache_box **t = xcalloc(n, sizeof *t);
		for (size_t j = 0; j < c->nbox_buckets; j++) {
			struct cache_box *b = c->boxes[j], *next;
			for (; b; b = next) {
				next = b->hnext;
				size_t k = cache_str_hash(b->dirname) % n;
				b->hnext = t[k];
				t[k] = b;
			}
		}
		free(c->boxes);
		c->boxes = t;
		c->nbox_buckets = n;
		i = cache_str_hash(dirname) % n;
	}
	struct cache_box *b = xcalloc(1, sizeof *b);
	b->dirname = xstrdup(dirname);
	b->hnext = c->boxes[i];
	c->boxes[i] = b;
	c->nboxes++;
	return b;
}

/* Fills dirname with mailbox's directory name; -1 (EINVAL) for "". */
int cache_box_dirname(const char *mailbox, struct buf *dirname)
{
	buf_reset(dirname);
	if (!mailbox || !*mailbox) {
		errno = EINVAL;
		return -1;
	}
	cache_encode_name(mailbox, dirname);
	return 0;
}

struct cache_box *cache_box_for(struct cache *c, const char *mailbox, bool create)
{
	struct buf name = BUF_INIT;
	struct cache_box *b = NULL;

	if (cache_box_dirname(mailbox, &name) == 0) {
		cache_lock(c);
		b = cache_box_get(c, name.data, create);
		cache_unlock(c);
	}
	buf_free(&name);
	return b;
}

void cache_pack_path(struct buf *out, const struct cache_pack *p)
{
	buf_reset(out);
	buf_addf(out, "mail/%s/%u/%s", p->box->dirname, (unsigned)p->uidvalidity, p->name);
}
