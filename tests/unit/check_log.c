/* check_log.c: fs_log, the daemon's log: every message is one whole line
 * however many threads log at once, and a message cannot break its line. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check_run.h"
#include "fs.h"

#define THREADS 8
#define LINES 2000

/* Standard error goes into a pipe that a thread drains into a buffer. */
struct capture {
	int saved_stderr;
	int rd;
	pthread_t reader;
	struct buf text;
};

static void *drain(void *arg)
{
	struct capture *c = arg;
	char chunk[4096];
	ssize_t n;
	while ((n = read(c->rd, chunk, sizeof chunk)) > 0)
		buf_add(&c->text, chunk, (size_t)n);
	return NULL;
}

static void capture_start(struct capture *c)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	buf_init(&c->text);
	c->rd = p[0];
	c->saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(c->saved_stderr, 0);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	ck_assert_int_eq(pthread_create(&c->reader, NULL, drain, c), 0);
}

/* Puts standard error back; the pipe ends, the reader has everything. */
static void capture_stop(struct capture *c)
{
	ck_assert_int_eq(dup2(c->saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(c->saved_stderr);
	pthread_join(c->reader, NULL);
	close(c->rd);
}

/* A payload whose length and letter depend on the line, so a line made of
 * pieces of two others cannot pass for a whole one. */
static int payload_len(int thread, int line)
{
	return (thread * 37 + line * 11) % 300;
}

static void *log_lines(void *arg)
{
	int t = (int)(intptr_t)arg;
	char payload[300];
	memset(payload, 'a' + t, sizeof payload);
	for (int i = 0; i < LINES; i++)
		fs_log(LOG_WARNING, "t%d line %d %.*s end", t, i, payload_len(t, i), payload);
	return NULL;
}

START_TEST(test_threads_never_mix_lines)
{
	fs_log_to_stderr(true);
	struct capture c;
	capture_start(&c);
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, log_lines, (void *)(intptr_t)t), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	capture_stop(&c);

	static bool seen[THREADS][LINES];
	memset(seen, 0, sizeof seen);
	size_t lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(c.text.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int t, i, off = 0;
		ck_assert_msg(sscanf(l, "imapfs: t%d line %d%n", &t, &i, &off) == 2 && l[off] == ' ',
			      "not a whole line: '%.200s'", l);
		ck_assert_msg(t >= 0 && t < THREADS && i >= 0 && i < LINES, "'%.200s'", l);
		const char *p = l + off + 1;
		int n = payload_len(t, i);
		for (int k = 0; k < n; k++)
			ck_assert_msg(p[k] == 'a' + t, "mixed line: '%.200s'", l);
		ck_assert_msg(!strcmp(p + n, " end"), "mixed line: '%.200s'", l);
		ck_assert_msg(!seen[t][i], "line twice: '%.200s'", l);
		seen[t][i] = true;
		lines++;
	}
	ck_assert_uint_eq(lines, THREADS * LINES);
	buf_free(&c.text);
}
END_TEST

/* A server's text with CR LF in it stays on its line. */
START_TEST(test_line_breaks_in_a_message_are_escaped)
{
	fs_log_to_stderr(true);
	struct capture c;
	capture_start(&c);
	fs_log(LOG_WARNING, "server said: %s", "no\r\nimapfs: forged line\x1b[2J");
	capture_stop(&c);
	ck_assert_str_eq(c.text.data,
			 "imapfs: server said: no\\x0d\\x0aimapfs: forged line\\x1b[2J\n");
	buf_free(&c.text);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("log");
	TCase *tc = tcase_create("stderr");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_threads_never_mix_lines);
	tcase_add_test(tc, test_line_breaks_in_a_message_are_escaped);
	suite_add_tcase(su, tc);
	return check_run_suite(su) ? EXIT_FAILURE : EXIT_SUCCESS;
}
