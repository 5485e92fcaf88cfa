/* check_cache_util.c: what the parts of check_cache share.  Bodies are
 * made of bytes that follow from their uid, so any test can tell the
 * right body from a wrong or torn one without keeping a copy; the
 * looks at the files under the cache let tests assert what is on disk,
 * not only what the cache says. */
#include "config.h"
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_du.h"
#include "check_cache_util.h"

struct cache *open_cache(uint64_t max_bytes)
{
	struct cache *c = NULL;
	struct buf err = BUF_INIT;
	ck_assert_msg(cache_open(&c, cdir, max_bytes, &err) == 0, "cache_open: %s", err.data);
	buf_free(&err);
	return c;
}

void fill(struct buf *b, size_t n, unsigned seed)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++)
		buf_addch(b, (char)((i * 31 + seed * 7 + i / 256) & 0xff));
}

void put_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, const void *p, size_t n)
{
	struct cache_writer *w = NULL;
	struct buf err = BUF_INIT;
	uint64_t size = 0;
	ck_assert_msg(cache_body_begin(c, mb, vv, uid, &w, &err) == 0, "begin: %s", err.data);
	/* in uneven pieces, as a parser streaming a literal would */
	for (size_t off = 0; off < n;) {
		size_t k = n - off < 777 ? n - off : 777;
		ck_assert_int_eq(cache_writer_write(w, (const char *)p + off, k), 0);
		off += k;
	}
	ck_assert_msg(cache_writer_commit(w, &size, &err) == 0, "commit: %s", err.data);
	ck_assert_uint_eq(size, n);
	buf_free(&err);
}

void put_sized(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n)
{
	struct buf b = BUF_INIT;
	fill(&b, n, uid);
	put_body(c, mb, vv, uid, b.data, b.len);
	buf_free(&b);
}

void read_fd(int fd, struct buf *out)
{
	char chunk[4096];
	off_t off = 0;
	ssize_t r;
	buf_reset(out);
	while ((r = pread(fd, chunk, sizeof chunk, off)) > 0) {
		buf_add(out, chunk, (size_t)r);
		off += r;
	}
	ck_assert_int_eq(r, 0);
}

bool get_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, struct buf *out)
{
	int fd = cache_body_open(c, mb, vv, uid);
	if (fd < 0) {
		ck_assert_int_eq(errno, ENOENT);
		return false;
	}
	read_fd(fd, out);
	close(fd);
	return true;
}

bool has_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid)
{
	struct buf b = BUF_INIT;
	bool yes = get_body(c, mb, vv, uid, &b);
	buf_free(&b);
	return yes;
}

bool body_is(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n)
{
	struct buf want = BUF_INIT, got = BUF_INIT;
	fill(&want, n, uid);
	bool yes = get_body(c, mb, vv, uid, &got) && got.len == want.len && !memcmp(got.data, want.data, n);
	buf_free(&want);
	buf_free(&got);
	return yes;
}

const char *ls(const char *rel)
{
	static char out[4096];
	char path[512];
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	struct dirent **v;
	int n = scandir(path, &v, NULL, alphasort);
	if (n < 0)
		return "-";
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(v[i]->d_name, ".") && strcmp(v[i]->d_name, "..")) {
			if (out[0])
				strncat(out, " ", sizeof out - strlen(out) - 1);
			strncat(out, v[i]->d_name, sizeof out - strlen(out) - 1);
		}
		free(v[i]);
	}
	free(v);
	return out;
}

long long file_size(const char *rel)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	return lstat(path, &st) == 0 ? (long long)st.st_size : -1;
}
void touch(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

uint64_t mail_bytes_on_disk(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/mail", cdir);
	return du_bytes(path);
}

void make_listing(struct cache_listing *l, uint32_t uidvalidity, size_t n)
{
	memset(l, 0, sizeof *l);
	l->uidvalidity = uidvalidity;
	l->uidnext = (uint32_t)(3 * n + 10);
	l->messages = (uint32_t)n;
	l->highestmodseq = 0x123456789abcdefULL;
	l->mtime = 1700000000 + (int64_t)n;
	l->n = n;
	l->msgs = calloc(n ? n : 1, sizeof *l->msgs);
	for (size_t i = 0; i < n; i++) {
		l->msgs[i].uid = (uint32_t)(3 * i + 1);
		l->msgs[i].size = ((uint64_t)i << 33) + i;
		l->msgs[i].internaldate = i % 2 ? -(int64_t)i * 86400 : (int64_t)i * 1000000007;
		l->msgs[i].modseq = (uint64_t)i * 0x100000001ULL;
		l->msgs[i].changed = i % 3 ? 0 : 1600000000 + (int64_t)i;
	}
}

void assert_listing_eq(const struct cache_listing *a, const struct cache_listing *b)
{
	ck_assert_uint_eq(a->uidvalidity, b->uidvalidity);
	ck_assert_uint_eq(a->uidnext, b->uidnext);
	ck_assert_uint_eq(a->messages, b->messages);
	ck_assert_uint_eq(a->highestmodseq, b->highestmodseq);
	ck_assert_int_eq(a->mtime, b->mtime);
	ck_assert_uint_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->msgs[i].uid, b->msgs[i].uid);
		ck_assert_uint_eq(a->msgs[i].size, b->msgs[i].size);
		ck_assert_int_eq(a->msgs[i].internaldate, b->msgs[i].internaldate);
		ck_assert_uint_eq(a->msgs[i].flags, b->msgs[i].flags);
		ck_assert_uint_eq(a->msgs[i].modseq, b->msgs[i].modseq);
		ck_assert_int_eq(a->msgs[i].changed, b->msgs[i].changed);
	}
}
