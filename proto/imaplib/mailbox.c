/* mailbox.c: imaplib's methods on mailboxes: create, delete, rename,
 * list, lsub, select, status, subscriptions, namespaces, ACLs, quotas and
 * annotations. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imaplib_int.h"

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

int imap_getacl(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "GETACL", ARGS(mailbox), 1, "ACL", r);
}

int imap_getannotation(struct imap *s, const char *mailbox, const char *entry,
		       const char *attribute, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "GETANNOTATION", ARGS(mailbox, entry, attribute), 3,
				       "ANNOTATION", r);
}

int imap_getquota(struct imap *s, const char *root, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "GETQUOTA", ARGS(root), 1, "QUOTA", r);
}

static void result_copy(struct imap_result *dst, const struct imap_result *src)
{
	imaplib_result_set(dst, src->type);
	for (size_t i = 0; i < src->n; i++) {
		struct imap_item *it = imaplib_result_add(dst);
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
	imaplib_untagged(s, &quota, "QUOTA");
	imaplib_untagged(s, &root, "QUOTAROOT");
	imaplib_result_set(r, root.type);
	item_take_list(imaplib_result_add(r), &root);
	item_take_list(imaplib_result_add(r), &quota);
	imap_result_free(&quota);
	imap_result_free(&root);
	return IMAP_OK;
}

int imap_list(struct imap *s, const char *directory, const char *pattern, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "LIST", ARGS(directory ? directory : "\"\"", pattern ? pattern : "*"),
				       2, "LIST", r);
}

int imap_lsub(struct imap *s, const char *directory, const char *pattern, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "LSUB", ARGS(directory ? directory : "\"\"", pattern ? pattern : "*"),
				       2, "LSUB", r);
}

int imap_myrights(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "MYRIGHTS", ARGS(mailbox), 1, "MYRIGHTS", r);
}

int imap_namespace(struct imap *s, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "NAMESPACE", NULL, 0, "NAMESPACE", r);
}

int imap_rename(struct imap *s, const char *oldname, const char *newname, struct imap_result *r)
{
	return SIMPLE(s, "RENAME", r, oldname, newname);
}

int imap_select(struct imap *s, const char *mailbox, bool readonly, struct imap_result *r)
{
	struct imaplib_state *py = imaplib_state_of(s);
	if (!mailbox)
		mailbox = "INBOX";
	imaplib_ur_clear(py);
	py->is_readonly = readonly;
	const char *name = readonly ? "EXAMINE" : "SELECT";
	int rc = imaplib_simple(s, name, ARGS(mailbox), 1, r);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK")) {
		s->state = IMAP_STATE_AUTH;
		return IMAP_OK;
	}
	s->state = IMAP_STATE_SELECTED;
	if (imaplib_ur_find(py, "READ-ONLY") && !readonly)
		return imap_fail(s, IMAP_READONLY, "%s is not writable", mailbox);
	struct py_entry *e = imaplib_ur_find(py, "EXISTS");
	char type[sizeof r->type];
	memcpy(type, r->type, sizeof type);
	if (!e) {
		imaplib_result_none(r, type);
		return IMAP_OK;
	}
	imaplib_result_set(r, type);
	for (size_t i = 0; i < e->n; i++)
		buf_add(&imaplib_result_add(r)->text, e->items[i].text.data, e->items[i].text.len);
	return IMAP_OK;
}

int imap_setacl(struct imap *s, const char *mailbox, const char *who, const char *what,
		struct imap_result *r)
{
	return SIMPLE(s, "SETACL", r, mailbox, who, what);
}

int imap_setannotation(struct imap *s, const char *const *args, size_t n, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "SETANNOTATION", args, n, "ANNOTATION", r);
}

int imap_setquota(struct imap *s, const char *root, const char *limits, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "SETQUOTA", ARGS(root, limits), 2, "QUOTA", r);
}

int imap_status(struct imap *s, const char *mailbox, const char *names, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "STATUS", ARGS(mailbox, names), 2, "STATUS", r);
}

int imap_subscribe(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "SUBSCRIBE", r, mailbox);
}

int imap_unsubscribe(struct imap *s, const char *mailbox, struct imap_result *r)
{
	return SIMPLE(s, "UNSUBSCRIBE", r, mailbox);
}
