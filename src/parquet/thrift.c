/* Thrift compact protocol, reader and writer.
 *
 * Design. The writer is a thin layer over struct tpq_buf: it only remembers
 * the last field id of each open struct (a fixed stack, no allocation) so it
 * can emit the one-byte delta form of field headers. All failures are the
 * buffer's sticky error.
 *
 * The reader never reads past `end`: every multi-byte read first compares the
 * bytes left with the bytes needed, and a varint stops at the end of input or
 * after 10 bytes. Untrusted counts are bounded before anyone allocates for
 * them: list/set/map sizes by max_list and by the bytes left (each element is
 * at least one byte), binary lengths by the bytes left. Recursion happens only
 * in skip_value, and every level of it is counted in r->depth against
 * max_depth, so hostile nesting ends with TPQ_ELIMIT long before the stack
 * does. Skipping is O(input): every loop iteration consumes at least a byte.
 *
 * Zigzag, for reference:  v  ->  zz(v)
 *                          0 ->  0,  -1 -> 1,  1 -> 2,  -2 -> 3,
 *                 INT32_MAX -> 0xfffffffe, INT32_MIN -> 0xffffffff. */
#include "parquet/thrift.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

/* ---- writer ---- */

static void writer_fail(struct tpq_thrift_writer *w, enum tpq_status st)
{
	if (w->out->err == TPQ_OK)
		w->out->err = st;
}

static uint32_t zigzag32(int32_t v)
{
	uint32_t u = (uint32_t)v;
	return (u << 1) ^ (0u - (u >> 31));
}

static uint64_t zigzag64(int64_t v)
{
	uint64_t u = (uint64_t)v;
	return (u << 1) ^ (0u - (u >> 63));
}

void tpq_thrift_writer_init(struct tpq_thrift_writer *w, struct tpq_buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

void tpq_thrift_put_struct_begin(struct tpq_thrift_writer *w)
{
	if (w->depth >= TPQ_THRIFT_MAX_DEPTH) {
		writer_fail(w, TPQ_ELIMIT);
		return;
	}
	w->stack[w->depth++] = w->last_id;
	w->last_id = 0;
}

void tpq_thrift_put_struct_end(struct tpq_thrift_writer *w)
{
	tpq_buf_put_u8(w->out, TPQ_THRIFT_STOP);
	if (w->depth > 0)
		w->last_id = w->stack[--w->depth];
}

void tpq_thrift_put_field(struct tpq_thrift_writer *w, int16_t id, enum tpq_thrift_type type)
{
	int32_t delta = (int32_t)id - w->last_id;
	if (delta > 0 && delta <= 15) {
		tpq_buf_put_u8(w->out, (uint8_t)(delta << 4 | (int32_t)type));
	} else {
		tpq_buf_put_u8(w->out, (uint8_t)type);
		tpq_buf_put_uleb(w->out, zigzag32(id));
	}
	w->last_id = id;
}

void tpq_thrift_put_field_bool(struct tpq_thrift_writer *w, int16_t id, bool v)
{
	tpq_thrift_put_field(w, id, v ? TPQ_THRIFT_BOOL : TPQ_THRIFT_BOOL_FALSE);
}

void tpq_thrift_put_list_begin(struct tpq_thrift_writer *w, enum tpq_thrift_type elem, size_t n)
{
	if (n > INT32_MAX) {
		writer_fail(w, TPQ_ELIMIT);
		return;
	}
	if (n < 15) {
		tpq_buf_put_u8(w->out, (uint8_t)(n << 4 | (size_t)elem));
	} else {
		tpq_buf_put_u8(w->out, (uint8_t)(0xf0 | (unsigned)elem));
		tpq_buf_put_uleb(w->out, n);
	}
}

void tpq_thrift_put_bool(struct tpq_thrift_writer *w, bool v)
{
	tpq_buf_put_u8(w->out, v ? 1 : 2);
}

void tpq_thrift_put_i8(struct tpq_thrift_writer *w, int8_t v)
{
	tpq_buf_put_u8(w->out, (uint8_t)v);
}

void tpq_thrift_put_i16(struct tpq_thrift_writer *w, int16_t v)
{
	tpq_buf_put_uleb(w->out, zigzag32(v));
}

void tpq_thrift_put_i32(struct tpq_thrift_writer *w, int32_t v)
{
	tpq_buf_put_uleb(w->out, zigzag32(v));
}

void tpq_thrift_put_i64(struct tpq_thrift_writer *w, int64_t v)
{
	tpq_buf_put_uleb(w->out, zigzag64(v));
}

void tpq_thrift_put_double(struct tpq_thrift_writer *w, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	tpq_buf_put_le64(w->out, u);
}

void tpq_thrift_put_binary(struct tpq_thrift_writer *w, const void *p, size_t n)
{
	if (n > INT32_MAX) {
		writer_fail(w, TPQ_ELIMIT);
		return;
	}
	tpq_buf_put_uleb(w->out, n);
	tpq_buf_put(w->out, p, n);
}

void tpq_thrift_put_string(struct tpq_thrift_writer *w, const char *s)
{
	if (!s)
		s = "";
	tpq_thrift_put_binary(w, s, strlen(s));
}

void tpq_thrift_put_field_i8(struct tpq_thrift_writer *w, int16_t id, int8_t v)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_I8);
	tpq_thrift_put_i8(w, v);
}

void tpq_thrift_put_field_i16(struct tpq_thrift_writer *w, int16_t id, int16_t v)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_I16);
	tpq_thrift_put_i16(w, v);
}

void tpq_thrift_put_field_i32(struct tpq_thrift_writer *w, int16_t id, int32_t v)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_I32);
	tpq_thrift_put_i32(w, v);
}

void tpq_thrift_put_field_i64(struct tpq_thrift_writer *w, int16_t id, int64_t v)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_I64);
	tpq_thrift_put_i64(w, v);
}

void tpq_thrift_put_field_binary(struct tpq_thrift_writer *w, int16_t id, const void *p, size_t n)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_BINARY);
	tpq_thrift_put_binary(w, p, n);
}

void tpq_thrift_put_field_string(struct tpq_thrift_writer *w, int16_t id, const char *s)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_BINARY);
	tpq_thrift_put_string(w, s);
}

void tpq_thrift_put_field_empty_struct(struct tpq_thrift_writer *w, int16_t id)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(w);
	tpq_thrift_put_struct_end(w);
}

/* ---- reader ---- */

const char *tpq_thrift_type_name(enum tpq_thrift_type type)
{
	switch (type) {
	case TPQ_THRIFT_STOP: return "stop";
	case TPQ_THRIFT_BOOL: return "bool";
	case TPQ_THRIFT_BOOL_FALSE: return "bool";
	case TPQ_THRIFT_I8: return "i8";
	case TPQ_THRIFT_I16: return "i16";
	case TPQ_THRIFT_I32: return "i32";
	case TPQ_THRIFT_I64: return "i64";
	case TPQ_THRIFT_DOUBLE: return "double";
	case TPQ_THRIFT_BINARY: return "binary";
	case TPQ_THRIFT_LIST: return "list";
	case TPQ_THRIFT_SET: return "set";
	case TPQ_THRIFT_MAP: return "map";
	case TPQ_THRIFT_STRUCT: return "struct";
	case TPQ_THRIFT_UUID: return "uuid";
	}
	return "unknown";
}

void tpq_thrift_reader_init(struct tpq_thrift_reader *r, const uint8_t *p, size_t len,
			    struct tpq_error *err)
{
	static const uint8_t empty[1];
	if (!p) { /* (NULL, 0): NULL + 0 is undefined in C */
		p = empty;
		len = 0;
	}
	memset(r, 0, sizeof(*r));
	r->start = p;
	r->p = p;
	r->end = p + len;
	r->err = err;
	r->max_list = TPQ_THRIFT_MAX_LIST;
	r->max_depth = TPQ_THRIFT_MAX_DEPTH;
}

enum tpq_status tpq_thrift_fail(struct tpq_thrift_reader *r, enum tpq_status st, const char *fmt,
				...)
{
	struct tpq_error *err = r->err;
	if (!err || err->status != TPQ_OK || st == TPQ_OK)
		return st;
	char msg[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tpq_error_set(err, st, "%s", msg);
	err->offset = (int64_t)tpq_thrift_offset(r);
	return st;
}

static size_t left(const struct tpq_thrift_reader *r)
{
	return (size_t)(r->end - r->p);
}

static enum tpq_status truncated(struct tpq_thrift_reader *r, const char *what)
{
	return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: input ends inside %s", what);
}

static enum tpq_status get_varint(struct tpq_thrift_reader *r, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned i = 0;; i++) {
		if (r->p == r->end)
			return truncated(r, "a varint");
		uint8_t b = *r->p;
		if (i == 9 && b > 1)
			return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: varint exceeds 64 bits");
		r->p++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			break;
	}
	*out = v;
	return TPQ_OK;
}

static int64_t unzigzag(uint64_t u)
{
	uint64_t v = (u >> 1) ^ (0u - (u & 1));
	int64_t s;
	memcpy(&s, &v, sizeof(s));
	return s;
}

/* A varint that must fit in 32 bits (i32 zigzag, sizes, lengths). */
static enum tpq_status get_varint32(struct tpq_thrift_reader *r, uint32_t *out)
{
	uint64_t u = 0;
	enum tpq_status st = get_varint(r, &u);
	if (st != TPQ_OK)
		return st;
	if (u > UINT32_MAX)
		return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: varint %llu exceeds 32 bits",
				       (unsigned long long)u);
	*out = (uint32_t)u;
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_i64(struct tpq_thrift_reader *r, int64_t *v)
{
	uint64_t u = 0;
	enum tpq_status st = get_varint(r, &u);
	if (st == TPQ_OK)
		*v = unzigzag(u);
	return st;
}

enum tpq_status tpq_thrift_get_i32(struct tpq_thrift_reader *r, int32_t *v)
{
	uint32_t u = 0;
	enum tpq_status st = get_varint32(r, &u);
	if (st == TPQ_OK)
		*v = (int32_t)unzigzag(u);
	return st;
}

enum tpq_status tpq_thrift_get_i16(struct tpq_thrift_reader *r, int16_t *v)
{
	int32_t x = 0;
	enum tpq_status st = tpq_thrift_get_i32(r, &x);
	if (st != TPQ_OK)
		return st;
	if (x < INT16_MIN || x > INT16_MAX)
		return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: i16 value %d out of range",
				       (int)x);
	*v = (int16_t)x;
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_i8(struct tpq_thrift_reader *r, int8_t *v)
{
	if (r->p == r->end)
		return truncated(r, "an i8");
	uint8_t b = *r->p++;
	*v = (int8_t)(b >= 0x80 ? (int)b - 256 : (int)b);
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_double(struct tpq_thrift_reader *r, double *v)
{
	if (left(r) < 8)
		return truncated(r, "a double");
	uint64_t u = tpq_le64(r->p);
	r->p += 8;
	memcpy(v, &u, sizeof(*v));
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_bool(struct tpq_thrift_reader *r, bool *v)
{
	if (r->bool_pending) {
		r->bool_pending = false;
		*v = r->bool_value;
		return TPQ_OK;
	}
	if (r->p == r->end)
		return truncated(r, "a bool");
	uint8_t b = *r->p;
	if (b > 2)
		return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: bool element byte %u", b);
	r->p++;
	*v = b == 1;
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_binary(struct tpq_thrift_reader *r, const uint8_t **p, size_t *n)
{
	uint32_t len = 0;
	enum tpq_status st = get_varint32(r, &len);
	if (st != TPQ_OK)
		return st;
	if (len > INT32_MAX)
		return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: binary length %lu is negative",
				       (unsigned long)len);
	if (len > left(r))
		return truncated(r, "a binary value");
	*p = r->p;
	*n = len;
	r->p += len;
	return TPQ_OK;
}

/* Element types of containers: both bool codes map to TPQ_THRIFT_BOOL. */
static enum tpq_status elem_type(struct tpq_thrift_reader *r, unsigned code,
				 enum tpq_thrift_type *t)
{
	if (code == TPQ_THRIFT_BOOL || code == TPQ_THRIFT_BOOL_FALSE) {
		*t = TPQ_THRIFT_BOOL;
		return TPQ_OK;
	}
	if (code < TPQ_THRIFT_I8 || code > TPQ_THRIFT_UUID)
		return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: unknown element type %u", code);
	*t = (enum tpq_thrift_type)code;
	return TPQ_OK;
}

/* Checks a container's declared element count: `per` is the minimum bytes
 * per element (1 for lists, 2 for map entries). */
static enum tpq_status check_count(struct tpq_thrift_reader *r, uint64_t n, size_t per)
{
	if (n > r->max_list)
		return tpq_thrift_fail(r, TPQ_ELIMIT,
				       "thrift: container of %llu elements exceeds the limit of %zu",
				       (unsigned long long)n, r->max_list);
	if (n > left(r) / per)
		return tpq_thrift_fail(r, TPQ_ECORRUPT,
				       "thrift: container of %llu elements cannot fit in %zu bytes",
				       (unsigned long long)n, left(r));
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_list_begin(struct tpq_thrift_reader *r,
					  enum tpq_thrift_type *elem, size_t *n)
{
	if (r->p == r->end)
		return truncated(r, "a list header");
	uint8_t b = *r->p++;
	enum tpq_status st = elem_type(r, b & 15u, elem);
	if (st != TPQ_OK)
		return st;
	uint32_t size = b >> 4;
	if (size == 15) {
		st = get_varint32(r, &size);
		if (st != TPQ_OK)
			return st;
		if (size > INT32_MAX)
			return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: negative list size");
	}
	st = check_count(r, size, 1);
	if (st == TPQ_OK)
		*n = size;
	return st;
}

static enum tpq_status enter(struct tpq_thrift_reader *r)
{
	if (r->depth >= r->max_depth || r->depth >= TPQ_THRIFT_MAX_DEPTH)
		return tpq_thrift_fail(r, TPQ_ELIMIT, "thrift: nesting deeper than %d",
				       r->max_depth);
	r->depth++;
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_struct_begin(struct tpq_thrift_reader *r)
{
	enum tpq_status st = enter(r);
	if (st != TPQ_OK)
		return st;
	r->stack[r->depth - 1] = r->last_id;
	r->last_id = 0;
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_struct_end(struct tpq_thrift_reader *r)
{
	if (r->depth <= 0)
		return tpq_thrift_fail(r, TPQ_EINVAL, "thrift: struct end without begin");
	r->last_id = r->stack[--r->depth];
	return TPQ_OK;
}

/* Reads a field header byte's long-form id if needed; returns the type code
 * (1..13) in *code and the id in *id. `last` is the delta base. */
static enum tpq_status field_header(struct tpq_thrift_reader *r, int16_t last, int16_t *id,
				    unsigned *code)
{
	if (r->p == r->end)
		return truncated(r, "a struct");
	uint8_t b = *r->p++;
	if (b == 0) {
		*code = TPQ_THRIFT_STOP;
		*id = 0;
		return TPQ_OK;
	}
	unsigned t = b & 15u, delta = b >> 4;
	if (t == TPQ_THRIFT_STOP || t > TPQ_THRIFT_UUID)
		return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: unknown field type %u", t);
	if (delta) {
		int32_t v = (int32_t)last + (int32_t)delta;
		if (v > INT16_MAX)
			return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: field id %d out of range",
					       (int)v);
		*id = (int16_t)v;
	} else {
		enum tpq_status st = tpq_thrift_get_i16(r, id);
		if (st != TPQ_OK)
			return st;
	}
	*code = t;
	return TPQ_OK;
}

enum tpq_status tpq_thrift_get_field(struct tpq_thrift_reader *r, int16_t *id,
				     enum tpq_thrift_type *type)
{
	unsigned code = 0;
	int16_t fid = 0;
	r->bool_pending = false;
	enum tpq_status st = field_header(r, r->last_id, &fid, &code);
	if (st != TPQ_OK)
		return st;
	*id = fid;
	if (code == TPQ_THRIFT_STOP) {
		*type = TPQ_THRIFT_STOP;
		return TPQ_OK;
	}
	if (code == TPQ_THRIFT_BOOL || code == TPQ_THRIFT_BOOL_FALSE) {
		r->bool_pending = true;
		r->bool_value = code == TPQ_THRIFT_BOOL;
		code = TPQ_THRIFT_BOOL;
	}
	r->last_id = fid;
	*type = (enum tpq_thrift_type)code;
	return TPQ_OK;
}

static enum tpq_status skip_bytes(struct tpq_thrift_reader *r, size_t n, const char *what)
{
	if (left(r) < n)
		return truncated(r, what);
	r->p += n;
	return TPQ_OK;
}

/* Skips a value in element form (a bool is one byte here). */
static enum tpq_status skip_value(struct tpq_thrift_reader *r, enum tpq_thrift_type t)
{
	enum tpq_status st = TPQ_OK;
	uint64_t u = 0;
	size_t n = 0;
	const uint8_t *bp = NULL;

	switch (t) {
	case TPQ_THRIFT_BOOL:
	case TPQ_THRIFT_BOOL_FALSE:
	case TPQ_THRIFT_I8:
		return skip_bytes(r, 1, "a byte");
	case TPQ_THRIFT_I16:
	case TPQ_THRIFT_I32:
	case TPQ_THRIFT_I64:
		return get_varint(r, &u);
	case TPQ_THRIFT_DOUBLE:
		return skip_bytes(r, 8, "a double");
	case TPQ_THRIFT_UUID:
		return skip_bytes(r, 16, "a uuid");
	case TPQ_THRIFT_BINARY:
		return tpq_thrift_get_binary(r, &bp, &n);
	case TPQ_THRIFT_LIST:
	case TPQ_THRIFT_SET: {
		enum tpq_thrift_type et = TPQ_THRIFT_STOP;
		if ((st = enter(r)) != TPQ_OK)
			return st;
		st = tpq_thrift_get_list_begin(r, &et, &n);
		for (size_t i = 0; st == TPQ_OK && i < n; i++)
			st = skip_value(r, et);
		r->depth--;
		return st;
	}
	case TPQ_THRIFT_MAP: {
		uint32_t size = 0;
		enum tpq_thrift_type kt = TPQ_THRIFT_STOP, vt = TPQ_THRIFT_STOP;
		if ((st = enter(r)) != TPQ_OK)
			return st;
		st = get_varint32(r, &size);
		if (st == TPQ_OK && size > INT32_MAX)
			st = tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: negative map size");
		if (st == TPQ_OK && size > 0) {
			if (r->p == r->end) {
				st = truncated(r, "a map header");
			} else {
				uint8_t b = *r->p++;
				st = elem_type(r, b >> 4, &kt);
				if (st == TPQ_OK)
					st = elem_type(r, b & 15u, &vt);
			}
		}
		if (st == TPQ_OK)
			st = check_count(r, size, 2);
		for (uint32_t i = 0; st == TPQ_OK && i < size; i++) {
			st = skip_value(r, kt);
			if (st == TPQ_OK)
				st = skip_value(r, vt);
		}
		r->depth--;
		return st;
	}
	case TPQ_THRIFT_STRUCT: {
		if ((st = enter(r)) != TPQ_OK)
			return st;
		for (;;) {
			int16_t id = 0;
			unsigned code = 0;
			st = field_header(r, 0, &id, &code);
			if (st != TPQ_OK || code == TPQ_THRIFT_STOP)
				break;
			if (code == TPQ_THRIFT_BOOL || code == TPQ_THRIFT_BOOL_FALSE)
				continue; /* the value is the header */
			st = skip_value(r, (enum tpq_thrift_type)code);
			if (st != TPQ_OK)
				break;
		}
		r->depth--;
		return st;
	}
	case TPQ_THRIFT_STOP:
		break;
	}
	return tpq_thrift_fail(r, TPQ_ECORRUPT, "thrift: cannot skip type %u", (unsigned)t);
}

enum tpq_status tpq_thrift_skip(struct tpq_thrift_reader *r, enum tpq_thrift_type type)
{
	if (type == TPQ_THRIFT_BOOL && r->bool_pending) {
		r->bool_pending = false;
		return TPQ_OK;
	}
	return skip_value(r, type);
}
