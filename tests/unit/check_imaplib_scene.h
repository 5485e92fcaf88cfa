/* check_imaplib_scene.h: what the parts of check_imaplib share: a scene is
 * one scripted fake server and the client connected to it, torn down so
 * that the script must have run to its end exactly.  Each part adds its
 * tests to the one "fake-server" TCase through one function. */
#ifndef IMAPFS_CHECK_IMAPLIB_SCENE_H
#define IMAPFS_CHECK_IMAPLIB_SCENE_H

#include <check.h>

#include "buf.h"
#include "fake.h"
#include "harness_cert.h"
#include "imap.h"
#include "imaplib.h"

#define GREETING                                                   \
	"S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN ENABLE] ready\n" \
	"C: <tag0> CAPABILITY\n"                                     \
	"S: * CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=CRAM-MD5 ENABLE STARTTLS\n" \
	"S: <tag0> OK CAPABILITY completed\n"

struct scene {
	struct fake_server *fake;
	struct imap *s;
	struct imap_result r;
	struct buf err;
	struct test_certs certs;
	char certdir[64];
};

struct imap_opts default_opts(void);
void scene_fake(struct scene *sc, const char *script, const struct fake_opts *fo);
/* Starts the fake and connects; returns imap_open's result. */
int scene_open(struct scene *sc, const char *script, const struct imap_opts *o);
/* Closes the client and requires the script to have run exactly, or (with
 * fake_failure) the fake server to have failed saying so. */
void scene_end_with(struct scene *sc, const char *fake_failure);
void scene_end(struct scene *sc);
/* The scene's result as imaplib's tuple would print; valid until the next call. */
const char *repr(struct scene *sc);

void check_imaplib_add_login(TCase *tc);
void check_imaplib_add_commands(TCase *tc);
void check_imaplib_add_idle(TCase *tc);
void check_imaplib_add_starttls(TCase *tc);
void check_imaplib_add_pipeline(TCase *tc);

#endif
