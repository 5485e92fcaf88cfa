/* check_imaplib_starttls.c: STARTTLS, with certificates made for the
 * test.  What a real server cannot be made to do is scripted here: bytes
 * injected after the tagged OK must abort the connection, the capabilities
 * seen before TLS must be forgotten, and an untrusted certificate must
 * stop the upgrade. */
#include "config.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_imaplib_scene.h"
#include "fake.h"
#include "harness_cert.h"
#include "imap.h"
#include "imaplib.h"

static void make_certs(struct scene *sc)
{
	snprintf(sc->certdir, sizeof sc->certdir, "/tmp/imapfs-certs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sc->certdir));
	struct buf err = BUF_INIT;
	ck_assert_msg(test_certs_make(sc->certdir, &sc->certs, &err) == 0, "%s", err.data);
	buf_free(&err);
}

START_TEST(test_starttls_injection_is_refused)
{
	struct scene sc;
	struct test_certs certs;
	memset(&sc, 0, sizeof sc);
	make_certs(&sc);
	certs = sc.certs;
	char dir[64];
	memcpy(dir, sc.certdir, sizeof dir);
	struct fake_opts fo = { .certs = &certs };
	scene_fake(&sc, GREETING
		   "C: <tag1> STARTTLS\n"
		   "S+ <tag1> OK Begin TLS negotiation now\\r\\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\\r\\n\n"
		   "DRAIN\n", &fo);
	memcpy(sc.certdir, dir, sizeof dir);
	struct imap_opts o = default_opts();
	o.tls.cafile = certs.cafile;
	ck_assert_int_eq(imap_open(&sc.s, "127.0.0.1", fake_port_str(sc.fake), &o, &sc.err), IMAP_OK);
	int rc = imap_starttls(sc.s, NULL, &sc.r);
	ck_assert_int_eq(rc, IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "injection") != NULL, "%s", imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

START_TEST(test_starttls_not_advertised)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * OK hi\nC: <tag0> CAPABILITY\nS: * CAPABILITY IMAP4rev1\n"
				    "S: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_starttls(sc.s, NULL, &sc.r), IMAP_ABORT);
	ck_assert_str_eq(imap_errmsg(sc.s), "TLS not supported by server");
	scene_end(&sc);
}
END_TEST

START_TEST(test_starttls_then_capabilities_again)
{
	struct scene sc;
	memset(&sc, 0, sizeof sc);
	make_certs(&sc);
	struct test_certs certs = sc.certs;
	char dir[64];
	memcpy(dir, sc.certdir, sizeof dir);
	struct fake_opts fo = { .certs = &certs };
	scene_fake(&sc, GREETING
		   "C: <tag1> STARTTLS\n"
		   "S: <tag1> OK Begin TLS negotiation now\n"
		   "TLS\n"
		   "C: <tag2> CAPABILITY\n"
		   "S: * CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=LOGIN\n"
		   "S: <tag2> OK done\n"
		   "C: <tag3> LOGIN alice \"secret\"\n"
		   "S: <tag3> OK Logged in\n"
		   "EOF\n", &fo);
	memcpy(sc.certdir, dir, sizeof dir);
	struct imap_opts o = default_opts();
	o.allow_plaintext = false;
	o.tls.cafile = certs.cafile;
	o.tls.servername = "localhost";
	ck_assert_int_eq(imap_open(&sc.s, "127.0.0.1", fake_port_str(sc.fake), &o, &sc.err), IMAP_OK);
	ck_assert_int_eq(imap_starttls(sc.s, NULL, &sc.r), IMAP_OK);
	ck_assert(imap_is_tls(sc.s));
	ck_assert(!imap_has_cap(sc.s, "STARTTLS"));   /* pre-TLS capabilities forgotten */
	ck_assert(imap_has_cap(sc.s, "AUTH=LOGIN"));
	ck_assert_int_eq(imap_login(sc.s, "alice", "secret", &sc.r), IMAP_OK);
	scene_end(&sc);
}
END_TEST

START_TEST(test_starttls_untrusted_certificate_aborts)
{
	struct scene sc;
	memset(&sc, 0, sizeof sc);
	make_certs(&sc);
	struct test_certs certs = sc.certs;
	char dir[64];
	memcpy(dir, sc.certdir, sizeof dir);
	struct fake_opts fo = { .certs = &certs };
	scene_fake(&sc, GREETING
		   "C: <tag1> STARTTLS\n"
		   "S: <tag1> OK Begin TLS negotiation now\n"
		   "TLS\n", &fo);
	memcpy(sc.certdir, dir, sizeof dir);
	struct imap_opts o = default_opts();
	o.tls.cafile = certs.otherca;
	o.tls.servername = "localhost";
	ck_assert_int_eq(imap_open(&sc.s, "127.0.0.1", fake_port_str(sc.fake), &o, &sc.err), IMAP_OK);
	ck_assert_int_eq(imap_starttls(sc.s, NULL, &sc.r), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "signer not found") != NULL, "%s", imap_errmsg(sc.s));
	scene_end_with(&sc, "TLS handshake failed");
}
END_TEST

void check_imaplib_add_starttls(TCase *tc)
{
	tcase_add_test(tc, test_starttls_injection_is_refused);
	tcase_add_test(tc, test_starttls_not_advertised);
	tcase_add_test(tc, test_starttls_then_capabilities_again);
	tcase_add_test(tc, test_starttls_untrusted_certificate_aborts);
}
