/* fswrite.c: changes to the tree: rm, mv, mkdir, rmdir, setattr.  Each
 * returns only after the server confirmed it (write.c), then brings the
 * listings and the kernel's caches up to date without asking again. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "write/staged.h"
#include "model/tree.h"
#include "remote/mutate.h"
#include "xalloc.h"

/* Both give a reference (model/mtree.h), or NULL. */
static struct mbox *live_dir(struct fs *fs, uint64_t ino)
{
	struct mbox *m = mtree_by_ino(&fs->tree, ino);
	if (m && !m->exists) {
		mbox_put(m);
		m = NULL;
	}
	return m;
}

static struct mbox *child_dir(struct fs *fs, const struct mbox *dir, const char *name)
{
	struct buf path = BUF_INIT;
	fs_child_path(dir, name, &path);
	struct mbox *sub = mtree_by_path(&fs->tree, path.data);
	buf_free(&path);
	return sub;
}

/* The server's name for a directory dir/name ("Reisen/Zürich" ->
 * "Reisen.Z&APw-rich"). */
static bool has_child_dir(struct fs *fs, const struct mbox *dir, const char *name)
{
	struct mbox *sub = child_dir(fs, dir, name);
	mbox_put(sub);
	return sub != NULL;
}

static int mailbox_name_for(struct fs *fs, const struct mbox *dir, const char *name, struct buf *out)
{
	struct buf path = BUF_INIT, err = BUF_INIT;
	fs_child_path(dir, name, &path);
	int rc = tree_mailbox_from_path(path.data, fs->tree.delim, fs->tree.utf8_names, out, &err);
	if (rc < 0)
		fs_log(LOG_NOTICE, "%s cannot be a mailbox name: %s", path.data, err.data);
	buf_free(&path);
	buf_free(&err);
	return rc < 0 ? -EINVAL : 0;
}

static int unlink_in(struct fs *fs, struct mbox *dir, const char *name);

int fs_unlink(struct fs *fs, uint64_t parent, const char *name)
{
	if (fs->cfg.readonly)
		return -EROFS;
	struct mbox *dir = live_dir(fs, parent);
	if (!dir)
		return -ENOENT;
	int rc = unlink_in(fs, dir, name);
	mbox_put(dir);
	return rc;
}

static int unlink_in(struct fs *fs, struct mbox *dir, const char *name)
{
	struct staged_alias alias = { NULL, 0, 0 };
	int rc = staging_unlink(fs, dir, name, &alias);
	if (rc <= 0)
		return rc;
	struct cache_msg msg;
	uint32_t uidvalidity;
	if (rc == 2) {  /* a new file's name: its message goes */
		dir = alias.m;
		msg.uid = alias.uid;
		uidvalidity = alias.uidvalidity;
	} else if ((rc = fs_find_message(fs, dir, name, &msg, &uidvalidity)) < 0) {
		return rc;
	} else {
		char *copy;
		if (staging_take_over_name(fs, dir, uidvalidity, msg.uid, &copy)) {
			/* a copy was made of it (the same bytes stood for it): the
			 * original's name goes, the message stays under the copy's */
			mbox_msg_named(dir, fs->cache, uidvalidity, msg.uid, copy);
			free(copy);
			return 0;
		}
	}
	rc = mutate_expunge(fs->pool, dir->name, uidvalidity, msg.uid, fs->cfg.plain_expunge);
	if (rc == -EOPNOTSUPP)
		fs_log(LOG_ERR, "rm %s/%s refused: the server has no UIDPLUS, and a plain EXPUNGE would "
				"also remove what other clients marked \\Deleted (-o plain_expunge allows it)",
		       dir->path, name);
	if (rc == 0 || rc == -ENOENT)  /* gone either way */
		mbox_msg_removed(dir, fs->cache, msg.uid);
	mbox_put(alias.m);
	return rc;
}

static int rmdir_of(struct fs *fs, struct mbox *sub);

int fs_rmdir(struct fs *fs, uint64_t parent, const char *name)
{
	if (fs->cfg.readonly)
		return -EROFS;
	struct mbox *dir = live_dir(fs, parent);
	struct mbox *sub = dir ? child_dir(fs, dir, name) : NULL;
	mbox_put(dir);
	if (!sub)
		return -ENOENT;
	int rc = rmdir_of(fs, sub);
	mbox_put(sub);
	return rc;
}

static int rmdir_of(struct fs *fs, struct mbox *sub)
{
	struct mbox **kids;
	size_t nk = mtree_children(&fs->tree, sub, &kids);
	mbox_put_all(kids, nk);
	if (nk || staging_any_in(fs, sub))
		return -ENOTEMPTY;
	if (!sub->name)
		return -EPERM;  /* a level the server never named */
	int rc = mbox_refresh(sub, fs->pool, fs->cache, 0);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&sub->lock);
	bool empty = sub->listing.n == 0;
	pthread_mutex_unlock(&sub->lock);
	if (!empty)
		return -ENOTEMPTY;
	if ((rc = mutate_delete(fs->pool, sub->name)) < 0)
		return rc;
	cache_drop_mailbox(fs->cache, sub->name, 0);
	mtree_refresh(&fs->tree, fs->pool, 0, true);
	return 0;
}

static int mkdir_in(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e);

int fs_mkdir(struct fs *fs, uint64_t parent, const char *name, struct fs_entry *e)
{
	if (fs->cfg.readonly)
		return -EROFS;
	struct mbox *dir = live_dir(fs, parent);
	if (!dir)
		return -ENOENT;
	int rc = mkdir_in(fs, dir, name, e);
	mbox_put(dir);
	return rc;
}

static int mkdir_in(struct fs *fs, struct mbox *dir, const char *name, struct fs_entry *e)
{
	if (has_child_dir(fs, dir, name))
		return -EEXIST;
	struct buf mailbox = BUF_INIT;
	int rc = mailbox_name_for(fs, dir, name, &mailbox);
	if (rc == 0)
		rc = mutate_create(fs->pool, mailbox.data);
	buf_free(&mailbox);
	if (rc < 0)
		return rc;
	mtree_refresh(&fs->tree, fs->pool, 0, true);
	struct mbox *sub = child_dir(fs, dir, name);
	if (!sub) {
		fs_log(LOG_ERR, "created %s/%s, but the server does not list it", dir->path, name);
		return -EIO;
	}
	fs_entry_dir(fs, sub, e);
	mbox_put(sub);
	return 0;
}

static int rename_mailbox(struct fs *fs, struct mbox *sub, struct mbox *newdir, const char *newname)
{
	if (!sub->name)
		return -EPERM;  /* a level the server never named */
	if (has_child_dir(fs, newdir, newname))
		return -EEXIST;  /* never replaces a mailbox (and its mail) */
	struct buf to = BUF_INIT, newpath = BUF_INIT;
	int rc = mailbox_name_for(fs, newdir, newname, &to);
	if (rc == 0)
		rc = mutate_rename(fs->pool, sub->name, to.data);
	if (rc == 0) {
		fs_child_path(newdir, newname, &newpath);
		char *from = xstrdup(sub->name);
		mtree_rename(&fs->tree, sub, newpath.data, to.data);
		/* listings are kept under the server's name: the old one goes, and
		 * the one in memory (with the names messages keep) is saved
		 * under the new name; a new UIDVALIDITY there drops it anyway */
		cache_drop_mailbox(fs->cache, from, 0);
		mbox_save_listing(sub, fs->cache);
		free(from);
		mtree_refresh(&fs->tree, fs->pool, 0, true);
	}
	buf_free(&to);
	buf_free(&newpath);
	return rc;
}

/* The message keeps newname in its folder (names.c): a rename there asks
 * the server nothing.  A message that showed newname before is not
 * replaced (it is never expunged for a name): it shows as <UID>.eml. */
static int rename_message(struct fs *fs, struct mbox *dir, const char *name, const char *newname)
{
	struct cache_msg msg;
	uint32_t uidvalidity;
	int rc = fs_find_message(fs, dir, name, &msg, &uidvalidity);
	if (rc == 0) {
		mbox_msg_named(dir, fs->cache, uidvalidity, msg.uid, newname);
		mbox_settle_names(dir, fs->pool, fs->cache);
	}
	return rc;
}

static int move_message(struct fs *fs, struct mbox *dir, const char *name, struct mbox *newdir,
			const char *newname, const struct staged_alias *alias)
{
	if (newdir == dir && !alias)
		return rename_message(fs, dir, name, newname);
	if (!newdir->name || !newdir->selectable)
		return -EPERM;
	struct cache_msg msg;
	uint32_t uidvalidity, new_uidvalidity, new_uid;
	int rc;
	if (alias) {
		dir = alias->m;
		uint32_t listed;
		rc = mbox_msg(dir, alias->uid, &msg, &listed);
		uidvalidity = alias->uidvalidity;
	} else {
		rc = fs_find_message(fs, dir, name, &msg, &uidvalidity);
	}
	if (rc < 0)
		return rc;
	rc = mutate_move(fs->pool, dir->name, uidvalidity, msg.uid, newdir->name, fs->cfg.plain_expunge,
			 &new_uidvalidity, &new_uid);
	if (rc < 0)
		return rc;
	mbox_msg_removed(dir, fs->cache, msg.uid);
	struct cache_msg moved = msg;  /* a move keeps the flags; the MODSEQ is the new folder's */
	moved.uid = new_uid;
	moved.modseq = 0;
	moved.name = cache_name_id(fs->cache, newname);
	mbox_msg_added(newdir, fs->cache, new_uidvalidity, &moved);
	mbox_settle_names(newdir, fs->pool, fs->cache);
	if (new_uidvalidity && new_uid) {
		uint64_t ino = fs_msg_ino(dir, uidvalidity, msg.uid);
		fs_node_moved(fs, ino, newdir, new_uidvalidity, new_uid);
		staging_moved(fs, newdir, newname, ino, new_uidvalidity, &moved);
	}
	return 0;
}

static int rename_in(struct fs *fs, struct mbox *dir, const char *name, struct mbox *newdir,
		     const char *newname);

int fs_rename(struct fs *fs, uint64_t parent, const char *name, uint64_t newparent,
	      const char *newname, unsigned flags)
{
	if (fs->cfg.readonly)
		return -EROFS;
	if (flags & ~FS_RENAME_NOREPLACE)
		return -EINVAL;
	struct mbox *dir = live_dir(fs, parent), *newdir = live_dir(fs, newparent);
	int rc = dir && newdir ? rename_in(fs, dir, name, newdir, newname) : -ENOENT;
	mbox_put(dir);
	mbox_put(newdir);
	return rc;
}

static int rename_in(struct fs *fs, struct mbox *dir, const char *name, struct mbox *newdir,
		     const char *newname)
{
	if (!cache_name_ok(newname, strlen(newname)))
		return -ENAMETOOLONG;  /* neither a message nor a mailbox could keep it */
	uint64_t newparent = newdir->ino;
	struct staged_alias alias = { NULL, 0, 0 };
	int rc = staging_rename(fs, dir, name, newdir, newname, &alias);
	if (rc == 0)
		fs_inval_entry(fs, newparent, newname);
	if (rc <= 0)
		return rc;
	struct mbox *sub = NULL;
	if (rc == 3) {  /* a new file renamed in its folder: its message takes the name */
		mbox_msg_named(alias.m, fs->cache, alias.uidvalidity, alias.uid, newname);
		mbox_settle_names(alias.m, fs->pool, fs->cache);
		rc = 0;
	} else if (rc == 2)
		rc = move_message(fs, dir, name, newdir, newname, &alias);
	else if ((sub = child_dir(fs, dir, name)))
		rc = rename_mailbox(fs, sub, newdir, newname);
	else
		rc = move_message(fs, dir, name, newdir, newname, NULL);
	mbox_put(sub);
	mbox_put(alias.m);
	/* The kernel now thinks newname is what name was; the server chose
	 * the real names (a new UID, or the renamed mailbox): look them up. */
	if (rc == 0)
		fs_inval_entry(fs, newparent, newname);
	return rc;
}

int fs_setattr(struct fs *fs, uint64_t ino, const struct stat *attr, int to_set, struct stat *out,
	       double *timeout)
{
	if (fs->cfg.readonly)
		return -EROFS;
	int rc = staging_setattr(fs, ino, attr, to_set);
	if (rc == 1)  /* a message: truncated, its new version follows; redated */
		rc = staging_over_message(fs, ino, attr, to_set);
	if (rc == 2)  /* sent already with another date: utimes answers the new APPEND */
		rc = fs_flush(fs, ino);
	if (rc < 0)
		return rc;
	bool staged = rc == 0;
	if ((rc = fs_getattr(fs, ino, out, timeout)) < 0)
		return rc;
	/* Modes and owners of mailboxes and messages, and times of
	 * mailboxes, are not the server's to keep: accepted and left as they
	 * are, so cp -p and rsync -a work.  A message's size changes only by
	 * a new version (over.c). */
	if (!staged && (to_set & FS_SET_SIZE) && (S_ISDIR(out->st_mode) || out->st_size != attr->st_size))
		return S_ISDIR(out->st_mode) ? -EISDIR : -EPERM;
	return 0;
}
