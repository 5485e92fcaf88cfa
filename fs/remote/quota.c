/* quota.c: GETQUOTAROOT INBOX, asked with the mount's LIST, then on a
 * thread of its own (quota.h). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "remote/quota.h"
#include "remote/run.h"
#include "worker.h"
#include "xalloc.h"

struct quota {
	struct pool *pool;
	struct worker w;             /* w.lock guards what follows */
	bool wanted;                 /* the thread is to ask */
	long long asked_ms;          /* clock_ms */
	struct quota_usage last;
};

void quota_new(struct quota **out, struct pool *p)
{
	struct quota *q = xcalloc(1, sizeof *q);
	q->pool = p;
	worker_init(&q->w, q, NULL);
	q->asked_ms = clock_ms();
	*out = q;
}

struct imap_cmd *quota_question(void *q)
{
	if (!pool_has_cap(((struct quota *)q)->pool, "QUOTA"))
		return NULL;
	struct imap_cmd *cmd = imap_cmd_new("GETQUOTAROOT");
	imap_cmd_add(cmd, " INBOX");
	return cmd;
}

void quota_heard(void *ctx, struct pool_conn *c, const struct imap_response *raw, const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	struct quota *q = ctx;
	if (!r || strcmp(r->name, "QUOTA") || r->nargs < 2 || r->args[1].type != IMAP_ARG_LIST)
		return;
	const struct imap_arg *a = r->args[1].list;
	for (size_t i = 0; i + 3 <= r->args[1].count; i += 3) {
		uint64_t used, limit;
		if (imap_arg_is_atom(&a[i], "STORAGE") && imap_arg_number(&a[i + 1], &used) &&
		    imap_arg_number(&a[i + 2], &limit)) {
			pthread_mutex_lock(&q->w.lock);
			q->last = (struct quota_usage){ .known = true, .used_kb = used, .limit_kb = limit };
			pthread_mutex_unlock(&q->w.lock);
		}
	}
}

/* Best effort: a refusal or a lost connection leaves the last answer. */
static void ask(struct quota *q)
{
	struct imap_cmd *cmd = quota_question(q);
	if (!cmd)
		return;
	struct run_opts o = { .verb = "GETQUOTAROOT", .on_untagged = quota_heard, .ctx = q,
			      .quiet = true, .any_answer = true };
	(void)run_command(q->pool, NULL, cmd, &o);
	imap_cmd_free(cmd);
}

static bool is_wanted(void *ctx)
{
	return ((struct quota *)ctx)->wanted;
}

static void quota_thread(void *arg, unsigned self)
{
	(void)self;
	struct quota *q = arg;
	pthread_mutex_lock(&q->w.lock);
	while (worker_wait_until(&q->w, is_wanted, q)) {
		q->wanted = false;
		pthread_mutex_unlock(&q->w.lock);
		ask(q);
		pthread_mutex_lock(&q->w.lock);
	}
	pthread_mutex_unlock(&q->w.lock);
}

int quota_start(struct quota *q)
{
	if (!pool_has_cap(q->pool, "QUOTA"))
		return 0;  /* nothing to ask, ever */
	return worker_start(&q->w, 1, "imapfs-quota", quota_thread);
}

struct quota_usage quota_get(struct quota *q, int max_age)
{
	pthread_mutex_lock(&q->w.lock);
	long long now = clock_ms();
	if (q->w.n && now - q->asked_ms >= max_age * 1000LL) {
		q->wanted = true;
		q->asked_ms = now;
		worker_wake(&q->w);
	}
	struct quota_usage u = q->last;
	pthread_mutex_unlock(&q->w.lock);
	return u;
}

void quota_free(struct quota *q)
{
	if (!q)
		return;
	worker_stop(&q->w, 0);
	worker_destroy(&q->w);
	free(q);
}
