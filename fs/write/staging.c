/* staging.c: new files while they are written: their names, bytes,
 * attributes and flags (staged.h says how one lives; deliver.c sends
 * them).  The bytes sit in an unnamed file under the cache directory:
 * gone by themselves if we crash, never in a shared /tmp. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "model/ino.h"
#include "write/staged.h"
#include "xalloc.h"

/* What the core asks of the new files; see the end of this file. */
static const struct fs_newfiles staging_newfiles;

static void staged_free(struct staged *s)
{
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->io);
	pthread_cond_destroy(&s->delivered);
	mbox_put(s->m);
	mbox_put(s->uid_m);
	mbox_put(s->over_m);
	free(s->name);
	free(s->flags);
	free(s);
}

/* Finishes files left alone since their last close, ends expired names
 * and frees what nothing refers to any more. */
void staged_sweep_locked(struct fs *fs)
{
	time_t now = time(NULL);
	for (struct staged **pp = &fs->staged; *pp;) {
		struct staged *s = *pp;
		if (!s->finished && !s->delivering && s->gen == s->delivered_gen &&
		    now >= s->active + ALIAS_SECONDS)
			staged_finish_locked(fs, s, fs_node_find_locked(fs, s->ino));
		if (s->finished && s->visible && now >= s->alias_until)
			s->visible = false;
		if (!s->visible && !s->on_node && !s->delivering) {
			*pp = s->next;
			staged_free(s);
		} else {
			pp = &s->next;
		}
	}
}

static struct staged *find_locked(struct fs *fs, const struct mbox *dir, const char *name)
{
	staged_sweep_locked(fs);
	for (struct staged *s = fs->staged; s; s = s->next)
		if (s->visible && s->m == dir && !strcmp(s->name, name))
			return s;
	return NULL;
}

struct staged *staged_by_ino_locked(struct fs *fs, uint64_t ino)
{
	struct mnode *n = fs_node_find_locked(fs, ino);
	return n ? n->staged : NULL;
}

uint64_t staged_size(const struct staged *s)
{
	struct stat st;
	return s->fd >= 0 && fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int staged_unnamed_file(struct fs *fs)
{
	int fd = open(fs->cfg.cachedir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/.new-XXXXXX", fs->cfg.cachedir);
	fd = mkostemp(path.data, O_CLOEXEC);
	if (fd >= 0)
		unlink(path.data);
	buf_free(&path);
	return fd;
}

/* Its bytes are its message's on the server: delivered, unchanged since. */
static bool delivered(const struct staged *s)
{
	return s->uid && !s->failed && s->gen == s->delivered_gen;
}

static void staging_stat_locked(struct fs *fs, struct mnode *n, struct stat *st)
{
	struct staged *s = n->staged;
	/* what a read gives: the message once delivered (see below) */
	uint64_t size = delivered(s) ? s->size : staged_size(s);
	fs_msg_stat(fs, n->ino, size, s->mtime_set ? s->mtime : s->created, 0, st);
}

/* A server may store other bytes than those written (Cyrus turns 8-bit
 * header bytes into 'X'), so once delivered a file reads as its message,
 * fetched like any other; writers keep the local bytes they write to. */
static bool staging_reads_message_locked(const struct mnode *n, int flags)
{
	return (flags & O_ACCMODE) == O_RDONLY && delivered(n->staged) && n->m && n->uid;
}

static void staging_size_known_locked(struct fs *fs, const struct mbox *m, uint32_t uidvalidity,
				      uint32_t uid, uint64_t size)
{
	for (struct staged *s = fs->staged; s; s = s->next) {
		if (s->uid_m != m || s->uidvalidity != uidvalidity || s->uid != uid)
			continue;
		s->size = size;
		struct mnode *n = fs_node_find_locked(fs, s->ino);
		if (n && n->uid == uid && n->uidvalidity == uidvalidity)
			n->size = size;
	}
}

static void staged_entry(struct fs *fs, struct mnode *n, struct fs_entry *e)
{
	memset(e, 0, sizeof *e);
	e->ino = n->ino;
	staging_stat_locked(fs, n, &e->st);
	e->attr_timeout = STAGED_TIMEOUT;
	e->entry_timeout = STAGED_TIMEOUT;  /* the name goes once it is delivered */
}

static struct staged *staged_new(struct fs *fs, struct mbox *dir, const char *name, int fd)
{
	struct staged *s = xcalloc(1, sizeof *s);
	s->m = dir;
	mbox_get(dir);
	s->name = xstrdup(name);
	s->fd = fd;
	s->created = s->active = time(NULL);
	s->visible = true;
	pthread_mutex_init(&s->io, NULL);
	pthread_cond_init(&s->delivered, NULL);
	s->next = fs->staged;
	fs->staged = s;
	/* from the first new file on, the core asks about them */
	atomic_store_explicit(&fs->newfiles, &staging_newfiles, memory_order_release);
	return s;
}

void staging_moved(struct fs *fs, struct mbox *newdir, const char *newname, uint64_t ino,
		   uint32_t uidvalidity, const struct cache_msg *msg)
{
	pthread_mutex_lock(&fs->nodes_lock);
	if (!find_locked(fs, newdir, newname)) {  /* a file being written keeps its name */
		struct staged *s = staged_new(fs, newdir, newname, -1);
		s->ino = ino;
		s->finished = true;
		s->alias_until = s->active + ALIAS_SECONDS;
		s->uid_m = newdir;
		mbox_get(newdir);
		s->uidvalidity = uidvalidity;
		s->uid = msg->uid;
		s->size = msg->size;
		s->date = msg->internaldate;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
}

static int create_in(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e);

int fs_create(struct fs *fs, uint64_t parent, const char *name, struct fs_entry *e)
{
	if (fs->cfg.readonly)
		return -EROFS;
	struct mbox *dir = mtree_by_ino(&fs->tree, parent);
	int rc = dir && dir->exists ? create_in(fs, dir, name, e) : -ENOENT;
	mbox_put(dir);
	return rc;
}

static int create_in(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e)
{
	if (!dir->name || !dir->selectable)
		return -EPERM;  /* no messages can live here */
	if (!cache_name_ok(name, strlen(name)))
		return -ENAMETOOLONG;  /* a message could not keep it */
	/* a listing to place the message in, with the name it keeps */
	int rc = mbox_loaded(dir) ? 0 : mbox_refresh(dir, fs->pool, fs->cache, fs->cfg.poll_s);
	if (rc < 0)
		return rc;
	struct buf path = BUF_INIT;
	fs_child_path(dir, name, &path);
	struct mbox *sub = mtree_by_path(&fs->tree, path.data);
	bool is_dir = sub != NULL;
	mbox_put(sub);
	buf_free(&path);
	struct cache_msg msg;
	uint32_t uidvalidity;
	if (is_dir || fs_find_message(fs, dir, name, &msg, &uidvalidity) == 0)
		return -EEXIST;
	int fd = staged_unnamed_file(fs);
	if (fd < 0) {
		int err = errno;
		fs_log(LOG_ERR, "cannot make a local file for %s/%s: %s", dir->path, name, strerror(err));
		return -err;
	}
	pthread_mutex_lock(&fs->nodes_lock);
	if (find_locked(fs, dir, name)) {
		pthread_mutex_unlock(&fs->nodes_lock);
		close(fd);
		return -EEXIST;
	}
	struct staged *s = staged_attach_locked(fs, dir, name, fd, NULL);
	staged_entry(fs, fs_node_find_locked(fs, s->ino), e);
	pthread_mutex_unlock(&fs->nodes_lock);
	return 0;
}

struct staged *staged_attach_locked(struct fs *fs, struct mbox *dir, const char *name, int fd, struct mnode *n)
{
	/* the name is this one's now (an older version's record keeps
	 * answering otherwise, and an rm would reach only one of them) */
	for (struct staged *old = fs->staged; old; old = old->next)
		if (old->visible && old->m == dir && !strcmp(old->name, name))
			old->visible = false;
	struct staged *s = staged_new(fs, dir, name, fd);
	s->on_node = true;
	if (n) {
		s->ino = n->ino;
		n->staged = s;
		return s;
	}
	uint64_t seq = ++fs->staged_seq;
	s->ino = fs_hash_ino("new", dir->name, (uint32_t)(seq >> 32), (uint32_t)seq);
	n = fs_node_new_locked(fs);
	n->ino = s->ino;
	fs_node_set_mbox(n, dir);
	n->staged = s;
	n->nlookup = 1;
	fs_node_insert_locked(fs, n);
	return s;
}

static bool staging_lookup(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = find_locked(fs, dir, name);
	struct mnode *n = s ? fs_node_find_locked(fs, s->ino) : NULL;
	if (s && !s->finished && n) {
		n->nlookup++;
		staged_entry(fs, n, e);
		pthread_mutex_unlock(&fs->nodes_lock);
		return true;
	}
	if (!s || !s->uid) {
		pthread_mutex_unlock(&fs->nodes_lock);
		return false;
	}
	/* finished: the name is its message's, on the inode it was written on */
	struct cache_msg msg = { .uid = s->uid, .size = s->size, .internaldate = s->date };
	uint32_t uidvalidity = s->uidvalidity;
	uint64_t ino = s->ino;
	pthread_mutex_unlock(&fs->nodes_lock);
	fs_node_ref(fs, dir, uidvalidity, &msg, ino);
	fs_entry_msg(fs, ino, &msg, e);
	e->entry_timeout = 0;  /* it resolves only for a while */
	return true;
}

/* Shown by readdir while it has bytes not yet delivered; afterwards its
 * message is there under <UID>.eml. */
static bool listed(const struct staged *s)
{
	return s->visible && !s->finished && !s->failed && (!s->delivered_gen || s->gen != s->delivered_gen);
}

static void staging_list(struct fs *fs, struct mbox *dir, struct fs_dir *d,
			 void (*add)(struct fs_dir *d, void *ctx, const char *name, const struct fs_entry *e),
			 void *ctx)
{
	pthread_mutex_lock(&fs->nodes_lock);
	for (struct staged *s = fs->staged; s; s = s->next) {
		if (s->m != dir || !listed(s))
			continue;
		struct mnode *n = fs_node_find_locked(fs, s->ino);
		if (!n || n->staged != s)
			continue;
		struct fs_entry e;
		staged_entry(fs, n, &e);
		add(d, ctx, s->name, &e);
	}
	pthread_mutex_unlock(&fs->nodes_lock);
}

bool staging_any_in(struct fs *fs, const struct mbox *dir)
{
	bool any = false;
	pthread_mutex_lock(&fs->nodes_lock);
	for (struct staged *s = fs->staged; s && !any; s = s->next)
		any = s->m == dir && listed(s);
	pthread_mutex_unlock(&fs->nodes_lock);
	return any;
}

static void alias_of(const struct staged *s, struct staged_alias *out)
{
	out->m = s->uid_m;
	mbox_get(out->m);  /* the caller's: s may go before it is done */
	out->uidvalidity = s->uidvalidity;
	out->uid = s->uid;
}

int staging_unlink(struct fs *fs, struct mbox *dir, const char *name, struct staged_alias *alias)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = find_locked(fs, dir, name);
	int rc = 0;
	if (!s) {
		rc = 1;
	} else if (s->delivering) {
		rc = -EBUSY;
	} else {
		s->visible = false;  /* bytes not sent yet are dropped: the writer's wish */
		if (s->uid && !s->held) {
			alias_of(s, alias);  /* what was delivered goes too */
			rc = 2;
		}
	}
	staged_sweep_locked(fs);
	pthread_mutex_unlock(&fs->nodes_lock);
	return rc;
}

int staging_rename(struct fs *fs, struct mbox *dir, const char *name, struct mbox *newdir,
		   const char *newname, struct staged_alias *alias)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = find_locked(fs, dir, name);
	struct staged *old = s ? find_locked(fs, newdir, newname) : NULL;
	int rc = 0;
	if (!s) {
		rc = 1;
	} else if (s->delivering || (old && old != s && old->delivering)) {
		rc = -EBUSY;
	} else if (s->finished || (s->uid && s->gen == s->delivered_gen)) {
		/* "write a temp file, rename it": its message is in place
		 * already and takes the new name, and so does the file (a
		 * descriptor still open may write and close again); to another
		 * folder, the message itself moves */
		alias_of(s, alias);
		rc = newdir != dir ? 2 : 3;
		if (rc == 2 || s->finished) {
			s->visible = false;
		} else {
			if (old && old != s)
				old->visible = false;
			free(s->name);
			s->name = xstrdup(newname);
		}
	} else if (!newdir->name || !newdir->selectable) {
		rc = -EPERM;
	} else {
		if (old && old != s && !old->finished)
			old->visible = false;  /* replaced before it was ever sent */
		mbox_get(newdir);
		mbox_put(s->m);
		s->m = newdir;
		free(s->name);
		s->name = xstrdup(newname);
	}
	staged_sweep_locked(fs);
	pthread_mutex_unlock(&fs->nodes_lock);
	return rc;
}

bool staging_take_over_name(struct fs *fs, struct mbox *dir, uint32_t uidvalidity, uint32_t uid, char **name)
{
	pthread_mutex_lock(&fs->nodes_lock);
	staged_sweep_locked(fs);
	struct staged *s = fs->staged;
	while (s && !(s->visible && s->held && s->uid_m == dir && s->uidvalidity == uidvalidity && s->uid == uid))
		s = s->next;
	if (s) {
		*name = xstrdup(s->name);
		s->visible = false;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return s != NULL;
}

static int staging_open_locked(struct mnode *n)
{
	int fd = fcntl(n->staged->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

int fs_write(struct fs *fs, uint64_t ino, const void *data, size_t n, off_t off)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *node = fs_node_find_locked(fs, ino);
	struct staged *s = node ? node->staged : NULL;
	int rc = 0;
	if (!s)
		rc = node && node->m ? -EPERM : -EBADF;  /* messages never change */
	else if (s->failed)
		rc = -EBADF;
	if (rc == 0) {
		s->gen++;
		s->active = time(NULL);
		pthread_mutex_lock(&s->io);  /* waits while a delivery reads the bytes */
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	if (rc < 0)
		return rc;
	if (fd_pwrite_all(s->fd, data, n, (uint64_t)off) < 0)
		rc = -errno;
	pthread_mutex_unlock(&s->io);
	return rc < 0 ? rc : (int)n;
}

int staging_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = staged_by_ino_locked(fs, ino);
	int rc = 0;
	if (!s)
		rc = 1;
	else if (s->failed)
		rc = -EBADF;
	if (rc == 0 && (to_set & FS_SET_SIZE)) {
		pthread_mutex_lock(&s->io);
		if (ftruncate(s->fd, attr->st_size) < 0)
			rc = -errno;
		s->gen++;
		pthread_mutex_unlock(&s->io);
	}
	if (rc == 0 && (to_set & FS_SET_MTIME)) {
		s->mtime = attr->st_mtime;
		s->mtime_set = true;
		/* rsync and restic date a file after closing it: the message
		 * sent at the close goes again with that date (and the older
		 * copy once the server has the new one) */
		if (s->uid && !s->finished && s->gen == s->delivered_gen && s->date != (int64_t)s->mtime) {
			s->gen++;
			rc = 2;
		}
	}
	if (rc >= 0 && s)
		s->active = time(NULL);
	pthread_mutex_unlock(&fs->nodes_lock);
	return rc;
}

int staging_set_flags(struct fs *fs, uint64_t ino, const char *flags, bool *was_staged)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = staged_by_ino_locked(fs, ino);
	/* once delivered (and not changed since) its message takes them, and
	 * a later delivery (a new date, new bytes) carries them too */
	*was_staged = s && !(s->uid && s->gen == s->delivered_gen);
	if (s) {
		free(s->flags);
		s->flags = flags ? xstrdup(flags) : NULL;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return 0;
}

int staging_get_flags(struct fs *fs, uint64_t ino, struct buf *out, bool *was_staged)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = staged_by_ino_locked(fs, ino);
	*was_staged = s != NULL;
	if (s && s->flags)
		buf_addstr(out, s->flags);
	pthread_mutex_unlock(&fs->nodes_lock);
	return 0;
}

/* Keeps bytes that never reached the server, and says where. */
static void keep_undelivered(struct fs *fs, struct staged *s, const char *why)
{
	/* a refused APPEND saved them already */
	if (s->failed || s->fd < 0 || staged_size(s) == 0 || s->gen == s->delivered_gen)
		return;
	struct buf path = BUF_INIT, err = BUF_INIT, name = BUF_INIT;
	buf_addf(&name, "%s/%s", s->m->path, s->name);
	if (cache_save_recovery(fs->cache, name.data, s->fd, NULL, 0, &path, &err) == 0)
		fs_log(LOG_WARNING, "%s %s; its bytes are in %s", name.data, why, path.data);
	else
		fs_log(LOG_ERR, "%s %s and cannot be saved: %s", name.data, why, err.data);
	buf_free(&path);
	buf_free(&err);
	buf_free(&name);
}

/* The create handle is closed: from now on the file is its message. */
void staged_finish_locked(struct fs *fs, struct staged *s, struct mnode *n)
{
	if (!s->uid)
		keep_undelivered(fs, s, "was never delivered");
	s->finished = true;
	s->alias_until = s->active + ALIAS_SECONDS;
	if (!s->uid || s->failed)
		s->visible = false;
	if (s->over_m)  /* the name is the new message's in the listing now */
		s->visible = false;
	if (n && n->staged == s && s->over_m) {
		/* the node is the message's it was written over, whatever came of it */
		n->staged = NULL;
		fs_node_set_mbox(n, s->over_m);
		n->uidvalidity = s->over_uidvalidity;
		n->uid = s->over_uid;
		n->size = s->over_size;
		n->date = s->over_date;
		n->changed = s->over_changed;
	} else if (n && n->staged == s) {
		n->staged = NULL;
		fs_node_set_mbox(n, s->uid ? s->uid_m : NULL);
		n->uidvalidity = s->uidvalidity;
		n->uid = s->uid;
		n->size = s->size;
		n->date = s->date;
	}
	s->on_node = false;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void staging_node_gone_locked(struct fs *fs, struct mnode *n)
{
	struct staged *s = n->staged;
	if (!s->delivering)
		staged_finish_locked(fs, s, n);
	n->staged = NULL;
	s->on_node = false;
	staged_sweep_locked(fs);
}

static void staging_free_all(struct fs *fs)
{
	pthread_mutex_lock(&fs->nodes_lock);
	while (fs->staged) {
		struct staged *s = fs->staged;
		fs->staged = s->next;
		if (!s->finished)
			keep_undelivered(fs, s, "was still open at unmount");
		for (size_t i = 0; i < fs->nbuckets; i++)
			for (struct mnode *n = fs->buckets[i]; n; n = n->next)
				if (n->staged == s)
					n->staged = NULL;
		staged_free(s);
	}
	pthread_mutex_unlock(&fs->nodes_lock);
}

static const struct fs_newfiles staging_newfiles = {
	.lookup = staging_lookup,
	.list = staging_list,
	.stat_locked = staging_stat_locked,
	.reads_message_locked = staging_reads_message_locked,
	.open_locked = staging_open_locked,
	.size_known_locked = staging_size_known_locked,
	.node_gone_locked = staging_node_gone_locked,
	.free_all = staging_free_all,
};
