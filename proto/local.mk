# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- proto/: the IMAP client core ----
# Each layer only calls down: lib/ (generic), proto/ (grammar, no I/O),
# proto/client/ (the connection), proto/imaplib/ (the imaplib emulation, a
# client of the core through imap.h and its layer hooks).
#
# proto/libimapcore.la: lib/ + grammar + client, what imapfs links.
noinst_LTLIBRARIES += proto/libimapcore.la
pkginclude_HEADERS = proto/client/imap.h
proto_libimapcore_la_SOURCES = \
	proto/parser.c proto/parser.h proto/resp.c proto/parser_int.h proto/store.c proto/store.h \
	proto/quote.c proto/quote.h proto/tag.c proto/tag.h \
	proto/mutf7.c proto/mutf7.h \
	proto/date.c proto/date.h
proto_libimapcore_la_SOURCES += \
	proto/client/transport.c proto/client/tls.c proto/client/tls.h proto/client/transport.h \
	proto/client/sasl.c proto/client/sasl.h \
	proto/client/session.c proto/client/session.h proto/client/cmd.c proto/client/pump.c \
	proto/client/idle.c proto/client/raw.c proto/client/connect.c \
	proto/client/url.c proto/client/url.h
proto_libimapcore_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
proto_libimapcore_la_LIBADD = lib/libgeneric.la $(GNUTLS_LIBS)

# proto/libimap.la: the core and the imaplib emulation (imap4 and the tests).
noinst_LTLIBRARIES += proto/libimap.la
proto_libimap_la_SOURCES = \
	proto/imaplib/imaplib.c proto/imaplib/imaplib_int.h proto/imaplib/command.c \
	proto/imaplib/open.c proto/imaplib/mailbox.c proto/imaplib/message.c \
	proto/imaplib/util.c proto/imaplib/util.h \
	proto/imaplib/pyrepr.c proto/imaplib/pyrepr.h
proto_libimap_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
proto_libimap_la_LIBADD = proto/libimapcore.la $(GNUTLS_LIBS)
