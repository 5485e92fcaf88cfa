/* ops.c: FUSE low-level callbacks, thin: each turns a request into an fs_*
 * call and its result into a reply.  Kernel cache invalidations go through
 * a small queue so they are never sent from inside a request handler. */
#include "config.h"

#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "fs.h"
#include "fuse/ops.h"
#include "fuse/pagepush.h"
#include "worker.h"
#include "xalloc.h"

/* The session's userdata is the address of the struct fs pointer, so the
 * session can be made (and FUSE options checked) before connecting. */
static struct fs *req_fs(fuse_req_t req)
{
	return *(struct fs **)fuse_req_userdata(req);
}

static struct fuse_entry_param entry_param(const struct fs_entry *e)
{
	struct fuse_entry_param p;
	memset(&p, 0, sizeof p);
	p.ino = e->ino;
	p.attr = e->st;
	p.attr_timeout = e->attr_timeout;
	p.entry_timeout = e->entry_timeout;
	return p;
}

static void reply_entry_or_err(fuse_req_t req, int rc, const struct fs_entry *e)
{
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct fuse_entry_param p = entry_param(e);
	fuse_reply_entry(req, &p);
}

/* A request that may wait on the server answers FUSE INTERRUPT, which the
 * kernel sends when its caller gets a signal (a killed caller too, which
 * then sleeps uninterruptibly until we answer): its waits end, and a
 * failure is then EINTR.  Requests that change mail are not cut short:
 * they finish or fail within the timeout, so both sides agree on what
 * happened. */
static void on_interrupt(fuse_req_t req, void *token)
{
	(void)req;
	fs_cancel_fire(token);
}

static void cancellable_begin(fuse_req_t req, struct fs_cancel *token)
{
	fs_cancel_init(token);
	fs_cancel_enter(token);
	/* runs on_interrupt at once if the INTERRUPT came first */
	fuse_req_interrupt_func(req, on_interrupt, token);
}

/* Before the reply: rc, or -EINTR for what an interrupt made fail. */
static int cancellable_end(fuse_req_t req, struct fs_cancel *token, int rc)
{
	/* waits for an on_interrupt in progress: then nothing uses the token */
	fuse_req_interrupt_func(req, NULL, NULL);
	fs_cancel_enter(NULL);
	if (rc < 0 && fs_cancel_fired(token))
		rc = -EINTR;
	fs_cancel_destroy(token);
	return rc;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_entry e;
	struct fs_cancel token;
	cancellable_begin(req, &token);
	int rc = fs_lookup(req_fs(req), parent, name, &e);
	reply_entry_or_err(req, cancellable_end(req, &token, rc), &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_forget(req_fs(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *v)
{
	for (size_t i = 0; i < count; i++)
		fs_forget(req_fs(req), v[i].ino, v[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	double timeout;
	int rc = fs_getattr(req_fs(req), ino, &st, &timeout);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, timeout);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_dir *d;
	struct fs_cancel token;
	cancellable_begin(req, &token);
	int rc = cancellable_end(req, &token, fs_opendir(req_fs(req), ino, fuse_req_ctx(req)->pid, &d));
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		fs_dir_free(d);
}

static void readdir_common(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = req_fs(req);
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	char *buf = xmalloc(size);
	size_t used = 0, i;
	for (i = (size_t)off; i < d->n; i++) {
		const struct fs_dirent *de = &d->v[i];
		size_t want;
		if (plus) {
			struct fuse_entry_param p = entry_param(&de->e);
			want = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &p, (off_t)i + 1);
		} else {
			want = fuse_add_direntry(req, buf + used, size - used, de->name, &de->e.st, (off_t)i + 1);
		}
		if (want > size - used)
			break;
		used += want;
	}
	/* d may go (RELEASEDIR) as soon as the reply is out */
	uint64_t *held = plus && i > (size_t)off ? xcalloc(i - (size_t)off, sizeof *held) : NULL;
	size_t nheld = plus ? fs_dir_entries_used(fs, d, (size_t)off, i, held) : 0;
	fuse_reply_buf(req, buf, used);
	free(buf);
	fs_push_held(fs, held, nheld);
	free(held);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	readdir_common(req, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)ino;
	readdir_common(req, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_dir_free((struct fs_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* Messages never change, so when the kernel can do without open and
 * release (FUSE_CAP_NO_OPEN_SUPPORT) it keeps their pages and reads go to
 * the cache file directly: a warm scan costs no request per file at all. */
static bool no_open;

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Always READDIRPLUS: the entries come with their attributes, so a scan
	 * of a folder sends no LOOKUP per message (the kernel's adaptive mode
	 * switched to plain READDIR after the first batch). */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* O_TRUNC then comes as a SETATTR of size 0, which the core answers
	 * even when the kernel sends no OPEN (no-open mode, below). */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* Reads are synchronous requests: a reader waiting for a body can then
	 * be interrupted by any signal (FUSE INTERRUPT), where an asynchronous
	 * read-ahead leaves it on a page lock that only SIGKILL breaks.  The
	 * bytes come from the local cache file either way. */
	conn->want &= ~FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
		no_open = true;
	}
}

/* fi->fh points to the struct cache_span of an opened body; 0 when the
 * kernel skipped open. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cache_span body;
	bool keep;
	struct fs_cancel token;
	cancellable_begin(req, &token);
	int rc = fs_open_body(req_fs(req), ino, fi->flags, fuse_req_ctx(req)->pid, &body, &keep);
	rc = cancellable_end(req, &token, rc);
	if (rc == -EPERM && (fi->flags & O_ACCMODE) != O_RDONLY) {
		/* a message opened to be written over: only a truncation, which
		 * follows as a SETATTR, lets writes in (over.c) */
		fi->fh = 0;
		fuse_reply_open(req, fi);
		return;
	}
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (no_open && (fi->flags & O_ACCMODE) == O_RDONLY) {
		if (body.fd >= 0)
			close(body.fd);
		fuse_reply_err(req, ENOSYS);  /* "no open needed, ever": see above */
		return;
	}
	struct cache_span *held = xmalloc(sizeof *held);
	*held = body;
	fi->fh = (uint64_t)(uintptr_t)held;
	fi->keep_cache = keep;
	if (fuse_reply_open(req, fi) != 0) {
		close(held->fd);
		free(held);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct cache_span here, *body = (struct cache_span *)(uintptr_t)fi->fh;
	/* no open (no-open mode), or a big body fetched where it is read */
	if (!body || body->fd < 0) {
		struct fs_cancel token;
		cancellable_begin(req, &token);
		int rc = fs_read_body(req_fs(req), ino, (uint64_t)off, size, fuse_req_ctx(req)->pid, &here);
		rc = cancellable_end(req, &token, rc);
		if (rc < 0) {
			fuse_reply_err(req, -rc);
			return;
		}
		body = &here;
	}
	/* the body's file may hold other bodies after it */
	uint64_t left = (uint64_t)off < body->size ? body->size - (uint64_t)off : 0;
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size < left ? size : (size_t)left);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = body->fd;
	bv.buf[0].pos = (off_t)body->offset + off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
	if (body == &here)
		close(here.fd);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct cache_span *body = (struct cache_span *)(uintptr_t)fi->fh;
	if (body) {
		if (body->fd >= 0)
			close(body->fd);
		free(body);
	}
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs st;
	struct fs_cancel token;
	cancellable_begin(req, &token);
	int rc = cancellable_end(req, &token, fs_statfs(req_fs(req), &st));
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_statfs(req, &st);
}

static void reply_status(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)mode;
	struct fs_entry e;
	reply_entry_or_err(req, fs_mkdir(req_fs(req), parent, name, &e), &e);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_status(req, fs_rmdir(req_fs(req), parent, name));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_status(req, fs_unlink(req_fs(req), parent, name));
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	unsigned f = 0;
	if (flags & RENAME_NOREPLACE)
		f |= FS_RENAME_NOREPLACE;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		f |= ~FS_RENAME_NOREPLACE;  /* EXCHANGE, WHITEOUT: refused */
	reply_status(req, fs_rename(req_fs(req), parent, name, newparent, newname, f));
}

/* New files are found by inode in every call. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	(void)mode;
	struct fs_entry e;
	int rc = fs_create(req_fs(req), parent, name, &e);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct fuse_entry_param p = entry_param(&e);
	fi->fh = 0;
	fi->direct_io = 1;  /* the bytes live in our local file, not in pages */
	fuse_reply_create(req, &p, fi);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)fi;
	int rc = fs_write(req_fs(req), ino, buf, size, off);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

/* close(): a new file is delivered (APPEND) here, so close reports it.
 * The kernel sends this on every close of every file, a round trip each
 * (about 30 us here: a warm grep -r pays it per message); a read-only
 * mount has nothing to deliver, and ENOSYS stops the kernel asking. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct fs *fs = req_fs(req);
	if (fs_config(fs)->readonly)
		fuse_reply_err(req, ENOSYS);
	else
		reply_status(req, fs_flush(fs, ino));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);  /* delivery happens at close, not before */
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)fi;
	int set = 0;
	if (to_set & FUSE_SET_ATTR_SIZE)
		set |= FS_SET_SIZE;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		attr->st_mtime = time(NULL);
		set |= FS_SET_MTIME;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		set |= FS_SET_MTIME;
	}
	struct stat st;
	double timeout;
	int rc = fs_setattr(req_fs(req), ino, attr, set, &st, &timeout);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* size 0 asks for the length; a buffer too small is ERANGE. */
static void reply_xattr_value(fuse_req_t req, int rc, const struct buf *v, size_t size)
{
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, v->len);
	else if (v->len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v->data, v->len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct buf v = BUF_INIT;
	struct fs_cancel token;
	cancellable_begin(req, &token);
	int rc = cancellable_end(req, &token, fs_getxattr(req_fs(req), ino, name, &v));
	reply_xattr_value(req, rc, &v, size);
	buf_free(&v);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct buf v = BUF_INIT;
	reply_xattr_value(req, fs_listxattr(req_fs(req), ino, &v), &v, size);
	buf_free(&v);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	(void)flags;
	reply_status(req, fs_setxattr(req_fs(req), ino, name, value, size));
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	reply_status(req, fs_removexattr(req_fs(req), ino, name));
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.unlink = op_unlink,
	.rename = op_rename,
	.create = op_create,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.setattr = op_setattr,
	.getxattr = op_getxattr,
	.setxattr = op_setxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
};

const struct fuse_lowlevel_ops *ops_table(void)
{
	return &ops;
}

/* ---- kernel cache invalidation, from a thread of its own ---- */

struct inval {
	uint64_t ino;        /* an inode's data and attributes (or only those), or */
	bool attr_only;
	uint64_t parent;     /* a name in a directory */
	char *name;
	struct inval *next;
};

struct notifier {
	struct fuse_session *se;
	struct worker w;            /* its lock guards the fields below */
	pthread_cond_t delivered;   /* done moved */
	struct inval *head, *tail;  /* in the order queued */
	uint64_t queued, done;
	struct pagepush *push;      /* bodies offered to the page cache */
};

static bool inval_queued(void *ctx)
{
	return ((struct notifier *)ctx)->head != NULL;
}

static void notifier_main(void *arg, unsigned self)
{
	(void)self;
	struct notifier *n = arg;
	pthread_mutex_lock(&n->w.lock);
	while (worker_wait_until(&n->w, inval_queued, n)) {
		struct inval *iv = n->head;
		n->head = iv->next;
		if (!n->head)
			n->tail = NULL;
		pthread_mutex_unlock(&n->w.lock);
		if (iv->name)
			fuse_lowlevel_notify_inval_entry(n->se, iv->parent, iv->name, strlen(iv->name));
		else
			fuse_lowlevel_notify_inval_inode(n->se, iv->ino, iv->attr_only ? -1 : 0, 0);
		free(iv->name);
		free(iv);
		pthread_mutex_lock(&n->w.lock);
		n->done++;
		pthread_cond_broadcast(&n->delivered);
	}
	pthread_mutex_unlock(&n->w.lock);
}

static void queue(struct notifier *n, struct inval *iv)
{
	pthread_mutex_lock(&n->w.lock);
	if (n->tail)
		n->tail->next = iv;
	else
		n->head = iv;
	n->tail = iv;
	n->queued++;
	worker_wake(&n->w);
	pthread_mutex_unlock(&n->w.lock);
}

static void flush_queue(void *ctx)
{
	struct notifier *n = ctx;
	pthread_mutex_lock(&n->w.lock);
	uint64_t target = n->queued;
	while (n->done < target && !n->w.stop)
		pthread_cond_wait(&n->delivered, &n->w.lock);
	pthread_mutex_unlock(&n->w.lock);
}

static void queue_inval_inode(void *ctx, uint64_t ino)
{
	struct inval *iv = xcalloc(1, sizeof *iv);
	iv->ino = ino;
	queue(ctx, iv);
}

static void queue_inval_attr(void *ctx, uint64_t ino)
{
	struct inval *iv = xcalloc(1, sizeof *iv);
	iv->ino = ino;
	iv->attr_only = true;
	queue(ctx, iv);
}

static void queue_inval_entry(void *ctx, uint64_t parent, const char *name)
{
	struct inval *iv = xcalloc(1, sizeof *iv);
	iv->parent = parent;
	iv->name = xstrdup(name);
	queue(ctx, iv);
}

static void queue_push(void *ctx, uint64_t ino)
{
	struct notifier *n = ctx;
	pagepush_queue(n->push, ino);
}

struct notifier *notifier_start(struct fs *fs, struct fuse_session *se)
{
	struct notifier *n = xcalloc(1, sizeof *n);
	n->se = se;
	worker_init(&n->w, n, NULL);
	pthread_cond_init(&n->delivered, NULL);
	/* named for top -H and ps -L */
	if (worker_start(&n->w, 1, "imapfs-inval", notifier_main) < 0) {
		worker_destroy(&n->w);
		pthread_cond_destroy(&n->delivered);
		free(n);
		return NULL;
	}
	n->push = pagepush_start(fs, se);
	struct fs_notifier hooks = { .inval_inode = queue_inval_inode,
				     .inval_entry = queue_inval_entry,
				     .inval_attr = queue_inval_attr,
				     .flush = flush_queue,
				     .push = n->push ? queue_push : NULL,
				     .ctx = n };
	fs_set_notifier(fs, &hooks);
	return n;
}

#define NOTIFIER_STOP_WAIT_S 2

/* What threads left inside the kernel may still use, kept until the
 * process exits (one session per process); only ever written, volatile so
 * that the pointers stay for leak checkers to see. */
static struct {
	struct fuse_session *volatile se;
	struct notifier *volatile n;
	struct pagepush *volatile push;
} kept;

/* Stops n's threads; true when both are gone and n is freed. */
static bool notifier_stop(struct fs *fs, struct notifier *n)
{
	fs_set_notifier(fs, NULL);
	struct pagepush *push = n->push;
	bool push_gone = pagepush_stop(push);
	if (!push_gone)
		kept.push = push;
	/* a flush waiting for deliveries gives up too */
	pthread_mutex_lock(&n->w.lock);
	n->w.stop = true;
	pthread_cond_broadcast(&n->delivered);
	pthread_mutex_unlock(&n->w.lock);
	/* An invalidation can wait for a directory lock that a request still
	 * queued in the kernel holds, and after a SIGTERM nobody answers that
	 * request until the session goes: like pagepush_stop, give the thread
	 * a moment, then leave it n (and the session). */
	if (!worker_stop(&n->w, NOTIFIER_STOP_WAIT_S)) {
		fs_log(LOG_WARNING, "a kernel cache invalidation still waits on the kernel: leaving it behind");
		kept.n = n;
		return false;
	}
	while (n->head) {
		struct inval *iv = n->head;
		n->head = iv->next;
		free(iv->name);
		free(iv);
	}
	worker_destroy(&n->w);
	pthread_cond_destroy(&n->delivered);
	free(n);
	return push_gone;
}

void notifier_end_session(struct fs *fs, struct notifier *n, struct fuse_session *se)
{
	/* stopped before the unmount closes the session's fd, which a
	 * notification starting late could otherwise write to after its
	 * number was given to another file */
	bool all_gone = !n || notifier_stop(fs, n);
	fuse_session_unmount(se);
	if (!all_gone) {
		/* libfuse reads the session when the thread's write returns */
		fs_log(LOG_WARNING, "the FUSE session stays until imapfs exits");
		kept.se = se;
		return;
	}
	fuse_session_destroy(se);
}
