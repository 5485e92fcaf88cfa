/* scan.c: the one scan at cache_open() that builds the index from the packs
 * on disk (and deletes what a crash may have left half-written). */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_impl.h"
#include "xalloc.h"

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
void cache_scan(struct cache *c, bool distrust, time_t distrust_since)
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
