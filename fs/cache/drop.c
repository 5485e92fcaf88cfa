/* drop.c: dropping the generations of a mailbox (a UIDVALIDITY change). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache_impl.h"

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
