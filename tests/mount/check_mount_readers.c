/* check_mount_readers.c: several readers of one folder at once, as rg's
 * walker and xargs -P are.  Threads take a folder's messages in the
 * orders those tools do: all from its end down (rg 13: one stack shared
 * by its threads), or one from the end and the others from the start (rg
 * 14: work stealing), each message read whole.  Every message reads as a
 * second connection fetches it, and read-ahead follows the readers: the
 * FETCHes of bodies, counted by a proxy in front of Dovecot, stay near
 * those of one reader reading the folder in order, where a read-ahead
 * that follows one sequential reader only asks for one body at a time. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_proxy.h"
#include "harness_srv.h"
#include "imap.h"

static struct dovecot dc;
static struct mount_env env;

#define MESSAGES 240
#define THREADS 4
/* What several readers may cost beyond one reading in order: a FETCH per
 * this many messages (one per message is what the test catches). */
#define FETCH_PER 16

enum order { IN_ORDER, ALL_DOWN, ENDS };

/* A walk over one folder's files, taken by threads in some order. */
struct walk {
	const char *dir;
	enum order order;
	char (*names)[32];       /* in directory order */
	struct buf *bodies;      /* what each read gave */
	size_t n;
	pthread_mutex_t lock;
	size_t up, down;         /* the next position from the start; one past the next from the end */
	pthread_cond_t turn;
	bool ends_turn;          /* the end's turn to be read (order ENDS) */
	unsigned failures;
};

struct reader {
	struct walk *w;
	unsigned self;
};

/* The position a thread reads next, or n when the walk is done.  Reading
 * from both ends, the two sides take turns, so that their opens
 * interleave as those of threads running at once do. */
static size_t take(struct walk *w, unsigned self)
{
	bool from_start = w->order == IN_ORDER || (w->order == ENDS && self > 0);
	pthread_mutex_lock(&w->lock);
	while (w->order == ENDS && w->up < w->down && w->ends_turn == from_start)
		pthread_cond_wait(&w->turn, &w->lock);
	size_t i = w->n;
	if (w->up < w->down)
		i = from_start ? w->up++ : --w->down;
	w->ends_turn = !w->ends_turn;
	pthread_cond_broadcast(&w->turn);
	pthread_mutex_unlock(&w->lock);
	return i;
}

static void *read_files(void *arg)
{
	struct reader *r = arg;
	struct walk *w = r->w;
	char path[512];
	for (size_t i; (i = take(w, r->self)) < w->n;) {
		snprintf(path, sizeof path, "%s/%s", w->dir, w->names[i]);
		if (mount_slurp(path, &w->bodies[i]) < 0) {
			pthread_mutex_lock(&w->lock);
			w->failures++;
			pthread_mutex_unlock(&w->lock);
		}
	}
	return NULL;
}

/* The folder's message files in directory order (what readdir gives). */
static size_t list_folder(const char *dir, char (*names)[32], size_t max)
{
	DIR *d = opendir(dir);
	ck_assert_msg(d, "cannot list %s", dir);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || len >= 32 || strcmp(e->d_name + len - 4, ".eml"))
			continue;
		ck_assert_uint_lt(n, max);
		memcpy(names[n++], e->d_name, len + 1);
	}
	closedir(d);
	return n;
}

/* Mounts through a fresh proxy, reads the folder with nthreads in order,
 * checks every message against the server; the FETCHes of bodies. */
static unsigned walk_folder(struct imap *s, const char *folder, const char *name, enum order order,
			    unsigned nthreads)
{
	struct proxy *px = mount_proxy_start(&env, 0);
	struct fsmount m = { .pid = 0 };
	mount_start_via(&env, px, &m, name, "alice", NULL);

	char dir[512];
	snprintf(dir, sizeof dir, "%s/%s", m.dir, folder);
	static char names[MESSAGES][32];
	struct walk w = { .dir = dir, .order = order, .names = names };
	w.n = list_folder(dir, names, MESSAGES);
	ck_assert_uint_eq(w.n, MESSAGES);
	w.bodies = calloc(w.n, sizeof *w.bodies);
	ck_assert_ptr_nonnull(w.bodies);
	w.down = w.n;
	w.ends_turn = true;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.turn, NULL);
	pthread_t t[THREADS];
	struct reader r[THREADS];
	for (unsigned k = 0; k < nthreads; k++) {
		r[k] = (struct reader){ &w, k };
		ck_assert_int_eq(pthread_create(&t[k], NULL, read_files, &r[k]), 0);
	}
	for (unsigned k = 0; k < nthreads; k++)
		pthread_join(t[k], NULL);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.turn);
	ck_assert_uint_eq(w.failures, 0);
	unsigned fetches = proxy_commands(px, "UID", "FETCH");

	struct buf text = BUF_INIT, theirs = BUF_INIT;
	for (size_t i = 0; i < w.n; i++) {
		uint32_t uid = (uint32_t)strtoul(names[i], NULL, 10);
		buf_reset(&text);
		buf_reset(&theirs);
		srv_fetch(s, folder, uid, "BODY.PEEK[]", &text, &theirs);
		ck_assert_uint_eq(w.bodies[i].len, theirs.len);
		ck_assert_msg(!memcmp(w.bodies[i].data, theirs.data, theirs.len), "%s differs", names[i]);
		buf_free(&w.bodies[i]);
	}
	free(w.bodies);
	buf_free(&text);
	buf_free(&theirs);
	mount_stop(&m);
	proxy_stop(px);
	return fetches;
}

START_TEST(test_threads_reading_down_get_read_ahead)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "Down", MESSAGES);
	unsigned in_order = walk_folder(s, "Down", "one", IN_ORDER, 1);
	unsigned down = walk_folder(s, "Down", "down", ALL_DOWN, THREADS);
	ck_assert_msg(down <= in_order + MESSAGES / FETCH_PER,
		      "%u FETCHes of bodies for %u threads reading down, %u for one reader in order", down,
		      THREADS, in_order);
	imap_close(s);
}
END_TEST

START_TEST(test_threads_reading_from_both_ends_get_read_ahead)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "Ends", MESSAGES);
	unsigned in_order = walk_folder(s, "Ends", "one", IN_ORDER, 1);
	unsigned ends = walk_folder(s, "Ends", "ends", ENDS, THREADS);
	ck_assert_msg(ends <= in_order + MESSAGES / FETCH_PER,
		      "%u FETCHes of bodies for threads reading from both ends, %u for one reader in order",
		      ends, in_order);
	imap_close(s);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_threads_reading_down_get_read_ahead);
	tcase_add_test(tc, test_threads_reading_from_both_ends_get_read_ahead);
}

int main(void)
{
	return mount_test_main("check_mount_readers", &dc, &env, add_tests, 240);
}
