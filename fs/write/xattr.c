/* xattr.c: a message's IMAP metadata as extended attributes:
 *   user.imap.flags         read/write: the flags, space separated
 *   user.imap.uid           read-only
 *   user.imap.internaldate  read-only, "dd-Mon-yyyy hh:mm:ss +0000"
 *   user.imap.modseq        read-only, with CONDSTORE only
 *   user.gmail.labels       read-only, with X-GM-EXT-1 only: one label a
 *                           line (remote/labels.h says which and how)
 *   user.gmail.msgid        read-only, X-GM-EXT-1: Gmail's message id
 *   user.gmail.thrid        read-only, X-GM-EXT-1: its conversation's id
 * Flags and MODSEQ come from the folder's listing, kept as fresh as the
 * listing itself (mailbox.h: with CONDSTORE each refresh brings the flags
 * that changed, without it every message's flags are asked again once
 * they are older than the poll interval), so reading them for a whole
 * tree (rsync -X, restic, borg) costs no round trip per file; a message
 * the listing knows no flags of is asked about alone.  A write is
 * conditional on the MODSEQ last seen, so it never silently undoes
 * someone else's change (EAGAIN: read and retry).  Gmail's attributes
 * are not in the listing: remote/labels.h keeps them a short while per
 * folder, so a tree walk costs two round trips a folder.  Writing them is
 * EPERM at once, without asking the server: a label is changed by moving
 * or copying the file between label folders (README, Gmail), and rsync -X
 * never tries, as they are not listed. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "date.h"
#include "write/staged.h"
#include "fs_impl.h"
#include "model/mailbox.h"
#include "remote/labels.h"
#include "remote/mutate.h"

#define X_FLAGS "user.imap.flags"
#define X_UID "user.imap.uid"
#define X_DATE "user.imap.internaldate"
#define X_MODSEQ "user.imap.modseq"
#define X_GM_LABELS "user.gmail.labels"
#define X_GM_MSGID "user.gmail.msgid"
#define X_GM_THRID "user.gmail.thrid"

static bool atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\]", c);
}

int fs_flags_normalise(const char *in, size_t len, struct buf *out)
{
	buf_reset(out);
	size_t i = 0;
	while (i < len) {
		while (i < len && isspace((unsigned char)in[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		if (in[i] == '\\')
			i++;
		while (i < len && atom_char((unsigned char)in[i]))
			i++;
		size_t n = i - start;
		bool system = in[start] == '\\';
		if (n == (system ? 1u : 0u) || (i < len && !isspace((unsigned char)in[i])))
			return -EINVAL;
		/* \Recent belongs to the server's session, never to a client */
		if (n == 7 && !strncasecmp(in + start, "\\Recent", 7))
			return -EINVAL;
		if (out->len)
			buf_addch(out, ' ');
		buf_add(out, in + start, n);
	}
	return 0;
}

/* A message node's coordinates. */
struct target {
	struct mbox *m;          /* a reference: target_done puts it */
	uint32_t uidvalidity, uid;
	int64_t date;
	uint64_t modseq;
	bool staged;
};

static int target_of(struct fs *fs, uint64_t ino, struct target *t)
{
	memset(t, 0, sizeof *t);
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	if (n) {
		t->m = n->m;
		mbox_get(t->m);
		t->uidvalidity = n->uidvalidity;
		t->uid = n->uid;
		t->date = n->date;
		t->modseq = n->modseq;
		t->staged = n->staged != NULL;
	}
	pthread_mutex_unlock(&fs->nodes_lock);
	return n && (t->m || t->staged) ? 0 : -ENODATA;  /* directories have none */
}

static void target_done(struct target *t)
{
	mbox_put(t->m);
	t->m = NULL;
}

static void remember_modseq(struct fs *fs, uint64_t ino, uint64_t modseq)
{
	pthread_mutex_lock(&fs->nodes_lock);
	struct mnode *n = fs_node_find_locked(fs, ino);
	if (n)
		n->modseq = modseq;
	pthread_mutex_unlock(&fs->nodes_lock);
}

static bool condstore(struct fs *fs)
{
	return pool_has_cap(fs->pool, "CONDSTORE");
}

static bool is_gmail(const char *name)
{
	return !strcmp(name, X_GM_LABELS) || !strcmp(name, X_GM_MSGID) || !strcmp(name, X_GM_THRID);
}

/* The value of Gmail's attribute name for t's message; -ENODATA on other
 * servers, for an id Gmail did not give, and for a message of an older
 * generation of its folder (the kernel is told to forget those). */
static int gmail_attr(struct fs *fs, const struct target *t, const char *name, struct buf *out)
{
	if (!pool_has_cap(fs->pool, "X-GM-EXT-1") || !t->m || !t->m->name)
		return -ENODATA;
	struct gm_info info = { .labels = BUF_INIT };
	int rc = labels_get(fs->labels, fs->pool, t->m->name, t->uidvalidity, t->uid, &info);
	uint64_t id = !strcmp(name, X_GM_MSGID) ? info.msgid : info.thrid;
	if (rc == 0 && !strcmp(name, X_GM_LABELS))
		buf_add(out, info.labels.data ? info.labels.data : "", info.labels.len);
	else if (rc == 0 && id)
		buf_addf(out, "%" PRIu64, id);
	else if (rc == 0 || rc == -ESTALE)
		rc = -ENODATA;
	buf_free(&info.labels);
	return rc;
}

static int getxattr_of(struct fs *fs, uint64_t ino, const struct target *t, const char *name,
		       struct buf *out);

/* The flags and MODSEQ of t's message as its folder's listing has them;
 * false when it cannot say (another generation, flags not known yet, no
 * MODSEQ where one is wanted). */
static bool listed_flags(struct fs *fs, const struct target *t, bool want_modseq, struct buf *flags,
			 uint64_t *modseq)
{
	if (mbox_refresh_flags(t->m, fs->pool, fs->cache, fs->cfg.poll_s) < 0)
		return false;
	struct cache_msg msg;
	uint32_t uidvalidity;
	if (mbox_msg(t->m, t->uid, &msg, &uidvalidity) < 0 || uidvalidity != t->uidvalidity || !msg.flags ||
	    (want_modseq && !msg.modseq))
		return false;
	const char *text = cache_flags_text(fs->cache, msg.flags);
	if (!text)
		return false;
	buf_set(flags, text, strlen(text));
	*modseq = msg.modseq;
	return true;
}

/* From the listing, else from the server (and then into the listing). */
static int flags_of(struct fs *fs, const struct target *t, bool want_modseq, struct buf *flags,
		    uint64_t *modseq)
{
	if (listed_flags(fs, t, want_modseq, flags, modseq))
		return 0;
	int rc = mutate_fetch_flags(fs->pool, t->m->name, t->uidvalidity, t->uid, flags, modseq);
	if (rc == 0)
		mbox_msg_flags(t->m, t->uidvalidity, t->uid, cache_flags_id(fs->cache, flags->data, flags->len),
			       *modseq);
	return rc;
}

/* Only the user namespace holds attributes here.  A name in any other
 * is ENOTSUP, "not supported here", where ENODATA ("not set on this
 * file") made ls -l ask security.selinux and system.posix_acl_access of
 * every file, two FUSE round trips each: told ENOTSUP once, ls (and
 * gnulib's ACL code in cp, tar...) stops asking about that file system. */
static bool in_user_namespace(const char *name)
{
	return !strncmp(name, "user.", 5);
}

int fs_getxattr(struct fs *fs, uint64_t ino, const char *name, struct buf *out)
{
	buf_reset(out);
	if (!in_user_namespace(name))
		return -ENOTSUP;  /* before the node table: no lock on this path */
	struct target t;
	int rc = target_of(fs, ino, &t);
	if (rc < 0)
		return rc;
	rc = getxattr_of(fs, ino, &t, name, out);
	target_done(&t);
	return rc;
}

static int getxattr_of(struct fs *fs, uint64_t ino, const struct target *t, const char *name,
		       struct buf *out)
{
	int rc = 0;
	buf_reset(out);
	if (t->staged && !t->uid) {  /* not delivered yet */
		bool staged;
		return strcmp(name, X_FLAGS) ? -ENODATA : staging_get_flags(fs, ino, out, &staged);
	}
	if (!strcmp(name, X_UID)) {
		buf_addf(out, "%" PRIu32, t->uid);
	} else if (!strcmp(name, X_DATE)) {
		struct buf d = BUF_INIT;
		if (imap_time2internaldate_tz((time_t)t->date, 0, &d) < 0 || d.len < 2)
			rc = -ENODATA;
		else
			buf_add(out, d.data + 1, d.len - 2);  /* without the quotes */
		buf_free(&d);
	} else if (!strcmp(name, X_FLAGS) || (!strcmp(name, X_MODSEQ) && condstore(fs))) {
		uint64_t modseq = 0;
		struct buf flags = BUF_INIT;
		rc = flags_of(fs, t, condstore(fs), &flags, &modseq);
		if (rc == 0) {
			remember_modseq(fs, ino, modseq);
			if (!strcmp(name, X_FLAGS))
				buf_add(out, flags.data ? flags.data : "", flags.len);
			else
				buf_addf(out, "%" PRIu64, modseq);
		}
		buf_free(&flags);
	} else if (is_gmail(name)) {
		rc = gmail_attr(fs, t, name, out);
	} else {
		rc = -ENODATA;
	}
	return rc;
}

static bool is_ours(const char *name)
{
	return !strcmp(name, X_FLAGS) || !strcmp(name, X_UID) || !strcmp(name, X_DATE) ||
	       !strcmp(name, X_MODSEQ) || is_gmail(name);
}

static int store_flags(struct fs *fs, uint64_t ino, const struct target *t, const char *flags)
{
	uint64_t since = t->modseq;
	/* a file just written: its message is this mount's own, nobody else
	 * has had a chance to change its flags (no round trip for a MODSEQ) */
	if (!since && condstore(fs) && !t->staged) {
		/* nothing read yet: the state the listing knows is what is replaced */
		struct buf cur = BUF_INIT;
		int rc = flags_of(fs, t, true, &cur, &since);
		buf_free(&cur);
		if (rc < 0)
			return rc;
	}
	int rc = mutate_store_flags(fs->pool, t->m->name, t->uidvalidity, t->uid, flags, since);
	remember_modseq(fs, ino, 0);  /* the next write compares with a fresh read */
	if (rc == 0)  /* the new MODSEQ is not known: a read of it asks the server */
		mbox_msg_flags(t->m, t->uidvalidity, t->uid, cache_flags_id(fs->cache, flags, strlen(flags)), 0);
	return rc;
}

/* rsync -X and cp -a of files taken from a mount bring these along: on a
 * new file they are ignored, on a message accepted when they say what is
 * true already. */
static int read_only_attr(struct fs *fs, uint64_t ino, const struct target *t, const char *name,
			  const char *value, size_t size)
{
	if (!is_ours(name))
		return -ENOTSUP;
	if (is_gmail(name))  /* labels change by mv and cp between folders */
		return -EPERM;
	if (t->staged)
		return 0;
	struct buf cur = BUF_INIT;
	int rc = fs_getxattr(fs, ino, name, &cur);
	if (rc == 0 && (cur.len != size || memcmp(cur.data ? cur.data : "", value, size)))
		rc = -EPERM;
	buf_free(&cur);
	return rc == -ENODATA ? -EPERM : rc;
}

static int set_flags(struct fs *fs, uint64_t ino, const struct target *t, const char *value, size_t size);

int fs_setxattr(struct fs *fs, uint64_t ino, const char *name, const char *value, size_t size)
{
	if (fs->cfg.readonly)
		return -EROFS;
	struct target t;
	int rc = target_of(fs, ino, &t);
	if (rc < 0)
		return -ENOTSUP;
	rc = strcmp(name, X_FLAGS) ? read_only_attr(fs, ino, &t, name, value, size)
				   : set_flags(fs, ino, &t, value, size);
	target_done(&t);
	return rc;
}

static int set_flags(struct fs *fs, uint64_t ino, const struct target *t, const char *value, size_t size)
{
	struct buf flags = BUF_INIT;
	int rc;
	rc = fs_flags_normalise(value, size, &flags);
	if (rc == 0) {
		bool staged;
		rc = staging_set_flags(fs, ino, flags.len ? flags.data : NULL, &staged);
		if (!staged)
			rc = store_flags(fs, ino, t, flags.len ? flags.data : "");
	}
	buf_free(&flags);
	return rc;
}

int fs_removexattr(struct fs *fs, uint64_t ino, const char *name)
{
	if (!strcmp(name, X_FLAGS))
		return fs_setxattr(fs, ino, name, "", 0);
	if (fs->cfg.readonly)
		return -EROFS;
	if (!in_user_namespace(name))
		return -ENOTSUP;
	return is_ours(name) ? -EPERM : -ENODATA;
}

/* Only the flags are listed, and only when there are some: they are the one
 * attribute a copy can carry back, and a backup tool (rsync -X, restic,
 * borg) asks for every listed name of every file, one FUSE round trip each.
 * The others answer when asked by name.  user.gmail.* above all: listed,
 * a backup would read each message's labels (a fetch per folder at least)
 * and its restore would try to set them and fail with EPERM on every
 * file, while labels come back by restoring into the label folders. */
int fs_listxattr(struct fs *fs, uint64_t ino, struct buf *out)
{
	struct target t;
	buf_reset(out);
	if (target_of(fs, ino, &t) < 0)
		return 0;
	bool listed = true;
	if (t.m && (!t.staged || t.uid)) {
		struct buf flags = BUF_INIT;
		uint64_t modseq;
		listed = flags_of(fs, &t, false, &flags, &modseq) < 0 || flags.len > 0;
		buf_free(&flags);
	}
	target_done(&t);
	if (listed)
		buf_add(out, X_FLAGS, sizeof X_FLAGS);
	return 0;
}
