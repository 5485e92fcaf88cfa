/* pagepush.c: bodies into the kernel's page cache (see pagepush.h). */
#include "config.h"

#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "fuse/pagepush.h"
#include "log.h"
#include "worker.h"
#include "xalloc.h"

/* A window of bodies arrives faster than it is pushed only briefly; what
 * does not fit is read through FUSE instead. */
#define PUSH_QUEUE 4096

struct pagepush {
	struct fs *fs;
	struct fuse_session *se;
	struct worker w;         /* its lock guards the ring */
	struct push {
		uint64_t ino;
		bool again;      /* queued once more: the kernel did not know it yet */
	} ring[PUSH_QUEUE];
	size_t head, n;
};

static void enqueue(struct pagepush *p, uint64_t ino, bool again)
{
	pthread_mutex_lock(&p->w.lock);
	if (p->n < PUSH_QUEUE) {
		p->ring[(p->head + p->n) % PUSH_QUEUE] = (struct push){ ino, again };
		p->n++;
		worker_wake(&p->w);
	}
	pthread_mutex_unlock(&p->w.lock);
}

/* A body pushed as readdirplus hands its file over can beat the reader
 * making the inode from that reply: ENOENT, and one more try from the
 * end of the queue. */
static void push_one(struct pagepush *p, struct push what)
{
	uint64_t ino = what.ino;
	struct cache_span body;
	if (fs_cached_body(p->fs, ino, &body) < 0)
		return;  /* evicted or forgotten meanwhile */
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(body.size);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = body.fd;
	bv.buf[0].pos = (off_t)body.offset;
	int rc = fuse_lowlevel_notify_store(p->se, ino, 0, &bv, 0);
	close(body.fd);
	if (rc == -ENOENT && !what.again)
		enqueue(p, ino, true);
}

static bool queued(void *ctx)
{
	return ((struct pagepush *)ctx)->n > 0;
}

static void pagepush_main(void *arg, unsigned self)
{
	(void)self;
	struct pagepush *p = arg;
	pthread_mutex_lock(&p->w.lock);
	while (worker_wait_until(&p->w, queued, p)) {
		struct push what = p->ring[p->head];
		p->head = (p->head + 1) % PUSH_QUEUE;
		p->n--;
		pthread_mutex_unlock(&p->w.lock);
		push_one(p, what);
		pthread_mutex_lock(&p->w.lock);
	}
	pthread_mutex_unlock(&p->w.lock);
}

struct pagepush *pagepush_start(struct fs *fs, struct fuse_session *se)
{
	struct pagepush *p = xcalloc(1, sizeof *p);
	p->fs = fs;
	p->se = se;
	worker_init(&p->w, p, NULL);
	/* named for top -H and ps -L */
	if (worker_start(&p->w, 1, "imapfs-push", pagepush_main) < 0) {
		worker_destroy(&p->w);
		free(p);
		return NULL;
	}
	return p;
}

void pagepush_queue(struct pagepush *p, uint64_t ino)
{
	enqueue(p, ino, false);
}

/* A store can wait for a page that a read the kernel still has queued
 * holds locked, and once the FUSE loop is over (SIGTERM) nobody answers
 * that read until the session goes.  The thread gets this long; after a
 * store it touches nothing but p and the session, which are then left to
 * it. */
#define PUSH_STOP_WAIT_S 2

bool pagepush_stop(struct pagepush *p)
{
	if (!p)
		return true;
	if (!worker_stop(&p->w, PUSH_STOP_WAIT_S)) {
		fs_log(LOG_WARNING, "a page-cache store still waits on the kernel: leaving it behind");
		return false;
	}
	worker_destroy(&p->w);
	free(p);
	return true;
}
