/* check_du.h: the bytes of the regular files below a directory, as
 * du --apparent-size counts them: what a cache really holds on disk. */
#ifndef IMAPFS_CHECK_DU_H
#define IMAPFS_CHECK_DU_H

#include <check.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>

static uint64_t du_sum;

static inline int du_add(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)path, (void)f;
	if (type == FTW_F && S_ISREG(st->st_mode))
		du_sum += (uint64_t)st->st_size;
	return 0;
}

static inline uint64_t du_bytes(const char *dir)
{
	du_sum = 0;
	ck_assert_int_eq(nftw(dir, du_add, 16, FTW_PHYS), 0);
	return du_sum;
}

#endif
