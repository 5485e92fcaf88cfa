# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- proto/: the IMAP client core ----
# Each layer only calls down: lib/ (generic), proto/ (grammar, no I/O),
# proto/client/ (the connection), proto/imaplib/ (the imaplib emulation, a
# client of the core through imap.h and its layer hooks).
#
# proto/libimapcore.la: lib/ + grammar + client, what imapfs links.
noinst_LTLIBRARIES += proto/libimapcore.la
proto_libimapcore_la_SOURCES = \
	proto/parser.c proto/parser.h proto/resp.c proto/parser_int.h proto/store.c proto/store.h \
	proto/quote.c proto/quote.h proto/tag.c proto/tag.h \
	proto/mutf7.c proto/mutf7.h proto/gmail.c proto/gmail.h \
	proto/date.c proto/date.h \
	proto/seqset.c proto/seqset.h
proto_libimapcore_la_SOURCES += \
	proto/client/transport.c proto/client/tls.c proto/client/tls.h proto/client/transport.h \
	proto/client/sasl.c proto/client/sasl.h \
	proto/client/session.c proto/client/session.h proto/client/cmd.c proto/client/pump.c \
	proto/client/idle.c proto/client/raw.c proto/client/open.c proto/client/connect.c \
	proto/client/url.c proto/client/url.h \
	proto/client/compress.c proto/client/compress.h
proto_libimapcore_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS) $(ZLIB_CFLAGS)
proto_libimapcore_la_LIBADD = lib/libgeneric.la $(GNUTLS_LIBS) $(ZLIB_LIBS)

# proto/libimap.la: the core and the imaplib emulation (imap4 and the tests).
noinst_LTLIBRARIES += proto/libimap.la
proto_libimap_la_SOURCES = \
	proto/imaplib/imaplib.c proto/imaplib/imaplib.h proto/imaplib/imaplib_int.h proto/imaplib/command.c \
	proto/imaplib/open.c proto/imaplib/mailbox.c proto/imaplib/message.c \
	proto/imaplib/util.c proto/imaplib/util.h \
	proto/imaplib/pyrepr.c proto/imaplib/pyrepr.h
proto_libimap_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
proto_libimap_la_LIBADD = proto/libimapcore.la $(GNUTLS_LIBS)

# libimap4: the core and the imaplib-style API as an installed shared library.
# Its headers go to $(includedir)/imap4 (#include <imap4/imap.h> for the core,
# <imap4/imaplib.h> for the imaplib-style API) and compile on their own;
# imap4.pc says how to build against it.  -version-info is
# current:revision:age (libtool's rules): bump it when the API changes.
lib_LTLIBRARIES = proto/libimap4.la
proto_libimap4_la_SOURCES =
proto_libimap4_la_LIBADD = proto/libimap.la $(GNUTLS_LIBS)
# Only the public names: every function and variable the installed headers
# declare (proto/exports.sh reads them), so a helper shared between the
# library's files (imap_fail, xmalloc...) stays internal.
proto_libimap4_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -no-undefined \
	-export-symbols proto/libimap4.sym
EXTRA_proto_libimap4_la_DEPENDENCIES = proto/libimap4.sym
imap4includedir = $(includedir)/imap4
imap4include_HEADERS = proto/client/imap.h proto/imaplib/imaplib.h lib/buf.h proto/parser.h \
	proto/client/transport.h proto/date.h proto/tag.h
proto/libimap4.sym: $(imap4include_HEADERS) proto/exports.sh
	$(AM_V_GEN)$(MKDIR_P) proto && \
	(cd $(srcdir) && $(SHELL) proto/exports.sh $(imap4include_HEADERS)) >$@.tmp && mv $@.tmp $@
CLEANFILES += proto/libimap4.sym
EXTRA_DIST += proto/exports.sh
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = proto/imap4.pc
EXTRA_DIST += proto/imap4.pc.in
DISTCLEANFILES = proto/imap4.pc
