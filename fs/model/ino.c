/* ino.c: stable inode numbers (ino.h). */
#include "config.h"

#include "model/ino.h"

/* Stable inode numbers: the same (kind, name, x, y) gives the same number on
 * every mount, so backup tools comparing inodes see unchanged files.  FNV-1a
 * then a 64-bit finaliser; never 0 or the root's 1. */
uint64_t fs_hash_ino(const char *kind, const char *a, uint32_t x, uint32_t y)
{
	uint64_t h = 1469598103934665603ull;
	const char *parts[2] = { kind, a };
	for (int k = 0; k < 2; k++) {
		for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	h ^= ((uint64_t)x << 32) | y;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h > 1 ? h : h + 2;
}
