/* check_cache_util.h: the parts of check_cache and what they share.  main
 * (check_cache.c) gives every test a fresh directory; each part adds its
 * tests to the TCase main gives it, in the order they always ran. */
#ifndef IMAPFS_CHECK_CACHE_UTIL_H
#define IMAPFS_CHECK_CACHE_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cache/cache.h"

/* The test's own directory, and the cache directory (<top>/c unless the
 * test points it elsewhere); set by the checked fixture in check_cache.c. */
extern char top[96];
extern char cdir[128];

/* A record on disk: its 16-byte header and the body. */
#define REC(n) ((uint64_t)(n) + 16)

struct cache *open_cache(uint64_t max_bytes);
/* n bytes that follow from seed (the uid, for bodies) */
void fill(struct buf *b, size_t n, unsigned seed);
void put_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, const void *p, size_t n);
/* the body fill() makes for uid, n bytes long */
void put_sized(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n);
void read_fd(int fd, struct buf *out);
/* The body as the cache serves it; false when not cached. */
bool get_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, struct buf *out);
bool has_body(struct cache *c, const char *mb, uint32_t vv, uint32_t uid);
/* the body is cached and is what put_sized(.., uid, n) wrote */
bool body_is(struct cache *c, const char *mb, uint32_t vv, uint32_t uid, size_t n);
/* Names of the entries of a directory under the cache, sorted, joined by
 * spaces ("" when empty, "-" when missing); a static buffer. */
const char *ls(const char *rel);
/* the size of a file under the cache, -1 when missing */
long long file_size(const char *rel);
/* creates an empty file under the cache */
void touch(const char *rel);
/* The bytes of the files under mail/. */
uint64_t mail_bytes_on_disk(void);

/* a listing of n messages whose fields use every bit width */
void make_listing(struct cache_listing *l, uint32_t uidvalidity, size_t n);
void assert_listing_eq(const struct cache_listing *a, const struct cache_listing *b);

/* TCase "bodies" */
void check_cache_add_bodies(TCase *tc);
void check_cache_add_budget(TCase *tc);
void check_cache_add_packs(TCase *tc);
void check_cache_add_mailboxes(TCase *tc);
/* TCase "listings" */
void check_cache_add_listings(TCase *tc);
/* TCase "directory" */
void check_cache_add_directory(TCase *tc);
void check_cache_add_restarts(TCase *tc);
/* TCase "threads" */
void check_cache_add_threads(TCase *tc);

#endif
