/* watch.c: IDLE on the mailbox in use, polling for the rest.
 *
 * Some servers accept IDLE and then report nothing until the client sends
 * its next command (Courier without FAM, Cyrus without idled).  So each
 * IDLE round ends after ROUND_MS at most, and a round that heard nothing
 * is followed by a NOOP: changes that come only with DONE or that NOOP,
 * twice in a row with no change pushed in between, mean the IDLE is
 * silent.  From then on, as with servers without IDLE, the mailbox in use
 * is asked with a NOOP every INUSE_POLL_MS instead. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "remote/run.h"
#include "remote/select.h"
#include "read/watch.h"
#include "worker.h"
#include "xalloc.h"

/* Kernel entries of messages live an hour (fs.c): mailboxes used within it
 * are polled so that expunged names do not linger. */
#define POLL_RECENT_S 3600
/* More pending changes than this: poll everything instead. */
#define DIRTY_MAX 64
/* The longest IDLE round before the probe that tells a silent IDLE. */
#define ROUND_MS (30 * 1000)
/* Rounds whose changes came only after DONE before IDLE counts as silent:
 * one can be a change that happened just before DONE. */
#define SILENT_ROUNDS 2
/* How often the mailbox in use is asked without a working IDLE. */
#define INUSE_POLL_MS (5 * 1000)

struct watch {
	struct mtree *tree;
	struct pool *pool;
	struct cache *cache;
	int poll_s;
	int timeout_ms;
	int wake[2];              /* self-pipe: poll() in the thread wakes on it */
	struct worker w;          /* its lock is a leaf lock: the fields below */
	bool woken;
	char *dirty[DIRTY_MAX];   /* mailboxes seen changing, by server name */
	size_t ndirty;
	bool overflow;
	struct pool_conn *idle;   /* ours alone */
	bool no_idle;             /* the server refused IDLE, or its IDLE is silent */
	unsigned silent_rounds;   /* in a row: changes heard only after DONE */
};

/* The worker's wake-up: the thread waits in poll(), not on a condition. */
static void poke(void *arg)
{
	struct watch *w = arg;
	char b = 1;
	if (write(w->wake[1], &b, 1) < 0) {
		/* full pipe: a wake-up is pending anyway */
	}
}

/* w->w.lock held */
static void wake(struct watch *w)
{
	w->woken = true;
	worker_wake(&w->w);
}

/* The pool's change hook: any thread, no lock of the caller's held. */
static void changed(void *ctx, const char *mailbox)
{
	struct watch *w = ctx;
	pthread_mutex_lock(&w->w.lock);
	bool known = false;
	for (size_t i = 0; i < w->ndirty && !known; i++)
		known = !strcmp(w->dirty[i], mailbox);
	if (!known && w->ndirty < DIRTY_MAX)
		w->dirty[w->ndirty++] = xstrdup(mailbox);
	else if (!known)
		w->overflow = true;
	wake(w);
	pthread_mutex_unlock(&w->w.lock);
}

static bool should_wake(struct watch *w)
{
	pthread_mutex_lock(&w->w.lock);
	bool r = w->woken || w->w.stop;
	pthread_mutex_unlock(&w->w.lock);
	return r;
}

static bool stopping(struct watch *w)
{
	return worker_stopping(&w->w);
}

/* Empties the self-pipe: the flags under the lock say what woke us. */
static void drain_wake(struct watch *w)
{
	char drain[64];
	while (read(w->wake[0], drain, sizeof drain) > 0)
		;
}

/* Waits up to ms for a wake-up. */
static void sleep_on(struct watch *w, int ms)
{
	struct pollfd pf = { w->wake[0], POLLIN, 0 };
	if (ms > 0)
		(void)poll(&pf, 1, ms);
	drain_wake(w);
}

/* Brings up to date the mailboxes that were seen changing. */
static void refresh_dirty(struct watch *w)
{
	char *names[DIRTY_MAX];
	pthread_mutex_lock(&w->w.lock);
	size_t n = w->ndirty;
	memcpy(names, w->dirty, n * sizeof *names);
	w->ndirty = 0;
	bool all = w->overflow;
	w->overflow = false;
	w->woken = false;
	pthread_mutex_unlock(&w->w.lock);
	for (size_t i = 0; i < n; i++) {
		struct mbox *m = mtree_by_name(w->tree, names[i]);
		if (m && !stopping(w)) {
			fs_log(LOG_DEBUG, "%s changed on the server", m->path);
			mbox_mark_stale(m);
			(void)mbox_refresh_ahead(m, w->pool, w->cache, 0);
		}
		mbox_put(m);
		free(names[i]);
	}
	if (all) {
		struct mbox **v;
		size_t k = mtree_selectable(w->tree, &v);
		for (size_t i = 0; i < k; i++)
			mbox_mark_stale(v[i]);
		mbox_put_all(v, k);
	}
}

/* The folder list, and one STATUS for each mailbox used lately (skip:
 * the one IDLE keeps fresh). */
static void poll_all(struct watch *w, struct mbox *skip)
{
	(void)mtree_refresh(w->tree, w->pool, 0, true);
	struct mbox **v;
	size_t n = mtree_selectable(w->tree, &v);
	time_t now = time(NULL);
	for (size_t i = 0; i < n && !stopping(w); i++) {
		struct mbox *m = v[i];
		pthread_mutex_lock(&m->lock);
		bool due = m->loaded && now - m->used < POLL_RECENT_S;
		pthread_mutex_unlock(&m->lock);
		if (due && m != skip)
			(void)mbox_refresh_ahead(m, w->pool, w->cache, w->poll_s);
	}
	mbox_put_all(v, n);
}

/* EXAMINE m on our connection; a listing older than what EXAMINE reports
 * is refreshed (it changed while nobody watched). */
static int watch_select(struct watch *w, struct mbox *m)
{
	struct pool_conn *c = w->idle;
	if (c->selected && !strcmp(c->selected, m->name))
		return 0;
	int rc = select_mailbox(c, m->name, false);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&m->lock);
	const struct cache_listing *l = &m->listing;
	bool stale = l->uidvalidity != c->uidvalidity || l->uidnext != c->uidnext ||
		     l->messages != c->exists || (c->highestmodseq && l->highestmodseq != c->highestmodseq);
	pthread_mutex_unlock(&m->lock);
	if (stale)
		changed(w, m->name);
	return 0;
}

/* Whether m is still the mailbox in use. */
static bool still_recent(struct watch *w, const struct mbox *m)
{
	struct mbox *recent = mtree_recent(w->tree);
	bool same = recent == m;
	mbox_put(recent);
	return same;
}

struct idle_watch {
	struct watch *w;
	struct mbox *m;
	uint64_t pushed;          /* the connection's changes count as last seen in IDLE */
	bool ended_early;         /* by a wake-up or another mailbox in use, not by time */
};

/* imap_idle_run's end_now: a wake-up (the change hook, watch_stop) or
 * another mailbox in use. */
static bool idle_should_end(void *ctx)
{
	struct idle_watch *iw = ctx;
	iw->pushed = iw->w->idle->changes;
	drain_wake(iw->w);
	iw->ended_early = should_wake(iw->w) || !still_recent(iw->w, iw->m);
	return iw->ended_early;
}

/* A NOOP on the watcher's connection: the server's chance to tell what
 * changed in the selected mailbox (the pool's handler hears it).  Any
 * FETCH meanwhile is another client's flag change. */
static int noop(struct watch *w)
{
	struct pool_conn *c = w->idle;
	struct run_opts o = { .verb = "NOOP", .mailbox = c->selected, .quiet = true, .any_answer = true };
	c->idling = true;
	int rc = run_noop(c, &o);
	c->idling = false;
	return rc;
}

/* After an IDLE round: a change pushed while idling proves the IDLE works;
 * one heard only with DONE or the NOOP after a round that ran its time
 * counts towards calling it silent.  A round ended early says nothing: a
 * change seen by another connection (our own APPEND, say) ends it before
 * the server had a chance to push it. */
static void judge_round(struct watch *w, const struct idle_watch *iw, uint64_t before)
{
	struct pool_conn *c = w->idle;
	if (iw->pushed != before) {
		w->silent_rounds = 0;
		return;
	}
	if (iw->ended_early)
		return;
	if (c->changes == before && noop(w) < 0)
		return;
	if (c->changes == before)
		return;
	if (++w->silent_rounds < SILENT_ROUNDS)
		return;
	fs_log(LOG_NOTICE, "the server's IDLE did not report changes in %s: asking it every %d s instead",
	       iw->m->path, INUSE_POLL_MS / 1000);
	w->no_idle = true;
}

/* IDLE on m until something changes (the change hook wakes us), the
 * mailbox in use is another one, a wake-up, or until_ms.  Untagged
 * responses reach the pool's handler (note_change) as on any connection. */
static int idle_on(struct watch *w, struct mbox *m, long long until_ms)
{
	struct pool_conn *c = w->idle;
	uint64_t before = c->changes;
	struct idle_watch iw = { w, m, before, false };
	long long left = until_ms - clock_ms();
	struct imap_idle_opts o = IMAP_IDLE_OPTS_INIT;
	o.duration_ms = left > 0 ? (int)left : 0;
	o.answer_ms = w->timeout_ms;
	o.check_ms = 1000;  /* the pace at which a new mailbox in use is seen */
	o.wake_fd = w->wake[0];
	o.end_now = idle_should_end;
	o.ctx = &iw;
	c->idling = true;
	int rc = imap_idle_run(c->s, &o);
	c->idling = false;
	if (rc == IMAP_ERROR) {
		fs_log(LOG_INFO, "IDLE refused (%s): asking about the mailbox in use every %d s instead",
		       imap_errmsg(c->s), INUSE_POLL_MS / 1000);
		w->no_idle = true;
		return 0;
	}
	if (rc < 0)
		return pool_errno(c, rc);
	judge_round(w, &iw, before);
	return 0;
}

/* Our connection, connected and with m selected: false (after a pause)
 * when that failed, or when the EXAMINE found a change to handle first. */
static bool ready_on(struct watch *w, struct mbox *m)
{
	if ((w->idle->broken || !w->idle->s) && pool_reconnect(w->pool, w->idle) < 0) {
		sleep_on(w, 1000);
		return false;
	}
	if (watch_select(w, m) < 0) {
		sleep_on(w, 1000);
		return false;
	}
	return !should_wake(w);
}

/* Without a working IDLE: a NOOP on m now and then. */
static void ask_round_on(struct watch *w, struct mbox *m, long long until_ms)
{
	long long left = until_ms - clock_ms();
	sleep_on(w, left < INUSE_POLL_MS ? (int)left : INUSE_POLL_MS);
	if (!should_wake(w) && still_recent(w, m))
		(void)noop(w);
}

/* One round on the mailbox in use: IDLE, or NOOPs where IDLE is of no use. */
static void watch_round(struct watch *w, long long until_ms)
{
	struct mbox *m = mtree_recent(w->tree);
	if (!m) {  /* nothing in use yet: look again in a second */
		long long left = until_ms - clock_ms();
		sleep_on(w, left < 1000 ? (int)left : 1000);
		return;
	}
	if (ready_on(w, m)) {
		if (w->no_idle)
			ask_round_on(w, m, until_ms);
		else
			(void)idle_on(w, m, until_ms);
	}
	mbox_put(m);
}

static void watch_main(void *arg, unsigned self)
{
	(void)self;
	struct watch *w = arg;
	long long next_poll = clock_ms() + w->poll_s * 1000LL;
	while (!stopping(w)) {
		refresh_dirty(w);
		if (!pool_has_cap(w->pool, "IDLE"))
			w->no_idle = true;
		if (clock_ms() >= next_poll) {
			struct mbox *watched = w->idle->s && !w->idle->broken ? mtree_recent(w->tree) : NULL;
			poll_all(w, watched);
			mbox_put(watched);
			next_poll = clock_ms() + w->poll_s * 1000LL;
			continue;
		}
		long long until = next_poll;
		if (until > clock_ms() + ROUND_MS)
			until = clock_ms() + ROUND_MS;
		watch_round(w, until);
	}
}

int watch_start(struct watch **out, struct mtree *tree, struct pool *pool, struct cache *cache,
		int poll_s, int timeout_s)
{
	struct watch *w = xcalloc(1, sizeof *w);
	w->tree = tree;
	w->pool = pool;
	w->cache = cache;
	w->poll_s = poll_s > 0 ? poll_s : 60;
	w->timeout_ms = (timeout_s > 0 ? timeout_s : 30) * 1000;
	if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		int e = errno;
		free(w);
		return -e;
	}
	worker_init(&w->w, w, poke);
	w->idle = pool_private_new(pool);
	/* before the thread: the pool's connections call it from now on */
	pool_set_change_hook(pool, changed, w);
	/* named for top -H and ps -L */
	int rc = worker_start(&w->w, 1, "imapfs-watch", watch_main);
	if (rc < 0) {
		pool_set_change_hook(pool, NULL, NULL);
		pool_private_free(w->idle);
		close(w->wake[0]);
		close(w->wake[1]);
		worker_destroy(&w->w);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void watch_stop(struct watch *w)
{
	if (!w)
		return;
	worker_stop(&w->w, 0);
	pool_set_change_hook(w->pool, NULL, NULL);
	pool_private_free(w->idle);
	for (size_t i = 0; i < w->ndirty; i++)
		free(w->dirty[i]);
	close(w->wake[0]);
	close(w->wake[1]);
	worker_destroy(&w->w);
	free(w);
}
