/* harness_srv.c: the second IMAP connection's view (harness_srv.h). */
#include "config.h"
#include "harness_srv.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void srv_ok(int rc, const struct imap_result *r, const char *what)
{
	ck_assert_msg(rc == 0 && !strcmp(r->type, "OK"), "%s: %d %s", what, rc, r->type);
}

void srv_select(struct imap *s, const char *mailbox, bool readonly)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_select(s, mailbox, readonly, &r), &r, mailbox);
	imap_result_free(&r);
}

/* The UIDs of mailbox, ascending; returns how many. */
size_t srv_uids(struct imap *s, const char *mailbox, uint32_t *uids, size_t max)
{
	srv_select(s, mailbox, true);
	struct imap_result r = { .n = 0 };
	const char *args[] = { "ALL" };
	srv_ok(imap_uid(s, "SEARCH", args, 1, &r), &r, "UID SEARCH");
	size_t n = 0;
	for (size_t i = 0; i < r.n; i++) {
		const char *p = r.items[i].text.data ? r.items[i].text.data : "";
		while (*p) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);
			if (end == p) {
				p++;
				continue;
			}
			if (n < max)
				uids[n] = (uint32_t)v;
			n++;
			p = end;
		}
	}
	imap_result_free(&r);
	return n;
}

void srv_fetch(struct imap *s, const char *mailbox, uint32_t uid, const char *item,
		      struct buf *text, struct buf *lit)
{
	srv_select(s, mailbox, true);
	char set[16];
	snprintf(set, sizeof set, "%u", uid);
	const char *args[] = { "FETCH", set, item };
	struct imap_result r = { .n = 0 };
	srv_ok(imap_uid(s, args[0], args + 1, 2, &r), &r, "UID FETCH");
	ck_assert_uint_ge(r.n, 1);
	if (text)
		buf_addstr(text, r.items[0].text.data ? r.items[0].text.data : "");
	if (lit) {
		ck_assert(r.items[0].has_lit);
		buf_add(lit, r.items[0].lit.data, r.items[0].lit.len);
	}
	imap_result_free(&r);
}

void srv_list(struct imap *s, struct buf *out)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_list(s, "\"\"", "*", &r), &r, "LIST");
	for (size_t i = 0; i < r.n; i++)
		buf_addf(out, "%s\n", r.items[i].text.data ? r.items[i].text.data : "");
	imap_result_free(&r);
}

/* Whether a LIST (srv_list) names mailbox, quoted or as an atom. */
bool srv_listed(const struct buf *list, const char *mailbox)
{
	char atom[256], quoted[256];
	snprintf(atom, sizeof atom, "\" %s\n", mailbox);
	snprintf(quoted, sizeof quoted, "\"%s\"\n", mailbox);
	return strstr(list->data, atom) || strstr(list->data, quoted);
}

void srv_append(struct imap *s, const char *mailbox, const char *msg)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_append(s, mailbox, NULL, NULL, msg, strlen(msg), &r), &r, "APPEND");
	imap_result_free(&r);
}

/* A folder of its own for one test, with n small messages. */
void srv_folder(struct imap *s, const char *mailbox, unsigned n)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_create(s, mailbox, &r), &r, "CREATE");
	imap_result_free(&r);
	char msg[256];
	for (unsigned i = 1; i <= n; i++) {
		snprintf(msg, sizeof msg, "Subject: %s %u\r\nFrom: t@example.org\r\n\r\nbody %u of %s\r\n",
			 mailbox, i, i, mailbox);
		srv_append(s, mailbox, msg);
	}
}
