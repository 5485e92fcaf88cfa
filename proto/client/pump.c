/* pump.c: the pipelined core.  Commands are queued objects; the writer
 * emits them in order (stopping at a synchronizing literal until the
 * server's "+", and behind a command that converses through continuations),
 * the reader parses whatever arrives and matches tagged replies to their
 * commands.  Reading and writing are interleaved so a long pipeline never
 * deadlocks against a server that stops reading while its output is full. */
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


enum { OUT_HIGH_WATER = 256 * 1024, READ_CHUNK = 64 * 1024 };

/* ---------------- progress (what earns a command more time) ---------------- */

/* Only bytes that move for the commands in flight count: those of a
 * literal the caller's hook took into a sink that keeps them, and those
 * of our own literals (an APPEND's message) as the server takes them.
 * Untagged responses earn nothing, as any server may send them at any
 * time and unasked, nor does a literal read past; so what a command can
 * earn is bounded by the sizes of the literals moved, which the caller
 * chose to accept or to send. */
static int counted_write(void *ctx, const void *p, size_t n)
{
	struct imap *s = ctx;
	if (!s->lit_sink.write)
		return 0;  /* read past: no progress */
	s->progress += n;
	return s->lit_sink.write(s->lit_sink.ctx, p, n);
}

static void counted_done(void *ctx, bool ok)
{
	struct imap *s = ctx;
	if (s->lit_sink.done)
		s->lit_sink.done(s->lit_sink.ctx, ok);
}

bool session_counted_hook(void *ctx, const struct imap_response *so_far, uint64_t size,
			  struct imap_sink *sink)
{
	struct imap *s = ctx;
	struct imap_sink inner = { 0 };
	if (!s->lit_hook || !s->lit_hook(s->lit_ctx, so_far, size, &inner))
		return false;
	s->lit_sink = inner;
	sink->write = counted_write;
	sink->done = counted_done;
	sink->ctx = s;
	return true;
}

/* n bytes the server took from us: progress as far as our literals go
 * (command text, and continuation answers the server asks for, do not
 * count). */
static void count_sent(struct imap *s, size_t n)
{
	uint64_t credit = n < s->send_credit ? n : s->send_credit;
	s->send_credit -= credit;
	s->progress += credit;
}

/* When c's tagged reply is due: its deadline, a second later for each
 * IMAP_PROGRESS_BYTES of progress since it was submitted. */
static long long cmd_due(const struct imap *s, const struct imap_cmd *c)
{
	if (c->deadline < 0)
		return -1;
	uint64_t earned_s = (s->progress - c->progress_base) / IMAP_PROGRESS_BYTES;
	if (earned_s > 1000000000)  /* 30 years: no overflow below */
		earned_s = 1000000000;
	return c->deadline + (long long)earned_s * 1000;
}

/* The command that is due first (NULL when none has a deadline). */
static const struct imap_cmd *first_due(const struct imap *s, long long *due)
{
	const struct imap_cmd *first = NULL;
	for (const struct imap_cmd *c = s->cmds; c; c = c->next) {
		long long d = cmd_due(s, c);
		if (d >= 0 && (!first || d < *due)) {
			first = c;
			*due = d;
		}
	}
	return first;
}

/* ---------------- writing ---------------- */

static bool literal_nonsync(const struct imap *s, uint64_t len)
{
	return imap_has_cap(s, "LITERAL+") || (imap_has_cap(s, "LITERAL-") && len <= 4096);
}

static void trace_cmd_text(struct imap *s, const struct imap_cmd *c, const struct cmd_part *p)
{
	if (s->opts.debug < 4)
		return;
	if (p->secret)
		imap_trace(s, "C: ", "%s ... <secret>", c->tag);
	else
		session_trace_text(s, "C: ", p->data.data, p->data.len);
}

/* Streams part of an fd literal into the out buffer; returns -1 on a read error. */
static int emit_fd_chunk(struct imap *s, struct imap_cmd *c, struct cmd_part *p)
{
	while (c->lit_sent < p->len && s->out.len < OUT_HIGH_WATER) {
		size_t want = READ_CHUNK;
		if (p->len - c->lit_sent < want)
			want = (size_t)(p->len - c->lit_sent);
		buf_grow(&s->out, want);
		ssize_t n = read(p->fd, s->out.data + s->out.len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return imap_fail(s, IMAP_ABORT, "reading the literal for %s: %s", c->name,
					 n == 0 ? "file shorter than announced" : strerror(errno));
		s->out.len += (size_t)n;
		s->out.data[s->out.len] = '\0';
		c->lit_sent += (uint64_t)n;
	}
	return 0;
}

/* Queues bytes to send.  A secret goes in without the buffer moving under
 * it (a realloc would leave a copy in freed memory), and the buffer is
 * wiped once it has all been sent (session_flush_some). */
static void out_add(struct imap *s, const struct buf *b, bool secret)
{
	if (secret) {
		buf_grow(&s->out, b->len);
		s->out_secret = true;
	}
	buf_add(&s->out, b->data, b->len);
}

/* Emit as much of the writer's command as may be sent now.  Returns 1 when
 * the command is fully emitted, 0 when it must wait, <0 on failure. */
static int emit_cmd(struct imap *s, struct imap_cmd *c)
{
	if (c->part == 0 && c->lit_sent == 0 && !c->announced) {
		buf_addstr(&s->out, c->tag);
		buf_addch(&s->out, ' ');
	}
	while (c->part < c->nparts) {
		struct cmd_part *p = &c->parts[c->part];
		if (p->kind == PART_TEXT) {
			if (c->part == 0 && s->opts.debug >= 4) {
				struct buf line = BUF_INIT;
				buf_addf(&line, "%s %s", c->tag, p->data.data);
				session_trace_text(s, "C: ", line.data, line.len);
				buf_free(&line);
			} else {
				trace_cmd_text(s, c, p);
			}
			out_add(s, &p->data, p->secret);
			c->part++;
			continue;
		}
		if (!c->announced) {
			bool nonsync = literal_nonsync(s, p->len);
			const char *open = p->literal8 ? "~{" : " {";
			buf_addf(&s->out, "%s%llu%s}\r\n", open, (unsigned long long)p->len, nonsync ? "+" : "");
			if (s->opts.debug >= 4)
				imap_trace(s, "C: ", "%s%llu%s} literal", p->literal8 ? "~{" : "{",
					   (unsigned long long)p->len, nonsync ? "+" : "");
			c->announced = true;
			c->lit_sent = 0;
			if (!nonsync) {
				c->waiting_cont = true;
				return 0;
			}
		}
		if (c->waiting_cont)
			return 0;
		if (p->kind == PART_LITERAL_MEM) {
			out_add(s, &p->data, p->secret);
			c->lit_sent = p->len;
		} else if (emit_fd_chunk(s, c, p) < 0) {
			return IMAP_ABORT;
		}
		if (c->lit_sent < p->len)
			return 0;
		c->part++;
		c->announced = false;
		c->lit_sent = 0;
	}
	buf_add(&s->out, "\r\n", 2);
	c->emitted = true;
	return 1;
}

/* Move commands into the out buffer.  A command that converses through
 * continuations (AUTHENTICATE, IDLE) holds back the ones after it. */
int session_emit_pending(struct imap *s)
{
	while (s->writer && s->out.len < OUT_HIGH_WATER) {
		struct imap_cmd *c = s->writer;
		if (c->emitted) {
			if (c->cont && !c->done)
				return 0;
			s->writer = c->next;
			continue;
		}
		int r = emit_cmd(s, c);
		if (r <= 0)
			return r;
	}
	return 0;
}

int session_flush_some(struct imap *s)
{
	if (!s->out.len)
		return 0;
	struct buf err = BUF_INIT;
	ssize_t n = transport_write_some(s->t, s->out.data, s->out.len, &err);
	if (n < 0) {
		imap_fail(s, IMAP_ABORT, "socket error: %s", err.data);
		buf_free(&err);
		return IMAP_ABORT;
	}
	buf_free(&err);
	buf_consume(&s->out, (size_t)n);
	if (!s->out.len && s->out_secret) {
		/* sent: the storage that held a password keeps no copy */
		explicit_bzero(s->out.data, s->out.cap);
		s->out_secret = false;
	}
	count_sent(s, (size_t)n);
	return 0;
}

/* ---------------- reading ---------------- */

int session_read_some(struct imap *s)
{
	struct buf err = BUF_INIT;
	if (s->in_off > 0 && s->in_off == s->in.len) {
		buf_reset(&s->in);
		s->in_off = 0;
	} else if (s->in_off > READ_CHUNK) {
		buf_consume(&s->in, s->in_off);
		s->in_off = 0;
	}
	buf_grow(&s->in, READ_CHUNK);
	ssize_t n = transport_read_some(s->t, s->in.data + s->in.len, READ_CHUNK, &err);
	if (n < 0) {
		if (transport_eof(s->t))
			imap_fail(s, IMAP_ABORT, "socket error: EOF");
		else
			imap_fail(s, IMAP_ABORT, "socket error: %s", err.data);
		buf_free(&err);
		return IMAP_ABORT;
	}
	buf_free(&err);
	s->in.len += (size_t)n;
	s->in.data[s->in.len] = '\0';
	return (int)(n > 0);
}

static struct imap_cmd *find_cmd(struct imap *s, const char *tag)
{
	for (struct imap_cmd *c = s->cmds; c; c = c->next)
		if (c->owner && !strcmp(c->tag, tag))
			return c;
	return NULL;
}

/* The command at the writer that is waiting for, or conversing through,
 * continuation requests. */
static struct imap_cmd *cont_target(struct imap *s)
{
	struct imap_cmd *c = s->writer;
	if (!c)
		return NULL;
	if (c->waiting_cont || (c->emitted && c->cont && !c->done))
		return c;
	return NULL;
}

static int handle_continuation(struct imap *s, const char *raw)
{
	struct imap_cmd *c = cont_target(s);
	const char *text = raw[1] == ' ' ? raw + 2 : raw + 1;
	if (!c) {
		buf_set(&s->continuation, text, strlen(text));
		return 0;
	}
	if (c->waiting_cont) {
		c->waiting_cont = false;
		return 0;
	}
	struct buf line = BUF_INIT;
	int cr = c->cont(c->cont_ctx, s, c, text, &line);
	if (cr < 0) {
		buf_free(&line);
		return imap_fail(s, IMAP_ABORT, "%s: continuation refused", c->name);
	}
	if (cr > 0) {  /* nothing to answer (IDLE's "+ idling") */
		buf_free(&line);
		return 0;
	}
	if (s->opts.debug >= 4)
		imap_trace(s, "C: ", "<continuation response, %zu bytes>", line.len);
	/* an AUTHENTICATE response carries a password or a token */
	buf_add(&line, "\r\n", 2);
	out_add(s, &line, true);
	buf_wipe(&line);
	return 0;
}

static void take_status_code(struct imap *s, const struct imap_resp *r)
{
	if (r->code && !strcmp(r->code, "CAPABILITY"))
		imap_set_caps_from_args(s, r->code_args, r->code_nargs);
}

static int handle_tagged(struct imap *s, const struct imap_response *raw, const struct imap_resp *r)
{
	struct imap_cmd *c = find_cmd(s, r->tag);
	if (!c)
		return imap_fail(s, IMAP_ABORT, "unexpected tagged response: %s", r->tag);
	snprintf(c->status, sizeof c->status, "%s", r->name);
	buf_set(&c->text, "", 0);
	if (r->code) {
		buf_addf(&c->text, "[%s%s%s] ", r->code, r->code_raw && *r->code_raw ? " " : "",
			 r->code_raw ? r->code_raw : "");
		session_cmd_set_code(c, r);
	}
	buf_addstr(&c->text, r->text);
	take_status_code(s, r);
	if (s->on_tagged)
		s->on_tagged(s->tagged_ctx, s, raw, r);
	c->done = true;
	c->waiting_cont = false;
	if (s->writer == c && !c->emitted)
		s->writer = c->next;  /* rejected before its literal went out */
	session_cmd_unlink(c);
	return 0;
}

static void handle_untagged_core(struct imap *s, const struct imap_resp *r)
{
	if (!strcmp(r->name, "CAPABILITY")) {
		imap_set_caps_from_args(s, r->args, r->nargs);
	} else if (!strcmp(r->name, "BYE")) {
		s->bye = true;
		buf_set(&s->bye_text, r->text, strlen(r->text));
	}
	take_status_code(s, r);
}

static enum imap_greeting greeting_kind(const struct imap_resp *r)
{
	if (r->kind != IMAP_RESP_UNTAGGED || r->has_number)
		return GREETING_INVALID;
	if (!strcmp(r->name, "OK"))
		return GREETING_OK;
	if (!strcmp(r->name, "PREAUTH"))
		return GREETING_PREAUTH;
	if (!strcmp(r->name, "BYE"))
		return GREETING_BYE;
	return GREETING_INVALID;
}

/* The first response, whatever it is, is the greeting: one that does not
 * parse is not read another way (imaplib's regexes would take
 * "* 4294967296 PREAUTH" for PREAUTH and skip STARTTLS). */
static int take_greeting(struct imap *s, const struct imap_response *raw)
{
	struct imap_resp r;
	struct buf err = BUF_INIT;
	s->greeting_seen = true;
	buf_set(&s->welcome, raw->pieces[0].text, raw->pieces[0].text_len);
	if (imap_resp_parse(s->parser, raw, &r, &err) < 0) {
		if (s->opts.debug >= 1)
			imap_trace(s, "", "unparsable greeting: %s", err.data);
		s->greeting = GREETING_INVALID;
	} else {
		s->greeting = greeting_kind(&r);
	}
	buf_free(&err);
	if (s->greeting == GREETING_INVALID)
		return 0;
	handle_untagged_core(s, &r);
	if (s->on_untagged)
		s->on_untagged(s->untagged_ctx, s, raw, &r);
	return 0;
}

/* "TAG STATUS text" when the full parse failed (say, a malformed response
 * code): enough to complete the command. */
struct tagged_words {
	char tag[64];
	char name[16];
};

static int tagged_fallback(const char *line, struct imap_resp *r, struct tagged_words *w)
{
	char *tag = w->tag, *name = w->name;
	const char *sp = strchr(line, ' ');
	if (!sp || sp == line || (size_t)(sp - line) >= sizeof w->tag)
		return -1;
	memcpy(tag, line, (size_t)(sp - line));
	tag[sp - line] = '\0';
	const char *st = sp + 1, *st_end = st + strcspn(st, " ");
	if (st_end == st || (size_t)(st_end - st) >= sizeof w->name)
		return -1;
	for (size_t i = 0; i < (size_t)(st_end - st); i++)
		name[i] = (char)((st[i] >= 'a' && st[i] <= 'z') ? st[i] - 32 : st[i]);
	name[st_end - st] = '\0';
	memset(r, 0, sizeof *r);
	r->kind = IMAP_RESP_TAGGED;
	r->tag = tag;
	r->name = name;
	r->text = *st_end ? st_end + 1 : "";
	return 0;
}

static int dispatch(struct imap *s, const struct imap_response *raw)
{
	struct imap_resp r;
	struct buf err = BUF_INIT;
	if (s->opts.debug >= 4) {
		for (size_t i = 0; i < raw->npieces; i++) {
			session_trace_text(s, "S: ", raw->pieces[i].text, raw->pieces[i].text_len);
			if (raw->pieces[i].has_literal)
				imap_trace(s, "S: ", "<literal, %llu bytes>",
					   (unsigned long long)raw->pieces[i].lit.len);
		}
	}
	const char *line = raw->pieces[0].text;
	if (s->expect_greeting && !s->greeting_seen) {
		buf_free(&err);
		return take_greeting(s, raw);
	}
	if (line[0] == '+') {
		buf_free(&err);
		return handle_continuation(s, line);
	}
	/* A response whose structure does not parse is still framed correctly:
	 * it is passed on (imaplib splits it its own way), not fatal. */
	bool parsed = imap_resp_parse(s->parser, raw, &r, &err) == 0;
	if (!parsed && s->opts.debug >= 1)
		imap_trace(s, "", "unparsable response: %s", err.data);
	buf_free(&err);
	if (line[0] == '*') {
		if (parsed)
			handle_untagged_core(s, &r);
		if (s->on_untagged)
			s->on_untagged(s->untagged_ctx, s, raw, parsed ? &r : NULL);
		return 0;
	}
	struct tagged_words words;
	if (!parsed && tagged_fallback(line, &r, &words) < 0)
		return imap_fail(s, IMAP_ABORT, "unexpected response: %s", line);
	return handle_tagged(s, raw, &r);
}

/* Parse buffered input until one response has been handled.  Returns 1 when
 * one was, 0 when more input is needed, <0 on abort. */
int session_process_one(struct imap *s)
{
	while (s->in_off < s->in.len) {
		size_t used = 0;
		enum imap_parse_result pr = imap_parser_feed(s->parser, s->in.data + s->in_off,
							     s->in.len - s->in_off, &used);
		s->in_off += used;
		switch (pr) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_DONE: {
			int r = dispatch(s, imap_parser_response(s->parser));
			return r < 0 ? r : 1;
		}
		case IMAP_PARSE_ERROR:
			if (s->opts.debug >= 1)
				imap_trace(s, "", "dropped a response: %s", imap_parser_error(s->parser));
			return imap_fail(s, IMAP_ERROR, "%s", imap_parser_error(s->parser));
		case IMAP_PARSE_ABORT:
			return imap_fail(s, IMAP_ABORT, "%s", imap_parser_error(s->parser));
		}
	}
	return 0;
}

/* Waits up to ms (-1: no limit) until the socket is readable, or writable
 * when want_write.  1 ready, 0 timed out, IMAP_ABORT (recorded) on failure
 * or when the cancel fd fired. */
static int wait_any(struct imap *s, bool want_read, bool want_write, int ms, int wake_fd)
{
	struct buf err = BUF_INIT;
	int w = transport_wait_any(s->t, want_read, want_write, ms, s->cancel_fd, wake_fd, &err);
	if (w < 0)
		w = imap_fail(s, IMAP_ABORT, "socket error: %s", err.data);
	else if (w == 2)  /* what is in flight can no longer be finished */
		w = imap_fail(s, IMAP_ABORT, "interrupted");
	else if (w == 3)
		w = 0;
	buf_free(&err);
	return w;
}

int session_wait_for(struct imap *s, bool want_read, bool want_write, int ms)
{
	return wait_any(s, want_read, want_write, ms, -1);
}

int session_wait_io(struct imap *s, int ms)
{
	return wait_any(s, true, s->out.len > 0, ms, -1);
}

int session_wait_io_or(struct imap *s, int ms, int wake_fd)
{
	return wait_any(s, true, s->out.len > 0, ms, wake_fd);
}

/* How long the next wait may be (*ms, -1: no limit): until the first
 * command in flight is due; with none, until the session's deadline, else
 * one timeout; never past the time limit (imap_set_time_limit).  1, or
 * IMAP_ABORT (recorded) when that time has passed. */
static int wait_budget(struct imap *s, int *ms)
{
	long long due = -1;
	const struct imap_cmd *c = first_due(s, &due);
	if (!c)
		due = s->deadline;
	if (s->limit >= 0 && (due < 0 || s->limit < due)) {
		due = s->limit;
		c = NULL;
	}
	if (due < 0) {
		*ms = s->opts.timeout_ms > 0 ? s->opts.timeout_ms : -1;
		return 1;
	}
	long long left = due - clock_ms();
	if (left <= 0) {
		if (c)
			return imap_fail(s, IMAP_ABORT, "socket error: timed out waiting for the reply to %s",
					 c->name);
		return imap_fail(s, IMAP_ABORT, "socket error: timed out");
	}
	*ms = left > INT_MAX ? INT_MAX : (int)left;
	return 1;
}

/* The command at the writer can put more bytes out now. */
static bool writer_can_emit(const struct imap *s)
{
	const struct imap_cmd *c = s->writer;
	return c && !c->emitted && !c->waiting_cont;
}

/* One round: emit, write, handle one buffered response or wait for I/O.
 * Returns 1 when a response was handled, 0 otherwise, <0 on failure. */
static int step(struct imap *s, bool block)
{
	if (s->broken)
		return IMAP_ABORT;
	int r = session_emit_pending(s);
	if (r < 0)
		return r;
	if ((r = session_flush_some(s)) < 0)
		return r;
	if ((r = session_process_one(s)) != 0)
		return r;
	if (transport_pending(s->t) > 0)
		return session_read_some(s) < 0 ? IMAP_ABORT : 0;
	/* the writer has more to emit (a streamed literal past the high-water
	 * mark) and the output just drained: go round again, don't wait */
	if (!s->out.len && writer_can_emit(s))
		return 0;
	if (!block) {
		r = session_read_some(s);
		return r < 0 ? IMAP_ABORT : 0;
	}
	/* checked before every read, not only when the socket is quiet: a
	 * server that keeps talking must not keep a command alive */
	int ms, w;
	if ((w = wait_budget(s, &ms)) < 0 || (w = session_wait_io(s, ms)) < 0)
		return w;
	if (w == 0) {
		int why = wait_budget(s, &ms);  /* which deadline passed */
		return why < 0 ? why : imap_fail(s, IMAP_ABORT, "socket error: timed out");
	}
	return session_read_some(s) < 0 ? IMAP_ABORT : 0;
}

int imap_wait(struct imap *s, struct imap_cmd *c)
{
	while (!c->done) {
		int r = step(s, true);
		if (r < 0 && r != IMAP_ERROR)
			return r;
	}
	return IMAP_OK;
}

int imap_wait_all(struct imap *s)
{
	while (s->cmds) {
		int r = step(s, true);
		if (r < 0 && r != IMAP_ERROR)
			return r;
	}
	return IMAP_OK;
}

int imap_read_response(struct imap *s)
{
	for (;;) {
		int r = step(s, true);
		if (r != 0)
			return r < 0 ? r : IMAP_OK;
	}
}

int imap_pump_nowait(struct imap *s)
{
	for (;;) {
		int r = step(s, false);
		if (r < 0)
			return r;
		if (r == 0 && s->in_off >= s->in.len)
			return IMAP_OK;
	}
}
