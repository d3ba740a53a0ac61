/*
 * text.h: how kvctl turns bytes into text and back: hex, escaped text and
 * JSON strings.  Keys and values are arbitrary bytes; a terminal, a shell
 * pipe and a JSON parser each need them in a different, lossless form.
 */
#ifndef KVD_TEXT_H
#define KVD_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * text_hex_decode(s, len, outp, outlenp):
 * Decode hex digits (either case) in s[0..len), ignoring ASCII whitespace
 * between them (so `xxd -p` output works).  On success returns 0 and sets
 * *outp to a malloc'd buffer (never NULL; the caller frees it) of *outlenp
 * bytes.  Returns -1 if s holds anything else or an odd number of digits
 * (*outp untouched), or -2 if memory is short.
 */
int text_hex_decode(const char *s, size_t len, uint8_t **outp,
    size_t *outlenp);

/*
 * text_hex_digit(c):
 * The value 0..15 of the hex digit c (either case), or -1 if c is none.
 */
int text_hex_digit(char c);

/* text_hex_write(f, p, len): write p as lowercase hex digits, nothing else. */
void text_hex_write(FILE *f, const uint8_t *p, size_t len);

/*
 * text_escape_write(f, p, len):
 * Write p so that every byte is visible and the form is reversible:
 * printable ASCII as is, a backslash as "\\", every other byte (tabs and
 * newlines included) as "\xNN".
 */
void text_escape_write(FILE *f, const uint8_t *p, size_t len);

/*
 * text_utf8_valid(p, len):
 * 1 if p is well-formed UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF), else 0.
 */
int text_utf8_valid(const uint8_t *p, size_t len);

/*
 * text_json_string(f, p, len):
 * Write p, which must be valid UTF-8, as a JSON string with its quotes.
 * Control characters and DEL become \u00NN (or \n, \t, ...).
 */
void text_json_string(FILE *f, const uint8_t *p, size_t len);

/*
 * text_json_bytes(f, name, p, len, hex):
 * Write one JSON member for arbitrary bytes: "name":"<text>" when p is
 * valid UTF-8 and hex is 0, otherwise "name_hex":"<lowercase hex>".
 */
void text_json_bytes(FILE *f, const char *name, const uint8_t *p, size_t len,
    int hex);

#endif /* !KVD_TEXT_H */
