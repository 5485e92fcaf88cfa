/* harness_dovecot_conf.c: the files of a private Dovecot instance: its
 * configuration, its passwd-file and the shell-evaluable server.env that
 * describes a running instance to "testserver" and dovecot_attach(). */
#include "config.h"
#include "harness_dovecot_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "harness_os.h"

/* First line of every configuration we write: dovecot_stop() removes only
 * directories that hold it. */
#define DOVECOT_CONF_MARK "# A private Dovecot of the imapfs test harness; removed with its directory."

static const struct dovecot_user dovecot_standard_users[] = {
	{ "alice", "secret", NULL },
	{ "bob", "secret", NULL },
	{ "tiny", "secret", "*:storage=2K" },
};

bool dovecot_conf_plain_path(const char *p)
{
	if (p[0] != '/')
		return false;
	for (; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._-+", *p)))
			return false;
	}
	return true;
}

bool dovecot_conf_plain_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

static int dovecot_conf_user_line(struct buf *text, const struct dovecot_user *u, struct buf *err)
{
	/* A passwd-file line: fields split at ':' except in the trailing extra
	 * fields, which are split at whitespace. */
	if (!dovecot_conf_plain_name(u->name) || !u->password || strpbrk(u->password, ":\r\n") ||
	    (u->quota_rule && strpbrk(u->quota_rule, " \t\r\n"))) {
		buf_addf(err, "bad user '%s': name of letters, digits, ._- and a password without ':'",
			 u->name ? u->name : "");
		return -1;
	}
	/* user:password:uid:gid:gecos:home:shell:extra fields */
	buf_addf(text, "%s:{PLAIN}%s::::::", u->name, u->password);
	if (u->quota_rule)
		buf_addf(text, "userdb_quota_rule=%s", u->quota_rule);
	buf_addch(text, '\n');
	return 0;
}

int dovecot_conf_write_passwd(const struct dovecot *d, const struct dovecot_opts *o, struct buf *err)
{
	struct buf text = BUF_INIT;
	char path[HARNESS_PATH_MAX + 16];
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof dovecot_standard_users / sizeof dovecot_standard_users[0]; i++)
		rc = dovecot_conf_user_line(&text, &dovecot_standard_users[i], err);
	for (size_t i = 0; rc == 0 && i < o->nusers; i++)
		rc = dovecot_conf_user_line(&text, &o->users[i], err);
	snprintf(path, sizeof path, "%s/passwd", d->dir);
	if (rc == 0)
		rc = os_write_file(path, &text, 0644, err);
	buf_free(&text);
	return rc;
}

/* Every service whose executable the master checks at start when the
 * protocol is imap. */
static void dovecot_conf_executables(struct buf *c, const char *dir, const char *base_dir)
{
	static const char *const services[] = { "imap", "imap-login", "imap-hibernate", "imap-urlauth",
						"imap-urlauth-login", "imap-urlauth-worker" };
	buf_addf(c, "mail_plugin_dir = %s/modules\n", base_dir);
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		buf_addf(c, "service %s {\n  executable = %s/%s\n}\n", services[i], dir, services[i]);
}

/* A token passdb before the passwords: every token is asked about at a
 * local introspection endpoint (no tokeninfo, no cache), so a test that
 * changes the endpoint's answer sees the next login follow it. */
static int dovecot_conf_oauth2(const struct dovecot *d, struct buf *c, struct buf *err)
{
	char path[HARNESS_PATH_MAX + 16];
	struct buf args = BUF_INIT;
	buf_addf(&args,
		 "introspection_mode = post\n"
		 "introspection_url = http://127.0.0.1:%d/introspect\n"
		 "username_attribute = username\n"
		 "active_attribute = active\n"
		 "active_value = true\n"
		 "force_introspection = yes\n", d->oauth2_port);
	snprintf(path, sizeof path, "%s/oauth2.conf.ext", d->dir);
	int rc = os_write_file(path, &args, 0644, err);
	buf_free(&args);
	if (rc == 0)
		buf_addf(c, "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
			 "  args = %s\n}\n", path);
	return rc;
}

int dovecot_conf_write(const struct dovecot *d, const char *imap_dir, uid_t uid, gid_t gid,
		       struct buf *err)
{
	struct buf c = BUF_INIT;
	buf_addf(&c,
		 DOVECOT_CONF_MARK "\n"
		 "instance_name = %s\n"
		 "base_dir = %s/run\n"
		 "state_dir = %s/state\n"
		 "log_path = %s\n"
		 "protocols = imap\n"
		 "listen = 127.0.0.1\n"
		 "ssl = yes\n"
		 "ssl_cert = <%s\n"
		 "ssl_key = <%s\n"
		 "disable_plaintext_auth = no\n"
		 "auth_mechanisms = plain login cram-md5%s\n"
		 "auth_verbose = yes\n"
		 "auth_failure_delay = 0\n"
		 "first_valid_uid = %u\n"
		 "last_valid_uid = %u\n"
		 "mail_location = maildir:%s/%%u\n"
		 "mail_plugins = quota acl\n",
		 d->instance, d->dir, d->dir, d->log, d->certs.certfile, d->certs.keyfile,
		 d->oauth2_port > 0 ? " xoauth2 oauthbearer" : "", (unsigned)uid, (unsigned)uid, d->mailroot);
	buf_addf(&c,
		 "namespace inbox {\n"
		 "  inbox = yes\n"
		 "  separator = %c\n"
		 "  mailbox Drafts {\n    special_use = \\Drafts\n  }\n"
		 "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
		 "  mailbox Trash {\n    special_use = \\Trash\n  }\n"
		 "  mailbox Junk {\n    special_use = \\Junk\n  }\n"
		 "}\n", d->separator);
	if (d->oauth2_port > 0 && dovecot_conf_oauth2(d, &c, err) < 0) {
		buf_free(&c);
		return -1;
	}
	buf_addf(&c,
		 "passdb {\n"
		 "  driver = passwd-file\n"
		 "  args = scheme=PLAIN username_format=%%u %s/passwd\n"
		 "}\n"
		 "userdb {\n"
		 "  driver = passwd-file\n"
		 "  args = username_format=%%u %s/passwd\n"
		 "  default_fields = uid=%u gid=%u home=%s/%%u\n"
		 "}\n",
		 d->dir, d->dir, (unsigned)uid, (unsigned)gid, d->mailroot);
	buf_addf(&c,
		 "protocol imap {\n"
		 "  mail_plugins = $mail_plugins imap_quota imap_acl%s\n"
		 "  mail_max_userip_connections = %u\n"
		 "%s"
		 "}\n"
		 "plugin {\n"
		 "  quota = maildir:User quota\n"
		 "  quota_rule = *:storage=1G\n"
		 "  acl = vfile\n"
		 "}\n"
		 "service imap-login {\n"
		 "  inet_listener imap {\n    address = 127.0.0.1\n    port = %d\n  }\n"
		 "  inet_listener imaps {\n    address = 127.0.0.1\n    port = %d\n    ssl = yes\n  }\n"
		 "}\n"
		 "# Failed logins would otherwise slow down every later login from 127.0.0.1.\n"
		 "service anvil {\n"
		 "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"
		 "}\n",
		 d->compress ? " zlib imap_zlib" : "",
		 d->max_connections ? d->max_connections : 500,
		 d->bare ? "  imap_capability = IMAP4rev1\n" : "", d->imap_port, d->imaps_port);
	if (imap_dir)
		dovecot_conf_executables(&c, imap_dir, d->dir);
	int rc = os_write_file(d->conf, &c, 0644, err);
	buf_free(&c);
	return rc;
}

/* Shell-evaluable, and what dovecot_attach() reads back. */
int dovecot_conf_write_env(const struct dovecot *d, struct buf *err)
{
	struct buf e = BUF_INIT;
	char path[HARNESS_PATH_MAX + 16];
	buf_addf(&e,
		 "IMAP_HOST=127.0.0.1\n"
		 "IMAP_PORT=%d\n"
		 "IMAPS_PORT=%d\n"
		 "IMAP_SEPARATOR='%c'\n"
		 "CAFILE=%s\n"
		 "OTHER_CAFILE=%s\n"
		 "MAILROOT=%s\n"
		 "DOVECOT_CONF=%s\n"
		 "DOVECOT_LOG=%s\n"
		 "DOVECOT_INSTANCE=%s\n"
		 "DOVECOT_PID=%d\n",
		 d->imap_port, d->imaps_port, d->separator, d->certs.cafile, d->certs.otherca,
		 d->mailroot, d->conf, d->log, d->instance, (int)d->master);
	snprintf(path, sizeof path, "%s/server.env", d->dir);
	int rc = os_write_file(path, &e, 0644, err);
	buf_free(&e);
	return rc;
}

static bool dovecot_conf_env_value(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line; ) {
		size_t n = strcspn(line, "\n");
		if (n > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
			const char *v = line + klen + 1;
			n -= klen + 1;
			if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
				v++;
				n -= 2;
			}
			if (n >= size)
				return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		line += n;
		if (*line)
			line++;
	}
	return false;
}

int dovecot_conf_read_env(struct dovecot *d, const char *dir, struct buf *err)
{
	char path[HARNESS_PATH_MAX + 16], num[32], sep[4];
	struct buf text = BUF_INIT;
	memset(d, 0, sizeof *d);
	snprintf(path, sizeof path, "%s/server.env", dir);
	if (os_read_tail(path, 64 * 1024, &text) < 0) {
		buf_addf(err, "%s is not a test server directory (no server.env)", dir);
		buf_free(&text);
		return -1;
	}
	bool ok = dovecot_conf_env_value(text.data, "DOVECOT_CONF", d->conf, sizeof d->conf) &&
		  dovecot_conf_env_value(text.data, "DOVECOT_LOG", d->log, sizeof d->log) &&
		  dovecot_conf_env_value(text.data, "DOVECOT_INSTANCE", d->instance, sizeof d->instance) &&
		  dovecot_conf_env_value(text.data, "MAILROOT", d->mailroot, sizeof d->mailroot) &&
		  dovecot_conf_env_value(text.data, "CAFILE", d->certs.cafile, sizeof d->certs.cafile) &&
		  dovecot_conf_env_value(text.data, "OTHER_CAFILE", d->certs.otherca, sizeof d->certs.otherca) &&
		  dovecot_conf_env_value(text.data, "IMAP_SEPARATOR", sep, sizeof sep) &&
		  dovecot_conf_env_value(text.data, "IMAP_PORT", num, sizeof num) &&
		  (d->imap_port = atoi(num)) > 0 &&
		  dovecot_conf_env_value(text.data, "IMAPS_PORT", num, sizeof num) &&
		  (d->imaps_port = atoi(num)) > 0 &&
		  dovecot_conf_env_value(text.data, "DOVECOT_PID", num, sizeof num) &&
		  (d->master = atoi(num)) > 0;
	buf_free(&text);
	size_t dlen = strlen(d->conf) >= strlen("/dovecot.conf") ? strlen(d->conf) - strlen("/dovecot.conf") : 0;
	if (!ok || dlen == 0 || dlen >= sizeof d->dir || !dovecot_conf_plain_path(d->conf)) {
		buf_addf(err, "%s/server.env is incomplete or damaged", dir);
		return -1;
	}
	memcpy(d->dir, d->conf, dlen);
	d->dir[dlen] = '\0';
	/* The file must describe the directory it is in: stop removes d->dir. */
	char *real = realpath(dir, NULL);
	bool same = real && strcmp(real, d->dir) == 0;
	free(real);
	if (!same) {
		buf_addf(err, "%s/server.env describes another directory (%s)", dir, d->dir);
		return -1;
	}
	d->separator = sep[0];
	return 0;
}

/* Never remove a directory whose configuration we did not write. */
bool dovecot_conf_is_ours(const struct dovecot *d)
{
	char conf[HARNESS_PATH_MAX], line[128] = "";
	snprintf(conf, sizeof conf, "%s/dovecot.conf", d->dir);
	if (d->dir[0] != '/' || !d->dir[1] || strcmp(conf, d->conf) != 0)
		return false;
	FILE *f = fopen(conf, "r");
	if (!f)
		return false;
	bool ours = fgets(line, sizeof line, f) && strcmp(line, DOVECOT_CONF_MARK "\n") == 0;
	fclose(f);
	return ours;
}
