# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- lib/: generic helpers, no IMAP in them ----
noinst_LTLIBRARIES += lib/libgeneric.la
lib_libgeneric_la_SOURCES = lib/buf.c lib/buf.h lib/xalloc.c lib/xalloc.h lib/utf8.c lib/utf8.h lib/clock.c lib/clock.h
lib_libgeneric_la_SOURCES += lib/fdio.c lib/fdio.h lib/uidset.c lib/uidset.h lib/siphash.c lib/siphash.h lib/worker.c lib/worker.h lib/slab.c lib/slab.h
