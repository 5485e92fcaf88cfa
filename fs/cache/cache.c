/* cache.c: the on-disk cache (layout and rules in cache.h). */
#include "config.h"
#include "cache/cache.h"
#include "fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define CACHE_TMP_PREFIX ".tmp-"
#define CACHE_TRASH_PREFIX ".trash-"
#define CACHE_LISTING "listing"
#define CACHE_BOX_NAME_MAX 200      /* longer encodings are shortened + hashed */
#define CACHE_BOX_NAME_KEEP 150
#define CACHE_RMTREE_DEPTH 4        /* deeper than our layout ever goes */
#define CACHE_STATE "state"         /* "clean" or "running <time>" */
#define CACHE_MARK "imapfs-cache"   /* says the directory is an imapfs cache */
#define CACHE_PACK_SUFFIX ".p"
#define CACHE_PACK_MAX (4u << 20)   /* a pack is sealed once this long... */
#define CACHE_PACK_SHARE 32         /* ...or a 32nd of the budget, when less */
#define CACHE_UNSEALED_MAX 16       /* packs open for appends (each holds an fd) */
#define CACHE_RFDS_MAX 64           /* packs kept open for reading */

/* The marker's first line; the rest is for people. */
#define CACHE_MARK_MAGIC "imapfs cache\n"
static const char cache_mark_text[] =
	CACHE_MARK_MAGIC
	"This directory is the cache of an imapfs mount: imapfs adds, replaces and\n"
	"deletes what is in it.  recovery/ keeps messages a server refused; imapfs\n"
	"never deletes those.\n";

/* A record in a pack: magic, UID, length (all ones until the commit), then
 * the body; integers little-endian. */
static const char cache_rec_magic[4] = { 'I', 'M', 'B', '1' };
#define CACHE_REC_HEADER 16
#define CACHE_REC_PENDING UINT64_MAX

/* Listing file: fixed header, mailbox name, records, checksum; all
 * integers little-endian. */
static const char cache_listing_magic[8] = { 'I', 'M', 'A', 'P', 'F', 'S', 'L', '\n' };
#define CACHE_LISTING_VERSION 1u
#define CACHE_LISTING_HEADER 48
#define CACHE_LISTING_RECORD 24
#define CACHE_LISTING_TRAILER 8
#define CACHE_LISTING_NAME_MAX 65536u
#define CACHE_LISTING_MSGS_MAX (1u << 24)  /* far above any real mailbox */

struct cache_box {              /* one mailbox directory, interned until close */
	char *dirname;
	struct cache_box *hnext;
};

struct cache_rec;

/* One file of bodies in a generation's directory: records appended one
 * after the other (or, for a file of an older imapfs, one bare body). */
struct cache_pack {
	struct cache_box *box;
	uint32_t uidvalidity;
	char name[40];
	bool raw;                   /* a bare body, no record header */
	bool sealed;                /* no more appends */
	bool busy;                  /* a writer is appending */
	bool gone;                  /* evicted or dropped while busy: the writer frees it */
	int wfd, rfd;               /* -1 when not open */
	uint64_t end;               /* where the next record goes */
	uint64_t bytes;             /* of the bodies indexed in it */
	uint64_t disk;              /* of its file, counted in the cache's disk */
	struct cache_rec *recs;     /* those bodies */
	struct cache_pack *older, *newer;  /* the LRU list */
	struct cache_pack *onext;   /* the list of unsealed packs */
};

struct cache_rec {              /* one body on disk */
	struct cache_box *box;
	uint32_t uidvalidity, uid;
	uint64_t offset, size;
	struct cache_pack *pack;
	struct cache_rec *pnext, **pprev;  /* the pack's bodies */
	struct cache_rec *hnext;
};

struct cache {
	pthread_mutex_t mu;
	char *dir;                  /* absolute when it could be resolved */
	int rootfd, lockfd;
	uint64_t max_bytes, bytes;
	uint64_t disk;              /* the packs' files plus what writers reserved */
	uint64_t pack_max;          /* a pack is sealed once this long */
	unsigned long serial;       /* temp and trash names */
	struct cache_rec **recs;
	size_t nrec_buckets, nrecs;
	struct cache_pack *oldest, *newest;
	struct cache_pack *unsealed;
	size_t nunsealed, nrfds;
	struct cache_box **boxes;
	size_t nbox_buckets, nboxes;
	bool state_written;         /* "running" is on disk: close writes "clean" */
};

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

/* ---- small helpers ---- */

static int cache_fail(struct buf *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cache_fail(struct buf *err, int e, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		buf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

static void cache_lock(struct cache *c)
{
	pthread_mutex_lock(&c->mu);
}

static void cache_unlock(struct cache *c)
{
	pthread_mutex_unlock(&c->mu);
}

static unsigned long cache_next_serial(struct cache *c)
{
	cache_lock(c);
	unsigned long s = ++c->serial;
	cache_unlock(c);
	return s;
}

/* Decimal 1..UINT32_MAX without leading zeros, the whole string. */
static bool cache_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (s[0] < '1' || s[0] > '9')
		return false;
	for (; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool cache_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void cache_set_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void cache_set_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t cache_get_u32(const unsigned char *p);
static uint64_t cache_get_u64(const unsigned char *p);

static int cache_mkdirat(int dirfd, const char *path)
{
	if (mkdirat(dirfd, path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* rm -rf of dirfd/name, never following links, bounded in depth. */
static void cache_each_entry(int dirfd, const char *name, void (*fn)(int fd, const char *entry, void *ctx),
			     void *ctx);
static void cache_rmtree(int dirfd, const char *name, int depth);

static void cache_rmtree_entry(int fd, const char *entry, void *ctx)
{
	int depth = *(int *)ctx;
	if (unlinkat(fd, entry, 0) < 0 && (errno == EISDIR || errno == EPERM) && depth < CACHE_RMTREE_DEPTH)
		cache_rmtree(fd, entry, depth + 1);
}

static void cache_rmtree(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
		return;
	cache_each_entry(dirfd, name, cache_rmtree_entry, &depth);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* ---- names ---- */

static bool cache_byte_is_safe(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

/* Appends the file-name form of name: reversible %XX escaping, or when
 * that would be too long a prefix of it plus '~' and a SHA-256. */
static void cache_encode_name(const char *name, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t start = out->len, keep = 0;

	for (size_t i = 0; name[i]; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (cache_byte_is_safe(ch) && !(i == 0 && ch == '.')) {
			buf_addch(out, (char)ch);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 0xf] };
			buf_add(out, e, sizeof e);
		}
		if (out->len - start <= CACHE_BOX_NAME_KEEP)
			keep = out->len - start;
	}
	if (out->len - start <= CACHE_BOX_NAME_MAX)
		return;
	unsigned char digest[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, name, strlen(name), digest) != 0)
		abort();  /* SHA-256 is always there; nothing sane to fall back on */
	buf_truncate(out, start + keep);
	buf_addch(out, '~');
	for (size_t i = 0; i < sizeof digest; i++)
		buf_addf(out, "%02x", digest[i]);
}

static size_t cache_str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return (size_t)h;
}

static size_t cache_rec_hash(const struct cache_box *b, uint32_t uidvalidity, uint32_t uid)
{
	uint64_t h = (uint64_t)(uintptr_t)b;
	h ^= (uint64_t)uidvalidity * 0x9e3779b97f4a7c15u;
	h ^= (uint64_t)uid * 0xc2b2ae3d27d4eb4fu;
	h ^= h >> 31;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 29;
	return (size_t)h;
}

/* Under c->mu.  Returns the interned box for a directory name, creating
 * it when create is set; NULL otherwise when unknown. */
static struct cache_box *cache_box_get(struct cache *c, const char *dirname, bool create)
{
	size_t i = cache_str_hash(dirname) % c->nbox_buckets;
	for (struct cache_box *b = c->boxes[i]; b; b = b->hnext)
		if (!strcmp(b->dirname, dirname))
			return b;
	if (!create)
		return NULL;
	if (c->nboxes >= c->nbox_buckets) {
		size_t n = c->nbox_buckets * 2;
		struct cache_box **t = xcalloc(n, sizeof *t);
		for (size_t j = 0; j < c->nbox_buckets; j++) {
			struct cache_box *b = c->boxes[j], *next;
			for (; b; b = next) {
				next = b->hnext;
				size_t k = cache_str_hash(b->dirname) % n;
				b->hnext = t[k];
				t[k] = b;
			}
		}
		free(c->boxes);
		c->boxes = t;
		c->nbox_buckets = n;
		i = cache_str_hash(dirname) % n;
	}
	struct cache_box *b = xcalloc(1, sizeof *b);
	b->dirname = xstrdup(dirname);
	b->hnext = c->boxes[i];
	c->boxes[i] = b;
	c->nboxes++;
	return b;
}

/* Fills dirname with mailbox's directory name; -1 (EINVAL) for "". */
static int cache_box_dirname(const char *mailbox, struct buf *dirname)
{
	buf_reset(dirname);
	if (!mailbox || !*mailbox) {
		errno = EINVAL;
		return -1;
	}
	cache_encode_name(mailbox, dirname);
	return 0;
}

static struct cache_box *cache_box_for(struct cache *c, const char *mailbox, bool create)
{
	struct buf name = BUF_INIT;
	struct cache_box *b = NULL;

	if (cache_box_dirname(mailbox, &name) == 0) {
		cache_lock(c);
		b = cache_box_get(c, name.data, create);
		cache_unlock(c);
	}
	buf_free(&name);
	return b;
}

static void cache_pack_path(struct buf *out, const struct cache_pack *p)
{
	buf_reset(out);
	buf_addf(out, "mail/%s/%u/%s", p->box->dirname, (unsigned)p->uidvalidity, p->name);
}

/* ---- the index (all under c->mu) ---- */

static struct cache_rec **cache_rec_slot(struct cache *c, const struct cache_box *b, uint32_t uidvalidity,
					 uint32_t uid)
{
	struct cache_rec **p = &c->recs[cache_rec_hash(b, uidvalidity, uid) % c->nrec_buckets];
	for (; *p; p = &(*p)->hnext)
		if ((*p)->box == b && (*p)->uidvalidity == uidvalidity && (*p)->uid == uid)
			break;
	return p;
}

static void cache_lru_unlink(struct cache *c, struct cache_pack *p)
{
	if (p->older)
		p->older->newer = p->newer;
	else if (c->oldest == p)
		c->oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else if (c->newest == p)
		c->newest = p->older;
	p->older = p->newer = NULL;
}

static void cache_lru_push_newest(struct cache *c, struct cache_pack *p)
{
	p->older = c->newest;
	p->newer = NULL;
	if (c->newest)
		c->newest->newer = p;
	else
		c->oldest = p;
	c->newest = p;
}

static void cache_pack_touch(struct cache *c, struct cache_pack *p)
{
	if (c->newest != p) {
		cache_lru_unlink(c, p);
		cache_lru_push_newest(c, p);
	}
}

static void cache_recs_grow(struct cache *c)
{
	size_t n = c->nrec_buckets * 2;
	struct cache_rec **t = xcalloc(n, sizeof *t);

	for (size_t i = 0; i < c->nrec_buckets; i++) {
		struct cache_rec *r = c->recs[i], *next;
		for (; r; r = next) {
			next = r->hnext;
			size_t k = cache_rec_hash(r->box, r->uidvalidity, r->uid) % n;
			r->hnext = t[k];
			t[k] = r;
		}
	}
	free(c->recs);
	c->recs = t;
	c->nrec_buckets = n;
}

static void cache_index_remove(struct cache *c, struct cache_rec *r)
{
	struct cache_rec **slot = cache_rec_slot(c, r->box, r->uidvalidity, r->uid);
	*slot = r->hnext;
	if (r->pnext)
		r->pnext->pprev = r->pprev;
	*r->pprev = r->pnext;
	r->pack->bytes -= r->size;
	c->bytes -= r->size;
	c->nrecs--;
	free(r);
}

/* Records a body at offset in pack, replacing an older record of the same
 * body (whose bytes stay in their pack, unused, until it goes). */
static void cache_index_put(struct cache *c, struct cache_pack *p, uint32_t uid, uint64_t offset, uint64_t size)
{
	struct cache_rec **slot = cache_rec_slot(c, p->box, p->uidvalidity, uid);
	if (*slot) {
		cache_index_remove(c, *slot);
		slot = cache_rec_slot(c, p->box, p->uidvalidity, uid);
	}
	if (c->nrecs >= c->nrec_buckets) {
		cache_recs_grow(c);
		slot = cache_rec_slot(c, p->box, p->uidvalidity, uid);
	}
	struct cache_rec *r = xcalloc(1, sizeof *r);
	r->box = p->box;
	r->uidvalidity = p->uidvalidity;
	r->uid = uid;
	r->offset = offset;
	r->size = size;
	r->pack = p;
	r->pnext = p->recs;
	if (p->recs)
		p->recs->pprev = &r->pnext;
	r->pprev = &p->recs;
	p->recs = r;
	*slot = r;
	c->nrecs++;
	p->bytes += size;
	c->bytes += size;
}

static struct cache_pack *cache_pack_new(struct cache *c, struct cache_box *b, uint32_t uidvalidity,
					 const char *name)
{
	struct cache_pack *p = xcalloc(1, sizeof *p);
	p->box = b;
	p->uidvalidity = uidvalidity;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->wfd = p->rfd = -1;
	cache_lru_push_newest(c, p);
	return p;
}

static void cache_pack_close_rfd(struct cache *c, struct cache_pack *p)
{
	if (p->rfd >= 0) {
		close(p->rfd);
		p->rfd = -1;
		c->nrfds--;
	}
}

static void cache_pack_seal(struct cache *c, struct cache_pack *p)
{
	if (p->sealed)
		return;
	p->sealed = true;
	for (struct cache_pack **pp = &c->unsealed; *pp; pp = &(*pp)->onext) {
		if (*pp == p) {
			*pp = p->onext;
			c->nunsealed--;
			break;
		}
	}
	p->onext = NULL;
	if (p->wfd >= 0 && !p->busy) {
		close(p->wfd);
		p->wfd = -1;
	}
}

static void cache_pack_free(struct cache_pack *p)
{
	if (p->wfd >= 0)
		close(p->wfd);
	free(p);
}

/* Takes p and its bodies out of the index (its file is the caller's
 * business).  A busy pack is left to its writer, whose commit then fails. */
static void cache_pack_forget(struct cache *c, struct cache_pack *p)
{
	while (p->recs)
		cache_index_remove(c, p->recs);
	c->disk -= p->disk;
	p->disk = 0;
	cache_lru_unlink(c, p);
	cache_pack_seal(c, p);
	cache_pack_close_rfd(c, p);
	if (p->busy)
		p->gone = true;
	else
		cache_pack_free(p);
}

/* A read fd of p, kept open while p is among the recently read. */
static int cache_pack_rfd(struct cache *c, struct cache_pack *p)
{
	if (p->rfd >= 0)
		return p->rfd;
	struct buf path = BUF_INIT;
	cache_pack_path(&path, p);
	int fd = openat(c->rootfd, path.data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	buf_free(&path);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = ENOENT;
	}
	if (fd < 0)
		return -1;
	p->rfd = fd;
	c->nrfds++;
	for (struct cache_pack *q = c->oldest; q && c->nrfds > CACHE_RFDS_MAX; q = q->newer)
		if (q != p)
			cache_pack_close_rfd(c, q);
	return fd;
}

/* ---- open: one scan builds the index ---- */

struct cache_found {
	struct cache_pack *pack;
	struct timespec used;
};

struct cache_scan {
	struct cache_found *v;
	size_t n, cap;
};

static void cache_scan_add(struct cache_scan *s, struct cache_pack *p, const struct stat *st)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	struct timespec t = st->st_mtim;
	if (st->st_atim.tv_sec > t.tv_sec || (st->st_atim.tv_sec == t.tv_sec && st->st_atim.tv_nsec > t.tv_nsec))
		t = st->st_atim;
	s->v[s->n].pack = p;
	s->v[s->n].used = t;
	s->n++;
}

static int cache_found_cmp(const void *a, const void *b)
{
	const struct cache_found *x = a, *y = b;
	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return 0;
}

/* Calls fn for every entry of dirfd/name except "." and "..". */
static void cache_each_entry(int dirfd, const char *name, void (*fn)(int fd, const char *entry, void *ctx),
			     void *ctx)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fn(fd, e->d_name, ctx);
	closedir(d);
}

/* "<uid>.p" or "<uid>-<n>.p": a pack, named after its first body. */
static bool cache_is_pack_name(const char *s)
{
	size_t n = strlen(s), digits = 0;
	if (n < 3 || n >= sizeof ((struct cache_pack *)0)->name || strcmp(s + n - 2, CACHE_PACK_SUFFIX))
		return false;
	for (size_t i = 0; i < n - 2; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] != '-' || !digits || i == n - 3)
			return false;
	}
	return s[0] >= '1' && s[0] <= '9';
}

/* Indexes the complete records of a pack, up to the first that is not
 * (a writer stopped short): the pack is never appended to again. */
static void cache_scan_pack(struct cache *c, struct cache_pack *p, int fd, uint64_t file_size)
{
	unsigned char h[CACHE_REC_HEADER];
	uint64_t off = 0;
	while (file_size - off >= CACHE_REC_HEADER) {
		if (pread(fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h || memcmp(h, cache_rec_magic, 4) != 0)
			break;
		uint32_t uid = cache_get_u32(h + 4);
		uint64_t len = cache_get_u64(h + 8);
		if (!uid || len > file_size - off - CACHE_REC_HEADER)
			break;
		cache_index_put(c, p, uid, off + CACHE_REC_HEADER, len);
		off += CACHE_REC_HEADER + len;
	}
	p->end = off;
	p->sealed = true;
}

struct cache_scan_ctx {
	struct cache *c;
	struct cache_scan *found;
	struct cache_box *box;
	uint32_t uidvalidity;
	bool distrust;              /* the last session did not close */
	time_t distrust_since;      /* bodies changed since then are dropped */
};

static void cache_scan_generation(int fd, const char *entry, void *ctx)
{
	struct cache_scan_ctx *s = ctx;
	struct stat st;
	uint32_t uid;
	bool raw = cache_parse_u32(entry, &uid);

	if (cache_has_prefix(entry, CACHE_TMP_PREFIX)) {
		unlinkat(fd, entry, 0);
		return;
	}
	if ((!raw && !cache_is_pack_name(entry)) || fstatat(fd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return;
	/* Bodies are written without fsync, so after a crash one may be
	 * short; whatever the crashed session wrote goes. */
	if (s->distrust && st.st_mtim.tv_sec >= s->distrust_since) {
		unlinkat(fd, entry, 0);
		return;
	}
	struct cache_pack *p = cache_pack_new(s->c, s->box, s->uidvalidity, entry);
	if (raw) {
		p->raw = p->sealed = true;
		p->end = (uint64_t)st.st_size;
		cache_index_put(s->c, p, uid, 0, (uint64_t)st.st_size);
	} else {
		int pfd = openat(fd, entry, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (pfd >= 0) {
			cache_scan_pack(s->c, p, pfd, (uint64_t)st.st_size);
			close(pfd);
		}
	}
	if (!p->recs) {
		unlinkat(fd, entry, 0);
		cache_pack_forget(s->c, p);
		return;
	}
	/* all of the file, a tail no record owns too: it is on disk */
	p->disk = (uint64_t)st.st_size;
	s->c->disk += p->disk;
	cache_scan_add(s->found, p, &st);
}

static void cache_scan_box(int fd, const char *entry, void *ctx)
{
	struct cache_scan_ctx *s = ctx;
	struct stat st;

	if (cache_has_prefix(entry, CACHE_TMP_PREFIX)) {
		unlinkat(fd, entry, 0);
		return;
	}
	if (!cache_parse_u32(entry, &s->uidvalidity) || fstatat(fd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode))
		return;
	cache_each_entry(fd, entry, cache_scan_generation, s);
}

static void cache_scan_mail(int fd, const char *entry, void *ctx)
{
	struct cache_scan_ctx *s = ctx;
	struct stat st;

	if (cache_has_prefix(entry, CACHE_TRASH_PREFIX) || cache_has_prefix(entry, CACHE_TMP_PREFIX)) {
		cache_rmtree(fd, entry, 0);
		return;
	}
	if (entry[0] == '.' || fstatat(fd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return;
	s->box = cache_box_get(s->c, entry, true);
	cache_each_entry(fd, entry, cache_scan_box, s);
}

/* Runs before the cache is shared, so the index needs no lock yet. */
static void cache_scan(struct cache *c, bool distrust, time_t distrust_since)
{
	struct cache_scan found = { 0 };
	struct cache_scan_ctx ctx = { .c = c, .found = &found, .distrust = distrust,
				      .distrust_since = distrust_since };

	cache_each_entry(c->rootfd, "mail", cache_scan_mail, &ctx);
	if (found.n)
		qsort(found.v, found.n, sizeof *found.v, cache_found_cmp);
	for (size_t i = 0; i < found.n; i++)
		cache_pack_touch(c, found.v[i].pack);
	free(found.v);
}

/* The state file tells whether the last session closed.  While a session
 * runs it says "running <time>", written after a syncfs() made everything
 * before <time> durable; cache_close() syncs again and writes "clean". */
static void cache_state_read(struct cache *c, bool *distrust, time_t *since)
{
	char text[64];
	long long t;
	ssize_t n = -1;

	*distrust = false;
	*since = 0;
	int fd = openat(c->rootfd, CACHE_STATE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;  /* a new cache */
	n = pread(fd, text, sizeof text - 1, 0);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	if (!strcmp(text, "clean\n"))
		return;
	*distrust = true;
	/* One second of slack: file times come from a coarser clock.  An
	 * unreadable state distrusts every body. */
	if (sscanf(text, "running %lld\n", &t) == 1 && t > 0)
		*since = (time_t)(t - 1);
}

static int cache_state_write(struct cache *c, bool running)
{
	char text[64];

	syncfs(c->rootfd);
	int fd = openat(c->rootfd, CACHE_STATE, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (running)
		snprintf(text, sizeof text, "running %lld\n", (long long)time(NULL));
	else
		snprintf(text, sizeof text, "clean\n");
	int rc = fd_write_all(fd, text, strlen(text));
	if (rc == 0)
		rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* mkdir -p with mode 0700 for what it creates. */
static int cache_mkdirs(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
		if (rc < 0)
			break;
	}
	if (rc == 0 && mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -1;
	int e = errno;
	free(p);
	errno = e;
	return rc;
}

/* A directory of ours that nobody else may write; *mode gets its mode. */
static int cache_check_owner(int fd, const char *what, mode_t *mode, struct buf *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cache_fail(err, errno, "cache directory %s: %s", what, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cache_fail(err, ENOTDIR, "cache directory %s is not a directory", what);
	if (st.st_uid != geteuid())
		return cache_fail(err, EACCES, "cache directory %s is owned by uid %u, not by us (uid %u)", what,
				  (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & S_IWOTH)
		return cache_fail(err, EACCES,
				  "cache directory %s is writable by others; remove it or chmod 700 it", what);
	*mode = st.st_mode & 07777;
	return 0;
}

static int cache_check_dir(int fd, const char *what, struct buf *err)
{
	mode_t mode;
	if (cache_check_owner(fd, what, &mode, err) < 0)
		return -1;
	if (mode != 0700 && fchmod(fd, 0700) < 0)
		return cache_fail(err, errno, "cache %s: chmod 700: %s", what, strerror(errno));
	return 0;
}

/* ---- whose directory: the marker ---- */

/* Whether the marker is there and says what it must. */
static bool cache_has_mark(int rootfd)
{
	char head[sizeof CACHE_MARK_MAGIC - 1];
	int fd = openat(rootfd, CACHE_MARK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	bool yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		   pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
		   !memcmp(head, CACHE_MARK_MAGIC, sizeof head);
	close(fd);
	return yes;
}

/* Whether name is one of those a cache made before the marker existed holds. */
static bool cache_is_premark_name(const char *name)
{
	return !strcmp(name, "lock") || !strcmp(name, CACHE_STATE) || !strcmp(name, "mail") ||
	       !strcmp(name, "recovery");
}

/* What the directory holds besides the marker: *others counts the
 * entries, *premark says whether all of them are names a cache made
 * before the marker existed (its state file among them). */
static void cache_survey(int rootfd, size_t *others, bool *premark)
{
	*others = 0;
	*premark = true;
	bool state = false;
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		*others = 1;  /* unreadable: not known to be empty */
		*premark = false;
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		/* a file system of its own for the cache has a lost+found */
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, CACHE_MARK) ||
		    !strcmp(e->d_name, "lost+found"))
			continue;
		(*others)++;
		if (!cache_is_premark_name(e->d_name))
			*premark = false;
		if (!strcmp(e->d_name, CACHE_STATE))
			state = true;
	}
	closedir(d);
	if (!state)
		*premark = false;
}

static int cache_write_mark(struct cache *c, struct buf *err)
{
	int fd = openat(c->rootfd, CACHE_MARK, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && cache_has_mark(c->rootfd))
		return 0;  /* another imapfs starting on it at the same time */
	if (fd < 0)
		return cache_fail(err, errno, "cache: create %s/" CACHE_MARK ": %s", c->dir, strerror(errno));
	int rc = fd_write_all(fd, cache_mark_text, strlen(cache_mark_text));
	int e = errno;
	close(fd);
	if (rc < 0) {
		unlinkat(c->rootfd, CACHE_MARK, 0);
		return cache_fail(err, e, "cache: write %s/" CACHE_MARK ": %s", c->dir, strerror(e));
	}
	return 0;
}

/* The directory is ours to fill and empty: it has the marker, or is empty,
 * or is a cache an imapfs without the marker made (then it gets it). */
static int cache_claim(struct cache *c, struct buf *err)
{
	if (cache_has_mark(c->rootfd))
		return 0;
	size_t others;
	bool premark;
	cache_survey(c->rootfd, &others, &premark);
	if (others && !premark)
		return cache_fail(err, ENOTEMPTY,
				  "cache directory %s is not empty and is no imapfs cache (it has no %s "
				  "file); name a new or empty directory with -o cachedir=",
				  c->dir, CACHE_MARK);
	return cache_write_mark(c, err);
}

static int cache_open_subdir(struct cache *c, const char *name, struct buf *err)
{
	if (cache_mkdirat(c->rootfd, name) < 0)
		return cache_fail(err, errno, "cache: mkdir %s/%s: %s", c->dir, name, strerror(errno));
	int fd = openat(c->rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cache_fail(err, errno, "cache: open %s/%s: %s", c->dir, name, strerror(errno));
	struct buf what = BUF_INIT;
	buf_addf(&what, "%s/%s", c->dir, name);
	int rc = cache_check_dir(fd, what.data, err);
	buf_free(&what);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int cache_open(struct cache **out, const char *dir, uint64_t max_bytes, struct buf *err)
{
	*out = NULL;
	if (!dir || !*dir)
		return cache_fail(err, EINVAL, "cache: no directory given");
	if (cache_mkdirs(dir) < 0)
		return cache_fail(err, errno, "cache: mkdir -p %s: %s", dir, strerror(errno));

	struct cache *c = xcalloc(1, sizeof *c);
	char *real = realpath(dir, NULL);
	c->dir = real ? real : xstrdup(dir);
	c->lockfd = -1;
	c->max_bytes = max_bytes;
	c->pack_max = CACHE_PACK_MAX;
	if (max_bytes && max_bytes / CACHE_PACK_SHARE < c->pack_max)
		c->pack_max = max_bytes / CACHE_PACK_SHARE;
	c->nrec_buckets = 1024;
	c->recs = xcalloc(c->nrec_buckets, sizeof *c->recs);
	c->nbox_buckets = 64;
	c->boxes = xcalloc(c->nbox_buckets, sizeof *c->boxes);
	pthread_mutex_init(&c->mu, NULL);

	c->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0) {
		cache_fail(err, errno, "cache: open %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* nothing is changed in a directory before it is known to be ours */
	mode_t mode;
	if (cache_check_owner(c->rootfd, c->dir, &mode, err) < 0 || cache_claim(c, err) < 0)
		goto fail;
	if (mode != 0700 && fchmod(c->rootfd, 0700) < 0) {
		cache_fail(err, errno, "cache %s: chmod 700: %s", c->dir, strerror(errno));
		goto fail;
	}
	c->lockfd = openat(c->rootfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (c->lockfd < 0) {
		cache_fail(err, errno, "cache: open %s/lock: %s", c->dir, strerror(errno));
		goto fail;
	}
	if (flock(c->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			cache_fail(err, EBUSY, "cache %s is in use by another imapfs", c->dir);
		else
			cache_fail(err, errno, "cache: lock %s: %s", c->dir, strerror(errno));
		goto fail;
	}
	if (cache_open_subdir(c, "mail", err) < 0 || cache_open_subdir(c, "recovery", err) < 0)
		goto fail;
	bool distrust;
	time_t since;
	cache_state_read(c, &distrust, &since);
	cache_scan(c, distrust, since);
	if (cache_state_write(c, true) < 0) {
		cache_fail(err, errno, "cache: write %s/" CACHE_STATE ": %s", c->dir, strerror(errno));
		goto fail;
	}
	c->state_written = true;
	cache_trim(c);
	*out = c;
	return 0;
fail:;
	int e = errno;
	cache_close(c);
	errno = e;
	return -1;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrec_buckets; i++) {
		struct cache_rec *r = c->recs[i], *next;
		for (; r; r = next) {
			next = r->hnext;
			free(r);
		}
	}
	for (size_t i = 0; i < c->nbox_buckets; i++) {
		struct cache_box *b = c->boxes[i], *next;
		for (; b; b = next) {
			next = b->hnext;
			free(b->dirname);
			free(b);
		}
	}
	for (struct cache_pack *p = c->oldest, *next; p; p = next) {
		next = p->newer;
		if (p->rfd >= 0)
			close(p->rfd);
		cache_pack_free(p);
	}
	free(c->recs);
	free(c->boxes);
	if (c->state_written)
		cache_state_write(c, false);
	if (c->lockfd >= 0)
		close(c->lockfd);  /* releases the flock */
	if (c->rootfd >= 0)
		close(c->rootfd);
	pthread_mutex_destroy(&c->mu);
	free(c->dir);
	free(c);
}

/* ---- size bound ---- */

/* Under c->mu: p's file goes, and p with it. */
static void cache_pack_evict(struct cache *c, struct cache_pack *p, struct buf *path)
{
	cache_pack_path(path, p);
	unlinkat(c->rootfd, path->data, 0);
	cache_pack_forget(c, p);
}

/* Under c->mu: evicts least recently used packs no writer holds until the
 * disk total is at most limit. */
static void cache_evict_to(struct cache *c, uint64_t limit)
{
	struct buf path = BUF_INIT;
	for (struct cache_pack *p = c->oldest, *next; p && c->disk > limit; p = next) {
		next = p->newer;
		if (!p->busy)
			cache_pack_evict(c, p, &path);
	}
	buf_free(&path);
}

/* Under c->mu: counts n more bytes on disk, first evicting what must go
 * for the total to stay within max_bytes.  false, with nothing evicted or
 * counted, when even evicting every pack no writer holds would not make
 * room: the bytes of writers in progress are the only ones that cannot
 * go. */
static bool cache_make_room(struct cache *c, uint64_t n)
{
	if (c->max_bytes && (n > c->max_bytes || c->disk > c->max_bytes - n)) {
		if (n > c->max_bytes)
			return false;
		uint64_t limit = c->max_bytes - n, freeable = 0;
		for (struct cache_pack *p = c->oldest; p && c->disk - freeable > limit; p = p->newer)
			if (!p->busy)
				freeable += p->disk;
		if (c->disk - freeable > limit)
			return false;
		cache_evict_to(c, limit);
	}
	c->disk += n;
	return true;
}

void cache_trim(struct cache *c)
{
	cache_lock(c);
	if (c->max_bytes)
		cache_evict_to(c, c->max_bytes);
	cache_unlock(c);
}

uint64_t cache_bytes(const struct cache *c)
{
	struct cache *m = (struct cache *)c;  /* the mutex is not part of the value */
	cache_lock(m);
	uint64_t n = c->bytes;
	cache_unlock(m);
	return n;
}

uint64_t cache_disk_bytes(const struct cache *c)
{
	struct cache *m = (struct cache *)c;
	cache_lock(m);
	uint64_t n = c->disk;
	cache_unlock(m);
	return n;
}

bool cache_body_fits(const struct cache *c, uint64_t size)
{
	return !c->max_bytes || (size <= c->max_bytes && c->max_bytes - size >= CACHE_REC_HEADER);
}

/* ---- bodies ---- */

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

/* ---- listings ---- */

static void cache_put_u32(struct buf *b, uint32_t v)
{
	unsigned char s[4];
	for (int i = 0; i < 4; i++)
		s[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, s, sizeof s);
}

static void cache_put_u64(struct buf *b, uint64_t v)
{
	unsigned char s[8];
	for (int i = 0; i < 8; i++)
		s[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, s, sizeof s);
}

static uint32_t cache_get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t cache_get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t cache_checksum(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3u;
	return h;
}

static void cache_listing_path(struct buf *out, const char *dirname)
{
	buf_reset(out);
	buf_addf(out, "mail/%s/" CACHE_LISTING, dirname);
}

static int cache_read_all(int fd, struct buf *out, size_t size)
{
	buf_reset(out);
	buf_grow(out, size);
	while (out->len < size) {
		ssize_t r = pread(fd, out->data + out->len, size - out->len, (off_t)out->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		out->len += (size_t)r;
	}
	out->data[out->len] = '\0';
	return 0;
}

/* Checks the bytes of a listing file and fills *out; false when corrupt. */
static bool cache_listing_parse(const struct buf *file, const char *mailbox, struct cache_listing *out)
{
	const unsigned char *p = (const unsigned char *)file->data;
	size_t len = file->len, name_len = strlen(mailbox);

	if (len < CACHE_LISTING_HEADER + CACHE_LISTING_TRAILER ||
	    memcmp(p, cache_listing_magic, sizeof cache_listing_magic) != 0 ||
	    cache_get_u32(p + 8) != CACHE_LISTING_VERSION)
		return false;
	uint64_t stored_name_len = cache_get_u32(p + 12), n = cache_get_u64(p + 40);
	size_t body = len - CACHE_LISTING_HEADER - CACHE_LISTING_TRAILER;
	if (stored_name_len != name_len || name_len > body || n != (body - name_len) / CACHE_LISTING_RECORD ||
	    (body - name_len) % CACHE_LISTING_RECORD != 0)
		return false;
	if (cache_get_u64(p + len - CACHE_LISTING_TRAILER) != cache_checksum(p, len - CACHE_LISTING_TRAILER))
		return false;
	if (memcmp(p + CACHE_LISTING_HEADER, mailbox, name_len) != 0)
		return false;
	struct cache_listing l = {
		.uidvalidity = cache_get_u32(p + 16),
		.uidnext = cache_get_u32(p + 20),
		.messages = cache_get_u32(p + 24),
		.highestmodseq = cache_get_u64(p + 32),
		.n = (size_t)n,
	};
	l.msgs = xcalloc(l.n ? l.n : 1, sizeof *l.msgs);
	const unsigned char *r = p + CACHE_LISTING_HEADER + name_len;
	for (size_t i = 0; i < l.n; i++, r += CACHE_LISTING_RECORD) {
		l.msgs[i].uid = cache_get_u32(r);
		l.msgs[i].flags_bits = cache_get_u32(r + 4);
		l.msgs[i].size = cache_get_u64(r + 8);
		l.msgs[i].internaldate = (int64_t)cache_get_u64(r + 16);
		if (l.msgs[i].uid == 0 || (i > 0 && l.msgs[i].uid <= l.msgs[i - 1].uid)) {
			free(l.msgs);
			return false;
		}
	}
	*out = l;
	return true;
}

/* Removes path if it is still the file open as fd (a newer listing saved
 * meanwhile is left alone). */
static void cache_remove_if_same(struct cache *c, const char *path, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return;
	cache_lock(c);
	if (fstatat(c->rootfd, path, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlinkat(c->rootfd, path, 0);
	cache_unlock(c);
}

int cache_listing_load(struct cache *c, const char *mailbox, struct cache_listing *out)
{
	struct buf dirname = BUF_INIT, path = BUF_INIT, file = BUF_INIT;
	int rc = -1, e = EBADMSG;

	memset(out, 0, sizeof *out);
	if (cache_box_dirname(mailbox, &dirname) < 0)
		return -1;
	cache_listing_path(&path, dirname.data);
	int fd = openat(c->rootfd, path.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		goto out;
	}
	struct stat st;
	size_t limit = CACHE_LISTING_HEADER + CACHE_LISTING_NAME_MAX + CACHE_LISTING_TRAILER +
		       (size_t)CACHE_LISTING_RECORD * CACHE_LISTING_MSGS_MAX;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > limit) {
		cache_remove_if_same(c, path.data, fd);
		goto out;
	}
	if (cache_read_all(fd, &file, (size_t)st.st_size) < 0) {
		e = errno;
		goto out;
	}
	if (cache_listing_parse(&file, mailbox, out))
		rc = 0;
	else
		cache_remove_if_same(c, path.data, fd);
out:
	if (fd >= 0)
		close(fd);
	buf_free(&dirname);
	buf_free(&path);
	buf_free(&file);
	if (rc < 0)
		errno = e;
	return rc;
}

int cache_listing_save(struct cache *c, const char *mailbox, const struct cache_listing *l, struct buf *err)
{
	size_t name_len = mailbox ? strlen(mailbox) : 0;

	if (!mailbox || !*mailbox || name_len > CACHE_LISTING_NAME_MAX)
		return cache_fail(err, EINVAL, "cache: listing: invalid mailbox name");
	if (l->n > CACHE_LISTING_MSGS_MAX)
		return cache_fail(err, EINVAL, "cache: listing of more than %u messages", CACHE_LISTING_MSGS_MAX);
	for (size_t i = 0; i < l->n; i++)
		if (l->msgs[i].uid == 0 || (i > 0 && l->msgs[i].uid <= l->msgs[i - 1].uid))
			return cache_fail(err, EINVAL, "cache: listing not sorted by strictly increasing uid");

	struct buf dirname = BUF_INIT, file = BUF_INIT, tmp = BUF_INIT, path = BUF_INIT;
	cache_box_dirname(mailbox, &dirname);
	buf_add(&file, cache_listing_magic, sizeof cache_listing_magic);
	cache_put_u32(&file, CACHE_LISTING_VERSION);
	cache_put_u32(&file, (uint32_t)name_len);
	cache_put_u32(&file, l->uidvalidity);
	cache_put_u32(&file, l->uidnext);
	cache_put_u32(&file, l->messages);
	cache_put_u32(&file, 0);
	cache_put_u64(&file, l->highestmodseq);
	cache_put_u64(&file, (uint64_t)l->n);
	buf_add(&file, mailbox, name_len);
	for (size_t i = 0; i < l->n; i++) {
		cache_put_u32(&file, l->msgs[i].uid);
		cache_put_u32(&file, l->msgs[i].flags_bits);
		cache_put_u64(&file, l->msgs[i].size);
		cache_put_u64(&file, (uint64_t)l->msgs[i].internaldate);
	}
	cache_put_u64(&file, cache_checksum(file.data, file.len));

	buf_addf(&tmp, "mail/%s", dirname.data);
	cache_listing_path(&path, dirname.data);
	unsigned long serial = cache_next_serial(c);
	int rc = -1, fd = -1;
	cache_lock(c);
	if (cache_mkdirat(c->rootfd, tmp.data) == 0) {
		buf_addf(&tmp, "/" CACHE_TMP_PREFIX CACHE_LISTING "-%ld-%lu", (long)getpid(), serial);
		fd = openat(c->rootfd, tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	cache_unlock(c);
	if (fd < 0) {
		cache_fail(err, errno, "cache: listing temp file: %s", strerror(errno));
		goto out;
	}
	if (fd_write_all(fd, file.data, file.len) < 0) {
		int e = errno;
		close(fd);
		unlinkat(c->rootfd, tmp.data, 0);
		cache_fail(err, e, "cache: write listing: %s", strerror(e));
		goto out;
	}
	if (close(fd) < 0) {
		int e = errno;
		unlinkat(c->rootfd, tmp.data, 0);
		cache_fail(err, e, "cache: close listing: %s", strerror(e));
		goto out;
	}
	cache_lock(c);
	rc = renameat(c->rootfd, tmp.data, c->rootfd, path.data);
	int e = errno;
	cache_unlock(c);
	if (rc < 0) {
		unlinkat(c->rootfd, tmp.data, 0);
		cache_fail(err, e, "cache: rename listing: %s", strerror(e));
	}
out:
	buf_free(&dirname);
	buf_free(&file);
	buf_free(&tmp);
	buf_free(&path);
	return rc;
}

void cache_listing_free(struct cache_listing *l)
{
	free(l->msgs);
	memset(l, 0, sizeof *l);
}

/* ---- dropping a generation ---- */

struct cache_drop_ctx {
	struct cache *c;
	const char *dirname;
	uint32_t keep;
	struct buf trash;           /* NUL-separated names under mail/ */
	int failed_errno;
};

/* Under c->mu: moves dirfd/name out of the way to mail/.trash-*, so no path
 * reaches it any more; falls back to deleting it in place. */
static void cache_drop_move(struct cache_drop_ctx *d, int dirfd, const char *name)
{
	struct buf to = BUF_INIT;
	unsigned long serial = ++d->c->serial;

	buf_addf(&to, "mail/" CACHE_TRASH_PREFIX "%ld-%lu", (long)getpid(), serial);
	if (renameat(dirfd, name, d->c->rootfd, to.data) == 0) {
		buf_add(&d->trash, to.data + strlen("mail/"), to.len - strlen("mail/") + 1);
	} else if (errno != ENOENT) {
		cache_rmtree(dirfd, name, 0);
		if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			d->failed_errno = EIO;
	}
	buf_free(&to);
}

/* Collects the generations to drop; they are moved after the listing of
 * the directory is complete, since renaming during readdir may skip some. */
static void cache_drop_entry(int fd, const char *entry, void *ctx)
{
	struct buf *names = ctx;
	uint32_t uidvalidity;

	(void)fd;
	if (cache_parse_u32(entry, &uidvalidity))
		buf_add(names, entry, strlen(entry) + 1);
}

/* Under c->mu: the listing stays only when it is of generation keep. */
static void cache_drop_listing(struct cache_drop_ctx *d)
{
	struct buf path = BUF_INIT;
	unsigned char head[CACHE_LISTING_HEADER];

	cache_listing_path(&path, d->dirname);
	int fd = openat(d->c->rootfd, path.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = pread(fd, head, sizeof head, 0);
		close(fd);
		if (r != (ssize_t)sizeof head || memcmp(head, cache_listing_magic, sizeof cache_listing_magic) != 0 ||
		    cache_get_u32(head + 16) != d->keep)
			unlinkat(d->c->rootfd, path.data, 0);
	}
	buf_free(&path);
}

int cache_drop_mailbox(struct cache *c, const char *mailbox, uint32_t keep_uidvalidity)
{
	struct buf dirname = BUF_INIT, boxpath = BUF_INIT;

	if (cache_box_dirname(mailbox, &dirname) < 0)
		return -1;
	struct cache_drop_ctx d = { .c = c, .dirname = dirname.data, .keep = keep_uidvalidity };
	buf_init(&d.trash);
	buf_addf(&boxpath, "mail/%s", dirname.data);

	cache_lock(c);
	if (keep_uidvalidity == 0) {
		cache_drop_move(&d, c->rootfd, boxpath.data);
	} else {
		struct buf names = BUF_INIT;
		cache_each_entry(c->rootfd, boxpath.data, cache_drop_entry, &names);
		int boxfd = openat(c->rootfd, boxpath.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		for (size_t i = 0; boxfd >= 0 && i < names.len; i += strlen(names.data + i) + 1) {
			uint32_t uidvalidity;
			if (cache_parse_u32(names.data + i, &uidvalidity) && uidvalidity != keep_uidvalidity)
				cache_drop_move(&d, boxfd, names.data + i);
		}
		if (boxfd >= 0)
			close(boxfd);
		buf_free(&names);
		cache_drop_listing(&d);
	}
	struct cache_box *b = cache_box_get(c, dirname.data, false);
	if (b) {
		for (struct cache_pack *p = c->oldest, *next; p; p = next) {
			next = p->newer;
			if (p->box == b && (keep_uidvalidity == 0 || p->uidvalidity != keep_uidvalidity))
				cache_pack_forget(c, p);
		}
	}
	cache_unlock(c);

	int mailfd = openat(c->rootfd, "mail", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (size_t i = 0; mailfd >= 0 && i < d.trash.len; i += strlen(d.trash.data + i) + 1)
		cache_rmtree(mailfd, d.trash.data + i, 0);
	if (mailfd >= 0)
		close(mailfd);
	buf_free(&d.trash);
	buf_free(&dirname);
	buf_free(&boxpath);
	if (d.failed_errno) {
		errno = d.failed_errno;
		return -1;
	}
	return 0;
}

/* ---- recovery ---- */

int cache_save_recovery(struct cache *c, const char *name, int fd_or_minus1, const void *p, size_t n,
			struct buf *path_out, struct buf *err)
{
	struct buf rel = BUF_INIT;
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int fd = -1, rc = -1;

	buf_reset(path_out);
	if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(stamp, sizeof stamp, "%lld", (long long)now);
	for (unsigned attempt = 1; attempt <= 1000 && fd < 0; attempt++) {
		buf_reset(&rel);
		buf_addf(&rel, "recovery/%s-", stamp);
		cache_encode_name(name ? name : "", &rel);
		if (attempt > 1)
			buf_addf(&rel, "-%u", attempt);
		fd = openat(c->rootfd, rel.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		cache_fail(err, errno, "cache: create %s/%s: %s", c->dir, rel.data, strerror(errno));
		goto out;
	}
	uint64_t copied;
	int wr = fd_or_minus1 >= 0 ? fd_copy(fd_or_minus1, 0, UINT64_MAX, fd, &copied)
				   : fd_write_all(fd, p, n);
	if (wr < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlinkat(c->rootfd, rel.data, 0);
		cache_fail(err, e, "cache: write %s/%s: %s", c->dir, rel.data, strerror(e));
		goto out;
	}
	if (close(fd) < 0) {
		int e = errno;
		unlinkat(c->rootfd, rel.data, 0);
		cache_fail(err, e, "cache: close %s/%s: %s", c->dir, rel.data, strerror(e));
		goto out;
	}
	int dfd = openat(c->rootfd, "recovery", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);  /* the name must survive a crash as well as the bytes */
		close(dfd);
	}
	buf_addf(path_out, "%s/%s", c->dir, rel.data);
	rc = 0;
out:
	buf_free(&rel);
	return rc;
}
