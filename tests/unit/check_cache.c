/* check_cache.c: the on-disk cache of bodies and listings. */
#include "config.h"
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_du.h"
#include "check_run.h"

/* Each test gets a fresh directory <base>/t.XXXXXX; the cache lives in
 * <top>/c.  The base of a test case is made and removed by the runner
 * process itself, so a test that fails (its process ends without the
 * checked teardown) leaves nothing behind either. */
static char base[64];
static char top[96];
static char cdir[128];

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)type, (void)f;
	return remove(path);
}

static void rm_tree(const char *path)
{
	chmod(path, 0700);
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void base_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/check_cache.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(base))
		abort();
}

static void base_teardown(void)
{
	rm_tree(base);
}

static void setup(void)
{
	snprintf(top, sizeof top, "%s/t.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(cdir, sizeof cdir, "%s/c", top);
}

static void teardown(void)
{
	rm_tree(top);
}

/* ---- helpers ---- */

static struct cache *open_cache(uint64_t max_bytes)
{
	struct cache *c = NULL;
	struct buf err = BUF_INIT;
	ck_assert_msg(cache_open(&c, cdir, max_bytes, &err) == 0, "cache_open: %s", err.data);
	buf_free(&err);
	return c;
}

static void fill(struct buf *b, size_t n, unsigned seed)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++)
		buf_addch(b, (char)((i * 31 + seed * 7 + i / 256) & 0xff));
}

static void put_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, const void *p, size_t n)
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

static void put_sized(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n)
{
	struct buf b = BUF_INIT;
	fill(&b, n, uid);
	put_body(c, mb, vv, uid, b.data, b.len);
	buf_free(&b);
}

static void read_fd(int fd, struct buf *out)
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

/* The body as the cache serves it; false when not cached. */
static bool get_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, struct buf *out)
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

static bool has_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid)
{
	struct buf b = BUF_INIT;
	bool yes = get_body(c, mb, vv, uid, &b);
	buf_free(&b);
	return yes;
}

static bool body_is(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n)
{
	struct buf want = BUF_INIT, got = BUF_INIT;
	fill(&want, n, uid);
	bool yes = get_body(c, mb, vv, uid, &got) && got.len == want.len && !memcmp(got.data, want.data, n);
	buf_free(&want);
	buf_free(&got);
	return yes;
}

/* Names of the entries of a directory under the cache, sorted, joined by
 * spaces ("" when empty, "-" when missing). */
static const char *ls(const char *rel)
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

static mode_t mode_of(const char *rel)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	ck_assert_msg(lstat(path, &st) == 0, "lstat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static long long file_size(const char *rel)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	return lstat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The path of rel under the cache directory (a static buffer). */
static const char *in_cdir(const char *rel)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	return path;
}

static void touch(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

/* ---- bodies ---- */

START_TEST(test_body_round_trip)
{
	struct cache *c = open_cache(0);
	struct buf body = BUF_INIT, got = BUF_INIT;

	fill(&body, 1 << 20, 5);
	body.data[10] = '\0';  /* binary, with NULs */
	put_body(c, "INBOX", 42, 7, body.data, body.len);
	ck_assert(get_body(c, "INBOX", 42, 7, &got));
	ck_assert_uint_eq(got.len, body.len);
	ck_assert(memcmp(got.data, body.data, body.len) == 0);
	ck_assert_uint_eq(cache_bytes(c), body.len);

	/* An empty body is a body too. */
	put_body(c, "INBOX", 42, 8, "", 0);
	ck_assert(get_body(c, "INBOX", 42, 8, &got));
	ck_assert_uint_eq(got.len, 0);

	/* Other keys are not it. */
	ck_assert(!has_body(c, "INBOX", 42, 9));
	ck_assert(!has_body(c, "INBOX", 43, 7));
	ck_assert(!has_body(c, "Other", 42, 7));
	ck_assert(!has_body(c, "inbox", 42, 7));

	/* The fd is read-only and close-on-exec. */
	int fd = cache_body_open(c, "INBOX", 42, 7);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_lt(write(fd, "x", 1), 0);
	close(fd);

	/* Invalid keys. */
	errno = 0;
	ck_assert_int_eq(cache_body_open(c, "INBOX", 0, 7), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(cache_body_open(c, "", 42, 7), -1);
	ck_assert_int_eq(errno, EINVAL);
	struct cache_writer *w = (struct cache_writer *)1;
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 42, 0, &w, NULL), -1);
	ck_assert_ptr_null(w);

	buf_free(&body);
	buf_free(&got);
	cache_close(c);
}
END_TEST

START_TEST(test_commit_is_atomic)
{
	struct cache *c = open_cache(0);
	struct cache_writer *w;

	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 5, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, "Subject: hi\r\n\r\nbody\r\n", 21), 0);
	/* Written but not committed: not there, though its pack exists. */
	ck_assert(!has_body(c, "INBOX", 1, 5));
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_str_eq(ls("mail/INBOX"), "1");
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	uint64_t size;
	ck_assert_int_eq(cache_writer_commit(w, &size, NULL), 0);
	ck_assert_uint_eq(size, 21);
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	struct buf got = BUF_INIT;
	ck_assert(get_body(c, "INBOX", 1, 5, &got));
	ck_assert_str_eq(got.data, "Subject: hi\r\n\r\nbody\r\n");

	/* Abort leaves nothing behind. */
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 6, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, "partial", 7), 0);
	cache_writer_abort(w);
	ck_assert(!has_body(c, "INBOX", 1, 6));
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	ck_assert_int_eq(file_size("mail/INBOX/1/5.p"), 16 + 21);
	ck_assert_uint_eq(cache_bytes(c), 21);
	cache_writer_abort(NULL);

	/* A second commit of the same body replaces it and is counted once;
	 * an fd opened before keeps the old bytes. */
	int old = cache_body_open(c, "INBOX", 1, 5);
	ck_assert_int_ge(old, 0);
	put_body(c, "INBOX", 1, 5, "new", 3);
	ck_assert(get_body(c, "INBOX", 1, 5, &got));
	ck_assert_str_eq(got.data, "new");
	ck_assert_uint_eq(cache_bytes(c), 3);
	read_fd(old, &got);
	ck_assert_str_eq(got.data, "Subject: hi\r\n\r\nbody\r\n");
	close(old);

	buf_free(&got);
	cache_close(c);
}
END_TEST

/* A write that fails (here EFBIG from a file size limit, standing in for
 * ENOSPC) makes the writer refuse to commit, and nothing is left.  Small
 * bodies are held in memory and written at commit (where the failure then
 * shows); a large one goes to disk as it comes. */
static void write_under_limit(size_t body_size, bool fails_at_write)
{
	struct cache *c = open_cache(0);
	struct cache_writer *w;
	struct buf big = BUF_INIT, err = BUF_INIT;
	struct rlimit old, small = { 4096, 4096 };

	fill(&big, body_size, 1);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 1, &w, NULL), 0);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	errno = 0;
	int rc = cache_writer_write(w, big.data, big.len);
	int e = errno;
	int rc2 = cache_writer_write(w, "x", 1);
	int rc3 = cache_writer_commit(w, NULL, &err);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	if (fails_at_write) {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(e, EFBIG);
		ck_assert_int_eq(rc2, -1);  /* sticky: later small writes fail too */
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(rc2, 0);
	}
	ck_assert_int_eq(rc3, -1);
	ck_assert_msg(strstr(err.data, strerror(EFBIG)), "%s", err.data);
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert_str_eq(ls("mail/INBOX/1"), "");
	ck_assert_uint_eq(cache_bytes(c), 0);
	buf_free(&big);
	buf_free(&err);
	cache_close(c);
}

START_TEST(test_failed_write_cannot_commit)
{
	write_under_limit(512 * 1024, true);
}
END_TEST

START_TEST(test_failed_held_write_cannot_commit)
{
	write_under_limit(8192, false);
}
END_TEST

/* ---- size bound ---- */

/* A record on disk: its 16-byte header and the body. */
#define REC(n) ((uint64_t)(n) + 16)

/* The bytes of the files under mail/. */
static uint64_t mail_bytes_on_disk(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/mail", cdir);
	return du_bytes(path);
}

START_TEST(test_lru_eviction_order)
{
	struct cache *c = open_cache(3 * REC(1000));

	put_sized(c, "INBOX", 1, 1, 1000);
	put_sized(c, "INBOX", 1, 2, 1000);
	put_sized(c, "Sent", 9, 3, 1000);
	cache_trim(c);  /* within budget: nothing goes */
	ck_assert_uint_eq(cache_bytes(c), 3000);
	ck_assert_uint_eq(cache_disk_bytes(c), 3 * REC(1000));
	ck_assert(body_is(c, "INBOX", 1, 1, 1000));  /* 1 is now the most recent */
	/* order, oldest first: 2 3 1; the fourth body makes room as it comes */
	put_sized(c, "INBOX", 1, 4, 1000);
	ck_assert_uint_eq(cache_bytes(c), 3000);
	ck_assert(!has_body(c, "INBOX", 1, 2));
	/* Opening marks used: the order becomes 1 4 3. */
	ck_assert(body_is(c, "INBOX", 1, 1, 1000));
	ck_assert(body_is(c, "INBOX", 1, 4, 1000));
	ck_assert(body_is(c, "Sent", 9, 3, 1000));
	/* A 1500-byte body pushes out the two least recent: 1 and 4. */
	put_sized(c, "INBOX", 1, 5, 1500);
	ck_assert_uint_eq(cache_bytes(c), 2500);
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert(!has_body(c, "INBOX", 1, 4));
	ck_assert(body_is(c, "Sent", 9, 3, 1000));
	ck_assert(body_is(c, "INBOX", 1, 5, 1500));
	/* The evicted files are gone from disk too (with a budget this small
	 * every body has a pack of its own). */
	ck_assert_str_eq(ls("mail/INBOX/1"), "5.p");
	ck_assert_uint_eq(mail_bytes_on_disk(), REC(1000) + REC(1500));
	cache_close(c);
}
END_TEST

START_TEST(test_budget_bounds)
{
	struct cache *c = open_cache(10000);
	uint64_t total = 0, records = 0;

	/* Many bodies: never over budget on disk, not even between commits. */
	for (uint32_t uid = 1; uid <= 200; uid++) {
		size_t n = 100 + (uid * 37) % 900;
		put_sized(c, "INBOX", 7, uid, n);
		ck_assert_uint_le(cache_disk_bytes(c), 10000);
		ck_assert_uint_le(mail_bytes_on_disk(), 10000);
	}
	/* What the index counts is what is on disk. */
	for (uint32_t uid = 1; uid <= 200; uid++) {
		size_t n = 100 + (uid * 37) % 900;
		if (has_body(c, "INBOX", 7, uid)) {
			ck_assert(body_is(c, "INBOX", 7, uid, n));
			total += n;
			records++;
		}
	}
	ck_assert_uint_eq(total, cache_bytes(c));
	ck_assert_uint_eq(total + 16 * records, cache_disk_bytes(c));
	ck_assert_uint_eq(cache_disk_bytes(c), mail_bytes_on_disk());
	ck_assert_uint_gt(cache_disk_bytes(c), 10000 - REC(1000));
	/* The most recent 5 are certainly there. */
	for (uint32_t uid = 196; uid <= 200; uid++)
		ck_assert(has_body(c, "INBOX", 7, uid));

	/* A body bigger than the budget is refused; the budget holds. */
	ck_assert(cache_body_fits(c, 10000 - 16));
	ck_assert(!cache_body_fits(c, 10000 - 15));
	ck_assert(!cache_body_fits(c, UINT64_MAX));
	struct cache_writer *w;
	struct buf big = BUF_INIT, err = BUF_INIT;
	fill(&big, 20000, 1000);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 7, 1000, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, big.data, big.len), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_int_eq(cache_writer_commit(w, NULL, &err), -1);
	ck_assert_msg(strstr(err.data, strerror(EFBIG)), "%s", err.data);
	ck_assert(!has_body(c, "INBOX", 7, 1000));
	ck_assert_uint_le(mail_bytes_on_disk(), 10000);
	put_sized(c, "INBOX", 7, 1001, 10);
	ck_assert(body_is(c, "INBOX", 7, 1001, 10));
	ck_assert_uint_le(cache_disk_bytes(c), 10000);
	buf_free(&big);
	buf_free(&err);
	cache_close(c);

	/* A smaller budget at the next open: the oldest go at once. */
	c = open_cache(2000);
	ck_assert_uint_le(cache_disk_bytes(c), 2000);
	ck_assert_uint_le(mail_bytes_on_disk(), 2000);
	ck_assert(body_is(c, "INBOX", 7, 1001, 10));
	cache_close(c);

	/* 0 = unbounded. */
	c = open_cache(0);
	put_sized(c, "INBOX", 7, 2000, 50000);
	cache_trim(c);
	ck_assert(body_is(c, "INBOX", 7, 2000, 50000));
	ck_assert(cache_body_fits(c, UINT64_MAX));
	cache_close(c);
}
END_TEST

/* A body far longer than the server announced streams in: at no point do
 * the files on disk pass the budget.  Room is made by evicting older
 * bodies while it fits; once it cannot fit, its writes fail (EFBIG) and
 * nothing of it stays. */
START_TEST(test_budget_holds_while_a_body_streams)
{
	const uint64_t budget = 100000;
	struct cache *c = open_cache(budget);
	for (uint32_t uid = 1; uid <= 50; uid++)
		put_sized(c, "INBOX", 3, uid, 1000);
	struct buf chunk = BUF_INIT;
	fill(&chunk, 8192, 99);

	/* 80 KB: fits once older bodies are gone */
	struct cache_writer *w;
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 3, 99, &w, NULL), 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(cache_writer_write(w, chunk.data, chunk.len), 0);
		ck_assert_uint_le(mail_bytes_on_disk(), budget);
		ck_assert_uint_le(cache_disk_bytes(c), budget);
	}
	ck_assert_int_eq(cache_writer_commit(w, NULL, NULL), 0);
	ck_assert_uint_le(mail_bytes_on_disk(), budget);
	ck_assert(has_body(c, "INBOX", 3, 99));
	ck_assert(has_body(c, "INBOX", 3, 50));
	ck_assert(!has_body(c, "INBOX", 3, 1));

	/* 1.5 MB: refused once it outgrows the budget, the bound held meanwhile */
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 3, 100, &w, NULL), 0);
	int refused_at = -1;
	for (int i = 0; i < 180 && refused_at < 0; i++) {
		if (cache_writer_write(w, chunk.data, chunk.len) < 0) {
			ck_assert_int_eq(errno, EFBIG);
			refused_at = i;
		}
		ck_assert_uint_le(mail_bytes_on_disk(), budget);
		ck_assert_uint_le(cache_disk_bytes(c), budget);
	}
	ck_assert_int_eq(refused_at, (int)(budget / chunk.len));
	cache_writer_abort(w);
	ck_assert(!has_body(c, "INBOX", 3, 100));
	ck_assert_uint_eq(cache_disk_bytes(c), mail_bytes_on_disk());
	put_sized(c, "INBOX", 3, 101, 500);
	ck_assert(body_is(c, "INBOX", 3, 101, 500));
	ck_assert_uint_le(mail_bytes_on_disk(), budget);
	buf_free(&chunk);
	cache_close(c);
}
END_TEST

START_TEST(test_evicted_body_still_readable_when_open)
{
	struct cache *c = open_cache(1500);
	struct buf want = BUF_INIT, got = BUF_INIT;

	put_sized(c, "INBOX", 1, 1, 1000);
	int fd = cache_body_open(c, "INBOX", 1, 1);
	ck_assert_int_ge(fd, 0);
	put_sized(c, "INBOX", 1, 2, 1000);
	cache_trim(c);
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert_uint_eq(cache_bytes(c), 1000);
	fill(&want, 1000, 1);
	read_fd(fd, &got);
	ck_assert_uint_eq(got.len, 1000);
	ck_assert(memcmp(got.data, want.data, 1000) == 0);
	close(fd);
	buf_free(&want);
	buf_free(&got);
	cache_close(c);
}
END_TEST

/* ---- packs ---- */

static bool span_is(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n, uint64_t *offset)
{
	struct cache_span sp;
	if (cache_body_get(c, mb, vv, uid, &sp) < 0)
		return false;
	ck_assert_int_eq(fcntl(sp.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(fcntl(sp.fd, F_GETFD) & FD_CLOEXEC);
	struct buf want = BUF_INIT, got = BUF_INIT;
	fill(&want, n, uid);
	buf_grow(&got, n + 1);
	ssize_t r = n ? pread(sp.fd, got.data, n, (off_t)sp.offset) : 0;
	bool yes = sp.size == n && r == (ssize_t)n && !memcmp(got.data, want.data, n);
	if (offset)
		*offset = sp.offset;
	close(sp.fd);
	buf_free(&want);
	buf_free(&got);
	return yes;
}

START_TEST(test_bodies_share_packs)
{
	struct cache *c = open_cache(32000);  /* packs sealed at 1000 bytes */
	uint64_t o1, o2;

	put_sized(c, "INBOX", 4, 1, 600);
	put_sized(c, "INBOX", 4, 2, 600);  /* 1.p is 1232 bytes now: sealed */
	put_sized(c, "INBOX", 4, 3, 10);
	ck_assert_str_eq(ls("mail/INBOX/4"), "1.p 3.p");
	ck_assert(span_is(c, "INBOX", 4, 1, 600, &o1));
	ck_assert(span_is(c, "INBOX", 4, 2, 600, &o2));
	ck_assert_uint_eq(o1, 16);
	ck_assert_uint_eq(o2, 16 + 600 + 16);
	ck_assert(span_is(c, "INBOX", 4, 3, 10, &o1));
	ck_assert_uint_eq(o1, 16);
	ck_assert(body_is(c, "INBOX", 4, 2, 600));  /* the copy cache_body_open gives */

	/* Two writers at once append to packs of their own. */
	struct cache_writer *a, *b;
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 4, 10, &a, NULL), 0);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 4, 11, &b, NULL), 0);
	ck_assert_int_eq(cache_writer_write(b, "bbbb", 4), 0);
	ck_assert_int_eq(cache_writer_write(a, "aa", 2), 0);
	ck_assert_int_eq(cache_writer_commit(b, NULL, NULL), 0);
	ck_assert_int_eq(cache_writer_commit(a, NULL, NULL), 0);
	ck_assert_str_eq(ls("mail/INBOX/4"), "1.p 11.p 3.p");
	struct buf got = BUF_INIT;
	ck_assert(get_body(c, "INBOX", 4, 10, &got));
	ck_assert_uint_eq(got.len, 2);
	ck_assert(get_body(c, "INBOX", 4, 11, &got));
	ck_assert_uint_eq(got.len, 4);
	buf_free(&got);

	/* Every generation has packs of its own. */
	put_sized(c, "INBOX", 5, 1, 10);
	ck_assert_str_eq(ls("mail/INBOX/5"), "1.p");
	cache_close(c);

	/* After a restart all is there, and new bodies go to a new pack. */
	c = open_cache(32000);
	ck_assert_uint_eq(cache_bytes(c), 600 + 600 + 10 + 2 + 4 + 10);
	ck_assert(span_is(c, "INBOX", 4, 2, 600, NULL));
	put_sized(c, "INBOX", 4, 20, 10);
	ck_assert_str_eq(ls("mail/INBOX/4"), "1.p 11.p 20.p 3.p");
	cache_close(c);
}
END_TEST

START_TEST(test_eviction_takes_whole_packs)
{
	struct cache *c = open_cache(32000);  /* packs of four 300-byte bodies */

	for (uint32_t uid = 1; uid <= 100; uid++)
		put_sized(c, "INBOX", 4, uid, 300);
	ck_assert_int_eq(file_size("mail/INBOX/4/5.p"), 4 * REC(300));
	ck_assert_int_eq(file_size("mail/INBOX/4/2.p"), -1);
	ck_assert_uint_eq(cache_disk_bytes(c), 25 * 4 * REC(300));
	ck_assert(body_is(c, "INBOX", 4, 1, 300));  /* 1.p is the newest now */
	/* 20 more need five packs' room: the five oldest but the one just
	 * read go (5.p to 21.p), four bodies each, as the new ones come */
	for (uint32_t uid = 101; uid <= 120; uid++)
		put_sized(c, "INBOX", 4, uid, 300);
	ck_assert_uint_eq(cache_bytes(c), (120 - 20) * 300);
	ck_assert(has_body(c, "INBOX", 4, 1));
	ck_assert(has_body(c, "INBOX", 4, 4));
	ck_assert(!has_body(c, "INBOX", 4, 5));
	ck_assert(!has_body(c, "INBOX", 4, 24));
	ck_assert(has_body(c, "INBOX", 4, 25));
	ck_assert(body_is(c, "INBOX", 4, 120, 300));
	ck_assert_int_eq(file_size("mail/INBOX/4/5.p"), -1);
	ck_assert_int_eq(file_size("mail/INBOX/4/21.p"), -1);
	/* an fd had before eviction still reads */
	struct cache_span sp;
	ck_assert_int_eq(cache_body_get(c, "INBOX", 4, 25, &sp), 0);
	for (uint32_t uid = 200; uid < 320; uid++)
		put_sized(c, "Sent", 1, uid, 300);
	ck_assert(!has_body(c, "INBOX", 4, 25));
	ck_assert_int_eq(file_size("mail/INBOX/4/25.p"), -1);
	struct buf want = BUF_INIT, got = BUF_INIT;
	fill(&want, 300, 25);
	buf_grow(&got, 300);
	ck_assert_int_eq(pread(sp.fd, got.data, 300, (off_t)sp.offset), 300);
	ck_assert(!memcmp(got.data, want.data, 300));
	close(sp.fd);
	buf_free(&want);
	buf_free(&got);
	ck_assert_uint_le(mail_bytes_on_disk(), 32000);
	cache_close(c);
}
END_TEST

/* A record whose length never got written, or whose bytes are not all
 * there, ends what is read of its pack; the bodies before it stay. */
START_TEST(test_incomplete_records_not_served)
{
	struct cache *c = open_cache(0);
	put_sized(c, "INBOX", 4, 1, 100);
	put_sized(c, "INBOX", 4, 2, 100);
	put_sized(c, "INBOX", 4, 3, 100);
	cache_close(c);
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/4/1.p", cdir);
	ck_assert_int_eq(truncate(path, 3 * 116 - 1), 0);  /* 3 is one byte short */
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 200);
	ck_assert(body_is(c, "INBOX", 4, 2, 100));
	ck_assert(!has_body(c, "INBOX", 4, 3));
	ck_assert(!cache_body_has(c, "INBOX", 4, 3));
	cache_close(c);

	/* a header still saying "not committed" */
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 116), 0);
	unsigned char h[16 + 5] = { 'I', 'M', 'B', '1', 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				    'x', 'x', 'x', 'x', 'x' };
	ck_assert_int_eq(pwrite(fd, h, sizeof h, 116), (ssize_t)sizeof h);
	close(fd);
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 100);
	ck_assert(body_is(c, "INBOX", 4, 1, 100));
	ck_assert(!has_body(c, "INBOX", 4, 2));
	cache_close(c);

	/* nothing readable at all: the pack goes */
	ck_assert_int_eq(truncate(path, 10), 0);
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_str_eq(ls("mail/INBOX/4"), "");
	cache_close(c);
}
END_TEST

/* Caches of older versions hold one file per body: still served. */
START_TEST(test_bare_body_files_served)
{
	struct cache *c = open_cache(0);
	put_sized(c, "INBOX", 4, 1, 10);
	cache_close(c);
	struct buf b = BUF_INIT;
	fill(&b, 500, 7);
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/4/7", cdir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 510);
	uint64_t off;
	ck_assert(span_is(c, "INBOX", 4, 7, 500, &off));
	ck_assert_uint_eq(off, 0);
	ck_assert(body_is(c, "INBOX", 4, 7, 500));
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 0), 0);
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_str_eq(ls("mail"), "");
	buf_free(&b);
	cache_close(c);
}
END_TEST

/* ---- listings ---- */

static void make_listing(struct cache_listing *l, uint32_t uidvalidity, size_t n)
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

static void assert_listing_eq(const struct cache_listing *a, const struct cache_listing *b)
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

/* Flag lists survive a save and a new cache_open (another table of ids):
 * the same texts come back, one list shared by many messages is stored
 * once, and "not known" stays apart from "no flags". */
START_TEST(test_listing_keeps_flags)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	const char *texts[] = { "\\Seen", "", "\\Seen $Label \\Flagged", NULL };
	make_listing(&l, 9, 400);
	for (size_t i = 0; i < l.n; i++) {
		const char *t = texts[i % 4];
		l.msgs[i].flags = t ? cache_flags_id(c, t, strlen(t)) : 0;
	}
	ck_assert_uint_eq(cache_flags_id(c, "\\Seen", 5), l.msgs[0].flags);  /* interned */
	ck_assert_uint_ne(l.msgs[0].flags, l.msgs[1].flags);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_close(c);
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/listing", cdir);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	/* three lists, once each: header, name, lists, records, checksum */
	ck_assert_int_eq(st.st_size, 56 + 5 + (4 + 5) + 4 + (4 + 21) + 400 * 40 + 8);
	c = open_cache(0);
	cache_flags_id(c, "$Other", 6);  /* the ids of the new table differ */
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	ck_assert_uint_eq(got.n, l.n);
	for (size_t i = 0; i < got.n; i++) {
		const char *t = texts[i % 4];
		if (!t) {
			ck_assert_uint_eq(got.msgs[i].flags, 0);
			continue;
		}
		ck_assert_str_eq(cache_flags_text(c, got.msgs[i].flags), t);
		got.msgs[i].flags = l.msgs[i].flags;  /* for the comparison of the rest */
	}
	assert_listing_eq(&l, &got);
	ck_assert_ptr_null(cache_flags_text(c, 0));
	ck_assert_ptr_null(cache_flags_text(c, 1000));
	cache_listing_free(&got);
	cache_listing_free(&l);
	cache_close(c);
}
END_TEST

/* The cache's creation time is its marker's, the same at every open. */
START_TEST(test_created_is_kept)
{
	struct cache *c = open_cache(0);
	int64_t t = cache_created(c);
	ck_assert_int_gt(t, 0);
	cache_close(c);
	char path[512];
	snprintf(path, sizeof path, "%s/imapfs-cache", cdir);
	struct timespec old[2] = { { 1500000000, 0 }, { 1500000000, 0 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	c = open_cache(0);
	ck_assert_int_eq(cache_created(c), 1500000000);
	cache_close(c);
}
END_TEST

START_TEST(test_listing_round_trip)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	struct buf err = BUF_INIT;

	errno = 0;
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_ptr_null(got.msgs);

	make_listing(&l, 77, 5000);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, &err), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	ck_assert_ptr_null(got.msgs);
	cache_listing_free(&got);  /* twice is harmless */
	cache_listing_free(&l);

	/* Saving again replaces; an empty listing is fine; mailboxes apart. */
	make_listing(&l, 78, 0);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, &err), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	ck_assert_int_eq(cache_listing_load(c, "INBOX.Sub", &got), -1);
	ck_assert_str_eq(ls("mail/INBOX"), "listing");  /* no temp left */
	cache_listing_free(&l);

	/* Unsorted or duplicate uids are refused. */
	make_listing(&l, 79, 3);
	l.msgs[2].uid = l.msgs[1].uid;
	errno = 0;
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, &err), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_gt(err.len, 0);
	cache_listing_free(&l);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	ck_assert_uint_eq(got.uidvalidity, 78);
	cache_listing_free(&got);
	buf_free(&err);
	cache_close(c);
}
END_TEST

/* Rewrites the INBOX listing file through fn, then expects load to refuse
 * it and remove it. */
static void corrupt_and_check(struct cache *c, void (*fn)(struct buf *file))
{
	char path[512];
	struct cache_listing l, got;
	struct buf file = BUF_INIT;

	make_listing(&l, 5, 10);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	snprintf(path, sizeof path, "%s/mail/INBOX/listing", cdir);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	read_fd(fd, &file);
	close(fd);
	fn(&file);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, file.data, file.len), (ssize_t)file.len);
	close(fd);
	errno = 0;
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_null(got.msgs);
	ck_assert_int_eq(access(path, F_OK), -1);
	errno = 0;
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	buf_free(&file);
}

static void flip_middle(struct buf *f) { f->data[f->len / 2] ^= 0x01; }
static void flip_header(struct buf *f) { f->data[16] ^= 0x40; }   /* uidvalidity */
static void flip_checksum(struct buf *f) { f->data[f->len - 1] ^= 0x80; }
static void truncate_record(struct buf *f) { buf_truncate(f, f->len - 9); }
static void truncate_header(struct buf *f) { buf_truncate(f, 20); }
static void empty_file(struct buf *f) { buf_truncate(f, 0); }
static void append_garbage(struct buf *f) { buf_add(f, "garbage!", 8); }
static void bad_version(struct buf *f) { f->data[8] = 1; }  /* no flags: listed again */
/* a flag list's length that runs past the file, with the checksum fixed */
static void fix_checksum(struct buf *f);
static void long_flag_list(struct buf *f)
{
	size_t at = 56 + 5;
	f->data[28] = 1;  /* one list, of 2 GiB */
	memcpy(f->data + at, "\xff\xff\xff\x7f", 4);
	fix_checksum(f);
}
static void bad_magic(struct buf *f) { f->data[0] = 'X'; }

/* Records moved around but checksum recomputed is still caught by the
 * sortedness check: swap two records and fix the FNV-1a sum. */
static void swap_records(struct buf *f)
{
	size_t name_len = 5, rec = 56 + name_len;
	char tmp[40];
	memcpy(tmp, f->data + rec, 40);
	memcpy(f->data + rec, f->data + rec + 40, 40);
	memcpy(f->data + rec + 40, tmp, 40);
	fix_checksum(f);
}

static void fix_checksum(struct buf *f)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < f->len - 8; i++)
		h = (h ^ (unsigned char)f->data[i]) * 0x100000001b3u;
	for (int i = 0; i < 8; i++)
		f->data[f->len - 8 + i] = (char)(h >> (8 * i));
}

START_TEST(test_corrupt_listing_rejected_and_removed)
{
	struct cache *c = open_cache(0);
	corrupt_and_check(c, flip_middle);
	corrupt_and_check(c, flip_header);
	corrupt_and_check(c, flip_checksum);
	corrupt_and_check(c, truncate_record);
	corrupt_and_check(c, truncate_header);
	corrupt_and_check(c, empty_file);
	corrupt_and_check(c, append_garbage);
	corrupt_and_check(c, bad_version);
	corrupt_and_check(c, bad_magic);
	corrupt_and_check(c, swap_records);
	corrupt_and_check(c, long_flag_list);
	cache_close(c);
}
END_TEST

START_TEST(test_listing_of_another_mailbox_rejected)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	char from[512], to[512];

	make_listing(&l, 5, 3);
	ck_assert_int_eq(cache_listing_save(c, "Sent", &l, NULL), 0);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	snprintf(from, sizeof from, "%s/mail/Sent/listing", cdir);
	snprintf(to, sizeof to, "%s/mail/INBOX/listing", cdir);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(access(to, F_OK), -1);
	cache_close(c);
}
END_TEST

/* ---- UIDVALIDITY changes ---- */

START_TEST(test_drop_mailbox_is_immediate)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	struct cache_writer *w;
	struct buf err = BUF_INIT, b = BUF_INIT;

	put_sized(c, "INBOX", 1, 1, 100);
	put_sized(c, "INBOX", 1, 2, 200);
	put_sized(c, "INBOX", 2, 1, 400);
	put_sized(c, "Sent", 1, 1, 800);
	make_listing(&l, 1, 2);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	int fd = cache_body_open(c, "INBOX", 1, 2);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 3, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, "late", 4), 0);

	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 2), 0);
	/* Nothing of generation 1 can be had any more... */
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert(!has_body(c, "INBOX", 1, 2));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(cache_bytes(c), 400 + 800);
	ck_assert_str_eq(ls("mail/INBOX"), "2");
	ck_assert_str_eq(ls("mail"), "INBOX Sent");  /* trash deleted already */
	/* ...not even by a commit that was under way. */
	ck_assert_int_eq(cache_writer_commit(w, NULL, &err), -1);
	ck_assert_uint_gt(err.len, 0);
	ck_assert(!has_body(c, "INBOX", 1, 3));
	ck_assert_uint_eq(cache_bytes(c), 400 + 800);
	/* An fd opened before still reads. */
	read_fd(fd, &b);
	ck_assert_uint_eq(b.len, 200);
	close(fd);
	/* The kept generation and other mailboxes are untouched. */
	ck_assert(body_is(c, "INBOX", 2, 1, 400));
	ck_assert(body_is(c, "Sent", 1, 1, 800));

	/* The listing of the kept generation stays. */
	make_listing(&l, 2, 1);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 2), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	cache_listing_free(&got);
	ck_assert(has_body(c, "INBOX", 2, 1));

	/* 0 drops everything of that mailbox. */
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 0), 0);
	ck_assert(!has_body(c, "INBOX", 2, 1));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_str_eq(ls("mail"), "Sent");
	ck_assert_uint_eq(cache_bytes(c), 800);
	/* Dropping what is not there is fine; new bodies work again. */
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 0), 0);
	ck_assert_int_eq(cache_drop_mailbox(c, "Nowhere", 3), 0);
	put_sized(c, "INBOX", 3, 1, 10);
	ck_assert(body_is(c, "INBOX", 3, 1, 10));
	ck_assert_uint_eq(cache_bytes(c), 810);
	buf_free(&err);
	buf_free(&b);
	cache_close(c);
}
END_TEST

/* ---- directory safety and layout ---- */

START_TEST(test_modes_enforced)
{
	struct cache *c;
	struct buf err = BUF_INIT;

	umask(0);  /* modes must not depend on the umask */
	snprintf(cdir, sizeof cdir, "%s/new/deeper/c", top);
	c = open_cache(0);
	put_sized(c, "INBOX", 1, 1, 10);
	struct cache_listing l;
	make_listing(&l, 1, 1);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	cache_close(c);
	ck_assert_uint_eq(mode_of(""), 0700);
	ck_assert_uint_eq(mode_of(".."), 0700);  /* created by mkdir -p */
	ck_assert_uint_eq(mode_of("mail"), 0700);
	ck_assert_uint_eq(mode_of("recovery"), 0700);
	ck_assert_uint_eq(mode_of("mail/INBOX"), 0700);
	ck_assert_uint_eq(mode_of("mail/INBOX/1"), 0700);
	ck_assert_uint_eq(mode_of("mail/INBOX/1/1.p"), 0600);
	ck_assert_uint_eq(mode_of("mail/INBOX/listing"), 0600);
	ck_assert_uint_eq(mode_of("lock"), 0600);

	/* An existing directory of ours that others may read is tightened. */
	ck_assert_int_eq(chmod(cdir, 0755), 0);
	c = open_cache(0);
	cache_close(c);
	ck_assert_uint_eq(mode_of(""), 0700);

	/* One that others may write is refused (and left as it is). */
	ck_assert_int_eq(chmod(cdir, 0777), 0);
	c = (struct cache *)1;
	errno = 0;
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err.data, "writable by others") != NULL, "%s", err.data);
	ck_assert_uint_eq(mode_of(""), 0777);
	ck_assert_int_eq(chmod(cdir, 0700), 0);

	/* One owned by somebody else is refused. */
	buf_reset(&err);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(cdir, 65534, 65534), 0);
		ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
		ck_assert_int_eq(chown(cdir, 0, 0), 0);
	} else {
		ck_assert_int_eq(cache_open(&c, "/usr", 0, &err), -1);  /* root's */
	}
	ck_assert_int_eq(errno, EACCES);
	ck_assert_msg(strstr(err.data, "owned by uid") != NULL, "%s", err.data);

	/* A file where the directory should be. */
	buf_reset(&err);
	snprintf(cdir, sizeof cdir, "%s/file", top);
	int fd = open(cdir, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_uint_gt(err.len, 0);
	buf_free(&err);
}
END_TEST

/* A cachedir that holds something else (a home directory, a typo) is
 * refused untouched: no chmod, nothing added.  An empty one, a marked
 * one and one an imapfs made before the marker existed are taken. */
START_TEST(test_foreign_directory_refused)
{
	struct cache *c;
	struct buf err = BUF_INIT;

	snprintf(cdir, sizeof cdir, "%s/home", top);
	ck_assert_int_eq(mkdir(cdir, 0755), 0);
	ck_assert_int_eq(chmod(cdir, 0755), 0);
	touch("notes.txt");
	ck_assert_int_eq(mkdir(in_cdir("photos"), 0755), 0);
	c = (struct cache *)1;
	errno = 0;
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, ENOTEMPTY);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err.data, "is no imapfs cache") != NULL, "%s", err.data);
	ck_assert_uint_eq(mode_of(""), 0755);
	ck_assert_str_eq(ls(""), "notes.txt photos");

	/* a marker that is not one does not make it ours */
	ck_assert_int_eq(symlink("/etc/hostname", in_cdir("imapfs-cache")), 0);
	buf_reset(&err);
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_str_eq(ls(""), "imapfs-cache notes.txt photos");

	/* an empty directory is taken and marked (a new file system's
	 * lost+found does not count) */
	snprintf(cdir, sizeof cdir, "%s/empty", top);
	ck_assert_int_eq(mkdir(cdir, 0755), 0);
	ck_assert_int_eq(mkdir(in_cdir("lost+found"), 0700), 0);
	c = open_cache(0);
	put_sized(c, "INBOX", 1, 1, 10);
	cache_close(c);
	ck_assert_uint_eq(mode_of(""), 0700);
	ck_assert_uint_eq(mode_of("imapfs-cache"), 0600);
	ck_assert_str_eq(ls(""), "imapfs-cache lock lost+found mail recovery state");
	c = open_cache(0);
	ck_assert(body_is(c, "INBOX", 1, 1, 10));
	cache_close(c);

	/* a cache from before the marker: taken, and marked */
	char mark[512];
	snprintf(mark, sizeof mark, "%s", in_cdir("imapfs-cache"));
	ck_assert_int_eq(unlink(mark), 0);
	c = open_cache(0);
	ck_assert(body_is(c, "INBOX", 1, 1, 10));
	cache_close(c);
	ck_assert_int_eq(access(mark, F_OK), 0);

	/* ...but not once something else was put beside it */
	ck_assert_int_eq(unlink(mark), 0);
	touch("thesis.tex");
	buf_reset(&err);
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, ENOTEMPTY);
	ck_assert_int_eq(access(mark, F_OK), -1);
	buf_free(&err);
}
END_TEST

START_TEST(test_mailbox_directory_names)
{
	struct cache *c = open_cache(0);
	struct buf longname = BUF_INIT, other = BUF_INIT;

	put_sized(c, "Reisen.Z&APw-rich", 1, 1, 11);
	put_sized(c, "..", 1, 1, 12);
	put_sized(c, ".", 1, 1, 13);
	put_sized(c, "../../evil", 1, 1, 14);
	put_sized(c, "a/b", 1, 1, 15);
	put_sized(c, "100% sure", 1, 1, 16);
	ck_assert_str_eq(ls("mail"), "%2E %2E. %2E.%2F..%2Fevil 100%25%20sure Reisen.Z%26APw-rich a%2Fb");
	ck_assert(body_is(c, "..", 1, 1, 12));
	ck_assert(body_is(c, ".", 1, 1, 13));
	ck_assert(body_is(c, "a/b", 1, 1, 15));
	ck_assert_str_eq(ls(".."), "c");  /* nothing escaped the cache */

	/* Long names are shortened with a hash; two with a common prefix stay
	 * apart. */
	for (int i = 0; i < 1000; i++)
		buf_addch(&longname, (char)('a' + i % 26));
	buf_addstr(&other, longname.data);
	buf_addch(&longname, '1');
	buf_addch(&other, '2');
	put_sized(c, longname.data, 1, 1, 21);
	put_sized(c, other.data, 1, 1, 22);
	ck_assert(body_is(c, longname.data, 1, 1, 21));
	ck_assert(body_is(c, other.data, 1, 1, 22));
	struct dirent **v;
	char mail[512];
	snprintf(mail, sizeof mail, "%s/mail", cdir);
	int n = scandir(mail, &v, NULL, alphasort), hashed = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_le(strlen(v[i]->d_name), 255);
		if (strchr(v[i]->d_name, '~'))
			hashed++;
		free(v[i]);
	}
	free(v);
	ck_assert_int_eq(hashed, 2);
	/* and their listings carry the full name */
	struct cache_listing l, got;
	make_listing(&l, 1, 2);
	ck_assert_int_eq(cache_listing_save(c, longname.data, &l, NULL), 0);
	ck_assert_int_eq(cache_listing_load(c, longname.data, &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	ck_assert_int_eq(cache_listing_load(c, other.data, &got), -1);
	cache_listing_free(&l);
	buf_free(&longname);
	buf_free(&other);
	cache_close(c);
}
END_TEST

/* ---- recovery ---- */

static void read_file(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	read_fd(fd, out);
	close(fd);
}

START_TEST(test_recovery_files)
{
	struct cache *c = open_cache(0);
	struct buf saved[5] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	struct buf got = BUF_INIT, err = BUF_INIT, want = BUF_INIT;
	char prefix[256];
	char *real = realpath(cdir, NULL);
	ck_assert_ptr_nonnull(real);
	snprintf(prefix, sizeof prefix, "%s/recovery/", real);
	free(real);

	ck_assert_int_eq(cache_save_recovery(c, "draft.eml", -1, "From: me\r\n\r\nhi\r\n", 16, &saved[0], &err), 0);
	ck_assert_msg(strncmp(saved[0].data, prefix, strlen(prefix)) == 0, "%s", saved[0].data);
	ck_assert_msg(strstr(saved[0].data, "-draft.eml") != NULL, "%s", saved[0].data);
	read_file(saved[0].data, &got);
	ck_assert_str_eq(got.data, "From: me\r\n\r\nhi\r\n");
	struct stat st;
	ck_assert_int_eq(stat(saved[0].data, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	/* A clash gets a "-2": names for this second and the next ones are
	 * taken beforehand, whenever the save falls. */
	time_t now = time(NULL);
	for (time_t t = now; t < now + 30; t++) {
		char stamp[32], rel[96];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		snprintf(rel, sizeof rel, "recovery/%s-clash", stamp);
		touch(rel);
	}
	ck_assert_int_eq(cache_save_recovery(c, "clash", -1, "two", 3, &saved[1], &err), 0);
	size_t n = saved[1].len;
	ck_assert_msg(n > 8 && !strcmp(saved[1].data + n - 8, "-clash-2"), "%s", saved[1].data);
	read_file(saved[1].data, &got);
	ck_assert_str_eq(got.data, "two");

	/* A hostile name stays inside recovery/. */
	ck_assert_int_eq(cache_save_recovery(c, "../../etc/x", -1, "x", 1, &saved[2], &err), 0);
	ck_assert_msg(strncmp(saved[2].data, prefix, strlen(prefix)) == 0, "%s", saved[2].data);
	ck_assert_ptr_null(strchr(saved[2].data + strlen(prefix), '/'));
	ck_assert_msg(strstr(saved[2].data, "-%2E.%2F..%2Fetc%2Fx") != NULL, "%s", saved[2].data);

	/* From an fd: all of its content, its offset untouched. */
	char tmpl[160];
	snprintf(tmpl, sizeof tmpl, "%s/src.XXXXXX", top);
	int src = mkstemp(tmpl);
	ck_assert_int_ge(src, 0);
	fill(&want, 200000, 3);
	ck_assert_int_eq(write(src, want.data, want.len), (ssize_t)want.len);
	ck_assert_int_eq(lseek(src, 0, SEEK_CUR), (off_t)want.len);
	ck_assert_int_eq(cache_save_recovery(c, "big", src, NULL, 0, &saved[3], &err), 0);
	ck_assert_int_eq(lseek(src, 0, SEEK_CUR), (off_t)want.len);
	close(src);
	read_file(saved[3].data, &got);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert(memcmp(got.data, want.data, want.len) == 0);

	/* Recovery files are not cache bytes. */
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_uint_eq(err.len, 0);
	cache_close(c);

	/* They survive a restart, even with the smallest budget. */
	c = open_cache(1);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(access(saved[i].data, F_OK) == 0, "%s", saved[i].data);
	read_file(saved[0].data, &got);
	ck_assert_str_eq(got.data, "From: me\r\n\r\nhi\r\n");
	cache_close(c);
	for (int i = 0; i < 5; i++)
		buf_free(&saved[i]);
	buf_free(&got);
	buf_free(&err);
	buf_free(&want);
}
END_TEST

/* ---- threads ---- */

struct worker {
	struct cache *c;
	int id;
	bool shared_keys;
	int failures;
};

#define WORKERS 6
#define BODIES 60

static size_t body_len(uint32_t uid)
{
	return 1 + (uid * 131) % 5000;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct buf body = BUF_INIT;

	for (uint32_t i = 1; i <= BODIES; i++) {
		uint32_t uid = w->shared_keys ? i : (uint32_t)w->id * 1000 + i;
		struct cache_writer *cw;
		fill(&body, body_len(uid), uid);
		if (cache_body_begin(w->c, "INBOX", 9, uid, &cw, NULL) < 0) {
			w->failures++;
			continue;
		}
		size_t half = body.len / 2;
		if (cache_writer_write(cw, body.data, half) < 0 ||
		    cache_writer_write(cw, body.data + half, body.len - half) < 0 ||
		    cache_writer_commit(cw, NULL, NULL) < 0) {
			w->failures++;
			continue;
		}
		cache_trim(w->c);
		int fd = cache_body_open(w->c, "INBOX", 9, uid);
		if (fd < 0) {
			if (errno != ENOENT)  /* evicted by another thread's trim: fine */
				w->failures++;
			continue;
		}
		char chunk[8192];
		ssize_t r = pread(fd, chunk, sizeof chunk, 0);
		if (r != (ssize_t)body.len || memcmp(chunk, body.data, body.len) != 0)
			w->failures++;
		close(fd);
	}
	buf_free(&body);
	return NULL;
}

static void run_workers(struct cache *c, bool shared_keys)
{
	pthread_t t[WORKERS];
	struct worker w[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ .c = c, .id = i + 1, .shared_keys = shared_keys };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].failures, 0);
	}
}

/* The complete records of a pack file, as (uid, offset, length) triples;
 * the number of them. */
static size_t pack_records(const char *rel, uint64_t (*out)[3], size_t max)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	unsigned char h[16];
	uint64_t off = 0;
	size_t n = 0;
	while (n < max && pread(fd, h, sizeof h, (off_t)off) == (ssize_t)sizeof h && !memcmp(h, "IMB1", 4)) {
		uint64_t uid = 0, len = 0;
		for (int i = 3; i >= 0; i--)
			uid = uid << 8 | h[4 + i];
		for (int i = 7; i >= 0; i--)
			len = len << 8 | h[8 + i];
		if (len > (uint64_t)st.st_size - off - 16)
			break;
		out[n][0] = uid;
		out[n][1] = off + 16;
		out[n][2] = len;
		n++;
		off += 16 + len;
	}
	close(fd);
	return n;
}

/* What is on disk under INBOX/9 is intact, and its bodies add up to
 * cache_bytes. */
static void assert_disk_matches_index(struct cache *c)
{
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/9", cdir);
	DIR *d = opendir(path);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	uint64_t total = 0;
	static bool seen[WORKERS * 1000 + BODIES + 1];
	memset(seen, 0, sizeof seen);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		ck_assert_msg(e->d_name[0] != '.', "left over: %s", e->d_name);
		char rel[300];
		snprintf(rel, sizeof rel, "mail/INBOX/9/%s", e->d_name);
		static uint64_t recs[WORKERS * BODIES][3];
		size_t n = pack_records(rel, recs, WORKERS * BODIES);
		ck_assert_msg(n > 0, "an empty pack: %s", e->d_name);
		ck_assert_int_eq(file_size(rel), (long long)(recs[n - 1][1] + recs[n - 1][2]));
		for (size_t i = 0; i < n; i++) {
			uint32_t uid = (uint32_t)recs[i][0];
			ck_assert_uint_le(uid, WORKERS * 1000 + BODIES);
			ck_assert_uint_eq(recs[i][2], body_len(uid));
			if (!seen[uid]) {
				ck_assert_msg(body_is(c, "INBOX", 9, uid, body_len(uid)), "uid %u", uid);
				total += body_len(uid);
				seen[uid] = true;
			}
		}
	}
	closedir(d);
	ck_assert_uint_eq(total, cache_bytes(c));
}

START_TEST(test_concurrent_writers)
{
	struct cache *c = open_cache(0);
	uint64_t want = 0;

	run_workers(c, false);
	for (int id = 1; id <= WORKERS; id++)
		for (uint32_t i = 1; i <= BODIES; i++)
			want += body_len((uint32_t)id * 1000 + i);
	ck_assert_uint_eq(cache_bytes(c), want);
	assert_disk_matches_index(c);
	cache_close(c);
}
END_TEST

START_TEST(test_concurrent_writers_same_bodies)
{
	struct cache *c = open_cache(0);
	uint64_t want = 0;

	run_workers(c, true);
	for (uint32_t i = 1; i <= BODIES; i++)
		want += body_len(i);
	ck_assert_uint_eq(cache_bytes(c), want);  /* each body counted once */
	assert_disk_matches_index(c);
	cache_close(c);
}
END_TEST

START_TEST(test_concurrent_writers_with_budget)
{
	struct cache *c = open_cache(40000);

	run_workers(c, false);
	cache_trim(c);
	ck_assert_uint_le(cache_bytes(c), 40000);
	ck_assert_uint_gt(cache_bytes(c), 0);
	assert_disk_matches_index(c);
	cache_close(c);
	/* and a restart agrees with what was left */
	c = open_cache(40000);
	assert_disk_matches_index(c);
	cache_close(c);
}
END_TEST

/* ---- restarts ---- */

START_TEST(test_warm_restart)
{
	struct cache *c = open_cache(0), *second = (struct cache *)1;
	struct buf err = BUF_INIT;
	struct cache_listing l, got;

	put_sized(c, "INBOX", 5, 1, 300);
	put_sized(c, "INBOX", 5, 2, 400);
	put_sized(c, "Archiv.2023", 8, 99, 500);
	make_listing(&l, 5, 2);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);

	/* The same dir cannot be used twice at once. */
	errno = 0;
	ck_assert_int_eq(cache_open(&second, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_ptr_null(second);
	ck_assert_msg(strstr(err.data, "in use") != NULL, "%s", err.data);
	cache_close(c);

	c = open_cache(0);
	ck_assert_uint_eq(cache_bytes(c), 1200);
	ck_assert(body_is(c, "INBOX", 5, 1, 300));
	ck_assert(body_is(c, "INBOX", 5, 2, 400));
	ck_assert(body_is(c, "Archiv.2023", 8, 99, 500));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	cache_listing_free(&l);
	/* What was indexed at open can be dropped and evicted. */
	ck_assert_int_eq(cache_drop_mailbox(c, "Archiv.2023", 0), 0);
	ck_assert_uint_eq(cache_bytes(c), 700);
	cache_close(c);
	buf_free(&err);
}
END_TEST

static void set_times(const char *rel, time_t t)
{
	char path[512];
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}


START_TEST(test_restart_cleans_and_orders)
{
	struct cache *c = open_cache(1000);  /* small: a pack per body */
	for (uint32_t uid = 1; uid <= 4; uid++)
		put_sized(c, "INBOX", 3, uid, 100);
	cache_close(c);

	/* Leftovers of a crash: temp files and a half-deleted generation. */
	touch("mail/INBOX/3/.tmp-9-1-1");
	touch("mail/INBOX/.tmp-listing-1-2");
	char trash[512];
	snprintf(trash, sizeof trash, "%s/mail/.trash-1-3", cdir);
	ck_assert_int_eq(mkdir(trash, 0700), 0);
	touch("mail/.trash-1-3/5");
	/* Files the cache does not know are ignored. */
	touch("mail/INBOX/3/notes");
	/* Last use, oldest first: 3 1 4 2. */
	set_times("mail/INBOX/3/3.p", 1000000);
	set_times("mail/INBOX/3/1.p", 2000000);
	set_times("mail/INBOX/3/4.p", 3000000);
	set_times("mail/INBOX/3/2.p", 4000000);

	c = open_cache(250);  /* the trim at open keeps the two most recent */
	ck_assert_str_eq(ls("mail"), "INBOX");
	ck_assert_str_eq(ls("mail/INBOX"), "3");
	ck_assert_str_eq(ls("mail/INBOX/3"), "2.p 4.p notes");
	ck_assert_uint_eq(cache_bytes(c), 200);
	ck_assert(body_is(c, "INBOX", 3, 2, 100));
	cache_close(c);
}
END_TEST

/* A session that never closed (a crash): what it wrote is not trusted,
 * what was there before is kept. */
START_TEST(test_unclean_shutdown_drops_recent_bodies)
{
	struct cache *c = open_cache(0);
	put_sized(c, "INBOX", 3, 1, 100);
	put_sized(c, "INBOX", 3, 2, 100);
	struct cache_listing l, got;
	make_listing(&l, 3, 2);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_close(c);
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p");  /* both in one pack */
	/* written long before the session that will crash */
	set_times("mail/INBOX/3/1.p", 1000000);

	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct cache *cc = NULL;
		if (cache_open(&cc, cdir, 0, NULL) < 0)
			_exit(2);
		put_sized(cc, "INBOX", 3, 3, 100);
		put_sized(cc, "Sent", 4, 1, 100);
		_exit(0);  /* no cache_close: the crash */
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* a pack of an earlier session is never appended to */
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p 3.p");

	c = open_cache(0);
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p");
	ck_assert_str_eq(ls("mail/Sent/4"), "");
	ck_assert_uint_eq(cache_bytes(c), 200);
	ck_assert(body_is(c, "INBOX", 3, 1, 100));
	ck_assert(!has_body(c, "INBOX", 3, 3));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	cache_listing_free(&l);
	put_sized(c, "INBOX", 3, 3, 100);
	cache_close(c);

	/* After a clean close everything stays. */
	c = open_cache(0);
	ck_assert_str_eq(ls("mail/INBOX/3"), "1.p 3.p");
	ck_assert_uint_eq(cache_bytes(c), 300);
	cache_close(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("bodies");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_body_round_trip);
	tcase_add_test(tc, test_commit_is_atomic);
	tcase_add_test(tc, test_failed_write_cannot_commit);
	tcase_add_test(tc, test_failed_held_write_cannot_commit);
	tcase_add_test(tc, test_lru_eviction_order);
	tcase_add_test(tc, test_budget_bounds);
	tcase_add_test(tc, test_budget_holds_while_a_body_streams);
	tcase_add_test(tc, test_evicted_body_still_readable_when_open);
	tcase_add_test(tc, test_bodies_share_packs);
	tcase_add_test(tc, test_eviction_takes_whole_packs);
	tcase_add_test(tc, test_incomplete_records_not_served);
	tcase_add_test(tc, test_bare_body_files_served);
	tcase_add_test(tc, test_drop_mailbox_is_immediate);
	tcase_add_test(tc, test_mailbox_directory_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("listings");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_listing_round_trip);
	tcase_add_test(tc, test_listing_keeps_flags);
	tcase_add_test(tc, test_created_is_kept);
	tcase_add_test(tc, test_corrupt_listing_rejected_and_removed);
	tcase_add_test(tc, test_listing_of_another_mailbox_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("directory");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_modes_enforced);
	tcase_add_test(tc, test_foreign_directory_refused);
	tcase_add_test(tc, test_recovery_files);
	tcase_add_test(tc, test_warm_restart);
	tcase_add_test(tc, test_restart_cleans_and_orders);
	tcase_add_test(tc, test_unclean_shutdown_drops_recent_bodies);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_writers);
	tcase_add_test(tc, test_concurrent_writers_same_bodies);
	tcase_add_test(tc, test_concurrent_writers_with_budget);
	suite_add_tcase(s, tc);

	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
