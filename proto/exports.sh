#!/bin/sh
# exports.sh HEADER...: the symbols libimap4 exports, one per line: each
# function and variable the installed headers declare, and nothing else.
# Deriving the list from the headers keeps the two from drifting apart; the
# library's helpers shared between its files stay internal.  Comments are
# stripped first (names mentioned in prose are not declarations), and
# preprocessor lines (with their continuations) are left out.
set -e
awk '
	# one line at a time; "in_comment" carries a comment across lines
	{
		line = $0; out = ""
		while (line != "") {
			if (in_comment) {
				i = index(line, "*/")
				if (!i) { line = ""; break }
				line = substr(line, i + 2); in_comment = 0
			} else {
				i = index(line, "/*")
				if (!i) { out = out line; line = ""; break }
				out = out substr(line, 1, i - 1) " "
				line = substr(line, i + 2); in_comment = 1
			}
		}
		if (in_directive || out ~ /^[ \t]*#/) {
			in_directive = (out ~ /\\[ \t]*$/)
			next
		}
		print out
	}' "$@" | tr '\n' ' ' | tr ';' '\n' |
	sed -n -E \
		-e 's/^[^(]*[^A-Za-z0-9_(]([a-z][A-Za-z0-9_]*)[[:space:]]*\([^*].*/\1/p' \
		-e 's/^[[:space:]]*extern[^(]*[^A-Za-z0-9_]([a-z][A-Za-z0-9_]*)[[:space:]]*(\[[^]]*\])?[[:space:]]*$/\1/p' |
	grep -v -E '^(typedef|struct|enum|union|static)$' | sort -u
