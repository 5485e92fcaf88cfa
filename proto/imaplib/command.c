/* command.c: imaplib's _command and _command_complete: the state check,
 * the bookkeeping of untagged responses around a command, and the simple
 * methods built on them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imaplib_int.h"

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

unsigned imaplib_state_bit(enum imap_state st)
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
unsigned imaplib_command_states(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].states;
	return 0;
}

int imaplib_check_state(struct imap *s, const char *name, unsigned allowed)
{
	if (allowed & imaplib_state_bit(s->state))
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

static int check_bye(struct imap *s)
{
	struct py_entry *e = imaplib_ur_find(imaplib_state_of(s), "BYE");
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
int imaplib_command(struct imap *s, const char *name, unsigned allowed, const char *const *args,
		    size_t n, const struct py_extra *x, struct imap_cmd **out)
{
	struct imaplib_state *py = imaplib_state_of(s);
	*out = NULL;
	if (s->broken)
		return imap_fail(s, IMAP_ABORT, "%s", s->err.len ? s->err.data : "connection closed");
	int r = imaplib_check_state(s, name, allowed);
	if (r < 0)
		return r;
	imaplib_ur_delete(py, "OK");
	imaplib_ur_delete(py, "NO");
	imaplib_ur_delete(py, "BAD");
	if (imaplib_ur_find(py, "READ-ONLY") && !py->is_readonly)
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
int imaplib_complete(struct imap *s, const char *name, struct imap_cmd *c, struct imap_result *res)
{
	struct imaplib_state *py = imaplib_state_of(s);
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
		if (logout && imaplib_ur_pop(py, "BYE", res)) {
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
	imaplib_result_set(res, imap_cmd_status(c));
	buf_set(&imaplib_result_add(res)->text, py->tagged_text.data, py->tagged_text.len);
	imap_cmd_free(c);
	if (!logout && (r = check_bye(s)) < 0)
		return r;
	if (!strcmp(res->type, "BAD")) {
		struct buf m = BUF_INIT;
		imaplib_items_repr(res->items, res->n, &m);
		r = imap_fail(s, IMAP_ERROR, "%s command error: %s %s", name, res->type, m.data);
		buf_free(&m);
		return r;
	}
	return IMAP_OK;
}

int imaplib_simple_x(struct imap *s, const char *name, const char *const *args, size_t n,
		     const struct py_extra *x, struct imap_result *res)
{
	struct imap_cmd *c;
	int r = imaplib_command(s, name, imaplib_command_states(name), args, n, x, &c);
	if (r < 0)
		return r;
	return imaplib_complete(s, name, c, res);
}

int imaplib_simple(struct imap *s, const char *name, const char *const *args, size_t n,
		   struct imap_result *res)
{
	return imaplib_simple_x(s, name, args, n, NULL, res);
}

/* imaplib's _untagged_response */
void imaplib_untagged(struct imap *s, struct imap_result *res, const char *name)
{
	if (!strcmp(res->type, "NO"))
		return;
	char type[sizeof res->type];
	memcpy(type, res->type, sizeof type);
	if (!imaplib_ur_pop(imaplib_state_of(s), name, res)) {
		imaplib_result_none(res, type);
		return;
	}
	memcpy(res->type, type, sizeof type);
}

int imaplib_simple_untagged(struct imap *s, const char *name, const char *const *args, size_t n,
			    const char *untagged, struct imap_result *res)
{
	int r = imaplib_simple(s, name, args, n, res);
	if (r < 0)
		return r;
	imaplib_untagged(s, res, untagged);
	return IMAP_OK;
}
