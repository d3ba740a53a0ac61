#!/bin/sh
# kv-protocol-schema.sh: prove that kv-protocol(7) still describes
# proto/kv.proto.  The page reproduces the schema and tabulates every field
# with its number, type and tag bytes for client authors who encode by hand;
# a schema change that is not carried into the page must fail make check.
# Prints TAP.

srcdir=${KVD_TOP_SRCDIR:-$(dirname "$0")/..}
page=$srcdir/man/kv-protocol.7
proto=$srcdir/proto/kv.proto

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv-protocol-schema.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "1..3"

for f in "$page" "$proto"; do
	if [ ! -r "$f" ]; then
		echo "Bail out! cannot read $f"
		exit 1
	fi
done

# Schema text without comments, roff escapes or layout, one token run per line.
normalize() {
	sed -e 's,//.*,,' -e 's/\\e/\\/g' -e 's/\\&//g' |
	    tr -s ' \t' '  ' | sed -e 's/^ //' -e 's/ $//' -e '/^$/d'
}

sed -n '/^\.\\" BEGIN SCHEMA$/,/^\.\\" END SCHEMA$/p' "$page" |
    sed -e '1d' -e '$d' | normalize >"$tmp/page-schema"
normalize <"$proto" >"$tmp/proto-schema"
if [ -s "$tmp/page-schema" ] &&
    diff -u "$tmp/proto-schema" "$tmp/page-schema" >"$tmp/diff"; then
	echo "ok 1 - the schema in the page matches proto/kv.proto"
else
	echo "not ok 1 - the schema in the page matches proto/kv.proto"
	sed 's/^/# /' "$tmp/diff"
fi

# Every field of every message as "Message field number type", from the
# schema and from the page's tables; the page also gives each field's tag,
# which must be the varint (number << 3) | wire type.
awk '
/^[ \t]*message [A-Za-z]+ *\{/ { msg = $2; next }
/^[ \t]*enum / { msg = ""; next }
msg != "" && /= *[0-9]+;/ {
	line = $0
	sub(/\/\/.*/, "", line)
	gsub(/[=;]/, " ", line)
	n = split(line, w, " ")
	if (w[1] == "repeated")
		print msg, w[3], w[4], "repeated " w[2]
	else
		print msg, w[2], w[3], w[1]
}' "$proto" | sort >"$tmp/proto-fields"

awk -v tagerr="$tmp/tag-errors" '
function wiretype(t) {
	return (t == "uint64" || t == "uint32" || t == "bool" ||
	    t == "Status") ? 0 : 2
}
# A key as the page writes it: its varint bytes in hex, space-separated.
function hex(n,    s) {
	s = ""
	while (n >= 128) {
		s = s sprintf("%02x ", n % 128 + 128)
		n = int(n / 128)
	}
	return s sprintf("%02x", n)
}
function field(m, name, num, type, tag) {
	sub(/^Vt /, "", type)
	print m, name, num, type
	if (tag != hex(num * 8 + wiretype(type)))
		printf("%s.%s: tag %s\n", m, name, tag) >tagerr
}
/^\.Vt (Request|Response) :$/ { msg = $2; next }
/^\.It (Vt [A-Za-z]+ )?Ta Va / || /^\.It Va / {
	line = $0
	sub(/^\.It /, "", line)
	n = split(line, c, / Ta /)
	if (c[1] ~ /^Vt /) {
		msg = substr(c[1], 4)
		n = split(substr(line, length(c[1]) + 5), c, / Ta /)
	} else if (c[1] ~ /^Ta /) {
		n = split(substr(line, 4), c, / Ta /)
	}
	if (n != 4 || c[1] !~ /^Va /)
		next
	field(msg, substr(c[1], 4), c[2], c[3], c[4])
}' "$page" | sort >"$tmp/page-fields"

if [ -s "$tmp/page-fields" ] &&
    diff -u "$tmp/proto-fields" "$tmp/page-fields" >"$tmp/diff"; then
	echo "ok 2 - the page tabulates every field with its number and type"
else
	echo "not ok 2 - the page tabulates every field with its number and type"
	sed 's/^/# /' "$tmp/diff"
fi
if [ -s "$tmp/page-fields" ] && [ ! -s "$tmp/tag-errors" ]; then
	echo "ok 3 - every tag in the page is the varint (number << 3) | wire type"
else
	echo "not ok 3 - every tag in the page is the varint (number << 3) | wire type"
	[ -f "$tmp/tag-errors" ] && sed 's/^/# wrong /' "$tmp/tag-errors"
fi
