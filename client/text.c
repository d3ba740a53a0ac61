/*
 * text.c: bytes to text and back for kvctl.  See text.h.
 */
#include "config.h"

#include <stdlib.h>

#include "text.h"

static const char text_hexdigits[] = "0123456789abcdef";

int
text_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static int
text_isspace(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f');
}

int
text_hex_decode(const char *s, size_t len, uint8_t **outp, size_t *outlenp)
{
	uint8_t *out;
	size_t i, n = 0;
	int hi = -1, v;

	/* Room for the worst case: no whitespace at all (+1: never malloc(0)). */
	if ((out = malloc(len / 2 + 1)) == NULL)
		return (-2);
	for (i = 0; i < len; i++) {
		if (text_isspace(s[i]))
			continue;
		if ((v = text_hex_digit(s[i])) < 0)
			goto bad;
		if (hi < 0)
			hi = v;
		else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto bad;
	*outp = out;
	*outlenp = n;
	return (0);

bad:
	free(out);
	return (-1);
}

void
text_hex_write(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		putc(text_hexdigits[p[i] >> 4], f);
		putc(text_hexdigits[p[i] & 0xf], f);
	}
}

void
text_escape_write(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\') {
			putc('\\', f);
			putc('\\', f);
		} else if (p[i] >= 0x20 && p[i] < 0x7f)
			putc(p[i], f);
		else {
			putc('\\', f);
			putc('x', f);
			putc(text_hexdigits[p[i] >> 4], f);
			putc(text_hexdigits[p[i] & 0xf], f);
		}
	}
}

int
text_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0, n, j;
	uint32_t cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (len - i - 1 < n)
			return (0);
		for (j = 1; j <= n; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return (0);
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

void
text_json_string(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	putc('"', f);
	for (i = 0; i < len; i++) {
		switch (p[i]) {
		case '"':	fputs("\\\"", f); break;
		case '\\':	fputs("\\\\", f); break;
		case '\b':	fputs("\\b", f); break;
		case '\f':	fputs("\\f", f); break;
		case '\n':	fputs("\\n", f); break;
		case '\r':	fputs("\\r", f); break;
		case '\t':	fputs("\\t", f); break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f)
				fprintf(f, "\\u%04x", p[i]);
			else
				putc(p[i], f);
		}
	}
	putc('"', f);
}

void
text_json_bytes(FILE *f, const char *name, const uint8_t *p, size_t len,
    int hex)
{
	if (!hex && text_utf8_valid(p, len)) {
		fprintf(f, "\"%s\":", name);
		text_json_string(f, p, len);
		return;
	}
	fprintf(f, "\"%s_hex\":\"", name);
	text_hex_write(f, p, len);
	putc('"', f);
}
