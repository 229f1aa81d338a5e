/* Thrift compact protocol: the small subset of Apache Thrift that Parquet's
 * footer, page headers and page index use (no messages, no services).
 *
 * Writer: appends to a struct tpq_buf and inherits its sticky error; the put
 * functions return nothing and the caller checks tpq_buf_status() once at the
 * end. Programmer errors (nesting deeper than TPQ_THRIFT_MAX_DEPTH, a list or
 * binary longer than INT32_MAX) put the buffer in error (TPQ_ELIMIT/TPQ_EINVAL).
 *
 * Reader: parses borrowed bytes [p, p+len). Every byte read is checked
 * against the end; every get function returns an enum tpq_status and, on
 * failure, records a message and the byte offset in the reader's error.
 * Nesting (structs, and containers inside skipped values) is bounded by
 * max_depth, and a list/set/map may declare at most min(max_list, bytes left)
 * elements: every compact-protocol value takes at least one byte, so a valid
 * list can never claim more elements than there are bytes after its header.
 * Hence an input of n bytes makes a decoder allocate O(n) elements at most
 * and do O(n) work.
 *
 * Wire summary (spec: apache/thrift doc/specs/thrift-compact-protocol.md):
 *   field header   ddddtttt (delta 1..15 from the previous id in this struct),
 *                  or 0000tttt + zigzag varint i16 id (long form)
 *   bool field     the value is the header type: 1 true, 2 false, no payload
 *   i16/i32/i64    zigzag, then unsigned LEB128 varint
 *   i8             one raw byte;  double: 8 bytes little-endian
 *   binary/string  varint length, then the bytes
 *   list/set       sssstttt (size 0..14), or 1111tttt + varint size
 *   bool element   one byte: 1 true, 2 false (0 is read as false too)
 *   map            varint size, then kkkkvvvv if size > 0
 *   struct         fields, then a 0 byte (stop)
 * Threads: readers and writers are plain values, one per thread. */
#ifndef TPQ_PARQUET_THRIFT_H
#define TPQ_PARQUET_THRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

/* Compact-protocol type codes as they appear on the wire (field headers and
 * element types). The reader reports both bool field types (1 and 2) and
 * both bool element types (1, and the 2 of the spec text) as TPQ_THRIFT_BOOL. */
enum tpq_thrift_type {
	TPQ_THRIFT_STOP = 0,
	TPQ_THRIFT_BOOL = 1,       /* field header: BOOLEAN_TRUE; list element type: bool */
	TPQ_THRIFT_BOOL_FALSE = 2, /* field header: BOOLEAN_FALSE (wire only) */
	TPQ_THRIFT_I8 = 3,
	TPQ_THRIFT_I16 = 4,
	TPQ_THRIFT_I32 = 5,
	TPQ_THRIFT_I64 = 6,
	TPQ_THRIFT_DOUBLE = 7,
	TPQ_THRIFT_BINARY = 8,     /* binary and string */
	TPQ_THRIFT_LIST = 9,
	TPQ_THRIFT_SET = 10,
	TPQ_THRIFT_MAP = 11,
	TPQ_THRIFT_STRUCT = 12,    /* structs and unions */
	TPQ_THRIFT_UUID = 13,      /* 16 raw bytes */
};

/* Maximum nesting of structs/containers, reader and writer. */
#define TPQ_THRIFT_MAX_DEPTH 64
/* Default ceiling on the element count of one list/set/map when reading. */
#define TPQ_THRIFT_MAX_LIST ((size_t)1 << 24)

/* ---- writer ---- */

struct tpq_thrift_writer {
	struct tpq_buf *out;                 /* borrowed; receives bytes and errors */
	int depth;                           /* open structs */
	int16_t last_id;                     /* last field id written in the open struct */
	int16_t stack[TPQ_THRIFT_MAX_DEPTH]; /* last_id of each enclosing struct */
};

/* Starts writing into `out` (borrowed for the writer's lifetime). */
void tpq_thrift_writer_init(struct tpq_thrift_writer *w, struct tpq_buf *out);

/* A struct value: begin resets the field-id delta base, end writes the stop
 * byte and restores the enclosing struct's base. A top-level struct (e.g. a
 * PageHeader) is written as begin, fields, end. */
void tpq_thrift_put_struct_begin(struct tpq_thrift_writer *w);
void tpq_thrift_put_struct_end(struct tpq_thrift_writer *w);

/* A field header; the value follows with one of the put functions below.
 * Not for bools: use tpq_thrift_put_field_bool, whose value is the header. */
void tpq_thrift_put_field(struct tpq_thrift_writer *w, int16_t id, enum tpq_thrift_type type);
void tpq_thrift_put_field_bool(struct tpq_thrift_writer *w, int16_t id, bool v);

/* A list header for `n` elements of type `elem` (TPQ_THRIFT_BOOL for bools);
 * the elements follow with the value put functions. */
void tpq_thrift_put_list_begin(struct tpq_thrift_writer *w, enum tpq_thrift_type elem, size_t n);

/* Values (as a field's value or a list element). */
void tpq_thrift_put_bool(struct tpq_thrift_writer *w, bool v); /* list element form */
void tpq_thrift_put_i8(struct tpq_thrift_writer *w, int8_t v);
void tpq_thrift_put_i16(struct tpq_thrift_writer *w, int16_t v);
void tpq_thrift_put_i32(struct tpq_thrift_writer *w, int32_t v);
void tpq_thrift_put_i64(struct tpq_thrift_writer *w, int64_t v);
void tpq_thrift_put_double(struct tpq_thrift_writer *w, double v);
void tpq_thrift_put_binary(struct tpq_thrift_writer *w, const void *p, size_t n);
void tpq_thrift_put_string(struct tpq_thrift_writer *w, const char *s); /* NULL: "" */

/* Field header and value in one call. */
void tpq_thrift_put_field_i8(struct tpq_thrift_writer *w, int16_t id, int8_t v);
void tpq_thrift_put_field_i16(struct tpq_thrift_writer *w, int16_t id, int16_t v);
void tpq_thrift_put_field_i32(struct tpq_thrift_writer *w, int16_t id, int32_t v);
void tpq_thrift_put_field_i64(struct tpq_thrift_writer *w, int16_t id, int64_t v);
void tpq_thrift_put_field_binary(struct tpq_thrift_writer *w, int16_t id, const void *p, size_t n);
void tpq_thrift_put_field_string(struct tpq_thrift_writer *w, int16_t id, const char *s);
/* A field holding an empty struct (`1: StringType STRING` and the like). */
void tpq_thrift_put_field_empty_struct(struct tpq_thrift_writer *w, int16_t id);

/* ---- reader ---- */

struct tpq_thrift_reader {
	const uint8_t *start, *p, *end;      /* borrowed input; p is the next byte */
	struct tpq_error *err;               /* borrowed, may be NULL */
	size_t max_list;                     /* element ceiling per list/set/map */
	int max_depth;                       /* <= TPQ_THRIFT_MAX_DEPTH */
	int depth;                           /* open structs and containers */
	int16_t last_id;                     /* last field id read in the open struct */
	bool bool_pending, bool_value;       /* value of the bool field just read */
	int16_t stack[TPQ_THRIFT_MAX_DEPTH];
};

/* Reads from p[0..len) (borrowed until the reader is done). Errors go to
 * `err` (may be NULL) with offset relative to p. Limits start at
 * TPQ_THRIFT_MAX_LIST and TPQ_THRIFT_MAX_DEPTH; callers may lower them. */
void tpq_thrift_reader_init(struct tpq_thrift_reader *r, const uint8_t *p, size_t len,
			    struct tpq_error *err);

static inline size_t tpq_thrift_offset(const struct tpq_thrift_reader *r)
{
	return (size_t)(r->p - r->start);
}

/* Enter/leave a struct value. begin fails with TPQ_ELIMIT past max_depth.
 * end is called after tpq_thrift_get_field has returned TPQ_THRIFT_STOP. */
enum tpq_status tpq_thrift_get_struct_begin(struct tpq_thrift_reader *r);
enum tpq_status tpq_thrift_get_struct_end(struct tpq_thrift_reader *r);

/* The next field header of the open struct: *type is TPQ_THRIFT_STOP at the
 * end of the struct (then *id is 0). Bool fields report TPQ_THRIFT_BOOL; their
 * value is taken with tpq_thrift_get_bool (or dropped by tpq_thrift_skip).
 * A field id outside int16 or an unknown type is TPQ_ECORRUPT. */
enum tpq_status tpq_thrift_get_field(struct tpq_thrift_reader *r, int16_t *id,
				     enum tpq_thrift_type *type);

/* A bool: the pending bool field value, else one list-element byte. */
enum tpq_status tpq_thrift_get_bool(struct tpq_thrift_reader *r, bool *v);
enum tpq_status tpq_thrift_get_i8(struct tpq_thrift_reader *r, int8_t *v);
/* Zigzag varints; a value outside the type's range is TPQ_ECORRUPT. */
enum tpq_status tpq_thrift_get_i16(struct tpq_thrift_reader *r, int16_t *v);
enum tpq_status tpq_thrift_get_i32(struct tpq_thrift_reader *r, int32_t *v);
enum tpq_status tpq_thrift_get_i64(struct tpq_thrift_reader *r, int64_t *v);
enum tpq_status tpq_thrift_get_double(struct tpq_thrift_reader *r, double *v);
/* *p points into the input (borrowed, not NUL-terminated). */
enum tpq_status tpq_thrift_get_binary(struct tpq_thrift_reader *r, const uint8_t **p, size_t *n);

/* A list or set header: element type (bool normalised to TPQ_THRIFT_BOOL)
 * and count, already checked against max_list and the bytes left. */
enum tpq_status tpq_thrift_get_list_begin(struct tpq_thrift_reader *r,
					  enum tpq_thrift_type *elem, size_t *n);

/* Skips one value of `type`, any nesting (bounded by max_depth). For a bool
 * field just announced by tpq_thrift_get_field this consumes nothing. */
enum tpq_status tpq_thrift_skip(struct tpq_thrift_reader *r, enum tpq_thrift_type type);

/* Records an error at the current offset (first error wins) and returns st. */
enum tpq_status tpq_thrift_fail(struct tpq_thrift_reader *r, enum tpq_status st,
				const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A short name for a type code ("i32", "struct", ...), for messages. */
const char *tpq_thrift_type_name(enum tpq_thrift_type type);

#endif
