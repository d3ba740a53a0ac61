/*
 * kvctl-text.c: kvctl's byte forms are lossless: hex both ways, the
 * escaped text form for all 256 byte values, strict UTF-8 validation, and
 * JSON strings and members that a JSON parser accepts for any bytes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

/* Run fn into a memory stream and return what it wrote (caller frees). */
#define CAPTURE(out, call) do {						\
	size_t len_;							\
	FILE *f_ = open_memstream(&(out), &len_);			\
	assert_non_null(f_);						\
	call;								\
	assert_int_equal(fclose(f_), 0);				\
} while (0)

static void
hex(void **state)
{
	uint8_t all[256], *dec;
	size_t len, i;
	char *s;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	CAPTURE(s, text_hex_write(f_, all, sizeof(all)));
	assert_int_equal(strlen(s), 512);
	assert_memory_equal(s, "000102", 6);
	assert_memory_equal(s + 506, "fdfeff", 6);
	assert_int_equal(text_hex_decode(s, strlen(s), &dec, &len), 0);
	assert_int_equal(len, 256);
	assert_memory_equal(dec, all, 256);
	free(dec);
	free(s);

	assert_int_equal(text_hex_decode("DE ad\nbE\tEF\n", 12, &dec, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(dec, "\xde\xad\xbe\xef", 4);
	free(dec);
	assert_int_equal(text_hex_decode("", 0, &dec, &len), 0);
	assert_int_equal(len, 0);
	free(dec);
	assert_int_equal(text_hex_decode("abc", 3, &dec, &len), -1);
	assert_int_equal(text_hex_decode("zz", 2, &dec, &len), -1);
	assert_int_equal(text_hex_decode("0x00", 4, &dec, &len), -1);
}

static void
escape(void **state)
{
	uint8_t all[256];
	char *s, *p;
	size_t i;
	unsigned int v;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	CAPTURE(s, text_escape_write(f_, all, sizeof(all)));
	/* Only printable ASCII comes out, and it decodes back exactly. */
	for (p = s; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	for (p = s, i = 0; *p != '\0'; i++) {
		if (p[0] == '\\' && p[1] == '\\') {
			assert_int_equal(all[i], '\\');
			p += 2;
		} else if (p[0] == '\\' && p[1] == 'x') {
			assert_int_equal(sscanf(p + 2, "%2x", &v), 1);
			assert_int_equal(v, all[i]);
			assert_true(all[i] < 0x20 || all[i] >= 0x7f);
			p += 4;
		} else {
			assert_int_equal((uint8_t)*p, all[i]);
			p++;
		}
	}
	assert_int_equal(i, 256);
	free(s);

	CAPTURE(s, text_escape_write(f_, (const uint8_t *)"a\tb\nc\\", 6));
	assert_string_equal(s, "a\\x09b\\x0ac\\\\");
	free(s);
}

static void
utf8(void **state)
{
	(void)state;
	assert_true(text_utf8_valid((const uint8_t *)"", 0));
	assert_true(text_utf8_valid((const uint8_t *)"plain", 5));
	assert_true(text_utf8_valid((const uint8_t *)"caf\xc3\xa9", 5));
	assert_true(text_utf8_valid((const uint8_t *)"\xe2\x82\xac", 3));
	assert_true(text_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
	assert_true(text_utf8_valid((const uint8_t *)"\0", 1));
	assert_false(text_utf8_valid((const uint8_t *)"\xff", 1));
	assert_false(text_utf8_valid((const uint8_t *)"\xc3", 1));
	assert_false(text_utf8_valid((const uint8_t *)"\xc0\xaf", 2));
	assert_false(text_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));
	assert_false(text_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));
	assert_false(text_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
	assert_false(text_utf8_valid((const uint8_t *)"\x80", 1));
	assert_false(text_utf8_valid((const uint8_t *)"a\xe2\x82", 3));
}

static void
json(void **state)
{
	char *s;

	(void)state;
	CAPTURE(s, text_json_string(f_,
	    (const uint8_t *)"q\"b\\n\n\t\x01\x7f\0caf\xc3\xa9", 15));
	assert_string_equal(s,
	    "\"q\\\"b\\\\n\\n\\t\\u0001\\u007f\\u0000caf\xc3\xa9\"");
	free(s);

	CAPTURE(s, text_json_bytes(f_, "key", (const uint8_t *)"abc", 3, 0));
	assert_string_equal(s, "\"key\":\"abc\"");
	free(s);
	CAPTURE(s, text_json_bytes(f_, "key", (const uint8_t *)"abc", 3, 1));
	assert_string_equal(s, "\"key_hex\":\"616263\"");
	free(s);
	/* Bytes that are not UTF-8 go as hex, never as broken JSON. */
	CAPTURE(s, text_json_bytes(f_, "value", (const uint8_t *)"\xff\x00", 2,
	    0));
	assert_string_equal(s, "\"value_hex\":\"ff00\"");
	free(s);
	CAPTURE(s, text_json_bytes(f_, "value", (const uint8_t *)"", 0, 0));
	assert_string_equal(s, "\"value\":\"\"");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hex),
		cmocka_unit_test(escape),
		cmocka_unit_test(utf8),
		cmocka_unit_test(json),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
