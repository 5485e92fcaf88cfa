/* write.c: IMAP commands that change the account, each confirmed by the
 * server before it counts as done. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "date.h"
#include "remote/fetch.h"
#include "remote/mutate.h"

int write_status_errno(const char *status, const char *code)
{
	if (!status || strcmp(status, "NO") || !code)
		return -EIO;
	if (!strcmp(code, "NONEXISTENT") || !strcmp(code, "TRYCREATE"))
		return -ENOENT;
	if (!strcmp(code, "ALREADYEXISTS"))
		return -EEXIST;
	if (!strcmp(code, "NOPERM") || !strcmp(code, "AUTHORIZATIONFAILED"))
		return -EACCES;
	if (!strcmp(code, "OVERQUOTA"))
		return -EDQUOT;
	if (!strcmp(code, "READ-ONLY"))
		return -EROFS;
	if (!strcmp(code, "INUSE"))
		return -EBUSY;
	return -EIO;
}

/* What the untagged responses of one command said about one UID. */
struct collect {
	uint32_t uid;
	bool uid_seen;            /* a FETCH or SEARCH named it */
	const char *list_name;    /* the mailbox a LIST asked about */
	bool listed;              /* a LIST response named it */
	unsigned expunged;        /* EXPUNGE / VANISHED responses */
	bool copyuid;             /* an untagged OK [COPYUID ...] */
	uint32_t copy_uidvalidity, copy_uid;
	bool has_flags;
	struct buf flags;         /* FLAGS of uid, space separated */
	uint64_t modseq;
};

/* "V SRC DST" of COPYUID, or "V UID" of APPENDUID (src_uid 0).  The new
 * UID is kept only when the sets are the single UIDs asked for. */
static bool parse_uid_code(const char *raw, uint32_t src_uid, uint32_t *v, uint32_t *dst)
{
	*v = *dst = 0;
	if (!raw)
		return false;
	unsigned long long n[3];
	int want = src_uid ? 3 : 2;
	const char *p = raw;
	for (int i = 0; i < want; i++) {
		char *end;
		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		errno = 0;
		n[i] = strtoull(p, &end, 10);
		if (errno || n[i] > UINT32_MAX || (*end && *end != ' '))
			return i > 0;  /* a set, not one number: the UIDVALIDITY still counts */
		if (i == 0)
			*v = (uint32_t)n[0];
		p = end;
	}
	if (src_uid && n[1] != src_uid)
		return true;
	*dst = (uint32_t)n[want - 1];
	return true;
}

static void collect_fetch(struct collect *col, const struct imap_resp *r)
{
	if (r->nargs < 1 || r->args[0].type != IMAP_ARG_LIST)
		return;
	const struct imap_arg *a = r->args[0].list;
	size_t n = r->args[0].count;
	uint32_t uid = 0;
	const struct imap_arg *flags = NULL;
	uint64_t modseq = 0, num;
	for (size_t i = 0; i + 1 < n; i += 2) {
		const struct imap_arg *k = &a[i], *v = &a[i + 1];
		if (imap_arg_is_atom(k, "UID") && imap_arg_number(v, &num) && num <= UINT32_MAX)
			uid = (uint32_t)num;
		else if (imap_arg_is_atom(k, "FLAGS") && v->type == IMAP_ARG_LIST)
			flags = v;
		else if (imap_arg_is_atom(k, "MODSEQ") && v->type == IMAP_ARG_LIST && v->count == 1 &&
			 imap_arg_number(&v->list[0], &num))
			modseq = num;
	}
	if (!uid || uid != col->uid)
		return;
	col->uid_seen = true;
	if (modseq)
		col->modseq = modseq;
	if (!flags)
		return;
	col->has_flags = true;
	buf_reset(&col->flags);
	for (size_t i = 0; i < flags->count; i++) {
		const struct imap_arg *f = &flags->list[i];
		/* \Recent belongs to the session: it can be neither stored nor kept */
		if (f->type != IMAP_ARG_ATOM || !f->len || imap_arg_is_atom(f, "\\RECENT"))
			continue;
		if (col->flags.len)
			buf_addch(&col->flags, ' ');
		buf_add(&col->flags, f->str, f->len);
	}
}

/* Whether a LIST response names mailbox: the pattern a LIST is given can
 * hold wildcards ('%', '*') that no quoting escapes, so a reply for
 * another mailbox does not count. */
static bool list_names(const struct imap_resp *r, const char *mailbox)
{
	const char *name;
	size_t len;
	if (!mailbox || r->nargs < 3 || !imap_arg_astring(&r->args[2], &name, &len))
		return false;
	if (len == 5 && !strncasecmp(name, "INBOX", 5))
		return !strcasecmp(mailbox, "INBOX");
	return len == strlen(mailbox) && !memcmp(name, mailbox, len);
}

static void on_untagged(void *ctx, struct pool_conn *c, const struct imap_response *raw,
			const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	struct collect *col = ctx;
	if (!r)
		return;
	if (!strcmp(r->name, "EXPUNGE") || !strcmp(r->name, "VANISHED")) {
		col->expunged++;
	} else if (!strcmp(r->name, "FETCH")) {
		collect_fetch(col, r);
	} else if (!strcmp(r->name, "LIST")) {
		col->listed |= list_names(r, col->list_name);
	} else if (!strcmp(r->name, "SEARCH")) {
		for (size_t i = 0; i < r->nargs; i++) {
			uint64_t v;
			if (imap_arg_number(&r->args[i], &v) && v == col->uid)
				col->uid_seen = true;
		}
	} else if (!strcmp(r->name, "OK") && r->code && !strcmp(r->code, "COPYUID")) {
		col->copyuid = parse_uid_code(r->code_raw, col->uid, &col->copy_uidvalidity,
					      &col->copy_uid);
	}
}

/* A NO without a response code only says "not done".  Cyrus and Courier
 * answer so a CREATE outside the namespaces the user may create in: for
 * mkdir that is a refusal, not an I/O error (mailbox_command tells an
 * existing name apart). */
static int refusal_errno(const char *verb, const char *status, const char *code)
{
	if (!strcmp(verb, "CREATE") && status && !strcmp(status, "NO") && !code)
		return -EACCES;
	return write_status_errno(status, code);
}

/* Runs cmd to completion (and frees it), untagged responses to col.  A
 * tagged NO or BAD is logged once and mapped to errno; a lost connection is
 * -EIO with c->broken set.  code_out (may be NULL) gets the tagged response
 * code and its arguments when OK. */
static int run(struct pool_conn *c, struct imap_cmd *cmd, const char *verb, const char *mailbox,
	       struct collect *col, struct buf *code_out)
{
	c->on_untagged = col ? on_untagged : NULL;
	c->untagged_ctx = col;
	int rc = imap_submit(c->s, cmd);
	if (rc == 0)
		rc = imap_wait(c->s, cmd);
	c->on_untagged = NULL;
	c->untagged_ctx = NULL;
	if (rc < 0) {
		rc = pool_errno(c, rc);
		fs_log(LOG_WARNING, "%s %s: connection lost", verb, mailbox);
	} else if (!imap_cmd_ok(cmd)) {
		fs_log(LOG_WARNING, "%s %s: %s %s", verb, mailbox, imap_cmd_status(cmd), imap_cmd_text(cmd));
		rc = refusal_errno(verb, imap_cmd_status(cmd), imap_cmd_code(cmd));
	} else if (code_out && imap_cmd_code(cmd)) {
		buf_addf(code_out, "%s %s", imap_cmd_code(cmd),
			 imap_cmd_code_arg(cmd) ? imap_cmd_code_arg(cmd) : "");
	}
	imap_cmd_free(cmd);
	return rc;
}

/* The arguments of code in a tagged "CODE args" from run(), or NULL. */
static const char *code_args(const struct buf *code, const char *name)
{
	size_t n = strlen(name);
	if (code->len <= n || strncmp(code->data, name, n) || code->data[n] != ' ')
		return NULL;
	return code->data + n + 1;
}

enum presence { PRESENCE_UNKNOWN, PRESENCE_LISTED, PRESENCE_MISSING };

/* Whether LIST shows the mailbox: some servers refuse a SELECT of a
 * missing one, or a CREATE of an existing one, without a response code.
 * UNKNOWN when the LIST itself failed. */
static enum presence mailbox_presence(struct pool_conn *c, const char *mailbox)
{
	struct imap_cmd *cmd = imap_cmd_new("LIST \"\"");
	if (imap_cmd_add_astring(cmd, mailbox, strlen(mailbox)) < 0) {
		imap_cmd_free(cmd);
		return PRESENCE_UNKNOWN;
	}
	struct collect col = { .flags = BUF_INIT, .list_name = mailbox };
	int rc = run(c, cmd, "LIST", mailbox, &col, NULL);
	buf_free(&col.flags);
	if (rc < 0)
		return PRESENCE_UNKNOWN;
	return col.listed ? PRESENCE_LISTED : PRESENCE_MISSING;
}

static bool mailbox_missing(struct pool_conn *c, const char *mailbox)
{
	return mailbox_presence(c, mailbox) == PRESENCE_MISSING;
}

/* Selects mailbox on c (read-write when rw) and checks its UIDVALIDITY
 * (0 = any).  A SELECT answered OK [READ-ONLY] is -EROFS. */
static int select_checked(struct pool *p, struct pool_conn *c, const char *mailbox, bool rw,
			  uint32_t uidvalidity)
{
	struct imap_cmd *cmd;
	int rc = pool_select_begin(p, c, mailbox, rw, &cmd);
	if (rc < 0)
		return rc;
	bool readonly = false;
	int mapped = 0;
	if (cmd) {
		int w = imap_wait(c->s, cmd);
		if (w == 0 && imap_cmd_ok(cmd))
			readonly = imap_cmd_code(cmd) && !strcmp(imap_cmd_code(cmd), "READ-ONLY");
		else if (w == 0)
			mapped = write_status_errno(imap_cmd_status(cmd), imap_cmd_code(cmd));
		rc = pool_select_end(c, cmd, mailbox, rw);
		if (rc < 0 && mapped == -EIO)
			return mailbox_missing(c, mailbox) ? -ENOENT : -EIO;
		if (rc < 0)
			return mapped ? mapped : rc;
	}
	if (rw && readonly) {
		c->selected_rw = false;  /* so the next writer selects again */
		fs_log(LOG_WARNING, "SELECT %s: the server opened it read-only", mailbox);
		return -EROFS;
	}
	if (uidvalidity && c->uidvalidity != uidvalidity) {
		fs_log(LOG_INFO, "%s: UIDVALIDITY is %" PRIu32 ", not %" PRIu32 ": stale", mailbox,
		       c->uidvalidity, uidvalidity);
		return -ESTALE;
	}
	return 0;
}

/* One attempt of an operation on a connection the caller got. */
typedef int (*attempt_fn)(struct pool *p, struct pool_conn *c, void *ctx, bool retry);

/* Runs fn on a connection (preferring one with mailbox selected); when the
 * connection was lost and retrying is safe, once more on a fresh one. */
static int with_retry(struct pool *p, const char *mailbox, bool idempotent, attempt_fn fn,
		      void *ctx)
{
	for (int attempt = 0;; attempt++) {
		struct pool_conn *c;
		int rc = pool_get(p, mailbox, &c);
		if (rc < 0)
			return rc;
		rc = fn(p, c, ctx, attempt > 0);
		bool lost = rc < 0 && c->broken;
		pool_put(p, c);
		if (!lost || !idempotent || attempt > 0)
			return rc;
		fs_log(LOG_INFO, "%s: connection lost, trying once more", mailbox ? mailbox : "");
	}
}

/* UID SEARCH UID uid: whether the selected mailbox still holds it. */
static int uid_present(struct pool_conn *c, const char *mailbox, uint32_t uid, bool *present)
{
	struct collect col = { .uid = uid, .flags = BUF_INIT };
	struct imap_cmd *cmd = imap_cmd_new("UID SEARCH");
	imap_cmd_addf(cmd, " UID %" PRIu32, uid);
	int rc = run(c, cmd, "UID SEARCH", mailbox, &col, NULL);
	*present = col.uid_seen;
	buf_free(&col.flags);
	return rc;
}

static bool flags_usable(const char *flags)
{
	/* flags go out as atoms inside one parenthesized list */
	return !flags || !flags[strcspn(flags, "\r\n()\"{}[]%*")];
}

/* ---- expunge ---- */

struct expunge_args {
	const char *mailbox;
	uint32_t uidvalidity, uid;
	bool plain;
	bool flags_known;        /* from the first attempt */
	bool was_deleted;        /* \Deleted before we set it (another client's) */
	bool was_there;          /* this attempt's FETCH, before our STORE, named it */
};

static bool has_flag(const struct buf *flags, const char *flag)
{
	size_t n = strlen(flag);
	for (const char *p = flags->data ? flags->data : ""; (p = strcasestr(p, flag)); p += n)
		if ((p == flags->data || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return true;
	return false;
}

/* UID FETCH (FLAGS) and UID STORE +FLAGS.SILENT (\Deleted) in one round
 * trip: the flags from before the STORE say whether a failed expunge must
 * take \Deleted away again. */
static int mark_deleted(struct pool_conn *c, struct expunge_args *a)
{
	struct collect col = { .uid = a->uid, .flags = BUF_INIT };
	struct imap_cmd *fetch = imap_cmd_new("UID FETCH");
	imap_cmd_addf(fetch, " %" PRIu32 " (FLAGS)", a->uid);
	struct imap_cmd *store = imap_cmd_new("UID STORE");
	imap_cmd_addf(store, " %" PRIu32 " +FLAGS.SILENT (\\Deleted)", a->uid);
	c->on_untagged = on_untagged;
	c->untagged_ctx = &col;
	int rc = imap_submit(c->s, fetch);
	if (rc == 0)
		rc = imap_submit(c->s, store);
	if (rc == 0)
		rc = imap_wait(c->s, fetch);
	if (rc == 0)
		rc = imap_wait(c->s, store);
	c->on_untagged = NULL;
	c->untagged_ctx = NULL;
	a->was_there = rc == 0 && col.uid_seen;
	if (rc == 0 && !a->flags_known && col.has_flags) {
		a->flags_known = true;
		a->was_deleted = has_flag(&col.flags, "\\Deleted");
	}
	if (rc < 0) {
		rc = pool_errno(c, rc);
		fs_log(LOG_WARNING, "UID STORE %s: connection lost", a->mailbox);
	} else if (!imap_cmd_ok(store)) {
		fs_log(LOG_WARNING, "UID STORE %s: %s %s", a->mailbox, imap_cmd_status(store),
		       imap_cmd_text(store));
		rc = write_status_errno(imap_cmd_status(store), imap_cmd_code(store));
	}
	imap_cmd_free(fetch);
	imap_cmd_free(store);
	buf_free(&col.flags);
	return rc;
}

/* A failed expunge leaves the message as it was: a \Deleted of ours left
 * behind would let any other client's EXPUNGE remove it for good. */
static void unmark_deleted(struct pool_conn *c, const struct expunge_args *a)
{
	if (!a->flags_known || a->was_deleted || c->broken)
		return;
	struct imap_cmd *cmd = imap_cmd_new("UID STORE");
	imap_cmd_addf(cmd, " %" PRIu32 " -FLAGS.SILENT (\\Deleted)", a->uid);
	if (run(c, cmd, "UID STORE", a->mailbox, NULL, NULL) < 0)
		fs_log(LOG_ERR, "%s: UID %" PRIu32 " stays marked \\Deleted after a failed expunge",
		       a->mailbox, a->uid);
}

/* STORE \Deleted, EXPUNGE, then whether the UID is still there. */
static int mark_and_expunge(struct pool_conn *c, struct expunge_args *a, unsigned *expunged,
			    bool *present)
{
	int rc = mark_deleted(c, a);
	if (rc < 0)
		return rc;
	struct collect col = { .uid = a->uid, .flags = BUF_INIT };
	struct imap_cmd *cmd;
	if (a->plain) {
		cmd = imap_cmd_new("EXPUNGE");
	} else {
		cmd = imap_cmd_new("UID EXPUNGE");
		imap_cmd_addf(cmd, " %" PRIu32, a->uid);
	}
	rc = run(c, cmd, a->plain ? "EXPUNGE" : "UID EXPUNGE", a->mailbox, &col, NULL);
	buf_free(&col.flags);
	*expunged = col.expunged;
	if (rc < 0) {
		unmark_deleted(c, a);
		return rc;
	}
	return uid_present(c, a->mailbox, a->uid, present);
}

static int expunge_attempt(struct pool *p, struct pool_conn *c, void *ctx, bool retry)
{
	struct expunge_args *a = ctx;
	int rc = select_checked(p, c, a->mailbox, true, a->uidvalidity);
	if (rc < 0)
		return rc;
	unsigned expunged;
	bool present;
	rc = mark_and_expunge(c, a, &expunged, &present);
	/* A message just appended through another connection may not be in
	 * this session's view yet (Dovecot shows new mail at a command's end):
	 * the STORE and the EXPUNGE missed it, the SEARCH after them saw it. */
	if (rc == 0 && present && !a->was_there)
		rc = mark_and_expunge(c, a, &expunged, &present);
	if (rc < 0)
		return rc;
	if (present) {
		fs_log(LOG_WARNING, "%s: UID %" PRIu32 " is still there after the expunge", a->mailbox,
		       a->uid);
		unmark_deleted(c, a);
		return -EIO;
	}
	/* There before and gone now is removed, whatever the server called it
	 * (GNU mailutils says "* 2 EXPUNGED").  Neither there nor named by an
	 * expunge: it was not there, unless a lost attempt took it. */
	return expunged || a->was_there || retry ? 0 : -ENOENT;
}

int write_expunge(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		  bool allow_plain_expunge)
{
	bool uidplus = pool_has_cap(p, "UIDPLUS");
	if (!uidplus && !allow_plain_expunge) {
		fs_log(LOG_WARNING,
		       "%s: not deleting UID %" PRIu32 ": the server lacks UIDPLUS, and a plain "
		       "EXPUNGE would also remove every message other clients marked \\Deleted",
		       mailbox, uid);
		return -EOPNOTSUPP;
	}
	struct expunge_args a = { mailbox, uidvalidity, uid, !uidplus, false, false, false };
	return with_retry(p, mailbox, true, expunge_attempt, &a);
}

/* ---- move ---- */

/* A connection with mailbox selected (SELECT retried once if the
 * connection is lost); the caller puts it back. */
static int get_selected(struct pool *p, const char *mailbox, bool rw, uint32_t uidvalidity,
			struct pool_conn **out)
{
	for (int attempt = 0;; attempt++) {
		struct pool_conn *c;
		int rc = pool_get(p, mailbox, &c);
		if (rc < 0)
			return rc;
		rc = select_checked(p, c, mailbox, rw, uidvalidity);
		if (rc == 0) {
			*out = c;
			return 0;
		}
		bool lost = c->broken;
		pool_put(p, c);
		if (!lost || attempt > 0)
			return rc;
	}
}

int write_move(struct pool *p, const char *from, uint32_t uidvalidity, uint32_t uid, const char *to,
	       bool allow_plain_expunge, uint32_t *new_uidvalidity, uint32_t *new_uid)
{
	uint32_t dummy_v, dummy_uid;
	if (!new_uidvalidity)
		new_uidvalidity = &dummy_v;
	if (!new_uid)
		new_uid = &dummy_uid;
	*new_uidvalidity = *new_uid = 0;
	bool has_move = pool_has_cap(p, "MOVE");
	bool uidplus = pool_has_cap(p, "UIDPLUS");
	if (!has_move && !uidplus && !allow_plain_expunge) {
		/* refuse before COPY: the original could not be removed after it */
		return write_expunge(p, from, uidvalidity, uid, false);
	}
	struct pool_conn *c = NULL;
	int rc = get_selected(p, from, true, uidvalidity, &c);
	if (rc < 0)
		return rc;
	const char *verb = has_move ? "UID MOVE" : "UID COPY";
	struct imap_cmd *cmd = imap_cmd_new(verb);
	imap_cmd_addf(cmd, " %" PRIu32, uid);
	if (imap_cmd_add_astring(cmd, to, strlen(to)) < 0) {
		fs_log(LOG_WARNING, "%s: mailbox name not usable in a command", to);
		imap_cmd_free(cmd);
		pool_put(p, c);
		return -EINVAL;
	}
	struct collect col = { .uid = uid, .flags = BUF_INIT };
	struct buf code = BUF_INIT;
	rc = run(c, cmd, verb, from, &col, &code);
	pool_put(p, c);
	buf_free(&col.flags);
	if (rc < 0) {
		buf_free(&code);
		return rc;
	}
	bool copied = col.copyuid;
	if (col.copyuid) {
		*new_uidvalidity = col.copy_uidvalidity;
		*new_uid = col.copy_uid;
	}
	const char *args = code_args(&code, "COPYUID");
	if (args)
		copied = parse_uid_code(args, uid, new_uidvalidity, new_uid);
	buf_free(&code);
	if (has_move) {
		if (!copied && !col.expunged) {
			fs_log(LOG_INFO, "%s: UID %" PRIu32 " was not there to move", from, uid);
			return -ENOENT;
		}
		return 0;
	}
	if (uidplus && !copied) {
		/* with UIDPLUS a COPY that copied says COPYUID */
		fs_log(LOG_INFO, "%s: UID %" PRIu32 " was not there to copy", from, uid);
		return -ENOENT;
	}
	rc = write_expunge(p, from, uidvalidity, uid, allow_plain_expunge);
	if (rc == -ENOENT)
		return 0;  /* someone else removed the original: the copy is all there is */
	if (rc < 0)
		fs_log(LOG_WARNING, "%s: UID %" PRIu32 " was copied to %s but not removed: it is in both",
		       from, uid, to);
	return rc;
}

/* ---- append ---- */

int write_append(struct pool *p, const char *mailbox, int fd, uint64_t len, time_t internaldate,
		 const char *flags, uint32_t *new_uidvalidity, uint32_t *new_uid)
{
	if (new_uidvalidity)
		*new_uidvalidity = 0;
	if (new_uid)
		*new_uid = 0;
	if (!flags_usable(flags)) {
		fs_log(LOG_WARNING, "APPEND %s: flags not usable: %s", mailbox, flags);
		return -EINVAL;
	}
	struct imap_cmd *cmd = pool_mailbox_cmd("APPEND", mailbox);
	if (!cmd)
		return -EINVAL;
	if (flags && *flags)
		imap_cmd_addf(cmd, " (%s)", flags);
	if (internaldate) {
		struct buf d = BUF_INIT;
		if (imap_time2internaldate(internaldate, &d) < 0) {
			fs_log(LOG_WARNING, "APPEND %s: date not usable", mailbox);
			buf_free(&d);
			imap_cmd_free(cmd);
			return -EINVAL;
		}
		imap_cmd_addf(cmd, " %s", d.data);
		buf_free(&d);
	}
	imap_cmd_add_literal_fd(cmd, fd, len);
	struct pool_conn *c;
	int rc = pool_get(p, NULL, &c);
	if (rc < 0) {
		imap_cmd_free(cmd);
		return rc;
	}
	struct buf code = BUF_INIT;
	/* never repeated: a lost APPEND may have been stored */
	rc = run(c, cmd, "APPEND", mailbox, NULL, &code);
	pool_put(p, c);
	const char *args = rc == 0 ? code_args(&code, "APPENDUID") : NULL;
	uint32_t v, uid;
	if (args && parse_uid_code(args, 0, &v, &uid)) {
		if (new_uidvalidity)
			*new_uidvalidity = v;
		if (new_uid)
			*new_uid = uid;
	}
	buf_free(&code);
	return rc;
}

/* ---- mailboxes ---- */

static void on_status(void *ctx, struct pool_conn *c, const struct imap_response *raw,
		      const struct imap_resp *r)
{
	(void)c;
	(void)raw;
	status_decode(r, ctx);
}

/* DELETE takes the messages with it: the server itself must say, just
 * before, that there are none (a cached listing may be stale). */
static int still_empty(struct pool_conn *c, const char *mailbox)
{
	struct imap_cmd *cmd = pool_mailbox_cmd("STATUS", mailbox);
	if (!cmd)
		return -EINVAL;
	imap_cmd_add(cmd, " (MESSAGES)");
	struct status_item st = { 0 };
	c->on_untagged = on_status;
	c->untagged_ctx = &st;
	int rc = imap_submit(c->s, cmd);
	if (rc == 0)
		rc = imap_wait(c->s, cmd);
	c->on_untagged = NULL;
	c->untagged_ctx = NULL;
	if (rc < 0)
		rc = pool_errno(c, rc);
	else if (!imap_cmd_ok(cmd))
		rc = write_status_errno(imap_cmd_status(cmd), imap_cmd_code(cmd));
	else if (!st.seen)
		rc = -EIO;
	else if (st.messages)
		rc = -ENOTEMPTY;
	imap_cmd_free(cmd);
	if (rc == -EIO && !c->broken && mailbox_missing(c, mailbox))
		rc = -ENOENT;
	return rc;
}

/* CREATE, DELETE or RENAME on one connection, with nothing selected there
 * for DELETE and RENAME (the mailbox must not stay open under us). */
static int mailbox_command(struct pool *p, const char *verb, const char *mailbox, const char *to)
{
	struct imap_cmd *cmd = pool_mailbox_cmd(verb, mailbox);
	if (!cmd)
		return -EINVAL;
	if (to && imap_cmd_add_astring(cmd, to, strlen(to)) < 0) {
		fs_log(LOG_WARNING, "%s: mailbox name not usable in a command: %s", verb, to);
		imap_cmd_free(cmd);
		return -EINVAL;
	}
	struct pool_conn *c;
	int rc = pool_get(p, mailbox, &c);
	if (rc < 0) {
		imap_cmd_free(cmd);
		return rc;
	}
	if (strcmp(verb, "CREATE") && c->selected)
		rc = pool_unselect(c);
	if (rc == 0 && !strcmp(verb, "DELETE"))
		rc = still_empty(c, mailbox);
	if (rc == 0)
		rc = run(c, cmd, verb, mailbox, NULL, NULL);
	else
		imap_cmd_free(cmd);
	/* a bare NO for a name that exists (servers without ALREADYEXISTS) */
	if (rc == -EACCES && !strcmp(verb, "CREATE") && !c->broken &&
	    mailbox_presence(c, mailbox) == PRESENCE_LISTED)
		rc = -EEXIST;
	pool_put(p, c);
	return rc;
}

int write_create(struct pool *p, const char *mailbox)
{
	return mailbox_command(p, "CREATE", mailbox, NULL);
}

int write_delete(struct pool *p, const char *mailbox)
{
	return mailbox_command(p, "DELETE", mailbox, NULL);
}

int write_rename(struct pool *p, const char *from, const char *to)
{
	return mailbox_command(p, "RENAME", from, to);
}

/* ---- flags ---- */

struct flags_args {
	const char *mailbox;
	uint32_t uidvalidity, uid;
	const char *flags;
	uint64_t unchangedsince;
	struct buf *flags_out;
	uint64_t *modseq_out;
};

static int store_attempt(struct pool *p, struct pool_conn *c, void *ctx, bool retry)
{
	(void)retry;
	struct flags_args *a = ctx;
	int rc = select_checked(p, c, a->mailbox, true, a->uidvalidity);
	if (rc < 0)
		return rc;
	struct imap_cmd *cmd = imap_cmd_new("UID STORE");
	imap_cmd_addf(cmd, " %" PRIu32, a->uid);
	if (a->unchangedsince && pool_has_cap(p, "CONDSTORE"))
		imap_cmd_addf(cmd, " (UNCHANGEDSINCE %" PRIu64 ")", a->unchangedsince);
	imap_cmd_addf(cmd, " FLAGS (%s)", a->flags ? a->flags : "");
	struct collect col = { .uid = a->uid, .flags = BUF_INIT };
	struct buf code = BUF_INIT;
	rc = run(c, cmd, "UID STORE", a->mailbox, &col, &code);
	bool modified = rc == 0 && code_args(&code, "MODIFIED");
	buf_free(&col.flags);
	buf_free(&code);
	if (rc < 0)
		return rc;
	if (modified) {
		fs_log(LOG_INFO, "%s: UID %" PRIu32 " changed since MODSEQ %" PRIu64 ": flags not stored",
		       a->mailbox, a->uid, a->unchangedsince);
		return -EAGAIN;
	}
	if (col.uid_seen)
		return 0;
	/* servers should answer with a FETCH; without one, ask */
	bool present;
	rc = uid_present(c, a->mailbox, a->uid, &present);
	return rc < 0 ? rc : present ? 0 : -ENOENT;
}

int write_store_flags(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		      const char *flags, uint64_t unchangedsince)
{
	if (!flags_usable(flags)) {
		fs_log(LOG_WARNING, "STORE %s: flags not usable: %s", mailbox, flags);
		return -EINVAL;
	}
	struct flags_args a = { mailbox, uidvalidity, uid, flags, unchangedsince, NULL, NULL };
	return with_retry(p, mailbox, true, store_attempt, &a);
}

static int fetch_flags_attempt(struct pool *p, struct pool_conn *c, void *ctx, bool retry)
{
	(void)retry;
	struct flags_args *a = ctx;
	int rc = select_checked(p, c, a->mailbox, false, a->uidvalidity);
	if (rc < 0)
		return rc;
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	bool condstore = pool_has_cap(p, "CONDSTORE");
	imap_cmd_addf(cmd, " %" PRIu32 " (UID FLAGS%s)", a->uid, condstore ? " MODSEQ" : "");
	struct collect col = { .uid = a->uid, .flags = BUF_INIT };
	rc = run(c, cmd, "UID FETCH", a->mailbox, &col, NULL);
	if (rc == 0 && !col.has_flags)
		rc = -ENOENT;
	if (rc == 0) {
		buf_set(a->flags_out, col.flags.data, col.flags.len);
		if (a->modseq_out)
			*a->modseq_out = col.modseq;
	}
	buf_free(&col.flags);
	return rc;
}

int write_fetch_flags(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		      struct buf *flags_out, uint64_t *modseq_out)
{
	if (modseq_out)
		*modseq_out = 0;
	struct flags_args a = { mailbox, uidvalidity, uid, NULL, 0, flags_out, modseq_out };
	return with_retry(p, mailbox, true, fetch_flags_attempt, &a);
}
