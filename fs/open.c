/* open.c: opening a message file: its body from the cache or through
 * read-ahead (prefetch.h); a new file of the write path opens its staged
 * bytes instead. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

#include "cache/cache.h"
#include "fs.h"
#include "model/mailbox.h"
#include "read/partial.h"
#include "read/prefetch.h"
#include "fs_impl.h"

/* uid's size as the listing has it (RFC822.SIZE until the body is seen);
 * 0 when it is not listed. */
static uint64_t message_size(struct mbox *m, uint32_t uid)
{
	pthread_mutex_lock(&m->lock);
	long i = mbox_find(m, uid);
	uint64_t size = i >= 0 ? m->listing.msgs[i].size : 0;
	pthread_mutex_unlock(&m->lock);
	return size;
}

static int open_message(struct fs *fs, struct mbox *m, uint32_t uidvalidity, uint32_t uid, int flags,
			pid_t pid, struct cache_span *body)
{
	/* a message never changes: it can be read, deleted or moved, not written */
	if ((flags & O_ACCMODE) != O_RDONLY)
		return fs->cfg.readonly ? -EROFS : -EPERM;
	if (!fs->prefetch)
		return -EIO;
	/* A moved message's node points to a mailbox whose listing may never
	 * have been asked for (fs_node_moved). */
	if (!mbox_loaded(m) && mbox_refresh(m, fs->pool, fs->cache, fs->cfg.poll_s) < 0)
		return -EIO;
	/* A name the kernel kept from an older generation of the mailbox:
	 * ESTALE makes it look the name up again and retry. */
	pthread_mutex_lock(&m->lock);
	bool stale = m->listing.uidvalidity != uidvalidity;
	pthread_mutex_unlock(&m->lock);
	if (stale)
		return -ESTALE;
	/* a big body is fetched where it is read, not whole at open */
	uint64_t size = message_size(m, uid);
	if (partial_big(size) && !cache_body_has(fs->cache, m->name, uidvalidity, uid)) {
		*body = (struct cache_span){ .fd = -1, .offset = 0, .size = size };
		return 0;
	}
	return prefetch_open(fs->prefetch, m, uidvalidity, uid, pid, body);
}

/* Which message a body opened by open_body() belongs to (m: a reference
 * for the caller to put, NULL for a new file's bytes). */
struct msg_at {
	struct mbox *m;
	uint32_t uidvalidity, uid;
};

static int open_body(struct fs *fs, uint64_t ino, int flags, pid_t pid, struct cache_span *body,
		     bool *keep_cache, struct msg_at *at)
{
	*at = (struct msg_at){ NULL, 0, 0 };
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	if (n && n->staged && !fs_newfiles(fs)->reads_message_locked(n, flags)) {
		int rc = fs_newfiles(fs)->open_locked(n);
		pthread_mutex_unlock(&fs->nodes_lock);
		if (rc < 0)
			return rc;
		*body = (struct cache_span){ .fd = rc, .offset = 0, .size = UINT64_MAX };
		*keep_cache = false;
		return 0;
	}
	if (n) {
		*at = (struct msg_at){ n->m, n->uidvalidity, n->uid };
		mbox_get(at->m);  /* a move may point the node elsewhere meanwhile */
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	if (!at->m)
		return -ENOENT;
	int rc = open_message(fs, at->m, at->uidvalidity, at->uid, flags, pid, body);
	if (rc < 0)
		return rc;
	*keep_cache = true;
	return 0;
}

int fs_open_body(struct fs *fs, uint64_t ino, int flags, pid_t pid, struct cache_span *body,
		 bool *keep_cache)
{
	struct msg_at at;
	int rc = open_body(fs, ino, flags, pid, body, keep_cache, &at);
	mbox_put(at.m);
	return rc;
}

/* The message node ino shows (its folder, a reference the caller puts),
 * or NULL when it is gone or a new file being written. */
static struct mbox *node_message(struct fs *fs, uint64_t ino, uint32_t *uidvalidity, uint32_t *uid)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	struct mbox *m = n && !n->staged ? n->m : NULL;
	*uidvalidity = n ? n->uidvalidity : 0;
	*uid = n ? n->uid : 0;
	mbox_get(m);
	pthread_mutex_unlock(&fs->nodes_lock);
	return m;
}

/* A big message's bytes come where they are read (partial.h), also when
 * its node is a new file already delivered, which reads its message. */
int fs_read_body(struct fs *fs, uint64_t ino, uint64_t off, uint64_t len, pid_t pid,
		 struct cache_span *body)
{
	bool keep;
	struct msg_at at;
	int rc = open_body(fs, ino, O_RDONLY, pid, body, &keep, &at);
	if (rc == 0 && body->fd < 0)
		rc = fs->partial ? partial_read(fs->partial, at.m, at.uidvalidity, at.uid, body->size, off, len,
						body)
				 : -EIO;
	mbox_put(at.m);
	return rc;
}

int fs_cached_body(struct fs *fs, uint64_t ino, struct cache_span *body)
{
	uint32_t uidvalidity, uid;
	struct mbox *m = node_message(fs, ino, &uidvalidity, &uid);
	int rc = m && cache_body_get(fs->cache, m->name, uidvalidity, uid, body) == 0 ? 0 : -ENOENT;
	mbox_put(m);
	return rc;
}

int fs_open(struct fs *fs, uint64_t ino, int flags, int *fd, bool *keep_cache)
{
	struct cache_span body;
	int rc = fs_open_body(fs, ino, flags, 0, &body, keep_cache);
	if (rc == 0 && body.fd < 0)
		rc = fs_read_body(fs, ino, 0, body.size, 0, &body);
	if (rc < 0)
		return rc;
	*fd = cache_span_detach(&body);
	return *fd < 0 ? -errno : 0;
}
