/* check_text_util.h: what the parts of check_text share: a seeded random
 * source, UTF-8 and hex writers, the run of the real /usr/bin/python3 that
 * the comparisons check against, and the time zone switch.  Each part adds
 * its tests through one function; the "python" TCase gathers the slow
 * comparisons of every part under one long timeout. */
#ifndef IMAPFS_CHECK_TEXT_UTIL_H
#define IMAPFS_CHECK_TEXT_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* xorshift64: a fixed seed per test keeps every run identical. */
uint64_t rnd_next(uint64_t *s);
unsigned rnd_below(uint64_t *s, unsigned n);
/* A code point of a random class: ASCII, '&', controls, 2-, 3- and 4-byte. */
uint32_t random_code_point(uint64_t *s);

void utf8_put(struct buf *b, uint32_t cp);
/* The bytes in hex and a newline: one input line for a Python script. */
void hex_line(struct buf *b, const void *p, size_t n);

/* False (and says so on stderr) when there is no Python to compare with. */
bool python_present(void);
/* Runs `python3 -c script FILE` where FILE holds input; returns its stdout. */
void python_run(const char *script, const struct buf *input, struct buf *out);
/* Line-by-line comparison so a failure names the first differing line. */
void assert_same_lines(const struct buf *expected, const struct buf *got);

void set_tz(const char *tz);
/* False (and says so on stderr) when tzdata lacks the zone. */
bool have_zoneinfo(const char *name);

/* The parts, each adding its tests to its own TCase and its comparisons
 * with Python to the shared "python" one. */
void check_text_add_mutf7(TCase *tc, TCase *python);
void check_text_add_date(TCase *tc, TCase *python);
void check_text_add_quote(TCase *tc, TCase *python);
void check_text_add_seqset(TCase *tc);
void check_text_add_pyrepr(TCase *tc, TCase *python);

#endif
