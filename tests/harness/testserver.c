/* testserver.c: a private Dovecot from the shell, for the demo and the
 * benchmark.
 *
 *   eval "$(testserver start DIR --seed demo)"   ... $IMAP_PORT, $CAFILE, $MAILDIR
 *   testserver stop DIR
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "harness.h"

#define MAX_USERS 32

static void usage(FILE *f)
{
	fprintf(f,
		"usage: testserver start DIR [--seed demo|bench:N:F|small:N:F] [--seed-user NAME]\n"
		"                            [--user NAME:PASS]... [--separator .|/]\n"
		"                            [--compress yes|no]\n"
		"       testserver seed DIR --seed demo|bench:N:F|small:N:F [--seed-user NAME]\n"
		"       testserver env DIR\n"
		"       testserver stop DIR\n"
		"\n"
		"start runs a private Dovecot (as root) with its state in DIR, leaves it\n"
		"running and prints shell lines: IMAP_HOST IMAP_PORT (plain, STARTTLS offered)\n"
		"IMAPS_PORT (implicit TLS) CAFILE MAILROOT MAILDIR (the seeded user's Maildir)\n"
		"IMAP_USER IMAP_PASS.  Users alice, bob and tiny (2 KiB quota) have password\n"
		"'secret'.  --compress yes offers COMPRESS=DEFLATE (imap_zlib).\n"
		"Exit status 77: this machine cannot run it (not root, no dovecot).\n");
}

struct args {
	const char *seed;
	const char *seed_user;
	char separator;
	bool compress;
	struct dovecot_user users[MAX_USERS];
	size_t nusers;
	char *owned[MAX_USERS];   /* the NAME:PASS copies users[] points into */
};

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof *a);
	a->seed_user = "alice";
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val) {
			fprintf(stderr, "testserver: %s needs a value\n", opt);
			return -1;
		}
		i++;
		if (strcmp(opt, "--seed") == 0) {
			a->seed = val;
		} else if (strcmp(opt, "--seed-user") == 0) {
			a->seed_user = val;
		} else if (strcmp(opt, "--compress") == 0 && (!strcmp(val, "yes") || !strcmp(val, "no"))) {
			a->compress = !strcmp(val, "yes");
		} else if (strcmp(opt, "--separator") == 0 && strlen(val) == 1) {
			a->separator = val[0];
		} else if (strcmp(opt, "--user") == 0 && strchr(val, ':') && a->nusers < MAX_USERS) {
			char *copy = xstrdup(val);
			char *colon = strchr(copy, ':');
			*colon = '\0';
			a->owned[a->nusers] = copy;
			a->users[a->nusers++] = (struct dovecot_user){ copy, colon + 1, NULL };
		} else {
			fprintf(stderr, "testserver: bad option %s %s\n", opt, val);
			return -1;
		}
	}
	for (size_t i = 0; i < a->nusers; i++) {
		if (strchr(a->users[i].password, '\'')) {
			fprintf(stderr, "testserver: passwords may not contain a single quote\n");
			return -1;
		}
	}
	if (a->seed_user[0] == '.' || strspn(a->seed_user, "abcdefghijklmnopqrstuvwxyz"
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(a->seed_user)) {
		fprintf(stderr, "testserver: bad user name %s\n", a->seed_user);
		return -1;
	}
	return 0;
}

static void free_args(struct args *a)
{
	for (size_t i = 0; i < a->nusers; i++)
		free(a->owned[i]);
}

/* The server's own lines (server.env) plus those about the seeded user. */
static void print_env(const struct dovecot *d, const struct args *a)
{
	struct buf path = BUF_INIT;
	const char *pass = "secret";
	for (size_t i = 0; i < a->nusers; i++)
		if (strcmp(a->users[i].name, a->seed_user) == 0)
			pass = a->users[i].password;
	buf_addf(&path, "%s/server.env", d->dir);
	FILE *f = fopen(path.data, "r");
	if (f) {
		char line[1024];
		while (fgets(line, sizeof line, f))
			fputs(line, stdout);
		fclose(f);
	}
	buf_reset(&path);
	dovecot_user_maildir(d, a->seed_user, &path);
	printf("MAILDIR=%s\nIMAP_USER=%s\nIMAP_PASS='%s'\n", path.data, a->seed_user, pass);
	buf_free(&path);
}

static int seed(const struct dovecot *d, const char *user, const char *preset)
{
	struct buf root = BUF_INIT, err = BUF_INIT;
	struct corpus_stats st;
	dovecot_user_maildir(d, user, &root);
	int rc = corpus_seed(root.data, preset, &st, &err);
	if (rc < 0)
		fprintf(stderr, "testserver: seeding %s: %s\n", root.data, err.data);
	else
		fprintf(stderr, "testserver: seeded %u messages (%llu bytes) in %u folders for %s\n",
			st.messages, (unsigned long long)st.bytes, st.folders, user);
	buf_free(&root);
	buf_free(&err);
	return rc;
}

static int cmd_start(const char *dir, struct args *a)
{
	struct dovecot d;
	struct buf err = BUF_INIT;
	struct dovecot_opts o = { .dir = dir, .detached = true, .separator = a->separator,
				  .users = a->users, .nusers = a->nusers, .compress = a->compress };
	if (dovecot_start(&d, &o, &err) < 0) {
		fprintf(stderr, "testserver: %s\n", err.data);
		buf_free(&err);
		return 1;
	}
	if (a->seed && seed(&d, a->seed_user, a->seed) < 0) {
		dovecot_stop(&d, NULL);
		buf_free(&err);
		return 1;
	}
	print_env(&d, a);
	buf_free(&err);
	return 0;
}

static int cmd_on_running(const char *verb, const char *dir, struct args *a)
{
	struct dovecot d;
	struct buf err = BUF_INIT;
	int rc = 0;
	if (dovecot_attach(&d, dir, &err) < 0) {
		fprintf(stderr, "testserver: %s\n", err.data);
		buf_free(&err);
		return 1;
	}
	if (strcmp(verb, "stop") == 0) {
		rc = dovecot_stop(&d, &err);
		if (rc < 0)
			fprintf(stderr, "testserver: stop: %s\n", err.data);
	} else if (strcmp(verb, "seed") == 0) {
		rc = a->seed ? seed(&d, a->seed_user, a->seed) : -1;
		if (!a->seed)
			fprintf(stderr, "testserver: seed needs --seed demo|bench:N:F|small:N:F\n");
	} else {
		print_env(&d, a);
	}
	buf_free(&err);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct args a;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[1], *dir = argv[2];
	bool known = !strcmp(verb, "start") || !strcmp(verb, "stop") || !strcmp(verb, "seed") ||
		     !strcmp(verb, "env");
	if (!known || parse_args(argc - 3, argv + 3, &a) < 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(verb, "env") != 0)
		dovecot_require_or_skip("testserver");
	int rc = strcmp(verb, "start") == 0 ? cmd_start(dir, &a) : cmd_on_running(verb, dir, &a);
	free_args(&a);
	return rc;
}
