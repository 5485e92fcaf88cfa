/* run.c: submit, wait, retry once where safe, map the answer to an errno. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"
#include "remote/run.h"

static const struct {
	const char *code;
	int err;
} code_errnos[] = {
	{ "NONEXISTENT", -ENOENT },
	{ "TRYCREATE", -ENOENT },
	{ "ALREADYEXISTS", -EEXIST },
	{ "NOPERM", -EACCES },
	{ "AUTHORIZATIONFAILED", -EACCES },
	{ "OVERQUOTA", -EDQUOT },
	{ "READ-ONLY", -EROFS },
	{ "INUSE", -EBUSY },
};

int run_errno(const char *verb, const char *status, const char *code)
{
	if (!status || strcmp(status, "NO"))
		return -EIO;
	/* a NO without a code only says "not done": for mkdir a refusal */
	if (!code)
		return verb && !strcmp(verb, "CREATE") ? -EACCES : -EIO;
	for (size_t i = 0; i < sizeof code_errnos / sizeof *code_errnos; i++)
		if (!strcmp(code, code_errnos[i].code))
			return code_errnos[i].err;
	return -EIO;
}

/* Commands that change nothing a second run would change again. */
static const char *const repeatable_verbs[] = {
	"LIST", "STATUS", "SELECT", "EXAMINE", "UNSELECT", "FETCH", "UID FETCH",
	"SEARCH", "UID SEARCH", "GETQUOTAROOT", "NOOP", "CAPABILITY",
};

bool run_repeatable(const char *verb, bool idempotent)
{
	if (idempotent)
		return true;
	for (size_t i = 0; verb && i < sizeof repeatable_verbs / sizeof *repeatable_verbs; i++)
		if (!strcasecmp(verb, repeatable_verbs[i]))
			return true;
	return false;
}

struct imap_cmd *run_mailbox_cmd(const char *verb, const char *mailbox)
{
	struct imap_cmd *cmd = imap_cmd_new(verb);
	if (imap_cmd_add_astring(cmd, mailbox, strlen(mailbox)) < 0) {
		fs_log(LOG_WARNING, "%s: mailbox name not usable in a command: %s", verb, mailbox);
		imap_cmd_free(cmd);
		return NULL;
	}
	return cmd;
}

int run_submit(struct pool_conn *c, struct imap_cmd *cmd)
{
	int rc = imap_submit(c->s, cmd);
	return rc < 0 ? pool_errno(c, rc) : 0;
}

int run_wait(struct pool_conn *c, struct imap_cmd *cmd)
{
	int rc = imap_wait(c->s, cmd);
	return rc < 0 ? pool_errno(c, rc) : 0;
}

int run_answer(const struct imap_cmd *cmd, const struct run_opts *o)
{
	if (imap_cmd_ok(cmd) || o->any_answer)
		return 0;
	if (!o->quiet)
		fs_log(LOG_WARNING, "%s %s: %s %s", o->verb ? o->verb : imap_cmd_tag(cmd),
		       o->mailbox ? o->mailbox : "", imap_cmd_status(cmd), imap_cmd_text(cmd));
	if (o->refused)
		return o->refused;
	return run_errno(o->verb, imap_cmd_status(cmd), imap_cmd_code(cmd));
}

int run_all(struct pool_conn *c, struct imap_cmd *const *cmds, size_t n, const struct run_opts *o)
{
	bool repeatable = run_repeatable(o->verb, o->idempotent);
	if (!repeatable)
		c->unrepeatable = true;
	c->on_untagged = o->on_untagged;
	c->untagged_ctx = o->ctx;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = imap_submit(c->s, cmds[i]);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = imap_wait(c->s, cmds[i]);
	c->on_untagged = NULL;
	c->untagged_ctx = NULL;
	if (rc == 0)
		return 0;
	rc = pool_errno(c, rc);
	/* pool_errno said why; a change lost on the way may or may not have
	 * been made, so which one is worth a warning (a read is retried) */
	if (!o->quiet && o->verb)
		fs_log(repeatable ? LOG_DEBUG : LOG_WARNING, "%s %s: connection lost", o->verb,
		       o->mailbox ? o->mailbox : "");
	return rc;
}

int run_on(struct pool_conn *c, struct imap_cmd *cmd, const struct run_opts *o)
{
	int rc = run_all(c, &cmd, 1, o);
	return rc < 0 ? rc : run_answer(cmd, o);
}

int run_free(struct pool_conn *c, struct imap_cmd *cmd, const struct run_opts *o)
{
	int rc = run_on(c, cmd, o);
	imap_cmd_free(cmd);
	return rc;
}

int run_noop(struct pool_conn *c, const struct run_opts *o)
{
	return run_free(c, imap_cmd_new("NOOP"), o);
}

int run_command(struct pool *p, const char *mailbox, struct imap_cmd *cmd, const struct run_opts *o)
{
	struct pool_conn *c;
	int rc = pool_get(p, mailbox, &c);
	if (rc < 0)
		return rc;
	rc = run_on(c, cmd, o);
	pool_put(p, c);
	return rc;
}

static int run_attempts(struct pool *p, const char *mailbox, int attempts, run_attempt_fn fn,
			void *ctx)
{
	for (int attempt = 0;; attempt++) {
		struct pool_conn *c;
		int rc = pool_get(p, mailbox, &c);
		if (rc < 0)
			return rc;
		c->unrepeatable = false;
		rc = fn(c, ctx, attempt > 0);
		bool lost = rc < 0 && (c->broken || !c->s);
		bool repeatable = !c->unrepeatable;
		pool_put(p, c);
		if (!lost || !repeatable || attempt + 1 >= attempts)
			return rc;
		fs_log(LOG_INFO, "%s%sconnection lost, trying once more", mailbox ? mailbox : "",
		       mailbox ? ": " : "");
	}
}

int run_once(struct pool *p, const char *mailbox, run_attempt_fn fn, void *ctx)
{
	return run_attempts(p, mailbox, 1, fn, ctx);
}

int run_retry(struct pool *p, const char *mailbox, run_attempt_fn fn, void *ctx)
{
	return run_attempts(p, mailbox, 2, fn, ctx);
}
