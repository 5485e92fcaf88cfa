/* imap.h: public API (being written). */
