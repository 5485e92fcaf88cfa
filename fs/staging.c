/* staging.c: new files.  A file created in a mailbox is written to an
 * unnamed local file; when it is closed (FUSE flush) its bytes become one
 * APPEND, and close() reports the server's answer.  The name then goes
 * away and the message shows as <UID>.eml; for a few seconds the old name
 * still answers lookups, so that "write a temp file, rename it" (rsync,
 * editors) completes.  If APPEND fails, the bytes go to the cache's
 * recovery folder before close() returns the error: nothing written is
 * ever dropped. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fs_impl.h"
#include "write.h"

/* How long a delivered file's name still resolves (see above). */
#define ALIAS_SECONDS 10

enum staged_state {
	STAGED_OPEN,         /* being written */
	STAGED_DELIVERING,   /* APPEND in progress */
	STAGED_DELIVERED,    /* confirmed: the name is an alias of uid for a while */
	STAGED_DISCARDED,    /* unlinked before delivery, or APPEND failed and saved */
};

/* Owned by fs->staged; freed once neither its name is visible nor a node
 * points at it. */
struct staged {
	struct mbox *m;
	char *name;
	uint64_t ino;
	int fd;
	enum staged_state state;
	bool visible;        /* found by name */
	bool on_node;        /* an mnode's staged points here */
	int64_t created, mtime;
	bool mtime_set;
	char *flags;         /* for APPEND, normalised; NULL = none */
	time_t alias_until;
	uint32_t uidvalidity, uid;
	uint64_t size;       /* delivered bytes */
	pthread_mutex_t io;  /* held while bytes are written */
	struct staged *next;
};

static void staged_free(struct staged *s)
{
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->io);
	free(s->name);
	free(s->flags);
	free(s);
}

/* Frees what nothing refers to any more, and ends expired aliases. */
static void sweep_locked(struct fs *fs)
{
	time_t now = time(NULL);
	for (struct staged **pp = &fs->staged; *pp;) {
		struct staged *s = *pp;
		if (s->state == STAGED_DELIVERED && s->visible && now >= s->alias_until)
			s->visible = false;
		if (!s->visible && !s->on_node) {
			*pp = s->next;
			staged_free(s);
		} else {
			pp = &s->next;
		}
	}
}

static struct staged *find_locked(struct fs *fs, const struct mbox *dir, const char *name)
{
	for (struct staged *s = fs->staged; s; s = s->next)
		if (s->visible && s->m == dir && !strcmp(s->name, name))
			return s;
	return NULL;
}

static struct staged *by_ino_locked(struct fs *fs, uint64_t ino)
{
	struct mnode *n = fs_node_find_locked(fs, ino);
	return n ? n->staged : NULL;
}

static uint64_t fd_size(int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* An unnamed file under the cache directory (0700): gone by itself if we
 * crash, and never on a command line or in a shared /tmp. */
static int unnamed_file(struct fs *fs)
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

void staging_stat_locked(struct fs *fs, struct mnode *n, struct stat *st)
{
	struct staged *s = n->staged;
	fs_msg_stat(fs, n->ino, fd_size(s->fd), s->mtime_set ? s->mtime : s->created, st);
}

static void staged_entry(struct fs *fs, struct mnode *n, struct fs_entry *e)
{
	memset(e, 0, sizeof *e);
	e->ino = n->ino;
	staging_stat_locked(fs, n, &e->st);
	e->attr_timeout = STAGED_TIMEOUT;
	e->entry_timeout = STAGED_TIMEOUT;  /* the name goes at close */
}

int fs_create(struct fs *fs, uint64_t parent, const char *name, struct fs_entry *e)
{
	if (fs->cfg.readonly)
		return -EROFS;
	struct mbox *dir = mtree_by_ino(&fs->tree, parent);
	if (!dir || !dir->exists)
		return -ENOENT;
	if (!dir->name || !dir->selectable)
		return -EPERM;  /* no messages can live here */
	struct buf path = BUF_INIT;
	fs_child_path(dir, name, &path);
	bool is_dir = mtree_by_path(&fs->tree, path.data) != NULL;
	buf_free(&path);
	struct cache_msg msg;
	uint32_t uidvalidity;
	if (is_dir || fs_find_message(fs, dir, name, &msg, &uidvalidity) == 0)
		return -EEXIST;
	int fd = unnamed_file(fs);
	if (fd < 0) {
		int err = errno;
		fs_log(LOG_ERR, "cannot make a local file for %s/%s: %s", dir->path, name, strerror(err));
		return -err;
	}
	struct staged *s = xcalloc(1, sizeof *s);
	s->m = dir;
	s->name = xstrdup(name);
	s->fd = fd;
	s->created = time(NULL);
	s->visible = s->on_node = true;
	pthread_mutex_init(&s->io, NULL);
	pthread_mutex_lock(&fs->nodes_lock);
	sweep_locked(fs);
	if (find_locked(fs, dir, name)) {
		pthread_mutex_unlock(&fs->nodes_lock);
		s->on_node = false;
		staged_free(s);
		return -EEXIST;
	}
	uint64_t seq = ++fs->staged_seq;
	s->ino = fs_hash_ino("new", dir->name, (uint32_t)(seq >> 32), (uint32_t)seq);
	s->next = fs->staged;
	fs->staged = s;
	struct mnode *n = xcalloc(1, sizeof *n);
	n->ino = s->ino;
	n->m = dir;
	n->staged = s;
	n->nlookup = 1;
	n->next = fs->buckets[n->ino % NODE_BUCKETS];
	fs->buckets[n->ino % NODE_BUCKETS] = n;
	staged_entry(fs, n, e);
	pthread_mutex_unlock(&fs->nodes_lock);
	return 0;
}

bool staging_lookup(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e)
{
	pthread_mutex_lock(&fs->nodes_lock);
	sweep_locked(fs);
	struct staged *s = find_locked(fs, dir, name);
	if (!s) {
		pthread_mutex_unlock(&fs->nodes_lock);
		return false;
	}
	if (s->state != STAGED_DELIVERED) {
		struct mnode *n = fs_node_find_locked(fs, s->ino);
		if (n) {
			n->nlookup++;
			staged_entry(fs, n, e);
		}
		pthread_mutex_unlock(&fs->nodes_lock);
		return n != NULL;
	}
	struct cache_msg msg = { .uid = s->uid, .size = s->size, .internaldate = s->mtime };
	uint32_t uidvalidity = s->uidvalidity;
	pthread_mutex_unlock(&fs->nodes_lock);
	uint64_t ino = fs_msg_ino(dir, uidvalidity, msg.uid);
	fs_node_ref(fs, dir, uidvalidity, &msg, ino);
	fs_entry_msg(fs, ino, &msg, e);
	return true;
}

void staging_list(struct fs *fs, struct mbox *dir, struct fs_dir *d,
		  void (*add)(struct fs_dir *d, void *ctx, const char *name, const struct fs_entry *e),
		  void *ctx)
{
	pthread_mutex_lock(&fs->nodes_lock);
	for (struct staged *s = fs->staged; s; s = s->next) {
		if (!s->visible || s->m != dir || s->state == STAGED_DELIVERED)
			continue;
		struct mnode *n = fs_node_find_locked(fs, s->ino);
		if (!n)
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
		any = s->visible && s->m == dir && s->state != STAGED_DELIVERED;
	pthread_mutex_unlock(&fs->nodes_lock);
	return any;
}

int staging_unlink(struct fs *fs, struct mbox *dir, const char *name)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = find_locked(fs, dir, name);
	int rc = 0;
	if (!s)
		rc = 1;
	else if (s->state == STAGED_DELIVERING)
		rc = -EBUSY;
	else if (s->state == STAGED_OPEN)
		s->state = STAGED_DISCARDED;  /* never delivered: the writer's choice */
	/* a delivered file's name only goes: its message stays (rm the <UID>.eml) */
	if (s && rc == 0)
		s->visible = false;
	sweep_locked(fs);
	pthread_mutex_unlock(&fs->nodes_lock);
	return rc;
}

int staging_rename(struct fs *fs, struct mbox *dir, const char *name, struct mbox *newdir,
		   const char *newname)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = find_locked(fs, dir, name);
	int rc = 0;
	if (!s) {
		rc = 1;
	} else if (s->state == STAGED_DELIVERING) {
		rc = -EBUSY;
	} else if (s->state == STAGED_DELIVERED) {
		/* "write a temp file, rename it": the message is already in place
		 * as <UID>.eml; moving it elsewhere goes through its real name */
		if (newdir == dir)
			s->visible = false;
		else
			rc = -EXDEV;
	} else if (!newdir->name || !newdir->selectable) {
		rc = -EPERM;
	} else {
		struct staged *old = find_locked(fs, newdir, newname);
		if (old && old != s) {
			if (old->state == STAGED_OPEN)
				old->state = STAGED_DISCARDED;
			old->visible = false;
		}
		s->m = newdir;
		free(s->name);
		s->name = xstrdup(newname);
	}
	sweep_locked(fs);
	pthread_mutex_unlock(&fs->nodes_lock);
	return rc;
}

int staging_open_locked(struct mnode *n)
{
	int fd = fcntl(n->staged->fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

void staging_node_gone_locked(struct fs *fs, struct mnode *n)
{
	struct staged *s = n->staged;
	n->staged = NULL;
	s->on_node = false;
	if (s->state == STAGED_OPEN) {
		/* closed without a flush that delivered it: only an empty file
		 * (never appended) gets here; anything else is kept */
		if (fd_size(s->fd) > 0) {
			struct buf path = BUF_INIT, err = BUF_INIT;
			if (cache_save_recovery(fs->cache, s->name, s->fd, NULL, 0, &path, &err) == 0)
				fs_log(LOG_WARNING, "%s/%s was never delivered; its bytes are in %s",
				       s->m->path, s->name, path.data);
			else
				fs_log(LOG_ERR, "%s/%s was never delivered and cannot be saved: %s",
				       s->m->path, s->name, err.data);
			buf_free(&path);
			buf_free(&err);
		}
		s->state = STAGED_DISCARDED;
		s->visible = false;
	}
	sweep_locked(fs);
}

int fs_write(struct fs *fs, uint64_t ino, const void *data, size_t n, off_t off)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *node = fs_node_find_locked(fs, ino);
	struct staged *s = node ? node->staged : NULL;
	int rc = 0;
	if (!s)
		rc = node && node->m ? -EPERM : -EBADF;  /* messages never change */
	else if (s->state != STAGED_OPEN && s->state != STAGED_DISCARDED)
		rc = -EBADF;
	if (rc == 0)
		pthread_mutex_lock(&s->io);
	pthread_mutex_unlock(&fs->nodes_lock);
	if (rc < 0)
		return rc;
	size_t done = 0;
	while (done < n) {
		ssize_t w = pwrite(s->fd, (const char *)data + done, n - done, off + (off_t)done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		done += (size_t)w;
	}
	pthread_mutex_unlock(&s->io);
	return rc < 0 ? rc : (int)done;
}

int staging_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = by_ino_locked(fs, ino);
	int rc = 0;
	if (!s)
		rc = 1;
	else if (s->state != STAGED_OPEN && s->state != STAGED_DISCARDED)
		rc = -EBUSY;
	if (rc == 0 && (to_set & FS_SET_SIZE) && ftruncate(s->fd, attr->st_size) < 0)
		rc = -errno;
	if (rc == 0 && (to_set & FS_SET_MTIME)) {
		s->mtime = attr->st_mtime;
		s->mtime_set = true;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return rc;
}

int staging_set_flags(struct fs *fs, uint64_t ino, const char *flags, bool *was_staged)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = by_ino_locked(fs, ino);
	*was_staged = s != NULL;
	int rc = 0;
	if (s && s->state != STAGED_OPEN)
		rc = -EBUSY;
	else if (s) {
		free(s->flags);
		s->flags = flags ? xstrdup(flags) : NULL;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return rc;
}

int staging_get_flags(struct fs *fs, uint64_t ino, struct buf *out, bool *was_staged)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = by_ino_locked(fs, ino);
	*was_staged = s != NULL;
	if (s && s->flags)
		buf_addstr(out, s->flags);
	pthread_mutex_unlock(&fs->nodes_lock);
	return 0;
}

/* ---- delivery ---- */

/* The bytes to APPEND: the file as written, or, when it has a bare LF
 * (Unix line ends), a copy with every bare LF made CRLF, as IMAP wants. */
static int append_source(struct fs *fs, int fd, uint64_t *len, bool *copied)
{
	*copied = false;
	char buf[65536];
	bool bare = false, prev_cr = false;
	off_t off = 0;
	ssize_t r;
	while (!bare && (r = pread(fd, buf, sizeof buf, off)) > 0) {
		for (ssize_t i = 0; i < r && !bare; i++) {
			bare = buf[i] == '\n' && !prev_cr;
			prev_cr = buf[i] == '\r';
		}
		off += r;
	}
	if (!bare)
		return lseek(fd, 0, SEEK_SET) < 0 ? -errno : fd;
	int out = unnamed_file(fs);
	if (out < 0)
		return -errno;
	char obuf[2 * sizeof buf];
	uint64_t total = 0;
	prev_cr = false;
	off = 0;
	while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
		size_t o = 0;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n' && !prev_cr)
				obuf[o++] = '\r';
			obuf[o++] = buf[i];
			prev_cr = buf[i] == '\r';
		}
		if (write(out, obuf, o) != (ssize_t)o) {
			int err = errno ? errno : EIO;
			close(out);
			return -err;
		}
		total += o;
		off += r;
	}
	if (r < 0 || lseek(out, 0, SEEK_SET) < 0) {
		int err = errno;
		close(out);
		return -err;
	}
	*len = total;
	*copied = true;
	return out;
}

/* The bytes are here already: reading the new message back costs nothing. */
static void keep_in_cache(struct fs *fs, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
			  int fd)
{
	struct cache_writer *w;
	if (cache_body_begin(fs->cache, mailbox, uidvalidity, uid, &w, NULL) < 0)
		return;
	char buf[65536];
	off_t off = 0;
	ssize_t r;
	while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
		if (cache_writer_write(w, buf, (size_t)r) < 0)
			break;
		off += r;
	}
	if (r != 0) {
		cache_writer_abort(w);
		return;
	}
	cache_writer_commit(w, NULL, NULL);
	cache_trim(fs->cache);
}

static void delivered(struct fs *fs, struct staged *s, uint32_t uidvalidity, uint32_t uid,
		      uint64_t len, int64_t date)
{
	pthread_mutex_lock(&fs->nodes_lock);
	s->state = STAGED_DELIVERED;
	s->uidvalidity = uidvalidity;
	s->uid = uid;
	s->size = len;
	s->mtime = date;
	s->alias_until = time(NULL) + ALIAS_SECONDS;
	s->visible = uid != 0;
	struct mnode *n = fs_node_find_locked(fs, s->ino);
	if (n && n->staged == s) {
		/* the inode the writer holds is the new message from now on */
		n->staged = NULL;
		s->on_node = false;
		n->m = uid ? s->m : NULL;
		n->uidvalidity = uidvalidity;
		n->uid = uid;
		n->size = len;
		n->date = date;
	}
	close(s->fd);
	s->fd = -1;
	sweep_locked(fs);
	pthread_mutex_unlock(&fs->nodes_lock);
}

/* APPEND refused: the bytes go to the recovery folder, the name goes. */
static int rescue(struct fs *fs, struct staged *s, const char *path_shown, int why)
{
	struct buf path = BUF_INIT, err = BUF_INIT, name = BUF_INIT;
	buf_addf(&name, "%s/%s", s->m->path, s->name);
	int rc = cache_save_recovery(fs->cache, name.data, s->fd, NULL, 0, &path, &err);
	pthread_mutex_lock(&fs->nodes_lock);
	if (rc == 0) {
		fs_log(LOG_ERR, "%s: APPEND failed (%s); the message is kept in %s", path_shown,
		       strerror(-why), path.data);
		s->state = STAGED_DISCARDED;
		s->visible = false;
	} else {
		/* still only here: stays a file in the folder, so nothing is lost */
		fs_log(LOG_ERR, "%s: APPEND failed (%s) and the recovery copy failed too (%s); "
				"the file stays in place", path_shown, strerror(-why), err.data);
		s->state = STAGED_OPEN;
	}
	sweep_locked(fs);
	pthread_mutex_unlock(&fs->nodes_lock);
	buf_free(&path);
	buf_free(&err);
	buf_free(&name);
	return why;
}

int fs_flush(struct fs *fs, uint64_t ino)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = by_ino_locked(fs, ino);
	if (!s || s->state != STAGED_OPEN || fd_size(s->fd) == 0) {
		/* an empty file is not a message: it waits for bytes */
		pthread_mutex_unlock(&fs->nodes_lock);
		return 0;
	}
	s->state = STAGED_DELIVERING;
	struct mbox *m = s->m;
	int64_t date = s->mtime_set ? s->mtime : time(NULL);
	char *flags = s->flags ? xstrdup(s->flags) : NULL;
	struct buf shown = BUF_INIT;
	buf_addf(&shown, "%s/%s", m->path, s->name);
	pthread_mutex_unlock(&fs->nodes_lock);
	pthread_mutex_lock(&s->io);  /* writes already under way finish first */
	pthread_mutex_unlock(&s->io);

	uint64_t len = fd_size(s->fd);
	bool copied;
	int afd = append_source(fs, s->fd, &len, &copied);
	int rc = afd < 0 ? afd : 0;
	uint32_t uidvalidity = 0, uid = 0;
	if (rc == 0)
		rc = write_append(fs->pool, m->name, afd, len, (time_t)date, flags, &uidvalidity, &uid);
	if (rc == 0) {
		if (uid && uidvalidity)
			keep_in_cache(fs, m->name, uidvalidity, uid, afd);
		struct cache_msg msg = { .uid = uid, .size = len, .internaldate = date };
		mbox_msg_added(m, fs->cache, uidvalidity, &msg);
		fs_log(LOG_INFO, "%s: appended as %u.eml", shown.data, uid);
		delivered(fs, s, uidvalidity, uid, len, date);
		char name[32];
		snprintf(name, sizeof name, "%u.eml", uid);
		fs_inval_entry(fs, m->ino, name);  /* it may have been looked up as missing */
		fs_inval_inode(fs, ino);
	} else {
		rescue(fs, s, shown.data, rc);
	}
	if (copied)
		close(afd);
	free(flags);
	buf_free(&shown);
	return rc;
}

void staging_free_all(struct fs *fs)
{
	pthread_mutex_lock(&fs->nodes_lock);
	while (fs->staged) {
		struct staged *s = fs->staged;
		fs->staged = s->next;
		if (s->state == STAGED_OPEN && fd_size(s->fd) > 0) {
			struct buf path = BUF_INIT, err = BUF_INIT;
			if (cache_save_recovery(fs->cache, s->name, s->fd, NULL, 0, &path, &err) == 0)
				fs_log(LOG_WARNING, "unmounted while %s/%s was open; its bytes are in %s",
				       s->m->path, s->name, path.data);
			buf_free(&path);
			buf_free(&err);
		}
		for (size_t i = 0; i < NODE_BUCKETS; i++)
			for (struct mnode *n = fs->buckets[i]; n; n = n->next)
				if (n->staged == s)
					n->staged = NULL;
		staged_free(s);
	}
	pthread_mutex_unlock(&fs->nodes_lock);
}
