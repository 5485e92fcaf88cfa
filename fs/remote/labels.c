/* labels.c: Gmail's labels of messages, asked for when read and kept a
 * short while per folder (labels.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "mutf7.h"
#include "remote/labels.h"
#include "remote/run.h"
#include "remote/select.h"
#include "utf8.h"
#include "xalloc.h"

/* Folders kept: a tree walk reads one folder after another, so the last
 * few are all it needs. */
#define LABELS_FOLDERS 4
/* What a server can make us hold: the kernel passes no attribute value
 * over 64 KiB, and a folder's texts together (a real one is a few dozen
 * bytes a message) stay under LABELS_FOLDER_BYTES. */
#define LABELS_MAX_TEXT 65536
#define LABELS_FOLDER_BYTES (16u << 20)

struct lentry {
	uint32_t uid;
	time_t at;
	char *text;
	size_t len;
	uint64_t msgid, thrid;
};

struct lfolder {
	char *mailbox;
	uint32_t uidvalidity;
	time_t used;
	time_t missed;        /* when a read last had to ask the server */
	struct lentry *v;     /* by UID */
	size_t n, cap;
	size_t bytes;         /* of the texts */
};

struct labels {
	pthread_mutex_t lock;
	int max_age;
	struct lfolder folders[LABELS_FOLDERS];
};

struct labels *labels_new(int max_age)
{
	struct labels *l = xcalloc(1, sizeof *l);
	pthread_mutex_init(&l->lock, NULL);
	l->max_age = max_age > 0 ? max_age : 0;
	return l;
}

static void entries_free(struct lentry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

/* Forgets f's answers, keeping the folder. */
static void folder_empty(struct lfolder *f)
{
	entries_free(f->v, f->n);
	f->v = NULL;
	f->n = f->cap = f->bytes = 0;
}

static void folder_clear(struct lfolder *f)
{
	free(f->mailbox);
	entries_free(f->v, f->n);
	memset(f, 0, sizeof *f);
}

void labels_free(struct labels *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LABELS_FOLDERS; i++)
		folder_clear(&l->folders[i]);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* ---- the text of a message's labels ---- */

/* A label as shown: system labels as they are, user labels decoded from
 * modified UTF-7 unless the connection has UTF8=ACCEPT (pool.h), which
 * makes them UTF-8 like the folder names. */
static bool label_shown(const char *s, size_t len, bool utf8, struct buf *out)
{
	buf_reset(out);
	if (!utf8 && !imap_gm_label_is_system(s, len))
		return mutf7_to_utf8(s, len, out, NULL) == 0;
	if (!utf8_text_valid(s, len, NULL))
		return false;
	buf_set(out, s, len);
	return true;
}

/* Gmail's name for the label of the folder a message is read in, or NULL
 * (labels.h: Gmail's own folders). */
static const char *own_label(const char *mailbox)
{
	if (!strcasecmp(mailbox, "INBOX"))
		return "\\Inbox";
	if (!strncmp(mailbox, "[Gmail]", 7) || !strncmp(mailbox, "[Google Mail]", 13))
		return NULL;
	return mailbox;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void labels_text(const struct imap_gm_fetch *g, const char *mailbox, bool utf8, struct buf *out)
{
	buf_reset(out);
	size_t n = 0;
	char **v = xcalloc(g->nlabels + 1, sizeof *v);
	struct buf one = BUF_INIT;
	for (size_t i = 0; i <= g->nlabels; i++) {
		const char *s = i < g->nlabels ? NULL : own_label(mailbox);
		size_t len = s ? strlen(s) : 0;
		if (i < g->nlabels)
			imap_gm_label(g, i, &s, &len);
		if (!s)
			continue;
		if (!label_shown(s, len, utf8, &one) || memchr(one.data, '\0', one.len) || memchr(one.data, '\n', one.len)) {
			fs_log(LOG_WARNING, "%s: an ill-formed Gmail label left out",
			       mailbox);
			continue;
		}
		v[n++] = buf_detach(&one, NULL);
	}
	buf_free(&one);
	if (n)
		qsort(v, n, sizeof *v, cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (!i || strcmp(v[i - 1], v[i])) {
			buf_addstr(out, v[i]);
			buf_addch(out, '\n');
		}
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- the cache ---- */

static long entry_find(const struct lfolder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->v[mid].uid < uid)
			lo = mid + 1;
		else if (f->v[mid].uid > uid)
			hi = mid;
		else
			return (long)mid;
	}
	return -(long)lo - 1;
}

/* The folder's slot, taken from the one used longest ago when it has none
 * (l->lock held). */
static struct lfolder *folder_slot(struct labels *l, const char *mailbox, uint32_t uidvalidity)
{
	struct lfolder *oldest = &l->folders[0];
	for (size_t i = 0; i < LABELS_FOLDERS; i++) {
		struct lfolder *f = &l->folders[i];
		if (f->mailbox && !strcmp(f->mailbox, mailbox)) {
			if (f->uidvalidity != uidvalidity) {
				folder_empty(f);
				f->missed = 0;
				f->uidvalidity = uidvalidity;
			}
			return f;
		}
		if (!f->mailbox || f->used < oldest->used)
			oldest = f;
	}
	folder_clear(oldest);
	oldest->mailbox = xstrdup(mailbox);
	oldest->uidvalidity = uidvalidity;
	return oldest;
}

static void entry_copy(const struct lentry *e, struct gm_info *out)
{
	buf_set(&out->labels, e->text, e->len);
	out->msgid = e->msgid;
	out->thrid = e->thrid;
}

/* e's fields into f (l->lock held); e's text becomes f's. */
static void entry_put(struct lfolder *f, struct lentry *e)
{
	long i = entry_find(f, e->uid);
	if (i >= 0) {
		f->bytes = f->bytes - f->v[i].len + e->len;
		free(f->v[i].text);
		f->v[i] = *e;
		return;
	}
	if (f->n >= LABELS_WHOLE_MAX || f->bytes + e->len > LABELS_FOLDER_BYTES) {
		folder_empty(f);  /* read one by one past the bounds: start again */
		i = -1;
	}
	f->bytes += e->len;
	size_t at = (size_t)(-i - 1);
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->v = xrealloc(f->v, f->cap * sizeof *f->v);
	}
	memmove(&f->v[at + 1], &f->v[at], (f->n - at) * sizeof *f->v);
	f->v[at] = *e;
	f->n++;
}

/* ---- asking the server ---- */

struct ask {
	const char *mailbox;
	uint32_t uidvalidity, uid;
	bool whole;             /* wanted: the whole folder */
	bool asked_whole;       /* done: 1:* */
	struct lentry *v;       /* the answers, in the order they came */
	size_t n, cap;
	size_t bytes;           /* of their texts */
	bool dropped;           /* an answer over the bounds was left out */
	struct buf text;
};

static void ask_reset(struct ask *a)
{
	entries_free(a->v, a->n);
	a->v = NULL;
	a->n = a->cap = a->bytes = 0;
	a->asked_whole = false;
	a->dropped = false;
}

/* Room for one more answer of len bytes: a single message's fetch keeps
 * its last answer (a server repeating it makes no more), a folder's at
 * most as many as a folder may have and LABELS_FOLDER_BYTES. */
static bool ask_room(struct ask *a, size_t len)
{
	if (!a->asked_whole && a->n == 1) {
		a->bytes -= a->v[0].len;
		free(a->v[0].text);
		a->n = 0;
	}
	if (len > LABELS_MAX_TEXT || a->n >= LABELS_WHOLE_MAX || a->bytes + len > LABELS_FOLDER_BYTES) {
		a->dropped = true;
		return false;
	}
	return true;
}

static void on_fetch(void *ctx, struct pool_conn *c, const struct imap_response *raw,
		     const struct imap_resp *r)
{
	(void)raw;
	struct ask *a = ctx;
	struct imap_gm_fetch g;
	if (!r || !imap_gm_fetch(r, &g) || !g.uid)
		return;
	if (g.malformed)
		fs_log(LOG_WARNING, "%s UID %" PRIu32 ": malformed Gmail attributes left out", a->mailbox, g.uid);
	if (!g.has_labels)
		return;
	if (!a->asked_whole && g.uid != a->uid)
		return;  /* unsolicited: a flag change of another message, say */
	labels_text(&g, a->mailbox, pool_utf8_names(c->pool), &a->text);
	if (!ask_room(a, a->text.len))
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xrealloc(a->v, a->cap * sizeof *a->v);
	}
	struct lentry *e = &a->v[a->n++];
	e->uid = g.uid;
	e->len = a->text.len;
	e->text = xmalloc(e->len + 1);
	memcpy(e->text, a->text.data ? a->text.data : "", e->len);
	e->text[e->len] = '\0';
	a->bytes += e->len;
	e->msgid = g.has_msgid ? g.msgid : 0;
	e->thrid = g.has_thrid ? g.thrid : 0;
}

static int ask_attempt(struct pool_conn *c, void *ctx, bool again)
{
	(void)again;
	struct ask *a = ctx;
	ask_reset(a);
	int rc = select_mailbox(c, a->mailbox, false);
	if (rc < 0)
		return rc;
	if (c->uidvalidity != a->uidvalidity)
		return -ESTALE;
	a->asked_whole = a->whole && c->exists <= LABELS_WHOLE_MAX;
	struct imap_cmd *cmd = imap_cmd_new("UID FETCH");
	if (a->asked_whole)
		imap_cmd_add(cmd, " 1:*");
	else
		imap_cmd_addf(cmd, " %" PRIu32, a->uid);
	imap_cmd_add(cmd, " (UID X-GM-LABELS X-GM-MSGID X-GM-THRID)");
	struct run_opts o = { .verb = "UID FETCH", .mailbox = a->mailbox, .on_untagged = on_fetch, .ctx = a };
	rc = run_on(c, cmd, &o);
	imap_cmd_free(cmd);
	if (a->dropped)
		fs_log(LOG_WARNING, "%s: Gmail labels past imapfs's bounds left out", a->mailbox);
	return rc;
}

/* Files what the server said (l->lock held); 0 with out filled when it
 * named uid. */
static int ask_file(struct labels *l, struct ask *a, time_t now, struct gm_info *out)
{
	struct lfolder *f = folder_slot(l, a->mailbox, a->uidvalidity);
	f->used = now;
	if (a->asked_whole)  /* what it did not name is gone, or has no labels */
		folder_empty(f);
	for (size_t i = 0; i < a->n; i++) {
		a->v[i].at = now;
		entry_put(f, &a->v[i]);
	}
	free(a->v);
	a->v = NULL;
	a->n = a->cap = a->bytes = 0;
	long i = entry_find(f, a->uid);
	if (i < 0)
		return -ENODATA;
	entry_copy(&f->v[i], out);
	return 0;
}

int labels_get(struct labels *l, struct pool *p, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
	       struct gm_info *out)
{
	time_t now = time(NULL);
	struct ask a = { .mailbox = mailbox, .uidvalidity = uidvalidity, .uid = uid, .text = BUF_INIT };
	pthread_mutex_lock(&l->lock);
	struct lfolder *f = folder_slot(l, mailbox, uidvalidity);
	f->used = now;
	long i = entry_find(f, uid);
	if (i >= 0 && now - f->v[i].at < l->max_age) {
		entry_copy(&f->v[i], out);
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	a.whole = f->missed && now - f->missed < l->max_age;
	f->missed = now;
	pthread_mutex_unlock(&l->lock);

	int rc = run_retry(p, mailbox, ask_attempt, &a);
	if (rc == 0) {
		pthread_mutex_lock(&l->lock);
		rc = ask_file(l, &a, now, out);
		pthread_mutex_unlock(&l->lock);
	}
	ask_reset(&a);
	buf_free(&a.text);
	return rc;
}
