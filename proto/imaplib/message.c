/* message.c: imaplib's methods on messages and the selected mailbox:
 * append, fetch, store, copy, search, sort, thread, uid, expunge, check,
 * close, noop, recent, response, xatom and IDLE. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imaplib_int.h"
#include "xalloc.h"

int imap_append(struct imap *s, const char *mailbox, const char *flags, const char *date_time,
		const void *msg, size_t len, struct imap_result *r)
{
	struct buf fl = BUF_INIT, lit = BUF_INIT;
	if (!mailbox || !*mailbox)
		mailbox = "INBOX";
	if (flags && *flags) {
		size_t n = strlen(flags);
		if (flags[0] == '(' && flags[n - 1] == ')')
			buf_addstr(&fl, flags);
		else
			buf_addf(&fl, "(%s)", flags);
	}
	/* imaplib's MapCRLF: every CR, LF or CRLF becomes CRLF. */
	const char *p = msg;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r') {
			buf_add(&lit, "\r\n", 2);
			if (i + 1 < len && p[i + 1] == '\n')
				i++;
		} else if (p[i] == '\n') {
			buf_add(&lit, "\r\n", 2);
		} else {
			buf_addch(&lit, p[i]);
		}
	}
	if (s->utf8) {
		struct buf w = BUF_INIT;
		buf_addstr(&w, "UTF8 (");
		buf_add(&w, lit.data, lit.len);
		buf_addch(&w, ')');
		buf_free(&lit);
		lit = w;
	}
	struct py_extra x = { .literal = lit.data, .literal_len = lit.len };
	const char *args[] = { mailbox, fl.len ? fl.data : NULL, date_time && *date_time ? date_time : NULL };
	int rc = imaplib_simple_x(s, "APPEND", args, 3, &x, r);
	buf_free(&fl);
	buf_free(&lit);
	return rc;
}

int imap_check(struct imap *s, struct imap_result *r)
{
	return imaplib_simple(s, "CHECK", NULL, 0, r);
}

int imap_close_mailbox(struct imap *s, struct imap_result *r)
{
	int rc = imaplib_simple(s, "CLOSE", NULL, 0, r);
	s->state = IMAP_STATE_AUTH;
	return rc;
}

int imap_copy(struct imap *s, const char *set, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "COPY", r, set, mailbox);
}

int imap_expunge(struct imap *s, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "EXPUNGE", NULL, 0, "EXPUNGE", r);
}

int imap_fetch(struct imap *s, const char *set, const char *parts, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "FETCH", ARGS(set, parts), 2, "FETCH", r);
}

int imap_noop(struct imap *s, struct imap_result *r)
{
	return imaplib_simple(s, "NOOP", NULL, 0, r);
}

int imap_partial(struct imap *s, const char *num, const char *part, const char *start,
		 const char *length, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "PARTIAL", ARGS(num, part, start, length), 4, "FETCH", r);
}

int imap_recent(struct imap *s, struct imap_result *r)
{
	imaplib_result_none(r, "OK");
	imaplib_untagged(s, r, "RECENT");
	const struct imap_item *last = &r->items[r->n - 1];
	if (!last->none && (last->has_lit || last->text.len))
		return IMAP_OK;
	int rc = imap_noop(s, r);
	if (rc < 0)
		return rc;
	imaplib_untagged(s, r, "RECENT");
	return IMAP_OK;
}

int imap_response(struct imap *s, const char *code, struct imap_result *r)
{
	struct buf upper = BUF_INIT;
	for (const char *p = code; *p; p++)
		buf_addch(&upper, (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p);
	imaplib_result_none(r, code);
	imaplib_untagged(s, r, upper.data);
	buf_free(&upper);
	return IMAP_OK;
}

/* Prepends fixed arguments to a variable list. */
static const char **join_args(const char *const *head, size_t nhead, const char *const *tail,
			      size_t ntail)
{
	const char **v = xcalloc(nhead + ntail + 1, sizeof *v);
	for (size_t i = 0; i < nhead; i++)
		v[i] = head[i];
	for (size_t i = 0; i < ntail; i++)
		v[nhead + i] = tail[i];
	return v;
}

static int simple_untagged_joined(struct imap *s, const char *name, const char *const *head,
				  size_t nhead, const char *const *tail, size_t ntail,
				  const char *untagged, struct imap_result *r)
{
	const char **v = join_args(head, nhead, tail, ntail);
	int rc = imaplib_simple_untagged(s, name, v, nhead + ntail, untagged, r);
	free(v);
	return rc;
}

int imap_search(struct imap *s, const char *charset, const char *const *criteria, size_t n,
		struct imap_result *r)
{
	if (charset && *charset) {
		if (s->utf8)
			return imap_fail(s, IMAP_ERROR, "Non-None charset not valid in UTF8 mode");
		return simple_untagged_joined(s, "SEARCH", ARGS("CHARSET", charset), 2, criteria, n,
					      "SEARCH", r);
	}
	return imaplib_simple_untagged(s, "SEARCH", criteria, n, "SEARCH", r);
}

/* imaplib wraps an argument in parentheses unless it already is. */
static void parenthesize(const char *arg, struct buf *out)
{
	size_t n = strlen(arg);
	if (n && arg[0] == '(' && arg[n - 1] == ')')
		buf_addstr(out, arg);
	else
		buf_addf(out, "(%s)", arg);
}

int imap_sort(struct imap *s, const char *criteria, const char *charset,
	      const char *const *search, size_t n, struct imap_result *r)
{
	struct buf crit = BUF_INIT;
	parenthesize(criteria, &crit);
	int rc = simple_untagged_joined(s, "SORT", ARGS(crit.data, charset), 2, search, n, "SORT", r);
	buf_free(&crit);
	return rc;
}

int imap_store(struct imap *s, const char *set, const char *command, const char *flags,
	       struct imap_result *r)
{
	struct buf fl = BUF_INIT;
	parenthesize(flags, &fl);
	int rc = imaplib_simple_untagged(s, "STORE", ARGS(set, command, fl.data), 3, "FETCH", r);
	buf_free(&fl);
	return rc;
}

int imap_thread(struct imap *s, const char *algorithm, const char *charset,
		const char *const *search, size_t n, struct imap_result *r)
{
	return simple_untagged_joined(s, "THREAD", ARGS(algorithm, charset), 2, search, n, "THREAD", r);
}

static void upper_copy(const char *in, struct buf *out)
{
	for (const char *p = in; *p; p++)
		buf_addch(out, (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p);
}

int imap_uid(struct imap *s, const char *command, const char *const *args, size_t n,
	     struct imap_result *r)
{
	struct buf cmd = BUF_INIT;
	upper_copy(command, &cmd);
	unsigned allowed = imaplib_command_states(cmd.data);
	int rc;
	if (!allowed) {
		rc = imap_fail(s, IMAP_ERROR, "Unknown IMAP4 UID command: %s", cmd.data);
	} else if ((rc = imaplib_check_state(s, cmd.data, allowed)) == 0) {
		const char *untagged = "FETCH";
		if (!strcmp(cmd.data, "SEARCH") || !strcmp(cmd.data, "SORT") || !strcmp(cmd.data, "THREAD"))
			untagged = cmd.data;
		rc = simple_untagged_joined(s, "UID", ARGS(cmd.data), 1, args, n, untagged, r);
	}
	buf_free(&cmd);
	return rc;
}

int imap_unselect(struct imap *s, struct imap_result *r)
{
	int rc = imaplib_simple(s, "UNSELECT", NULL, 0, r);
	s->state = IMAP_STATE_AUTH;
	return rc;
}

int imap_xatom(struct imap *s, const char *name, const char *const *args, size_t n,
	       struct imap_result *r)
{
	struct buf upper = BUF_INIT;
	upper_copy(name, &upper);
	unsigned allowed = imaplib_command_states(upper.data);
	if (!allowed)
		allowed = imaplib_state_bit(s->state);
	struct imap_cmd *c;
	int rc = imaplib_command(s, upper.data, allowed, args, n, NULL, &c);
	if (rc == 0)
		rc = imaplib_complete(s, upper.data, c, r);
	buf_free(&upper);
	return rc;
}

/* ---------------- IDLE ---------------- */

/* During IDLE each response becomes one (typ, [data]) pair, in arrival
 * order, as Python 3.14's Idler yields them. */
static void py_on_idle(void *ctx, struct imap *s, const struct imap_response *raw,
		       const struct imap_resp *r)
{
	struct imap_result *res = ctx;
	struct imaplib_state *py = imaplib_state_of(s);
	/* let the usual bookkeeping split it, then move it out of the dict */
	imaplib_on_untagged(NULL, s, raw, r);
	for (size_t i = 0; i < py->nur; i++) {
		struct py_entry *e = &py->ur[i];
		struct imap_item *pair = imaplib_result_add(res);
		pair->is_list = true;
		pair->nsub = e->n + 1;
		pair->sub = xcalloc(pair->nsub, sizeof *pair->sub);
		buf_init(&pair->sub[0].text);
		buf_addstr(&pair->sub[0].text, e->name);
		for (size_t k = 0; k < e->n; k++)
			pair->sub[k + 1] = e->items[k];
		free(e->items);
		e->items = NULL;
		e->n = 0;
	}
	imaplib_ur_clear(py);
}

int imap_idle_collect(struct imap *s, int duration_ms, struct imap_result *r)
{
	int rc = imaplib_check_state(s, "IDLE", imaplib_command_states("IDLE"));
	if (rc < 0)
		return rc;
	imaplib_result_set(r, "OK");
	/* only what arrives during IDLE is reported; what was pending stays */
	struct imaplib_state *py = imaplib_state_of(s);
	struct py_entry *saved = py->ur;
	size_t nsaved = py->nur;
	py->ur = NULL;
	py->nur = 0;
	imap_set_untagged_handler(s, py_on_idle, r);
	rc = imap_idle(s, duration_ms, NULL);
	imap_set_untagged_handler(s, imaplib_on_untagged, NULL);
	imaplib_ur_clear(py);
	free(py->ur);
	py->ur = saved;
	py->nur = nsaved;
	return rc;
}
