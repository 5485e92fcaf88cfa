/* check_stall_util.c: the hostile servers every part of check_stall plays
 * against (chatter, trickles, data and bodies nobody asked for), and the fs
 * core over one of them, so that each part states only what it provokes
 * and what must not wait for it. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_stall_util.h"
#include "clock.h"
#include "fs.h"

/* ---- hostile scripts ---- */

/* "* OK still here" every second for s seconds. */
void add_chatter(struct buf *script, int s)
{
	for (int i = 0; i < s; i++)
		buf_addstr(script, "SLEEP 1000\nS: * OK still here\n");
}

/* The start of a body literal of n bytes, then one byte a second for s
 * seconds (s < n: it never ends in time). */
void add_trickle(struct buf *script, const char *fetch_head, int n, int s)
{
	buf_addf(script, "S+ %s {%d}\\r\\n\n", fetch_head, n);
	for (int i = 0; i < s; i++)
		buf_addstr(script, "SLEEP 1000\nS+ x\n");
}

/* Untagged data about 20 KB a second for s seconds: "* SEARCH 1 1 1 ..."
 * and "* 1 EXISTS", which any server may send at any time and no command
 * asked for. */
void add_data_chatter(struct buf *script, int s)
{
	struct buf search = BUF_INIT;
	buf_addstr(&search, "* SEARCH");
	while (search.len < 5000)
		buf_addstr(&search, " 1");
	for (int i = 0; i < 4 * s; i++)
		buf_addf(script, "SLEEP 250\nS: %s\nS: * 1 EXISTS\n", search.data);
	buf_free(&search);
}

/* Bodies of a message nobody asked for (UID 99), 20 KB a second for s
 * seconds: read past (a discarding sink), never progress. */
void add_unwanted_bodies(struct buf *script, int s)
{
	for (int i = 0; i < 4 * s; i++)
		buf_addstr(script, "SLEEP 250\nS: * 9 FETCH (UID 99 BODY[] {5000}\nLITERAL 5000 u\nS: )\n");
}

/* A server that goes on sending after the client closed fails its next
 * write: the client abandoned the exchange instead of waiting it out. */
void finish_abandoned(struct fake_server *f)
{
	struct buf err = BUF_INIT;
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "write failed") != NULL, "fake server: %s", err.data);
	buf_free(&err);
}


struct fake_server *start_fake(const struct buf *script)
{
	return fakefs_server_start(script->data, SERVER_TIMEOUT_MS);
}

/* ---- the filesystem core ---- */

/* The core with one connection to a server playing script and its own
 * cache under workdir; 1.eml looked up. */
void stall_fs_open(struct stall_fs *sf, const struct buf *script, int timeout_s)
{
	struct fakefs_opts o = { .timeout_s = timeout_s, .server_timeout_ms = SERVER_TIMEOUT_MS,
				 .cache_size = 1ull << 30, .start = true, .parent = workdir };
	fakefs_open(&sf->ff, script->data, &o);
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(sf->ff.fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(sf->ff.fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	sf->ino = e.ino;
}

/* fs_open_body of 1.eml; *ms: how long it took. */
int open_body(struct stall_fs *sf, long long *ms)
{
	struct cache_span body;
	bool keep;
	long long t0 = clock_ms();
	int rc = fs_open_body(sf->ff.fs, sf->ino, O_RDONLY, 0, &body, &keep);
	*ms = clock_ms() - t0;
	if (rc == 0)
		close(body.fd);
	return rc;
}


/* Joins t within ms; false when it is still running. */
bool join_within(pthread_t t, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	return pthread_timedjoin_np(t, NULL, &until) == 0;
}
