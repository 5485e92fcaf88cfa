/* worker.c: background threads with one lock (see worker.h). */
#include "config.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "xalloc.h"

struct start {
	struct worker *w;
	unsigned self;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	s.w->run(s.w->arg, s.self);
	return NULL;
}

void worker_init(struct worker *w, void *arg, void (*on_wake)(void *arg))
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	w->stop = false;
	w->n = w->njoined = 0;
	w->threads = NULL;
	w->run = NULL;
	w->arg = arg;
	w->on_wake = on_wake;
}

int worker_start(struct worker *w, size_t n, const char *name, void (*run)(void *arg, unsigned self))
{
	w->run = run;
	w->threads = xcalloc(n ? n : 1, sizeof *w->threads);
	for (size_t i = 0; i < (n ? n : 1); i++) {
		struct start *s = xmalloc(sizeof *s);
		s->w = w;
		s->self = (unsigned)i;
		int rc = pthread_create(&w->threads[i], NULL, trampoline, s);
		if (rc != 0) {
			free(s);
			w->n = i;
			worker_stop(w, 0);
			free(w->threads);
			w->threads = NULL;
			w->n = w->njoined = 0;
			w->stop = false;
			return -rc;
		}
		w->n = i + 1;
		pthread_setname_np(w->threads[i], name);
	}
	return 0;
}

void worker_wake(struct worker *w)
{
	pthread_cond_signal(&w->work);
	if (w->on_wake)
		w->on_wake(w->arg);
}

void worker_wake_all(struct worker *w)
{
	pthread_cond_broadcast(&w->work);
	if (w->on_wake)
		w->on_wake(w->arg);
}

bool worker_wait_until(struct worker *w, bool (*ready)(void *ctx), void *ctx)
{
	while (!w->stop && !ready(ctx))
		pthread_cond_wait(&w->work, &w->lock);
	return !w->stop;
}

bool worker_stopping(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	bool r = w->stop;
	pthread_mutex_unlock(&w->lock);
	return r;
}

bool worker_stop(struct worker *w, int wait_s)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	worker_wake_all(w);
	pthread_mutex_unlock(&w->lock);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_s;
	/* one caller at a time (the owner's stop): njoined needs no lock */
	for (; w->njoined < w->n; w->njoined++) {
		size_t i = w->njoined;
		int rc = wait_s > 0 ? pthread_timedjoin_np(w->threads[i], NULL, &until)
				    : pthread_join(w->threads[i], NULL);
		if (rc != 0)
			return false;
	}
	return true;
}

void worker_destroy(struct worker *w)
{
	free(w->threads);
	w->threads = NULL;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work);
}
