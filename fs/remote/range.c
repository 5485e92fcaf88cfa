/* range.c: windows of one body over one pool connection. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "remote/range.h"
#include "remote/run.h"
#include "xalloc.h"

/* One UID FETCH of one window. */
struct range_cmd {
	struct imap_cmd *cmd;
	uint64_t start, len;
	bool done;
	bool failed;          /* its bytes could not be written */
	struct range_cmd *next;
};

struct range_stream {
	struct pool_conn *c;
	uint32_t uid;
	int fd;
	range_fn fn;
	range_progress_fn progress;
	void *ctx;
	struct imap_parser *parser;        /* splits the text before a literal */
	struct range_cmd *head, *tail;     /* in flight, oldest first */
	size_t ncmds;
	int error;
	struct range_cmd *w;               /* the window the literal being read fills */
	uint64_t w_got, w_lit;
	uint64_t w_told;                   /* w_got at the last progress report */
	bool w_failed;
};

/* "BODY[]" alone (origin 0) or "BODY[]<digits>": anything else (a
 * section, a partial of a part, a missing '>') is not ours. */
static bool body_item_origin(const struct imap_arg *k, uint64_t *origin)
{
	if (k->type != IMAP_ARG_ATOM || k->len < 6 || strncasecmp(k->str, "BODY[]", 6))
		return false;
	if (k->len == 6) {
		*origin = 0;
		return true;
	}
	if (k->str[6] != '<' || k->str[k->len - 1] != '>' || k->len < 9 || k->len > 6 + 2 + 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 7; i < k->len - 1; i++) {
		if (k->str[i] < '0' || k->str[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(k->str[i] - '0');
	}
	*origin = v;
	return true;
}

bool range_body_origin(const struct imap_resp *r, uint32_t *uid, uint64_t *origin,
		       const struct imap_arg **value)
{
	if (!r || r->kind != IMAP_RESP_UNTAGGED || strcmp(r->name, "FETCH") || r->nargs < 1 ||
	    r->args[0].type != IMAP_ARG_LIST)
		return false;
	const struct imap_arg *a = r->args[0].list;
	size_t n = r->args[0].count;
	bool found = false;
	*uid = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint64_t num;
		if (imap_arg_is_atom(&a[i], "UID") && imap_arg_number(&a[i + 1], &num) && num &&
		    num <= UINT32_MAX)
			*uid = (uint32_t)num;
		else if (body_item_origin(&a[i], origin)) {
			*value = &a[i + 1];
			found = true;
		}
	}
	return found;
}

static int window_write(void *ctx, const void *p, size_t n)
{
	struct range_stream *st = ctx;
	struct range_cmd *w = st->w;
	/* a literal longer than asked for: the rest is not this window's */
	size_t keep = w->len - st->w_got < n ? (size_t)(w->len - st->w_got) : n;
	while (keep && !st->w_failed) {
		ssize_t k = pwrite(st->fd, p, keep, (off_t)(w->start + st->w_got));
		if (k <= 0) {
			fs_log(LOG_ERR, "partial body of UID %u: write failed: %s", st->uid,
			       strerror(k < 0 ? errno : EIO));
			st->w_failed = true;
			break;
		}
		st->w_got += (uint64_t)k;
		p = (const char *)p + k;
		keep -= (size_t)k;
	}
	if (!st->w_failed && st->progress && st->w_got - st->w_told >= RANGE_PROGRESS_BYTES) {
		st->w_told = st->w_got;
		st->progress(st->ctx, w->start, st->w_got);
	}
	return 0;  /* the stream stays in sync whatever the disk does */
}

static void window_done(void *ctx, bool ok)
{
	struct range_stream *st = ctx;
	struct range_cmd *w = st->w;
	st->w = NULL;
	if (!ok || st->w_failed) {
		w->failed = true;  /* reported !ok when its command ends */
		return;
	}
	w->done = true;
	st->fn(st->ctx, w->start, w->len, true, st->w_got, st->w_lit);
}

static bool window_hook(void *ctx, const struct imap_response *so_far, uint64_t size, struct imap_sink *sink)
{
	struct range_stream *st = ctx;
	struct imap_resp r;
	struct buf err = BUF_INIT;
	uint32_t uid = 0;
	uint64_t origin = 0;
	const struct imap_arg *v = NULL;
	bool ours = imap_resp_parse(st->parser, so_far, &r, &err) == 0 &&
		    range_body_origin(&r, &uid, &origin, &v) && uid == st->uid &&
		    v->type == IMAP_ARG_LITERAL && v == &r.args[0].list[r.args[0].count - 1];
	buf_free(&err);
	struct range_cmd *w = NULL;
	for (struct range_cmd *fc = ours ? st->head : NULL; fc && !w; fc = fc->next)
		if (!fc->done && fc->start == origin)
			w = fc;
	if (!w || st->w) {
		/* another UID, section or origin: read past it */
		sink->write = NULL;
		sink->done = NULL;
		sink->ctx = NULL;
		return true;
	}
	st->w = w;
	st->w_got = st->w_told = 0;
	st->w_lit = size;
	st->w_failed = false;
	sink->write = window_write;
	sink->done = window_done;
	sink->ctx = st;
	return true;
}

/* The window's answer as a quoted string or NIL (no literal): its bytes
 * (none for NIL) are the window's. */
static void window_untagged(void *ctx, struct pool_conn *c, const struct imap_response *raw,
			    const struct imap_resp *r)
{
	struct range_stream *st = ctx;
	(void)c;
	(void)raw;
	uint32_t uid = 0;
	uint64_t origin = 0;
	const struct imap_arg *v = NULL;
	if (!range_body_origin(r, &uid, &origin, &v) || uid != st->uid ||
	    (v->type != IMAP_ARG_STRING && v->type != IMAP_ARG_NIL))
		return;
	struct range_cmd *w = NULL;
	for (struct range_cmd *fc = st->head; fc && !w; fc = fc->next)
		if (!fc->done && fc->start == origin)
			w = fc;
	if (!w || st->w)
		return;
	st->w = w;
	st->w_got = st->w_told = 0;
	st->w_lit = v->type == IMAP_ARG_STRING ? v->len : 0;
	st->w_failed = false;
	if (st->w_lit)
		window_write(st, v->str, v->len);
	window_done(st, true);
}

void range_begin(struct range_stream **out, struct pool_conn *c, uint32_t uid, int fd, range_fn fn,
		 range_progress_fn progress, void *ctx)
{
	struct range_stream *st = xcalloc(1, sizeof *st);
	st->c = c;
	st->uid = uid;
	st->fd = fd;
	st->fn = fn;
	st->progress = progress;
	st->ctx = ctx;
	st->parser = imap_parser_new(NULL);
	imap_set_literal_hook(c->s, window_hook, st);
	c->on_untagged = window_untagged;
	c->untagged_ctx = st;
	*out = st;
}

/* Reports a window that ended without its bytes as not had: a server
 * that answers OK without BODY[]<start> for it (or with another origin)
 * says nothing about where the body ends. */
static void range_retire(struct range_stream *st, struct range_cmd *fc, bool answered)
{
	if (!fc->done) {
		if (answered && !fc->failed)
			fs_log(LOG_WARNING, "UID %u: the server answered BODY[]<%llu> without it", st->uid,
			       (unsigned long long)fc->start);
		st->fn(st->ctx, fc->start, fc->len, false, 0, 0);
	}
	imap_cmd_free(fc->cmd);
	free(fc);
}

static void range_fail(struct range_stream *st, int rc)
{
	if (!st->error)
		st->error = rc;
	/* cut short mid-literal: the parser must let go of st now.  Closing
	 * the connection ends its sink, and window_done marks the window failed
	 * (it needs st->w until then) */
	if (st->w)
		pool_disconnect(st->c);
	st->w = NULL;
	while (st->head) {
		struct range_cmd *fc = st->head;
		st->head = fc->next;
		range_retire(st, fc, false);
	}
	st->tail = NULL;
	st->ncmds = 0;
}

void range_add(struct range_stream *st, uint64_t start, uint64_t len)
{
	struct range_cmd *fc = xcalloc(1, sizeof *fc);
	fc->start = start;
	fc->len = len;
	if (st->error || !st->c->s || !len) {
		range_retire(st, fc, false);
		return;
	}
	fc->cmd = imap_cmd_new("UID FETCH");
	imap_cmd_addf(fc->cmd, " %u (UID BODY.PEEK[]<%llu.%llu>)", st->uid, (unsigned long long)start,
		      (unsigned long long)len);
	int rc = run_submit(st->c, fc->cmd);
	if (st->tail)
		st->tail->next = fc;
	else
		st->head = fc;
	st->tail = fc;
	st->ncmds++;
	if (rc < 0)
		range_fail(st, rc);
}

size_t range_pending(const struct range_stream *st)
{
	return st->ncmds;
}

static void range_reap(struct range_stream *st)
{
	while (st->head && imap_cmd_done(st->head->cmd)) {
		struct range_cmd *fc = st->head;
		bool ok = imap_cmd_ok(fc->cmd);
		if (!ok)
			fs_log(LOG_WARNING, "%s UID %u partial FETCH: %s %s", imap_cmd_tag(fc->cmd), st->uid,
			       imap_cmd_status(fc->cmd), imap_cmd_text(fc->cmd));
		st->head = fc->next;
		if (!st->head)
			st->tail = NULL;
		st->ncmds--;
		range_retire(st, fc, ok);
	}
}

int range_step(struct range_stream *st)
{
	if (!st->head)
		return st->error;
	if (!st->c->s) {
		range_fail(st, -EIO);
		return st->error;
	}
	int rc = imap_read_response(st->c->s);
	if (rc < 0 && rc != IMAP_ERROR) {
		range_fail(st, pool_errno(st->c, rc));
		return st->error;
	}
	range_reap(st);
	return 0;
}

int range_end(struct range_stream *st)
{
	while (st->head && !st->error)
		range_step(st);
	range_fail(st, 0);
	if (st->c->s)
		imap_set_literal_hook(st->c->s, NULL, NULL);
	st->c->on_untagged = NULL;
	st->c->untagged_ctx = NULL;
	int rc = st->error;
	imap_parser_free(st->parser);
	free(st);
	return rc;
}
