#!/bin/sh
# exports.sh CPP HEADER...: the symbols libimap4 exports, one per line: each
# function and variable the installed headers declare, and nothing else.
# Deriving the list from the headers keeps the two from drifting apart; the
# library's helpers shared between its files stay internal.  CPP strips the
# comments (names mentioned in prose are not declarations).
set -e
cpp=$1
shift
for h in "$@"; do
	$cpp -fpreprocessed -dD -E -P "$h"
done | grep -v '^#' | tr '\n' ' ' | tr ';' '\n' |
	sed -n -E \
		-e 's/^[^(]*[^A-Za-z0-9_(]([a-z][A-Za-z0-9_]*)[[:space:]]*\([^*].*/\1/p' \
		-e 's/^[[:space:]]*extern[^(]*[^A-Za-z0-9_]([a-z][A-Za-z0-9_]*)[[:space:]]*(\[[^]]*\])?[[:space:]]*$/\1/p' |
	grep -v -E '^(typedef|struct|enum|union|static)$' | sort -u
