/* check_stall.c: a server that stalls, trickles or chatters never holds a
 * reader for ever.  Scripted hostile servers that, after a command, say
 * "* OK still here" every second, send untagged data or bodies nobody
 * asked for, or send the body one byte a second:
 *  - core: each command has one deadline for its whole exchange
 *    (IMAP_ABORT "timed out"), only literal bytes that move for it (a
 *    body kept, a message sent) earn time, and a cancel fd ends a wait at
 *    once;
 *  - fs core: fs_open_body fails with EIO, an interrupted request returns
 *    EINTR at once (the fetch goes on into the cache), fs_stop returns at
 *    once, also while a connection is being opened, which has one
 *    deadline for connect, greeting and login;
 *  - a token fired while its request wakes for another reason: the wait
 *    returns only once the fire is done with its lock;
 *  - the end of a FUSE session (over custom io whose writes can be held):
 *    never destroyed while a notification is still inside it;
 *  - a real mount: a killed reader is reaped at once, an interrupted read
 *    returns EINTR, unmount ends the daemon while the server stalls, and
 *    -o timeout= bounds a read.
 * Every stall lasts far longer than the bounds asserted, which only prove
 * that nothing waited for the stall to end.  The scripts and the fs core
 * they share are in check_stall_util.c; each topic above is a part of its
 * own (check_stall_core.c, check_stall_fs.c, check_stall_fire.c,
 * check_stall_session.c, check_stall_mount.c) and main() adds them. */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check_run.h"
#include "check_stall_util.h"
#include "fs.h"
#include "harness_mount.h"
#include "harness_os.h"

struct mount_env env;
char workdir[64];

int main(void)
{
	fs_log_to_stderr(true);
	snprintf(workdir, sizeof workdir, "/tmp/imapfs-stall-XXXXXX");
	if (!mkdtemp(workdir))
		return EXIT_FAILURE;
	Suite *su = suite_create("stall");
	TCase *core = tcase_create("core");
	tcase_set_timeout(core, 2 * STALL_S);
	check_stall_add_core(core);
	suite_add_tcase(su, core);
	TCase *fsc = tcase_create("fs");
	tcase_set_timeout(fsc, 2 * STALL_S);
	check_stall_add_fs(fsc);
	suite_add_tcase(su, fsc);
	TCase *end = tcase_create("end");
	tcase_set_timeout(end, 2 * STALL_S);
	check_stall_add_session(end);
	suite_add_tcase(su, end);
	TCase *fire = tcase_create("fire");
	tcase_set_timeout(fire, 60);
	check_stall_add_fire(fire);
	suite_add_tcase(su, fire);
	bool mounts = getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 &&
		      access("/bin/fusermount3", X_OK) == 0 && mount_env_init(&env) == 0;
	if (mounts) {
		TCase *mnt = tcase_create("mount");
		tcase_set_timeout(mnt, 2 * STALL_S);
		check_stall_add_mount(mnt);
		suite_add_tcase(su, mnt);
	} else {
		fprintf(stderr, "check_stall: no FUSE mounts here (root, /dev/fuse, fusermount3): "
				"the mount tests are skipped\n");
	}
	int failed = check_run_suite(su);
	if (mounts)
		failed += mount_env_cleanup(&env);
	struct buf err = BUF_INIT;
	if (os_rmtree(workdir, &err) != 0) {
		fprintf(stderr, "check_stall: %s\n", err.len ? err.data : workdir);
		failed++;
	}
	buf_free(&err);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
