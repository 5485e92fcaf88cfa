/* select.c: SELECT, EXAMINE and UNSELECT on a pool connection. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "remote/run.h"
#include "remote/select.h"
#include "xalloc.h"

/* Queues SELECT/EXAMINE; commands submitted after it run in mailbox. */
static int queue_select(struct pool_conn *c, const char *mailbox, bool rw, struct imap_cmd **out)
{
	free(c->selected);
	c->selected = NULL;
	c->uidvalidity = c->uidnext = c->exists = 0;
	c->highestmodseq = 0;
	struct imap_cmd *cmd = run_mailbox_cmd(rw ? "SELECT" : "EXAMINE", mailbox);
	if (!cmd)
		return -EINVAL;
	int rc = run_submit(c, cmd);
	if (rc < 0) {
		imap_cmd_free(cmd);
		return rc;
	}
	*out = cmd;
	return 0;
}

/* Waits for the SELECT/EXAMINE queued by queue_select and frees it. */
static int finish_select(struct pool_conn *c, struct imap_cmd *cmd, const char *mailbox, bool rw)
{
	const char *verb = rw ? "SELECT" : "EXAMINE";
	struct run_opts o = { .verb = verb, .mailbox = mailbox, .quiet = true };
	int rc = run_wait(c, cmd);
	if (rc == 0 && !imap_cmd_ok(cmd))
		fs_log(LOG_INFO, "%s %s: %s %s", verb, mailbox, imap_cmd_status(cmd),
		       imap_cmd_text(cmd));
	if (rc == 0)
		rc = run_answer(cmd, &o);
	bool readonly = rc == 0 && imap_cmd_code(cmd) && !strcmp(imap_cmd_code(cmd), "READ-ONLY");
	imap_cmd_free(cmd);
	if (rc < 0)
		return rc;
	c->selected = xstrdup(mailbox);
	c->selected_rw = rw && !readonly;
	return 0;
}

static bool selected_as(const struct pool_conn *c, const char *mailbox, bool rw)
{
	return c->selected && !strcmp(c->selected, mailbox) && (c->selected_rw || !rw);
}

int select_mailbox(struct pool_conn *c, const char *mailbox, bool rw)
{
	struct imap_cmd *cmd;
	int rc = select_begin(c, mailbox, rw, &cmd);
	return rc < 0 ? rc : select_end(c, cmd, mailbox, rw);
}

int select_begin(struct pool_conn *c, const char *mailbox, bool rw, struct imap_cmd **cmd)
{
	*cmd = NULL;
	if (selected_as(c, mailbox, rw))
		return 0;
	return queue_select(c, mailbox, rw, cmd);
}

int select_end(struct pool_conn *c, struct imap_cmd *cmd, const char *mailbox, bool rw)
{
	return cmd ? finish_select(c, cmd, mailbox, rw) : 0;
}

int select_none(struct pool_conn *c)
{
	if (!c->selected)
		return 0;
	bool unselect = imap_has_cap(c->s, "UNSELECT");
	/* CLOSE on a read-write mailbox would expunge: make it read-only first */
	if (!unselect && c->selected_rw) {
		char *name = xstrdup(c->selected);
		struct imap_cmd *cmd;
		int r = queue_select(c, name, false, &cmd);
		if (r == 0)
			r = finish_select(c, cmd, name, false);
		free(name);
		if (r < 0)
			return r;
	}
	free(c->selected);
	c->selected = NULL;
	/* a CLOSE of a read-only mailbox expunges nothing: safe to repeat */
	struct run_opts o = { .verb = unselect ? "UNSELECT" : "CLOSE", .idempotent = true,
			      .quiet = true, .any_answer = true };
	struct imap_cmd *cmd = imap_cmd_new(o.verb);
	int rc = run_on(c, cmd, &o);
	imap_cmd_free(cmd);
	return rc;
}
