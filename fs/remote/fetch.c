/* fetch.c: listings and bodies over one pool connection. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "date.h"
#include "log.h"
#include "remote/fetch.h"
#include "remote/run.h"
#include "seqset.h"
#include "xalloc.h"

bool status_decode(const struct imap_resp *r, struct status_item *out)
{
	if (!r || strcmp(r->name, "STATUS") || r->nargs < 2 || r->args[1].type != IMAP_ARG_LIST)
		return false;
	const struct imap_arg *a = r->args[1].list;
	for (size_t i = 0; i + 1 < r->args[1].count; i += 2) {
		uint64_t v;
		if (!imap_arg_number(&a[i + 1], &v))
			continue;
		if (imap_arg_is_atom(&a[i], "UIDVALIDITY"))
			out->uidvalidity = (uint32_t)v;
		else if (imap_arg_is_atom(&a[i], "UIDNEXT"))
			out->uidnext = (uint32_t)v;
		else if (imap_arg_is_atom(&a[i], "MESSAGES"))
			out->messages = (uint32_t)v;
		else if (imap_arg_is_atom(&a[i], "HIGHESTMODSEQ"))
			out->highestmodseq = v;
	}
	out->seen = true;
	return true;
}

bool fetch_decode(const struct imap_resp *r, struct fetch_item *out)
{
	memset(out, 0, sizeof *out);
	if (!r || strcmp(r->name, "FETCH") || r->nargs < 1 || r->args[0].type != IMAP_ARG_LIST)
		return false;
	const struct imap_arg *a = r->args[0].list;
	size_t n = r->args[0].count;
	bool has_uid = false;
	for (size_t i = 0; i + 1 < n; i += 2) {
		const struct imap_arg *k = &a[i], *v = &a[i + 1];
		uint64_t num;
		if (imap_arg_is_atom(k, "UID") && imap_arg_number(v, &num) && num && num <= UINT32_MAX) {
			out->uid = (uint32_t)num;
			has_uid = true;
		} else if (imap_arg_is_atom(k, "RFC822.SIZE") && imap_arg_number(v, &num)) {
			out->size = num;
			out->has_size = true;
		} else if (imap_arg_is_atom(k, "INTERNALDATE") && v->type == IMAP_ARG_STRING) {
			time_t t;
			if (imap_internaldate_parse(v->str, v->len, &t) == 0) {
				out->date = (int64_t)t;
				out->has_date = true;
			}
		} else if (imap_arg_is_atom(k, "MODSEQ") && v->type == IMAP_ARG_LIST && v->count == 1 &&
			   imap_arg_number(&v->list[0], &num)) {
			out->modseq = num;
			out->has_modseq = true;
		} else if (imap_arg_is_atom(k, "FLAGS") && v->type == IMAP_ARG_LIST) {
			out->flags = v;
		}
	}
	return has_uid;
}

void fetch_flags_text(const struct imap_arg *flags, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < flags->count; i++) {
		const struct imap_arg *f = &flags->list[i];
		if (f->type != IMAP_ARG_ATOM || !f->len || imap_arg_is_atom(f, "\\RECENT"))
			continue;
		if (out->len)
			buf_addch(out, ' ');
		buf_add(out, f->str, f->len);
	}
}

void msgvec_free(struct msgvec *v)
{
	free(v->v);
	memset(v, 0, sizeof *v);
}

static void msgvec_push(struct msgvec *v, const struct cache_msg *m)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 256;
		v->v = xrealloc(v->v, v->cap * sizeof *v->v);
	}
	v->v[v->n++] = *m;
}

static int cmp_msg(const void *a, const void *b)
{
	uint32_t x = ((const struct cache_msg *)a)->uid, y = ((const struct cache_msg *)b)->uid;
	return x < y ? -1 : x > y;
}

/* Sorts and drops duplicate UIDs (a server may repeat a FETCH). */
static void msgvec_normalize(struct msgvec *v)
{
	if (v->n < 2)
		return;  /* also an empty mailbox: v->v is NULL, which qsort must not get */
	qsort(v->v, v->n, sizeof *v->v, cmp_msg);
	size_t w = 0;
	for (size_t i = 0; i < v->n; i++)
		if (w == 0 || v->v[w - 1].uid != v->v[i].uid)
			v->v[w++] = v->v[i];
		else
			v->v[w - 1] = v->v[i];
	v->n = w;
}

/* A listing or a search: every refusal is -EIO (logged), and nothing
 * changes when it runs again. */
static int run_read(struct pool_conn *c, struct imap_cmd *cmd, const char *verb,
		    run_untagged_fn on_untagged, void *ctx)
{
	struct run_opts o = { .verb = verb, .mailbox = c->selected, .on_untagged = on_untagged,
			      .ctx = ctx, .refused = -EIO };
	return run_on(c, cmd, &o);
}

static void on_status(void *ctx, struct pool_conn *c, const struct imap_response *raw,
		      const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	status_decode(r, ctx);
}

int fetch_status(struct pool_conn *c, const char *mailbox, const char *items, int refused,
		 struct status_item *st)
{
	struct imap_cmd *cmd = run_mailbox_cmd("STATUS", mailbox);
	if (!cmd)
		return -EINVAL;
	imap_cmd_addf(cmd, " (%s)", items);
	struct run_opts o = { .verb = "STATUS", .mailbox = mailbox, .on_untagged = on_status,
			      .ctx = st, .quiet = true, .refused = refused };
	int rc = run_on(c, cmd, &o);
	imap_cmd_free(cmd);
	return rc;
}

struct listing_ctx {
	struct msgvec *out;
	uint32_t min_uid;
	struct cache *cache;
	struct buf flags;
};

static void on_listing(void *ctx, struct pool_conn *c, const struct imap_response *raw,
		       const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	struct listing_ctx *l = ctx;
	struct fetch_item it;
	if (!fetch_decode(r, &it) || it.uid < l->min_uid)
		return;
	struct cache_msg m = { .uid = it.uid, .size = it.size, .internaldate = it.date, .modseq = it.modseq };
	if (it.flags) {
		fetch_flags_text(it.flags, &l->flags);
		m.flags = cache_flags_id(l->cache, l->flags.data, l->flags.len);
	}
	msgvec_push(l->out, &m);
}

int fetch_listing(struct pool_conn *c, struct cache *cache, const char *range, uint32_t min_uid,
		  struct msgvec *out)
{
	struct listing_ctx l = { out, min_uid, cache, BUF_INIT };
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	imap_cmd_addf(cmd, " %s (UID RFC822.SIZE INTERNALDATE FLAGS%s)", range,
		      pool_has_cap(c->pool, "CONDSTORE") ? " MODSEQ" : "");
	int rc = run_read(c, cmd, "UID FETCH", on_listing, &l);
	imap_cmd_free(cmd);
	buf_free(&l.flags);
	msgvec_normalize(out);
	return rc;
}

struct search_ctx {
	uint32_t *v;
	size_t n, cap;
};

static void on_search(void *ctx, struct pool_conn *c, const struct imap_response *raw,
		      const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	struct search_ctx *s = ctx;
	if (!r || strcmp(r->name, "SEARCH"))
		return;
	for (size_t i = 0; i < r->nargs; i++) {
		uint64_t v;
		if (!imap_arg_number(&r->args[i], &v) || !v || v > UINT32_MAX)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 1024;
			s->v = xrealloc(s->v, s->cap * sizeof *s->v);
		}
		s->v[s->n++] = (uint32_t)v;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int fetch_all_uids(struct pool_conn *c, uint32_t **uids, size_t *n)
{
	struct search_ctx s = { NULL, 0, 0 };
	struct imap_cmd *cmd = imap_cmd_new("UID SEARCH");
	imap_cmd_add(cmd, " ALL");
	int rc = run_read(c, cmd, "UID SEARCH", on_search, &s);
	imap_cmd_free(cmd);
	if (rc < 0) {
		free(s.v);
		return rc;
	}
	if (s.n)  /* an empty folder: s.v is NULL, which qsort must not get */
		qsort(s.v, s.n, sizeof *s.v, cmp_u32);
	*uids = s.v;
	*n = s.n;
	return 0;
}

/* ---- bodies ---- */

/* One UID FETCH of the stream: its UIDs (ascending) and which arrived. */
struct fetch_cmd {
	struct imap_cmd *cmd;
	uint32_t *uids;
	bool *done;
	size_t n;
	struct fetch_cmd *next;
};

struct fetch_stream {
	struct pool_conn *c;
	struct cache *cache;
	char *mailbox;
	uint32_t uidvalidity;
	fetch_body_fn fn;
	void *ctx;
	struct fetch_cmd *head, *tail;     /* in flight, oldest first */
	size_t ncmds;
	int error;                         /* the connection failed (negative errno) */
	bool refused;                      /* a FETCH got NO or BAD */
	struct cache_writer *w;            /* the literal being streamed */
	struct fetch_cmd *w_cmd;
	size_t w_index;
	bool w_failed;
};

static long find_uid_index(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (uids[mid] < uid)
			lo = mid + 1;
		else if (uids[mid] > uid)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}

/* The command in flight that asked for uid and has not had it yet. */
static struct fetch_cmd *stream_find(struct fetch_stream *st, uint32_t uid, size_t *index)
{
	for (struct fetch_cmd *fc = st->head; fc; fc = fc->next) {
		long i = find_uid_index(fc->uids, fc->n, uid);
		if (i >= 0 && !fc->done[i]) {
			*index = (size_t)i;
			return fc;
		}
	}
	return NULL;
}

/* The UID named before the literal in this response ("UID 123"). */
static uint32_t uid_in_text(const struct imap_response *r)
{
	for (size_t i = 0; i < r->npieces; i++) {
		const char *t = r->pieces[i].text;
		for (const char *p = t; (p = strcasestr(p, "UID ")); p += 4) {
			if (p > t && p[-1] != ' ' && p[-1] != '(')
				continue;
			char *end;
			unsigned long v = strtoul(p + 4, &end, 10);
			if (end > p + 4 && v && v <= UINT32_MAX)
				return (uint32_t)v;
		}
	}
	return 0;
}

/* A BODY[] literal: the text before "{N}" ends with "BODY[]" (or
 * "BODY[]<0>"). */
static bool is_body_literal(const struct imap_response *r)
{
	const struct imap_piece *pc = &r->pieces[r->npieces - 1];
	const char *brace = strrchr(pc->text, '{');
	if (!brace)
		return false;
	const char *end = brace;
	while (end > pc->text && end[-1] == ' ')
		end--;
	size_t len = (size_t)(end - pc->text);
	return (len >= 6 && !strncasecmp(end - 6, "BODY[]", 6)) ||
	       (len >= 9 && !strncasecmp(end - 9, "BODY[]<0>", 9));
}

static int body_write(void *ctx, const void *p, size_t n)
{
	struct fetch_stream *st = ctx;
	if (!st->w_failed && cache_writer_write(st->w, p, n) < 0) {
		fs_log(LOG_ERR, "cache write failed for %s UID %u: %s", st->mailbox,
		       st->w_cmd->uids[st->w_index], strerror(errno));
		st->w_failed = true;
	}
	return 0;  /* keep the stream in sync even when the disk fails */
}

static void body_done(void *ctx, bool ok)
{
	struct fetch_stream *st = ctx;
	struct fetch_cmd *fc = st->w_cmd;
	uint32_t uid = fc->uids[st->w_index];
	uint64_t size = 0;
	struct buf err = BUF_INIT;
	if (ok && !st->w_failed && cache_writer_commit(st->w, &size, &err) == 0) {
		fc->done[st->w_index] = true;
		st->fn(st->ctx, uid, true, size);
	} else {
		if (ok && !st->w_failed)
			fs_log(LOG_ERR, "cache commit failed for %s UID %u: %s", st->mailbox, uid, err.data);
		else
			cache_writer_abort(st->w);
	}
	buf_free(&err);
	st->w = NULL;
	st->w_cmd = NULL;
}

static bool body_hook(void *ctx, const struct imap_response *so_far, uint64_t size,
		      struct imap_sink *sink)
{
	struct fetch_stream *st = ctx;
	if (!is_body_literal(so_far))
		return false;
	uint32_t uid = uid_in_text(so_far);
	if (!uid && st->ncmds == 1 && st->head->n == 1)
		uid = st->head->uids[0];
	struct buf err = BUF_INIT;
	size_t index = 0;
	struct fetch_cmd *fc = uid ? stream_find(st, uid, &index) : NULL;
	/* never file bytes of another generation under this one */
	if (st->c->uidvalidity != st->uidvalidity)
		fc = NULL;
	/* The literal's length is the body's, whatever RFC822.SIZE said: one
	 * the cache cannot hold is read past, not written until it fails. */
	if (fc && !cache_body_fits(st->cache, size)) {
		fs_log(LOG_WARNING, "%s UID %u: the body of %llu bytes is larger than the cache "
		       "(cache_size) and cannot be read", st->mailbox, uid, (unsigned long long)size);
		fc = NULL;
	}
	if (!fc || st->w ||
	    cache_body_begin(st->cache, st->mailbox, st->uidvalidity, uid, &st->w, &err) < 0) {
		if (err.len)
			fs_log(LOG_ERR, "cache: %s", err.data);
		buf_free(&err);
		/* not ours or not storable: read past it (a sink without
		 * write, which earns the FETCH no time); the UID is reported
		 * as not had when its command ends */
		sink->write = NULL;
		sink->done = NULL;
		sink->ctx = NULL;
		return true;
	}
	buf_free(&err);
	st->w_cmd = fc;
	st->w_index = index;
	st->w_failed = false;
	sink->write = body_write;
	sink->done = body_done;
	sink->ctx = st;
	return true;
}

void fetch_stream_begin(struct fetch_stream **out, struct pool_conn *c, struct cache *cache,
			const char *mailbox, uint32_t uidvalidity, fetch_body_fn fn, void *ctx)
{
	struct fetch_stream *st = xcalloc(1, sizeof *st);
	st->c = c;
	st->cache = cache;
	st->mailbox = xstrdup(mailbox);
	st->uidvalidity = uidvalidity;
	st->fn = fn;
	st->ctx = ctx;
	imap_set_literal_hook(c->s, body_hook, st);
	*out = st;
}

/* Reports what a finished (or abandoned) command did not deliver. */
static void stream_retire(struct fetch_stream *st, struct fetch_cmd *fc)
{
	for (size_t i = 0; i < fc->n; i++)
		if (!fc->done[i])
			st->fn(st->ctx, fc->uids[i], false, 0);
	imap_cmd_free(fc->cmd);
	free(fc->uids);
	free(fc->done);
	free(fc);
}

static void stream_fail(struct fetch_stream *st, int rc)
{
	if (!st->error)
		st->error = rc;
	/* cut short mid-literal: the parser must let go of st now.  Closing
	 * the connection ends its sink, and body_done drops the body's writer
	 * (it needs st->w until then) */
	if (st->w)
		pool_disconnect(st->c);
	cache_writer_abort(st->w);
	st->w = NULL;
	st->w_cmd = NULL;
	while (st->head) {
		struct fetch_cmd *fc = st->head;
		st->head = fc->next;
		stream_retire(st, fc);
	}
	st->tail = NULL;
	st->ncmds = 0;
}

void fetch_stream_add(struct fetch_stream *st, const uint32_t *uids, size_t n)
{
	struct fetch_cmd *fc = xcalloc(1, sizeof *fc);
	fc->uids = xcalloc(n ? n : 1, sizeof *fc->uids);
	memcpy(fc->uids, uids, n * sizeof *uids);
	fc->done = xcalloc(n ? n : 1, sizeof *fc->done);
	fc->n = n;
	if (st->error || !st->c->s || !n) {
		stream_retire(st, fc);
		return;
	}
	struct buf set = BUF_INIT;
	seqset_build(uids, n, &set);
	fc->cmd = imap_cmd_new("UID FETCH");
	imap_cmd_addf(fc->cmd, " %s (UID BODY.PEEK[])", set.data);
	buf_free(&set);
	int rc = run_submit(st->c, fc->cmd);
	if (st->tail)
		st->tail->next = fc;
	else
		st->head = fc;
	st->tail = fc;
	st->ncmds++;
	if (rc < 0)
		stream_fail(st, rc);
}

size_t fetch_stream_pending(const struct fetch_stream *st)
{
	return st->ncmds;
}

/* Retires the commands that are done, in order. */
static void stream_reap(struct fetch_stream *st)
{
	while (st->head && imap_cmd_done(st->head->cmd)) {
		struct fetch_cmd *fc = st->head;
		if (!imap_cmd_ok(fc->cmd)) {
			fs_log(LOG_WARNING, "%s %s: %s %s", imap_cmd_tag(fc->cmd), st->mailbox,
			       imap_cmd_status(fc->cmd), imap_cmd_text(fc->cmd));
			st->refused = true;
		}
		st->head = fc->next;
		if (!st->head)
			st->tail = NULL;
		st->ncmds--;
		stream_retire(st, fc);
	}
}

int fetch_stream_step(struct fetch_stream *st)
{
	if (!st->head)
		return st->error;
	if (!st->c->s) {
		stream_fail(st, -EIO);
		return st->error;
	}
	int rc = imap_read_response(st->c->s);
	if (rc < 0 && rc != IMAP_ERROR) {
		stream_fail(st, pool_errno(st->c, rc));
		return st->error;
	}
	stream_reap(st);
	return 0;
}

int fetch_stream_end(struct fetch_stream *st)
{
	while (st->head && !st->error)
		fetch_stream_step(st);
	stream_fail(st, 0);
	if (st->c->s)
		imap_set_literal_hook(st->c->s, NULL, NULL);
	int rc = st->error ? st->error : st->refused ? -EIO : 0;
	free(st->mailbox);
	free(st);
	return rc;
}
