/* check_rng.h: the pseudo-random sequence of the property tests, xorshift64*:
 * deterministic, so that a failure reproduces.  Seed rng_state first. */
#ifndef IMAPFS_CHECK_RNG_H
#define IMAPFS_CHECK_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

#endif
