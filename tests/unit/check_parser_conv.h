/* check_parser_conv.h: the parts of check_parser and what they share.
 * check_conv runs a conversation every way the bytes can arrive and
 * compares the transcript (see check_parser_conv.c); each part adds its
 * tests to the TCase main gives it, in the order they always ran. */
#ifndef IMAPFS_CHECK_PARSER_CONV_H
#define IMAPFS_CHECK_PARSER_CONV_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "parser.h"

enum hook_mode { HOOK_NONE, HOOK_MEMORY, HOOK_STREAM };

struct run_opts {
	struct imap_parser_limits lim;
	enum hook_mode hook;
	uint64_t stream_min;     /* HOOK_STREAM: literals of at least this size */
	uint64_t sink_fail_at;   /* a sink fails once it would hold more; 0 = never */
};

uint64_t fnv1a(const void *p, size_t n);
/* a step of a fixed pseudo-random sequence: inputs are the same every run */
uint64_t rng_next(uint64_t *state);
/* Runs data every way and checks the transcript against want; o may be
 * NULL for the default limits and no hook. */
void check_conv_n(const char *data, size_t len, const struct run_opts *o, const char *want);
void check_conv(const char *data, const struct run_opts *o, const char *want);

/* TCase "framing" */
void check_parser_add_simple(TCase *tc);
void check_parser_add_literals(TCase *tc);
void check_parser_add_framing(TCase *tc);
void check_parser_add_state(TCase *tc);
/* TCase "structure" */
void check_parser_add_structure(TCase *tc);
/* TCase "gmail": X-GM-EXT-1's FETCH items (proto/gmail.h) */
void check_parser_add_gmail(TCase *tc);

#endif
