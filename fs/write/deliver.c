/* deliver.c: a new file becomes a message at close (FUSE flush), so
 * close() reports the server's answer.  Every close of a file with bytes
 * not yet delivered APPENDs them; once the server confirmed the new copy,
 * the copy it replaces is expunged.  So a file whose descriptors close
 * more than once (a shell's children, a reader closing while the writer
 * writes on) ends as exactly the bytes last closed, and nothing written is
 * ever lost: an APPEND the server refuses leaves the bytes in the cache's
 * recovery folder, named in the log.
 *
 * A file whose bytes (and date, when one was set) are a message its folder
 * holds already is not sent again: it stands for that message.  So copying
 * a backup into the mount a second time (rsync, cp -a, restic) adds
 * nothing.  (Two messages with the same bytes and date in one backup come
 * back as one.)
 *
 * The bytes written never go into the cache of bodies: a server may store
 * others (Cyrus turns 8-bit header bytes into 'X', some servers add a
 * header), and the cache must hold what the server holds.  A delivered
 * message is fetched when it is read, like any other, also under the name
 * it was written as (staging.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "read/prefetch.h"
#include "remote/mutate.h"
#include "write/staged.h"
#include "xalloc.h"

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
	int out = staged_unnamed_file(fs);
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
		if (fd_write_all(out, obuf, o) < 0) {
			int err = errno;
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

/* What one delivery needs, copied so the server is talked to unlocked. */
struct delivery {
	struct staged *s;
	struct mbox *m;
	uint64_t gen;
	int64_t date;
	char *flags;
	struct buf shown;            /* "folder/name" for the log */
	char *name;                  /* the message keeps it */
	struct mbox *prev_m;         /* the copy this one replaces, if any */
	uint32_t prev_uidvalidity, prev_uid;
	bool held;                   /* the folder had these bytes already: not sent */
	bool over;                   /* a new version of a message (over.c) */
	uint32_t over_uid;           /* that message: the only one it may stand for */
};

/* ---- a copy the folder holds already ---- */

/* At most this many messages of the same size are compared with a new
 * file (each may be fetched): a folder of many same-sized messages costs
 * a few reads, not one per message. */
#define SAME_SIZE_MAX 4

/* Messages of d's folder with len bytes (and d's date, when the writer set
 * one), at most max, into uids; for a version written over a message only
 * that message (a restore run again writes every message over with its
 * own bytes); how many. */
static size_t same_size(const struct delivery *d, bool dated, uint64_t len, uint32_t *uids, size_t max,
			uint32_t *uidvalidity, int64_t *dates)
{
	struct mbox *m = d->m;
	size_t n = 0;
	pthread_mutex_lock(&m->lock);
	*uidvalidity = m->listing.uidvalidity;
	for (size_t i = 0; m->loaded && i < m->listing.n && n < max; i++) {
		const struct cache_msg *msg = &m->listing.msgs[i];
		/* bytes written over a message stand for no other one: "cp 2.eml
		 * 1.eml; rm 2.eml" must leave them on the server */
		if (d->over && msg->uid != d->over_uid)
			continue;
		if (msg->size == len && (!dated || msg->internaldate == d->date)) {
			dates[n] = msg->internaldate;
			uids[n++] = msg->uid;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* A message of d's folder with exactly the bytes of afd (len of them):
 * its UID and date, or false. */
static bool held_already(struct fs *fs, const struct delivery *d, int afd, uint64_t len, uint32_t *uidvalidity,
			 uint32_t *uid, int64_t *date)
{
	uint32_t uids[SAME_SIZE_MAX];
	int64_t dates[SAME_SIZE_MAX];
	if (!fs->prefetch)
		return false;
	size_t n = same_size(d, d->s->mtime_set, len, uids, SAME_SIZE_MAX, uidvalidity, dates);
	for (size_t i = 0; i < n; i++) {
		struct cache_span body;
		if (prefetch_open(fs->prefetch, d->m, *uidvalidity, uids[i], 0, &body) < 0)
			continue;
		bool same = body.size == len && fd_same(body.fd, body.offset, afd, 0, len) == 1;
		close(body.fd);
		if (same) {
			*uid = uids[i];
			*date = dates[i];
			return true;
		}
	}
	return false;
}

/* The older copy goes only now that the new one is confirmed. */
static void replace_previous(struct fs *fs, const struct delivery *d, uint32_t uid)
{
	if (!d->prev_uid || (d->prev_m == d->m && d->prev_uid == uid))
		return;
	int rc = mutate_expunge(fs->pool, d->prev_m->name, d->prev_uidvalidity, d->prev_uid,
				fs->cfg.plain_expunge);
	if (rc == 0 || rc == -ENOENT)
		mbox_msg_removed(d->prev_m, fs->cache, d->prev_uid);
	else
		fs_log(LOG_WARNING, "%s: the copy delivered before stays in %s as UID %u (%s)", d->shown.data,
		       d->prev_m->path, d->prev_uid, strerror(-rc));
}

static int append(struct fs *fs, struct delivery *d, uint32_t *uidvalidity, uint32_t *uid,
		  uint64_t *len)
{
	struct staged *s = d->s;
	pthread_mutex_lock(&s->io);  /* writers wait until the bytes are sent */
	*len = staged_size(s);
	bool copied;
	int afd = append_source(fs, s->fd, len, &copied);
	int rc = afd < 0 ? afd : 0;
	if (rc == 0 && held_already(fs, d, afd, *len, uidvalidity, uid, &d->date))
		d->held = true;
	else if (rc == 0)
		rc = mutate_append(fs->pool, d->m->name, afd, *len, (time_t)d->date, d->flags, uidvalidity,
				   uid);
	if (copied)
		close(afd);
	pthread_mutex_unlock(&s->io);
	return rc;
}

/* Refused: the bytes go to the recovery folder and the name goes.  If
 * even that fails the file stays as it is, so nothing is lost. */
static void rescue(struct fs *fs, struct delivery *d, int why)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	pthread_mutex_lock(&d->s->io);
	int rc = cache_save_recovery(fs->cache, d->shown.data, d->s->fd, NULL, 0, &path, &err);
	pthread_mutex_unlock(&d->s->io);
	if (rc == 0)
		fs_log(LOG_ERR, "%s: APPEND failed (%s); the message is kept in %s", d->shown.data,
		       strerror(-why), path.data);
	else
		fs_log(LOG_ERR, "%s: APPEND failed (%s) and the recovery copy failed too (%s); "
				"the file stays in place", d->shown.data, strerror(-why), err.data);
	pthread_mutex_lock(&fs->nodes_lock);
	if (rc == 0) {
		d->s->failed = true;
		d->s->visible = false;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	buf_free(&path);
	buf_free(&err);
}

/* Takes the delivery over, or says why there is none (*rc). */
static bool begin_locked(struct fs *fs, struct staged *s, struct delivery *d, int *rc)
{
	while (s->delivering)
		pthread_cond_wait(&s->delivered, &fs->nodes_lock);
	*rc = s->failed ? s->last_rc : 0;
	/* nothing new; unlinked; or empty (not a message: it waits for bytes) */
	if (s->failed || s->finished || !s->visible || s->gen == s->delivered_gen || !staged_size(s))
		return false;
	s->delivering = true;
	memset(d, 0, sizeof *d);
	d->s = s;
	d->m = s->m;
	d->gen = s->gen;
	d->date = s->mtime_set ? s->mtime : time(NULL);
	d->flags = s->flags ? xstrdup(s->flags) : NULL;
	buf_addf(&d->shown, "%s/%s", s->m->path, s->name);
	d->name = xstrdup(s->name);
	d->over = s->over_m != NULL;
	d->over_uid = s->over_m == s->m ? s->over_uid : 0;
	if (!s->held) {  /* a message it only stood for is not its to replace */
		d->prev_m = s->uid_m;
		d->prev_uidvalidity = s->uidvalidity;
		d->prev_uid = s->uid;
	}
	return true;
}

static void end_locked(struct fs *fs, struct delivery *d, int rc, uint32_t uidvalidity, uint32_t uid,
		       uint64_t len)
{
	struct staged *s = d->s;
	s->delivering = false;
	s->last_rc = rc;
	if (rc == 0) {
		s->delivered_gen = d->gen;
		mbox_get(d->m);
		mbox_put(s->uid_m);
		s->uid_m = d->m;
		s->uidvalidity = uidvalidity;
		s->uid = uid;
		s->size = len;
		s->date = d->date;
		s->held = d->held;
		struct mnode *n = fs_node_find_locked(fs, s->ino);
		if (n && n->staged == s) {  /* its xattrs are the message's now */
			fs_node_set_mbox(n, d->m);
			n->uidvalidity = uidvalidity;
			n->uid = uid;
			n->size = len;
			n->date = d->date;
		}
	}
	s->active = time(NULL);
	if (!s->on_node && !s->finished)
		staged_finish_locked(fs, s, NULL);  /* the kernel let go meanwhile */
	pthread_cond_broadcast(&s->delivered);
	staged_sweep_locked(fs);
}

int fs_flush(struct fs *fs, uint64_t ino)
{
	struct delivery d;
	int rc;
	pthread_mutex_lock(&fs->nodes_lock);
	struct staged *s = staged_by_ino_locked(fs, ino);
	bool go = s && begin_locked(fs, s, &d, &rc);
	pthread_mutex_unlock(&fs->nodes_lock);
	if (!go)
		return s ? rc : 0;
	uint32_t uidvalidity = 0, uid = 0;
	uint64_t len = 0;
	rc = append(fs, &d, &uidvalidity, &uid, &len);
	if (rc == 0 && d.held) {
		fs_log(LOG_INFO, "%s: the folder holds these bytes already (UID %u): not sent again",
		       d.shown.data, uid);
		/* the copy sent before had the name, and goes: the name stays */
		if (d.prev_uid && d.prev_m == d.m && d.prev_uid != uid) {
			mbox_msg_named(d.m, fs->cache, uidvalidity, uid, d.name);
			fs_inval_entry(fs, d.m->ino, d.name);  /* it led to the copy that goes */
		}
		replace_previous(fs, &d, uid);
		fs_inval_inode(fs, ino);  /* it reads as that message now */
	} else if (rc == 0) {
		struct cache_msg msg = { .uid = uid, .size = len, .internaldate = d.date,
					 .name = cache_name_id(fs->cache, d.name) };
		mbox_msg_added(d.m, fs->cache, uidvalidity, &msg);
		fs_log(LOG_INFO, "%s: appended as UID %u", d.shown.data, uid);
		replace_previous(fs, &d, uid);
		mbox_settle_names(d.m, fs->pool, fs->cache);
		if (d.over)  /* the name is the new message's: the kernel held the old one's inode */
			fs_inval_entry(fs, d.m->ino, d.name);
		fs_inval_inode(fs, ino);  /* pages of the local bytes: it reads as the message now */
	} else {
		rescue(fs, &d, rc);
	}
	pthread_mutex_lock(&fs->nodes_lock);
	end_locked(fs, &d, rc, uidvalidity, uid, len);
	/* A version written over a message is done at its close: its node
	 * (the old message's inode) is the old message again at once, so
	 * that name never shows the new bytes, and the name leads to the
	 * new message. */
	struct mnode *n = d.over && rc == 0 ? fs_node_find_locked(fs, ino) : NULL;
	if (n && n->staged == d.s)
		staged_finish_locked(fs, d.s, n);
	pthread_mutex_unlock(&fs->nodes_lock);
	if (n)
		fs_inval_inode(fs, ino);
	/* ... and close returns once the kernel has forgotten that name and
	 * those pages: a read right after it must not find the old message
	 * under the name (a FLUSH holds no directory lock, so waiting for the
	 * queue is safe, as opendir does) */
	if (d.over && rc == 0 && fs->notify.flush)
		fs->notify.flush(fs->notify.ctx);
	free(d.flags);
	free(d.name);
	buf_free(&d.shown);
	return rc;
}
