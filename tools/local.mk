# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- tools/imap4/: the imaplib-compatible command-line tool ----
bin_PROGRAMS += tools/imap4/imap4
tools_imap4_imap4_SOURCES = tools/imap4/imap4.c tools/imap4/words.c tools/imap4/words.h
tools_imap4_imap4_LDADD = proto/libimap.la $(GNUTLS_LIBS)
