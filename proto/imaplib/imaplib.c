/* imaplib.c: Python imaplib's IMAP4 methods over the pipelined core, with
 * imaplib's semantics: the untagged responses are collected per name the
 * way imaplib's regular expressions split them, each method pops the names
 * imaplib pops, and failures come as imaplib's error / abort / readonly with
 * imaplib's messages. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pyrepr.h"
#include "sasl.h"
#include "session.h"
#include "util.h"

/* ---------------- the untagged-response dictionary ---------------- */

struct py_entry {
	char *name;
	struct imap_item *items;
	size_t n;
};

struct imaplib_state {
	struct py_entry *ur;
	size_t nur;
	bool is_readonly;
	bool tls_established;
	bool stream;       /* a spawned command: no network path to protect */
	char *host;
	char *abort_msg;   /* an "unexpected response" seen by the handler */
	char **caps;       /* imaplib's self.capabilities */
	size_t ncaps;
	/* the tagged reply of the command being waited for */
	struct imap_cmd *current;
	struct buf tagged_text;
};

static int imaplib_get_capabilities(struct imap *s, struct imap_result *r);

static void item_free(struct imap_item *it)
{
	buf_free(&it->text);
	buf_free(&it->lit);
	for (size_t i = 0; i < it->nsub; i++)
		item_free(&it->sub[i]);
	free(it->sub);
	it->sub = NULL;
	it->nsub = 0;
}

static void entry_free(struct py_entry *e)
{
	for (size_t i = 0; i < e->n; i++)
		item_free(&e->items[i]);
	free(e->items);
	free(e->name);
}

/* Appends an empty item to the array *items of *n. */
static struct imap_item *item_push(struct imap_item **items, size_t *n)
{
	*items = xrealloc(*items, (*n + 1) * sizeof **items);
	struct imap_item *it = &(*items)[(*n)++];
	memset(it, 0, sizeof *it);
	buf_init(&it->text);
	buf_init(&it->lit);
	return it;
}

/* The key of this layer's state on a session (imap_layer_state). */
static const char py_layer_key;

static struct imaplib_state *py_of(const struct imap *s)
{
	return imap_layer_state(s, &py_layer_key);
}

static void py_state_free(void *state)
{
	struct imaplib_state *py = state;
	for (size_t i = 0; i < py->nur; i++)
		entry_free(&py->ur[i]);
	free(py->ur);
	free(py->host);
	free(py->abort_msg);
	for (size_t i = 0; i < py->ncaps; i++)
		free(py->caps[i]);
	free(py->caps);
	buf_free(&py->tagged_text);
	free(py);
}

static struct py_entry *ur_find(struct imaplib_state *py, const char *name)
{
	for (size_t i = 0; i < py->nur; i++)
		if (!strcmp(py->ur[i].name, name))
			return &py->ur[i];
	return NULL;
}

static struct imap_item *ur_append(struct imaplib_state *py, const char *name)
{
	struct py_entry *e = ur_find(py, name);
	if (!e) {
		py->ur = xrealloc(py->ur, (py->nur + 1) * sizeof *py->ur);
		e = &py->ur[py->nur++];
		e->name = xstrdup(name);
		e->items = NULL;
		e->n = 0;
	}
	return item_push(&e->items, &e->n);
}

static void ur_append_text(struct imaplib_state *py, const char *name, const char *p, size_t n)
{
	buf_add(&ur_append(py, name)->text, p, n);
}

static void ur_delete(struct imaplib_state *py, const char *name)
{
	struct py_entry *e = ur_find(py, name);
	if (!e)
		return;
	entry_free(e);
	size_t i = (size_t)(e - py->ur);
	memmove(&py->ur[i], &py->ur[i + 1], (py->nur - i - 1) * sizeof *py->ur);
	py->nur--;
}

static void ur_clear(struct imaplib_state *py)
{
	while (py->nur)
		ur_delete(py, py->ur[0].name);
}

/* Moves the entry's items into r (imaplib's dict.pop). */
static bool ur_pop(struct imaplib_state *py, const char *name, struct imap_result *r)
{
	struct py_entry *e = ur_find(py, name);
	if (!e)
		return false;
	for (size_t i = 0; i < r->n; i++)
		item_free(&r->items[i]);
	free(r->items);
	r->items = e->items;
	r->n = e->n;
	e->items = NULL;
	e->n = 0;
	ur_delete(py, name);
	return true;
}

/* ---------------- results ---------------- */

void imap_result_free(struct imap_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		item_free(&r->items[i]);
	free(r->items);
	memset(r, 0, sizeof *r);
}

static void result_set(struct imap_result *r, const char *type)
{
	imap_result_free(r);
	snprintf(r->type, sizeof r->type, "%s", type);
}

static struct imap_item *result_add(struct imap_result *r)
{
	return item_push(&r->items, &r->n);
}

static void result_none(struct imap_result *r, const char *type)
{
	result_set(r, type);
	result_add(r)->none = true;
}

static void items_repr(const struct imap_item *items, size_t n, struct buf *out)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < n; i++) {
		const struct imap_item *it = &items[i];
		if (i)
			buf_addstr(out, ", ");
		if (it->none) {
			buf_addstr(out, "None");
		} else if (it->is_list) {
			items_repr(it->sub, it->nsub, out);
		} else if (it->has_lit) {
			buf_addch(out, '(');
			pyrepr_bytes(out, it->text.data, it->text.len);
			buf_addstr(out, ", ");
			pyrepr_bytes(out, it->lit.data, it->lit.len);
			buf_addch(out, ')');
		} else {
			pyrepr_bytes(out, it->text.data, it->text.len);
		}
	}
	buf_addch(out, ']');
}

void imap_result_repr(const struct imap_result *r, struct buf *out)
{
	buf_addch(out, '(');
	pyrepr_str(out, r->type, strlen(r->type));
	buf_addstr(out, ", ");
	items_repr(r->items, r->n, out);
	buf_addch(out, ')');
}

/* ---------------- splitting responses as imaplib's regexes do ---------------- */

static bool is_type_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '-';
}

/* "* TYPE data" or "* N TYPE data2"; fills typ and the first dat. */
static bool split_untagged(const char *line, size_t len, struct buf *typ, struct buf *dat)
{
	if (len < 2 || line[0] != '*' || line[1] != ' ')
		return false;
	const char *p = line + 2, *end = line + len;
	const char *t = p;
	while (t < end && is_type_char(*t))
		t++;
	if (t > p) {
		buf_set(typ, p, (size_t)(t - p));
		if (t < end && *t == ' ')
			buf_set(dat, t + 1, (size_t)(end - t - 1));
		else
			buf_reset(dat);
		return true;
	}
	const char *d = p;
	while (d < end && *d >= '0' && *d <= '9')
		d++;
	if (d == p || d >= end || *d != ' ')
		return false;
	t = d + 1;
	const char *te = t;
	while (te < end && is_type_char(*te))
		te++;
	if (te == t)
		return false;
	buf_set(typ, t, (size_t)(te - t));
	buf_set(dat, p, (size_t)(d - p));
	if (te < end && *te == ' ' && te + 1 < end) {
		buf_addch(dat, ' ');
		buf_add(dat, te + 1, (size_t)(end - te - 1));
	}
	return true;
}

/* imaplib's Response_code: "[TYPE data]" at the start of dat. */
static void take_response_code(struct imaplib_state *py, const char *dat, size_t len)
{
	if (len < 3 || dat[0] != '[')
		return;
	const char *p = dat + 1, *end = dat + len, *t = p;
	while (t < end && is_type_char(*t))
		t++;
	if (t == p || t >= end)
		return;
	char name[64];
	size_t nlen = (size_t)(t - p) < sizeof name - 1 ? (size_t)(t - p) : sizeof name - 1;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	if (*t == ' ') {
		const char *close = NULL;
		for (const char *q = end; q > t + 1; q--)
			if (q[-1] == ']') {
				close = q - 1;
				break;
			}
		if (close) {
			ur_append_text(py, name, t + 1, (size_t)(close - t - 1));
			return;
		}
	}
	if (*t == ']')
		ur_append_text(py, name, "", 0);
}

static void py_on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			   const struct imap_resp *r)
{
	(void)ctx;
	(void)r;
	struct imaplib_state *py = py_of(s);
	struct buf typ = BUF_INIT, dat = BUF_INIT;
	const struct imap_piece *pc = raw->pieces;
	if (!split_untagged(pc[0].text, pc[0].text_len, &typ, &dat)) {
		if (!py->abort_msg) {
			struct buf m = BUF_INIT;
			buf_addstr(&m, "unexpected response: ");
			pyrepr_bytes(&m, pc[0].text, pc[0].text_len);
			py->abort_msg = buf_detach(&m, NULL);
		}
		buf_free(&typ);
		buf_free(&dat);
		return;
	}
	for (size_t i = 0; i < raw->npieces; i++) {
		if (i > 0)
			buf_set(&dat, pc[i].text, pc[i].text_len);
		if (!pc[i].has_literal)
			break;
		struct imap_item *it = ur_append(py, typ.data);
		it->has_lit = true;
		buf_add(&it->text, dat.data, dat.len);
		if (pc[i].lit.data)
			buf_add(&it->lit, pc[i].lit.data, (size_t)pc[i].lit.len);
	}
	ur_append_text(py, typ.data, dat.data, dat.len);
	if (!strcmp(typ.data, "OK") || !strcmp(typ.data, "NO") || !strcmp(typ.data, "BAD"))
		take_response_code(py, dat.data, dat.len);
	buf_free(&typ);
	buf_free(&dat);
}

/* The core hands every tagged reply to the layer (imap_set_tagged_handler):
 * imaplib reads its response code from the line's text, by its own regex. */
static void py_on_tagged(void *ctx, struct imap *s, const struct imap_response *raw,
			 const struct imap_resp *r)
{
	(void)ctx;
	struct imaplib_state *py = py_of(s);
	if (!py)
		return;
	const char *line = raw->pieces[0].text, *status = r->name;
	size_t len = raw->pieces[0].text_len;
	/* imaplib's tagre: TAG SP TYPE SP data */
	const char *sp = memchr(line, ' ', len);
	const char *data = "";
	size_t dlen = 0;
	if (sp) {
		const char *sp2 = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line));
		if (sp2) {
			data = sp2 + 1;
			dlen = len - (size_t)(data - line);
		}
	}
	buf_set(&py->tagged_text, data, dlen);
	if (!strcmp(status, "OK") || !strcmp(status, "NO") || !strcmp(status, "BAD"))
		take_response_code(py, data, dlen);
}

/* ---------------- commands ---------------- */

enum { ST_NONAUTH = 1, ST_AUTH = 2, ST_SELECTED = 4, ST_LOGOUT = 8 };

static const struct {
	const char *name;
	unsigned states;
} commands[] = {
	{ "APPEND", ST_AUTH | ST_SELECTED },
	{ "AUTHENTICATE", ST_NONAUTH },
	{ "CAPABILITY", ST_NONAUTH | ST_AUTH | ST_SELECTED | ST_LOGOUT },
	{ "CHECK", ST_SELECTED },
	{ "CLOSE", ST_SELECTED },
	{ "COPY", ST_SELECTED },
	{ "CREATE", ST_AUTH | ST_SELECTED },
	{ "DELETE", ST_AUTH | ST_SELECTED },
	{ "DELETEACL", ST_AUTH | ST_SELECTED },
	{ "ENABLE", ST_AUTH },
	{ "EXAMINE", ST_AUTH | ST_SELECTED },
	{ "EXPUNGE", ST_SELECTED },
	{ "FETCH", ST_SELECTED },
	{ "GETACL", ST_AUTH | ST_SELECTED },
	{ "GETANNOTATION", ST_AUTH | ST_SELECTED },
	{ "GETQUOTA", ST_AUTH | ST_SELECTED },
	{ "GETQUOTAROOT", ST_AUTH | ST_SELECTED },
	{ "MYRIGHTS", ST_AUTH | ST_SELECTED },
	{ "LIST", ST_AUTH | ST_SELECTED },
	{ "LOGIN", ST_NONAUTH },
	{ "LOGOUT", ST_NONAUTH | ST_AUTH | ST_SELECTED | ST_LOGOUT },
	{ "LSUB", ST_AUTH | ST_SELECTED },
	{ "MOVE", ST_SELECTED },
	{ "NAMESPACE", ST_AUTH | ST_SELECTED },
	{ "NOOP", ST_NONAUTH | ST_AUTH | ST_SELECTED | ST_LOGOUT },
	{ "PARTIAL", ST_SELECTED },
	{ "PROXYAUTH", ST_AUTH },
	{ "RENAME", ST_AUTH | ST_SELECTED },
	{ "SEARCH", ST_SELECTED },
	{ "SELECT", ST_AUTH | ST_SELECTED },
	{ "SETACL", ST_AUTH | ST_SELECTED },
	{ "SETANNOTATION", ST_AUTH | ST_SELECTED },
	{ "SETQUOTA", ST_AUTH | ST_SELECTED },
	{ "SORT", ST_SELECTED },
	{ "STARTTLS", ST_NONAUTH },
	{ "STATUS", ST_AUTH | ST_SELECTED },
	{ "STORE", ST_SELECTED },
	{ "SUBSCRIBE", ST_AUTH | ST_SELECTED },
	{ "THREAD", ST_SELECTED },
	{ "UID", ST_SELECTED },
	{ "UNSUBSCRIBE", ST_AUTH | ST_SELECTED },
	{ "UNSELECT", ST_SELECTED },
	{ "ID", ST_NONAUTH | ST_AUTH | ST_SELECTED },
	{ "IDLE", ST_AUTH | ST_SELECTED },
};

static unsigned state_bit(enum imap_state st)
{
	switch (st) {
	case IMAP_STATE_NONAUTH: return ST_NONAUTH;
	case IMAP_STATE_AUTH: return ST_AUTH;
	case IMAP_STATE_SELECTED: return ST_SELECTED;
	case IMAP_STATE_LOGOUT: break;
	}
	return ST_LOGOUT;
}

/* Allowed states of a command; 0 when imaplib does not know it. */
static unsigned command_states(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].states;
	return 0;
}

static int check_state(struct imap *s, const char *name, unsigned allowed)
{
	if (allowed & state_bit(s->state))
		return IMAP_OK;
	struct buf list = BUF_INIT;
	static const unsigned order[] = { ST_NONAUTH, ST_AUTH, ST_SELECTED, ST_LOGOUT };
	static const char *const names[] = { "NONAUTH", "AUTH", "SELECTED", "LOGOUT" };
	for (size_t i = 0; i < 4; i++) {
		if (!(allowed & order[i]))
			continue;
		if (list.len)
			buf_addstr(&list, ", ");
		buf_addstr(&list, names[i]);
	}
	int r = imap_fail(s, IMAP_ERROR, "command %s illegal in state %s, only allowed in states %s",
			  name, imap_state_name(s->state), list.data);
	buf_free(&list);
	return r;
}

/* What a command carries besides its arguments. */
struct py_extra {
	const void *literal;       /* APPEND's message */
	size_t literal_len;
	imap_cont_fn cont;         /* AUTHENTICATE */
	void *cont_ctx;
	const char *secret;        /* LOGIN's password: always quoted */
};

static int check_bye(struct imap *s)
{
	struct py_entry *e = ur_find(py_of(s), "BYE");
	if (!e || !e->n)
		return IMAP_OK;
	const struct imap_item *last = &e->items[e->n - 1];
	return imap_fail(s, IMAP_ABORT, "%s", last->text.data);
}

/* imaplib's _quote of the password, masked in traces. */
static int add_quoted_secret(struct imap *s, struct imap_cmd *c, const char *name, const char *secret)
{
	size_t n = strlen(secret);
	if (!imap_arg_is_safe(secret, n))
		return imap_fail(s, IMAP_ERROR, "%s: password argument contains CR, LF or NUL", name);
	struct buf q = BUF_INIT;
	imap_quote(secret, n, &q);
	imap_cmd_add(c, " ");
	imap_cmd_add_secret_text(c, q.data);
	buf_wipe(&q);
	return 0;
}

/* imaplib's _command: state check, response bookkeeping, send. */
static int py_command(struct imap *s, const char *name, unsigned allowed, const char *const *args,
		      size_t n, const struct py_extra *x, struct imap_cmd **out)
{
	struct imaplib_state *py = py_of(s);
	*out = NULL;
	if (s->broken)
		return imap_fail(s, IMAP_ABORT, "%s", s->err.len ? s->err.data : "connection closed");
	int r = check_state(s, name, allowed);
	if (r < 0)
		return r;
	ur_delete(py, "OK");
	ur_delete(py, "NO");
	ur_delete(py, "BAD");
	if (ur_find(py, "READ-ONLY") && !py->is_readonly)
		return imap_fail(s, IMAP_READONLY, "mailbox status changed to READ-ONLY");
	struct imap_cmd *c = imap_cmd_new(name);
	struct buf text = BUF_INIT, err = BUF_INIT;
	for (size_t i = 0; i < n && r == 0; i++)
		if (args[i] && imap_append_arg(&text, args[i], strlen(args[i]), &err) < 0)
			r = imap_fail(s, IMAP_ERROR, "%s argument %zu: %s", name, i + 1, err.data);
	imap_cmd_add(c, text.data);
	if (r == 0 && x && x->secret)
		r = add_quoted_secret(s, c, name, x->secret);
	buf_free(&text);
	buf_free(&err);
	if (r < 0) {
		imap_cmd_free(c);
		return r;
	}
	if (x && x->literal)
		imap_cmd_add_literal(c, x->literal, x->literal_len);
	if (x && x->cont)
		imap_cmd_on_continuation(c, x->cont, x->cont_ctx);
	if ((r = imap_submit(s, c)) < 0) {
		imap_cmd_free(c);
		return r;
	}
	*out = c;
	return IMAP_OK;
}

/* imaplib's _command_complete: wait for the tagged reply while watching for
 * BYE; BAD is an error; the result is (typ, [tagged text]). */
static int py_complete(struct imap *s, const char *name, struct imap_cmd *c, struct imap_result *res)
{
	struct imaplib_state *py = py_of(s);
	bool logout = !strcmp(name, "LOGOUT");
	int r;
	if (!logout && (r = check_bye(s)) < 0) {
		imap_cmd_free(c);
		return r;
	}
	/* A dropped response (too long) is reported once the command is over,
	 * so its tagged reply does not arrive for a forgotten tag. */
	struct buf dropped = BUF_INIT;
	while (!imap_cmd_done(c)) {
		if (logout && ur_pop(py, "BYE", res)) {
			snprintf(res->type, sizeof res->type, "BYE");
			imap_cmd_free(c);
			buf_free(&dropped);
			return IMAP_OK;
		}
		r = check_bye(s);
		if (r == 0)
			r = imap_read_response(s);
		if (r == IMAP_ERROR && !s->broken) {
			if (!dropped.len)
				buf_addstr(&dropped, s->err.data);
			continue;
		}
		if (r == 0 && py->abort_msg)
			r = imap_fail(s, IMAP_ABORT, "%s", py->abort_msg);
		if (r < 0) {
			struct buf m = BUF_INIT;
			buf_addf(&m, "command: %s => %s", name, s->err.data);
			imap_fail(s, r, "%s", m.data);
			buf_free(&m);
			imap_cmd_free(c);
			buf_free(&dropped);
			return r;
		}
	}
	if (dropped.len) {
		imap_fail(s, IMAP_ERROR, "command: %s => %s", name, dropped.data);
		buf_free(&dropped);
		imap_cmd_free(c);
		return IMAP_ERROR;
	}
	result_set(res, imap_cmd_status(c));
	buf_set(&result_add(res)->text, py->tagged_text.data, py->tagged_text.len);
	imap_cmd_free(c);
	if (!logout && (r = check_bye(s)) < 0)
		return r;
	if (!strcmp(res->type, "BAD")) {
		struct buf m = BUF_INIT;
		items_repr(res->items, res->n, &m);
		r = imap_fail(s, IMAP_ERROR, "%s command error: %s %s", name, res->type, m.data);
		buf_free(&m);
		return r;
	}
	return IMAP_OK;
}

static int py_simple_x(struct imap *s, const char *name, const char *const *args, size_t n,
		       const struct py_extra *x, struct imap_result *res)
{
	struct imap_cmd *c;
	int r = py_command(s, name, command_states(name), args, n, x, &c);
	if (r < 0)
		return r;
	return py_complete(s, name, c, res);
}

static int py_simple(struct imap *s, const char *name, const char *const *args, size_t n,
		     struct imap_result *res)
{
	return py_simple_x(s, name, args, n, NULL, res);
}

/* imaplib's _untagged_response */
static void py_untagged(struct imap *s, struct imap_result *res, const char *name)
{
	if (!strcmp(res->type, "NO"))
		return;
	char type[sizeof res->type];
	memcpy(type, res->type, sizeof type);
	if (!ur_pop(py_of(s), name, res)) {
		result_none(res, type);
		return;
	}
	memcpy(res->type, type, sizeof type);
}

static int py_simple_untagged(struct imap *s, const char *name, const char *const *args, size_t n,
			      const char *untagged, struct imap_result *res)
{
	int r = py_simple(s, name, args, n, res);
	if (r < 0)
		return r;
	py_untagged(s, res, untagged);
	return IMAP_OK;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__ })
#define NARGS(...) (sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
#define SIMPLE(s, name, res, ...) py_simple(s, name, ARGS(__VA_ARGS__), NARGS(__VA_ARGS__), res)

/* ---------------- the methods ---------------- */

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
	int rc = py_simple_x(s, "APPEND", args, 3, &x, r);
	buf_free(&fl);
	buf_free(&lit);
	return rc;
}

struct auth_ctx {
	imap_auth_fn fn;
	void *ctx;
	int failed;
};

static int auth_step(void *ctx, struct imap *s, struct imap_cmd *c, const char *text, struct buf *out)
{
	(void)c;
	struct auth_ctx *a = ctx;
	struct buf challenge = BUF_INIT, resp = BUF_INIT, err = BUF_INIT;
	bool cancel = false;
	int r = 0;
	if (*text && sasl_base64_decode(&challenge, text, strlen(text), &err) < 0) {
		imap_fail(s, IMAP_ERROR, "bad base64 in challenge: %s", err.data);
		r = -1;
	} else if (a->fn(a->ctx, challenge.data, challenge.len, &resp, &cancel) < 0) {
		r = -1;
	} else if (cancel) {
		buf_addch(out, '*');
	} else {
		sasl_base64_encode(out, resp.data, resp.len);
	}
	buf_free(&challenge);
	sasl_wipe(&resp);
	buf_free(&err);
	return r;
}

int imap_authenticate(struct imap *s, const char *mechanism, imap_auth_fn fn, void *ctx,
		      struct imap_result *r)
{
	struct auth_ctx a = { fn, ctx, 0 };
	struct buf mech = BUF_INIT;
	for (const char *p = mechanism; *p; p++)
		buf_addch(&mech, (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p);
	struct py_extra x = { .cont = auth_step, .cont_ctx = &a };
	const char *args[] = { mech.data };
	int rc = py_simple_x(s, "AUTHENTICATE", args, 1, &x, r);
	buf_free(&mech);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK")) {
		const struct imap_item *last = &r->items[r->n - 1];
		return imap_fail(s, IMAP_ERROR, "%s", last->text.data);
	}
	s->state = IMAP_STATE_AUTH;
	return IMAP_OK;
}

int imap_capability(struct imap *s, struct imap_result *r)
{
	return py_simple_untagged(s, "CAPABILITY", NULL, 0, "CAPABILITY", r);
}

int imap_check(struct imap *s, struct imap_result *r)
{
	return py_simple(s, "CHECK", NULL, 0, r);
}

int imap_close_mailbox(struct imap *s, struct imap_result *r)
{
	int rc = py_simple(s, "CLOSE", NULL, 0, r);
	s->state = IMAP_STATE_AUTH;
	return rc;
}

int imap_copy(struct imap *s, const char *set, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "COPY", r, set, mailbox);
}

int imap_create(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "CREATE", r, mailbox);
}

int imap_delete(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "DELETE", r, mailbox);
}

int imap_deleteacl(struct imap *s, const char *mailbox, const char *who, struct imap_result *r)
{
	return SIMPLE(s, "DELETEACL", r, mailbox, who);
}

int imap_enable(struct imap *s, const char *capability, struct imap_result *r)
{
	if (!imap_has_cap(s, "ENABLE"))
		return imap_fail(s, IMAP_ERROR, "Server does not support ENABLE");
	int rc = SIMPLE(s, "ENABLE", r, capability);
	if (rc == 0 && !strcmp(r->type, "OK") && strcasestr(capability, "UTF8=ACCEPT"))
		s->utf8 = true;
	return rc;
}

int imap_expunge(struct imap *s, struct imap_result *r)
{
	return py_simple_untagged(s, "EXPUNGE", NULL, 0, "EXPUNGE", r);
}

int imap_fetch(struct imap *s, const char *set, const char *parts, struct imap_result *r)
{
	return py_simple_untagged(s, "FETCH", ARGS(set, parts), 2, "FETCH", r);
}

int imap_getacl(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return py_simple_untagged(s, "GETACL", ARGS(mailbox), 1, "ACL", r);
}

int imap_getannotation(struct imap *s, const char *mailbox, const char *entry,
		       const char *attribute, struct imap_result *r)
{
	return py_simple_untagged(s, "GETANNOTATION", ARGS(mailbox, entry, attribute), 3,
				  "ANNOTATION", r);
}

int imap_getquota(struct imap *s, const char *root, struct imap_result *r)
{
	return py_simple_untagged(s, "GETQUOTA", ARGS(root), 1, "QUOTA", r);
}

static void result_copy(struct imap_result *dst, const struct imap_result *src)
{
	result_set(dst, src->type);
	for (size_t i = 0; i < src->n; i++) {
		struct imap_item *it = result_add(dst);
		it->none = src->items[i].none;
		it->has_lit = src->items[i].has_lit;
		buf_add(&it->text, src->items[i].text.data, src->items[i].text.len);
		buf_add(&it->lit, src->items[i].lit.data, src->items[i].lit.len);
	}
}

/* Makes item a list holding src's items; src is left empty. */
static void item_take_list(struct imap_item *item, struct imap_result *src)
{
	item->is_list = true;
	item->sub = src->items;
	item->nsub = src->n;
	src->items = NULL;
	src->n = 0;
}

int imap_getquotaroot(struct imap *s, const char *mailbox, struct imap_result *r)
{
	int rc = SIMPLE(s, "GETQUOTAROOT", r, mailbox);
	if (rc < 0)
		return rc;
	/* imaplib returns (typ, [quotaroot, quota]): two lists. */
	struct imap_result quota = { .n = 0 }, root = { .n = 0 };
	result_copy(&quota, r);
	result_copy(&root, r);
	py_untagged(s, &quota, "QUOTA");
	py_untagged(s, &root, "QUOTAROOT");
	result_set(r, root.type);
	item_take_list(result_add(r), &root);
	item_take_list(result_add(r), &quota);
	imap_result_free(&quota);
	imap_result_free(&root);
	return IMAP_OK;
}

int imap_list(struct imap *s, const char *directory, const char *pattern, struct imap_result *r)
{
	return py_simple_untagged(s, "LIST", ARGS(directory ? directory : "\"\"", pattern ? pattern : "*"),
				  2, "LIST", r);
}

/* LOGIN and plaintext SASL would show the password to anyone on the path. */
static int check_plaintext_allowed(struct imap *s, const char *what)
{
	if (imap_has_cap(s, "LOGINDISABLED"))
		return imap_fail(s, IMAP_ERROR, "%s refused: the server advertises LOGINDISABLED", what);
	if (!s->opts.allow_plaintext && !transport_is_tls(s->t) && !py_of(s)->stream)
		return imap_fail(s, IMAP_ERROR,
				 "%s refused: the connection is not encrypted (use TLS or STARTTLS, "
				 "or allow plaintext explicitly)", what);
	return IMAP_OK;
}

int imap_login(struct imap *s, const char *user, const char *password, struct imap_result *r)
{
	int rc = check_plaintext_allowed(s, "LOGIN");
	if (rc < 0)
		return rc;
	struct py_extra x = { .secret = password };
	rc = py_simple_x(s, "LOGIN", ARGS(user), 1, &x, r);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK")) {
		struct buf m = BUF_INIT;
		const struct imap_item *last = &r->items[r->n - 1];
		pyrepr_bytes(&m, last->text.data, last->text.len);
		rc = imap_fail(s, IMAP_ERROR, "%s", m.data);
		buf_free(&m);
		return rc;
	}
	s->state = IMAP_STATE_AUTH;
	return IMAP_OK;
}

struct cram_ctx {
	const char *user;
	const char *password;
};

static int cram_step(void *ctx, const void *challenge, size_t len, struct buf *resp, bool *cancel)
{
	struct cram_ctx *c = ctx;
	(void)cancel;
	return sasl_cram_md5_response(resp, c->user, c->password, challenge, len, NULL);
}

int imap_login_cram_md5(struct imap *s, const char *user, const char *password,
			struct imap_result *r)
{
	struct cram_ctx c = { user, password };
	return imap_authenticate(s, "CRAM-MD5", cram_step, &c, r);
}

int imap_logout(struct imap *s, struct imap_result *r)
{
	s->state = IMAP_STATE_LOGOUT;
	int rc = py_simple(s, "LOGOUT", NULL, 0, r);
	imap_shutdown(s);
	return rc;
}

int imap_lsub(struct imap *s, const char *directory, const char *pattern, struct imap_result *r)
{
	return py_simple_untagged(s, "LSUB", ARGS(directory ? directory : "\"\"", pattern ? pattern : "*"),
				  2, "LSUB", r);
}

int imap_myrights(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return py_simple_untagged(s, "MYRIGHTS", ARGS(mailbox), 1, "MYRIGHTS", r);
}

int imap_namespace(struct imap *s, struct imap_result *r)
{
	return py_simple_untagged(s, "NAMESPACE", NULL, 0, "NAMESPACE", r);
}

int imap_noop(struct imap *s, struct imap_result *r)
{
	return py_simple(s, "NOOP", NULL, 0, r);
}

int imap_partial(struct imap *s, const char *num, const char *part, const char *start,
		 const char *length, struct imap_result *r)
{
	return py_simple_untagged(s, "PARTIAL", ARGS(num, part, start, length), 4, "FETCH", r);
}

int imap_proxyauth(struct imap *s, const char *user, struct imap_result *r)
{
	return SIMPLE(s, "PROXYAUTH", r, user);
}

int imap_recent(struct imap *s, struct imap_result *r)
{
	result_none(r, "OK");
	py_untagged(s, r, "RECENT");
	const struct imap_item *last = &r->items[r->n - 1];
	if (!last->none && (last->has_lit || last->text.len))
		return IMAP_OK;
	int rc = imap_noop(s, r);
	if (rc < 0)
		return rc;
	py_untagged(s, r, "RECENT");
	return IMAP_OK;
}

int imap_rename(struct imap *s, const char *oldname, const char *newname, struct imap_result *r)
{
	return SIMPLE(s, "RENAME", r, oldname, newname);
}

int imap_response(struct imap *s, const char *code, struct imap_result *r)
{
	struct buf upper = BUF_INIT;
	for (const char *p = code; *p; p++)
		buf_addch(&upper, (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p);
	result_none(r, code);
	py_untagged(s, r, upper.data);
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
	int rc = py_simple_untagged(s, name, v, nhead + ntail, untagged, r);
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
	return py_simple_untagged(s, "SEARCH", criteria, n, "SEARCH", r);
}

int imap_select(struct imap *s, const char *mailbox, bool readonly, struct imap_result *r)
{
	struct imaplib_state *py = py_of(s);
	if (!mailbox)
		mailbox = "INBOX";
	ur_clear(py);
	py->is_readonly = readonly;
	const char *name = readonly ? "EXAMINE" : "SELECT";
	int rc = py_simple(s, name, ARGS(mailbox), 1, r);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK")) {
		s->state = IMAP_STATE_AUTH;
		return IMAP_OK;
	}
	s->state = IMAP_STATE_SELECTED;
	if (ur_find(py, "READ-ONLY") && !readonly)
		return imap_fail(s, IMAP_READONLY, "%s is not writable", mailbox);
	struct py_entry *e = ur_find(py, "EXISTS");
	char type[sizeof r->type];
	memcpy(type, r->type, sizeof type);
	if (!e) {
		result_none(r, type);
		return IMAP_OK;
	}
	result_set(r, type);
	for (size_t i = 0; i < e->n; i++)
		buf_add(&result_add(r)->text, e->items[i].text.data, e->items[i].text.len);
	return IMAP_OK;
}

int imap_setacl(struct imap *s, const char *mailbox, const char *who, const char *what,
		struct imap_result *r)
{
	return SIMPLE(s, "SETACL", r, mailbox, who, what);
}

int imap_setannotation(struct imap *s, const char *const *args, size_t n, struct imap_result *r)
{
	return py_simple_untagged(s, "SETANNOTATION", args, n, "ANNOTATION", r);
}

int imap_setquota(struct imap *s, const char *root, const char *limits, struct imap_result *r)
{
	return py_simple_untagged(s, "SETQUOTA", ARGS(root, limits), 2, "QUOTA", r);
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

int imap_starttls(struct imap *s, const struct tls_opts *o, struct imap_result *r)
{
	struct imaplib_state *py = py_of(s);
	if (py->tls_established || transport_is_tls(s->t))
		return imap_fail(s, IMAP_ABORT, "TLS session already established");
	if (!imap_has_cap(s, "STARTTLS"))
		return imap_fail(s, IMAP_ABORT, "TLS not supported by server");
	int rc = py_simple(s, "STARTTLS", NULL, 0, r);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK"))
		return imap_fail(s, IMAP_ERROR, "Couldn't establish TLS session");
	struct tls_opts tls = o ? *o : s->opts.tls;
	if (!tls.servername)
		tls.servername = py->host;
	if ((rc = imap_tls_upgrade(s, &tls)) < 0)
		return rc;
	py->tls_established = true;
	struct imap_result caps = { .n = 0 };
	rc = imaplib_get_capabilities(s, &caps);
	imap_result_free(&caps);
	if (rc < 0)
		return rc;
	py_untagged(s, r, "STARTTLS");
	return IMAP_OK;
}

int imap_status(struct imap *s, const char *mailbox, const char *names, struct imap_result *r)
{
	return py_simple_untagged(s, "STATUS", ARGS(mailbox, names), 2, "STATUS", r);
}

int imap_store(struct imap *s, const char *set, const char *command, const char *flags,
	       struct imap_result *r)
{
	struct buf fl = BUF_INIT;
	parenthesize(flags, &fl);
	int rc = py_simple_untagged(s, "STORE", ARGS(set, command, fl.data), 3, "FETCH", r);
	buf_free(&fl);
	return rc;
}

int imap_subscribe(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "SUBSCRIBE", r, mailbox);
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
	unsigned allowed = command_states(cmd.data);
	int rc;
	if (!allowed) {
		rc = imap_fail(s, IMAP_ERROR, "Unknown IMAP4 UID command: %s", cmd.data);
	} else if ((rc = check_state(s, cmd.data, allowed)) == 0) {
		const char *untagged = "FETCH";
		if (!strcmp(cmd.data, "SEARCH") || !strcmp(cmd.data, "SORT") || !strcmp(cmd.data, "THREAD"))
			untagged = cmd.data;
		rc = simple_untagged_joined(s, "UID", ARGS(cmd.data), 1, args, n, untagged, r);
	}
	buf_free(&cmd);
	return rc;
}

int imap_unsubscribe(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "UNSUBSCRIBE", r, mailbox);
}

int imap_unselect(struct imap *s, struct imap_result *r)
{
	int rc = py_simple(s, "UNSELECT", NULL, 0, r);
	s->state = IMAP_STATE_AUTH;
	return rc;
}

int imap_xatom(struct imap *s, const char *name, const char *const *args, size_t n,
	       struct imap_result *r)
{
	struct buf upper = BUF_INIT;
	upper_copy(name, &upper);
	unsigned allowed = command_states(upper.data);
	if (!allowed)
		allowed = state_bit(s->state);
	struct imap_cmd *c;
	int rc = py_command(s, upper.data, allowed, args, n, NULL, &c);
	if (rc == 0)
		rc = py_complete(s, upper.data, c, r);
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
	struct imaplib_state *py = py_of(s);
	/* let the usual bookkeeping split it, then move it out of the dict */
	py_on_untagged(NULL, s, raw, r);
	for (size_t i = 0; i < py->nur; i++) {
		struct py_entry *e = &py->ur[i];
		struct imap_item *pair = result_add(res);
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
	ur_clear(py);
}

int imap_idle_collect(struct imap *s, int duration_ms, struct imap_result *r)
{
	int rc = check_state(s, "IDLE", command_states("IDLE"));
	if (rc < 0)
		return rc;
	result_set(r, "OK");
	/* only what arrives during IDLE is reported; what was pending stays */
	struct imaplib_state *py = py_of(s);
	struct py_entry *saved = py->ur;
	size_t nsaved = py->nur;
	py->ur = NULL;
	py->nur = 0;
	imap_set_untagged_handler(s, py_on_idle, r);
	rc = imap_idle(s, duration_ms, NULL);
	imap_set_untagged_handler(s, py_on_untagged, NULL);
	ur_clear(py);
	free(py->ur);
	py->ur = saved;
	py->nur = nsaved;
	return rc;
}

/* ---------------- connecting ---------------- */

static int imaplib_get_capabilities(struct imap *s, struct imap_result *r)
{
	int rc = imap_capability(s, r);
	if (rc < 0)
		return rc;
	if (r->n == 1 && r->items[0].none)
		return imap_fail(s, IMAP_ERROR, "no CAPABILITY response from server");
	/* dat[-1].upper().split() */
	struct imaplib_state *py = py_of(s);
	for (size_t i = 0; i < py->ncaps; i++)
		free(py->caps[i]);
	py->ncaps = 0;
	const struct buf *last = &r->items[r->n - 1].text;
	for (size_t i = 0; i < last->len;) {
		while (i < last->len && (last->data[i] == ' ' || last->data[i] == '\t'))
			i++;
		size_t j = i;
		while (j < last->len && last->data[j] != ' ' && last->data[j] != '\t')
			j++;
		if (j > i) {
			py->caps = xrealloc(py->caps, (py->ncaps + 1) * sizeof *py->caps);
			char *c = xmemdup(last->data + i, j - i);
			for (char *q = c; *q; q++)
				if (*q >= 'a' && *q <= 'z')
					*q = (char)(*q - 32);
			py->caps[py->ncaps++] = c;
		}
		i = j;
	}
	return IMAP_OK;
}

size_t imaplib_ncaps(const struct imap *s)
{
	return py_of(s) ? py_of(s)->ncaps : 0;
}

const char *imaplib_cap(const struct imap *s, size_t i)
{
	return py_of(s) && i < py_of(s)->ncaps ? py_of(s)->caps[i] : NULL;
}

static int py_connect(struct imap **out, struct transport *t, const char *host,
		      const struct imap_opts *o, struct buf *err)
{
	struct imap *s = imap_session_new(t, o);
	struct imaplib_state *py = xcalloc(1, sizeof *py);
	buf_init(&py->tagged_text);
	py->host = host ? xstrdup(host) : NULL;
	imap_set_layer_state(s, &py_layer_key, py, py_state_free);
	imap_set_untagged_handler(s, py_on_untagged, NULL);
	imap_set_tagged_handler(s, py_on_tagged, NULL);
	struct imap_result caps = { .n = 0 };
	/* The core decides the greeting and the state; imaplib's message for
	 * a greeting it does not take is the greeting itself. */
	int rc = imap_session_greet(s);
	if (rc == IMAP_ERROR) {
		struct buf m = BUF_INIT;
		pyrepr_bytes(&m, s->welcome.data, s->welcome.len);
		rc = imap_fail(s, IMAP_ERROR, "%s", m.data);
		buf_free(&m);
	}
	if (rc == 0 && py->abort_msg)
		rc = imap_fail(s, IMAP_ABORT, "%s", py->abort_msg);
	if (rc == 0)
		rc = imaplib_get_capabilities(s, &caps);
	imap_result_free(&caps);
	if (rc == 0) {
		if (imap_has_cap(s, "IMAP4REV1"))
			s->protocol_version = xstrdup("IMAP4REV1");
		else if (imap_has_cap(s, "IMAP4"))
			s->protocol_version = xstrdup("IMAP4");
		else
			rc = imap_fail(s, IMAP_ERROR, "server not IMAP4 compliant");
	}
	if (rc < 0) {
		buf_addstr(err, s->err.data);
		imap_close(s);
		*out = NULL;
		return rc;
	}
	*out = s;
	return IMAP_OK;
}

static int connect_tcp(struct transport **t, const char *host, const char *port,
		       const struct imap_opts *o, struct buf *err)
{
	if (transport_connect_tcp(t, host && *host ? host : "localhost", port,
				  o ? o->timeout_ms : 0, err) < 0)
		return IMAP_ABORT;
	return IMAP_OK;
}

int imap_open(struct imap **out, const char *host, const char *port, const struct imap_opts *o,
	      struct buf *err)
{
	struct transport *t;
	*out = NULL;
	if (connect_tcp(&t, host, port ? port : "143", o, err) < 0)
		return IMAP_ABORT;
	return py_connect(out, t, host, o, err);
}

int imap_open_ssl(struct imap **out, const char *host, const char *port,
		  const struct imap_opts *o, struct buf *err)
{
	struct transport *t;
	*out = NULL;
	if (connect_tcp(&t, host, port ? port : "993", o, err) < 0)
		return IMAP_ABORT;
	struct tls_opts tls = { .servername = NULL };
	if (o)
		tls = o->tls;
	if (!tls.servername)
		tls.servername = host && *host ? host : "localhost";
	if (!tls.timeout_ms && o)
		tls.timeout_ms = o->timeout_ms;
	if (transport_start_tls(t, &tls, err) < 0) {
		transport_close(t);
		return IMAP_ABORT;
	}
	return py_connect(out, t, host, o, err);
}

int imap_open_stream(struct imap **out, const char *command, const struct imap_opts *o,
		     struct buf *err)
{
	struct transport *t;
	*out = NULL;
	if (transport_spawn(&t, command, err) < 0)
		return IMAP_ABORT;
	int rc = py_connect(out, t, NULL, o, err);
	if (rc == 0)
		py_of(*out)->stream = true;
	return rc;
}
