# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- proto/: the IMAP client core ----
noinst_LTLIBRARIES += proto/libimap.la
pkginclude_HEADERS = proto/imap.h
proto_libimap_la_SOURCES = \
	proto/buf.c proto/buf.h \
	proto/parser.c proto/parser.h proto/resp.c proto/parser_int.h \
	proto/transport.c proto/tls.c proto/tls.h proto/transport.h \
	proto/sasl.c proto/sasl.h \
	proto/mutf7.c proto/mutf7.h proto/utf8.c proto/utf8.h \
	proto/date.c proto/date.h \
	proto/util.c proto/util.h proto/quote.c proto/quote.h \
	proto/session.c proto/session.h proto/connect.c proto/imaplib.c \
	proto/url.c proto/url.h proto/words.c proto/words.h \
	proto/pyrepr.c proto/pyrepr.h
proto_libimap_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
proto_libimap_la_LIBADD = $(GNUTLS_LIBS)

bin_PROGRAMS += proto/imap4
proto_imap4_SOURCES = proto/imap4.c
proto_imap4_LDADD = proto/libimap.la $(GNUTLS_LIBS)

