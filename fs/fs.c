/* fs.c: the filesystem core: directories are mailboxes (model/), files
 * are messages (nodes kept here while the kernel knows them), opened by
 * open.c. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cache/cache.h"
#include "fs.h"
#include "model/ino.h"
#include "model/mailbox.h"
#include "model/tree.h"
#include "read/partial.h"
#include "read/prefetch.h"
#include "read/watch.h"
#include "remote/labels.h"
#include "remote/pool.h"
#include "remote/quota.h"
#include "remote/run.h"
#include "fs_impl.h"
#include "xalloc.h"

const struct fs_config *fs_config(const struct fs *fs)
{
	return &fs->cfg;
}

void fs_set_notifier(struct fs *fs, const struct fs_notifier *n)
{
	static const struct fs_notifier none;
	fs->notify = n ? *n : none;
}

/* ---- message nodes ---- */

static struct mnode **node_bucket(struct fs *fs, uint64_t ino)
{
	return &fs->buckets[ino & (fs->nbuckets - 1)];  /* inodes are hashes already */
}

struct mnode *fs_node_find_locked(struct fs *fs, uint64_t ino)
{
	for (struct mnode *n = *node_bucket(fs, ino); n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void grow_nodes_locked(struct fs *fs)
{
	struct mnode **old = fs->buckets;
	size_t nold = fs->nbuckets;
	fs->nbuckets = nold * 2;
	fs->buckets = xcalloc(fs->nbuckets, sizeof *fs->buckets);
	for (size_t i = 0; i < nold; i++) {
		while (old[i]) {
			struct mnode *n = old[i];
			old[i] = n->next;
			struct mnode **b = node_bucket(fs, n->ino);
			n->next = *b;
			*b = n;
		}
	}
	free(old);
}

struct mnode *fs_node_new_locked(struct fs *fs)
{
	return slab_zalloc(&fs->node_slab);
}

void fs_node_free_locked(struct fs *fs, struct mnode *n)
{
	slab_free(&fs->node_slab, n);
}

void fs_node_insert_locked(struct fs *fs, struct mnode *n)
{
	if (fs->nnodes >= fs->nbuckets)
		grow_nodes_locked(fs);
	struct mnode **b = node_bucket(fs, n->ino);
	n->next = *b;
	*b = n;
	fs->nnodes++;
}

uint64_t fs_msg_ino(const struct mbox *m, uint32_t uidvalidity, uint32_t uid)
{
	return fs_hash_ino("msg", m->name, uidvalidity, uid);
}

void fs_node_set_mbox(struct mnode *n, struct mbox *m)
{
	if (n->m == m)
		return;
	mbox_get(m);
	mbox_put(n->m);
	n->m = m;
}

static void node_ref_locked(struct fs *fs, struct mbox *m, uint32_t uidvalidity, const struct cache_msg *msg,
			    uint64_t ino)
{
	struct mnode *n = fs_node_find_locked(fs, ino);
	if (n && n->staged) {  /* being written over (over.c): it stays the new version */
		n->nlookup++;
		return;
	}
	if (!n) {
		n = fs_node_new_locked(fs);
		n->ino = ino;
		fs_node_insert_locked(fs, n);
	}
	fs_node_set_mbox(n, m);
	n->staged = NULL;
	n->uidvalidity = uidvalidity;
	n->uid = msg->uid;
	n->size = msg->size;
	n->date = msg->internaldate;
	n->changed = msg->changed;
	n->nlookup++;
}

/* Finds or makes the node of a message and counts one lookup. */
void fs_node_ref(struct fs *fs, struct mbox *m, uint32_t uidvalidity, const struct cache_msg *msg,
		     uint64_t ino)
{
	pthread_mutex_lock(&fs->nodes_lock);
	node_ref_locked(fs, m, uidvalidity, msg, ino);
	pthread_mutex_unlock(&fs->nodes_lock);
}

/* After a move the kernel keeps the moved file's inode under its new name
 * until the invalidation queued for that name has run: meanwhile the inode
 * stands for the message at its new place, so reads through it get the
 * same bytes instead of failing on the expunged original. */
void fs_node_moved(struct fs *fs, uint64_t ino, struct mbox *to, uint32_t uidvalidity, uint32_t uid)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	if (n && !n->staged) {
		fs_node_set_mbox(n, to);
		n->uidvalidity = uidvalidity;
		n->uid = uid;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
}

void fs_forget(struct fs *fs, uint64_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode **pp = node_bucket(fs, ino);
	for (; *pp; pp = &(*pp)->next) {
		struct mnode *n = *pp;
		if (n->ino != ino)
			continue;
		n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
		if (!n->nlookup) {
			if (n->staged)
				fs_newfiles(fs)->node_gone_locked(fs, n);
			*pp = n->next;
			fs->nnodes--;
			mbox_put(n->m);
			fs_node_free_locked(fs, n);
		}
		break;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
}

/* The real size of a body replaces RFC822.SIZE (some servers differ);
 * true when it did. */
static bool fix_size(struct fs *fs, struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint64_t size,
		     uint64_t *ino)
{
	bool changed = false;
	pthread_mutex_lock(&m->lock);
	long i = m->listing.uidvalidity == uidvalidity ? mbox_find(m, uid) : -1;
	if (i >= 0 && m->listing.msgs[i].size != size) {
		m->listing.msgs[i].size = size;
		changed = true;
	}
	pthread_mutex_unlock(&m->lock);
	*ino = fs_msg_ino(m, uidvalidity, uid);
	if (!changed)
		return false;
	fs_log(LOG_INFO, "%s/%u.eml: RFC822.SIZE was wrong, the file has %llu bytes", m->path, uid,
	       (unsigned long long)size);
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, *ino);
	if (n)
		n->size = size;
	const struct fs_newfiles *nf = fs_newfiles(fs);
	if (nf)
		nf->size_known_locked(fs, m, uidvalidity, uid, size);
	pthread_mutex_unlock(&fs->nodes_lock);
	fs_inval_inode(fs, *ino);
	return true;
}

/* Larger bodies are read through FUSE as before: pushing them would hold
 * the pusher while a reader likely reads them anyway. */
#define PUSH_MAX_BYTES (1u << 20)

/* A body came into the cache.  When the kernel knows its file, the bytes
 * are offered to the kernel's page cache at once: a scan then reads them
 * there, and no read of it reaches us at all. */
static void body_cached(void *ctx, struct mbox *m, uint32_t uidvalidity, uint32_t uid, uint64_t size)
{
	struct fs *fs = ctx;
	uint64_t ino;
	if (fix_size(fs, m, uidvalidity, uid, size, &ino) || !fs->notify.push || size > PUSH_MAX_BYTES)
		return;
	pthread_mutex_lock(&fs->nodes_lock);
	bool known = fs_node_find_locked(fs, ino) != NULL;
	if (!known)
		fs->held_push[ino % HELD_PUSHES] = ino;
	pthread_mutex_unlock(&fs->nodes_lock);
	if (known)
		fs->notify.push(fs->notify.ctx, ino);
}

/* A message left its mailbox: the kernel must forget the name, and the
 * node no longer opens. */
static void msg_gone(void *ctx, struct mbox *m, const struct cache_msg *msg)
{
	struct fs *fs = ctx;
	const char *kept = msg->name ? cache_name_text(fs->cache, msg->name) : NULL;
	char name[MBOX_UID_NAME];
	if (kept)
		fs_inval_entry(fs, m->ino, kept);
	/* the kernel may know it by its UID too, pushed aside or not */
	snprintf(name, sizeof name, "%u.eml", msg->uid);
	fs_inval_entry(fs, m->ino, name);
	snprintf(name, sizeof name, "%u~.eml", msg->uid);
	fs_inval_entry(fs, m->ino, name);
}

/* A message's flags were seen changing: its ctime moves, and the kernel
 * asks for its attributes again (its bytes stay valid). */
static void msg_changed(void *ctx, struct mbox *m, uint32_t uidvalidity, uint32_t uid, int64_t when)
{
	struct fs *fs = ctx;
	uint64_t ino = fs_msg_ino(m, uidvalidity, uid);
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	if (n && !n->staged)
		n->changed = when;
	pthread_mutex_unlock(&fs->nodes_lock);
	if (n && fs->notify.inval_attr)
		fs->notify.inval_attr(fs->notify.ctx, ino);
}

void fs_inval_entry(struct fs *fs, uint64_t parent, const char *name)
{
	if (fs->notify.inval_entry)
		fs->notify.inval_entry(fs->notify.ctx, parent, name);
}

void fs_inval_inode(struct fs *fs, uint64_t ino)
{
	if (fs->notify.inval_inode)
		fs->notify.inval_inode(fs->notify.ctx, ino);
}

/* ---- attributes ---- */

/* A folder's times move only when a message arrives or goes (tar, restic
 * and borg take any other change for new content); a level that is no
 * mailbox shows when the cache was made. */
static void dir_stat(struct fs *fs, struct mbox *m, struct stat *st)
{
	int64_t t = m->name && m->selectable ? mbox_mtime(m, fs->cache) : cache_created(fs->cache);
	memset(st, 0, sizeof *st);
	st->st_ino = m->ino;
	st->st_mode = S_IFDIR | ((fs->cfg.readonly ? 0555 : 0777) & ~fs->cfg.umask);
	st->st_nlink = 2;
	st->st_uid = fs->cfg.uid;
	st->st_gid = fs->cfg.gid;
	st->st_mtime = st->st_ctime = st->st_atime = (time_t)t;
	st->st_blksize = 4096;
}

void fs_msg_stat(struct fs *fs, uint64_t ino, uint64_t size, int64_t date, int64_t changed, struct stat *st)
{
	/* An RFC822.SIZE no file can have (the kernel refuses a size beyond
	 * off_t, and stat would fail) says nothing: 0, until the message is
	 * fetched and its real size is known. */
	if (size > (uint64_t)INT64_MAX)
		size = 0;
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = S_IFREG | ((fs->cfg.readonly ? 0444 : 0666) & ~fs->cfg.umask);
	st->st_nlink = 1;
	st->st_uid = fs->cfg.uid;
	st->st_gid = fs->cfg.gid;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_blksize = 4096;
	/* stable across remounts, for backup tools that compare them; ctime
	 * moves when the flags were seen changing */
	st->st_mtime = st->st_atime = (time_t)date;
	st->st_ctime = (time_t)(changed > date ? changed : date);
}

void fs_entry_dir(struct fs *fs, struct mbox *m, struct fs_entry *e)
{
	e->ino = m->ino;
	dir_stat(fs, m, &e->st);
	e->entry_timeout = e->attr_timeout = DIR_TIMEOUT;
}

void fs_entry_msg(struct fs *fs, uint64_t ino, const struct cache_msg *msg, struct fs_entry *e)
{
	e->ino = ino;
	fs_msg_stat(fs, ino, msg->size, msg->internaldate, msg->changed, &e->st);
	e->entry_timeout = e->attr_timeout = MSG_TIMEOUT;
}

void fs_entry_negative(struct fs_entry *e)
{
	memset(e, 0, sizeof *e);
	e->entry_timeout = NEGATIVE_TIMEOUT;
}

void fs_child_path(const struct mbox *dir, const char *name, struct buf *out)
{
	buf_reset(out);
	if (*dir->path)
		buf_addf(out, "%s/", dir->path);
	buf_addstr(out, name);
}

int fs_find_message(struct fs *fs, struct mbox *dir, const char *name, struct cache_msg *msg,
		    uint32_t *uidvalidity)
{
	/* editor swap files, .git, library probes: no round trip */
	if (!dir->name || !dir->selectable || !mbox_may_hold_name(dir, fs->cache, name))
		return -ENOENT;
	/* Kept names are this mount's own: a listing it has knows them all
	 * (one gone meanwhile fails when opened, as a UID would).  A writer
	 * creating files (rsync's temp names) then pays no round trip per
	 * lookup, although each APPEND made the listing stale. */
	int rc = tree_is_message_name(name, NULL) || !mbox_loaded(dir)
			 ? mbox_refresh(dir, fs->pool, fs->cache, fs->cfg.poll_s)
			 : 0;
	return rc < 0 ? rc : mbox_msg_by_name(dir, name, msg, uidvalidity);
}

static int lookup_in(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e)
{
	struct buf path = BUF_INIT;
	fs_child_path(dir, name, &path);
	struct mbox *sub = mtree_by_path(&fs->tree, path.data);
	buf_free(&path);
	if (sub) {
		fs_entry_dir(fs, sub, e);
		mbox_put(sub);
		return 0;
	}
	const struct fs_newfiles *nf = fs_newfiles(fs);
	if (nf && nf->lookup(fs, dir, name, e))
		return 0;
	struct cache_msg msg;
	uint32_t uidvalidity;
	int rc = fs_find_message(fs, dir, name, &msg, &uidvalidity);
	if (rc == -ENOENT) {
		fs_entry_negative(e);
		return 0;
	}
	if (rc < 0)
		return rc;
	uint64_t ino = fs_msg_ino(dir, uidvalidity, msg.uid);
	fs_node_ref(fs, dir, uidvalidity, &msg, ino);
	fs_entry_msg(fs, ino, &msg, e);
	return 0;
}

int fs_lookup(struct fs *fs, uint64_t parent, const char *name, struct fs_entry *e)
{
	struct mbox *dir = mtree_by_ino(&fs->tree, parent);
	int rc = dir && dir->exists ? lookup_in(fs, dir, name, e) : -ENOENT;
	mbox_put(dir);
	return rc;
}

int fs_getattr(struct fs *fs, uint64_t ino, struct stat *st, double *timeout)
{
	struct mbox *m = mtree_by_ino(&fs->tree, ino);
	if (m) {
		dir_stat(fs, m, st);
		*timeout = DIR_TIMEOUT;
		mbox_put(m);
		return 0;
	}
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	bool staged = n && n->staged;
	if (staged)
		fs_newfiles(fs)->stat_locked(fs, n, st);
	else if (n && n->m)
		fs_msg_stat(fs, ino, n->size, n->date, n->changed, st);
	else
		n = NULL;  /* named a message that is gone */
	pthread_mutex_unlock(&fs->nodes_lock);
	*timeout = staged ? STAGED_TIMEOUT : MSG_TIMEOUT;
	return n ? 0 : -ENOENT;
}

/* ---- directories ---- */

static struct fs_dirent *dir_add(struct fs_dir *d, size_t *cap, const char *name)
{
	if (d->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		d->v = xrealloc(d->v, *cap * sizeof *d->v);
	}
	struct fs_dirent *de = &d->v[d->n++];
	memset(de, 0, sizeof *de);
	de->name = xstrdup(name);
	return de;
}

struct dir_add_ctx {
	size_t *cap;
};

static void dir_add_staged(struct fs_dir *d, void *ctx, const char *name, const struct fs_entry *e)
{
	struct dir_add_ctx *c = ctx;
	dir_add(d, c->cap, name)->e = *e;
}

static int opendir_of(struct fs *fs, struct mbox *dir, struct fs_dir **out);

int fs_opendir(struct fs *fs, uint64_t ino, pid_t pid, struct fs_dir **out)
{
	if (ino == FS_ROOT_INO) {
		int rc = mtree_refresh(&fs->tree, fs->pool, fs->cfg.poll_s, false);
		if (rc < 0 && !fs->tree.listed)
			return rc;
	}
	struct mbox *dir = mtree_by_ino(&fs->tree, ino);
	int rc = dir && dir->exists ? opendir_of(fs, dir, out) : -ENOENT;
	if (rc == 0 && pid)
		mbox_walked_by(dir, pid);
	mbox_put(dir);
	return rc;
}

static int opendir_of(struct fs *fs, struct mbox *dir, struct fs_dir **out)
{
	int rc = mbox_refresh(dir, fs->pool, fs->cache, fs->cfg.poll_s);
	if (rc < 0)
		return rc;
	/* Names this refresh found gone must be gone for the kernel before
	 * the listing is used: a name it still held would be served from its
	 * page cache, old bytes and all.  Opening a directory holds no
	 * directory lock, so waiting here is safe. */
	if (fs->notify.flush)
		fs->notify.flush(fs->notify.ctx);
	struct fs_dir *d = xcalloc(1, sizeof *d);
	size_t cap = 0;
	/* "." and "..": ls -a and tools that count links expect them */
	fs_entry_dir(fs, dir, &dir_add(d, &cap, ".")->e);
	struct mbox *up = mtree_parent(&fs->tree, dir);
	fs_entry_dir(fs, up, &dir_add(d, &cap, "..")->e);
	mbox_put(up);
	struct mbox **kids;
	size_t nk = mtree_children(&fs->tree, dir, &kids);
	for (size_t i = 0; i < nk; i++)
		fs_entry_dir(fs, kids[i], &dir_add(d, &cap, mbox_basename(kids[i]))->e);
	mbox_put_all(kids, nk);
	if (dir->name && dir->selectable) {
		pthread_mutex_lock(&dir->lock);
		char buf[MBOX_UID_NAME];
		for (size_t k = 0; k < dir->listing.n; k++) {
			const struct cache_msg *msg = &dir->listing.msgs[dir->order[k]];
			const char *name = mbox_shown_name(dir, dir->order[k], buf);
			uint64_t mino = fs_msg_ino(dir, dir->listing.uidvalidity, msg->uid);
			struct fs_dirent *de = dir_add(d, &cap, name);
			fs_entry_msg(fs, mino, msg, &de->e);
			de->mbox = dir;  /* a reference each: fs_dir_free puts them */
			mbox_get(dir);
			de->uidvalidity = dir->listing.uidvalidity;
			de->uid = msg->uid;
		}
		pthread_mutex_unlock(&dir->lock);
		struct dir_add_ctx ctx = { &cap };
		const struct fs_newfiles *nf = fs_newfiles(fs);
		if (nf)
			nf->list(fs, dir, d, dir_add_staged, &ctx);
	}
	*out = d;
	return 0;
}

static void dir_entry_used_locked(struct fs *fs, const struct fs_dirent *de)
{
	if (S_ISDIR(de->e.st.st_mode))
		return;
	struct mnode *n = fs_node_find_locked(fs, de->e.ino);
	if (n || !de->mbox) {  /* a file being written: its node exists */
		if (n)
			n->nlookup++;
		return;
	}
	/* ctime as shown: a flags change seen before the node was made */
	struct cache_msg msg = { .uid = de->uid, .size = (uint64_t)de->e.st.st_size,
				 .internaldate = de->e.st.st_mtime, .changed = de->e.st.st_ctime };
	node_ref_locked(fs, de->mbox, de->uidvalidity, &msg, de->e.ino);
}

/* One lock for a whole reply: a big folder's scan takes no lock per file. */
size_t fs_dir_entries_used(struct fs *fs, const struct fs_dir *d, size_t from, size_t to, uint64_t *held)
{
	size_t nheld = 0;
	pthread_mutex_lock(&fs->nodes_lock);
	for (size_t i = from; i < to && i < d->n; i++) {
		const struct fs_dirent *de = &d->v[i];
		dir_entry_used_locked(fs, de);
		uint64_t *slot = &fs->held_push[de->e.ino % HELD_PUSHES];
		if (held && *slot == de->e.ino && !S_ISDIR(de->e.st.st_mode)) {
			*slot = 0;
			held[nheld++] = de->e.ino;
		}
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return nheld;
}

void fs_push_held(struct fs *fs, const uint64_t *held, size_t n)
{
	for (size_t i = 0; i < n && fs->notify.push; i++)
		fs->notify.push(fs->notify.ctx, held[i]);
}

const struct fs_dirent *fs_dir_find(const struct fs_dir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].name, name))
			return &d->v[i];
	return NULL;
}

void fs_dir_free(struct fs_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		mbox_put(d->v[i].mbox);
	}
	free(d->v);
	free(d);
}

/* ---- statfs ---- */

int fs_statfs(struct fs *fs, struct statvfs *st)
{
	struct quota_usage q = quota_get(fs->quota, fs->cfg.poll_s);
	memset(st, 0, sizeof *st);
	st->f_bsize = st->f_frsize = 1024;
	st->f_namemax = 255;
	if (q.known && q.limit_kb) {
		st->f_blocks = q.limit_kb;
		st->f_bfree = st->f_bavail = q.limit_kb > q.used_kb ? q.limit_kb - q.used_kb : 0;
	} else {
		/* no quota: the cache's bound is the honest "size" we know */
		st->f_blocks = fs->cfg.cache_size / 1024;
		uint64_t used = cache_bytes(fs->cache) / 1024;
		st->f_bfree = st->f_bavail = st->f_blocks > used ? st->f_blocks - used : 0;
	}
	st->f_files = 1000000;
	st->f_ffree = st->f_favail = 1000000;
	if (fs->cfg.readonly)
		st->f_flag |= ST_RDONLY;
	return 0;
}

/* ---- life cycle ---- */

int fs_new(struct fs **out, const struct fs_config *cfg, struct buf *err)
{
	struct fs *fs = xcalloc(1, sizeof *fs);
	fs->cfg = *cfg;
	pthread_mutex_init(&fs->nodes_lock, NULL);
	slab_init(&fs->node_slab, sizeof(struct mnode));
	mtree_init(&fs->tree);
	fs->tree.msg_gone = msg_gone;
	fs->tree.msg_changed = msg_changed;
	fs->tree.hook_ctx = fs;
	fs->labels = labels_new(cfg->poll_s < LABELS_MAX_AGE ? cfg->poll_s : LABELS_MAX_AGE);
	if (pool_new(&fs->pool, &fs->cfg, err) < 0) {
		labels_free(fs->labels);
		mtree_free(&fs->tree);
		free(fs);
		return -1;
	}
	fs->tree.utf8_names = pool_utf8_names(fs->pool);
	if (cache_open(&fs->cache, cfg->cachedir, cfg->cache_size, err) < 0) {
		pool_free(fs->pool);
		labels_free(fs->labels);
		mtree_free(&fs->tree);
		free(fs);
		return -1;
	}
	fs->tree.cache = fs->cache;
	fs->nbuckets = NODE_BUCKETS_MIN;
	fs->buckets = xcalloc(fs->nbuckets, sizeof *fs->buckets);
	quota_new(&fs->quota, fs->pool);
	struct mtree_along quota = { quota_question, quota_heard, fs->quota };
	int rc = mtree_refresh_along(&fs->tree, fs->pool, &quota);
	if (rc < 0) {
		buf_addf(err, "cannot list the mailboxes: %s", strerror(-rc));
		fs_free(fs);
		return -1;
	}
	*out = fs;
	return 0;
}

int fs_start(struct fs *fs)
{
	unsigned workers = fs->cfg.connections > 1 ? fs->cfg.connections - 1 : 1;
	/* the watcher first: it hooks the pool before other threads use it */
	if (fs->cfg.watch && watch_start(&fs->watch, &fs->tree, fs->pool, fs->cache, fs->cfg.poll_s,
					 fs->cfg.timeout_s) < 0)
		return -1;
	/* after fuse_daemonize (threads do not cross a fork), before the first reads */
	pool_open_spares(fs->pool);
	if (quota_start(fs->quota) < 0)
		return -1;
	fs->partial = partial_new(fs->pool, fs->cache, body_cached, fs);
	return prefetch_new(&fs->prefetch, fs->pool, fs->cache, &fs->tree, fs->cfg.poll_s, workers,
			    body_cached, fs);
}

void fs_stop(struct fs *fs)
{
	/* threads waiting on a stalled server are woken first, so the joins
	 * below do not wait for their deadlines */
	pool_stop(fs->pool);
	watch_stop(fs->watch);
	fs->watch = NULL;
	/* its workers call the notifier hooks until they are gone; freed by
	 * fs_free, as readers may still be inside it */
	prefetch_stop(fs->prefetch);
	partial_stop(fs->partial);
}

void fs_free(struct fs *fs)
{
	if (!fs)
		return;
	prefetch_free(fs->prefetch);
	partial_free(fs->partial);
	watch_stop(fs->watch);
	const struct fs_newfiles *nf = fs_newfiles(fs);
	if (nf)
		nf->free_all(fs);
	quota_free(fs->quota);
	pool_free(fs->pool);
	labels_free(fs->labels);
	cache_close(fs->cache);
	mtree_free(&fs->tree);
	/* the nodes' references went with the tree */
	for (size_t i = 0; i < fs->nbuckets; i++) {
		while (fs->buckets[i]) {
			struct mnode *n = fs->buckets[i];
			fs->buckets[i] = n->next;
			fs_node_free_locked(fs, n);
		}
	}
	free(fs->buckets);
	slab_destroy(&fs->node_slab);
	pthread_mutex_destroy(&fs->nodes_lock);
	free(fs);
}
