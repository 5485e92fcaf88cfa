/* cmd.c: commands: built part by part, submitted to the session's queue,
 * and what their tagged reply said. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <stdbool.h>
#include <unistd.h>

#include "session.h"
#include "clock.h"
#include "quote.h"
#include "tag.h"
#include "xalloc.h"


/* ---------------- commands ---------------- */

struct imap_cmd *imap_cmd_new(const char *name)
{
	struct imap_cmd *c = xcalloc(1, sizeof *c);
	c->name = xstrdup(name);
	buf_init(&c->text);
	imap_cmd_add(c, name);
	return c;
}

static void cmd_reset_result(struct imap_cmd *c)
{
	free(c->code);
	free(c->code_arg);
	c->code = c->code_arg = NULL;
	for (size_t i = 0; i < c->code_nargs; i++)
		free(c->code_args[i]);
	free(c->code_args);
	c->code_args = NULL;
	c->code_nargs = 0;
	buf_reset(&c->text);
	c->status[0] = '\0';
}

void session_cmd_unlink(struct imap_cmd *c)
{
	struct imap *s = c->owner;
	if (!s)
		return;
	for (struct imap_cmd **pp = &s->cmds; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (s->writer == c)
		s->writer = c->next;
	if (!s->cmds)
		s->send_credit = 0;  /* what was not sent never will be */
	c->next = NULL;
	c->owner = NULL;
}

void imap_cmd_free(struct imap_cmd *c)
{
	if (!c)
		return;
	session_cmd_unlink(c);
	for (size_t i = 0; i < c->nparts; i++) {
		if (c->parts[i].secret)
			buf_wipe(&c->parts[i].data);
		else
			buf_free(&c->parts[i].data);
	}
	free(c->parts);
	cmd_reset_result(c);
	buf_free(&c->text);
	free(c->name);
	free(c);
}

static struct cmd_part *cmd_new_part(struct imap_cmd *c, enum cmd_part_kind kind)
{
	c->parts = xrealloc(c->parts, (c->nparts + 1) * sizeof *c->parts);
	struct cmd_part *p = &c->parts[c->nparts++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->fd = -1;
	buf_init(&p->data);
	return p;
}

/* Text is merged into the last part unless that one is secret or a literal. */
static struct cmd_part *cmd_text_part(struct imap_cmd *c, bool secret)
{
	if (!secret && c->nparts && c->parts[c->nparts - 1].kind == PART_TEXT &&
	    !c->parts[c->nparts - 1].secret)
		return &c->parts[c->nparts - 1];
	struct cmd_part *p = cmd_new_part(c, PART_TEXT);
	p->secret = secret;
	return p;
}

void imap_cmd_add(struct imap_cmd *c, const char *text)
{
	buf_addstr(&cmd_text_part(c, false)->data, text);
}

void imap_cmd_addf(struct imap_cmd *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&cmd_text_part(c, false)->data, fmt, ap);
	va_end(ap);
}

static int add_astring(struct imap_cmd *c, const char *str, size_t n, bool secret)
{
	struct cmd_part *p;
	switch (imap_astring_form(str, n)) {
	case IMAP_ASTRING_ATOM:
		imap_cmd_add(c, " ");
		buf_add(&cmd_text_part(c, secret)->data, str, n);
		return 0;
	case IMAP_ASTRING_QUOTED:
		imap_cmd_add(c, " ");
		imap_quote(str, n, &cmd_text_part(c, secret)->data);
		return 0;
	case IMAP_ASTRING_LITERAL:
		p = cmd_new_part(c, PART_LITERAL_MEM);
		buf_add(&p->data, str, n);
		p->len = n;
		p->secret = secret;
		return 0;
	case IMAP_ASTRING_INVALID:
		break;
	}
	return -1;
}

int imap_cmd_add_astring(struct imap_cmd *c, const char *str, size_t n)
{
	return add_astring(c, str, n, false);
}

int imap_cmd_add_secret(struct imap_cmd *c, const char *str, size_t n)
{
	return add_astring(c, str, n, true);
}

void imap_cmd_add_secret_text(struct imap_cmd *c, const char *text)
{
	buf_addstr(&cmd_text_part(c, true)->data, text);
}

void imap_cmd_add_literal(struct imap_cmd *c, const void *p, size_t len)
{
	struct cmd_part *part = cmd_new_part(c, PART_LITERAL_MEM);
	buf_add(&part->data, p, len);
	part->len = len;
}

void imap_cmd_add_literal_fd(struct imap_cmd *c, int fd, uint64_t len)
{
	struct cmd_part *part = cmd_new_part(c, PART_LITERAL_FD);
	part->fd = fd;
	part->len = len;
}

void imap_cmd_add_literal8_fd(struct imap_cmd *c, int fd, uint64_t len)
{
	imap_cmd_add_literal_fd(c, fd, len);
	c->parts[c->nparts - 1].literal8 = true;
}

void imap_cmd_on_continuation(struct imap_cmd *c, imap_cont_fn fn, void *ctx)
{
	c->cont = fn;
	c->cont_ctx = ctx;
}

bool imap_cmd_done(const struct imap_cmd *c) { return c->done; }
const char *imap_cmd_tag(const struct imap_cmd *c) { return c->tag; }
const char *imap_cmd_status(const struct imap_cmd *c) { return c->status; }
bool imap_cmd_ok(const struct imap_cmd *c) { return c->done && !strcmp(c->status, "OK"); }
const char *imap_cmd_text(const struct imap_cmd *c) { return c->text.data; }
const char *imap_cmd_code(const struct imap_cmd *c) { return c->code; }
const char *imap_cmd_code_arg(const struct imap_cmd *c) { return c->code_arg; }
size_t imap_cmd_code_nargs(const struct imap_cmd *c) { return c->code_nargs; }

const char *imap_cmd_code_argv(const struct imap_cmd *c, size_t i)
{
	return i < c->code_nargs ? c->code_args[i] : NULL;
}

/* The parser's memory is reused by the next response: what the caller may
 * ask after completion is copied. */
void session_cmd_set_code(struct imap_cmd *c, const struct imap_resp *r)
{
	c->code = xstrdup(r->code);
	c->code_arg = r->code_raw ? xstrdup(r->code_raw) : NULL;
	if (!r->code_nargs)
		return;
	c->code_args = xcalloc(r->code_nargs, sizeof *c->code_args);
	c->code_nargs = r->code_nargs;
	for (size_t i = 0; i < r->code_nargs; i++) {
		const struct imap_arg *a = &r->code_args[i];
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING ||
		    (a->type == IMAP_ARG_LITERAL && a->str))
			c->code_args[i] = xmemdup(a->str, a->len);
	}
}

size_t imap_in_flight(const struct imap *s)
{
	size_t n = 0;
	for (const struct imap_cmd *c = s->cmds; c; c = c->next)
		n++;
	return n;
}

/* Bytes of literals c sends: what it may still earn time with. */
static uint64_t literal_bytes(const struct imap_cmd *c)
{
	uint64_t n = 0;
	for (size_t i = 0; i < c->nparts; i++)
		if (c->parts[i].kind != PART_TEXT)
			n += c->parts[i].len;
	return n;
}

int imap_submit(struct imap *s, struct imap_cmd *c)
{
	if (s->broken)
		return IMAP_ABORT;
	if (c->owner)
		return imap_fail(s, IMAP_ERROR, "command %s submitted twice", c->name);
	c->owner = s;
	c->part = 0;
	c->announced = c->waiting_cont = c->emitted = c->done = false;
	c->lit_sent = 0;
	c->deadline = s->opts.timeout_ms > 0 ? clock_ms() + s->opts.timeout_ms : -1;
	c->progress_base = s->progress;
	s->send_credit += literal_bytes(c);
	cmd_reset_result(c);
	snprintf(c->tag, sizeof c->tag, "%s%lu", s->tagpre, s->tagnum++);
	struct imap_cmd **pp = &s->cmds;
	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
	if (!s->writer)
		s->writer = c;
	return IMAP_OK;
}
