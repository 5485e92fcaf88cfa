/* check_imaplib_scene.c: the scene the parts of check_imaplib share.  Its
 * end asserts the fake server's verdict, so no test can pass while the
 * client sent other bytes than the script wants. */
#include "config.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_imaplib_scene.h"
#include "fake.h"
#include "imap.h"
#include "imaplib.h"

struct imap_opts default_opts(void)
{
	struct imap_opts o = { .timeout_ms = 5000, .allow_plaintext = true };
	return o;
}

void scene_fake(struct scene *sc, const char *script, const struct fake_opts *fo)
{
	memset(sc, 0, sizeof *sc);
	buf_init(&sc->err);
	sc->fake = fake_start(script, fo, &sc->err);
	ck_assert_msg(sc->fake != NULL, "fake_start: %s", sc->err.data);
}

/* Starts the fake and connects; returns imap_open's result. */
int scene_open(struct scene *sc, const char *script, const struct imap_opts *o)
{
	scene_fake(sc, script, NULL);
	struct imap_opts opts = o ? *o : default_opts();
	return imap_open(&sc->s, "127.0.0.1", fake_port_str(sc->fake), &opts, &sc->err);
}

/* Closes the client and requires the script to have run exactly, or (with
 * fake_failure) the fake server to have failed saying so. */
void scene_end_with(struct scene *sc, const char *fake_failure)
{
	imap_result_free(&sc->r);
	imap_close(sc->s);
	sc->s = NULL;
	struct buf ferr = BUF_INIT;
	int rc = fake_finish(sc->fake, &ferr);
	if (fake_failure)
		ck_assert_msg(rc < 0 && strstr(ferr.data, fake_failure), "fake server: %s", ferr.data);
	else
		ck_assert_msg(rc == 0, "fake server: %s", ferr.data);
	buf_free(&ferr);
	buf_free(&sc->err);
	if (sc->certdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", sc->certdir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

void scene_end(struct scene *sc)
{
	scene_end_with(sc, NULL);
}

const char *repr(struct scene *sc)
{
	static struct buf out;
	buf_free(&out);
	imap_result_repr(&sc->r, &out);
	return out.data;
}
