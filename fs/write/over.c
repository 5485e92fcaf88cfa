/* over.c: writing over a message, and redating one.  A message never
 * changes on the server, so both make a new version of it, staged on the
 * message's own node (the kernel holds that inode under the name) and
 * delivered like a new file (deliver.c):
 *   - truncated to 0 (cp, restic and tar writing a name that exists): the
 *     bytes that follow are the new version.  If they are a message the
 *     folder holds (the same one, a rerun of a restore), nothing is sent;
 *     otherwise the new message takes the name, and the old one, never
 *     expunged for a name, shows as <UID>.eml.
 *     A message this mount wrote under that name moments ago (the alias
 *     time of staged.h) is replaced instead, as writing the file again
 *     always did.
 *   - given another mtime (restic and rsync set times by name after
 *     closing, tar and touch too): its bytes go again with that
 *     INTERNALDATE, flags and name, and the old copy is expunged once the
 *     server confirmed the new one, which holds the same bytes. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "model/mailbox.h"
#include "read/prefetch.h"
#include "remote/mutate.h"
#include "write/staged.h"
#include "xalloc.h"

/* What the node stands for. */
struct over_of {
	struct mbox *m;          /* a reference */
	uint32_t uidvalidity, uid;
	uint64_t size;
	int64_t date, changed;
	char name[CACHE_MSG_NAME_MAX + 1];
	char *flags;             /* NULL: none, or not known */
};

static bool message_node(struct fs *fs, uint64_t ino, struct over_of *o)
{
	memset(o, 0, sizeof *o);
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	bool is = n && !n->staged && n->m && n->uid;
	if (is) {
		o->m = n->m;
		mbox_get(o->m);
		o->uidvalidity = n->uidvalidity;
		o->uid = n->uid;
		o->size = n->size;
		o->date = n->date;
		o->changed = n->changed;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return is;
}

/* Its name and flags from the listing; false when it is not listed. */
static bool listed_as(struct fs *fs, struct over_of *o)
{
	struct mbox *m = o->m;
	char buf[MBOX_UID_NAME];
	pthread_mutex_lock(&m->lock);
	long i = m->listing.uidvalidity == o->uidvalidity ? mbox_find(m, o->uid) : -1;
	if (i >= 0) {
		snprintf(o->name, sizeof o->name, "%s", mbox_shown_name(m, (size_t)i, buf));
		const char *flags = cache_flags_text(fs->cache, m->listing.msgs[i].flags);
		o->flags = flags && *flags ? xstrdup(flags) : NULL;
	}
	pthread_mutex_unlock(&m->lock);
	return i >= 0;
}

/* The flags the new copy must carry, as the server has them now (the
 * listing may not know them, or not yet another client's change). */
static int flags_now(struct fs *fs, struct over_of *o)
{
	struct buf flags = BUF_INIT;
	uint64_t modseq;
	int rc = mutate_fetch_flags(fs->pool, o->m->name, o->uidvalidity, o->uid, &flags, &modseq);
	free(o->flags);
	o->flags = rc == 0 && flags.len ? xstrdup(flags.data) : NULL;
	buf_free(&flags);
	return rc;
}

/* A local file with the message's bytes. */
static int copy_of_message(struct fs *fs, const struct over_of *o)
{
	struct cache_span body;
	if (!fs->prefetch)
		return -EIO;
	int rc = prefetch_open(fs->prefetch, o->m, o->uidvalidity, o->uid, 0, &body);
	if (rc < 0)
		return rc;
	int fd = staged_unnamed_file(fs);
	uint64_t copied;
	if (fd < 0)
		rc = -errno;
	else if (fd_copy(body.fd, body.offset, body.size, fd, &copied) < 0)
		rc = -errno;
	else if (copied != body.size || !copied)
		rc = -EIO;  /* nothing short may replace the message */
	close(body.fd);
	if (rc < 0 && fd >= 0)
		close(fd);
	return rc < 0 ? rc : fd;
}

/* A message a file of this mount was written as, within its alias time:
 * writing it again replaces it (the promise of the write path however
 * early the kernel let go of that file's inode). */
static bool written_lately_locked(struct fs *fs, const struct over_of *o)
{
	staged_sweep_locked(fs);
	for (struct staged *s = fs->staged; s; s = s->next)
		if (s->visible && !s->held && !s->over_m && s->uid_m == o->m && s->uid == o->uid &&
		    s->uidvalidity == o->uidvalidity)
			return true;
	return false;
}

/* The new version goes on the node, unless something else got there first. */
static int stage_over(struct fs *fs, uint64_t ino, struct over_of *o, int fd, bool redate,
		      const struct stat *attr)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	if (!n || n->staged || n->m != o->m || n->uid != o->uid) {
		pthread_mutex_unlock(&fs->nodes_lock);
		close(fd);
		return -EAGAIN;
	}
	bool replace = redate || written_lately_locked(fs, o);  /* before the alias is hidden */
	struct staged *s = staged_attach_locked(fs, o->m, o->name, fd, n);
	s->over_m = o->m;
	mbox_get(o->m);
	s->over_uidvalidity = o->uidvalidity;
	s->over_uid = o->uid;
	s->over_size = o->size;
	s->over_date = o->date;
	s->over_changed = o->changed;
	s->gen = 1;  /* bytes to deliver, even if the same as before */
	if (redate) {
		s->mtime = attr->st_mtime;
		s->mtime_set = true;
		s->flags = o->flags;
		o->flags = NULL;
	}
	if (replace) {
		/* what the delivery replaces: the old copy goes once the new one is there */
		s->uid_m = o->m;
		mbox_get(o->m);
		s->uidvalidity = o->uidvalidity;
		s->uid = o->uid;
		s->size = o->size;
		s->date = o->date;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return redate ? 2 : 0;
}

int staging_over_message(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set)
{
	struct over_of o;
	if (!message_node(fs, ino, &o))
		return 1;
	bool truncate = (to_set & FS_SET_SIZE) && attr->st_size == 0;
	/* without UIDPLUS the old copy could not go: each touch would add one */
	bool redate = !truncate && (to_set & FS_SET_MTIME) && (int64_t)attr->st_mtime != o.date &&
		      (pool_has_cap(fs->pool, "UIDPLUS") || fs->cfg.plain_expunge);
	int rc = 1;
	if ((truncate || redate) && !listed_as(fs, &o))
		rc = -ENOENT;  /* gone meanwhile */
	else if (redate && (rc = flags_now(fs, &o)) < 0)
		;
	else if (truncate || redate) {
		int fd = redate ? copy_of_message(fs, &o) : staged_unnamed_file(fs);
		rc = fd < 0 ? (redate ? fd : -errno) : stage_over(fs, ino, &o, fd, redate, attr);
		if (rc == 0 && (to_set & FS_SET_MTIME))  /* truncated and dated in one call */
			rc = staging_setattr(fs, ino, attr, to_set & FS_SET_MTIME);
		if (rc == 2)
			fs_log(LOG_INFO, "%s/%s: sent again with its new date", o.m->path, o.name);
	}
	free(o.flags);
	mbox_put(o.m);
	return rc;
}
