/* cache_impl.h: what the files of the cache (fs/cache/) share: the layout's
 * names and limits, the index's structures and the sections' internal
 * functions.  Not an interface: users include cache.h.
 *
 * Locking: c->mu guards the index (boxes, records, packs, the LRU and
 * unsealed lists, disk and byte counts); functions documented "under
 * c->mu" expect it held. */
#ifndef IMAPFS_CACHE_IMPL_H
#define IMAPFS_CACHE_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "cache/cache.h"
#include "slab.h"

#define CACHE_TMP_PREFIX ".tmp-"
#define CACHE_TRASH_PREFIX ".trash-"
#define CACHE_LISTING "listing"
#define CACHE_BOX_NAME_MAX 200      /* longer encodings are shortened + hashed */
#define CACHE_BOX_NAME_KEEP 150
#define CACHE_RMTREE_DEPTH 4        /* deeper than our layout ever goes */
#define CACHE_STATE "state"         /* "clean" or "running <time>" */
#define CACHE_MARK "imapfs-cache"   /* says the directory is an imapfs cache */
#define CACHE_PACK_SUFFIX ".p"
#define CACHE_PACK_MAX (4u << 20)   /* a pack is sealed once this long... */
#define CACHE_PACK_SHARE 32         /* ...or a 32nd of the budget, when less */
#define CACHE_UNSEALED_MAX 16       /* packs open for appends (each holds an fd) */
#define CACHE_RFDS_MAX 64           /* packs kept open for reading */

/* A record in a pack: magic, UID, length (all ones until the commit), then
 * the body; integers little-endian. */
extern const char cache_rec_magic[4];
#define CACHE_REC_HEADER 16
#define CACHE_REC_PENDING UINT64_MAX

/* Listing file: fixed header (magic, version, name length, UIDVALIDITY,
 * UIDNEXT, MESSAGES, the count of flag lists, HIGHESTMODSEQ, the count of
 * messages, the folder's mtime), mailbox name, the flag lists (each a
 * 32-bit length and its bytes), records (UID, flag list number from 1, 0
 * when not known; size, INTERNALDATE, MODSEQ, the time its flags were
 * seen changing), the kept names (their count, then each: the record's
 * index, a 32-bit length and the name's bytes), checksum; all integers
 * little-endian.  Older versions are read as corrupt: their mailbox is
 * listed again. */
extern const char cache_listing_magic[8];
#define CACHE_LISTING_VERSION 3u
#define CACHE_LISTING_HEADER 56
#define CACHE_LISTING_RECORD 40
#define CACHE_LISTING_TRAILER 8
#define CACHE_LISTING_NAME_MAX 65536u
#define CACHE_LISTING_MSGS_MAX (1u << 24)  /* far above any real mailbox */
#define CACHE_LISTING_FLAG_MAX 65536u      /* bytes of one flag list */

/* flags.c: an intern table (ids from 1), under its own lock. */
struct cache_flags {
	pthread_mutex_t mu;
	char **text;
	size_t *len;
	uint32_t n, cap;
	uint32_t *slot;             /* open addressing: ids, 0 = free */
	size_t nslots;              /* a power of two, or 0 */
	uint64_t key[2];            /* of the hash: a server cannot aim at one chain */
};
void cache_flags_init(struct cache_flags *f);
void cache_flags_free(struct cache_flags *f);

struct cache_box {              /* one mailbox directory, interned until close */
	char *dirname;
	struct cache_box *hnext;
};

struct cache_rec;

/* One file of bodies in a generation's directory: records appended one
 * after the other (or, for a file of an older imapfs, one bare body). */
struct cache_pack {
	struct cache_box *box;
	uint32_t uidvalidity;
	char name[40];
	bool raw;                   /* a bare body, no record header */
	bool sealed;                /* no more appends */
	bool busy;                  /* a writer is appending */
	bool gone;                  /* evicted or dropped while busy: the writer frees it */
	int wfd, rfd;               /* -1 when not open */
	uint64_t end;               /* where the next record goes */
	uint64_t bytes;             /* of the bodies indexed in it */
	uint64_t disk;              /* of its file, counted in the cache's disk */
	struct cache_rec *recs;     /* those bodies */
	struct cache_pack *older, *newer;  /* the LRU list */
	struct cache_pack *onext;   /* the list of unsealed packs */
};

/* One body on disk; its mailbox and UIDVALIDITY are its pack's.  One per
 * cached body (hundreds of thousands in a big account): kept small. */
struct cache_rec {
	uint64_t offset, size;
	struct cache_pack *pack;
	struct cache_rec *pnext, **pprev;  /* the pack's bodies */
	struct cache_rec *hnext;
	uint32_t uid;
};

struct cache {
	pthread_mutex_t mu;
	char *dir;                  /* absolute when it could be resolved */
	int rootfd, lockfd;
	uint64_t max_bytes, bytes;
	uint64_t disk;              /* the packs' files plus what writers reserved */
	uint64_t pack_max;          /* a pack is sealed once this long */
	unsigned long serial;       /* temp and trash names */
	struct cache_rec **recs;
	size_t nrec_buckets, nrecs;
	struct slab rec_slab;       /* the records' memory */
	struct cache_pack *oldest, *newest;
	struct cache_pack *unsealed;
	size_t nunsealed, nrfds;
	struct cache_box **boxes;
	size_t nbox_buckets, nboxes;
	bool state_written;         /* "running" is on disk: close writes "clean" */
	struct cache_flags flags;
	struct cache_flags names;   /* messages' kept names (cache_name_id) */
	int64_t created;            /* the marker's mtime (cache_created) */
};

/* util.c: errors, the lock, numbers, directories (never through a link). */
/* Appends a reason to err (may be NULL), sets errno = e, returns -1. */
int cache_fail(struct buf *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cache_lock(struct cache *c);
void cache_unlock(struct cache *c);
unsigned long cache_next_serial(struct cache *c);
bool cache_parse_u32(const char *s, uint32_t *out);
bool cache_has_prefix(const char *s, const char *prefix);
void cache_set_u32(unsigned char *p, uint32_t v);
void cache_set_u64(unsigned char *p, uint64_t v);
int cache_mkdirat(int dirfd, const char *path);
void cache_each_entry(int dirfd, const char *name, void (*fn)(int fd, const char *entry, void *ctx),
		      void *ctx);
void cache_rmtree(int dirfd, const char *name, int depth);
void cache_put_u32(struct buf *b, uint32_t v);
void cache_put_u64(struct buf *b, uint64_t v);
uint32_t cache_get_u32(const unsigned char *p);
uint64_t cache_get_u64(const unsigned char *p);

/* names.c: a mailbox's directory name (%XX, or shortened and hashed) and
 * its interned box; cache_box_for takes c->mu, cache_box_get wants it held. */
void cache_encode_name(const char *name, struct buf *out);
size_t cache_rec_hash(const struct cache_box *b, uint32_t uidvalidity, uint32_t uid);
struct cache_box *cache_box_get(struct cache *c, const char *dirname, bool create);
int cache_box_dirname(const char *mailbox, struct buf *dirname);
struct cache_box *cache_box_for(struct cache *c, const char *mailbox, bool create);
void cache_pack_path(struct buf *out, const struct cache_pack *p);

/* index.c: records and packs, all under c->mu. */
struct cache_rec **cache_rec_slot(struct cache *c, const struct cache_box *b, uint32_t uidvalidity,
				  uint32_t uid);
void cache_pack_touch(struct cache *c, struct cache_pack *p);
void cache_index_put(struct cache *c, struct cache_pack *p, uint32_t uid, uint64_t offset, uint64_t size);
struct cache_pack *cache_pack_new(struct cache *c, struct cache_box *b, uint32_t uidvalidity,
				  const char *name);
void cache_pack_seal(struct cache *c, struct cache_pack *p);
void cache_pack_free(struct cache_pack *p);
void cache_pack_forget(struct cache *c, struct cache_pack *p);
int cache_pack_rfd(struct cache *c, struct cache_pack *p);

/* scan.c: fills the index at open, before the cache is shared. */
void cache_scan(struct cache *c, bool distrust, time_t distrust_since);

/* budget.c: under c->mu, evicts until n more bytes fit and counts them;
 * false when they cannot fit. */
bool cache_make_room(struct cache *c, uint64_t n);

/* listing.c: the path of a mailbox's listing (relative to the root). */
void cache_listing_path(struct buf *out, const char *dirname);

#endif
