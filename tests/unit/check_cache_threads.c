/* check_cache_threads.c: the FUSE daemon writes and reads bodies from
 * many threads at once, so concurrent writers (of different bodies, of
 * the same bodies, under a budget that evicts meanwhile) must leave packs
 * on disk that agree with the index. */
#include "config.h"
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

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

void check_cache_add_threads(TCase *tc)
{
	tcase_add_test(tc, test_concurrent_writers);
	tcase_add_test(tc, test_concurrent_writers_same_bodies);
	tcase_add_test(tc, test_concurrent_writers_with_budget);
}
