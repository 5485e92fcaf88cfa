/* check_transport.c: TCP, TLS and spawned-command transports against the
 * scripted fake server, SASL mechanisms, and the fake server itself.  Each
 * has its own file, check_transport_<topic>.c; this one builds the suite. */
#include "config.h"
#include <check.h>
#include <stdlib.h>

#include "check_run.h"
#include "check_transport_util.h"

int main(void)
{
	Suite *s = suite_create("transport");
	check_transport_add_tcp(s);
	check_transport_add_spawn(s);
	check_transport_add_tls(s);
	check_transport_add_sasl(s);
	check_transport_add_fake(s);
	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
