#!/bin/sh
# kvclient-symbols.sh: the shared libkvclient exports the kv_* API of
# kvclient.h and nothing else (no protobuf-c or frame codec symbols), every
# exported name is declared in kvclient.h, and every function kvclient.h
# declares is exported.
top=${KVD_TOP_BUILDDIR:-.}
src=${KVD_TOP_SRCDIR:-.}
lib=$top/client/.libs/libkvclient.so
hdr=$src/client/kvclient.h
echo "1..3"
if [ ! -f "$lib" ]; then
	for i in 1 2 3; do echo "not ok $i - $lib exists"; done
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvsym.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' |
	sed 's/@.*//' | sort -u > "$tmp/exported"
grep -v '^kv_[a-z]' "$tmp/exported" > "$tmp/stray"
if [ -s "$tmp/exported" ] && [ ! -s "$tmp/stray" ]; then
	echo "ok 1 - only kv_* symbols are exported ($(wc -l < "$tmp/exported"))"
else
	echo "not ok 1 - stray exports: $(tr '\n' ' ' < "$tmp/stray")"
fi
# Function names declared in the header: an identifier kv_x followed by '('.
grep -o '\bkv_[a-z_]*(' "$hdr" | tr -d '(' | sort -u > "$tmp/declared"
# Drop callback typedef names, which are not functions.
grep -v -e '^kv_async_cb$' -e '^kv_async_event_cb$' "$tmp/declared" > "$tmp/decl"
missing=$(comm -23 "$tmp/decl" "$tmp/exported" | tr '\n' ' ')
extra=$(comm -13 "$tmp/decl" "$tmp/exported" | tr '\n' ' ')
if [ -z "$missing" ]; then
	echo "ok 2 - every function of kvclient.h is exported"
else
	echo "not ok 2 - declared but not exported: $missing"
fi
if [ -z "$extra" ]; then
	echo "ok 3 - every export is declared in kvclient.h"
else
	echo "not ok 3 - exported but not declared: $extra"
fi
