/* dir.c: whose directory: taking it (owner, mode, marker, lock), the state
 * file that tells whether the last session closed, cache_open and cache_close. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_impl.h"
#include "fdio.h"
#include "xalloc.h"

/* The marker's first line; the rest is for people. */
#define CACHE_MARK_MAGIC "imapfs cache\n"
static const char cache_mark_text[] =
	CACHE_MARK_MAGIC
	"This directory is the cache of an imapfs mount: imapfs adds, replaces and\n"
	"deletes what is in it.  recovery/ keeps messages a server refused; imapfs\n"
	"never deletes those.\n";

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
	slab_init(&c->rec_slab, sizeof(struct cache_rec));
	c->recs = xcalloc(c->nrec_buckets, sizeof *c->recs);
	c->nbox_buckets = 64;
	c->boxes = xcalloc(c->nbox_buckets, sizeof *c->boxes);
	pthread_mutex_init(&c->mu, NULL);
	cache_flags_init(&c->flags);
	cache_flags_init(&c->names);

	c->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0) {
		cache_fail(err, errno, "cache: open %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* nothing is changed in a directory before it is known to be ours */
	mode_t mode;
	if (cache_check_owner(c->rootfd, c->dir, &mode, err) < 0 || cache_claim(c, err) < 0)
		goto fail;
	struct stat mark;
	c->created = fstatat(c->rootfd, CACHE_MARK, &mark, AT_SYMLINK_NOFOLLOW) == 0 ? (int64_t)mark.st_mtime
										: (int64_t)time(NULL);
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
			slab_free(&c->rec_slab, r);
		}
	}
	slab_destroy(&c->rec_slab);
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
	cache_flags_free(&c->flags);
	cache_flags_free(&c->names);
	free(c->dir);
	free(c);
}

int64_t cache_created(const struct cache *c)
{
	return c->created;
}
