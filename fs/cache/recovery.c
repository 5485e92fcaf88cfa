/* recovery.c: the write path's safety net: messages whose APPEND failed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache_impl.h"
#include "fdio.h"

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
