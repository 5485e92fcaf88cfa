/* imaplib.c: Python imaplib's IMAP4 methods over the pipelined core, with
 * imaplib's semantics: the untagged responses are collected per name the
 * way imaplib's regular expressions split them, each method pops the names
 * imaplib pops, and failures come as imaplib's error / abort / readonly with
 * imaplib's messages.  This file: the layer's state on a session, results,
 * and what it takes from each response the core hands it.  The methods are
 * in command.c (imaplib's _command machinery), open.c (connecting, logging
 * in), mailbox.c and message.c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imaplib_int.h"
#include "xalloc.h"

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

struct imaplib_state *imaplib_state_of(const struct imap *s)
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

struct py_entry *imaplib_ur_find(struct imaplib_state *py, const char *name)
{
	for (size_t i = 0; i < py->nur; i++)
		if (!strcmp(py->ur[i].name, name))
			return &py->ur[i];
	return NULL;
}

static struct imap_item *ur_append(struct imaplib_state *py, const char *name)
{
	struct py_entry *e = imaplib_ur_find(py, name);
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

void imaplib_ur_delete(struct imaplib_state *py, const char *name)
{
	struct py_entry *e = imaplib_ur_find(py, name);
	if (!e)
		return;
	entry_free(e);
	size_t i = (size_t)(e - py->ur);
	memmove(&py->ur[i], &py->ur[i + 1], (py->nur - i - 1) * sizeof *py->ur);
	py->nur--;
}

void imaplib_ur_clear(struct imaplib_state *py)
{
	while (py->nur)
		imaplib_ur_delete(py, py->ur[0].name);
}

/* Moves the entry's items into r (imaplib's dict.pop). */
bool imaplib_ur_pop(struct imaplib_state *py, const char *name, struct imap_result *r)
{
	struct py_entry *e = imaplib_ur_find(py, name);
	if (!e)
		return false;
	for (size_t i = 0; i < r->n; i++)
		item_free(&r->items[i]);
	free(r->items);
	r->items = e->items;
	r->n = e->n;
	e->items = NULL;
	e->n = 0;
	imaplib_ur_delete(py, name);
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

void imaplib_result_set(struct imap_result *r, const char *type)
{
	imap_result_free(r);
	snprintf(r->type, sizeof r->type, "%s", type);
}

struct imap_item *imaplib_result_add(struct imap_result *r)
{
	return item_push(&r->items, &r->n);
}

void imaplib_result_none(struct imap_result *r, const char *type)
{
	imaplib_result_set(r, type);
	imaplib_result_add(r)->none = true;
}

void imaplib_items_repr(const struct imap_item *items, size_t n, struct buf *out)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < n; i++) {
		const struct imap_item *it = &items[i];
		if (i)
			buf_addstr(out, ", ");
		if (it->none) {
			buf_addstr(out, "None");
		} else if (it->is_list) {
			imaplib_items_repr(it->sub, it->nsub, out);
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
	imaplib_items_repr(r->items, r->n, out);
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

void imaplib_on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			 const struct imap_resp *r)
{
	(void)ctx;
	(void)r;
	struct imaplib_state *py = imaplib_state_of(s);
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
	struct imaplib_state *py = imaplib_state_of(s);
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

/* Makes py the layer of s: its state, freed with s, and the two handlers
 * through which the core hands it every response. */
void imaplib_attach(struct imap *s, struct imaplib_state *py)
{
	imap_set_layer_state(s, &py_layer_key, py, py_state_free);
	imap_set_untagged_handler(s, imaplib_on_untagged, NULL);
	imap_set_tagged_handler(s, py_on_tagged, NULL);
}
