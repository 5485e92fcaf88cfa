/* listing.c: the metadata listing of one mailbox generation. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_impl.h"
#include "fdio.h"
#include "xalloc.h"

const char cache_listing_magic[8] = { 'I', 'M', 'A', 'P', 'F', 'S', 'L', '\n' };

static uint64_t cache_checksum(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3u;
	return h;
}

void cache_listing_path(struct buf *out, const char *dirname)
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

/* A cursor over a listing file's bytes: take() fails once it would pass
 * the end, so a corrupt length can never read outside the file. */
struct cursor {
	const unsigned char *p;
	size_t left;
};

static const unsigned char *take(struct cursor *cur, size_t n)
{
	if (n > cur->left)
		return NULL;
	const unsigned char *p = cur->p;
	cur->p += n;
	cur->left -= n;
	return p;
}

/* The file's flag lists as ids of c's table, ids[k] for list k + 1. */
static bool parse_flag_lists(struct cache *c, struct cursor *cur, uint32_t count, uint32_t *ids)
{
	for (uint32_t k = 0; k < count; k++) {
		const unsigned char *lenp = take(cur, 4);
		uint32_t len = lenp ? cache_get_u32(lenp) : 0;
		const unsigned char *text = lenp && len <= CACHE_LISTING_FLAG_MAX ? take(cur, len) : NULL;
		if (!text)
			return false;
		ids[k] = cache_flags_id(c, (const char *)text, len);
	}
	return true;
}

static bool parse_records(struct cursor *cur, const uint32_t *ids, uint32_t nids, struct cache_listing *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const unsigned char *r = take(cur, CACHE_LISTING_RECORD);
		if (!r)
			return false;
		struct cache_msg *m = &l->msgs[i];
		m->uid = cache_get_u32(r);
		uint32_t k = cache_get_u32(r + 4);
		m->size = cache_get_u64(r + 8);
		m->internaldate = (int64_t)cache_get_u64(r + 16);
		m->modseq = cache_get_u64(r + 24);
		m->changed = (int64_t)cache_get_u64(r + 32);
		if (k > nids || m->uid == 0 || (i > 0 && m->uid <= l->msgs[i - 1].uid))
			return false;
		m->flags = k ? ids[k - 1] : 0;
	}
	return true;
}

bool cache_name_ok(const char *name, size_t len)
{
	return len > 0 && len <= CACHE_MSG_NAME_MAX && !memchr(name, '/', len) && !memchr(name, '\0', len) &&
	       !(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.');
}

/* The kept names: each names one record, at most once. */
static bool parse_names(struct cache *c, struct cursor *cur, struct cache_listing *l)
{
	const unsigned char *countp = take(cur, 4);
	uint32_t count = countp ? cache_get_u32(countp) : 0;
	if (!countp || count > l->n)
		return false;
	for (uint32_t k = 0; k < count; k++) {
		const unsigned char *head = take(cur, 8);
		uint32_t i = head ? cache_get_u32(head) : 0, len = head ? cache_get_u32(head + 4) : 0;
		const char *text = head && i < l->n && !l->msgs[i].name && len <= CACHE_MSG_NAME_MAX
					   ? (const char *)take(cur, len) : NULL;
		if (!text || !cache_name_ok(text, len))
			return false;
		char name[CACHE_MSG_NAME_MAX + 1];
		memcpy(name, text, len);
		name[len] = '\0';
		l->msgs[i].name = cache_name_id(c, name);
	}
	return true;
}

/* Checks the bytes of a listing file and fills *out; false when corrupt. */
static bool cache_listing_parse(struct cache *c, const struct buf *file, const char *mailbox,
				struct cache_listing *out)
{
	const unsigned char *p = (const unsigned char *)file->data;
	size_t len = file->len, name_len = strlen(mailbox);

	if (len < CACHE_LISTING_HEADER + CACHE_LISTING_TRAILER ||
	    memcmp(p, cache_listing_magic, sizeof cache_listing_magic) != 0 ||
	    cache_get_u32(p + 8) != CACHE_LISTING_VERSION)
		return false;
	if (cache_get_u64(p + len - CACHE_LISTING_TRAILER) != cache_checksum(p, len - CACHE_LISTING_TRAILER))
		return false;
	uint64_t n = cache_get_u64(p + 40);
	uint32_t nlists = cache_get_u32(p + 28);
	struct cursor cur = { p + CACHE_LISTING_HEADER, len - CACHE_LISTING_HEADER - CACHE_LISTING_TRAILER };
	const unsigned char *name = cache_get_u32(p + 12) == name_len ? take(&cur, name_len) : NULL;
	/* every list and record takes at least 4 bytes: counts beyond that are lies */
	if (!name || memcmp(name, mailbox, name_len) != 0 || n > CACHE_LISTING_MSGS_MAX ||
	    nlists > cur.left / 4 || n * CACHE_LISTING_RECORD > cur.left)
		return false;
	struct cache_listing l = {
		.uidvalidity = cache_get_u32(p + 16),
		.uidnext = cache_get_u32(p + 20),
		.messages = cache_get_u32(p + 24),
		.highestmodseq = cache_get_u64(p + 32),
		.mtime = (int64_t)cache_get_u64(p + 48),
		.n = (size_t)n,
	};
	uint32_t *ids = xcalloc(nlists ? nlists : 1, sizeof *ids);
	l.msgs = xcalloc(l.n ? l.n : 1, sizeof *l.msgs);
	bool ok = parse_flag_lists(c, &cur, nlists, ids) && parse_records(&cur, ids, nlists, &l) &&
		  parse_names(c, &cur, &l) && !cur.left;
	free(ids);
	if (!ok) {
		free(l.msgs);
		return false;
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
	/* each message's flags may be a list of their own */
	size_t limit = CACHE_LISTING_HEADER + CACHE_LISTING_NAME_MAX + CACHE_LISTING_TRAILER +
		       (size_t)(CACHE_LISTING_RECORD + 4 + 1024 + 8 + CACHE_MSG_NAME_MAX) * CACHE_LISTING_MSGS_MAX;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > limit) {
		cache_remove_if_same(c, path.data, fd);
		goto out;
	}
	if (cache_read_all(fd, &file, (size_t)st.st_size) < 0) {
		e = errno;
		goto out;
	}
	if (cache_listing_parse(c, &file, mailbox, out))
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

static const char *kept_name(struct cache *c, const struct cache_msg *m)
{
	const char *name = m->name ? cache_name_text(c, m->name) : NULL;
	return name && cache_name_ok(name, strlen(name)) ? name : NULL;
}

static void put_names(struct cache *c, const struct cache_listing *l, struct buf *file)
{
	uint32_t count = 0;
	/* a name the next load would refuse is not kept (it would cost the
	 * whole listing) */
	for (size_t i = 0; i < l->n; i++)
		count += kept_name(c, &l->msgs[i]) != NULL;
	cache_put_u32(file, count);
	for (size_t i = 0; i < l->n; i++) {
		const char *name = kept_name(c, &l->msgs[i]);
		if (!name)
			continue;
		cache_put_u32(file, (uint32_t)i);
		cache_put_u32(file, (uint32_t)strlen(name));
		buf_addstr(file, name);
	}
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
	/* the flag lists this listing uses, numbered from 1 in order of use */
	uint32_t *number = NULL, *used = NULL, nused = 0, maxid = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->msgs[i].flags > maxid)
			maxid = l->msgs[i].flags;
	number = xcalloc((size_t)maxid + 1, sizeof *number);
	used = xcalloc((size_t)maxid + 1, sizeof *used);
	for (size_t i = 0; i < l->n; i++) {
		uint32_t id = l->msgs[i].flags;
		const char *text = id && !number[id] ? cache_flags_text(c, id) : NULL;
		if (text && strlen(text) <= CACHE_LISTING_FLAG_MAX) {  /* else saved as not known */
			used[nused] = id;
			number[id] = ++nused;
		}
	}
	buf_add(&file, cache_listing_magic, sizeof cache_listing_magic);
	cache_put_u32(&file, CACHE_LISTING_VERSION);
	cache_put_u32(&file, (uint32_t)name_len);
	cache_put_u32(&file, l->uidvalidity);
	cache_put_u32(&file, l->uidnext);
	cache_put_u32(&file, l->messages);
	cache_put_u32(&file, nused);
	cache_put_u64(&file, l->highestmodseq);
	cache_put_u64(&file, (uint64_t)l->n);
	cache_put_u64(&file, (uint64_t)l->mtime);
	buf_add(&file, mailbox, name_len);
	for (uint32_t k = 0; k < nused; k++) {
		const char *text = cache_flags_text(c, used[k]);
		size_t tlen = strlen(text);
		cache_put_u32(&file, (uint32_t)tlen);
		buf_add(&file, text, tlen);
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct cache_msg *m = &l->msgs[i];
		cache_put_u32(&file, m->uid);
		cache_put_u32(&file, m->flags ? number[m->flags] : 0);
		cache_put_u64(&file, m->size);
		cache_put_u64(&file, (uint64_t)m->internaldate);
		cache_put_u64(&file, m->modseq);
		cache_put_u64(&file, (uint64_t)m->changed);
	}
	put_names(c, l, &file);
	free(number);
	free(used);
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
