/* harness_cyrus_files.c: the files a private Cyrus runs from, all below its
 * own fresh directory (configuration, services, spool, SASL database), so
 * that nothing of the machine's own Cyrus is read or changed and removing
 * the directory removes the instance. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "harness_cyrus_impl.h"
#include "harness_os.h"

/* The SASL realm; Cyrus looks users up in the realm named by servername. */
#define CYRUS_SERVERNAME "localhost"

void cyrus_path(const struct cyrus *c, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", c->dir, name);
}

int cyrus_make_dir(struct cyrus *c, struct buf *err)
{
	char tmpl[] = CYRUS_DIR_PREFIX "XXXXXX";
	if (!mkdtemp(tmpl)) {
		buf_addf(err, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(c->dir, sizeof c->dir, "%s", tmpl);
	/* Cyrus runs as user cyrus and must reach its files below. */
	if (chmod(c->dir, 0755) < 0) {
		buf_addf(err, "chmod %s: %s", c->dir, strerror(errno));
		rmdir(c->dir);
		return -1;
	}
	return 0;
}

int cyrus_write_imapd_conf(const struct cyrus *c, struct buf *err)
{
	struct buf t = BUF_INIT;
	const char *d = c->dir;
	buf_addf(&t,
		 CYRUS_CONF_MARK "\n"
		 "configdirectory: %s/var/config\n"
		 "partition-default: %s/var/spool\n"
		 "sievedir: %s/var/sieve\n"
		 "proc_path: %s/var/proc\n"
		 "mboxname_lockpath: %s/var/lock\n"
		 "lmtpsocket: %s/var/config/socket/lmtp\n"
		 "idlesocket: %s/var/config/socket/idle\n"
		 "notifysocket: %s/var/config/socket/notify\n",
		 d, d, d, d, d, d, d, d);
	buf_addf(&t,
		 "servername: " CYRUS_SERVERNAME "\n"
		 "admins: " CYRUS_ADMIN "\n"
		 "allowplaintext: yes\n"
		 "sasl_pwcheck_method: auxprop\n"
		 "sasl_auxprop_plugin: sasldb\n"
		 "sasl_sasldb_path: %s/sasldb2\n"
		 "sasl_mech_list: PLAIN LOGIN\n"
		 "# A failed login would otherwise cost the test 3 seconds.\n"
		 "failedloginpause: 0\n"
		 "# The standard namespace: alice's INBOX.x is user.alice.x (3.x defaults to the other).\n"
		 "altnamespace: no\n"
		 "unixhierarchysep: no\n"
		 "hashimapspool: false\n"
		 "# Without it every GETANNOTATION/SETANNOTATION answers NO Permission denied.\n"
		 "annotation_enable_legacy_commands: yes\n"
		 "annotation_allow_undefined: yes\n"
		 "# 8-bit header bytes of an APPEND become 'X' (the default; stated because\n"
		 "# check_cyrus relies on a server storing other bytes than it was sent).\n"
		 "munge8bit: yes\n",
		 d);
	int rc = os_write_file(c->conf, &t, 0644, err);
	buf_free(&t);
	return rc;
}

/* The master does not pass -C to its children, so every command names it. */
int cyrus_write_services(const struct cyrus *c, struct buf *err)
{
	struct buf t = BUF_INIT;
	buf_addf(&t,
		 "START {\n"
		 "  recover cmd=\"ctl_cyrusdb -C %s -r\"\n"
		 "}\n"
		 "SERVICES {\n"
		 "  imap cmd=\"imapd -C %s\" listen=\"127.0.0.1:%d\" prefork=0 maxchild=20\n"
		 "}\n"
		 "EVENTS {\n"
		 "  checkpoint cmd=\"ctl_cyrusdb -C %s -c\" period=30\n"
		 "}\n",
		 c->conf, c->conf, c->port, c->conf);
	int rc = os_write_file(c->services, &t, 0644, err);
	buf_free(&t);
	return rc;
}

int cyrus_make_tree(const struct cyrus *c, struct buf *err)
{
	static const char *const dirs[] = { "var", "var/config", "var/config/db",
					    "var/config/socket", "var/spool", "var/sieve", "var/proc",
					    "var/lock", "ns", "ns/up", "ns/work" };
	struct passwd *pw = getpwnam("cyrus");
	struct group *gr = getgrnam("mail");
	if (!pw || !gr) {
		buf_addstr(err, "user cyrus or group mail is missing");
		return -1;
	}
	char path[HARNESS_PATH_MAX + 32];
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		cyrus_path(c, dirs[i], path, sizeof path);
		if (mkdir(path, 0755) < 0) {
			buf_addf(err, "mkdir %s: %s", path, strerror(errno));
			return -1;
		}
		if (strncmp(dirs[i], "var", 3) == 0 && chown(path, pw->pw_uid, gr->gr_gid) < 0) {
			buf_addf(err, "chown %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* saslpasswd2 -p reads the password from stdin, which os_run() does not
 * feed: a shell redirects it from a file (paths as arguments, not text). */
int cyrus_add_sasl_users(const struct cyrus *c, struct buf *err)
{
	static const char *const users[] = { CYRUS_USER, CYRUS_ADMIN };
	char prog[256], sh[256], db[HARNESS_PATH_MAX + 32], pw[HARNESS_PATH_MAX + 32];
	char out[HARNESS_PATH_MAX + 32];
	if (!cyrus_find_program("saslpasswd2", prog, sizeof prog) ||
	    !cyrus_find_program("sh", sh, sizeof sh)) {
		buf_addstr(err, "saslpasswd2 or sh not found");
		return -1;
	}
	cyrus_path(c, "sasldb2", db, sizeof db);
	cyrus_path(c, "password", pw, sizeof pw);
	cyrus_path(c, "saslpasswd2.out", out, sizeof out);
	struct buf text = BUF_INIT;
	buf_addstr(&text, CYRUS_PASSWORD);
	int rc = os_write_file(pw, &text, 0600, err);
	buf_free(&text);
	for (size_t i = 0; rc == 0 && i < sizeof users / sizeof users[0]; i++) {
		const char *argv[] = { sh, "-c", "exec \"$0\" -f \"$1\" -u \"$2\" -p -c \"$3\" <\"$4\"",
				       prog, db, CYRUS_SERVERNAME, users[i], pw, NULL };
		rc = os_run(argv, out, err);
	}
	unlink(pw);
	struct passwd *cy = getpwnam("cyrus");
	struct group *gr = getgrnam("mail");
	if (rc == 0 && (!cy || !gr || chown(db, cy->pw_uid, gr->gr_gid) < 0 || chmod(db, 0640) < 0)) {
		buf_addf(err, "cannot hand %s to user cyrus", db);
		rc = -1;
	}
	return rc;
}
