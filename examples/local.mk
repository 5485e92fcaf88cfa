# Included by the top Makefile.am (one non-recursive make): paths are from the top.
# ---- examples/: small programs on libimap4, written as a user writes them ----
# They include <imap4/imap.h> and link libimap4 only.  In the tree the
# installed headers are copied to examples/include/imap4 first;
# tests/server/check_examples.sh builds them again against `make install` alone,
# with pkg-config.
noinst_PROGRAMS += examples/list examples/fetch examples/idle
EXAMPLES_CPPFLAGS = -I$(top_builddir)/examples/include
EXAMPLES_LIBS = proto/libimap4.la
examples_list_SOURCES = examples/list.c examples/example.h
examples_list_CPPFLAGS = $(EXAMPLES_CPPFLAGS)
examples_list_LDADD = $(EXAMPLES_LIBS)
examples_fetch_SOURCES = examples/fetch.c examples/example.h
examples_fetch_CPPFLAGS = $(EXAMPLES_CPPFLAGS)
examples_fetch_LDADD = $(EXAMPLES_LIBS)
examples_idle_SOURCES = examples/idle.c examples/example.h
examples_idle_CPPFLAGS = $(EXAMPLES_CPPFLAGS)
examples_idle_LDADD = $(EXAMPLES_LIBS)

examples/include/imap4.stamp: $(imap4include_HEADERS)
	$(AM_V_GEN)$(MKDIR_P) examples/include/imap4 && \
	for h in $(imap4include_HEADERS); do cp $(srcdir)/$$h examples/include/imap4/ || exit 1; done && \
	touch $@
$(examples_list_OBJECTS) $(examples_fetch_OBJECTS) $(examples_idle_OBJECTS): examples/include/imap4.stamp
CLEANFILES += examples/include/imap4.stamp examples/include/imap4/imap.h examples/include/imap4/imaplib.h \
	examples/include/imap4/buf.h examples/include/imap4/date.h examples/include/imap4/tag.h \
	examples/include/imap4/parser.h examples/include/imap4/transport.h
