# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- fs/: the FUSE daemon ----
# The core (no FUSE): tests drive it directly.
noinst_LTLIBRARIES += fs/libfscore.la
# One line per concern, so that work on one does not touch another's line.
fs_libfscore_la_SOURCES = fs/fs.c fs/fs.h fs/options.h fs/fs_impl.h fs/log.c fs/log.h fs/cancel.c fs/cancel.h
fs_libfscore_la_SOURCES += fs/model/ino.c fs/model/ino.h fs/model/mtree.c fs/model/mtree.h fs/model/mailbox.h \
	fs/model/list.c fs/model/refresh.c fs/model/patch.c fs/model/names.c
fs_libfscore_la_SOURCES += fs/remote/pool.c fs/remote/pool.h fs/remote/fetch.c fs/remote/fetch.h
fs_libfscore_la_SOURCES += fs/remote/run.c fs/remote/run.h fs/remote/select.c fs/remote/select.h
fs_libfscore_la_SOURCES += fs/remote/mutate.c fs/remote/mutate.h
fs_libfscore_la_SOURCES += fs/remote/labels.c fs/remote/labels.h
fs_libfscore_la_SOURCES += fs/remote/quota.c fs/remote/quota.h
fs_libfscore_la_SOURCES += fs/remote/range.c fs/remote/range.h fs/read/partial.c fs/read/partial.h
fs_libfscore_la_SOURCES += fs/remote/auth.c fs/remote/auth.h fs/remote/secret.c fs/remote/secret.h
fs_libfscore_la_SOURCES += fs/open.c fs/read/prefetch.c fs/read/prefetch.h fs/read/prefetch_impl.h fs/read/jobs.c \
	fs/read/watch.c fs/read/watch.h
fs_libfscore_la_SOURCES += fs/write/fswrite.c fs/write/staged.h fs/write/staging.c fs/write/deliver.c fs/write/xattr.c \
	fs/write/over.c
fs_libfscore_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
# the subfolders' files include each other as "remote/pool.h", "fs.h"
fs_libfscore_la_CFLAGS += -I$(top_srcdir)/fs
bin_PROGRAMS += fs/imapfs
fs_imapfs_SOURCES = fs/fuse/main.c fs/fuse/ops.c fs/fuse/ops.h fs/fuse/pagepush.c fs/fuse/pagepush.h
fs_imapfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
fs_imapfs_CFLAGS += -I$(top_srcdir)/fs
fs_imapfs_LDADD = fs/libfscore.la fs/libfsunits.la proto/libimapcore.la $(FUSE_LIBS) $(GNUTLS_LIBS) -lpthread


# The fs units without a server (tree names, cache, UID sets).
noinst_LTLIBRARIES += fs/libfsunits.la
fs_libfsunits_la_SOURCES = fs/model/tree.c fs/model/tree.h
fs_libfsunits_la_SOURCES += fs/cache/cache.h fs/cache/cache_impl.h fs/cache/util.c fs/cache/names.c \
	fs/cache/index.c fs/cache/scan.c fs/cache/dir.c fs/cache/budget.c fs/cache/body.c \
	fs/cache/listing.c fs/cache/flags.c fs/cache/drop.c fs/cache/recovery.c
fs_libfsunits_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
# the subfolders' files include each other as "cache/cache.h", "fdio.h"
fs_libfsunits_la_CFLAGS += -I$(top_srcdir)/fs
