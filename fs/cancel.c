/* cancel.c: a request's token and the waits that watch it (cancel.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "cancel.h"

static _Thread_local struct fs_cancel *current;

void fs_cancel_init(struct fs_cancel *c)
{
	atomic_init(&c->fired, false);
	pthread_mutex_init(&c->lock, NULL);
	c->wait_lock = NULL;
	c->wait_cond = NULL;
	c->firing = 0;
	pthread_cond_init(&c->fired_all, NULL);
	for (int i = 0; i < CANCEL_MAX_FDS; i++)
		c->fds[i] = -1;
}

void fs_cancel_destroy(struct fs_cancel *c)
{
	pthread_cond_destroy(&c->fired_all);
	pthread_mutex_destroy(&c->lock);
}

static void wake_fd(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof one) < 0) {
		/* a full eventfd is woken already */
	}
}

/* The waiter checks fired after registering under c->lock, and we look at
 * the registration after setting fired: one of us sees the other.  The
 * broadcast takes the waiter's lock, so it cannot fall between the
 * waiter's check and its sleep; it cannot be made under c->lock (the
 * waiter takes that with its own lock held), so between the two the
 * lock and condition are used without c->lock.  They can belong to
 * something that goes with its last reference (a mailbox's entry): the
 * firing count keeps the waiter in fs_cond_wait, and so its reference
 * held, until the broadcast is over. */
void fs_cancel_fire(struct fs_cancel *c)
{
	atomic_store(&c->fired, true);
	pthread_mutex_lock(&c->lock);
	pthread_mutex_t *lock = c->wait_lock;
	pthread_cond_t *cond = c->wait_cond;
	if (cond)
		c->firing++;
	for (int i = 0; i < CANCEL_MAX_FDS; i++)
		if (c->fds[i] >= 0)
			wake_fd(c->fds[i]);
	pthread_mutex_unlock(&c->lock);
	if (!cond)
		return;
	pthread_mutex_lock(lock);
	pthread_cond_broadcast(cond);
	pthread_mutex_unlock(lock);
	pthread_mutex_lock(&c->lock);
	if (--c->firing == 0)
		pthread_cond_broadcast(&c->fired_all);
	pthread_mutex_unlock(&c->lock);
}

bool fs_cancel_fired(struct fs_cancel *c)
{
	return atomic_load(&c->fired);
}

void fs_cancel_enter(struct fs_cancel *c)
{
	current = c;
}

bool fs_cancelled(void)
{
	return current && atomic_load(&current->fired);
}

int fs_cond_wait(pthread_cond_t *cond, pthread_mutex_t *lock)
{
	struct fs_cancel *c = current;
	if (!c) {
		pthread_cond_wait(cond, lock);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	c->wait_lock = lock;
	c->wait_cond = cond;
	pthread_mutex_unlock(&c->lock);
	if (!atomic_load(&c->fired))
		pthread_cond_wait(cond, lock);
	pthread_mutex_lock(&c->lock);
	c->wait_lock = NULL;
	c->wait_cond = NULL;
	if (c->firing) {
		/* a fire still has to broadcast, which needs lock: let go of it
		 * until then (as a wait on cond would) */
		pthread_mutex_unlock(lock);
		while (c->firing)
			pthread_cond_wait(&c->fired_all, &c->lock);
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_lock(lock);
	} else {
		pthread_mutex_unlock(&c->lock);
	}
	return atomic_load(&c->fired) ? -EINTR : 0;
}

int fs_cancel_hold_fd(int fd)
{
	struct fs_cancel *c = current;
	if (!c)
		return 0;
	int rc = -EINTR;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CANCEL_MAX_FDS && !atomic_load(&c->fired); i++) {
		if (c->fds[i] < 0) {
			c->fds[i] = fd;
			rc = 0;
			break;
		}
	}
	if (rc < 0 && !atomic_load(&c->fired))
		rc = 0;  /* more connections than slots: that one waits out its deadline */
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void fs_cancel_release_fd(int fd)
{
	struct fs_cancel *c = current;
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CANCEL_MAX_FDS; i++)
		if (c->fds[i] == fd)
			c->fds[i] = -1;
	pthread_mutex_unlock(&c->lock);
}
