/* harness_cert.h: a throw-away certificate authority for TLS tests.
 * Made at test time with certtool (Debian package gnutls-bin). */
#ifndef IMAPFS_HARNESS_CERT_H
#define IMAPFS_HARNESS_CERT_H

struct buf;

struct test_certs {
	char cafile[512];    /* CA certificate (PEM): give this to the client as cafile */
	char certfile[512];  /* server certificate for "localhost" and 127.0.0.1, signed by the CA */
	char keyfile[512];   /* server key */
	char otherca[512];   /* an unrelated CA certificate: verification against it must fail */
};

/* Writes the files into dir (which must exist).  Returns 0 or -1 with err set. */
int test_certs_make(const char *dir, struct test_certs *out, struct buf *err);

#endif
