/* check_mtree.c: the mailbox tree against scripted servers: a LIST of
 * 80,000 mailboxes costs work linear in their number, entries of vanished
 * mailboxes are freed once nothing refers to them (and taken up again when
 * they come back meanwhile), and two server names that map to one path
 * both show, under the same names whatever the order of the LIST. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check_rng.h"
#include "check_run.h"
#include "fs.h"
#include "fs_impl.h"  /* the tree: its entries and its work counter */
#include "harness_fakefs.h"
#include "model/tree.h"
#include "xalloc.h"

/* The core over a scripted server.  timeout_s: the server's and the
 * core's, 0 for the defaults (a bound that proves nothing hung; valgrind
 * runs the big LIST 50 times slower). */
static void mtree_fs_open(struct fakefs *ff, const char *script, int timeout_s)
{
	struct fakefs_opts o = { .timeout_s = timeout_s ? timeout_s : 30,
				 .server_timeout_ms = timeout_s * 1000 };
	fakefs_open(ff, script, &o);
}

/* A LIST answer of n mailboxes prefix00000 ..., many per directive. */
static void script_list(struct buf *s, const char *prefix, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i % 1000 == 0)
			buf_addstr(s, i ? "\nS+ " : "S+ ");
		buf_addf(s, "* LIST () \"/\" %s%05zu\\r\\n", prefix, i);
	}
	if (n)
		buf_addch(s, '\n');
}

static size_t dirents_named(const struct fs_dir *d, const char *prefix)
{
	size_t n = 0;
	for (size_t i = FS_DIR_DOTS; i < d->n; i++)
		n += !strncmp(d->v[i].name, prefix, strlen(prefix));
	return n;
}

/* ---- size ---- */

#define MANY 80000

/* The listing of a mailbox of one message. */
#define SCRIPT_ONE(name) FAKEFS_LISTING(name, "1", "7", "2", FAKEFS_MSG("1", "1", "10"))

/* Opens the mailbox at the root called name, as ls would: it is in use. */
static uint64_t use_mailbox(struct fs *fs, const char *name)
{
	struct fs_entry e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, name, &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, e.ino, 0, &d), 0);
	fs_dir_free(d);
	return e.ino;
}

/* The inode of the mailbox in use, found in a step or two (the watcher
 * asks every second). */
static uint64_t recent_ino(struct mtree *t)
{
	uint64_t before = mtree_steps(t);
	struct mbox *m = mtree_recent(t);
	uint64_t steps = mtree_steps(t) - before;
	ck_assert_msg(steps <= 2, "%llu entries looked at for the mailbox in use", (unsigned long long)steps);
	uint64_t ino = m ? m->ino : 0;
	mbox_put(m);
	return ino;
}

/* The mount of 80,000 mailboxes (38 s of quadratic merging once), listing
 * the root, finding the last one listed and the mailbox in use cost a few
 * steps each: the tree counts every entry it looks at. */
START_TEST(test_many_mailboxes_cost_linear_work)
{
	struct buf s = BUF_INIT;
	buf_addstr(&s, FAKE_LOGIN("") FAKEFS_LIST "S: * LIST () \"/\" INBOX\n");
	script_list(&s, "box", MANY);
	buf_addstr(&s, FAKEFS_LISTED SCRIPT_ONE("box79999") SCRIPT_ONE("box00001") FAKE_LOGOUT);
	struct fakefs ff;
	mtree_fs_open(&ff, s.data, 600);
	buf_free(&s);
	struct mtree *t = &ff.fs->tree;

	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(ff.fs, FS_ROOT_INO, 0, &d), 0);
	ck_assert_uint_eq(d->n, FS_DIR_DOTS + 1 + MANY);
	ck_assert_uint_eq(dirents_named(d, "box"), MANY);
	ck_assert_ptr_nonnull(fs_dir_find(d, "INBOX"));
	const struct fs_dirent *last = fs_dir_find(d, "box79999");
	ck_assert_ptr_nonnull(last);
	struct fs_entry e;
	ck_assert_int_eq(fs_lookup(ff.fs, FS_ROOT_INO, "box79999", &e), 0);
	ck_assert_uint_eq(e.ino, last->e.ino);
	ck_assert(S_ISDIR(e.st.st_mode));
	ck_assert_int_eq(fs_lookup(ff.fs, FS_ROOT_INO, "box80000", &e), 0);
	ck_assert_uint_eq(e.ino, 0);
	fs_dir_free(d);
	uint64_t steps = mtree_steps(t);
	/* a quadratic merge looks at n^2/2 entries: 3.2e9 here */
	ck_assert_msg(steps <= 16ull * MANY, "%llu entries looked at for %d mailboxes",
		      (unsigned long long)steps, MANY);

	/* the mailbox in use is the one used last, loaded or not yet asked
	 * for again (box79999's listing is still fresh the second time) */
	ck_assert_uint_eq(recent_ino(t), 0);
	uint64_t first = use_mailbox(ff.fs, "box79999");
	ck_assert_uint_eq(recent_ino(t), first);
	uint64_t second = use_mailbox(ff.fs, "box00001");
	ck_assert_uint_ne(second, first);
	ck_assert_uint_eq(recent_ino(t), second);
	ck_assert_uint_eq(use_mailbox(ff.fs, "box79999"), first);
	ck_assert_uint_eq(recent_ino(t), first);
	/* the watcher's polls refresh the others without taking the place of
	 * the one the user is in (IDLE stays there) */
	struct mbox *other = mtree_by_path(t, "box00001");
	ck_assert_int_eq(mbox_refresh_ahead(other, ff.fs->pool, ff.fs->cache, 3600), 0);
	mbox_put(other);
	ck_assert_uint_eq(recent_ino(t), first);
	fakefs_close(&ff);
}
END_TEST

/* The walk read-ahead follows, from the first mailbox: how many it visits. */
static size_t walk_length(struct mtree *t)
{
	struct mbox **kids;
	size_t n = mtree_children(t, mtree_root(t), &kids);
	struct mbox *m = n ? kids[0] : NULL;
	mbox_get(m);
	mbox_put_all(kids, n);
	size_t visited = 0;
	while (m) {
		visited++;
		struct mbox *next = mtree_scan_next(t, m);
		mbox_put(m);
		m = next;
	}
	return visited;
}

#define MANY_ROUNDS 10

/* A bound that does not trust the tree's own counter: the case's timeout.
 * Ten rounds, each a LIST of 80,000 new names (the last round's all gone)
 * and every one of them found by name, path and inode and walked, take
 * about 10 s in linear time under ASan (30 s under valgrind); quadratic
 * work anywhere, counted or not (a scan for a free inode number, a lookup
 * by scan), takes 25 s or more a round. */
START_TEST(test_many_mailboxes_many_times)
{
	struct mtree t;
	mtree_init(&t);
	struct mtree_listed *v = xcalloc(MANY, sizeof *v);
	for (int r = 0; r < MANY_ROUNDS; r++) {
		for (size_t i = 0; i < MANY; i++) {
			char name[32];
			snprintf(name, sizeof name, "r%d-box%05zu", r, i);
			v[i] = (struct mtree_listed){ xstrdup(name), '/', false };
		}
		mtree_merge(&t, v, MANY, 1);
		ck_assert_uint_eq(mtree_entries(&t), 1 + MANY);
		size_t found = 0;  /* not a check each: Check writes a line for every one */
		for (size_t i = 0; i < MANY; i++) {
			struct mbox *m = mtree_by_name(&t, v[i].name);
			struct mbox *at = mtree_by_path(&t, v[i].name), *same = m ? mtree_by_ino(&t, m->ino) : NULL;
			found += m && at == m && same == m;
			mbox_put(same);
			mbox_put(at);
			mbox_put(m);
			free(v[i].name);
		}
		ck_assert_uint_eq(found, MANY);
		ck_assert_uint_eq(walk_length(&t), MANY);
	}
	free(v);
	mtree_free(&t);
}
END_TEST

/* ---- churn ---- */

#define ROUNDS 30
#define PER_ROUND 200

/* poll=3 with mailboxes that come and go (a server making one per
 * session, say): each LIST replaces every name but INBOX and Keep.  The
 * tree shows exactly what the last LIST said, and holds entries for that
 * and not for everything that ever was. */
START_TEST(test_vanished_mailboxes_are_freed)
{
	struct buf s = BUF_INIT, fmt = BUF_INIT;
	buf_addstr(&s, FAKE_LOGIN(""));
	for (int r = 0; r < ROUNDS; r++) {
		buf_addstr(&s, FAKEFS_LIST "S: * LIST () \"/\" INBOX\nS: * LIST () \"/\" Keep\n");
		buf_reset(&fmt);
		buf_addf(&fmt, "r%02d-", r);
		script_list(&s, fmt.data, PER_ROUND);
		buf_addstr(&s, FAKEFS_LISTED);
	}
	buf_addstr(&s, FAKE_LOGOUT);
	struct fakefs ff;
	mtree_fs_open(&ff, s.data, 0);
	buf_free(&s);

	struct fs_entry keep0;
	ck_assert_int_eq(fs_lookup(ff.fs, FS_ROOT_INO, "Keep", &keep0), 0);
	for (int r = 1; r < ROUNDS; r++) {
		uint64_t before = mtree_steps(&ff.fs->tree);
		ck_assert_int_eq(mtree_refresh(&ff.fs->tree, ff.fs->pool, 0, true), 0);
		/* in proportion to what the two LISTs named, not to all there was */
		uint64_t steps = mtree_steps(&ff.fs->tree) - before;
		ck_assert_msg(steps <= 16 * 2 * (2 + PER_ROUND), "round %d looked at %llu entries", r,
			      (unsigned long long)steps);
		struct fs_dir *d;
		ck_assert_int_eq(fs_opendir(ff.fs, FS_ROOT_INO, 0, &d), 0);
		ck_assert_uint_eq(d->n, FS_DIR_DOTS + 2 + PER_ROUND);
		buf_reset(&fmt);
		buf_addf(&fmt, "r%02d-", r);
		ck_assert_uint_eq(dirents_named(d, fmt.data), PER_ROUND);
		const struct fs_dirent *keep = fs_dir_find(d, "Keep");
		ck_assert_ptr_nonnull(keep);
		ck_assert_uint_eq(keep->e.ino, keep0.ino);  /* what stays keeps its inode */
		fs_dir_free(d);
		/* the root, INBOX, Keep and this round's */
		ck_assert_uint_eq(mtree_entries(&ff.fs->tree), 3 + PER_ROUND);
	}
	buf_free(&fmt);
	fakefs_close(&ff);
}
END_TEST

/* A mailbox a node, a directory handle or a reader still refers to
 * outlives its disappearance, with its inode: if it comes back meanwhile
 * it is the same directory again; once nothing refers to it, the next
 * LIST frees it and its inode no longer answers. */
START_TEST(test_referenced_mailbox_outlives_its_listing)
{
	struct fakefs ff;
	mtree_fs_open(&ff,
		FAKE_LOGIN("")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\nS: * LIST () \"/\" Gone\n" FAKEFS_LISTED
		SCRIPT_ONE("Gone")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\nS: * LIST () \"/\" Gone\n" FAKEFS_LISTED
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKE_LOGOUT, 0);
	struct fs *fs = ff.fs;
	struct mtree *t = &fs->tree;
	ck_assert_uint_eq(mtree_entries(t), 3);
	struct fs_entry gone, msg, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "Gone", &gone), 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, gone.ino, 0, &d), 0);  /* a directory handle */
	ck_assert_int_eq(fs_lookup(fs, gone.ino, "1.eml", &msg), 0);  /* a node */
	struct mbox *reader = mtree_by_ino(t, gone.ino);  /* and a reader */
	ck_assert_ptr_nonnull(reader);

	/* gone from the server */
	ck_assert_int_eq(mtree_refresh(t, fs->pool, 0, true), 0);
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "Gone", &e), 0);
	ck_assert_uint_eq(e.ino, 0);
	ck_assert(!reader->exists);
	ck_assert_str_eq(reader->name, "Gone");  /* still readable */
	ck_assert_uint_eq(mtree_entries(t), 3);
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, msg.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_size, 10);
	const struct fs_dirent *de = fs_dir_find(d, "1.eml");
	ck_assert_ptr_nonnull(de);
	size_t at = (size_t)(de - d->v);
	fs_dir_entries_used(fs, d, at, at + 1, NULL);  /* readdirplus hands it out late: one more lookup */

	/* back: the same entry, so the same inode (a new entry could not
	 * have it while the old one is held) */
	ck_assert_int_eq(mtree_refresh(t, fs->pool, 0, true), 0);
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "Gone", &e), 0);
	ck_assert_uint_eq(e.ino, gone.ino);
	ck_assert(reader->exists);
	ck_assert(mbox_loaded(reader));  /* its listing too */
	ck_assert_uint_eq(mtree_entries(t), 3);

	/* gone again; freed only once the last reference goes */
	ck_assert_int_eq(mtree_refresh(t, fs->pool, 0, true), 0);
	ck_assert_uint_eq(mtree_entries(t), 3);
	mbox_put(reader);
	fs_dir_free(d);
	fs_forget(fs, msg.ino, 2);
	ck_assert_uint_eq(mtree_entries(t), 3);  /* not before the next LIST */
	ck_assert_int_eq(mtree_refresh(t, fs->pool, 0, true), 0);
	ck_assert_uint_eq(mtree_entries(t), 2);
	ck_assert_int_eq(fs_getattr(fs, gone.ino, &st, &timeout), -ENOENT);
	ck_assert_int_eq(fs_getattr(fs, msg.ino, &st, &timeout), -ENOENT);
	fakefs_close(&ff);
}
END_TEST

/* ---- two names, one path ---- */

/* What one LIST shows: "a.b" (delimiter '.') and "a/b" ('/') are both
 * "a/b"; "p/q" ('/') and "p|q" ('|') are both "p/q"; "x" is listed twice
 * with two delimiters (one mailbox). */
static const char *const colliding[] = {
	"S: * LIST () \".\" INBOX\n",
	"S: * LIST () \".\" a.b\n",
	"S: * LIST () \"/\" a/b\n",
	"S: * LIST () \"/\" p/q\n",
	"S: * LIST () \"|\" p|q\n",
	"S: * LIST () \".\" x\n",
	"S: * LIST () \"/\" x\n",
};
#define NCOLLIDING (sizeof colliding / sizeof colliding[0])

/* Each mailbox's listing, so that what a path opens shows whose it is:
 * a.b holds UID 1, a/b UIDs 5 and 6. */
struct shown {
	char names[8][64];   /* the names in a/ and p/, sorted */
	uint64_t inos[8];
	size_t n;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void collect(struct fs *fs, const char *dir, struct shown *out)
{
	struct fs_entry e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, dir, &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, e.ino, 0, &d), 0);
	for (size_t i = FS_DIR_DOTS; i < d->n; i++) {
		ck_assert_uint_lt(out->n, 8);
		snprintf(out->names[out->n], sizeof out->names[0], "%s/%s", dir, d->v[i].name);
		out->n++;
	}
	fs_dir_free(d);
	qsort(out->names, out->n, sizeof out->names[0], cmp_names);
}

/* The message names in the directory at a path from the root. */
static void messages_at(struct fs *fs, const char *dir, const char *name, struct buf *out)
{
	struct fs_entry a, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, dir, &a), 0);
	ck_assert_int_eq(fs_lookup(fs, a.ino, name, &e), 0);
	ck_assert_msg(e.ino != 0 && S_ISDIR(e.st.st_mode), "%s/%s is no directory", dir, name);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, e.ino, 0, &d), 0);
	buf_reset(out);
	for (size_t i = FS_DIR_DOTS; i < d->n; i++)
		buf_addf(out, "%s ", d->v[i].name);
	fs_dir_free(d);
}

static void check_collisions(bool reversed, struct shown *out)
{
	struct buf s = BUF_INIT, alias_b = BUF_INIT, alias_q = BUF_INIT, got = BUF_INIT;
	buf_addstr(&s, FAKE_LOGIN("") FAKEFS_LIST);
	for (size_t i = 0; i < NCOLLIDING; i++)
		buf_addstr(&s, colliding[reversed ? NCOLLIDING - 1 - i : i]);
	buf_addstr(&s, FAKEFS_LISTED
		FAKEFS_LISTING("a.b", "1", "11", "7", FAKEFS_MSG("1", "1", "10"))
		FAKEFS_LISTING("a/b", "2", "12", "7", FAKEFS_MSG("1", "5", "10") FAKEFS_MSG("2", "6", "10"))
		FAKE_LOGOUT);
	struct fakefs ff;
	mtree_fs_open(&ff, s.data, 0);

	struct fs_dir *root;
	ck_assert_int_eq(fs_opendir(ff.fs, FS_ROOT_INO, 0, &root), 0);
	ck_assert_uint_eq(root->n, FS_DIR_DOTS + 4);  /* INBOX a p x: x once */
	fs_dir_free(root);
	memset(out, 0, sizeof *out);
	collect(ff.fs, "a", out);
	collect(ff.fs, "p", out);
	/* the name the mount's delimiter ('.', INBOX's) gives a path keeps
	 * it; with no such name, the smaller one does */
	tree_alias_path("b", "a/b", 0, &alias_b);
	tree_alias_path("q", "p|q", 0, &alias_q);
	ck_assert_uint_eq(out->n, 4);
	ck_assert_str_eq(out->names[0], "a/b");
	ck_assert_str_eq(out->names[1] + 2, alias_b.data);
	ck_assert_str_eq(out->names[2], "p/q");
	ck_assert_str_eq(out->names[3] + 2, alias_q.data);
	for (size_t i = 0; i < out->n; i++) {
		struct mbox *m = mtree_by_path(&ff.fs->tree, out->names[i]);
		ck_assert_ptr_nonnull(m);
		out->inos[i] = m->ino;
		mbox_put(m);
	}
	/* each path opens its own mailbox */
	messages_at(ff.fs, "a", "b", &got);
	ck_assert_str_eq(got.data, "1.eml ");
	messages_at(ff.fs, "a", alias_b.data, &got);
	ck_assert_str_eq(got.data, "5.eml 6.eml ");
	fakefs_close(&ff);
	buf_free(&s);
	buf_free(&alias_b);
	buf_free(&alias_q);
	buf_free(&got);
}

START_TEST(test_two_names_one_path_both_show)
{
	struct shown fwd, rev;
	check_collisions(false, &fwd);
	check_collisions(true, &rev);
	ck_assert_uint_eq(fwd.n, rev.n);
	for (size_t i = 0; i < fwd.n; i++) {
		ck_assert_str_eq(fwd.names[i], rev.names[i]);
		ck_assert_uint_eq(fwd.inos[i], rev.inos[i]);
	}
}
END_TEST

/* ---- the merge alone, over many orders ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name of v as "name -> path", sorted: what a user sees. */
static void shown_paths(struct mtree *t, const struct mtree_listed *v, size_t n, struct buf *out)
{
	char **lines = xcalloc(n, sizeof *lines);
	for (size_t i = 0; i < n; i++) {
		struct mbox *m = mtree_by_name(t, v[i].name);
		ck_assert_msg(m != NULL, "%s not shown", v[i].name);
		struct mbox *at = mtree_by_path(t, m->path);
		ck_assert_ptr_eq(at, m);  /* nothing else at its path */
		struct buf line = BUF_INIT;
		buf_addf(&line, "%s -> %s\n", v[i].name, m->path);
		lines[i] = buf_detach(&line, NULL);
		mbox_put(at);
		mbox_put(m);
	}
	qsort(lines, n, sizeof *lines, cmp_str);
	buf_reset(out);
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(lines[i], lines[i - 1]))  /* a name listed twice is one */
			buf_addstr(out, lines[i]);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* "X.Y" with '.', "X/Y" with '/' and "X|Y" with '|' are all X/Y; some are
 * listed twice (once with no delimiter).  Every order of the same LIST
 * shows every name, each at a path of its own, the same path each time. */
START_TEST(test_merge_ignores_the_order)
{
	static const char *const parts[] = { "a", "b", "aa", "ab", "ba", "bb" };
	static const char seps[] = { '.', '/', '|' };
	enum { NPARTS = 6, NSEPS = 3, N = NPARTS * NPARTS * NSEPS + NPARTS + 40, ORDERS = 20 };
	struct mtree_listed v[N];
	size_t n = 0;
	for (size_t x = 0; x < NPARTS; x++) {
		v[n++] = (struct mtree_listed){ xstrdup(parts[x]), '.', false };
		for (size_t y = 0; y < NPARTS; y++) {
			for (size_t k = 0; k < NSEPS; k++) {
				struct buf name = BUF_INIT;
				buf_addf(&name, "%s%c%s", parts[x], seps[k], parts[y]);
				v[n++] = (struct mtree_listed){ buf_detach(&name, NULL), seps[k], (x + y) % 4 == 0 };
			}
		}
	}
	rng_state = 0x1234567;
	while (n < N) {
		const struct mtree_listed *twin = &v[rng() % n];
		v[n++] = (struct mtree_listed){ xstrdup(twin->name), 0, !twin->noselect };
	}
	struct buf want = BUF_INIT, got = BUF_INIT;
	for (int order = 0; order < ORDERS; order++) {
		for (size_t i = N - 1; i > 0; i--) {  /* Fisher-Yates */
			size_t j = rng() % (i + 1);
			struct mtree_listed tmp = v[i];
			v[i] = v[j];
			v[j] = tmp;
		}
		struct mtree t;
		mtree_init(&t);
		mtree_merge(&t, v, N, 1);
		shown_paths(&t, v, N, order ? &got : &want);
		mtree_free(&t);
		if (order)
			ck_assert_str_eq(got.data, want.data);
	}
	/* and the canonical names kept their paths */
	ck_assert_ptr_nonnull(strstr(want.data, "ab.ba -> ab/ba\n"));
	ck_assert_ptr_null(strstr(want.data, "ab/ba -> ab/ba\n"));
	buf_free(&want);
	buf_free(&got);
	for (size_t i = 0; i < N; i++)
		free(v[i].name);
}
END_TEST

/* ---- references under concurrency ---- */

struct holder {
	struct mtree *t;
	atomic_bool *stop;
	atomic_ulong rounds;
	unsigned long bad;
};

/* Whether m is still the entry taken as name: a freed one has its magic
 * overwritten, one freed and made again has another name (every name that
 * vanishes is never listed again). */
static bool still_held(const struct mbox *m, const struct mtree *t, const char *name)
{
	return m->magic == MBOX_MAGIC && m->tree == t && m->name && !strcmp(m->name, name);
}

/* Takes the root's children, lets the merges go on, then checks each is
 * the entry it took, reads every field a caller may read, walks from
 * each, and puts them. */
static void *hold_and_read(void *arg)
{
	struct holder *h = arg;
	while (!atomic_load(h->stop)) {
		struct mbox **kids;
		size_t n = mtree_children(h->t, mtree_root(h->t), &kids);
		char **names = xcalloc(n ? n : 1, sizeof *names);
		for (size_t i = 0; i < n; i++)
			names[i] = xstrdup(kids[i]->name);
		for (int i = 0; i < 50; i++)
			sched_yield();
		for (size_t i = 0; i < n; i++) {
			struct mbox *m = kids[i];
			if (!still_held(m, h->t, names[i])) {
				h->bad++;
				kids[i] = NULL;  /* nothing more to read, nor to put */
				continue;
			}
			if (!*m->path || strncmp(m->name, m->path, strlen(m->name)))
				h->bad++;
			pthread_mutex_lock(&m->lock);  /* a listing's lock, as readers take it */
			pthread_mutex_unlock(&m->lock);
			mbox_put(mtree_parent(h->t, m));
			mbox_put(mtree_scan_next(h->t, m));
		}
		mbox_put_all(kids, n);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		atomic_fetch_add(&h->rounds, 1);
	}
	return NULL;
}

static unsigned long fewest_rounds(struct holder *h, int n)
{
	unsigned long least = ULONG_MAX;
	for (int i = 0; i < n; i++)
		if (atomic_load(&h[i].rounds) < least)
			least = atomic_load(&h[i].rounds);
	return least;
}

/* Threads hold entries while LISTs make them vanish: nothing they hold is
 * freed under them (the holders see it, as ASan and valgrind would), and
 * once they let go the next LIST frees what vanished. */
START_TEST(test_held_entries_survive_concurrent_lists)
{
	enum { THREADS = 3, LISTS = 300, NAMES = 50 };
	struct mtree t;
	mtree_init(&t);
	atomic_bool stop = false;
	struct holder h[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		h[i].t = &t;
		h[i].stop = &stop;
		atomic_init(&h[i].rounds, 0);
		h[i].bad = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, hold_and_read, &h[i]), 0);
	}
	struct mtree_listed v[NAMES];
	/* LISTs go on until every holder has taken and checked a few times:
	 * under valgrind, which runs one thread at a time, the LISTs could
	 * otherwise all be done before a holder ran at all */
	for (int r = 0; r < LISTS || fewest_rounds(h, THREADS) < 3; r++) {
		for (int i = 0; i < NAMES; i++) {
			char name[32];
			/* half of them change at every LIST */
			snprintf(name, sizeof name, "m%d-%d", i % 2 ? r : 0, i);
			v[i] = (struct mtree_listed){ xstrdup(name), '/', false };
		}
		mtree_merge(&t, v, NAMES, 1);
		for (int i = 0; i < NAMES; i++)
			free(v[i].name);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_uint_eq(h[i].bad, 0);
	}
	mtree_merge(&t, v, 0, 1);  /* nothing held now: everything but the root goes */
	ck_assert_uint_eq(mtree_entries(&t), 1);
	mtree_free(&t);
}
END_TEST

static bool mtree_shows(struct mtree *t, const char *path)
{
	struct mbox *m = mtree_by_path(t, path);
	bool shown = m != NULL;
	mbox_put(m);
	return shown;
}

/* Merges a LIST answer of the names given (NULL-terminated). */
static void merge_names(struct mtree *t, uint64_t ticket, const char *const *names)
{
	struct mtree_listed v[8];
	size_t n = 0;
	for (; names[n] && n < 8; n++)
		v[n] = (struct mtree_listed){ xstrdup(names[n]), '/', false };
	mtree_merge_ticket(t, v, n, 1, ticket);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
}

/* The poll's LIST, sent before an rmdir's DELETE, may answer after the
 * LIST the rmdir sent once the DELETE was done: the older answer must not
 * bring the mailbox back (seen with Courier, one process per connection). */
START_TEST(test_older_list_answer_is_dropped)
{
	struct mtree t;
	mtree_init(&t);
	static const char *const both[] = { "Keep", "Gone", NULL }, *const kept[] = { "Keep", NULL };
	merge_names(&t, mtree_list_begin(&t), both);
	ck_assert(mtree_shows(&t, "Gone"));
	uint64_t poll = mtree_list_begin(&t);
	uint64_t after_delete = mtree_list_begin(&t);
	merge_names(&t, after_delete, kept);
	ck_assert(!mtree_shows(&t, "Gone"));
	merge_names(&t, poll, both);
	ck_assert(!mtree_shows(&t, "Gone"));
	ck_assert(mtree_shows(&t, "Keep"));
	/* a LIST asked for later is merged as ever */
	merge_names(&t, mtree_list_begin(&t), both);
	ck_assert(mtree_shows(&t, "Gone"));
	mtree_free(&t);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("mtree");
	TCase *tc = tcase_create("tree");
	/* generous: the size test takes seconds (under ASan); a quadratic
	 * tree takes many minutes */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_many_mailboxes_cost_linear_work);
	tcase_add_test(tc, test_vanished_mailboxes_are_freed);
	tcase_add_test(tc, test_referenced_mailbox_outlives_its_listing);
	tcase_add_test(tc, test_two_names_one_path_both_show);
	tcase_add_test(tc, test_merge_ignores_the_order);
	tcase_add_test(tc, test_held_entries_survive_concurrent_lists);
	tcase_add_test(tc, test_older_list_answer_is_dropped);
	suite_add_tcase(su, tc);
	/* the bound is this timeout: minutes for a quadratic tree, seconds
	 * for this one (valgrind-wrap.sh gives it 5 times as long) */
	TCase *bound = tcase_create("bound");
	tcase_set_timeout(bound, 120);
	tcase_add_test(bound, test_many_mailboxes_many_times);
	suite_add_tcase(su, bound);
	int failed = check_run_suite(su);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
