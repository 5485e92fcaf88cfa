/* siphash.c: SipHash-1-3 (Aumasson and Bernstein; the variant Rust's
 * HashMap uses), bytes read little-endian so results do not depend on the
 * machine. */
#include "config.h"
#include "siphash.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl64(v[1], 13) ^ v[0];
	v[0] = rotl64(v[0], 32);
	v[2] += v[3];
	v[3] = rotl64(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl64(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl64(v[1], 17) ^ v[2];
	v[2] = rotl64(v[2], 32);
}

uint64_t siphash13(const uint64_t key[2], const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v[4] = { 0x736f6d6570736575ull ^ key[0], 0x646f72616e646f6dull ^ key[1],
			  0x6c7967656e657261ull ^ key[0], 0x7465646279746573ull ^ key[1] };
	uint64_t last = (uint64_t)len << 56;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w = 0;
		for (int i = 0; i < 8; i++)
			w |= (uint64_t)p[i] << (8 * i);
		v[3] ^= w;
		sipround(v);
		v[0] ^= w;
	}
	for (size_t i = 0; i < len; i++)
		last |= (uint64_t)p[i] << (8 * i);
	v[3] ^= last;
	sipround(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	for (int i = 0; i < 3; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void siphash_key_random(uint64_t key[2], const void *seed)
{
	if (getrandom(key, 2 * sizeof *key, GRND_NONBLOCK) == (ssize_t)(2 * sizeof *key))
		return;
	/* no entropy yet: still unlike any other process */
	key[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	key[1] = (uint64_t)(uintptr_t)seed ^ (uint64_t)clock();
}
