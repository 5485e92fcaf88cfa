/* fetch.c: listings and bodies over one pool connection. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "date.h"
#include "fetch.h"

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
		}
	}
	return has_uid;
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

/* Runs one command to completion; a tagged NO/BAD is -EIO (logged). */
static int run(struct pool_conn *c, struct imap_cmd *cmd)
{
	int rc = imap_submit(c->s, cmd);
	if (rc == 0)
		rc = imap_wait(c->s, cmd);
	if (rc < 0)
		return pool_errno(c, rc);
	if (!imap_cmd_ok(cmd)) {
		fs_log(LOG_WARNING, "%s %s: %s %s", imap_cmd_tag(cmd), c->selected ? c->selected : "",
		       imap_cmd_status(cmd), imap_cmd_text(cmd));
		return -EIO;
	}
	return 0;
}

struct listing_ctx {
	struct msgvec *out;
	uint32_t min_uid;
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
	struct cache_msg m = { .uid = it.uid, .size = it.size, .internaldate = it.date };
	msgvec_push(l->out, &m);
}

int fetch_listing(struct pool_conn *c, const char *range, uint32_t min_uid, struct msgvec *out)
{
	struct listing_ctx l = { out, min_uid };
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	imap_cmd_addf(cmd, " %s (UID RFC822.SIZE INTERNALDATE)", range);
	c->on_untagged = on_listing;
	c->untagged_ctx = &l;
	int rc = run(c, cmd);
	c->on_untagged = NULL;
	imap_cmd_free(cmd);
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
	c->on_untagged = on_search;
	c->untagged_ctx = &s;
	int rc = run(c, cmd);
	c->on_untagged = NULL;
	imap_cmd_free(cmd);
	if (rc < 0) {
		free(s.v);
		return rc;
	}
	qsort(s.v, s.n, sizeof *s.v, cmp_u32);
	*uids = s.v;
	*n = s.n;
	return 0;
}

void fetch_uid_set(const uint32_t *uids, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (out->len)
			buf_addch(out, ',');
		if (j > i)
			buf_addf(out, "%u:%u", uids[i], uids[j]);
		else
			buf_addf(out, "%u", uids[i]);
		i = j + 1;
	}
}

/* ---- bodies ---- */

struct body_ctx {
	const uint32_t *live_uidvalidity;  /* what the server says, for the selected mailbox */
	struct cache *cache;
	const char *mailbox;
	uint32_t uidvalidity;
	const uint32_t *uids;
	size_t n;
	bool *done;               /* per requested uid */
	fetch_body_fn fn;
	void *ctx;
	struct cache_writer *w;   /* the literal being streamed */
	uint32_t w_uid;
	bool w_failed;
};

static long find_uid_index(const struct body_ctx *b, uint32_t uid)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->uids[mid] < uid)
			lo = mid + 1;
		else if (b->uids[mid] > uid)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
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
	struct body_ctx *b = ctx;
	if (!b->w_failed && cache_writer_write(b->w, p, n) < 0) {
		fs_log(LOG_ERR, "cache write failed for %s UID %u: %s", b->mailbox, b->w_uid,
		       strerror(errno));
		b->w_failed = true;
	}
	return 0;  /* keep the stream in sync even when the disk fails */
}

static void body_done(void *ctx, bool ok)
{
	struct body_ctx *b = ctx;
	long i = find_uid_index(b, b->w_uid);
	uint64_t size = 0;
	struct buf err = BUF_INIT;
	if (ok && !b->w_failed && cache_writer_commit(b->w, &size, &err) == 0) {
		if (i >= 0 && !b->done[i]) {
			b->done[i] = true;
			b->fn(b->ctx, b->w_uid, true, size);
		}
	} else {
		if (ok && !b->w_failed)
			fs_log(LOG_ERR, "cache commit failed for %s UID %u: %s", b->mailbox, b->w_uid, err.data);
		else
			cache_writer_abort(b->w);
	}
	buf_free(&err);
	b->w = NULL;
}

static int discard_write(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

static void discard_done(void *ctx, bool ok)
{
	(void)ctx;
	(void)ok;
}

static bool body_hook(void *ctx, const struct imap_response *so_far, uint64_t size,
		      struct imap_sink *sink)
{
	(void)size;
	struct body_ctx *b = ctx;
	if (!is_body_literal(so_far))
		return false;
	uint32_t uid = uid_in_text(so_far);
	if (!uid && b->n == 1)
		uid = b->uids[0];
	struct buf err = BUF_INIT;
	long i = uid ? find_uid_index(b, uid) : -1;
	/* never file bytes of another generation under this one */
	if (*b->live_uidvalidity != b->uidvalidity)
		i = -1;
	if (i < 0 || b->w ||
	    cache_body_begin(b->cache, b->mailbox, b->uidvalidity, uid, &b->w, &err) < 0) {
		if (err.len)
			fs_log(LOG_ERR, "cache: %s", err.data);
		buf_free(&err);
		/* not ours or not storable: read past it; the UID is retried
		 * singly by the caller */
		sink->write = discard_write;
		sink->done = discard_done;
		sink->ctx = NULL;
		return true;
	}
	buf_free(&err);
	b->w_uid = uid;
	b->w_failed = false;
	sink->write = body_write;
	sink->done = body_done;
	sink->ctx = b;
	return true;
}

int fetch_bodies(struct pool_conn *c, struct cache *cache, const char *mailbox,
		 uint32_t uidvalidity, const uint32_t *uids, size_t n, fetch_body_fn fn, void *ctx)
{
	struct body_ctx b = { &c->uidvalidity, cache, mailbox, uidvalidity, uids, n,
			      xcalloc(n ? n : 1, sizeof(bool)), fn, ctx, NULL, 0, false };
	struct buf set = BUF_INIT;
	fetch_uid_set(uids, n, &set);
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	imap_cmd_addf(cmd, " %s (UID BODY.PEEK[])", set.data);
	buf_free(&set);
	imap_set_literal_hook(c->s, body_hook, &b);
	int rc = run(c, cmd);
	imap_cmd_free(cmd);
	if (b.w)  /* cut short mid-literal: the parser must let go of &b now */
		pool_disconnect(c);
	else
		imap_set_literal_hook(c->s, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		if (!b.done[i])
			fn(ctx, uids[i], false, 0);
	free(b.done);
	return rc;
}
