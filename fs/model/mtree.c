/* mtree.c: the mailbox tree (mtree.h): entries found by path, server
 * name and inode number through hash tables, directories as lists of
 * children, the LIST merge, renames, the walk read-ahead follows, and the
 * reference counts that decide when an entry of a vanished mailbox goes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "log.h"
#include "model/ino.h"
#include "model/mtree.h"
#include "model/tree.h"
#include "siphash.h"

enum { BY_PATH, BY_NAME, BY_INO };

/* ---- hashing: keyed, as names come from the server ---- */

static uint64_t hash_str(const struct mtree *t, const char *s)
{
	return siphash13(t->key, s, strlen(s));
}

static uint64_t hash_ino(const struct mtree *t, uint64_t ino)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(ino >> (8 * i));
	return siphash13(t->key, b, sizeof b);
}

static uint64_t hash_of(const struct mtree *t, int k, const struct mbox *m)
{
	return k == BY_PATH ? hash_str(t, m->path) : k == BY_NAME ? hash_str(t, m->name) : hash_ino(t, m->ino);
}

/* ---- the three indexes: chained hash tables through m->chain[k] ---- */

static void index_grow(struct mtree *t, int k)
{
	struct mtree_index *x = &t->index[k];
	size_t nslots = x->nslots ? x->nslots * 2 : 64;
	struct mbox **slot = xcalloc(nslots, sizeof *slot);
	for (size_t i = 0; i < x->nslots; i++) {
		for (struct mbox *m = x->slot[i], *next; m; m = next) {
			next = m->chain[k];
			size_t b = hash_of(t, k, m) & (nslots - 1);
			m->chain[k] = slot[b];
			slot[b] = m;
		}
	}
	free(x->slot);
	x->slot = slot;
	x->nslots = nslots;
}

static void index_add(struct mtree *t, int k, struct mbox *m)
{
	struct mtree_index *x = &t->index[k];
	if (m->indexed & (1u << k))
		return;
	if (x->n >= x->nslots)
		index_grow(t, k);
	size_t b = hash_of(t, k, m) & (x->nslots - 1);
	m->chain[k] = x->slot[b];
	x->slot[b] = m;
	m->indexed |= 1u << k;
	x->n++;
}

static void index_remove(struct mtree *t, int k, struct mbox *m)
{
	struct mtree_index *x = &t->index[k];
	if (!(m->indexed & (1u << k)))
		return;
	struct mbox **pp = &x->slot[hash_of(t, k, m) & (x->nslots - 1)];
	while (*pp != m)
		pp = &(*pp)->chain[k];
	*pp = m->chain[k];
	m->chain[k] = NULL;
	m->indexed &= ~(1u << k);
	x->n--;
}

/* The first entry of chain k for hash h; NULL when the index is empty. */
static struct mbox *chain_start(const struct mtree *t, int k, uint64_t h)
{
	const struct mtree_index *x = &t->index[k];
	return x->nslots ? x->slot[h & (x->nslots - 1)] : NULL;
}

/* A path can name a mailbox that is gone and, after a RENAME, a live one:
 * only the live one is found. */
static struct mbox *live_at(struct mtree *t, const char *path)
{
	for (struct mbox *m = chain_start(t, BY_PATH, hash_str(t, path)); m; m = m->chain[BY_PATH]) {
		t->steps++;
		if (m->exists && !strcmp(m->path, path))
			return m;
	}
	return NULL;
}

/* A gone entry at path named name (NULL: a level), to take up again. */
static struct mbox *gone_at(struct mtree *t, const char *path, const char *name)
{
	for (struct mbox *m = chain_start(t, BY_PATH, hash_str(t, path)); m; m = m->chain[BY_PATH]) {
		t->steps++;
		if (!m->exists && !strcmp(m->path, path) &&
		    (name ? m->name && !strcmp(m->name, name) : !m->name))
			return m;
	}
	return NULL;
}

static struct mbox *entry_of_ino(struct mtree *t, uint64_t ino)
{
	for (struct mbox *m = chain_start(t, BY_INO, hash_ino(t, ino)); m; m = m->chain[BY_INO]) {
		t->steps++;
		if (m->ino == ino)
			return m;
	}
	return NULL;
}

/* ---- references ---- */

void mbox_get(struct mbox *m)
{
	if (m)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void mbox_put(struct mbox *m)
{
	if (!m)
		return;
	if (m->magic != MBOX_MAGIC) {
		fs_log(LOG_CRIT, "mailbox reference put after its entry was freed");
		abort();
	}
	/* the release orders this thread's use of m before the free that a
	 * merge may do once it reads 0 */
	unsigned before = atomic_fetch_sub_explicit(&m->refs, 1, memory_order_release);
	if (before == 0) {
		fs_log(LOG_CRIT, "%s: mailbox reference put more often than taken", m->path);
		abort();
	}
}

void mbox_put_all(struct mbox **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mbox_put(v[i]);
	free(v);
}

static struct mbox *ref(struct mbox *m)
{
	mbox_get(m);
	return m;
}

/* ---- entries ---- */

static struct mbox *entry_new(struct mtree *t, const char *path)
{
	struct mbox *m = xcalloc(1, sizeof *m);
	m->tree = t;
	m->magic = MBOX_MAGIC;
	m->path = xstrdup(path);
	m->ino = *path ? fs_hash_ino("dir", path, 0, 0) : 1;
	/* A mailbox renamed away keeps its number (the kernel moved it), and
	 * a gone one keeps it while referenced: a new one at the same path
	 * must not get the same one. */
	for (uint32_t salt = 1; entry_of_ino(t, m->ino); salt++)
		m->ino = fs_hash_ino("dir", path, salt, 0);
	m->exists = true;
	atomic_init(&m->refs, 0);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->changed, NULL);
	pthread_cond_init(&m->refreshed, NULL);
	index_add(t, BY_PATH, m);
	index_add(t, BY_INO, m);
	m->next_all = t->all;
	if (t->all)
		t->all->prev_all = m;
	t->all = m;
	t->nentries++;
	return m;
}

static void entry_free(struct mbox *m)
{
	free(m->name);
	free(m->path);
	for (size_t i = 0; i < m->nold; i++)
		free(m->old[i]);
	free(m->old);
	if (m->ahead && m->tree->ahead_free)
		m->tree->ahead_free(m->ahead);
	free(m->order);
	free(m->rank);
	free(m->displaced);
	free(m->pending);
	cache_listing_free(&m->listing);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->changed);
	pthread_cond_destroy(&m->refreshed);
	/* volatile: a store just before free would be optimised away */
	*(volatile uint32_t *)&m->magic = MBOX_FREED;
	free(m);
}

/* Out of the tree and the indexes, and freed: nothing refers to it. */
static void entry_release(struct mtree *t, struct mbox *m)
{
	for (int k = BY_PATH; k <= BY_INO; k++)
		index_remove(t, k, m);
	if (m->prev_all)
		m->prev_all->next_all = m->next_all;
	else
		t->all = m->next_all;
	if (m->next_all)
		m->next_all->prev_all = m->prev_all;
	t->nentries--;
	if (t->recent == m)
		t->recent = NULL;
	entry_free(m);
}

static void link_child(struct mbox *dir, struct mbox *m)
{
	m->parent = dir;
	m->next_sibling = NULL;
	m->prev_sibling = dir->last_child;
	if (dir->last_child)
		dir->last_child->next_sibling = m;
	else
		dir->first_child = m;
	dir->last_child = m;
}

static void unlink_child(struct mbox *m)
{
	struct mbox *dir = m->parent;
	if (!dir)
		return;
	if (m->prev_sibling)
		m->prev_sibling->next_sibling = m->next_sibling;
	else
		dir->first_child = m->next_sibling;
	if (m->next_sibling)
		m->next_sibling->prev_sibling = m->prev_sibling;
	else
		dir->last_child = m->prev_sibling;
	m->parent = m->prev_sibling = m->next_sibling = NULL;
}

/* The mailbox went: out of the directory tree and the name index; it is
 * freed once no reference is left (sweep). */
static void make_gone(struct mtree *t, struct mbox *m)
{
	m->exists = false;
	unlink_child(m);
	index_remove(t, BY_NAME, m);
	while (m->first_child)  /* gone too: a live one would have kept m */
		unlink_child(m->first_child);
}

static void sweep(struct mtree *t)
{
	for (struct mbox *m = t->all, *next; m; m = next) {
		next = m->next_all;
		t->steps++;
		if (!m->exists && atomic_load_explicit(&m->refs, memory_order_acquire) == 0)
			entry_release(t, m);
	}
}

/* Other threads may be using a name or path right now without the tree
 * lock: replaced strings are kept as long as the entry. */
static void retire(struct mbox *m, char *s)
{
	m->old = xrealloc(m->old, (m->nold + 1) * sizeof *m->old);
	m->old[m->nold++] = s;
}

void mtree_init(struct mtree *t)
{
	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->lock, NULL);
	siphash_key_random(t->key, t);
	t->root = entry_new(t, "");
}

void mtree_free(struct mtree *t)
{
	while (t->all) {
		struct mbox *m = t->all;
		t->all = m->next_all;
		entry_free(m);
	}
	for (int k = BY_PATH; k <= BY_INO; k++)
		free(t->index[k].slot);
	pthread_mutex_destroy(&t->lock);
}

/* ---- lookups ---- */

struct mbox *mtree_root(struct mtree *t)
{
	return t->root;
}

struct mbox *mtree_by_path(struct mtree *t, const char *path)
{
	pthread_mutex_lock(&t->lock);
	struct mbox *m = ref(live_at(t, path));
	pthread_mutex_unlock(&t->lock);
	return m;
}

struct mbox *mtree_by_ino(struct mtree *t, uint64_t ino)
{
	pthread_mutex_lock(&t->lock);
	struct mbox *m = ref(entry_of_ino(t, ino));
	pthread_mutex_unlock(&t->lock);
	return m;
}

struct mbox *mtree_by_name(struct mtree *t, const char *name)
{
	struct mbox *found = NULL;
	pthread_mutex_lock(&t->lock);
	for (struct mbox *m = chain_start(t, BY_NAME, hash_str(t, name)); m && !found; m = m->chain[BY_NAME]) {
		t->steps++;
		if (!strcmp(m->name, name))
			found = ref(m);
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

size_t mtree_selectable(struct mtree *t, struct mbox ***v)
{
	pthread_mutex_lock(&t->lock);
	*v = xcalloc(t->nentries, sizeof **v);
	size_t k = 0;
	for (struct mbox *m = t->all; m; m = m->next_all)
		if (m->exists && m->name && m->selectable)
			(*v)[k++] = ref(m);
	t->steps += t->nentries;
	pthread_mutex_unlock(&t->lock);
	return k;
}

struct mbox *mtree_recent(struct mtree *t)
{
	pthread_mutex_lock(&t->lock);
	struct mbox *m = t->recent;
	t->steps++;
	m = m && m->exists && m->name && m->selectable ? ref(m) : NULL;
	pthread_mutex_unlock(&t->lock);
	return m;
}

uint64_t mtree_use_begin(struct mtree *t)
{
	pthread_mutex_lock(&t->lock);
	uint64_t use = ++t->uses;
	pthread_mutex_unlock(&t->lock);
	return use;
}

void mtree_use_loaded(struct mtree *t, struct mbox *m, uint64_t use)
{
	pthread_mutex_lock(&t->lock);
	if (use >= t->recent_use) {
		t->recent = m;
		t->recent_use = use;
	}
	pthread_mutex_unlock(&t->lock);
}

struct mbox *mtree_parent(struct mtree *t, const struct mbox *m)
{
	pthread_mutex_lock(&t->lock);
	struct mbox *p = ref(m->parent ? m->parent : t->root);
	pthread_mutex_unlock(&t->lock);
	return p;
}

size_t mtree_children(struct mtree *t, const struct mbox *dir, struct mbox ***v)
{
	pthread_mutex_lock(&t->lock);
	size_t n = 0;
	for (struct mbox *k = dir->first_child; k; k = k->next_sibling)
		n++;
	*v = xcalloc(n ? n : 1, sizeof **v);
	n = 0;
	for (struct mbox *k = dir->first_child; k; k = k->next_sibling)
		(*v)[n++] = ref(k);
	t->steps += n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

const char *mbox_basename(const struct mbox *m)
{
	const char *s = strrchr(m->path, '/');
	return s ? s + 1 : m->path;
}

/* The folder after m in the walk's order: the deepest first folder below
 * m's next sibling, or else m's parent; NULL after the last one. */
static struct mbox *walk_step(struct mtree *t, const struct mbox *m)
{
	t->steps++;
	if (m == t->root || !m->parent)
		return NULL;
	struct mbox *next = m->next_sibling;
	if (!next)
		return m->parent == t->root ? NULL : m->parent;
	while (next->first_child) {
		t->steps++;
		next = next->first_child;
	}
	return next;
}

struct mbox *mtree_scan_next(struct mtree *t, const struct mbox *m)
{
	pthread_mutex_lock(&t->lock);
	struct mbox *next = (struct mbox *)m;
	while ((next = walk_step(t, next)) && !(next->name && next->selectable))
		;
	next = ref(next);
	pthread_mutex_unlock(&t->lock);
	return next;
}

size_t mtree_entries(struct mtree *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->nentries;
	pthread_mutex_unlock(&t->lock);
	return n;
}

uint64_t mtree_steps(struct mtree *t)
{
	pthread_mutex_lock(&t->lock);
	uint64_t n = t->steps;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* ---- building the tree ---- */

/* The directory that holds path: the root, the existing one, or a level
 * taken up again or made now (not yet in the tree: see attach). */
static struct mbox *level_above(struct mtree *t, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return t->root;
	char *up = xmemdup(path, (size_t)(slash - path));
	struct mbox *m = live_at(t, up);
	if (!m && (m = gone_at(t, up, NULL)))
		m->exists = true;
	if (!m)
		m = entry_new(t, up);
	free(up);
	return m;
}

/* Links m, and every level above it not in the tree yet, into the tree.
 * With touch, marks them all found by this round's merge; it stops at the
 * first level found already. */
static void attach(struct mtree *t, struct mbox *m, bool touch)
{
	for (;;) {
		t->steps++;
		if (touch)
			m->round = t->round;
		if (m == t->root)
			return;
		struct mbox *dir = m->parent;
		if (!dir) {
			dir = level_above(t, m->path);
			link_child(dir, m);
		} else if (!touch || dir->round == t->round) {
			return;
		}
		m = dir;
	}
}

/* The children of from become to's (the mailbox at a path changed). */
static void adopt_children(struct mbox *to, struct mbox *from)
{
	while (from->first_child) {
		struct mbox *k = from->first_child;
		unlink_child(k);
		link_child(to, k);
	}
}

/* The entry for mailbox it at path, this round; owner: the name that has
 * the path it maps to, when path is its alias. */
static void claim(struct mtree *t, const struct mtree_listed *it, const char *path, const char *owner)
{
	struct mbox *m = live_at(t, path);
	if (!m && owner)  /* once, not at every LIST */
		fs_log(LOG_NOTICE, "mailbox %s shows as %s: %s has the path it maps to", it->name, path, owner);
	if (m && m->name && strcmp(m->name, it->name)) {
		/* another mailbox holds the path now: a new entry (and inode),
		 * so nothing kept for the old one acts on this one */
		struct mbox *fresh = entry_new(t, path);
		adopt_children(fresh, m);
		make_gone(t, m);
		m = fresh;
	} else if (!m && (m = gone_at(t, path, it->name))) {
		m->exists = true;  /* it came back: same entry, same inode */
	} else if (!m) {
		m = entry_new(t, path);
	}
	if (!m->name)
		m->name = xstrdup(it->name);
	index_add(t, BY_NAME, m);
	m->selectable = !it->noselect;
	m->listed_round = t->round;
	attach(t, m, true);
}

/* ---- the LIST merge ---- */

static int cmp_listed(const void *a, const void *b)
{
	return strcmp(((const struct mtree_listed *)a)->name, ((const struct mtree_listed *)b)->name);
}

/* One entry per name (v sorted), the first nv of v on return: a name
 * listed twice is selectable if either says so, and takes the smaller of
 * two delimiters.  v stays a permutation: the caller frees every name. */
static size_t dedupe(struct mtree_listed *v, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && !strcmp(v[w - 1].name, v[i].name)) {
			struct mtree_listed *keep = &v[w - 1];
			keep->noselect = keep->noselect && v[i].noselect;
			if (v[i].delim && (!keep->delim || (unsigned char)v[i].delim < (unsigned char)keep->delim))
				keep->delim = v[i].delim;
			continue;
		}
		struct mtree_listed it = v[i];
		v[i] = v[w];
		v[w++] = it;
	}
	return w;
}

/* The mount's delimiter (mkdir, rename): INBOX's, else the one most
 * names use (the smaller byte on a tie); 0 when every name said NIL. */
static char choose_delim(const struct mtree_listed *v, size_t n)
{
	size_t count[256] = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (v[i].delim && !strcasecmp(v[i].name, "INBOX"))
			return v[i].delim;
		count[(unsigned char)v[i].delim]++;
	}
	int best = 0;
	for (int c = 1; c < 256; c++)
		if (count[c] > count[best] || (best == 0 && count[c]))
			best = c;
	return (char)best;
}

/* Paths claimed so far: open addressing over indices into path[]. */
struct claimed {
	size_t *slot;   /* index + 1; 0 is empty */
	size_t mask;
	char **path;
	const uint64_t *key;
};

static size_t *claimed_find(struct claimed *c, const char *path)
{
	size_t i = siphash13(c->key, path, strlen(path)) & c->mask;
	while (c->slot[i] && strcmp(c->path[c->slot[i] - 1], path))
		i = (i + 1) & c->mask;
	return &c->slot[i];
}

/* Whether path is where the mount's own delimiter puts name. */
static bool canonical(const struct mtree *t, const char *path, const char *name, char delim)
{
	struct buf back = BUF_INIT;
	bool yes = tree_mailbox_from_path(path, delim, t->utf8_names, &back, NULL) == 0 &&
		   !strcmp(back.data, name);
	buf_free(&back);
	return yes;
}

/* path[i]: where v[i] shows (NULL: skipped); owner[i]: for an alias, the
 * index of the name that has the path v[i] maps to, else SIZE_MAX.  v is
 * sorted by name, so whatever order the server listed them in, the same
 * names end up at the same paths. */
static void assign_paths(const struct mtree *t, const struct mtree_listed *v, size_t n, char delim,
			 char **path, size_t *owner)
{
	struct buf p = BUF_INIT, err = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_reset(&p);
		buf_reset(&err);
		if (tree_path_from_mailbox(v[i].name, v[i].delim, t->utf8_names, &p, &err) < 0) {
			fs_log(LOG_WARNING, "skipping mailbox %s: %s", v[i].name, err.data);
			path[i] = NULL;
			continue;
		}
		path[i] = buf_detach(&p, NULL);
	}
	size_t cap = 16;
	while (cap < 2 * n + 2)
		cap *= 2;
	struct claimed c = { xcalloc(cap, sizeof *c.slot), cap - 1, path, t->key };
	bool *alias = xcalloc(n ? n : 1, sizeof *alias);
	for (size_t i = 0; i < n; i++) {
		owner[i] = SIZE_MAX;
		if (!path[i])
			continue;
		size_t *s = claimed_find(&c, path[i]);
		if (!*s) {
			*s = i + 1;
			continue;
		}
		/* the path is taken: the canonical name keeps it, else the first */
		size_t j = *s - 1;
		if (!canonical(t, path[j], v[j].name, delim) && canonical(t, path[i], v[i].name, delim)) {
			*s = i + 1;
			alias[j] = true;
		} else {
			alias[i] = true;
		}
	}
	/* aliases only once every canonical path is claimed; the mailboxes
	 * whose names map to one path are few (one per delimiter in use), so
	 * trying salts in turn stays cheap */
	for (size_t i = 0; i < n; i++) {
		if (!alias[i])
			continue;
		owner[i] = *claimed_find(&c, path[i]) - 1;
		uint32_t salt = 0;
		do
			tree_alias_path(path[i], v[i].name, salt++, &p);
		while (*claimed_find(&c, p.data));
		free(path[i]);
		path[i] = buf_detach(&p, NULL);
		*claimed_find(&c, path[i]) = i + 1;
	}
	free(alias);
	free(c.slot);
	buf_free(&p);
	buf_free(&err);
}

uint64_t mtree_list_begin(struct mtree *t)
{
	pthread_mutex_lock(&t->lock);
	uint64_t ticket = ++t->lists_begun;
	pthread_mutex_unlock(&t->lock);
	return ticket;
}

void mtree_merge(struct mtree *t, struct mtree_listed *v, size_t n, time_t now)
{
	mtree_merge_ticket(t, v, n, now, 0);
}

void mtree_merge_ticket(struct mtree *t, struct mtree_listed *v, size_t n, time_t now, uint64_t ticket)
{
	qsort(v, n, sizeof *v, cmp_listed);
	size_t nv = dedupe(v, n);
	char delim = choose_delim(v, nv);
	if (!delim) {
		pthread_mutex_lock(&t->lock);
		delim = t->delim;
		pthread_mutex_unlock(&t->lock);
	}
	/* the costly part (decoding, escaping, collisions) without the lock */
	char **path = xcalloc(nv ? nv : 1, sizeof *path);
	size_t *owner = xcalloc(nv ? nv : 1, sizeof *owner);
	assign_paths(t, v, nv, delim, path, owner);

	pthread_mutex_lock(&t->lock);
	bool outdated = ticket && ticket < t->lists_merged;
	if (ticket && !outdated)
		t->lists_merged = ticket;
	if (outdated)
		goto done;
	t->delim = delim;
	t->round++;
	t->root->round = t->round;
	for (size_t i = 0; i < nv; i++)
		if (path[i])
			claim(t, &v[i], path[i], owner[i] == SIZE_MAX ? NULL : v[owner[i]].name);
	for (struct mbox *m = t->all; m; m = m->next_all) {
		t->steps++;
		if (!m->exists || m == t->root)
			continue;
		if (m->round != t->round) {
			make_gone(t, m);
		} else if (m->listed_round != t->round) {
			/* a level now, above mailboxes that are still there */
			index_remove(t, BY_NAME, m);
			m->selectable = false;
		}
	}
	sweep(t);
	t->listed = now;
done:
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < nv; i++)
		free(path[i]);
	free(path);
	free(owner);
}

/* ---- renames ---- */

/* The next entry after m in a walk of the subtree below top (m first). */
static struct mbox *subtree_next(const struct mbox *top, struct mbox *m)
{
	if (m->first_child)
		return m->first_child;
	while (m != top && !m->next_sibling)
		m = m->parent;
	return m == top ? NULL : m->next_sibling;
}

void mtree_msg_gone(struct mbox *m, const struct cache_msg *msg)
{
	if (m->tree->msg_gone)
		m->tree->msg_gone(m->tree->hook_ctx, m, msg);
}

void mtree_msg_changed(struct mbox *m, uint32_t uidvalidity, uint32_t uid, int64_t when)
{
	if (m->tree->msg_changed)
		m->tree->msg_changed(m->tree->hook_ctx, m, uidvalidity, uid, when);
}

void mtree_rename(struct mtree *t, struct mbox *m, const char *newpath, const char *newname)
{
	pthread_mutex_lock(&t->lock);
	if (!m->exists || m == t->root) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	char *oldpath = xstrdup(m->path), *oldname = m->name ? xstrdup(m->name) : NULL;
	size_t plen = strlen(oldpath), nlen = oldname ? strlen(oldname) : 0;
	for (struct mbox *k = m; k; k = subtree_next(m, k)) {
		t->steps++;
		bool named = k->indexed & (1u << BY_NAME);
		index_remove(t, BY_PATH, k);
		index_remove(t, BY_NAME, k);
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s%s", newpath, k->path + plen);
		retire(k, k->path);
		k->path = buf_detach(&b, NULL);
		/* the server renamed the mailboxes below it too */
		if (k->name && oldname && !strncmp(k->name, oldname, nlen) &&
		    (!k->name[nlen] || k->name[nlen] == t->delim)) {
			buf_addf(&b, "%s%s", newname, k->name + nlen);
			retire(k, k->name);
			k->name = buf_detach(&b, NULL);
		}
		buf_free(&b);
		index_add(t, BY_PATH, k);
		if (named)
			index_add(t, BY_NAME, k);
	}
	unlink_child(m);
	attach(t, m, false);
	free(oldpath);
	free(oldname);
	pthread_mutex_unlock(&t->lock);
}
