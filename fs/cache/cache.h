/* cache.h: the on-disk cache of one account, keyed by (mailbox,
 * UIDVALIDITY, UID).
 *
 * A message under a given UIDVALIDITY and UID never changes, so its bytes
 * are kept on disk and served from there; per mailbox a metadata listing
 * lets a warm mount list a directory without asking the server.
 *
 * Layout under dir (every directory mode 0700, every file 0600):
 *   imapfs-cache               the marker: "imapfs cache" and a note for people
 *   lock                       flock()ed while a cache_open() holds dir
 *   state                      "running <time>" while open, "clean" after close
 *   recovery/<time>-<name>     messages whose APPEND failed, never trimmed
 *   mail/<box>/listing         the metadata listing of that mailbox
 *   mail/<box>/<UIDVALIDITY>/<UID>.p, <UID>-<N>.p
 *                              packs of message bodies, named after the first
 *   mail/<box>/<UIDVALIDITY>/<UID>   one bare body (written by older versions;
 *                              read, never written)
 *   mail/.../.tmp-*            files being written; removed at open
 *   mail/.trash-*              dropped generations being deleted
 * <box> is the mailbox name with every byte outside [A-Za-z0-9._-] and a
 * leading '.' written as %XX, so no '/', "..", NUL or hidden name can
 * appear; a name whose encoding would be longer than 200 bytes keeps its
 * first 150 encoded bytes followed by '~' and the SHA-256 of the whole name
 * in hex (the full name is also stored in the listing).
 *
 * Packs: one file per message cost more than fetching it (creating and
 * renaming a file is most of a cold read's CPU), so bodies are appended to
 * packs: records of a 16-byte header ("IMB1", UID, length; little-endian)
 * and the body.  A writer has a pack to itself while it streams a body;
 * the length is written at the commit (all ones until then), which is when
 * the body becomes visible.  A pack is sealed (never appended to again)
 * once it reaches 4 MiB or a 32nd of max_bytes, when its writer fails, and
 * at the next cache_open().  The same body committed twice is served from
 * the newer record; the older one's bytes stay until their pack goes.
 *
 * Safety: cache_open() creates missing directories with mode 0700, chmods
 * an existing dir of ours to 0700, and refuses a dir owned by another user
 * or writable by others (o+w: someone may have planted files), or one that
 * another open cache (in this or another process) is using.  An existing
 * dir is only taken (chmod, files added) when it is empty (but for a
 * lost+found: the root of a file system of its own), has the marker,
 * or holds nothing but what an imapfs without the marker made (lock,
 * state, mail/, recovery/; it gets the marker); any other dir is refused
 * (ENOTEMPTY) untouched, since imapfs deletes what it finds in its cache.
 * Nothing under dir is followed through a symbolic link.
 *
 * Crashes: packs are written without fsync (one per message would be too
 * slow), so after a power loss a record could be short or its length
 * written before its bytes.  cache_open() syncs the file system and records
 * its time in state; cache_close() syncs and records "clean".  If the last
 * session did not close, the next cache_open() deletes every pack changed
 * since that session began (their bodies are fetched again); listings
 * protect themselves with their checksum.  A pack is indexed up to its
 * first incomplete record.
 *
 * Size bound: the packs on disk (whole files: record headers, bodies
 * replaced by a newer copy and the records writers are appending) never
 * add up to more than max_bytes (0 = unbounded).  A writer counts its
 * bytes before they reach the disk, and room is made first by evicting
 * whole packs, least recently used first (a pack is used when one of its
 * bodies is committed or opened), never one a writer is appending to.  A
 * body that does not fit even then (larger than max_bytes, or the rest is
 * held by other writers) fails with EFBIG as it streams in, however small
 * the server said it was: it is not cached.  Listings, recovery/ and new
 * files being written are not counted.  The index (one small record per
 * body) is built by one scan at open (one small read per body); the order
 * at open comes from each pack's atime/mtime, and packs over the budget
 * (max_bytes lowered) go right away.
 *
 * Threads: every function may be called from several threads at once on the
 * same cache.  One mutex guards the index and the creations and unlinks
 * that must agree with it; reading and writing body bytes happens outside
 * it.
 * A cache_writer belongs to one thread at a time.
 *
 * Errors: int functions return 0 (or an fd) on success, -1 on failure with
 * errno set and, where an err buffer is taken, a one-line reason appended
 * (err may be NULL).  Mailbox names are the server's names (modified
 * UTF-7) as plain C strings; an empty name is refused (EINVAL).
 */
#ifndef IMAPFS_CACHE_H
#define IMAPFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct cache;
struct cache_writer;

/* mkdir -p dir and take it (see Safety above); *out is freed by
 * cache_close(). */
int cache_open(struct cache **out, const char *dir, uint64_t max_bytes, struct buf *err);
/* Releases the lock and memory; writers still open must be finished first. */
void cache_close(struct cache *c);

/* Message bodies. */
/* Where a body is: its bytes are [offset, offset + size) of fd. */
struct cache_span {
	int fd;                 /* O_RDONLY|O_CLOEXEC, the caller's to close */
	uint64_t offset, size;
};
/* Fills *out and returns 0, or -1 (errno ENOENT when not cached); marks
 * the body's pack most recently used.  Cheap: no path lookup once the
 * pack has been read from (the fd is a dup of one kept open). */
int cache_body_get(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		   struct cache_span *out);
/* The same as an O_RDONLY|O_CLOEXEC fd of the body alone, from offset 0,
 * or -1: a copy in memory, unless the body is a file of its own. */
int cache_body_open(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid);
/* Turns a span into an fd of its bytes alone, from offset 0 (size
 * UINT64_MAX: up to the end of the file): s->fd itself when that is the
 * whole file, else a copy in memory (s->fd is closed).  -1 with errno. */
int cache_span_detach(struct cache_span *s);
/* Whether the index holds the body (no disk access; a body evicted or
 * removed behind the cache's back may still fail to open). */
bool cache_body_has(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid);
/* Starts a body: a record appended to a pack of the generation that no
 * other writer has (a new pack when none is free).  Nothing of it is
 * visible before cache_writer_commit(). */
int cache_body_begin(struct cache *c, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     struct cache_writer **w, struct buf *err);
/* Appends n bytes; -1 with errno (ENOSPC; EFBIG when the budget cannot
 * make room, see Size bound).  After a failure the writer only accepts
 * cache_writer_abort() (a commit fails). */
int cache_writer_write(struct cache_writer *w, const void *p, size_t n);
/* Writes the record's length and indexes the body, replacing an older copy
 * of it; *size_out (may be NULL) gets the body's length.
 * Frees w whatever happens.  Fails (EIO, ENOENT...) if a write failed or if
 * cache_drop_mailbox() removed the generation meanwhile.  Does not trim. */
int cache_writer_commit(struct cache_writer *w, uint64_t *size_out, struct buf *err);
/* Cuts the record off its pack again; frees w.  NULL is ignored. */
void cache_writer_abort(struct cache_writer *w);

/* A file of nobody's name under dir (unlinked: it goes with its last fd),
 * O_RDWR|O_CLOEXEC, mode 0600: where a body fetched in windows is put
 * together, holes and all, before it is committed like any other.  Not
 * counted in max_bytes.  -1 with errno. */
int cache_scratch_fd(struct cache *c);

/* Evicts least recently used packs until the total on disk is within
 * max_bytes (writers keep it so as they go; this is for what was there
 * before).  Cheap (no disk access) when already within budget.  An evicted
 * body that is open elsewhere stays readable through that fd.  A pack a
 * writer is appending to is not evicted. */
void cache_trim(struct cache *c);
/* Total bytes of the bodies in the index. */
uint64_t cache_bytes(const struct cache *c);
/* What the budget counts: the packs on disk and what writers reserved. */
uint64_t cache_disk_bytes(const struct cache *c);
/* Whether a body of size bytes can be cached at all (its record within
 * max_bytes): a larger one would fail as it streams in. */
bool cache_body_fits(const struct cache *c, uint64_t size);

/* Listings: the metadata of one mailbox generation. */
struct cache_msg {
	uint32_t uid;
	uint32_t flags;                  /* cache_flags_id of its flags; 0: not known */
	uint64_t size;
	int64_t internaldate;
	uint64_t modseq;                 /* 0 when not known (or no CONDSTORE) */
	int64_t changed;                 /* when its flags were seen changing; 0: never */
	uint32_t name;                   /* cache_name_id of the name it was written or
					    moved under; 0: none, it shows as <UID>.eml */
};
struct cache_listing {
	uint32_t uidvalidity, uidnext, messages;
	uint64_t highestmodseq;          /* 0 when the server has no CONDSTORE */
	int64_t mtime;                   /* the folder's: when a message was last seen
					    arriving or going */
	size_t n;
	struct cache_msg *msgs;          /* sorted by uid, strictly increasing; owned */
};

/* Flag lists ("\Seen $Label", as the server gave them) as small numbers
 * from 1, the same for the same bytes while the cache is open; listings
 * store the text.  cache_flags_text gives it back (NULL for 0 or a number
 * never given); it stays valid until cache_close. */
uint32_t cache_flags_id(struct cache *c, const char *flags, size_t len);
const char *cache_flags_text(struct cache *c, uint32_t id);
/* The same for the names messages keep (cache_msg.name). */
uint32_t cache_name_id(struct cache *c, const char *name);
const char *cache_name_text(struct cache *c, uint32_t id);
#define CACHE_MSG_NAME_MAX 255u  /* NAME_MAX */
/* A name a message can keep: 1 to CACHE_MSG_NAME_MAX bytes, no '/', not
 * "." or "..". */
bool cache_name_ok(const char *name, size_t len);
/* When the cache was made (its marker's mtime): the time a folder shows
 * until its content is seen changing, the same across remounts. */
int64_t cache_created(const struct cache *c);

/* Fills *out (freed with cache_listing_free) and returns 0; -1 when there
 * is no listing (ENOENT) or it is corrupt (EBADMSG: wrong magic or version,
 * length, checksum, mailbox name, or unsorted uids), in which case the file
 * is removed.  *out is zeroed on failure. */
int cache_listing_load(struct cache *c, const char *mailbox, struct cache_listing *out);
/* Writes a temp file and renames it over the old listing (no fsync: a lost
 * listing only costs a refetch).  -1 (EINVAL) when msgs is not sorted by
 * strictly increasing uid. */
int cache_listing_save(struct cache *c, const char *mailbox, const struct cache_listing *l,
		       struct buf *err);
/* Frees msgs and zeroes *l; safe on a zeroed listing. */
void cache_listing_free(struct cache_listing *l);

/* A UIDVALIDITY change: drops every body and the listing of mailbox that
 * are not of generation keep_uidvalidity (0 = drop all of that mailbox).
 * Immediate: once it returns no old body can be opened and no old listing
 * loaded; commits of old bodies still in progress fail.  The bytes are
 * deleted before it returns, except what a concurrent writer recreates,
 * which the next cache_open() removes.  0, or -1 with errno. */
int cache_drop_mailbox(struct cache *c, const char *mailbox, uint32_t keep_uidvalidity);

/* Write-path safety net: keeps a message whose APPEND failed as
 * <dir>/recovery/<UTC time>-<name> (name escaped like <box>, a "-N" suffix
 * added on a clash), fsynced.  The content is the whole file behind
 * fd_or_minus1 (read from offset 0 with pread, its offset untouched) or,
 * when it is -1, the n bytes at p.  path_out gets the full path (replaced). */
int cache_save_recovery(struct cache *c, const char *name, int fd_or_minus1, const void *p, size_t n,
			struct buf *path_out, struct buf *err);

#endif
