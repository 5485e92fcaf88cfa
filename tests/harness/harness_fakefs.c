/* harness_fakefs.c: the filesystem core against a scripted server. */
#include "config.h"
#include "harness_fakefs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "harness_os.h"
#include "remote/pool.h"

void fakefs_account(struct fs_config *cfg, const char *user, const char *port)
{
	struct buf err = BUF_INIT;
	memset(cfg, 0, sizeof *cfg);
	char url[128];
	snprintf(url, sizeof url, "imap://%s@127.0.0.1:%s", user, port);
	ck_assert_msg(url_parse(url, &cfg->url, &err) == 0, "%s", err.data);
	cfg->url.password = xstrdup("secret");
	cfg->tls_none = true;
	buf_free(&err);
}

struct pool *fakefs_pool_new(const char *user, const char *port, struct fs_config *cfg)
{
	fakefs_account(cfg, user, port);
	struct buf err = BUF_INIT;
	cfg->connections = 2;
	cfg->timeout_s = 30;
	cfg->debug = getenv("CHECK_WRITE_DEBUG") != NULL;
	struct pool *p;
	ck_assert_msg(pool_new(&p, cfg, &err) == 0, "pool_new: %s", err.data);
	buf_free(&err);
	return p;
}

void fakefs_pool_free(struct pool *p, struct fs_config *cfg)
{
	pool_free(p);
	url_free(&cfg->url);
}

struct fake_server *fakefs_server_start(const char *script, int timeout_ms)
{
	struct buf err = BUF_INIT;
	struct fake_opts fo = { .timeout_ms = timeout_ms };
	struct fake_server *f = fake_start(script, &fo, &err);
	ck_assert_msg(f != NULL, "fake_start: %s", err.data);
	buf_free(&err);
	return f;
}

void fakefs_server_finish(struct fake_server *f)
{
	struct buf err = BUF_INIT;
	ck_assert_msg(fake_finish(f, &err) == 0, "the server's script: %s", err.data);
	buf_free(&err);
}

void fakefs_config(struct fakefs *ff, const char *script, const struct fakefs_opts *o)
{
	static const struct fakefs_opts defaults;
	if (!o)
		o = &defaults;
	memset(ff, 0, sizeof *ff);
	ff->f = fakefs_server_start(script, o->server_timeout_ms);
	snprintf(ff->dir, sizeof ff->dir, "%s/imapfs-fakefs-XXXXXX", o->parent ? o->parent : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(ff->dir));
	fakefs_account(&ff->cfg, "alice", fake_port_str(ff->f));
	ff->cfg.cachedir = ff->dir;
	ff->cfg.cache_size = o->cache_size;
	ff->cfg.connections = o->connections ? o->connections : 1;
	ff->cfg.timeout_s = o->timeout_s ? o->timeout_s : 10;
	ff->cfg.poll_s = o->poll_each_access ? 0 : 600;
}

void fakefs_open(struct fakefs *ff, const char *script, const struct fakefs_opts *o)
{
	struct buf err = BUF_INIT;
	fakefs_config(ff, script, o);
	ck_assert_msg(fs_new(&ff->fs, &ff->cfg, &err) == 0, "fs_new: %s", err.data);
	if (o && o->start)
		ck_assert_int_eq(fs_start(ff->fs), 0);
	buf_free(&err);
}

void fakefs_free(struct fakefs *ff)
{
	fs_free(ff->fs);
	ff->fs = NULL;
	url_free(&ff->cfg.url);
	ck_assert_int_eq(os_rmtree(ff->dir, NULL), 0);
}

void fakefs_close(struct fakefs *ff)
{
	fakefs_free(ff);
	fakefs_server_finish(ff->f);
	ff->f = NULL;
}
