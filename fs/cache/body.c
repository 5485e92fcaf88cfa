/* body.c: message bodies: reading them from their packs, and the writer
 * that appends one to a pack. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_impl.h"
#include "fdio.h"
#include "xalloc.h"

const char cache_rec_magic[4] = { 'I', 'M', 'B', '1' };

/* A body up to this size is kept in memory and written with its header
 * in one call at commit: most mail is far smaller, and a scan stores
 * thousands of bodies a second. */
#define CACHE_HOLD_MAX (256 * 1024)

struct cache_writer {
	struct cache *c;
	struct cache_pack *pack;    /* busy: ours until commit or abort */
	uint32_t uid;
	uint64_t start;             /* of the record's header */
	uint64_t size;
	uint64_t reserved;          /* of the record (header too), counted in the cache's disk */
	int failed_errno;
	unsigned char *held;        /* the body so far, while not spilled */
	size_t held_cap;
	bool spilled;               /* header and body so far are in the pack */
};

static bool cache_key_valid(const char *mailbox, uint32_t uidvalidity, uint32_t uid)
{
	if (!mailbox || !*mailbox || uidvalidity == 0 || uid == 0) {
		errno = EINVAL;
		return false;
	}
	return true;
}

int cache_body_get(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		   struct cache_span *out)
{
	out->fd = -1;
	out->offset = out->size = 0;
	if (!cache_key_valid(mailbox, uidvalidity, uid))
		return -1;
	struct cache_box *b = cache_box_for(c, mailbox, false);
	if (!b) {
		errno = ENOENT;
		return -1;
	}
	int fd = -1, e = ENOENT;
	cache_lock(c);
	struct cache_rec *r = *cache_rec_slot(c, b, uidvalidity, uid);
	if (r) {
		int rfd = cache_pack_rfd(c, r->pack);
		/* a dup: eviction may close the pack's own fd at any time */
		fd = rfd >= 0 ? fcntl(rfd, F_DUPFD_CLOEXEC, 0) : -1;
		e = errno;
		if (fd >= 0) {
			out->offset = r->offset;
			out->size = r->size;
			cache_pack_touch(c, r->pack);
		}
	}
	cache_unlock(c);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	out->fd = fd;
	return 0;
}

/* An O_RDONLY fd of a copy of the n bytes of fd at off, in memory. */
static int cache_copy_out(int fd, uint64_t off, uint64_t n)
{
	int mfd = memfd_create("imapfs-body", MFD_CLOEXEC);
	if (mfd < 0)
		return -1;
	uint64_t got;
	int rc = fd_copy(fd, off, n, mfd, &got);
	if (rc < 0 || got < n) {
		int e = rc < 0 ? errno : EIO;  /* short: the file ends before the body */
		close(mfd);
		errno = e;
		return -1;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", mfd);
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	int e = errno;
	close(mfd);
	errno = e;
	return ro;
}

int cache_span_detach(struct cache_span *s)
{
	int fd = s->fd;
	struct stat st;
	s->fd = -1;
	if (s->offset == 0 &&
	    (s->size == UINT64_MAX || (fstat(fd, &st) == 0 && (uint64_t)st.st_size == s->size)))
		return fd;  /* the file is the body */
	int copy = cache_copy_out(fd, s->offset, s->size);
	int e = errno;
	close(fd);
	errno = e;
	return copy;
}

int cache_body_open(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid)
{
	struct cache_span s;
	if (cache_body_get(c, mailbox, uidvalidity, uid, &s) < 0)
		return -1;
	return cache_span_detach(&s);
}

bool cache_body_has(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid)
{
	if (!cache_key_valid(mailbox, uidvalidity, uid))
		return false;
	struct cache_box *b = cache_box_for(c, mailbox, false);
	if (!b)
		return false;
	cache_lock(c);
	bool has = *cache_rec_slot(c, b, uidvalidity, uid) != NULL;
	cache_unlock(c);
	return has;
}

/* Under c->mu: a new, empty pack for a writer, named after its first
 * body; NULL with errno. */
static struct cache_pack *cache_pack_create(struct cache *c, struct cache_box *b, uint32_t uidvalidity,
					    uint32_t uid, struct buf *err)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	char name[40];
	int fd = -1;

	buf_addf(&dir, "mail/%s/%u", b->dirname, (unsigned)uidvalidity);
	for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
		if (attempt == 0)
			snprintf(name, sizeof name, "%u" CACHE_PACK_SUFFIX, (unsigned)uid);
		else
			snprintf(name, sizeof name, "%u-%lu" CACHE_PACK_SUFFIX, (unsigned)uid, ++c->serial);
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.data, name);
		fd = openat(c->rootfd, path.data, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		/* the generation's directory usually exists: make it only when not */
		if (fd < 0 && errno == ENOENT) {
			struct buf box = BUF_INIT;
			buf_addf(&box, "mail/%s", b->dirname);
			if (cache_mkdirat(c->rootfd, box.data) == 0 && cache_mkdirat(c->rootfd, dir.data) == 0)
				fd = openat(c->rootfd, path.data,
					    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			buf_free(&box);
		}
		if (fd < 0 && errno != EEXIST)
			break;
	}
	int e = errno;
	if (fd < 0)
		cache_fail(err, e, "cache: create a pack in %s/%s: %s", c->dir, dir.data, strerror(e));
	buf_free(&dir);
	buf_free(&path);
	if (fd < 0)
		return NULL;
	struct cache_pack *p = cache_pack_new(c, b, uidvalidity, name);
	p->wfd = fd;
	p->onext = c->unsealed;
	c->unsealed = p;
	c->nunsealed++;
	/* every unsealed pack holds a write fd: keep few */
	while (c->nunsealed > CACHE_UNSEALED_MAX) {
		struct cache_pack *q = NULL;
		for (struct cache_pack *o = c->oldest; o && !q; o = o->newer)
			if (!o->sealed && !o->busy && o != p)
				q = o;
		if (!q)
			break;
		cache_pack_seal(c, q);
	}
	return p;
}

int cache_body_begin(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     struct cache_writer **w, struct buf *err)
{
	*w = NULL;
	if (!cache_key_valid(mailbox, uidvalidity, uid))
		return cache_fail(err, EINVAL, "cache: invalid body key");
	struct cache_box *b = cache_box_for(c, mailbox, true);
	struct cache_pack *p = NULL;

	cache_lock(c);
	for (p = c->unsealed; p; p = p->onext)
		if (p->box == b && p->uidvalidity == uidvalidity && !p->busy)
			break;
	if (!p)
		p = cache_pack_create(c, b, uidvalidity, uid, err);
	if (p)
		p->busy = true;
	cache_unlock(c);
	if (!p)
		return -1;
	struct cache_writer *wr = xcalloc(1, sizeof *wr);
	wr->c = c;
	wr->pack = p;
	wr->uid = uid;
	wr->start = p->end;
	*w = wr;
	return 0;
}

static void cache_rec_header(unsigned char h[CACHE_REC_HEADER], uint32_t uid, uint64_t len)
{
	memcpy(h, cache_rec_magic, 4);
	cache_set_u32(h + 4, uid);
	cache_set_u64(h + 8, len);
}

/* Counts the record, header and the first size bytes of the body, against
 * the budget before they reach the disk (a body held in memory is counted
 * as it comes too); -1 (EFBIG) when the cache cannot make room. */
static int cache_writer_reserve(struct cache_writer *w, uint64_t size)
{
	uint64_t want = CACHE_REC_HEADER + size;
	if (want <= w->reserved)
		return 0;
	cache_lock(w->c);
	bool ok = cache_make_room(w->c, want - w->reserved);
	cache_unlock(w->c);
	if (!ok) {
		errno = EFBIG;
		return -1;
	}
	w->reserved = want;
	return 0;
}

/* A body grown past CACHE_HOLD_MAX goes to the pack from now on, behind a
 * header that says "not complete" until the commit writes the length. */
static int cache_writer_spill(struct cache_writer *w)
{
	unsigned char h[CACHE_REC_HEADER];
	cache_rec_header(h, w->uid, CACHE_REC_PENDING);
	int rc = fd_pwrite_all(w->pack->wfd, h, sizeof h, w->start);
	if (rc == 0 && w->size)
		rc = fd_pwrite_all(w->pack->wfd, w->held, w->size, w->start + CACHE_REC_HEADER);
	free(w->held);
	w->held = NULL;
	w->spilled = true;
	return rc;
}

int cache_writer_write(struct cache_writer *w, const void *p, size_t n)
{
	if (!w->failed_errno && cache_writer_reserve(w, w->size + n) < 0)
		w->failed_errno = EFBIG;
	if (!w->failed_errno && !w->spilled && w->size + n > CACHE_HOLD_MAX && cache_writer_spill(w) < 0)
		w->failed_errno = errno ? errno : EIO;
	if (w->failed_errno) {
		errno = w->failed_errno;
		return -1;
	}
	if (!w->spilled) {
		if (w->size + n > w->held_cap) {
			size_t cap = w->held_cap ? w->held_cap : 32 * 1024;
			while (cap < w->size + n)
				cap *= 2;
			w->held = xrealloc(w->held, cap);
			w->held_cap = cap;
		}
		memcpy(w->held + w->size, p, n);
	} else if (fd_pwrite_all(w->pack->wfd, p, n, w->start + CACHE_REC_HEADER + w->size) < 0) {
		w->failed_errno = errno ? errno : EIO;
		return -1;
	}
	w->size += n;
	return 0;
}

/* The complete record at commit: one write for a held body, else the
 * length into the header written when it spilled. */
static int cache_writer_finish(struct cache_writer *w)
{
	int fd = w->pack->wfd;
	unsigned char h[CACHE_REC_HEADER];
	if (w->spilled) {
		cache_set_u64(h, w->size);
		return fd_pwrite_all(fd, h, 8, w->start + 8);
	}
	cache_rec_header(h, w->uid, w->size);
	struct iovec iov[2] = { { h, sizeof h }, { w->held, w->size } };
	return fd_pwritev_all(fd, iov, w->size ? 2 : 1, w->start);
}

/* Under c->mu: gives the pack back. */
static void cache_writer_release(struct cache_writer *w)
{
	struct cache *c = w->c;
	struct cache_pack *p = w->pack;
	p->busy = false;
	if (p->gone) {
		cache_pack_free(p);
		return;
	}
	if (p->sealed && p->wfd >= 0) {
		close(p->wfd);
		p->wfd = -1;
	}
	if (!p->recs && p->end == 0) {  /* a new pack that got nothing */
		struct buf path = BUF_INIT;
		cache_pack_path(&path, p);
		unlinkat(c->rootfd, path.data, 0);
		buf_free(&path);
		cache_pack_forget(c, p);
	}
}

void cache_writer_abort(struct cache_writer *w)
{
	if (!w)
		return;
	int e = errno;
	struct cache *c = w->c;
	/* the pack is ours: cut the record off again */
	bool cut = ftruncate(w->pack->wfd, (off_t)w->start) == 0;
	cache_lock(c);
	if (!cut && !w->pack->gone) {
		cache_pack_seal(c, w->pack);
		w->pack->disk += w->reserved;  /* still on disk, until the pack goes */
	} else {
		c->disk -= w->reserved;
	}
	cache_writer_release(w);
	cache_unlock(c);
	free(w->held);
	free(w);
	errno = e;
}

int cache_writer_commit(struct cache_writer *w, uint64_t *size_out, struct buf *err)
{
	struct cache *c = w->c;
	struct cache_pack *p = w->pack;

	if (!w->failed_errno && cache_writer_reserve(w, w->size) < 0)
		w->failed_errno = EFBIG;
	if (w->failed_errno) {
		int e = w->failed_errno;
		cache_writer_abort(w);
		return cache_fail(err, e, "cache: not committing a body whose write failed: %s", strerror(e));
	}
	if (cache_writer_finish(w) < 0) {
		int e = errno ? errno : EIO;
		cache_writer_abort(w);
		return cache_fail(err, e, "cache: commit body: %s", strerror(e));
	}
	cache_lock(c);
	bool gone = p->gone;
	if (gone) {
		c->disk -= w->reserved;
	} else {
		p->end = w->start + CACHE_REC_HEADER + w->size;
		p->disk += w->reserved;
		cache_index_put(c, p, w->uid, w->start + CACHE_REC_HEADER, w->size);
		cache_pack_touch(c, p);
		if (p->end >= c->pack_max)
			cache_pack_seal(c, p);
	}
	cache_writer_release(w);
	cache_unlock(c);
	uint64_t size = w->size;
	free(w->held);
	free(w);
	if (gone)
		return cache_fail(err, ENOENT, "cache: commit body: its generation was dropped");
	if (size_out)
		*size_out = size;
	return 0;
}

int cache_scratch_fd(struct cache *c)
{
	int fd = openat(c->rootfd, "mail", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	/* no O_TMPFILE here: a temp name, gone at once (and at the next
	 * cache_open should we die in between) */
	char name[64];
	snprintf(name, sizeof name, "mail/.tmp-scratch-%lu", cache_next_serial(c));
	fd = openat(c->rootfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		unlinkat(c->rootfd, name, 0);
	return fd;
}
