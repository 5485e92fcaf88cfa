/* names.c: finding a folder's messages in its listing, by UID or by the
 * name they show under, and those names (mailbox.h).  A
 * message written or moved through the mount keeps the name it was given
 * (cache_msg.name, saved with the listing); any other shows as <UID>.eml,
 * or <UID>~.eml while a kept name is that very string, because the kept
 * name is the one a restore and its rerun look for. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "model/mailbox.h"
#include "xalloc.h"

/* Names given while the message was not in the listing yet (or while a
 * refresh worked on a copy of it), applied when it is: bounded, the
 * oldest go first. */
#define PENDING_MAX 4096

/* How far a message without a kept name can be pushed aside: <UID>.eml,
 * <UID>~.eml, <UID>~~.eml... (each step because a kept name is that
 * string). */
#define DISPLACED_MAX 8

struct name_key {
	const char *kept;
	char uid_name[MBOX_UID_NAME];
	uint8_t level;           /* of displacement */
	uint32_t index;
};

static const char *key_name(const struct name_key *k)
{
	return k->kept ? k->kept : k->uid_name;
}

static int cmp_name_key(const void *a, const void *b)
{
	return strcmp(key_name(a), key_name(b));
}

static void uid_name(char buf[MBOX_UID_NAME], uint32_t uid, unsigned level)
{
	snprintf(buf, MBOX_UID_NAME, "%u%.*s.eml", uid, (int)level, "~~~~~~~~");
}

/* Pushes aside every message without a kept name whose name is another
 * message's (sorted keys); true when one moved. */
static bool displace(struct name_key *keys, size_t n, const struct cache_listing *l)
{
	bool moved = false;
	for (size_t k = 0; k + 1 < n; k++) {
		struct name_key *a = &keys[k], *b = &keys[k + 1];
		struct name_key *plain = !a->kept ? a : !b->kept ? b : NULL;
		if (!plain || plain->level == DISPLACED_MAX || strcmp(key_name(a), key_name(b)))
			continue;
		uid_name(plain->uid_name, l->msgs[plain->index].uid, ++plain->level);
		moved = true;
	}
	return moved;
}

long listing_find(const struct cache_listing *l, uint32_t uid)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t u = l->msgs[mid].uid;
		if (u < uid)
			lo = mid + 1;
		else if (u > uid)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}

long mbox_find(const struct mbox *m, uint32_t uid)
{
	return listing_find(&m->listing, uid);
}

static const char *kept_text(const struct mbox *m, uint32_t id)
{
	return id && m->tree->cache ? cache_name_text(m->tree->cache, id) : NULL;
}

void mbox_name_locked(struct mbox *m, long i, uint32_t id)
{
	struct cache_listing *l = &m->listing;
	if (id)
		for (size_t j = 0; j < l->n; j++)
			if (l->msgs[j].name == id)
				l->msgs[j].name = 0;
	l->msgs[i].name = id;
}

/* A name for a message the listing does not have: it may still come (no
 * listing yet, a refresh under way, a UID the listing has not reached),
 * or it is gone. */
static bool waits_for(const struct mbox *m, const struct mbox_pending_name *p)
{
	const struct cache_listing *l = &m->listing;
	return !l->uidvalidity || (p->uidvalidity == l->uidvalidity && (m->refreshing || p->uid >= l->uidnext));
}

/* True when it named a message.  While a refresh works on a copy of the
 * listing the names stay pending too: its result replaces this one. */
static bool apply_pending_locked(struct mbox *m)
{
	size_t w = 0;
	bool named = false;
	for (size_t k = 0; k < m->npending; k++) {
		struct mbox_pending_name *p = &m->pending[k];
		long i = p->uidvalidity == m->listing.uidvalidity ? mbox_find(m, p->uid) : -1;
		if (i >= 0 && m->listing.msgs[i].name != p->name) {
			mbox_name_locked(m, i, p->name);
			named = true;
		}
		if (i >= 0 ? m->refreshing : waits_for(m, p))
			m->pending[w++] = *p;
	}
	m->npending = w;
	return named;
}

void mbox_build_order(struct mbox *m)
{
	/* the names must outlive the mount, like the listing they are in */
	if (apply_pending_locked(m) && m->tree->cache && m->listing.uidvalidity)
		mbox_listing_save(m, m->tree->cache, &m->listing);
	size_t n = m->listing.n;
	struct name_key *keys = xcalloc(n ? n : 1, sizeof *keys);
	m->nkept = 0;
	for (size_t i = 0; i < n; i++) {
		const struct cache_msg *msg = &m->listing.msgs[i];
		keys[i].kept = kept_text(m, msg->name);
		uid_name(keys[i].uid_name, msg->uid, 0);
		keys[i].index = (uint32_t)i;
		m->nkept += keys[i].kept != NULL;
	}
	qsort(keys, n, sizeof *keys, cmp_name_key);
	for (int round = 0; round < DISPLACED_MAX && displace(keys, n, &m->listing); round++)
		qsort(keys, n, sizeof *keys, cmp_name_key);
	free(m->order);
	free(m->rank);
	free(m->displaced);
	m->order = xcalloc(n ? n : 1, sizeof *m->order);
	m->rank = xcalloc(n ? n : 1, sizeof *m->rank);
	m->displaced = xcalloc(n ? n : 1, sizeof *m->displaced);
	for (size_t k = 0; k < n; k++) {
		m->order[k] = keys[k].index;
		m->rank[keys[k].index] = (uint32_t)k;
		m->displaced[keys[k].index] = keys[k].level;
	}
	free(keys);
}

const char *mbox_shown_name(const struct mbox *m, size_t i, char buf[MBOX_UID_NAME])
{
	const struct cache_msg *msg = &m->listing.msgs[i];
	const char *kept = kept_text(m, msg->name);
	if (kept)
		return kept;
	uid_name(buf, msg->uid, m->displaced ? m->displaced[i] : 0);
	return buf;
}

long mbox_find_name(const struct mbox *m, const char *name)
{
	size_t lo = 0, hi = m->listing.n;
	char buf[MBOX_UID_NAME];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(mbox_shown_name(m, m->order[mid], buf), name);
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return (long)m->order[mid];
	}
	return -1;
}

int mbox_msg_by_name(struct mbox *m, const char *name, struct cache_msg *msg, uint32_t *uidvalidity)
{
	pthread_mutex_lock(&m->lock);
	long i = m->order ? mbox_find_name(m, name) : -1;
	if (i >= 0) {
		*msg = m->listing.msgs[i];
		*uidvalidity = m->listing.uidvalidity;
	}
	pthread_mutex_unlock(&m->lock);
	return i >= 0 ? 0 : -ENOENT;
}

void mbox_listing_save(const struct mbox *m, struct cache *cache, const struct cache_listing *l)
{
	struct buf err = BUF_INIT;
	if (cache_listing_save(cache, m->name, l, &err) < 0)
		fs_log(LOG_WARNING, "cannot save the listing of %s: %s", m->path, err.data);
	buf_free(&err);
}

/* Drops what waits for uid, and for the name id elsewhere. */
static void forget_pending_locked(struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint32_t id)
{
	size_t w = 0;
	for (size_t k = 0; k < m->npending; k++) {
		const struct mbox_pending_name *p = &m->pending[k];
		if (!(p->uid == uid && p->uidvalidity == uidvalidity) && !(id && p->name == id))
			m->pending[w++] = *p;
	}
	m->npending = w;
}

void mbox_name_given_locked(struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint32_t id, bool placed)
{
	forget_pending_locked(m, uidvalidity, uid, id);  /* the last word wins */
	if ((placed && !m->refreshing) || !uidvalidity)
		return;  /* nothing to wait for (no UIDVALIDITY: no listing could take it) */
	if (m->npending == PENDING_MAX) {
		memmove(m->pending, m->pending + 1, (PENDING_MAX - 1) * sizeof *m->pending);
		m->npending--;
	}
	m->pending = xrealloc(m->pending, (m->npending + 1) * sizeof *m->pending);
	m->pending[m->npending++] = (struct mbox_pending_name){ uidvalidity, uid, id };
}

void mbox_msg_named(struct mbox *m, struct cache *cache, uint32_t uidvalidity, uint32_t uid, const char *name)
{
	uint32_t id = name && cache_name_ok(name, strlen(name)) ? cache_name_id(cache, name) : 0;
	pthread_mutex_lock(&m->lock);
	long i = m->loaded && m->listing.uidvalidity == uidvalidity ? mbox_find(m, uid) : -1;
	mbox_name_given_locked(m, uidvalidity, uid, id, i >= 0);
	if (i >= 0) {
		mbox_name_locked(m, i, id);
		mbox_build_order(m);
		mbox_listing_save(m, cache, &m->listing);
	}
	pthread_mutex_unlock(&m->lock);
}

void mbox_save_listing(struct mbox *m, struct cache *cache)
{
	pthread_mutex_lock(&m->lock);
	if (m->loaded && m->name && m->listing.uidvalidity)
		mbox_listing_save(m, cache, &m->listing);
	pthread_mutex_unlock(&m->lock);
}
