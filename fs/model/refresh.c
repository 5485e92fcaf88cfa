/* refresh.c: each mailbox's listing kept fresh (mailbox.h): STATUS, then
 * only what changed (new UIDs; with CONDSTORE the flags changed since the
 * listing's modseq, with QRESYNC the vanished UIDs too; else every UID,
 * and every message's flags when they are asked for). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cancel.h"
#include "clock.h"
#include "log.h"
#include "model/mailbox.h"
#include "model/tree.h"
#include "remote/fetch.h"
#include "remote/run.h"
#include "remote/select.h"
#include "seqset.h"
#include "xalloc.h"

bool mbox_loaded(struct mbox *m)
{
	pthread_mutex_lock(&m->lock);
	bool loaded = m->loaded;
	pthread_mutex_unlock(&m->lock);
	return loaded;
}

void mbox_walked_by(struct mbox *m, pid_t pid)
{
	pthread_mutex_lock(&m->lock);
	m->walker = pid;
	m->walked_ms = clock_ms();
	pthread_mutex_unlock(&m->lock);
}

bool mbox_walked_by_locked(const struct mbox *m, pid_t pid, int max_age)
{
	return pid && m->walker == pid && clock_ms() - m->walked_ms <= max_age * 1000LL;
}

/* ---- listings ---- */

int mbox_msg(struct mbox *m, uint32_t uid, struct cache_msg *msg, uint32_t *uidvalidity)
{
	pthread_mutex_lock(&m->lock);
	long i = mbox_find(m, uid);
	if (i >= 0) {
		*msg = m->listing.msgs[i];
		*uidvalidity = m->listing.uidvalidity;
	}
	pthread_mutex_unlock(&m->lock);
	return i >= 0 ? 0 : -ENOENT;
}

/* A mailbox the server refuses STATUS of, or answers none: gone. */
static int status(struct pool *p, struct pool_conn *c, const char *mailbox, struct status_item *st)
{
	const char *items = pool_has_cap(p, "CONDSTORE") ? "UIDVALIDITY UIDNEXT MESSAGES HIGHESTMODSEQ"
							 : "UIDVALIDITY UIDNEXT MESSAGES";
	int rc = fetch_status(c, mailbox, items, -ENOENT, st);
	return rc < 0 ? rc : st->seen ? 0 : -ENOENT;
}

static bool listing_current(const struct cache_listing *l, const struct status_item *st)
{
	return l->uidvalidity == st->uidvalidity && l->uidnext == st->uidnext &&
	       l->messages == st->messages && l->highestmodseq == st->highestmodseq;
}

/* Keeps the UIDs present in uids (both ascending); how many went. */
static size_t keep_only(struct mbox *m, struct cache_listing *l, const uint32_t *uids, size_t n)
{
	size_t before = l->n;
	size_t w = 0, j = 0;
	for (size_t i = 0; i < l->n; i++) {
		while (j < n && uids[j] < l->msgs[i].uid)
			j++;
		if (j < n && uids[j] == l->msgs[i].uid)
			l->msgs[w++] = l->msgs[i];
		else
			mtree_msg_gone(m, &l->msgs[i]);
	}
	l->n = w;
	return before - w;
}

/* ---- CONDSTORE: what changed since a modseq ---- */

/* A message's flags as the server says them now: a change of flags it
 * had known shows as the message's ctime. */
static void set_flags(struct mbox *m, const struct cache_listing *l, struct cache_msg *msg, uint32_t flags,
		      uint64_t modseq, time_t now)
{
	if (msg->flags && msg->flags != flags) {
		msg->changed = (int64_t)now;
		mtree_msg_changed(m, l->uidvalidity, msg->uid, msg->changed);
	}
	msg->flags = flags;
	if (modseq)
		msg->modseq = modseq;
}

static struct cache_msg *find_msg(struct cache_listing *l, uint32_t uid)
{
	long i = listing_find(l, uid);
	return i >= 0 ? &l->msgs[i] : NULL;
}

struct changes {
	struct mbox *m;
	struct cache *cache;
	struct cache_listing *l;
	struct seqset vanished;
	struct buf flags;
	time_t now;
};

/* "* n FETCH (UID u FLAGS (...) MODSEQ (m))" for a message of the listing,
 * or "* VANISHED (EARLIER) set" (a plain one is an expunge of now: both
 * are gone). */
static void on_change(void *ctx, struct pool_conn *c, const struct imap_response *raw,
		      const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	struct changes *ch = ctx;
	struct fetch_item it;
	if (fetch_decode(r, &it)) {
		struct cache_msg *msg = it.flags ? find_msg(ch->l, it.uid) : NULL;
		if (msg) {
			fetch_flags_text(it.flags, &ch->flags);
			set_flags(ch->m, ch->l, msg, cache_flags_id(ch->cache, ch->flags.data, ch->flags.len),
				  it.has_modseq ? it.modseq : 0, ch->now);
		}
		return;
	}
	if (!r || strcmp(r->name, "VANISHED") || !r->nargs)
		return;
	const struct imap_arg *set = &r->args[r->nargs - 1];
	/* a malformed set still drops what came before the fault */
	if (set->type == IMAP_ARG_ATOM)
		(void)seqset_parse(&ch->vanished, set->str, set->len, 0);
}

static int cmp_range(const void *a, const void *b)
{
	uint32_t x = ((const struct seqset_range *)a)->lo, y = ((const struct seqset_range *)b)->lo;
	return x < y ? -1 : x > y;
}

/* Drops the UIDs in v (any order) from the listing; how many went. */
static size_t drop_vanished(struct mbox *m, struct cache_listing *l, struct seqset *v)
{
	if (!v->n)
		return 0;  /* also: v->r is NULL, which qsort must not get */
	qsort(v->r, v->n, sizeof *v->r, cmp_range);
	size_t w = 0, j = 0, before = l->n;
	for (size_t i = 0; i < l->n; i++) {
		uint32_t uid = l->msgs[i].uid;
		while (j < v->n && v->r[j].hi < uid)
			j++;
		if (j < v->n && v->r[j].lo <= uid)
			mtree_msg_gone(m, &l->msgs[i]);
		else
			l->msgs[w++] = l->msgs[i];
	}
	l->n = w;
	return before - w;
}

/* UID FETCH 1:LAST (UID FLAGS MODSEQ) (CHANGEDSINCE modseq [VANISHED]):
 * the flags that changed since the listing's modseq and, with QRESYNC,
 * what was expunged, instead of asking for every message.  *gone counts
 * the messages dropped. */
static int resync_changes(struct mbox *m, struct pool_conn *c, struct cache *cache, struct cache_listing *l,
			  uint64_t modseq, uint32_t last_uid, size_t *gone)
{
	struct changes ch = { m, cache, l, SEQSET_INIT, BUF_INIT, time(NULL) };
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	imap_cmd_addf(cmd, " 1:%u (UID FLAGS MODSEQ) (CHANGEDSINCE %llu%s)", last_uid,
		      (unsigned long long)modseq, c->qresync ? " VANISHED" : "");
	struct run_opts o = { .verb = "UID FETCH", .mailbox = m->name, .on_untagged = on_change,
			      .ctx = &ch, .quiet = true, .refused = -EIO };
	int rc = run_on(c, cmd, &o);
	imap_cmd_free(cmd);
	if (rc == 0)
		*gone += drop_vanished(m, l, &ch.vanished);
	seqset_free(&ch.vanished);
	buf_free(&ch.flags);
	return rc;
}

/* Without CONDSTORE: UID FETCH 1:* (UID FLAGS), every message's flags. */
static int fetch_every_flag(struct mbox *m, struct pool_conn *c, struct cache *cache, struct cache_listing *l)
{
	struct changes ch = { m, cache, l, SEQSET_INIT, BUF_INIT, time(NULL) };
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	imap_cmd_addf(cmd, " 1:* (UID FLAGS)");
	struct run_opts o = { .verb = "UID FETCH", .mailbox = c->selected, .on_untagged = on_change,
			      .ctx = &ch, .quiet = true, .refused = -EIO };
	int rc = run_on(c, cmd, &o);
	imap_cmd_free(cmd);
	seqset_free(&ch.vanished);
	buf_free(&ch.flags);
	return rc;
}

/* Brings the listing up to date over c (mailbox selected). */
static int update_listing(struct mbox *m, struct pool_conn *c, struct cache_listing *l,
			  const struct status_item *st, struct cache *cache)
{
	struct msgvec fresh = { 0, 0, NULL };
	char range[32];
	int rc;
	size_t gone = 0;    /* messages seen going, and below, arriving: the folder's mtime */
	bool new_generation = l->uidvalidity != st->uidvalidity;
	/* what the listing knew: only the same generation's modseq means anything */
	uint64_t old_modseq = l->uidvalidity == st->uidvalidity ? l->highestmodseq : 0;
	if (l->uidvalidity != st->uidvalidity || !l->n) {
		if (l->uidvalidity && l->uidvalidity != st->uidvalidity) {
			fs_log(LOG_NOTICE, "%s: UIDVALIDITY changed (%u -> %u): dropping its cache",
			       m->path, l->uidvalidity, st->uidvalidity);
		}
		cache_drop_mailbox(cache, m->name, st->uidvalidity);
		for (size_t i = 0; i < l->n; i++)
			mtree_msg_gone(m, &l->msgs[i]);
		cache_listing_free(l);
		rc = fetch_listing(c, cache, "1:*", 1, &fresh);
	} else {
		snprintf(range, sizeof range, "%u:*", l->uidnext ? l->uidnext : 1);
		rc = l->uidnext < st->uidnext ? fetch_listing(c, cache, range, l->uidnext, &fresh) : 0;
	}
	if (rc < 0) {
		msgvec_free(&fresh);
		return rc;
	}
	/* merge: fresh UIDs are all above the kept ones */
	uint32_t last_known = l->n ? l->msgs[l->n - 1].uid : 0;
	size_t before = l->n;
	l->msgs = xrealloc(l->msgs, (l->n + fresh.n + 1) * sizeof *l->msgs);
	for (size_t i = 0; i < fresh.n; i++)
		if (!l->n || fresh.v[i].uid > l->msgs[l->n - 1].uid)
			l->msgs[l->n++] = fresh.v[i];
	msgvec_free(&fresh);
	bool arrived = l->n > before;
	if (pool_has_cap(c->pool, "CONDSTORE") && old_modseq && last_known &&
	    st->highestmodseq != old_modseq) {
		if ((rc = resync_changes(m, c, cache, l, old_modseq, last_known, &gone)) < 0)
			return rc;
	}
	if (l->n != st->messages) {  /* no QRESYNC, or it left a doubt */
		uint32_t *uids;
		size_t n;
		if ((rc = fetch_all_uids(c, &uids, &n)) < 0)
			return rc;
		gone += keep_only(m, l, uids, n);
		free(uids);
	}
	if (new_generation || arrived || gone)
		l->mtime = (int64_t)time(NULL);
	l->uidvalidity = st->uidvalidity;
	l->uidnext = st->uidnext;
	l->messages = st->messages;
	l->highestmodseq = st->highestmodseq;
	return 0;
}

/* A mailbox seen for the first time: EXAMINE and UID FETCH 1:* in one
 * round trip; the status comes from EXAMINE's answers. */
static int first_listing(struct pool *p, struct pool_conn *c, struct mbox *m,
			 struct cache_listing *l, struct status_item *st, struct cache *cache)
{
	struct imap_cmd *sel;
	struct msgvec fresh = { 0, 0, NULL };
	int rc = select_begin(c, m->name, false, &sel);
	if (rc < 0)
		return rc;
	int frc = fetch_listing(c, cache, "1:*", 1, &fresh);
	rc = c->s ? select_end(c, sel, m->name, false) : -EIO;
	if (rc == 0)
		rc = frc;
	if (rc < 0 || !c->uidvalidity) {
		msgvec_free(&fresh);
		return rc < 0 ? rc : -EIO;
	}
	cache_drop_mailbox(cache, m->name, c->uidvalidity);
	cache_listing_free(l);
	/* kept as long as the mailbox: not the vector's doubled capacity
	 * (up to twice the listing of a big folder) */
	l->msgs = fresh.n ? xrealloc(fresh.v, fresh.n * sizeof *fresh.v) : fresh.v;
	l->n = fresh.n;
	/* what the folder showed before it was listed: the same after */
	l->mtime = cache_created(cache);
	st->uidvalidity = l->uidvalidity = c->uidvalidity;
	st->uidnext = l->uidnext = c->uidnext;
	st->messages = l->messages = c->exists;
	st->highestmodseq = l->highestmodseq = pool_has_cap(p, "CONDSTORE") ? c->highestmodseq : 0;
	st->seen = true;
	if (l->n != l->messages) {  /* changed between EXAMINE and FETCH: take the next round */
		l->messages = (uint32_t)l->n;
		st->messages = l->messages;
	}
	return 0;
}

struct refresh_ctx {
	struct mbox *m;
	struct cache *cache;
	bool loaded;
	bool want_flags;             /* every message's flags asked again (no CONDSTORE) */
	bool flags_fetched;          /* work has every message's flags as of now */
	struct cache_listing work;   /* the listing being brought up to date */
	bool changed;                /* work differs from the listing it was copied from */
};

/* A copy of m's listing; called with m->lock held. */
static struct cache_listing listing_copy_locked(const struct mbox *m)
{
	struct cache_listing work = m->listing;
	work.msgs = (struct cache_msg *)(void *)xmemdup(m->listing.msgs,
							 m->listing.n * sizeof *m->listing.msgs);
	return work;
}

/* One attempt at bringing work up to date (everything here only reads, so
 * a lost connection is worth one more try). */
static int refresh_attempt(struct pool_conn *c, void *ctx, bool again)
{
	struct refresh_ctx *r = ctx;
	struct mbox *m = r->m;
	struct pool *p = c->pool;
	struct cache *cache = r->cache;
	bool loaded = r->loaded;
	struct cache_listing *work = &r->work;
	if (again) {  /* start again from what we had: work may be half updated */
		pthread_mutex_lock(&m->lock);
		cache_listing_free(work);
		*work = listing_copy_locked(m);
		pthread_mutex_unlock(&m->lock);
	}
	int rc = 0;
	struct status_item st = { 0 };
	r->flags_fetched = false;
	if (!loaded) {
		rc = first_listing(p, c, m, work, &st, cache);
		r->flags_fetched = rc == 0;
	} else {
		if (c->selected && !strcmp(c->selected, m->name))
			rc = select_none(c);
		if (rc == 0)
			rc = status(p, c, m->name, &st);
	}
	bool update = rc == 0 && !(loaded && listing_current(work, &st));
	bool flags = rc == 0 && r->want_flags && !r->flags_fetched;
	if ((update || flags) && (rc = select_mailbox(c, m->name, false)) == 0) {
		if (update)
			rc = update_listing(m, c, work, &st, cache);
		if (rc == 0 && flags && (rc = fetch_every_flag(m, c, cache, work)) == 0)
			r->flags_fetched = true;
	}
	if (rc == 0 && (update || flags))
		mbox_listing_save(m, cache, work);
	r->changed = rc == 0 && (update || flags);
	return rc;
}

static int refresh(struct mbox *m, struct pool *p, struct cache *cache, int max_age, bool use,
		   bool want_flags)
{
	if (!m->name || !m->selectable)
		return 0;
	pthread_mutex_lock(&m->lock);
	if (use)
		m->used = time(NULL);
	while (m->refreshing) {
		if (fs_cond_wait(&m->refreshed, &m->lock) < 0) {  /* an interrupted request */
			pthread_mutex_unlock(&m->lock);
			return -EINTR;
		}
	}
	/* after the wait: what the other refresh found may be enough */
	time_t now = time(NULL);
	want_flags = want_flags && now - m->flags_checked >= max_age;
	if (m->loaded && now - m->checked < max_age && !want_flags) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	m->refreshing = true;
	if (!m->loaded && cache_listing_load(cache, m->name, &m->listing) == 0) {
		m->loaded = true;
		mbox_build_order(m);
	}
	struct refresh_ctx r = { m, cache, m->loaded, want_flags, false, listing_copy_locked(m), false };
	pthread_mutex_unlock(&m->lock);

	int rc = run_retry(p, m->name, refresh_attempt, &r);
	struct cache_listing work = r.work;
	pthread_mutex_lock(&m->lock);
	m->refreshing = false;  /* before the order is built: pending names settle */
	if (rc == 0 && !r.changed && !m->npending) {
		/* nothing new: the listing and its order stay, rather than a big
		 * folder's arrays being made again at every poll (in a
		 * long scan, every folder's once a minute) */
		cache_listing_free(&work);
	} else if (rc == 0) {
		cache_listing_free(&m->listing);
		m->listing = work;
		mbox_build_order(m);
	}
	if (rc == 0) {
		m->loaded = true;
		/* our copy predates what the write path did meanwhile: ask again */
		m->checked = m->changed_meanwhile ? 0 : now;
		if (r.flags_fetched)
			m->flags_checked = m->changed_meanwhile ? 0 : now;
	} else {
		cache_listing_free(&work);
		if (m->loaded)  /* offline: the cached listing still serves */
			rc = 0;
	}
	m->changed_meanwhile = false;
	pthread_cond_broadcast(&m->refreshed);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* A refresh for the user: m becomes the mailbox in use (the watcher IDLEs
 * there).  A mailbox loaded already is the one in use at once, not only
 * after a slow server answered; one loaded now, once it is. */
static int refresh_in_use(struct mbox *m, struct pool *p, struct cache *cache, int max_age, bool want_flags)
{
	if (!m->name || !m->selectable)
		return 0;
	uint64_t use = mtree_use_begin(m->tree);
	if (mbox_loaded(m))
		mtree_use_loaded(m->tree, m, use);
	int rc = refresh(m, p, cache, max_age, true, want_flags);
	if (mbox_loaded(m))
		mtree_use_loaded(m->tree, m, use);
	return rc;
}

int mbox_refresh(struct mbox *m, struct pool *p, struct cache *cache, int max_age)
{
	return refresh_in_use(m, p, cache, max_age, false);
}

int mbox_refresh_ahead(struct mbox *m, struct pool *p, struct cache *cache, int max_age)
{
	return refresh(m, p, cache, max_age, false, false);
}

int mbox_refresh_flags(struct mbox *m, struct pool *p, struct cache *cache, int max_age)
{
	/* with CONDSTORE every refresh brings the flags that changed */
	return refresh_in_use(m, p, cache, max_age, !pool_has_cap(p, "CONDSTORE"));
}

int64_t mbox_mtime(struct mbox *m, struct cache *cache)
{
	pthread_mutex_lock(&m->lock);
	/* a listing the cache holds costs no round trip, and the time it
	 * keeps is the one to show from the start (a backup compares it) */
	if (!m->loaded && !m->refreshing && m->name && m->selectable &&
	    cache_listing_load(cache, m->name, &m->listing) == 0) {
		m->loaded = true;  /* m->checked stays: the next use asks the server */
		mbox_build_order(m);
	}
	int64_t t = m->loaded && m->listing.mtime ? m->listing.mtime : cache_created(cache);
	pthread_mutex_unlock(&m->lock);
	return t;
}

bool mbox_may_hold_name(struct mbox *m, struct cache *cache, const char *name)
{
	if (tree_is_message_name(name, NULL) || (strstr(name, "~.eml") && strlen(name) <= MBOX_UID_NAME))
		return true;
	mbox_mtime(m, cache);  /* loads a cached listing: no round trip */
	pthread_mutex_lock(&m->lock);
	bool any = m->nkept > 0 || m->npending > 0;
	pthread_mutex_unlock(&m->lock);
	return any;
}

void mbox_settle_names(struct mbox *m, struct pool *p, struct cache *cache)
{
	pthread_mutex_lock(&m->lock);
	bool waiting = m->npending > 0;
	pthread_mutex_unlock(&m->lock);
	if (waiting)  /* the listing gets the message, and the name with it */
		(void)mbox_refresh(m, p, cache, 0);
}
