/* util.c: small helpers the cache's sections share: errors, the lock,
 * numbers in names and files, walking and removing directories. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_impl.h"

int cache_fail(struct buf *err, int e, const char *fmt, ...)
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

void cache_lock(struct cache *c)
{
	pthread_mutex_lock(&c->mu);
}

void cache_unlock(struct cache *c)
{
	pthread_mutex_unlock(&c->mu);
}

unsigned long cache_next_serial(struct cache *c)
{
	cache_lock(c);
	unsigned long s = ++c->serial;
	cache_unlock(c);
	return s;
}

/* Decimal 1..UINT32_MAX without leading zeros, the whole string. */
bool cache_parse_u32(const char *s, uint32_t *out)
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

bool cache_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void cache_set_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void cache_set_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

int cache_mkdirat(int dirfd, const char *path)
{
	if (mkdirat(dirfd, path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* Calls fn for every entry of dirfd/name except "." and "..". */
void cache_each_entry(int dirfd, const char *name, void (*fn)(int fd, const char *entry, void *ctx),
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

static void cache_rmtree_entry(int fd, const char *entry, void *ctx)
{
	int depth = *(int *)ctx;
	if (unlinkat(fd, entry, 0) < 0 && (errno == EISDIR || errno == EPERM) && depth < CACHE_RMTREE_DEPTH)
		cache_rmtree(fd, entry, depth + 1);
}

/* rm -rf of dirfd/name, never following links, bounded in depth. */
void cache_rmtree(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
		return;
	cache_each_entry(dirfd, name, cache_rmtree_entry, &depth);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

void cache_put_u32(struct buf *b, uint32_t v)
{
	unsigned char s[4];
	for (int i = 0; i < 4; i++)
		s[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, s, sizeof s);
}

void cache_put_u64(struct buf *b, uint64_t v)
{
	unsigned char s[8];
	for (int i = 0; i < 8; i++)
		s[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, s, sizeof s);
}

uint32_t cache_get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t cache_get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
