/* check_stall_fire.c: a cancel token fired while its request wakes for
 * another reason: the wait returns only once the fire is done with the
 * request's lock and condition, which the request may free right after. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "cancel.h"
#include "check_stall_util.h"
#include "harness_os.h"

/* A request waiting in fs_cond_wait, woken by someone else while its
 * token is being fired, must not return while the fire is still to touch
 * its lock and condition: they may belong to an entry the request then
 * lets go of (fs_cond_wait's promise). */
struct fire_race {
	struct fs_cancel token;
	pthread_mutex_t lock;        /* the waiter's own, like a mailbox's */
	pthread_cond_t cond;
	atomic_bool fire_done;
	int rc;
	bool fire_pending;           /* the fire had not ended when the wait returned */
};

static void *race_waiter(void *arg)
{
	struct fire_race *r = arg;
	fs_cancel_enter(&r->token);
	pthread_mutex_lock(&r->lock);
	r->rc = fs_cond_wait(&r->cond, &r->lock);
	/* still holding the lock, as a caller does: a fire that has yet to
	 * broadcast cannot end now */
	for (int i = 0; i < 500 && !atomic_load(&r->fire_done); i++)
		os_sleep_ms(10);
	r->fire_pending = !atomic_load(&r->fire_done);
	pthread_mutex_unlock(&r->lock);
	fs_cancel_enter(NULL);
	return NULL;
}

static void *race_firer(void *arg)
{
	struct fire_race *r = arg;
	fs_cancel_fire(&r->token);
	atomic_store(&r->fire_done, true);
	return NULL;
}

static bool race_registered(struct fire_race *r)
{
	pthread_mutex_lock(&r->token.lock);
	bool yes = r->token.wait_cond != NULL;
	pthread_mutex_unlock(&r->token.lock);
	return yes;
}

START_TEST(test_wait_outlives_the_fire)
{
	struct fire_race r;
	memset(&r, 0, sizeof r);
	fs_cancel_init(&r.token);
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	atomic_init(&r.fire_done, false);
	pthread_t waiter, firer;
	ck_assert_int_eq(pthread_create(&waiter, NULL, race_waiter, &r), 0);
	for (int i = 0; i < 1000 && !race_registered(&r); i++)
		os_sleep_ms(5);
	ck_assert(race_registered(&r));
	/* The token's lock held, the fire queues for it first, then the
	 * waiter, woken by a broadcast of its own, queues behind with its lock
	 * held: the fire sees the registration, and the waiter returns before
	 * the fire can take its lock, unless the waiter waits for the fire. */
	pthread_mutex_lock(&r.token.lock);
	ck_assert_int_eq(pthread_create(&firer, NULL, race_firer, &r), 0);
	os_sleep_ms(300);
	pthread_cond_broadcast(&r.cond);
	os_sleep_ms(300);
	pthread_mutex_unlock(&r.token.lock);
	ck_assert_msg(join_within(waiter, NO_HANG_MS), "the waiter still waits");
	ck_assert_msg(join_within(firer, NO_HANG_MS), "the fire still runs");
	ck_assert_int_eq(r.rc, -EINTR);
	ck_assert_msg(!r.fire_pending, "fs_cond_wait returned while the fire was still to use its lock");
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	fs_cancel_destroy(&r.token);
}
END_TEST

void check_stall_add_fire(TCase *tc)
{
	tcase_add_test(tc, test_wait_outlives_the_fire);
}
