# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- fs/: the FUSE daemon ----
# The core (no FUSE): tests drive it directly.
noinst_LTLIBRARIES += fs/libfscore.la
# One line per concern, so that work on one does not touch another's line.
fs_libfscore_la_SOURCES = fs/fs.c fs/fs.h fs/fs_impl.h fs/log.c fs/cancel.c fs/cancel.h
fs_libfscore_la_SOURCES += fs/mtree.c fs/mailbox.c fs/mailbox.h
fs_libfscore_la_SOURCES += fs/pool.c fs/pool.h fs/fetch.c fs/fetch.h fs/write.c fs/write.h
fs_libfscore_la_SOURCES += fs/prefetch.c fs/prefetch.h fs/watch.c fs/watch.h
fs_libfscore_la_SOURCES += fs/fswrite.c fs/staged.h fs/staging.c fs/deliver.c fs/xattr.c
fs_libfscore_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
bin_PROGRAMS += fs/imapfs
fs_imapfs_SOURCES = fs/main.c fs/ops.c fs/ops.h fs/pagepush.c fs/pagepush.h
fs_imapfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
fs_imapfs_LDADD = fs/libfscore.la fs/libfsunits.la proto/libimapcore.la $(FUSE_LIBS) $(GNUTLS_LIBS) -lpthread


# The fs units without a server (tree names, cache, UID sets).
noinst_LTLIBRARIES += fs/libfsunits.la
fs_libfsunits_la_SOURCES = fs/tree.c fs/tree.h
fs_libfsunits_la_SOURCES += fs/cache.c fs/cache.h
fs_libfsunits_la_SOURCES += fs/fdio.c fs/fdio.h fs/uidset.c fs/uidset.h fs/siphash.c fs/siphash.h
fs_libfsunits_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
