/* list.c: LIST "" "*" made into the tree of mailboxes (mailbox.h's
 * mtree_refresh; the tree itself is mtree.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/mailbox.h"
#include "remote/run.h"
#include "xalloc.h"

struct list_ctx {
	struct mtree_listed *v;
	size_t n, cap;
	const struct mtree_along *along;  /* may be NULL */
};

static void on_list(void *ctx, struct pool_conn *c, const struct imap_response *raw,
		    const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	struct list_ctx *l = ctx;
	if (!r || strcmp(r->name, "LIST") || r->nargs < 3 || r->args[0].type != IMAP_ARG_LIST)
		return;
	const char *name;
	size_t len;
	if (!imap_arg_nstring(&r->args[2], &name, &len) && r->args[2].type != IMAP_ARG_ATOM)
		return;
	if (r->args[2].type == IMAP_ARG_ATOM) {
		name = r->args[2].str;
		len = r->args[2].len;
	}
	if (!name || !len || memchr(name, '\0', len))
		return;
	struct mtree_listed it = { xmemdup(name, len), '\0', false };
	if (r->args[1].type == IMAP_ARG_STRING && r->args[1].len == 1)
		it.delim = r->args[1].str[0];
	for (size_t i = 0; i < r->args[0].count; i++)
		if (imap_arg_is_atom(&r->args[0].list[i], "\\NOSELECT") ||
		    imap_arg_is_atom(&r->args[0].list[i], "\\NONEXISTENT"))
			it.noselect = true;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = it;
}

static void list_ctx_clear(struct list_ctx *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	l->n = 0;
}

/* Each command's handler sees every response and takes its own. */
static void on_list_along(void *ctx, struct pool_conn *c, const struct imap_response *raw,
			  const struct imap_resp *r)
{
	struct list_ctx *l = ctx;
	on_list(l, c, raw, r);
	l->along->on_untagged(l->along->ctx, c, raw, r);
}

static int list_attempt(struct pool_conn *c, void *ctx, bool again)
{
	(void)again;
	struct list_ctx *l = ctx;
	list_ctx_clear(l);
	struct imap_cmd *cmds[2] = { imap_cmd_new("LIST"), l->along ? l->along->make(l->along->ctx) : NULL };
	imap_cmd_add(cmds[0], " \"\" \"*\"");
	struct run_opts o = { .verb = "LIST", .on_untagged = cmds[1] ? on_list_along : on_list, .ctx = l,
			      .quiet = true, .refused = -EIO };
	int rc = run_all(c, cmds, cmds[1] ? 2 : 1, &o);
	if (rc == 0)
		rc = run_answer(cmds[0], &o);
	imap_cmd_free(cmds[0]);
	imap_cmd_free(cmds[1]);
	return rc;
}

int mtree_refresh(struct mtree *t, struct pool *p, int max_age, bool force)
{
	time_t now = time(NULL);
	if (!force && t->listed && now - t->listed < max_age)
		return 0;
	return mtree_refresh_along(t, p, NULL);
}

int mtree_refresh_along(struct mtree *t, struct pool *p, const struct mtree_along *along)
{
	time_t now = time(NULL);
	struct list_ctx l = { NULL, 0, 0, along };
	uint64_t ticket = mtree_list_begin(t);
	/* a connection found dead (server restarted, kicked) is retried once */
	int rc = run_retry(p, NULL, list_attempt, &l);
	if (rc == 0)
		mtree_merge_ticket(t, l.v, l.n, now, ticket);
	list_ctx_clear(&l);
	free(l.v);
	return rc;
}
