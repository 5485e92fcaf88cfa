/* mutate.c: IMAP commands that change the account, each confirmed by the
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
#include "log.h"
#include "remote/fetch.h"
#include "remote/mutate.h"
#include "remote/run.h"
#include "remote/select.h"
#include "seqset.h"

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

/* The next space-separated word of *p (advanced past it); its length. */
static size_t next_word(const char **p, const char **word)
{
	while (**p == ' ')
		(*p)++;
	*word = *p;
	while (**p && **p != ' ')
		(*p)++;
	return (size_t)(*p - *word);
}

/* "V SRC DST" of COPYUID, or "V UID" of APPENDUID (src_uid 0): whether
 * the code is well formed.  The new UID is kept only when the sets are
 * the single UIDs asked for; a set counts for the UIDVALIDITY alone. */
static bool parse_uid_code(const char *raw, uint32_t src_uid, uint32_t *v, uint32_t *dst)
{
	*v = *dst = 0;
	if (!raw)
		return false;
	const char *word;
	size_t len = next_word(&raw, &word);
	struct seqset uidvalidity = SEQSET_INIT, src = SEQSET_INIT, to = SEQSET_INIT;
	uint32_t one_src = 0, one_dst = 0;
	bool ok = seqset_parse(&uidvalidity, word, len, 0) == 0 && seqset_single(&uidvalidity, v);
	if (ok && src_uid) {
		len = next_word(&raw, &word);
		ok = seqset_parse(&src, word, len, 0) == 0;
		seqset_single(&src, &one_src);
	}
	if (ok) {
		len = next_word(&raw, &word);
		ok = seqset_parse(&to, word, len, 0) == 0;
		seqset_single(&to, &one_dst);
	}
	if (ok && (!src_uid || one_src == src_uid))
		*dst = one_dst;
	if (!ok)
		*v = 0;
	seqset_free(&uidvalidity);
	seqset_free(&src);
	seqset_free(&to);
	return ok;
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
	fetch_flags_text(flags, &col->flags);
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

/* How the commands here run: untagged responses to col (may be NULL), a
 * refusal logged and mapped by run.h's table. */
static struct run_opts opts(const char *verb, const char *mailbox, struct collect *col,
			    bool idempotent)
{
	return (struct run_opts){ .verb = verb, .mailbox = mailbox,
				  .on_untagged = col ? on_untagged : NULL, .ctx = col,
				  .idempotent = idempotent };
}

/* The arguments of the tagged OK's response code when it is name. */
static const char *ok_code_args(const struct imap_cmd *cmd, const char *name)
{
	const char *code = imap_cmd_code(cmd);
	if (!imap_cmd_ok(cmd) || !code || strcmp(code, name))
		return NULL;
	return imap_cmd_code_arg(cmd) ? imap_cmd_code_arg(cmd) : "";
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
	struct run_opts o = opts("LIST", mailbox, &col, false);
	int rc = run_free(c, cmd, &o);
	buf_free(&col.flags);
	if (rc < 0)
		return PRESENCE_UNKNOWN;
	return col.listed ? PRESENCE_LISTED : PRESENCE_MISSING;
}

static bool mailbox_missing(struct pool_conn *c, const char *mailbox)
{
	return mailbox_presence(c, mailbox) == PRESENCE_MISSING;
}

/* A message appended (or moved in) through another connection after c
 * selected its mailbox is not in c's view yet: the server shows new mail
 * only at the end of a command (Dovecot), and a UID STORE, FETCH or SEARCH
 * of it meanwhile finds nothing.  A NOOP first, for a UID at or above what
 * c knows as UIDNEXT; from then on c has seen up to it. */
static int see_uid(struct pool_conn *c, const char *mailbox, uint32_t uid)
{
	if (!uid || uid < c->uidnext)
		return 0;
	struct run_opts o = { .verb = "NOOP", .mailbox = mailbox, .idempotent = true, .refused = -EIO };
	int rc = run_noop(c, &o);
	if (rc == 0)
		c->uidnext = uid + 1;
	return rc;
}

/* Selects mailbox on c (read-write when rw), checks its UIDVALIDITY
 * (0 = any) and makes sure c's view has uid (0 = none in particular).  A
 * SELECT answered OK [READ-ONLY] is -EROFS. */
static int select_checked(struct pool_conn *c, const char *mailbox, bool rw, uint32_t uidvalidity,
			  uint32_t uid)
{
	int rc = select_mailbox(c, mailbox, rw);
	/* some servers refuse a SELECT of a missing mailbox without a code */
	if (rc == -EIO && !c->broken)
		return mailbox_missing(c, mailbox) ? -ENOENT : -EIO;
	if (rc < 0)
		return rc;
	if (rw && !c->selected_rw) {
		fs_log(LOG_WARNING, "SELECT %s: the server opened it read-only", mailbox);
		return -EROFS;
	}
	if (uidvalidity && c->uidvalidity != uidvalidity) {
		fs_log(LOG_INFO, "%s: UIDVALIDITY is %" PRIu32 ", not %" PRIu32 ": stale", mailbox,
		       c->uidvalidity, uidvalidity);
		return -ESTALE;
	}
	return see_uid(c, mailbox, uid);
}

/* UID SEARCH UID uid: whether the selected mailbox still holds it. */
static int uid_present(struct pool_conn *c, const char *mailbox, uint32_t uid, bool *present)
{
	struct collect col = { .uid = uid, .flags = BUF_INIT };
	struct imap_cmd *cmd = imap_cmd_new("UID SEARCH");
	imap_cmd_addf(cmd, " UID %" PRIu32, uid);
	struct run_opts o = opts("UID SEARCH", mailbox, &col, false);
	int rc = run_free(c, cmd, &o);
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
	/* only the STORE's answer counts: a FETCH refused leaves was_there false */
	struct run_opts o = opts("UID STORE", a->mailbox, &col, true);
	int rc = run_all(c, (struct imap_cmd *[]){ fetch, store }, 2, &o);
	a->was_there = rc == 0 && col.uid_seen;
	if (rc == 0 && !a->flags_known && col.has_flags) {
		a->flags_known = true;
		a->was_deleted = has_flag(&col.flags, "\\Deleted");
	}
	if (rc == 0)
		rc = run_answer(store, &o);
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
	struct run_opts o = opts("UID STORE", a->mailbox, NULL, true);
	if (run_free(c, cmd, &o) < 0)
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
	/* one UID, or (allowed) all marked: again removes nothing more of ours */
	struct run_opts o = opts(a->plain ? "EXPUNGE" : "UID EXPUNGE", a->mailbox, &col, true);
	rc = run_free(c, cmd, &o);
	buf_free(&col.flags);
	*expunged = col.expunged;
	if (rc < 0) {
		unmark_deleted(c, a);
		return rc;
	}
	return uid_present(c, a->mailbox, a->uid, present);
}

static int expunge_attempt(struct pool_conn *c, void *ctx, bool retry)
{
	struct expunge_args *a = ctx;
	int rc = select_checked(c, a->mailbox, true, a->uidvalidity, a->uid);
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

int mutate_expunge(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
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
	return run_retry(p, mailbox, expunge_attempt, &a);
}

/* ---- move ---- */

struct move_args {
	const char *from, *to, *verb;
	uint32_t uidvalidity, uid;
	struct collect col;
	struct imap_cmd *cmd;    /* the MOVE or COPY, once sent: its answer's code */
};

/* SELECT (repeated on a fresh connection if it was lost), then the MOVE or
 * COPY, which is never repeated. */
static int move_attempt(struct pool_conn *c, void *ctx, bool again)
{
	(void)again;
	struct move_args *a = ctx;
	int rc = select_checked(c, a->from, true, a->uidvalidity, a->uid);
	if (rc < 0)
		return rc;
	struct imap_cmd *cmd = imap_cmd_new(a->verb);
	imap_cmd_addf(cmd, " %" PRIu32, a->uid);
	if (imap_cmd_add_astring(cmd, a->to, strlen(a->to)) < 0) {
		fs_log(LOG_WARNING, "%s: mailbox name not usable in a command", a->to);
		imap_cmd_free(cmd);
		return -EINVAL;
	}
	a->cmd = cmd;
	struct run_opts o = opts(a->verb, a->from, &a->col, false);
	return run_on(c, cmd, &o);
}

int mutate_move(struct pool *p, const char *from, uint32_t uidvalidity, uint32_t uid,
		const char *to, bool allow_plain_expunge, uint32_t *new_uidvalidity,
		uint32_t *new_uid)
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
		return mutate_expunge(p, from, uidvalidity, uid, false);
	}
	struct move_args a = { .from = from, .to = to, .verb = has_move ? "UID MOVE" : "UID COPY",
			       .uidvalidity = uidvalidity, .uid = uid,
			       .col = { .uid = uid, .flags = BUF_INIT } };
	int rc = run_retry(p, from, move_attempt, &a);
	buf_free(&a.col.flags);
	bool copied = a.col.copyuid;
	if (rc == 0 && a.col.copyuid) {
		*new_uidvalidity = a.col.copy_uidvalidity;
		*new_uid = a.col.copy_uid;
	}
	const char *args = rc == 0 ? ok_code_args(a.cmd, "COPYUID") : NULL;
	if (args)
		copied = parse_uid_code(args, uid, new_uidvalidity, new_uid);
	imap_cmd_free(a.cmd);
	if (rc < 0)
		return rc;
	if (has_move) {
		if (!copied && !a.col.expunged) {
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
	rc = mutate_expunge(p, from, uidvalidity, uid, allow_plain_expunge);
	if (rc == -ENOENT)
		return 0;  /* someone else removed the original: the copy is all there is */
	if (rc < 0)
		fs_log(LOG_WARNING, "%s: UID %" PRIu32 " was copied to %s but not removed: it is in both",
		       from, uid, to);
	return rc;
}

/* ---- append ---- */

/* Courier refuses an APPEND to the mailbox its session has open read-only
 * ("NO Current box is selected READ-ONLY."): such a connection leaves it
 * first. */
static int leave_if_examined(struct pool_conn *c, const char *mailbox)
{
	if (!c->selected || c->selected_rw || strcmp(c->selected, mailbox) != 0)
		return 0;
	return select_none(c);
}

/* Whether the header section of the message in fd (its first len bytes)
 * holds a byte above 0x7f.  Read with pread: the fd's offset is the
 * literal's start and stays where it is. */
static bool header_has_8bit(int fd, uint64_t len)
{
	unsigned char chunk[8192];
	uint32_t last4 = 0;  /* the bytes before, to find CRLF CRLF or LF LF across chunks */
	for (uint64_t off = 0; off < len;) {
		size_t want = len - off < sizeof chunk ? (size_t)(len - off) : sizeof chunk;
		ssize_t n = pread(fd, chunk, want, (off_t)off);
		if (n <= 0)
			return false;  /* the APPEND's own read reports the error */
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] & 0x80)
				return true;
			last4 = last4 << 8 | chunk[i];
			if (last4 == 0x0d0a0d0a || (last4 & 0xffff) == 0x0a0a)
				return false;
		}
		off += (uint64_t)n;
	}
	return false;
}

int mutate_append(struct pool *p, const char *mailbox, int fd, uint64_t len, time_t internaldate,
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
	struct imap_cmd *cmd = run_mailbox_cmd("APPEND", mailbox);
	if (!cmd)
		return -EINVAL;
	/* RFC 6855: raw UTF-8 in a header goes as UTF8 (~{N}...) where enabled
	 * (Courier ALERTs otherwise).  The flag list is always there then:
	 * Courier takes an atom right after the name for a flag. */
	bool utf8 = pool_utf8_names(p) && header_has_8bit(fd, len);
	if ((flags && *flags) || utf8)
		imap_cmd_addf(cmd, " (%s)", flags ? flags : "");
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
	if (utf8) {
		imap_cmd_add(cmd, " UTF8 (");
		imap_cmd_add_literal8_fd(cmd, fd, len);
		imap_cmd_add(cmd, ")");
	} else {
		imap_cmd_add_literal_fd(cmd, fd, len);
	}
	/* never repeated: a lost APPEND may have been stored */
	struct run_opts o = opts("APPEND", mailbox, NULL, false);
	struct pool_conn *c;
	int rc = pool_get(p, NULL, &c);
	if (rc == 0) {
		rc = leave_if_examined(c, mailbox);
		if (rc == 0)
			rc = run_on(c, cmd, &o);
		pool_put(p, c);
	}
	const char *args = rc == 0 ? ok_code_args(cmd, "APPENDUID") : NULL;
	uint32_t v, uid;
	if (args && parse_uid_code(args, 0, &v, &uid)) {
		if (new_uidvalidity)
			*new_uidvalidity = v;
		if (new_uid)
			*new_uid = uid;
	}
	imap_cmd_free(cmd);
	return rc;
}

/* ---- mailboxes ---- */

/* DELETE takes the messages with it: the server itself must say, just
 * before, that there are none (a cached listing may be stale). */
static int still_empty(struct pool_conn *c, const char *mailbox)
{
	struct status_item st = { 0 };
	int rc = fetch_status(c, mailbox, "MESSAGES", 0, &st);
	if (rc == 0 && !st.seen)
		rc = -EIO;
	else if (rc == 0 && st.messages)
		rc = -ENOTEMPTY;
	if (rc == -EIO && !c->broken && mailbox_missing(c, mailbox))
		rc = -ENOENT;
	return rc;
}

struct mailbox_args {
	const char *verb, *mailbox;
	struct imap_cmd *cmd;
};

/* Never repeated: a lost CREATE, DELETE or RENAME may have been done. */
static int mailbox_attempt(struct pool_conn *c, void *ctx, bool again)
{
	(void)again;
	struct mailbox_args *a = ctx;
	int rc = 0;
	if (strcmp(a->verb, "CREATE") && c->selected)
		rc = select_none(c);
	if (rc == 0 && !strcmp(a->verb, "DELETE"))
		rc = still_empty(c, a->mailbox);
	if (rc == 0) {
		struct run_opts o = opts(a->verb, a->mailbox, NULL, false);
		rc = run_on(c, a->cmd, &o);
	}
	/* a bare NO for a name that exists (servers without ALREADYEXISTS) */
	if (rc == -EACCES && !strcmp(a->verb, "CREATE") && !c->broken &&
	    mailbox_presence(c, a->mailbox) == PRESENCE_LISTED)
		rc = -EEXIST;
	return rc;
}

/* CREATE, DELETE or RENAME on one connection, with nothing selected there
 * for DELETE and RENAME (the mailbox must not stay open under us). */
static int mailbox_command(struct pool *p, const char *verb, const char *mailbox, const char *to)
{
	struct imap_cmd *cmd = run_mailbox_cmd(verb, mailbox);
	if (!cmd)
		return -EINVAL;
	if (to && imap_cmd_add_astring(cmd, to, strlen(to)) < 0) {
		fs_log(LOG_WARNING, "%s: mailbox name not usable in a command: %s", verb, to);
		imap_cmd_free(cmd);
		return -EINVAL;
	}
	struct mailbox_args a = { verb, mailbox, cmd };
	int rc = run_once(p, mailbox, mailbox_attempt, &a);
	imap_cmd_free(cmd);
	return rc;
}

int mutate_create(struct pool *p, const char *mailbox)
{
	return mailbox_command(p, "CREATE", mailbox, NULL);
}

int mutate_delete(struct pool *p, const char *mailbox)
{
	return mailbox_command(p, "DELETE", mailbox, NULL);
}

int mutate_rename(struct pool *p, const char *from, const char *to)
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

static int store_attempt(struct pool_conn *c, void *ctx, bool again)
{
	(void)again;
	struct flags_args *a = ctx;
	int rc = select_checked(c, a->mailbox, true, a->uidvalidity, a->uid);
	if (rc < 0)
		return rc;
	struct imap_cmd *cmd = imap_cmd_new("UID STORE");
	imap_cmd_addf(cmd, " %" PRIu32, a->uid);
	if (a->unchangedsince && pool_has_cap(c->pool, "CONDSTORE"))
		imap_cmd_addf(cmd, " (UNCHANGEDSINCE %" PRIu64 ")", a->unchangedsince);
	imap_cmd_addf(cmd, " FLAGS (%s)", a->flags ? a->flags : "");
	struct collect col = { .uid = a->uid, .flags = BUF_INIT };
	/* FLAGS (...) sets, it does not add: twice is like once */
	struct run_opts o = opts("UID STORE", a->mailbox, &col, true);
	rc = run_on(c, cmd, &o);
	bool modified = rc == 0 && ok_code_args(cmd, "MODIFIED");
	imap_cmd_free(cmd);
	buf_free(&col.flags);
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

int mutate_store_flags(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		       const char *flags, uint64_t unchangedsince)
{
	if (!flags_usable(flags)) {
		fs_log(LOG_WARNING, "STORE %s: flags not usable: %s", mailbox, flags);
		return -EINVAL;
	}
	struct flags_args a = { mailbox, uidvalidity, uid, flags, unchangedsince, NULL, NULL };
	return run_retry(p, mailbox, store_attempt, &a);
}

static int fetch_flags_attempt(struct pool_conn *c, void *ctx, bool again)
{
	(void)again;
	struct flags_args *a = ctx;
	int rc = select_checked(c, a->mailbox, false, a->uidvalidity, a->uid);
	if (rc < 0)
		return rc;
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	bool condstore = pool_has_cap(c->pool, "CONDSTORE");
	imap_cmd_addf(cmd, " %" PRIu32 " (UID FLAGS%s)", a->uid, condstore ? " MODSEQ" : "");
	struct collect col = { .uid = a->uid, .flags = BUF_INIT };
	struct run_opts o = opts("UID FETCH", a->mailbox, &col, false);
	rc = run_free(c, cmd, &o);
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

int mutate_fetch_flags(struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		       struct buf *flags_out, uint64_t *modseq_out)
{
	if (modseq_out)
		*modseq_out = 0;
	struct flags_args a = { mailbox, uidvalidity, uid, NULL, 0, flags_out, modseq_out };
	return run_retry(p, mailbox, fetch_flags_attempt, &a);
}
