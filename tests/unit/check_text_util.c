/* check_text_util.c: the helpers the parts of check_text share.  Expected
 * values where a rule is large come from the real interpreter, so the
 * run of python3 lives here once, with the seeded random inputs fed to it. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "check_text_util.h"

#define PYTHON "/usr/bin/python3"

/* xorshift64: a fixed seed per test keeps every run identical. */
uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

unsigned rnd_below(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd_next(s) % n);
}

void utf8_put(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addch(b, (char)(0xc0 | cp >> 6));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addch(b, (char)(0xe0 | cp >> 12));
		buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addch(b, (char)(0xf0 | cp >> 18));
		buf_addch(b, (char)(0x80 | (cp >> 12 & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	}
}

void hex_line(struct buf *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%02x", s[i]);
	buf_addch(b, '\n');
}

bool python_present(void)
{
	if (access(PYTHON, X_OK) == 0)
		return true;
	fprintf(stderr, "check_text: %s is missing; comparison with Python skipped\n", PYTHON);
	return false;
}

/* Runs `python3 -c script FILE` where FILE holds input; returns its stdout. */
void python_run(const char *script, const struct buf *input, struct buf *out)
{
	const char *tmp = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	buf_addf(&path, "%s/check_text.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path.data);
	ck_assert_msg(fd >= 0, "mkstemp %s", path.data);
	ck_assert_int_eq(write(fd, input->data, input->len), (ssize_t)input->len);
	close(fd);

	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(PYTHON, PYTHON, "-c", script, path.data, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	char chunk[65536];
	ssize_t n;
	while ((n = read(pipefd[0], chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	close(pipefd[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unlink(path.data);
	buf_free(&path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "python exited with status %d", status);
}

/* Line-by-line comparison so a failure names the first differing line. */
void assert_same_lines(const struct buf *expected, const struct buf *got)
{
	const char *e = expected->data, *g = got->data;
	size_t line = 1;
	while (*e || *g) {
		size_t el = strcspn(e, "\n"), gl = strcspn(g, "\n");
		ck_assert_msg(el == gl && memcmp(e, g, el) == 0,
			      "line %zu: python says [%.*s], we say [%.*s]", line, (int)el, e,
			      (int)gl, g);
		e += el + (e[el] == '\n');
		g += gl + (g[gl] == '\n');
		line++;
	}
	ck_assert_uint_eq(expected->len, got->len);
}

void set_tz(const char *tz)
{
	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

bool have_zoneinfo(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
	if (access(path, R_OK) == 0)
		return true;
	fprintf(stderr, "check_text: no tzdata for %s; that case skipped\n", name);
	return false;
}

uint32_t random_code_point(uint64_t *s)
{
	switch (rnd_below(s, 7)) {
	case 0:
	case 1:
		return 0x20 + rnd_below(s, 0x5f);
	case 2:
		return '&';
	case 3:
		return rnd_below(s, 2) ? 0x7f : 1 + rnd_below(s, 0x1f);
	case 4:
		return 0x80 + rnd_below(s, 0x780);
	case 5: {
		uint32_t cp = 0x800 + rnd_below(s, 0xf800);
		return cp >= 0xd800 && cp <= 0xdfff ? cp + 0x800 : cp;
	}
	default:
		return 0x10000 + rnd_below(s, 0x100000);
	}
}
