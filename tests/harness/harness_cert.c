/* harness_cert.c: CA, server certificate and a stranger CA, made with certtool. */
#include "config.h"
#include "harness_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "buf.h"
#include "harness_os.h"

static int write_text(const char *path, const char *text, struct buf *err)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, text);
	int rc = os_write_file(path, &b, 0644, err);
	buf_free(&b);
	return rc;
}

static int run(const char *cmd, struct buf *err)
{
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		buf_addf(err, "failed: %s (is gnutls-bin installed?)", cmd);
		return -1;
	}
	return 0;
}

static int make_ca(const char *dir, const char *name, const char *cn, struct buf *err)
{
	char tmpl[600], cmd[2048], text[256];
	snprintf(tmpl, sizeof tmpl, "%s/%s.tmpl", dir, name);
	snprintf(text, sizeof text, "cn = \"%s\"\nca\ncert_signing_key\nexpiration_days = 30\n", cn);
	if (write_text(tmpl, text, err) < 0)
		return -1;
	snprintf(cmd, sizeof cmd,
		 "certtool --generate-privkey --key-type=ecdsa --outfile '%s/%s-key.pem' >/dev/null 2>&1 && "
		 "certtool --generate-self-signed --load-privkey '%s/%s-key.pem' --template '%s' "
		 "--outfile '%s/%s.pem' >/dev/null 2>&1",
		 dir, name, dir, name, tmpl, dir, name);
	return run(cmd, err);
}

int test_certs_make(const char *dir, struct test_certs *out, struct buf *err)
{
	char tmpl[600], cmd[4096];
	if (make_ca(dir, "ca", "imapfs test CA", err) < 0 ||
	    make_ca(dir, "otherca", "somebody else's CA", err) < 0)
		return -1;
	snprintf(tmpl, sizeof tmpl, "%s/server.tmpl", dir);
	if (write_text(tmpl, "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
			     "ip_address = \"::1\"\ntls_www_server\nencryption_key\nsigning_key\n"
			     "expiration_days = 30\n", err) < 0)
		return -1;
	snprintf(cmd, sizeof cmd,
		 "certtool --generate-privkey --key-type=ecdsa --outfile '%s/server-key.pem' >/dev/null 2>&1 && "
		 "certtool --generate-certificate --load-privkey '%s/server-key.pem' "
		 "--load-ca-certificate '%s/ca.pem' --load-ca-privkey '%s/ca-key.pem' "
		 "--template '%s' --outfile '%s/server.pem' >/dev/null 2>&1",
		 dir, dir, dir, dir, tmpl, dir);
	if (run(cmd, err) < 0)
		return -1;
	snprintf(out->cafile, sizeof out->cafile, "%s/ca.pem", dir);
	snprintf(out->certfile, sizeof out->certfile, "%s/server.pem", dir);
	snprintf(out->keyfile, sizeof out->keyfile, "%s/server-key.pem", dir);
	snprintf(out->otherca, sizeof out->otherca, "%s/otherca.pem", dir);
	return 0;
}
