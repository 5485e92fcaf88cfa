/* pool.c: logged-in IMAP connections shared by the filesystem's threads. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#include "cancel.h"
#include "clock.h"
#include "log.h"
#include "remote/auth.h"
#include "remote/pool.h"
#include "remote/secret.h"
#include "xalloc.h"

/* Reconnects after a failure wait 1 s, 2 s, 4 s ... up to this. */
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
/* How long the LOGOUTs at unmount may take, all together. */
#define LOGOUT_MS 2000
/* A connection the server refused for having too many (Gmail allows 15
 * per account, Dovecot 10 per user and IP by default, and other clients
 * hold some): its slot is left alone this long, the others serve. */
#define CAPPED_MS 60000

struct pool {
	const struct fs_config *cfg;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned n;
	struct pool_conn *conns;
	bool *busy;
	char **caps;          /* capabilities after login, from the first connection */
	size_t ncaps;
	/* reachability, under lock: while offline nobody dials before retry_at,
	 * so an uncached read fails at once instead of after a connect timeout */
	bool offline;
	int backoff_ms;
	long long retry_at;
	pool_change_fn on_change;
	void *change_ctx;
	bool stopping;        /* under lock */
	long long *capped_until;  /* per slot, under lock: refused for too many connections */
	struct pool_conn **priv;   /* the private connections (pool_private_new), under lock */
	size_t npriv;
	pthread_t *openers;   /* pool_open_spares' threads, joined by pool_free */
	bool *opening;        /* per slot: an opener has it (busy meanwhile) */
};

/* ALERT must reach the user (RFC 3501 7.1); BYE says why a link ends
 * (for the debug log: our own LOGOUT gets one too). */
static void log_server_text(struct pool_conn *c, const struct imap_resp *r)
{
	if (r->code && !strcasecmp(r->code, "ALERT"))
		fs_log(LOG_WARNING, "server alert: %s", r->text);
	else if (!strcmp(r->name, "BYE"))
		fs_log(LOG_DEBUG, "imap[%u] closed by the server: %s", c->index, r->text);
}

/* Mail that arrived or left the selected mailbox, or flags another client
 * changed, while this connection did something else: its listing is
 * stale.  Only after the selection is complete (c->selected set), so
 * EXAMINE's own EXISTS does not count; VANISHED (EARLIER) answers a
 * question we asked, and so may any FETCH but one heard in IDLE. */
static void note_change(struct pool_conn *c, const struct imap_resp *r, uint32_t old_exists)
{
	if (!c->selected)
		return;
	bool changed = false;
	if (!strcmp(r->name, "EXPUNGE"))
		changed = true;
	else if (!strcmp(r->name, "EXISTS") && r->has_number && r->number != old_exists)
		changed = true;
	else if (!strcmp(r->name, "VANISHED"))
		changed = !(r->nargs >= 1 && r->args[0].type == IMAP_ARG_LIST);
	else if (!strcmp(r->name, "FETCH"))
		changed = c->idling;
	if (!changed)
		return;
	c->changes++;
	if (c->pool && c->pool->on_change)
		c->pool->on_change(c->pool->change_ctx, c->selected);
}

static void conn_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			  const struct imap_resp *r)
{
	struct pool_conn *c = ctx;
	(void)s;
	if (!r)
		return;
	uint32_t old_exists = c->exists;
	/* EXAMINE/SELECT results the pool keeps for itself */
	if (!strcmp(r->name, "EXISTS") && r->has_number)
		c->exists = r->number;
	if (!strcmp(r->name, "OK") && r->code && r->code_nargs >= 1) {
		uint64_t v;
		if (!strcmp(r->code, "UIDVALIDITY") && imap_arg_number(&r->code_args[0], &v))
			c->uidvalidity = (uint32_t)v;
		else if (!strcmp(r->code, "UIDNEXT") && imap_arg_number(&r->code_args[0], &v))
			c->uidnext = (uint32_t)v;
		else if (!strcmp(r->code, "HIGHESTMODSEQ") && imap_arg_number(&r->code_args[0], &v))
			c->highestmodseq = v;
	}
	log_server_text(c, r);
	note_change(c, r, old_exists);
	if (c->on_untagged)
		c->on_untagged(c->untagged_ctx, c, raw, r);
}

static void trace_line(void *ctx, const char *line)
{
	struct pool_conn *c = ctx;
	fs_log(LOG_DEBUG, "imap[%u] %s", c->index, line);
}

static struct imap_endpoint conn_endpoint(const struct fs_config *cfg)
{
	struct imap_endpoint ep = { .host = cfg->url.host, .port = cfg->url.port };
	if (cfg->command) {
		ep.kind = IMAP_LINK_COMMAND;
		ep.command = cfg->command;
	} else if (cfg->url.implicit_tls) {
		ep.kind = IMAP_LINK_TLS;
	} else {
		ep.kind = IMAP_LINK_TCP;
		ep.starttls = !cfg->tls_none;
	}
	return ep;
}

/* Logs in unless the server greeted PREAUTH. */
static int conn_login(const struct fs_config *cfg, struct pool_conn *c, struct buf *err)
{
	if (imap_get_state(c->s) != IMAP_STATE_NONAUTH)
		return 0;
	if (!cfg->url.user) {
		buf_addstr(err, "the server wants a login, and the URL names no user (imap://USER@...)");
		return -1;
	}
	return auth_login(cfg, c->s, c->index, err);
}

/* Where the server offers UTF8=ACCEPT (RFC 6855), every connection turns it
 * on: mailbox names are then UTF-8 on the wire (pool.h), and messages with
 * 8-bit headers are APPENDed as they are without the server complaining
 * (Courier sends an ALERT otherwise).  All connections must agree, since
 * the names the mount shows depend on it. */
static int enable_utf8(struct pool_conn *c, struct buf *err)
{
	if (!imap_has_cap(c->s, "UTF8=ACCEPT") || !imap_has_cap(c->s, "ENABLE"))
		return 0;
	bool enabled = false;
	if (imap_client_enable(c->s, "UTF8=ACCEPT", &enabled) < 0) {
		buf_addf(err, "ENABLE UTF8=ACCEPT: %s", imap_errmsg(c->s));
		return -1;
	}
	if (!enabled) {
		buf_addstr(err, "the server offers UTF8=ACCEPT but did not enable it");
		return -1;
	}
	return 0;
}

/* COMPRESS=DEFLATE as -o compress= says (options.h): a server that does
 * not offer it or refuses leaves the link uncompressed, which compress=yes
 * reports once; the first link compressed is logged. */
static int conn_compress(const struct fs_config *cfg, struct pool_conn *c, struct buf *err)
{
	static atomic_bool told, on;  /* once per process, not per connection */
	if (cfg->compress == FS_COMPRESS_NO ||
	    (cfg->compress == FS_COMPRESS_AUTO && imap_peer_is_local(c->s)))
		return 0;
	bool offered = imap_has_cap(c->s, "COMPRESS=DEFLATE");
	int rc = offered ? imap_client_compress(c->s) : IMAP_ERROR;
	if (rc == IMAP_ERROR && cfg->compress == FS_COMPRESS_YES && !atomic_exchange(&told, true))
		fs_log(LOG_WARNING, "compress=yes: %s; going on uncompressed",
		       offered ? imap_errmsg(c->s) : "the server does not offer COMPRESS=DEFLATE");
	if (rc == IMAP_ABORT) {
		buf_addf(err, "COMPRESS: %s", imap_errmsg(c->s));
		return -1;
	}
	if (imap_is_compressed(c->s) && !atomic_exchange(&on, true))
		fs_log(LOG_INFO, "COMPRESS=DEFLATE on (compress=%s)",
		       cfg->compress == FS_COMPRESS_YES ? "yes" : "auto");
	return 0;
}

/* Logs in (unless PREAUTH) and enables what makes listings cheap to keep
 * fresh (CONDSTORE, or QRESYNC, which also names the UIDs expunged since
 * a modseq, so a resync need not list every UID). */
static int conn_setup(const struct fs_config *cfg, struct pool_conn *c, struct buf *err)
{
	if (conn_login(cfg, c, err) < 0)
		return -1;
	bool condstore = false;
	int rc = 0;
	c->qresync = false;
	if (imap_has_cap(c->s, "QRESYNC"))
		rc = imap_client_enable(c->s, "QRESYNC", &c->qresync);
	else if (imap_has_cap(c->s, "CONDSTORE"))
		rc = imap_client_enable(c->s, "CONDSTORE", &condstore);
	if (rc < 0) {
		buf_addf(err, "ENABLE: %s", imap_errmsg(c->s));
		return -1;
	}
	if (enable_utf8(c, err) < 0)
		return -1;
	return conn_compress(cfg, c, err);
}

/* Connect (STARTTLS unless implicit TLS or allowed plaintext), log in,
 * enable: all within one timeout, and all ending at once when c's wake-up
 * fd is written (an interrupted request, pool_stop). */
static int conn_open(const struct fs_config *cfg, struct pool_conn *c, struct buf *err)
{
	struct imap_opts o = {
		.timeout_ms = cfg->timeout_s * 1000,
		.tls = cfg->tls,
		.allow_plaintext = cfg->tls_none,
		.debug = cfg->debug ? 4 : 0,
		.trace = trace_line,
		.trace_ctx = c,
		.has_cancel_fd = c->wake >= 0,
		.cancel_fd = c->wake,
	};
	long long t0 = clock_ms();
	struct imap_endpoint ep = conn_endpoint(cfg);
	bool answered;
	if (imap_client_dial(&c->s, &ep, &o, &answered, err) < 0) {
		/* only advice for a server that answered but would not go TLS */
		if (ep.starttls && answered)
			buf_addstr(err, " (imap:// needs STARTTLS; -o tls=none allows an unencrypted link)");
		return err->data && auth_too_many_connections(err->data) ? -2 : -1;
	}
	long long left = o.timeout_ms > 0 ? t0 + o.timeout_ms - clock_ms() : 0;
	if (o.timeout_ms > 0 && left <= 0) {
		buf_addstr(err, "socket error: timed out");
	} else {
		imap_set_time_limit(c->s, (int)left);
		if (conn_setup(cfg, c, err) == 0) {
			imap_set_time_limit(c->s, 0);
			imap_set_untagged_handler(c->s, conn_untagged, c);
			c->broken = false;
			return 0;
		}
	}
	imap_close(c->s);
	c->s = NULL;
	return err->data && auth_too_many_connections(err->data) ? -2 : -1;
}

static void conn_close(struct pool_conn *c)
{
	imap_close(c->s);
	c->s = NULL;
	free(c->selected);
	c->selected = NULL;
}

/* The core's LOGOUT: the imaplib layer would refuse it after an EXAMINE
 * ("mailbox status changed to READ-ONLY").  Queued on every connection
 * first and then waited for, so a stalled server costs LOGOUT_MS once,
 * not once per connection.  Not through run.c: closing is the pool's own,
 * its answer means nothing, and a lost connection is closed anyway. */
static struct imap_cmd *logout_begin(struct pool_conn *c)
{
	if (!c->s || c->broken)
		return NULL;
	struct imap_cmd *cmd = imap_cmd_new("LOGOUT");
	imap_set_timeout(c->s, LOGOUT_MS);
	if (imap_submit(c->s, cmd) < 0) {
		imap_cmd_free(cmd);
		return NULL;
	}
	return cmd;
}

static void logout_end(struct pool_conn *c, struct imap_cmd *cmd)
{
	if (cmd)
		(void)imap_wait(c->s, cmd);
	imap_cmd_free(cmd);
}

static int wake_new(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		fs_log(LOG_WARNING, "eventfd: %m: interrupted reads wait for their timeout");
	return fd;
}

static void wake_write(int fd)
{
	uint64_t one = 1;
	if (fd >= 0 && write(fd, &one, sizeof one) < 0) {
		/* full: woken already */
	}
}

/* Takes back a wake-up that is over (the one of an earlier request). */
static void wake_drain(int fd)
{
	uint64_t v;
	if (fd >= 0 && read(fd, &v, sizeof v) < 0) {
		/* nothing pending */
	}
}

void pool_disconnect(struct pool_conn *c)
{
	conn_close(c);
	c->broken = true;
}

int pool_new(struct pool **out, const struct fs_config *cfg, struct buf *err)
{
	struct pool *p = xcalloc(1, sizeof *p);
	p->cfg = cfg;
	p->n = cfg->connections ? cfg->connections : 4;
	p->conns = xcalloc(p->n, sizeof *p->conns);
	p->busy = xcalloc(p->n, sizeof *p->busy);
	p->capped_until = xcalloc(p->n, sizeof *p->capped_until);
	for (unsigned i = 0; i < p->n; i++) {
		p->conns[i].index = i;
		p->conns[i].pool = p;
		p->conns[i].wake = wake_new();
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	if (conn_open(cfg, &p->conns[0], err) < 0) {
		pool_free(p);
		return -1;
	}
	size_t n = imap_ncaps(p->conns[0].s);
	p->caps = xcalloc(n + 1, sizeof *p->caps);
	for (size_t i = 0; i < n; i++)
		p->caps[p->ncaps++] = xstrdup(imap_cap(p->conns[0].s, i));
	*out = p;
	return 0;
}

static void join_openers(struct pool *p);

void pool_free(struct pool *p)
{
	if (!p)
		return;
	join_openers(p);
	/* what pool_stop woke is over: a LOGOUT is still worth its answer */
	struct imap_cmd **bye = xcalloc(p->n, sizeof *bye);
	for (unsigned i = 0; i < p->n; i++) {
		wake_drain(p->conns[i].wake);
		bye[i] = logout_begin(&p->conns[i]);
	}
	for (unsigned i = 0; i < p->n; i++) {
		logout_end(&p->conns[i], bye[i]);
		conn_close(&p->conns[i]);
		if (p->conns[i].wake >= 0)
			close(p->conns[i].wake);
	}
	free(bye);
	free(p->priv);
	for (size_t i = 0; i < p->ncaps; i++)
		free(p->caps[i]);
	free(p->caps);
	free(p->conns);
	free(p->busy);
	free(p->capped_until);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p);
}

bool pool_has_cap(struct pool *p, const char *cap)
{
	for (size_t i = 0; i < p->ncaps; i++)
		if (!strcasecmp(p->caps[i], cap))
			return true;
	return false;
}

bool pool_utf8_names(struct pool *p)
{
	return pool_has_cap(p, "UTF8=ACCEPT") && pool_has_cap(p, "ENABLE");
}

/* The free connection to use: one with mailbox selected, else an open one,
 * else any the server has not refused lately.  Called with the lock held;
 * -1 when all are busy. */
static int pick(struct pool *p, const char *mailbox)
{
	int open_one = -1, any = -1;
	long long now = clock_ms();
	for (unsigned i = 0; i < p->n; i++) {
		if (p->busy[i] || p->capped_until[i] > now)
			continue;
		struct pool_conn *c = &p->conns[i];
		if (mailbox && c->s && !c->broken && c->selected && !strcmp(c->selected, mailbox))
			return (int)i;
		if (c->s && !c->broken && open_one < 0)
			open_one = (int)i;
		if (any < 0)
			any = (int)i;
	}
	return open_one >= 0 ? open_one : any;
}

static bool pool_stopping(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	bool stopping = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return stopping;
}

/* The server has as many connections as it allows: c's slot rests, the
 * pool works with the others (-EAGAIN), unless none is left (-EIO). */
static int capped(struct pool *p, struct pool_conn *c, struct buf *err)
{
	pthread_mutex_lock(&p->lock);
	long long now = clock_ms();
	unsigned usable = 0;
	for (unsigned i = 0; i < p->n; i++)
		usable += i != c->index && p->capped_until[i] <= now;
	bool first = p->capped_until[c->index] == 0;
	p->capped_until[c->index] = now + CAPPED_MS;
	pthread_mutex_unlock(&p->lock);
	if (first)
		fs_log(usable ? LOG_NOTICE : LOG_ERR, "imap[%u] refused: %s; %s", c->index, err->data,
		       usable ? "working with fewer connections" : "no connection left");
	buf_free(err);
	return usable ? -EAGAIN : -EIO;
}

int pool_reconnect(struct pool *p, struct pool_conn *c)
{
	conn_close(c);
	c->broken = true;
	pthread_mutex_lock(&p->lock);
	/* nobody dials while unmounting: pool_stop's wake-up may be taken
	 * already (pool_get drains it), so it would not end the dialling */
	bool wait = p->stopping || (p->offline && clock_ms() < p->retry_at);
	pthread_mutex_unlock(&p->lock);
	if (wait)
		return -EIO;
	struct buf err = BUF_INIT;
	int rc = conn_open(p->cfg, c, &err);
	if (rc == -2 && c->index < p->n)
		return capped(p, c, &err);
	if (rc == -2) {  /* a private one (IDLE): the server is there, just full */
		fs_log(LOG_DEBUG, "imap[%u] refused: %s", c->index, err.data);
		buf_free(&err);
		return -EIO;
	}
	if (rc < 0 && (fs_cancelled() || pool_stopping(p))) {
		/* given up on, not unreachable: no offline, no backoff */
		fs_log(LOG_DEBUG, "imap[%u] not reopened: %s", c->index, err.data);
		buf_free(&err);
		return -EIO;
	}
	pthread_mutex_lock(&p->lock);
	if (rc < 0) {
		/* one line when the server goes away, none per retry */
		if (!p->offline)
			fs_log(LOG_ERR, "offline: %s (cached mail stays readable; retrying)", err.data);
		else
			fs_log(LOG_DEBUG, "still offline: %s", err.data);
		p->offline = true;
		p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_FIRST_MS;
		if (p->backoff_ms > BACKOFF_MAX_MS)
			p->backoff_ms = BACKOFF_MAX_MS;
		p->retry_at = clock_ms() + p->backoff_ms;
	} else {
		if (p->offline)
			fs_log(LOG_NOTICE, "back online");
		p->offline = false;
		p->backoff_ms = 0;
	}
	pthread_mutex_unlock(&p->lock);
	buf_free(&err);
	return rc < 0 ? -EIO : 0;
}

void pool_set_change_hook(struct pool *p, pool_change_fn fn, void *ctx)
{
	pthread_mutex_lock(&p->lock);
	p->on_change = fn;
	p->change_ctx = ctx;
	pthread_mutex_unlock(&p->lock);
}

/* One spare's login at mount; its slot stays busy until it is done.  A
 * failure leaves the slot closed: it is dialled again when first used. */
static void *open_spare(void *arg)
{
	struct pool_conn *c = arg;
	struct pool *p = c->pool;
	struct buf err = BUF_INIT;
	int rc = pool_stopping(p) ? 0 : conn_open(p->cfg, c, &err);
	if (rc == -2)
		(void)capped(p, c, &err);  /* the slot rests, as on any refusal */
	else if (rc < 0)
		fs_log(LOG_DEBUG, "imap[%u] not opened at mount: %s", c->index, err.data);
	buf_free(&err);
	pthread_mutex_lock(&p->lock);
	p->busy[c->index] = false;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void pool_open_spares(struct pool *p)
{
	if (p->openers || p->n < 2)
		return;
	p->openers = xcalloc(p->n, sizeof *p->openers);
	p->opening = xcalloc(p->n, sizeof *p->opening);
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 1; i < p->n; i++) {
		struct pool_conn *c = &p->conns[i];
		if (p->busy[i] || c->s)
			continue;
		p->busy[i] = true;
		p->opening[i] = pthread_create(&p->openers[i], NULL, open_spare, c) == 0;
		if (!p->opening[i])
			p->busy[i] = false;  /* opened on first use, as without spares */
	}
	pthread_mutex_unlock(&p->lock);
}

/* pool_free: the logins still going end now (their slots are then closed). */
static void join_openers(struct pool *p)
{
	if (!p->openers)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	for (unsigned i = 1; i < p->n; i++)
		if (p->opening[i])
			wake_write(p->conns[i].wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 1; i < p->n; i++)
		if (p->opening[i])
			pthread_join(p->openers[i], NULL);
	free(p->openers);
	free(p->opening);
	p->openers = NULL;
}

struct pool_conn *pool_private_new(struct pool *p)
{
	struct pool_conn *c = xcalloc(1, sizeof *c);
	c->pool = p;
	c->index = p->n;
	c->broken = true;
	c->wake = wake_new();
	pthread_mutex_lock(&p->lock);
	p->priv = xrealloc(p->priv, (p->npriv + 1) * sizeof *p->priv);
	p->priv[p->npriv++] = c;
	if (p->stopping)
		wake_write(c->wake);
	pthread_mutex_unlock(&p->lock);
	return c;
}

void pool_private_free(struct pool_conn *c)
{
	if (!c)
		return;
	struct pool *p = c->pool;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->npriv; i++) {
		if (p->priv[i] == c) {
			p->priv[i] = p->priv[--p->npriv];
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	wake_drain(c->wake);
	logout_end(c, logout_begin(c));
	conn_close(c);
	if (c->wake >= 0)
		close(c->wake);
	free(c);
}

void pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->freed);
	for (unsigned i = 0; i < p->n; i++)
		wake_write(p->conns[i].wake);
	for (size_t i = 0; i < p->npriv; i++)
		wake_write(p->priv[i]->wake);
	pthread_mutex_unlock(&p->lock);
	if (p->cfg->secret)  /* a login may be waiting for passcmd */
		secret_stop(p->cfg->secret);
}

int pool_get(struct pool *p, const char *mailbox, struct pool_conn **out)
{
	pthread_mutex_lock(&p->lock);
	int i = -1;
	while (!p->stopping && (i = pick(p, mailbox)) < 0)
		if (fs_cond_wait(&p->freed, &p->lock) < 0)
			break;
	if (p->stopping || i < 0) {
		int rc = p->stopping ? -EIO : -EINTR;
		pthread_mutex_unlock(&p->lock);
		return rc;
	}
	p->busy[i] = true;
	pthread_mutex_unlock(&p->lock);
	struct pool_conn *c = &p->conns[i];
	/* drained before looking at stopping: pool_stop sets that first, then
	 * wakes, so its wake-up is either seen here or still pending */
	wake_drain(c->wake);
	if (pool_stopping(p)) {
		pool_put(p, c);
		return -EIO;
	}
	if (fs_cancel_hold_fd(c->wake) < 0) {
		pool_put(p, c);
		return -EINTR;
	}
	int rc = c->broken || !c->s ? pool_reconnect(p, c) : 0;
	if (rc == -EAGAIN) {  /* refused for too many connections: another one */
		pool_put(p, c);
		return pool_get(p, mailbox, out);
	}
	if (rc < 0) {
		pool_put(p, c);
		return fs_cancelled() ? -EINTR : -EIO;
	}
	c->on_untagged = NULL;
	c->untagged_ctx = NULL;
	*out = c;
	return 0;
}

void pool_put(struct pool *p, struct pool_conn *c)
{
	fs_cancel_release_fd(c->wake);
	c->on_untagged = NULL;
	c->untagged_ctx = NULL;
	if (c->broken && c->s)
		conn_close(c);
	pthread_mutex_lock(&p->lock);
	p->busy[c->index] = false;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

/* A connection was lost: the server most likely dropped them all (a
 * restart, a kick), so the idle ones are dialled afresh on their next use
 * rather than found dead one by one, each costing a read its retry. */
static void suspect_idle(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < p->n; i++)
		if (!p->busy[i] && p->conns[i].s)
			p->conns[i].broken = true;
	pthread_mutex_unlock(&p->lock);
}

int pool_errno(struct pool_conn *c, int rc)
{
	if (rc == IMAP_ABORT) {
		c->broken = true;
		if (fs_cancelled()) {
			fs_log(LOG_DEBUG, "imap[%u] abandoned: the request was interrupted", c->index);
			return -EINTR;
		}
		if (c->pool && pool_stopping(c->pool)) {
			fs_log(LOG_DEBUG, "imap[%u] abandoned: unmounting", c->index);
		} else {
			fs_log(LOG_WARNING, "IMAP connection lost: %s", imap_errmsg(c->s));
			if (c->pool && c->index < c->pool->n)
				suspect_idle(c->pool);
		}
		return -EIO;
	}
	return rc < 0 ? -EIO : 0;
}

