/* Thrift compact protocol: bytes of each primitive against hand-computed
 * values, reading them back, skipping of every type, and the reader's limits
 * (truncation, overlong varints, sizes, depth). */
#include "harness.h"

#include <stdbool.h>

#include "parquet/thrift.h"
#include "util/error.h"

/* Runs `stmts` on a writer over a fresh buffer and compares with `want`. */
#define EXPECT_BYTES(stmts, ...)                                                  \
	do {                                                                      \
		static const uint8_t want_[] = {__VA_ARGS__};                     \
		struct tpq_buf xb_;                                               \
		struct tpq_thrift_writer xw_;                                     \
		tpq_buf_init(&xb_);                                               \
		tpq_thrift_writer_init(&xw_, &xb_);                               \
		struct tpq_thrift_writer *w = &xw_;                               \
		stmts;                                                            \
		ASSERT_EQ(tpq_buf_status(&xb_), TPQ_OK);                          \
		ASSERT_EQ(xb_.len, sizeof(want_));                                \
		if (xb_.len == sizeof(want_))                                     \
			ASSERT_MEM_EQ(xb_.p, want_, sizeof(want_));               \
		tpq_buf_release(&xb_);                                            \
	} while (0)

TEST(i32_zigzag_varint)
{
	/* zigzag: 0->0, -1->1, 1->2, -2->3; then ULEB128, 7 bits per byte, low first */
	EXPECT_BYTES(tpq_thrift_put_i32(w, 0), 0x00);
	EXPECT_BYTES(tpq_thrift_put_i32(w, -1), 0x01);
	EXPECT_BYTES(tpq_thrift_put_i32(w, 1), 0x02);
	EXPECT_BYTES(tpq_thrift_put_i32(w, -2), 0x03);
	EXPECT_BYTES(tpq_thrift_put_i32(w, 63), 0x7e);       /* zz 126: one byte */
	EXPECT_BYTES(tpq_thrift_put_i32(w, -64), 0x7f);      /* zz 127: last one-byte value */
	EXPECT_BYTES(tpq_thrift_put_i32(w, 64), 0x80, 0x01); /* zz 128 = 0b1_0000000 */
	/* zz(300) = 600 = 0x258: low 7 bits 0x58 | 0x80 = 0xd8, then 600 >> 7 = 4 */
	EXPECT_BYTES(tpq_thrift_put_i32(w, 300), 0xd8, 0x04);
	/* zz(INT32_MAX) = 0xfffffffe: 7e|80, 7f|80, 7f|80, 7f|80, then the top 4 bits 0x0f */
	EXPECT_BYTES(tpq_thrift_put_i32(w, INT32_MAX), 0xfe, 0xff, 0xff, 0xff, 0x0f);
	EXPECT_BYTES(tpq_thrift_put_i32(w, INT32_MIN), 0xff, 0xff, 0xff, 0xff, 0x0f);
}

TEST(i64_i16_i8_double_binary)
{
	/* zz(INT64_MAX) = 2^64 - 2: nine 7-bit groups of ones (first 0x7e), then bit 63 = 0x01 */
	EXPECT_BYTES(tpq_thrift_put_i64(w, INT64_MAX), 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		     0xff, 0xff, 0x01);
	EXPECT_BYTES(tpq_thrift_put_i64(w, INT64_MIN), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		     0xff, 0xff, 0x01);
	/* zz(2^32) = 2^33: bit 33 is bit 5 of the fifth group -> 80 80 80 80 20 */
	EXPECT_BYTES(tpq_thrift_put_i64(w, (int64_t)1 << 32), 0x80, 0x80, 0x80, 0x80, 0x20);
	EXPECT_BYTES(tpq_thrift_put_i64(w, -3), 0x05);
	/* i16 goes through the i32 zigzag: zz(-32768) = 65535 = ff ff 03 */
	EXPECT_BYTES(tpq_thrift_put_i16(w, INT16_MIN), 0xff, 0xff, 0x03);
	EXPECT_BYTES(tpq_thrift_put_i16(w, INT16_MAX), 0xfe, 0xff, 0x03);
	/* i8 is one raw two's-complement byte, no zigzag */
	EXPECT_BYTES(tpq_thrift_put_i8(w, -1), 0xff);
	EXPECT_BYTES(tpq_thrift_put_i8(w, 32), 0x20);
	/* double 1.0 = 0x3ff0000000000000, little-endian */
	EXPECT_BYTES(tpq_thrift_put_double(w, 1.0), 0, 0, 0, 0, 0, 0, 0xf0, 0x3f);
	/* binary: varint length then the bytes */
	EXPECT_BYTES(tpq_thrift_put_binary(w, "abc", 3), 0x03, 'a', 'b', 'c');
	EXPECT_BYTES(tpq_thrift_put_string(w, ""), 0x00);
	EXPECT_BYTES(tpq_thrift_put_string(w, NULL), 0x00);
	/* bool as a list element: 1 true, 2 false */
	EXPECT_BYTES((tpq_thrift_put_bool(w, true), tpq_thrift_put_bool(w, false)), 0x01, 0x02);
}

TEST(field_headers)
{
	EXPECT_BYTES(
		(tpq_thrift_put_struct_begin(w), tpq_thrift_put_field_i32(w, 1, 5),
		 tpq_thrift_put_field_bool(w, 2, true), tpq_thrift_put_field_bool(w, 3, false),
		 tpq_thrift_put_field_i64(w, 20, -1), tpq_thrift_put_field_string(w, 21, "x"),
		 tpq_thrift_put_field_i16(w, 5, 7), tpq_thrift_put_struct_end(w)),
		0x15, 0x0a,       /* field 1 (delta 1) type i32=5; zz(5) = 10 */
		0x11,             /* field 2 (delta 1) type BOOLEAN_TRUE=1, no value bytes */
		0x12,             /* field 3 (delta 1) type BOOLEAN_FALSE=2 */
		0x06, 0x28, 0x01, /* field 20: delta 17 > 15, long form: type i64=6, zz(20)=40; zz(-1)=1 */
		0x18, 0x01, 'x',  /* field 21 (delta 1) binary=8; length 1, "x" */
		0x04, 0x0a, 0x0e, /* field 5: delta negative, long form: i16=4, zz(5)=10; zz(7)=14 */
		0x00);            /* stop */
	/* delta 15 is the last short form; the id stack restores the outer base */
	EXPECT_BYTES(
		(tpq_thrift_put_struct_begin(w), tpq_thrift_put_field(w, 1, TPQ_THRIFT_STRUCT),
		 tpq_thrift_put_struct_begin(w), tpq_thrift_put_field_i32(w, 15, 1),
		 tpq_thrift_put_field_i32(w, 31, 1), tpq_thrift_put_struct_end(w),
		 tpq_thrift_put_field_i32(w, 2, 2), tpq_thrift_put_field_empty_struct(w, 3),
		 tpq_thrift_put_struct_end(w)),
		0x1c,             /* field 1 (delta 1) struct=12 */
		0xf5, 0x02,       /* inner field 15 (delta 15) i32; zz(1)=2 */
		0x05, 0x3e, 0x02, /* inner field 31: delta 16, long form i32; zz(31)=62; zz(1)=2 */
		0x00,             /* inner stop */
		0x15, 0x04,       /* outer field 2: delta 1 from the outer base 1; zz(2)=4 */
		0x1c, 0x00,       /* field 3 (delta 1) struct, empty: just its stop */
		0x00);
}

TEST(list_headers)
{
	/* short form: size<<4 | element type */
	EXPECT_BYTES((tpq_thrift_put_list_begin(w, TPQ_THRIFT_I32, 3), tpq_thrift_put_i32(w, 1),
		      tpq_thrift_put_i32(w, 2), tpq_thrift_put_i32(w, 3)),
		     0x35, 0x02, 0x04, 0x06);
	/* bool list: element type 1 (what the reference implementations write) */
	EXPECT_BYTES((tpq_thrift_put_list_begin(w, TPQ_THRIFT_BOOL, 2), tpq_thrift_put_bool(w, true),
		      tpq_thrift_put_bool(w, false)),
		     0x21, 0x01, 0x02);
	EXPECT_BYTES(tpq_thrift_put_list_begin(w, TPQ_THRIFT_STRUCT, 0), 0x0c);
	EXPECT_BYTES(tpq_thrift_put_list_begin(w, TPQ_THRIFT_BINARY, 14), 0xe8);
	/* long form from 15: 0xf0 | type, then the size as a varint */
	EXPECT_BYTES(tpq_thrift_put_list_begin(w, TPQ_THRIFT_I64, 15), 0xf6, 0x0f);
	EXPECT_BYTES(tpq_thrift_put_list_begin(w, TPQ_THRIFT_I32, 300), 0xf5, 0xac, 0x02);
}

TEST(writer_limits)
{
	struct tpq_buf b;
	struct tpq_thrift_writer w;
	tpq_buf_init(&b);
	tpq_thrift_writer_init(&w, &b);
	for (int i = 0; i < TPQ_THRIFT_MAX_DEPTH; i++)
		tpq_thrift_put_struct_begin(&w);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);
	tpq_thrift_put_struct_begin(&w);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_ELIMIT);
	size_t len = b.len;
	tpq_thrift_put_i32(&w, 5); /* sticky: nothing more is written */
	ASSERT_EQ(b.len, len);
	tpq_buf_release(&b);

	tpq_buf_init(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_I32, (size_t)INT32_MAX + 1);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_ELIMIT);
	tpq_buf_release(&b);
}

/* Writes every kind of value, then reads it back. */
TEST(read_back_every_type)
{
	struct tpq_buf b;
	struct tpq_thrift_writer w;
	tpq_buf_init(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_bool(&w, 1, true);
	tpq_thrift_put_field_bool(&w, 2, false);
	tpq_thrift_put_field_i8(&w, 3, -128);
	tpq_thrift_put_field_i16(&w, 4, -300);
	tpq_thrift_put_field_i32(&w, 5, INT32_MIN);
	tpq_thrift_put_field_i64(&w, 6, INT64_MAX);
	tpq_thrift_put_field(&w, 7, TPQ_THRIFT_DOUBLE);
	tpq_thrift_put_double(&w, -2.5);
	tpq_thrift_put_field_binary(&w, 8, "hello", 5);
	tpq_thrift_put_field(&w, 300, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BOOL, 20);
	for (int i = 0; i < 20; i++)
		tpq_thrift_put_bool(&w, i % 3 == 0);
	tpq_thrift_put_field(&w, -5, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 42);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_field_i32(&w, 9, 7);
	tpq_thrift_put_struct_end(&w);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);

	struct tpq_error err;
	tpq_error_clear(&err);
	struct tpq_thrift_reader r;
	tpq_thrift_reader_init(&r, b.p, b.len, &err);
	int16_t id;
	enum tpq_thrift_type t;
	bool bv;
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	double d;
	const uint8_t *p;
	size_t n;
	ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, 1);
	ASSERT_EQ(t, TPQ_THRIFT_BOOL);
	ASSERT_EQ(tpq_thrift_get_bool(&r, &bv), TPQ_OK);
	ASSERT_EQ(bv, true);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, 2);
	ASSERT_EQ(t, TPQ_THRIFT_BOOL);
	ASSERT_EQ(tpq_thrift_get_bool(&r, &bv), TPQ_OK);
	ASSERT_EQ(bv, false);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_I8);
	ASSERT_EQ(tpq_thrift_get_i8(&r, &i8), TPQ_OK);
	ASSERT_EQ(i8, -128);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_I16);
	ASSERT_EQ(tpq_thrift_get_i16(&r, &i16), TPQ_OK);
	ASSERT_EQ(i16, -300);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_i32(&r, &i32), TPQ_OK);
	ASSERT_EQ(i32, INT32_MIN);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_i64(&r, &i64), TPQ_OK);
	ASSERT_EQ(i64, INT64_MAX);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_DOUBLE);
	ASSERT_EQ(tpq_thrift_get_double(&r, &d), TPQ_OK);
	ASSERT_TRUE(d == -2.5);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, 8);
	ASSERT_EQ(tpq_thrift_get_binary(&r, &p, &n), TPQ_OK);
	ASSERT_EQ(n, 5);
	ASSERT_MEM_EQ(p, "hello", 5);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, 300);
	ASSERT_EQ(t, TPQ_THRIFT_LIST);
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_BOOL);
	ASSERT_EQ(n, 20);
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(tpq_thrift_get_bool(&r, &bv), TPQ_OK);
		ASSERT_EQ(bv, i % 3 == 0);
	}
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, -5);
	ASSERT_EQ(t, TPQ_THRIFT_STRUCT);
	ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, 1);
	ASSERT_EQ(tpq_thrift_get_i32(&r, &i32), TPQ_OK);
	ASSERT_EQ(i32, 42);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_STOP);
	ASSERT_EQ(tpq_thrift_get_struct_end(&r), TPQ_OK);
	/* back in the outer struct: the delta base is -5 again, so 9 is long form */
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, 9);
	ASSERT_EQ(tpq_thrift_get_i32(&r, &i32), TPQ_OK);
	ASSERT_EQ(i32, 7);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_STOP);
	ASSERT_EQ(tpq_thrift_get_struct_end(&r), TPQ_OK);
	ASSERT_EQ(tpq_thrift_offset(&r), b.len);
	ASSERT_EQ(err.status, TPQ_OK);
	tpq_buf_release(&b);
}

/* Reads one value of `type` from `bytes` with a fresh reader; returns status. */
static enum tpq_status read_one(const uint8_t *bytes, size_t len, enum tpq_thrift_type type,
				struct tpq_error *err, int64_t *out)
{
	struct tpq_thrift_reader r;
	tpq_thrift_reader_init(&r, bytes, len, err);
	enum tpq_status st;
	int32_t i32 = 0;
	int16_t i16 = 0;
	bool b = false;
	*out = 0;
	switch (type) {
	case TPQ_THRIFT_I16:
		st = tpq_thrift_get_i16(&r, &i16);
		*out = i16;
		return st;
	case TPQ_THRIFT_I32:
		st = tpq_thrift_get_i32(&r, &i32);
		*out = i32;
		return st;
	case TPQ_THRIFT_BOOL:
		st = tpq_thrift_get_bool(&r, &b);
		*out = b;
		return st;
	default:
		return tpq_thrift_get_i64(&r, out);
	}
}

TEST(reader_rejects_bad_primitives)
{
	struct tpq_error err;
	int64_t v;
	/* truncated varint (continuation bit on the last byte) */
	tpq_error_clear(&err);
	ASSERT_EQ(read_one((const uint8_t[]){0x80, 0x80}, 2, TPQ_THRIFT_I64, &err, &v), TPQ_ECORRUPT);
	ASSERT_EQ(err.offset, 2);
	ASSERT_TRUE(strstr(err.msg, "ends inside") != NULL);
	/* 11-byte varint, and a 10th byte carrying bits past 64 */
	static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	tpq_error_clear(&err);
	ASSERT_EQ(read_one(eleven, sizeof(eleven), TPQ_THRIFT_I64, &err, &v), TPQ_ECORRUPT);
	static const uint8_t big10[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	tpq_error_clear(&err);
	ASSERT_EQ(read_one(big10, sizeof(big10), TPQ_THRIFT_I64, &err, &v), TPQ_ECORRUPT);
	/* largest legal 10-byte value decodes */
	static const uint8_t max10[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	ASSERT_EQ(read_one(max10, sizeof(max10), TPQ_THRIFT_I64, NULL, &v), TPQ_OK);
	ASSERT_EQ(v, INT64_MIN);
	/* i32 whose varint holds 2^32 (33 bits) */
	tpq_error_clear(&err);
	ASSERT_EQ(read_one((const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x10}, 5, TPQ_THRIFT_I32, &err, &v),
		  TPQ_ECORRUPT);
	ASSERT_EQ(read_one((const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f}, 5, TPQ_THRIFT_I32, NULL, &v),
		  TPQ_OK);
	ASSERT_EQ(v, INT32_MIN);
	/* i16 out of range: zz 65536 = 32768 */
	ASSERT_EQ(read_one((const uint8_t[]){0x80, 0x80, 0x04}, 3, TPQ_THRIFT_I16, NULL, &v),
		  TPQ_ECORRUPT);
	ASSERT_EQ(read_one((const uint8_t[]){0xff, 0xff, 0x03}, 3, TPQ_THRIFT_I16, NULL, &v), TPQ_OK);
	ASSERT_EQ(v, INT16_MIN);
	/* bool elements: 1 true, 2 false, 0 also false, 3 corrupt */
	ASSERT_EQ(read_one((const uint8_t[]){1}, 1, TPQ_THRIFT_BOOL, NULL, &v), TPQ_OK);
	ASSERT_EQ(v, 1);
	ASSERT_EQ(read_one((const uint8_t[]){2}, 1, TPQ_THRIFT_BOOL, NULL, &v), TPQ_OK);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(read_one((const uint8_t[]){0}, 1, TPQ_THRIFT_BOOL, NULL, &v), TPQ_OK);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(read_one((const uint8_t[]){3}, 1, TPQ_THRIFT_BOOL, NULL, &v), TPQ_ECORRUPT);
	/* empty input, even as (NULL, 0) */
	ASSERT_EQ(read_one(NULL, 0, TPQ_THRIFT_I32, NULL, &v), TPQ_ECORRUPT);

	/* binary longer than the input; negative length */
	struct tpq_thrift_reader r;
	const uint8_t *p;
	size_t n;
	tpq_thrift_reader_init(&r, (const uint8_t[]){0x05, 'a', 'b'}, 3, NULL);
	ASSERT_EQ(tpq_thrift_get_binary(&r, &p, &n), TPQ_ECORRUPT);
	tpq_thrift_reader_init(&r, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f}, 5, NULL);
	ASSERT_EQ(tpq_thrift_get_binary(&r, &p, &n), TPQ_ECORRUPT);
	/* double needs 8 bytes */
	double d;
	tpq_thrift_reader_init(&r, (const uint8_t[]){0, 0, 0, 0, 0, 0, 0}, 7, NULL);
	ASSERT_EQ(tpq_thrift_get_double(&r, &d), TPQ_ECORRUPT);
}

TEST(reader_rejects_bad_headers)
{
	struct tpq_thrift_reader r;
	struct tpq_error err;
	int16_t id;
	enum tpq_thrift_type t;
	size_t n;
	/* field types 14 and 15 do not exist; 0 with a delta is not a stop */
	static const uint8_t bad_types[] = {0x1e, 0x1f, 0x10};
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		tpq_thrift_reader_init(&r, &bad_types[i], 1, NULL);
		ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_OK);
		ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_ECORRUPT);
	}
	/* a long-form id 32767, then delta 1 would be 32768 */
	static const uint8_t overflow[] = {0x05, 0xfe, 0xff, 0x03, 0x00, 0x15, 0x00};
	tpq_thrift_reader_init(&r, overflow, sizeof(overflow), NULL);
	ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
	ASSERT_EQ(id, INT16_MAX);
	ASSERT_EQ(tpq_thrift_skip(&r, t), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_ECORRUPT);
	/* list element type 0 and 14 are invalid; both bool codes read as BOOL */
	tpq_thrift_reader_init(&r, (const uint8_t[]){0x10, 0x00}, 2, NULL);
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_ECORRUPT);
	tpq_thrift_reader_init(&r, (const uint8_t[]){0x1e, 0x00}, 2, NULL);
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_ECORRUPT);
	tpq_thrift_reader_init(&r, (const uint8_t[]){0x12, 0x01}, 2, NULL);
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_BOOL);
	ASSERT_EQ(n, 1);
	/* a list claiming more elements than bytes left */
	tpq_error_clear(&err);
	tpq_thrift_reader_init(&r, (const uint8_t[]){0x35, 0x02, 0x04}, 3, &err);
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_ECORRUPT);
	ASSERT_TRUE(strstr(err.msg, "cannot fit") != NULL);
	/* long form with a huge size; and one over a lowered max_list */
	tpq_thrift_reader_init(&r, (const uint8_t[]){0xf5, 0xff, 0xff, 0xff, 0xff, 0x07}, 6, NULL);
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_ELIMIT);
	tpq_thrift_reader_init(&r, (const uint8_t[]){0x35, 0x02, 0x04, 0x06}, 4, NULL);
	r.max_list = 2;
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_ELIMIT);
	/* long form with an in-range size */
	static const uint8_t long15[] = {0xf3, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	tpq_thrift_reader_init(&r, long15, sizeof(long15), NULL);
	ASSERT_EQ(tpq_thrift_get_list_begin(&r, &t, &n), TPQ_OK);
	ASSERT_EQ(t, TPQ_THRIFT_I8);
	ASSERT_EQ(n, 15);
}

/* A struct holding one field of every type, each followed by a marker field
 * so we can check the skip ended exactly at the value's end. */
TEST(skip_every_type)
{
	static const uint8_t in[] = {
		0x11,                         /* 1: bool true (no payload) */
		0x12,                         /* 2: bool false */
		0x13, 0x80,                   /* 3: i8 */
		0x14, 0xff, 0x01,             /* 4: i16 */
		0x15, 0x80, 0x80, 0x01,       /* 5: i32 */
		0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* 6: i64 */
		0x17, 1, 2, 3, 4, 5, 6, 7, 8, /* 7: double */
		0x18, 0x03, 'a', 'b', 'c',    /* 8: binary */
		0x19, 0x32, 0x01, 0x02, 0x00, /* 9: list<bool> of 3 (element type 2, spec form) */
		0x1a, 0x29, 0x18, 0x01, 'x', 0x08, /* 10: set<list<binary>>: ["x"], [] */
		0x1b, 0x02, 0x35, 0x02, 0x01, 0x04, 0x00, /* 11: map<i8,i32> {2:-1, 4:0} */
		0x1b, 0x00,                   /* 12: empty map (just the size) */
		0x1c, 0x11, 0x19, 0x1c, 0x1c, 0x00, 0x00, 0x00, /* 13: struct{1:true, 2:[{1:{}}]} */
		0x1d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, /* 14: uuid */
		0x1b, 0x01, 0x11, 0x01, 0x02, /* 15: map<bool,bool> {true:false} */
		0x00,
	};
	struct tpq_error err;
	tpq_error_clear(&err);
	struct tpq_thrift_reader r;
	tpq_thrift_reader_init(&r, in, sizeof(in), &err);
	ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_OK);
	int16_t id, want = 1;
	enum tpq_thrift_type t;
	for (;;) {
		ASSERT_EQ(tpq_thrift_get_field(&r, &id, &t), TPQ_OK);
		if (t == TPQ_THRIFT_STOP || err.status)
			break;
		ASSERT_EQ(id, want);
		want++;
		ASSERT_EQ(tpq_thrift_skip(&r, t), TPQ_OK);
	}
	ASSERT_EQ(want, 16);
	ASSERT_EQ(tpq_thrift_get_struct_end(&r), TPQ_OK);
	ASSERT_EQ(tpq_thrift_offset(&r), sizeof(in));
	ASSERT_EQ(err.status, TPQ_OK);
	ASSERT_EQ(r.depth, 0);

	/* the same value, one byte short, fails at every length */
	for (size_t len = 0; len < sizeof(in); len++) {
		tpq_thrift_reader_init(&r, in, len, NULL);
		ASSERT_EQ(tpq_thrift_skip(&r, TPQ_THRIFT_STRUCT), TPQ_ECORRUPT);
	}
	tpq_thrift_reader_init(&r, in, sizeof(in), NULL);
	ASSERT_EQ(tpq_thrift_skip(&r, TPQ_THRIFT_STRUCT), TPQ_OK);
	ASSERT_EQ(tpq_thrift_offset(&r), sizeof(in));
}

TEST(depth_limit)
{
	/* lists nested n deep: 0x19 (list of lists, 1 element) ... 0x05 (empty list of i32) */
	uint8_t in[200];
	for (int depth = 1; depth <= 150; depth++) {
		for (int i = 0; i < depth - 1; i++)
			in[i] = 0x19;
		in[depth - 1] = 0x05;
		struct tpq_thrift_reader r;
		struct tpq_error err;
		tpq_error_clear(&err);
		tpq_thrift_reader_init(&r, in, (size_t)depth, &err);
		enum tpq_status st = tpq_thrift_skip(&r, TPQ_THRIFT_LIST);
		if (depth <= TPQ_THRIFT_MAX_DEPTH) {
			ASSERT_EQ(st, TPQ_OK);
		} else {
			ASSERT_EQ(st, TPQ_ELIMIT);
			ASSERT_TRUE(strstr(err.msg, "nesting") != NULL);
		}
		ASSERT_EQ(r.depth, 0);
	}
	/* structs: 0x1c opens a struct field inside a struct; a lowered max_depth */
	memset(in, 0x1c, sizeof(in));
	struct tpq_thrift_reader r;
	tpq_thrift_reader_init(&r, in, sizeof(in), NULL);
	ASSERT_EQ(tpq_thrift_skip(&r, TPQ_THRIFT_STRUCT), TPQ_ELIMIT);
	tpq_thrift_reader_init(&r, in, sizeof(in), NULL);
	r.max_depth = 2;
	ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_OK);
	ASSERT_EQ(tpq_thrift_get_struct_begin(&r), TPQ_ELIMIT);
	/* maps count too */
	static const uint8_t map_in_map[] = {0x01, 0x3b, 0x05, 0x00};
	tpq_thrift_reader_init(&r, map_in_map, sizeof(map_in_map), NULL);
	r.max_depth = 1;
	ASSERT_EQ(tpq_thrift_skip(&r, TPQ_THRIFT_MAP), TPQ_ELIMIT);
	tpq_thrift_reader_init(&r, map_in_map, sizeof(map_in_map), NULL);
	ASSERT_EQ(tpq_thrift_skip(&r, TPQ_THRIFT_MAP), TPQ_OK);
	ASSERT_EQ(tpq_thrift_offset(&r), sizeof(map_in_map));
}

TEST(first_error_wins)
{
	struct tpq_thrift_reader r;
	struct tpq_error err;
	tpq_error_clear(&err);
	tpq_thrift_reader_init(&r, (const uint8_t[]){0x01}, 1, &err);
	r.p++;
	ASSERT_EQ(tpq_thrift_fail(&r, TPQ_ECORRUPT, "first %d", 1), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_thrift_fail(&r, TPQ_ELIMIT, "second"), TPQ_ELIMIT);
	ASSERT_EQ(err.status, TPQ_ECORRUPT);
	ASSERT_STR_EQ(err.msg, "first 1");
	ASSERT_EQ(err.offset, 1);
	ASSERT_STR_EQ(tpq_thrift_type_name(TPQ_THRIFT_STRUCT), "struct");
	ASSERT_STR_EQ(tpq_thrift_type_name((enum tpq_thrift_type)99), "unknown");
}

int main(void)
{
	RUN(i32_zigzag_varint);
	RUN(i64_i16_i8_double_binary);
	RUN(field_headers);
	RUN(list_headers);
	RUN(writer_limits);
	RUN(read_back_every_type);
	RUN(reader_rejects_bad_primitives);
	RUN(reader_rejects_bad_headers);
	RUN(skip_every_type);
	RUN(depth_limit);
	RUN(first_error_wins);
	return harness_done();
}
