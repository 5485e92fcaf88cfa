/* pagepush.c: bodies into the kernel's page cache (see pagepush.h). */
#include "config.h"

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fuse/pagepush.h"

/* A window of bodies arrives faster than it is pushed only briefly; what
 * does not fit is read through FUSE instead. */
#define PUSH_QUEUE 4096

struct pagepush {
	struct fs *fs;
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t work;
	uint64_t ring[PUSH_QUEUE];
	size_t head, n;
	bool stop;
	pthread_t thread;
};

static void push_one(struct pagepush *p, uint64_t ino)
{
	struct cache_span body;
	if (fs_cached_body(p->fs, ino, &body) < 0)
		return;  /* evicted or forgotten meanwhile */
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(body.size);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = body.fd;
	bv.buf[0].pos = (off_t)body.offset;
	/* ENOENT when the kernel dropped the inode since: nothing to do */
	(void)fuse_lowlevel_notify_store(p->se, ino, 0, &bv, 0);
	close(body.fd);
}

static void *pagepush_main(void *arg)
{
	struct pagepush *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (!p->n) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		uint64_t ino = p->ring[p->head];
		p->head = (p->head + 1) % PUSH_QUEUE;
		p->n--;
		pthread_mutex_unlock(&p->lock);
		push_one(p, ino);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pagepush *pagepush_start(struct fs *fs, struct fuse_session *se)
{
	struct pagepush *p = xcalloc(1, sizeof *p);
	p->fs = fs;
	p->se = se;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	if (pthread_create(&p->thread, NULL, pagepush_main, p) != 0) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->work);
		free(p);
		return NULL;
	}
	pthread_setname_np(p->thread, "imapfs-push");  /* for top -H and ps -L */
	return p;
}

void pagepush_queue(struct pagepush *p, uint64_t ino)
{
	pthread_mutex_lock(&p->lock);
	if (p->n < PUSH_QUEUE) {
		p->ring[(p->head + p->n) % PUSH_QUEUE] = ino;
		p->n++;
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
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
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PUSH_STOP_WAIT_S;
	if (pthread_timedjoin_np(p->thread, NULL, &until) != 0) {
		fs_log(LOG_WARNING, "a page-cache store still waits on the kernel: leaving it behind");
		return false;
	}
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	free(p);
	return true;
}
