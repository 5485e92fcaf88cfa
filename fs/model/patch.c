/* patch.c: the write path's own changes to listings (mailbox.h), applied
 * without asking the server again. */
#include "config.h"

#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "model/mailbox.h"
#include "xalloc.h"

void mbox_msg_removed(struct mbox *m, struct cache *cache, uint32_t uid)
{
	pthread_mutex_lock(&m->lock);
	if (m->refreshing)
		m->changed_meanwhile = true;
	long i = mbox_find(m, uid);
	struct cache_msg gone = { .uid = uid };
	if (i >= 0) {
		struct cache_listing *l = &m->listing;
		gone = l->msgs[i];
		memmove(&l->msgs[i], &l->msgs[i + 1], (l->n - (size_t)i - 1) * sizeof *l->msgs);
		l->n--;
		if (l->messages)
			l->messages--;
		l->mtime = (int64_t)time(NULL);
		mbox_build_order(m);
		mbox_listing_save(m, cache, &m->listing);
	}
	pthread_mutex_unlock(&m->lock);
	if (i >= 0)
		mtree_msg_gone(m, &gone);
}

void mbox_msg_added(struct mbox *m, struct cache *cache, uint32_t uidvalidity, const struct cache_msg *msg)
{
	pthread_mutex_lock(&m->lock);
	if (m->refreshing)
		m->changed_meanwhile = true;
	struct cache_listing *l = &m->listing;
	if (msg->name)
		mbox_name_given_locked(m, uidvalidity, msg->uid, msg->name,
				       m->loaded && l->uidvalidity == uidvalidity);
	long i = -1;
	if (!m->loaded || !uidvalidity || !msg->uid || l->uidvalidity != uidvalidity) {
		m->checked = 0;  /* cannot place it: the next access asks the server */
	} else if ((i = mbox_find(m, msg->uid)) >= 0) {
		/* a refresh heard of it first (EXISTS during the APPEND): the name
		 * is still this mount's to give */
		if (msg->name && l->msgs[i].name != msg->name) {
			mbox_name_locked(m, i, msg->name);
			mbox_build_order(m);
			mbox_listing_save(m, cache, &m->listing);
		}
	} else {
		size_t at = 0;
		while (at < l->n && l->msgs[at].uid < msg->uid)
			at++;
		l->msgs = xrealloc(l->msgs, (l->n + 1) * sizeof *l->msgs);
		memmove(&l->msgs[at + 1], &l->msgs[at], (l->n - at) * sizeof *l->msgs);
		l->msgs[at] = *msg;
		l->msgs[at].name = 0;
		l->n++;
		mbox_name_locked(m, (long)at, msg->name);
		l->messages++;
		l->mtime = (int64_t)time(NULL);
		if (l->uidnext <= msg->uid)
			l->uidnext = msg->uid + 1;
		mbox_build_order(m);
		mbox_listing_save(m, cache, &m->listing);
	}
	pthread_mutex_unlock(&m->lock);
}

void mbox_msg_flags(struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint32_t flags, uint64_t modseq)
{
	int64_t changed = 0;
	pthread_mutex_lock(&m->lock);
	long i = m->loaded && m->listing.uidvalidity == uidvalidity ? mbox_find(m, uid) : -1;
	if (i >= 0) {
		struct cache_msg *msg = &m->listing.msgs[i];
		if (msg->flags && msg->flags != flags)
			changed = msg->changed = (int64_t)time(NULL);
		msg->flags = flags;
		msg->modseq = modseq;
		/* not saved: the next refresh brings the server's word on it anyway */
	}
	pthread_mutex_unlock(&m->lock);
	if (changed)  /* the hook takes the node table's lock: not under ours */
		mtree_msg_changed(m, uidvalidity, uid, changed);
}

void mbox_mark_stale(struct mbox *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->refreshing)
		m->changed_meanwhile = true;
	m->checked = 0;
	m->flags_checked = 0;  /* without CONDSTORE only a full look finds changed flags */
	pthread_mutex_unlock(&m->lock);
}
