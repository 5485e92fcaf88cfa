/* check_transport_util.h: what the parts of check_transport share: line
 * I/O over a transport with every wait bounded, the scripted fake server
 * started and finished with its errors asserted, the test certificates of
 * the "tls" TCase, and the big write both TCP and TLS must survive.  Each
 * part adds its own TCase to the suite through one function. */
#ifndef IMAPFS_CHECK_TRANSPORT_UTIL_H
#define IMAPFS_CHECK_TRANSPORT_UTIL_H

#include <check.h>
#include <stdbool.h>

#include "buf.h"
#include "fake.h"
#include "harness_cert.h"
#include "transport.h"

/* Bounds every wait so a broken transport fails instead of hanging. */
#define WAIT_MS 5000

/* One line (with its CRLF) from t into line, in holding what came after. */
int read_line(struct transport *t, struct buf *in, struct buf *line, struct buf *err);
void expect_line(struct transport *t, struct buf *in, const char *want);
void send_str(struct transport *t, const char *s);

struct fake_server *start_fake(const char *script, const struct fake_opts *o);
void finish_ok(struct fake_server *f);
struct transport *connect_ok(const char *host, const struct fake_server *f);
bool have_ipv6(void);

/* Made by certs_setup, the "tls" TCase's fixture, in a directory that
 * certs_teardown removes. */
extern struct test_certs certs;
void certs_setup(void);
void certs_teardown(void);
struct fake_opts tls_fake_opts(bool implicit);

/* The server does not read until we are blocked, so write_some must report
 * partial progress and 0, and every byte must still arrive in order. */
void big_write_with_slow_reader(bool tls);

void check_transport_add_tcp(Suite *s);
void check_transport_add_spawn(Suite *s);
void check_transport_add_tls(Suite *s);
void check_transport_add_sasl(Suite *s);
void check_transport_add_fake(Suite *s);

#endif
