/* Parquet footer structures: compact bytes of each struct against
 * hand-computed values, full round trips, truncation at every length,
 * unknown fields, required fields, unions, and the reader's limits.
 *
 * Byte comments use: field header = delta<<4 | type (i32=5, i64=6, binary=8,
 * list=9, struct=c, bool true=1/false=2, i8=3, i16=4), zz(v) = zigzag varint,
 * list header = size<<4 | element type. */
#include "harness.h"

#include <stdbool.h>

#include "parquet/meta.h"
#include "parquet/thrift.h"
#include "util/error.h"

/* ---- comparison helpers (every field) ---- */

static void expect_bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	ASSERT_EQ(alen, blen);
	if (alen == blen && alen > 0) {
		ASSERT_TRUE(a != NULL && b != NULL);
		if (a && b)
			ASSERT_MEM_EQ(a, b, alen);
	}
}

static void expect_stats_eq(const struct tpq_statistics *a, const struct tpq_statistics *b)
{
	ASSERT_EQ(a->has_null_count, b->has_null_count);
	ASSERT_EQ(a->has_distinct_count, b->has_distinct_count);
	ASSERT_EQ(a->has_min, b->has_min);
	ASSERT_EQ(a->has_max, b->has_max);
	if (a->has_null_count)
		ASSERT_EQ(a->null_count, b->null_count);
	if (a->has_distinct_count)
		ASSERT_EQ(a->distinct_count, b->distinct_count);
	if (a->has_min)
		expect_bytes_eq(a->min_value, a->min_len, b->min_value, b->min_len);
	if (a->has_max)
		expect_bytes_eq(a->max_value, a->max_len, b->max_value, b->max_len);
	ASSERT_EQ(a->has_is_min_exact, b->has_is_min_exact);
	ASSERT_EQ(a->has_is_max_exact, b->has_is_max_exact);
	if (a->has_is_min_exact)
		ASSERT_EQ(a->is_min_exact, b->is_min_exact);
	if (a->has_is_max_exact)
		ASSERT_EQ(a->is_max_exact, b->is_max_exact);
}

static void expect_cmd_eq(const struct tpq_column_meta_data *a, const struct tpq_column_meta_data *b)
{
	ASSERT_EQ(a->type, b->type);
	ASSERT_EQ(a->n_encodings, b->n_encodings);
	for (size_t i = 0; i < a->n_encodings && i < b->n_encodings; i++)
		ASSERT_EQ(a->encodings[i], b->encodings[i]);
	ASSERT_EQ(a->n_path, b->n_path);
	for (size_t i = 0; i < a->n_path && i < b->n_path; i++)
		ASSERT_STR_EQ(a->path_in_schema[i], b->path_in_schema[i]);
	ASSERT_EQ(a->codec, b->codec);
	ASSERT_EQ(a->num_values, b->num_values);
	ASSERT_EQ(a->total_uncompressed_size, b->total_uncompressed_size);
	ASSERT_EQ(a->total_compressed_size, b->total_compressed_size);
	ASSERT_EQ(a->data_page_offset, b->data_page_offset);
	ASSERT_EQ(a->has_dictionary_page_offset, b->has_dictionary_page_offset);
	if (a->has_dictionary_page_offset)
		ASSERT_EQ(a->dictionary_page_offset, b->dictionary_page_offset);
	ASSERT_EQ(a->has_statistics, b->has_statistics);
	if (a->has_statistics)
		expect_stats_eq(&a->statistics, &b->statistics);
	ASSERT_EQ(a->n_encoding_stats, b->n_encoding_stats);
	for (size_t i = 0; i < a->n_encoding_stats && i < b->n_encoding_stats; i++) {
		ASSERT_EQ(a->encoding_stats[i].page_type, b->encoding_stats[i].page_type);
		ASSERT_EQ(a->encoding_stats[i].encoding, b->encoding_stats[i].encoding);
		ASSERT_EQ(a->encoding_stats[i].count, b->encoding_stats[i].count);
	}
	ASSERT_EQ(a->has_bloom_filter_offset, b->has_bloom_filter_offset);
	ASSERT_EQ(a->has_bloom_filter_length, b->has_bloom_filter_length);
	if (a->has_bloom_filter_offset)
		ASSERT_EQ(a->bloom_filter_offset, b->bloom_filter_offset);
	if (a->has_bloom_filter_length)
		ASSERT_EQ(a->bloom_filter_length, b->bloom_filter_length);
}

static void expect_logical_eq(const struct tpq_logical_type *a, const struct tpq_logical_type *b)
{
	ASSERT_EQ(a->kind, b->kind);
	if (a->kind == TPQ_LT_TIMESTAMP) {
		ASSERT_EQ(a->ts_utc, b->ts_utc);
		ASSERT_EQ(a->ts_unit, b->ts_unit);
	}
	if (a->kind == TPQ_LT_INTEGER) {
		ASSERT_EQ(a->int_bits, b->int_bits);
		ASSERT_EQ(a->int_signed, b->int_signed);
	}
}

static void expect_fmd_eq(const struct tpq_file_meta_data *a, const struct tpq_file_meta_data *b)
{
	ASSERT_EQ(a->version, b->version);
	ASSERT_EQ(a->num_rows, b->num_rows);
	ASSERT_EQ(a->n_schema, b->n_schema);
	for (size_t i = 0; i < a->n_schema && i < b->n_schema; i++) {
		const struct tpq_schema_element *x = &a->schema[i], *y = &b->schema[i];
		ASSERT_STR_EQ(x->name, y->name);
		ASSERT_EQ(x->has_type, y->has_type);
		if (x->has_type)
			ASSERT_EQ(x->type, y->type);
		ASSERT_EQ(x->has_repetition, y->has_repetition);
		if (x->has_repetition)
			ASSERT_EQ(x->repetition, y->repetition);
		ASSERT_EQ(x->num_children, y->num_children);
		ASSERT_EQ(x->converted, y->converted);
		ASSERT_EQ(x->has_field_id, y->has_field_id);
		if (x->has_field_id)
			ASSERT_EQ(x->field_id, y->field_id);
		expect_logical_eq(&x->logical, &y->logical);
	}
	ASSERT_EQ(a->n_row_groups, b->n_row_groups);
	for (size_t i = 0; i < a->n_row_groups && i < b->n_row_groups; i++) {
		const struct tpq_row_group *x = &a->row_groups[i], *y = &b->row_groups[i];
		ASSERT_EQ(x->total_byte_size, y->total_byte_size);
		ASSERT_EQ(x->num_rows, y->num_rows);
		ASSERT_EQ(x->has_file_offset, y->has_file_offset);
		ASSERT_EQ(x->has_total_compressed_size, y->has_total_compressed_size);
		ASSERT_EQ(x->has_ordinal, y->has_ordinal);
		if (x->has_file_offset)
			ASSERT_EQ(x->file_offset, y->file_offset);
		if (x->has_total_compressed_size)
			ASSERT_EQ(x->total_compressed_size, y->total_compressed_size);
		if (x->has_ordinal)
			ASSERT_EQ(x->ordinal, y->ordinal);
		ASSERT_EQ(x->n_columns, y->n_columns);
		for (size_t j = 0; j < x->n_columns && j < y->n_columns; j++) {
			const struct tpq_column_chunk *c = &x->columns[j], *d = &y->columns[j];
			ASSERT_EQ(c->file_offset, d->file_offset);
			ASSERT_EQ(c->has_meta_data, d->has_meta_data);
			if (c->has_meta_data)
				expect_cmd_eq(&c->meta_data, &d->meta_data);
			ASSERT_EQ(c->has_offset_index, d->has_offset_index);
			if (c->has_offset_index) {
				ASSERT_EQ(c->offset_index_offset, d->offset_index_offset);
				ASSERT_EQ(c->offset_index_length, d->offset_index_length);
			}
			ASSERT_EQ(c->has_column_index, d->has_column_index);
			if (c->has_column_index) {
				ASSERT_EQ(c->column_index_offset, d->column_index_offset);
				ASSERT_EQ(c->column_index_length, d->column_index_length);
			}
		}
	}
	ASSERT_EQ(a->n_kv, b->n_kv);
	for (size_t i = 0; i < a->n_kv && i < b->n_kv; i++) {
		ASSERT_STR_EQ(a->kv[i].key, b->kv[i].key);
		ASSERT_EQ(a->kv[i].value == NULL, b->kv[i].value == NULL);
		if (a->kv[i].value && b->kv[i].value)
			ASSERT_STR_EQ(a->kv[i].value, b->kv[i].value);
	}
	ASSERT_EQ(a->created_by == NULL, b->created_by == NULL);
	if (a->created_by && b->created_by)
		ASSERT_STR_EQ(a->created_by, b->created_by);
	ASSERT_EQ(a->n_column_orders, b->n_column_orders);
}

static void expect_ph_eq(const struct tpq_page_header *a, const struct tpq_page_header *b)
{
	ASSERT_EQ(a->type, b->type);
	ASSERT_EQ(a->uncompressed_page_size, b->uncompressed_page_size);
	ASSERT_EQ(a->compressed_page_size, b->compressed_page_size);
	ASSERT_EQ(a->has_crc, b->has_crc);
	if (a->has_crc)
		ASSERT_EQ(a->crc, b->crc);
	ASSERT_EQ(a->has_data_page_header, b->has_data_page_header);
	if (a->has_data_page_header) {
		const struct tpq_data_page_header *x = &a->data_page_header, *y = &b->data_page_header;
		ASSERT_EQ(x->num_values, y->num_values);
		ASSERT_EQ(x->encoding, y->encoding);
		ASSERT_EQ(x->definition_level_encoding, y->definition_level_encoding);
		ASSERT_EQ(x->repetition_level_encoding, y->repetition_level_encoding);
		ASSERT_EQ(x->has_statistics, y->has_statistics);
		if (x->has_statistics)
			expect_stats_eq(&x->statistics, &y->statistics);
	}
	ASSERT_EQ(a->has_dictionary_page_header, b->has_dictionary_page_header);
	if (a->has_dictionary_page_header) {
		const struct tpq_dictionary_page_header *x = &a->dictionary_page_header;
		const struct tpq_dictionary_page_header *y = &b->dictionary_page_header;
		ASSERT_EQ(x->num_values, y->num_values);
		ASSERT_EQ(x->encoding, y->encoding);
		ASSERT_EQ(x->has_is_sorted, y->has_is_sorted);
		if (x->has_is_sorted)
			ASSERT_EQ(x->is_sorted, y->is_sorted);
	}
	ASSERT_EQ(a->has_data_page_header_v2, b->has_data_page_header_v2);
	if (a->has_data_page_header_v2) {
		const struct tpq_data_page_header_v2 *x = &a->data_page_header_v2;
		const struct tpq_data_page_header_v2 *y = &b->data_page_header_v2;
		ASSERT_EQ(x->num_values, y->num_values);
		ASSERT_EQ(x->num_nulls, y->num_nulls);
		ASSERT_EQ(x->num_rows, y->num_rows);
		ASSERT_EQ(x->encoding, y->encoding);
		ASSERT_EQ(x->definition_levels_byte_length, y->definition_levels_byte_length);
		ASSERT_EQ(x->repetition_levels_byte_length, y->repetition_levels_byte_length);
		ASSERT_EQ(x->is_compressed, y->is_compressed);
		ASSERT_EQ(x->has_statistics, y->has_statistics);
		if (x->has_statistics)
			expect_stats_eq(&x->statistics, &y->statistics);
	}
}

static void expect_ci_eq(const struct tpq_column_index *a, const struct tpq_column_index *b)
{
	ASSERT_EQ(a->n_pages, b->n_pages);
	ASSERT_EQ(a->boundary_order, b->boundary_order);
	ASSERT_EQ(a->has_null_counts, b->has_null_counts);
	for (size_t i = 0; i < a->n_pages && i < b->n_pages; i++) {
		ASSERT_EQ(a->null_pages[i], b->null_pages[i]);
		expect_bytes_eq(a->min_values[i], a->min_lens[i], b->min_values[i], b->min_lens[i]);
		expect_bytes_eq(a->max_values[i], a->max_lens[i], b->max_values[i], b->max_lens[i]);
		if (a->has_null_counts && b->has_null_counts)
			ASSERT_EQ(a->null_counts[i], b->null_counts[i]);
	}
}

static void expect_oi_eq(const struct tpq_offset_index *a, const struct tpq_offset_index *b)
{
	ASSERT_EQ(a->n_pages, b->n_pages);
	for (size_t i = 0; i < a->n_pages && i < b->n_pages; i++) {
		ASSERT_EQ(a->page_locations[i].offset, b->page_locations[i].offset);
		ASSERT_EQ(a->page_locations[i].compressed_page_size,
			  b->page_locations[i].compressed_page_size);
		ASSERT_EQ(a->page_locations[i].first_row_index, b->page_locations[i].first_row_index);
	}
}

/* ---- fixtures (borrowed storage, never released) ---- */

static struct tpq_schema_element g_schema[8];
static struct tpq_row_group g_rgs[3];
static struct tpq_column_chunk g_cols[3][3];
static struct tpq_key_value g_kv[2];
static enum tpq_encoding g_encs[16];
static char *g_path_a[1] = {"eventTime"};
static char *g_path_b[3] = {"resources", "list", "element"};
static struct tpq_page_encoding_stats g_pes[2] = {
	{TPQ_PAGE_DICTIONARY, TPQ_ENC_PLAIN, 1},
	{TPQ_PAGE_DATA, TPQ_ENC_RLE_DICTIONARY, 12},
};

static struct tpq_schema_element leaf(const char *name, enum tpq_type t, enum tpq_repetition rep,
				      enum tpq_converted ct, enum tpq_logical_kind k)
{
	struct tpq_schema_element e;
	memset(&e, 0, sizeof(e));
	e.name = (char *)name;
	e.has_type = true;
	e.type = t;
	e.has_repetition = true;
	e.repetition = rep;
	e.converted = ct;
	e.logical.kind = k;
	return e;
}

static struct tpq_schema_element group(const char *name, int32_t n, enum tpq_converted ct,
				       enum tpq_logical_kind k)
{
	struct tpq_schema_element e;
	memset(&e, 0, sizeof(e));
	e.name = (char *)name;
	e.num_children = n;
	e.converted = ct;
	e.logical.kind = k;
	if (k != TPQ_LT_NONE) {
		e.has_repetition = true;
		e.repetition = TPQ_OPTIONAL;
	}
	return e;
}

static void build_fmd(struct tpq_file_meta_data *m)
{
	static uint8_t min_a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, max_a[8] = {9, 9, 9, 9, 0, 0, 0, 0x80};
	memset(m, 0, sizeof(*m));
	g_schema[0] = group("schema", 6, TPQ_CT_NONE, TPQ_LT_NONE);
	g_schema[1] = leaf("eventTime", TPQ_T_INT64, TPQ_REQUIRED, TPQ_CT_TIMESTAMP_MILLIS,
			   TPQ_LT_TIMESTAMP);
	g_schema[1].logical.ts_utc = true;
	g_schema[1].logical.ts_unit = TPQ_UNIT_MILLIS;
	g_schema[2] = leaf("eventName", TPQ_T_BYTE_ARRAY, TPQ_OPTIONAL, TPQ_CT_UTF8, TPQ_LT_STRING);
	g_schema[2].has_field_id = true;
	g_schema[2].field_id = -7;
	g_schema[3] = leaf("requestParameters", TPQ_T_BYTE_ARRAY, TPQ_OPTIONAL,
			   (enum tpq_converted)19 /* JSON */, TPQ_LT_JSON);
	g_schema[4] = leaf("count", TPQ_T_INT32, TPQ_OPTIONAL, TPQ_CT_INT_32, TPQ_LT_INTEGER);
	g_schema[4].logical.int_bits = 32;
	g_schema[4].logical.int_signed = true;
	g_schema[5] = group("resources", 1, TPQ_CT_LIST, TPQ_LT_LIST);
	g_schema[6] = group("tags", 1, TPQ_CT_MAP, TPQ_LT_MAP);
	g_schema[7] = leaf("plain", TPQ_T_FLOAT, TPQ_REPEATED, TPQ_CT_NONE, TPQ_LT_NONE);
	m->version = 2;
	m->schema = g_schema;
	m->n_schema = 8;
	m->num_rows = 123456789012LL;

	for (size_t i = 0; i < 16; i++)
		g_encs[i] = (enum tpq_encoding)(i % 10);
	for (size_t r = 0; r < 3; r++) {
		struct tpq_row_group *rg = &g_rgs[r];
		memset(rg, 0, sizeof(*rg));
		rg->columns = g_cols[r];
		rg->n_columns = 3;
		rg->total_byte_size = 1000 * (int64_t)(r + 1);
		rg->num_rows = 40 + (int64_t)r;
		if (r != 1) {
			rg->has_file_offset = rg->has_total_compressed_size = rg->has_ordinal = true;
			rg->file_offset = 4 + (int64_t)r * 5000;
			rg->total_compressed_size = 700 + (int64_t)r;
			rg->ordinal = (int16_t)r;
		}
		for (size_t c = 0; c < 3; c++) {
			struct tpq_column_chunk *cc = &g_cols[r][c];
			memset(cc, 0, sizeof(*cc));
			cc->file_offset = 0;
			cc->has_meta_data = true;
			struct tpq_column_meta_data *md = &cc->meta_data;
			md->type = c == 0 ? TPQ_T_INT64 : TPQ_T_BYTE_ARRAY;
			md->encodings = g_encs;
			md->n_encodings = c == 2 ? 16 : 2; /* 16: a long-form list header */
			md->path_in_schema = c == 1 ? g_path_b : g_path_a;
			md->n_path = c == 1 ? 3 : 1;
			md->codec = (int32_t)(c == 0 ? TPQ_CODEC_ZSTD : TPQ_CODEC_SNAPPY);
			md->num_values = 40 + (int64_t)r;
			md->total_uncompressed_size = 300 + (int64_t)c;
			md->total_compressed_size = 200 + (int64_t)c;
			md->data_page_offset = 4 + (int64_t)(r * 5000 + c * 100);
			if (c != 1) {
				md->has_dictionary_page_offset = true;
				md->dictionary_page_offset = md->data_page_offset - 50;
				md->encoding_stats = g_pes;
				md->n_encoding_stats = 2;
				md->has_bloom_filter_offset = md->has_bloom_filter_length = true;
				md->bloom_filter_offset = 99999 + (int64_t)c;
				md->bloom_filter_length = 2048 + (int32_t)c;
			}
			if (c == 0 || r == 2) {
				struct tpq_statistics *s = &md->statistics;
				md->has_statistics = true;
				s->has_null_count = true;
				s->null_count = (int64_t)r;
				s->has_distinct_count = c == 0;
				s->distinct_count = 17;
				s->has_min = s->has_max = true;
				s->min_value = min_a;
				s->min_len = c == 0 ? 8 : 0; /* an empty min is still present */
				s->max_value = max_a;
				s->max_len = 8;
				s->has_is_min_exact = s->has_is_max_exact = true;
				s->is_min_exact = true;
				s->is_max_exact = false;
			}
			if (c != 2) {
				cc->has_offset_index = cc->has_column_index = true;
				cc->offset_index_offset = 77777 + (int64_t)c;
				cc->offset_index_length = 30;
				cc->column_index_offset = 66666 + (int64_t)c;
				cc->column_index_length = -1;
			}
		}
	}
	m->row_groups = g_rgs;
	m->n_row_groups = 3;
	g_kv[0].key = "trailpq.schema_version";
	g_kv[0].value = "1";
	g_kv[1].key = "no value";
	g_kv[1].value = NULL;
	m->kv = g_kv;
	m->n_kv = 2;
	m->created_by = "trailpq version 0.1.0 (build test)";
	m->n_column_orders = 5;
}

static void encode_fmd(const struct tpq_file_meta_data *m, struct tpq_buf *b)
{
	tpq_buf_init(b);
	tpq_meta_put_file_meta_data(b, m);
	ASSERT_EQ(tpq_buf_status(b), TPQ_OK);
}

/* ---- hand-computed bytes ---- */

#define EXPECT_BUF(buf, ...)                                                      \
	do {                                                                      \
		static const uint8_t want_[] = {__VA_ARGS__};                     \
		ASSERT_EQ(tpq_buf_status(buf), TPQ_OK);                           \
		ASSERT_EQ((buf)->len, sizeof(want_));                             \
		if ((buf)->len == sizeof(want_))                                  \
			ASSERT_MEM_EQ((buf)->p, want_, sizeof(want_));            \
	} while (0)

TEST(bytes_small_file_meta_data)
{
	struct tpq_schema_element schema[2];
	schema[0] = group("s", 1, TPQ_CT_NONE, TPQ_LT_NONE);
	schema[1] = leaf("a", TPQ_T_BYTE_ARRAY, TPQ_OPTIONAL, TPQ_CT_UTF8, TPQ_LT_STRING);
	char *path[1] = {"a"};
	enum tpq_encoding encs[2] = {TPQ_ENC_PLAIN, TPQ_ENC_RLE};
	struct tpq_column_chunk cc;
	memset(&cc, 0, sizeof(cc));
	cc.has_meta_data = true;
	cc.meta_data.type = TPQ_T_BYTE_ARRAY;
	cc.meta_data.encodings = encs;
	cc.meta_data.n_encodings = 2;
	cc.meta_data.path_in_schema = path;
	cc.meta_data.n_path = 1;
	cc.meta_data.codec = TPQ_CODEC_SNAPPY;
	cc.meta_data.num_values = 3;
	cc.meta_data.total_uncompressed_size = 50;
	cc.meta_data.total_compressed_size = 40;
	cc.meta_data.data_page_offset = 4;
	struct tpq_row_group rg;
	memset(&rg, 0, sizeof(rg));
	rg.columns = &cc;
	rg.n_columns = 1;
	rg.total_byte_size = 50;
	rg.num_rows = 3;
	struct tpq_file_meta_data m;
	memset(&m, 0, sizeof(m));
	m.version = 1;
	m.schema = schema;
	m.n_schema = 2;
	m.num_rows = 3;
	m.row_groups = &rg;
	m.n_row_groups = 1;
	m.created_by = "t";
	m.n_column_orders = 1;

	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_meta_put_file_meta_data(&b, &m);
	EXPECT_BUF(&b,
		0x15, 0x02,             /* 1 version: i32, zz(1)=2 */
		0x19, 0x2c,             /* 2 schema: list, 2 structs */
		0x48, 0x01, 's',        /*   [0] 4 name (delta 4) binary "s" */
		0x15, 0x02,             /*       5 num_children 1 */
		0x00,                   /*       stop */
		0x15, 0x0c,             /*   [1] 1 type BYTE_ARRAY: zz(6)=12 */
		0x25, 0x02,             /*       3 repetition OPTIONAL (delta 2): zz(1) */
		0x18, 0x01, 'a',        /*       4 name "a" */
		0x25, 0x00,             /*       6 converted UTF8=0 (delta 2) */
		0x4c,                   /*       10 logicalType (delta 4) struct */
		0x1c, 0x00, 0x00,       /*          STRING: empty struct; union stop */
		0x00,                   /*       stop */
		0x16, 0x06,             /* 3 num_rows: i64 zz(3)=6 */
		0x19, 0x1c,             /* 4 row_groups: list, 1 struct */
		0x19, 0x1c,             /*   1 columns: list, 1 struct */
		0x26, 0x00,             /*     2 file_offset (first field, delta 2) i64 0 */
		0x1c,                   /*     3 meta_data: struct */
		0x15, 0x0c,             /*       1 type BYTE_ARRAY */
		0x19, 0x25, 0x00, 0x06, /*       2 encodings: list of 2 i32: PLAIN 0, RLE zz(3)=6 */
		0x19, 0x18, 0x01, 'a',  /*       3 path_in_schema: list of 1 binary "a" */
		0x15, 0x02,             /*       4 codec SNAPPY=1 */
		0x16, 0x06,             /*       5 num_values 3 */
		0x16, 0x64,             /*       6 total_uncompressed_size zz(50)=100 */
		0x16, 0x50,             /*       7 total_compressed_size zz(40)=80 */
		0x26, 0x08,             /*       9 data_page_offset (delta 2) zz(4)=8 */
		0x00,                   /*       stop ColumnMetaData */
		0x00,                   /*     stop ColumnChunk */
		0x16, 0x64,             /*   2 total_byte_size 50 */
		0x16, 0x06,             /*   3 num_rows 3 */
		0x00,                   /*   stop RowGroup */
		0x28, 0x01, 't',        /* 6 created_by (delta 2) "t" */
		0x19, 0x1c,             /* 7 column_orders: list, 1 struct */
		0x1c, 0x00, 0x00,       /*   ColumnOrder{1: TYPE_ORDER{}} */
		0x00);                  /* stop FileMetaData */

	/* and it decodes back to the same fields */
	struct tpq_file_meta_data d;
	size_t used = 0;
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, &used, &d, NULL), TPQ_OK);
	ASSERT_EQ(used, b.len);
	expect_fmd_eq(&m, &d);
	tpq_file_meta_data_release(&d);
	tpq_buf_release(&b);
}

TEST(bytes_logical_types)
{
	struct tpq_schema_element schema[2];
	schema[0] = leaf("t", TPQ_T_INT64, TPQ_REQUIRED, TPQ_CT_NONE, TPQ_LT_TIMESTAMP);
	schema[0].has_repetition = false;
	schema[0].logical.ts_utc = true;
	schema[0].logical.ts_unit = TPQ_UNIT_MICROS;
	schema[1] = leaf("i", TPQ_T_INT32, TPQ_REQUIRED, TPQ_CT_NONE, TPQ_LT_INTEGER);
	schema[1].has_field_id = true;
	schema[1].field_id = 7;
	schema[1].logical.int_bits = 16;
	schema[1].logical.int_signed = false;
	struct tpq_file_meta_data m;
	memset(&m, 0, sizeof(m));
	m.version = 1;
	m.schema = schema;
	m.n_schema = 2;

	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_meta_put_file_meta_data(&b, &m);
	EXPECT_BUF(&b,
		0x15, 0x02,             /* 1 version 1 */
		0x19, 0x2c,             /* 2 schema: list, 2 structs */
		0x15, 0x04,             /*   1 type INT64: zz(2)=4 */
		0x38, 0x01, 't',        /*   4 name (delta 3) "t" */
		0x6c,                   /*   10 logicalType (delta 6) struct */
		0x8c,                   /*     8 TIMESTAMP struct */
		0x11,                   /*       1 isAdjustedToUTC: bool true in the header */
		0x1c,                   /*       2 unit: TimeUnit union */
		0x2c, 0x00, 0x00,       /*         2 MICROS{}; union stop */
		0x00,                   /*       stop TimestampType */
		0x00,                   /*     stop LogicalType */
		0x00,                   /*   stop SchemaElement */
		0x15, 0x02,             /*   1 type INT32: zz(1)=2 */
		0x25, 0x00,             /*   3 repetition REQUIRED=0 */
		0x18, 0x01, 'i',        /*   4 name "i" */
		0x55, 0x0e,             /*   9 field_id (delta 5) zz(7)=14 */
		0x1c,                   /*   10 logicalType */
		0xac,                   /*     10 INTEGER struct */
		0x13, 0x10,             /*       1 bitWidth: i8, raw byte 16 */
		0x12,                   /*       2 isSigned: bool false in the header */
		0x00, 0x00, 0x00,       /*     stops: IntType, LogicalType, SchemaElement */
		0x16, 0x00,             /* 3 num_rows 0 */
		0x19, 0x0c,             /* 4 row_groups: empty list of structs */
		0x00);
	struct tpq_file_meta_data d;
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, NULL, &d, NULL), TPQ_OK);
	expect_fmd_eq(&m, &d);
	ASSERT_EQ(d.schema[0].logical.kind, TPQ_LT_TIMESTAMP);
	ASSERT_EQ(d.schema[0].logical.ts_unit, TPQ_UNIT_MICROS);
	ASSERT_EQ(d.schema[1].logical.int_bits, 16);
	ASSERT_EQ(d.schema[0].converted, TPQ_CT_NONE);
	tpq_file_meta_data_release(&d);

	/* a unit outside 1..3 is a programmer error */
	tpq_buf_reset(&b);
	schema[0].logical.ts_unit = (enum tpq_time_unit)0;
	tpq_meta_put_file_meta_data(&b, &m);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_EINVAL);
	tpq_buf_release(&b);
}

TEST(bytes_page_headers)
{
	static uint8_t z[1] = {'z'}, a[1] = {'a'};
	struct tpq_page_header h;
	memset(&h, 0, sizeof(h));
	h.type = TPQ_PAGE_DATA;
	h.uncompressed_page_size = 100;
	h.compressed_page_size = 80;
	h.has_crc = true;
	h.crc = -1;
	h.has_data_page_header = true;
	h.data_page_header.num_values = 10;
	h.data_page_header.encoding = TPQ_ENC_RLE_DICTIONARY;
	h.data_page_header.definition_level_encoding = TPQ_ENC_RLE;
	h.data_page_header.repetition_level_encoding = TPQ_ENC_RLE;
	h.data_page_header.has_statistics = true;
	struct tpq_statistics *s = &h.data_page_header.statistics;
	s->has_null_count = true;
	s->null_count = 2;
	s->has_max = s->has_min = true;
	s->max_value = z;
	s->max_len = 1;
	s->min_value = a;
	s->min_len = 1;
	s->has_is_max_exact = true;
	s->is_max_exact = true;

	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_meta_put_page_header(&b, &h);
	EXPECT_BUF(&b,
		0x15, 0x00,             /* 1 type DATA_PAGE=0 */
		0x15, 0xc8, 0x01,       /* 2 uncompressed 100: zz 200 = 0x48|0x80, 1 */
		0x15, 0xa0, 0x01,       /* 3 compressed 80: zz 160 = 0x20|0x80, 1 */
		0x15, 0x01,             /* 4 crc -1: zz 1 */
		0x1c,                   /* 5 data_page_header struct */
		0x15, 0x14,             /*   1 num_values zz(10)=20 */
		0x15, 0x10,             /*   2 encoding RLE_DICTIONARY zz(8)=16 */
		0x15, 0x06,             /*   3 definition_level_encoding RLE zz(3) */
		0x15, 0x06,             /*   4 repetition_level_encoding RLE */
		0x1c,                   /*   5 statistics struct */
		0x36, 0x04,             /*     3 null_count (delta 3) i64 zz(2)=4 */
		0x28, 0x01, 'z',        /*     5 max_value (delta 2) "z" */
		0x18, 0x01, 'a',        /*     6 min_value "a" */
		0x11,                   /*     7 is_max_value_exact true */
		0x00, 0x00, 0x00);      /* stops: Statistics, DataPageHeader, PageHeader */
	struct tpq_page_header d;
	ASSERT_EQ(tpq_meta_get_page_header(b.p, b.len, NULL, &d, NULL), TPQ_OK);
	expect_ph_eq(&h, &d);
	tpq_page_header_release(&d);

	memset(&h, 0, sizeof(h));
	h.type = TPQ_PAGE_DICTIONARY;
	h.uncompressed_page_size = h.compressed_page_size = 10;
	h.has_dictionary_page_header = true;
	h.dictionary_page_header.num_values = 3;
	h.dictionary_page_header.encoding = TPQ_ENC_PLAIN;
	h.dictionary_page_header.has_is_sorted = true;
	h.dictionary_page_header.is_sorted = false;
	tpq_buf_reset(&b);
	tpq_meta_put_page_header(&b, &h);
	EXPECT_BUF(&b,
		0x15, 0x04,             /* 1 type DICTIONARY_PAGE=2: zz 4 */
		0x15, 0x14,             /* 2 uncompressed 10 */
		0x15, 0x14,             /* 3 compressed 10 */
		0x4c,                   /* 7 dictionary_page_header (delta 4) struct */
		0x15, 0x06,             /*   1 num_values 3 */
		0x15, 0x00,             /*   2 encoding PLAIN */
		0x12,                   /*   3 is_sorted false */
		0x00, 0x00);
	ASSERT_EQ(tpq_meta_get_page_header(b.p, b.len, NULL, &d, NULL), TPQ_OK);
	expect_ph_eq(&h, &d);
	tpq_page_header_release(&d);

	memset(&h, 0, sizeof(h));
	h.type = TPQ_PAGE_DATA_V2;
	h.uncompressed_page_size = 20;
	h.compressed_page_size = 15;
	h.has_data_page_header_v2 = true;
	h.data_page_header_v2.num_values = 5;
	h.data_page_header_v2.num_nulls = 1;
	h.data_page_header_v2.num_rows = 5;
	h.data_page_header_v2.encoding = TPQ_ENC_PLAIN;
	h.data_page_header_v2.definition_levels_byte_length = 2;
	h.data_page_header_v2.repetition_levels_byte_length = 0;
	h.data_page_header_v2.is_compressed = false;
	tpq_buf_reset(&b);
	tpq_meta_put_page_header(&b, &h);
	EXPECT_BUF(&b,
		0x15, 0x06,             /* 1 type DATA_PAGE_V2=3 */
		0x15, 0x28,             /* 2 uncompressed 20: zz 40 */
		0x15, 0x1e,             /* 3 compressed 15: zz 30 */
		0x5c,                   /* 8 data_page_header_v2 (delta 5) struct */
		0x15, 0x0a,             /*   1 num_values 5 */
		0x15, 0x02,             /*   2 num_nulls 1 */
		0x15, 0x0a,             /*   3 num_rows 5 */
		0x15, 0x00,             /*   4 encoding PLAIN */
		0x15, 0x04,             /*   5 definition_levels_byte_length 2 */
		0x15, 0x00,             /*   6 repetition_levels_byte_length 0 */
		0x12,                   /*   7 is_compressed false */
		0x00, 0x00);
	ASSERT_EQ(tpq_meta_get_page_header(b.p, b.len, NULL, &d, NULL), TPQ_OK);
	expect_ph_eq(&h, &d);
	tpq_page_header_release(&d);

	/* the same v2 header without field 7: is_compressed defaults to true */
	static const uint8_t no_flag[] = {0x15, 0x06, 0x15, 0x28, 0x15, 0x1e, 0x5c, 0x15, 0x0a,
					  0x15, 0x02, 0x15, 0x0a, 0x15, 0x00, 0x15, 0x04,
					  0x15, 0x00, 0x00, 0x00};
	ASSERT_EQ(tpq_meta_get_page_header(no_flag, sizeof(no_flag), NULL, &d, NULL), TPQ_OK);
	ASSERT_EQ(d.has_data_page_header_v2, true);
	ASSERT_EQ(d.data_page_header_v2.is_compressed, true);
	ASSERT_EQ(d.data_page_header_v2.definition_levels_byte_length, 2);
	tpq_page_header_release(&d);
	tpq_buf_release(&b);
}

TEST(bytes_page_index_and_bloom)
{
	static uint8_t a[1] = {'a'}, bb[1] = {'b'};
	bool nulls[2] = {false, true};
	uint8_t *mins[2] = {a, NULL}, *maxs[2] = {bb, NULL};
	size_t min_lens[2] = {1, 0}, max_lens[2] = {1, 0};
	int64_t null_counts[2] = {0, 5};
	struct tpq_column_index ci = {
		.n_pages = 2, .null_pages = nulls, .min_values = mins, .min_lens = min_lens,
		.max_values = maxs, .max_lens = max_lens, .boundary_order = TPQ_BO_ASCENDING,
		.has_null_counts = true, .null_counts = null_counts,
	};
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_meta_put_column_index(&b, &ci);
	EXPECT_BUF(&b,
		0x19, 0x21, 0x02, 0x01,       /* 1 null_pages: list of 2 bool: false=2, true=1 */
		0x19, 0x28, 0x01, 'a', 0x00,  /* 2 min_values: list of 2 binary: "a", "" */
		0x19, 0x28, 0x01, 'b', 0x00,  /* 3 max_values: "b", "" */
		0x15, 0x02,                   /* 4 boundary_order ASCENDING=1 */
		0x19, 0x26, 0x00, 0x0a,       /* 5 null_counts: list of 2 i64: 0, zz(5)=10 */
		0x00);
	struct tpq_column_index dci;
	ASSERT_EQ(tpq_meta_get_column_index(b.p, b.len, NULL, &dci, NULL), TPQ_OK);
	expect_ci_eq(&ci, &dci);
	tpq_column_index_release(&dci);

	struct tpq_page_location locs[2] = {{4, 100, 0}, {104, 50, 10}};
	struct tpq_offset_index oi = {locs, 2};
	tpq_buf_reset(&b);
	tpq_meta_put_offset_index(&b, &oi);
	EXPECT_BUF(&b,
		0x19, 0x2c,                   /* 1 page_locations: list of 2 structs */
		0x16, 0x08,                   /*   1 offset 4 */
		0x15, 0xc8, 0x01,             /*   2 compressed_page_size 100 */
		0x16, 0x00,                   /*   3 first_row_index 0 */
		0x00,
		0x16, 0xd0, 0x01,             /*   1 offset 104: zz 208 = 0x50|0x80, 1 */
		0x15, 0x64,                   /*   2 compressed_page_size 50 */
		0x16, 0x14,                   /*   3 first_row_index 10 */
		0x00,
		0x00);
	struct tpq_offset_index doi;
	ASSERT_EQ(tpq_meta_get_offset_index(b.p, b.len, NULL, &doi, NULL), TPQ_OK);
	expect_oi_eq(&oi, &doi);
	tpq_offset_index_release(&doi);

	struct tpq_bloom_filter_header bf = {1024};
	tpq_buf_reset(&b);
	tpq_meta_put_bloom_filter_header(&b, &bf);
	EXPECT_BUF(&b,
		0x15, 0x80, 0x10,             /* 1 numBytes 1024: zz 2048 = 0x00|0x80, 16 */
		0x1c, 0x1c, 0x00, 0x00,       /* 2 algorithm: {1: BLOCK{}} */
		0x1c, 0x1c, 0x00, 0x00,       /* 3 hash: {1: XXHASH{}} */
		0x1c, 0x1c, 0x00, 0x00,       /* 4 compression: {1: UNCOMPRESSED{}} */
		0x00);
	struct tpq_bloom_filter_header dbf = {0};
	size_t used = 0;
	ASSERT_EQ(tpq_meta_get_bloom_filter_header(b.p, b.len, &used, &dbf, NULL), TPQ_OK);
	ASSERT_EQ(dbf.num_bytes, 1024);
	ASSERT_EQ(used, b.len);
	tpq_buf_release(&b);
}

/* ---- round trips ---- */

TEST(round_trip_file_meta_data)
{
	struct tpq_file_meta_data m, d;
	struct tpq_buf b;
	build_fmd(&m);
	encode_fmd(&m, &b);
	size_t used = 0;
	struct tpq_error err;
	tpq_error_clear(&err);
	/* trailing bytes are not consumed */
	tpq_buf_put(&b, "PAR1", 4);
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, &used, &d, &err), TPQ_OK);
	ASSERT_EQ(used, b.len - 4);
	ASSERT_EQ(err.status, TPQ_OK);
	expect_fmd_eq(&m, &d);
	/* spot checks that the comparison is not vacuous */
	ASSERT_EQ(d.n_schema, 8);
	ASSERT_EQ(d.row_groups[2].columns[2].meta_data.n_encodings, 16);
	ASSERT_EQ(d.row_groups[2].columns[1].meta_data.statistics.min_len, 0);
	ASSERT_TRUE(d.row_groups[2].columns[1].meta_data.statistics.min_value != NULL);
	ASSERT_STR_EQ(d.row_groups[0].columns[1].meta_data.path_in_schema[2], "element");
	ASSERT_EQ(d.schema[3].converted, 19);
	ASSERT_EQ(d.schema[2].field_id, -7);
	ASSERT_TRUE(d.kv[1].value == NULL);

	/* encoding the decoded struct gives the same bytes */
	struct tpq_buf b2;
	encode_fmd(&d, &b2);
	ASSERT_EQ(b2.len, b.len - 4);
	ASSERT_MEM_EQ(b2.p, b.p, b2.len);
	tpq_buf_release(&b2);
	tpq_file_meta_data_release(&d);
	ASSERT_TRUE(d.schema == NULL && d.n_schema == 0 && d.created_by == NULL);
	tpq_buf_release(&b);
}

TEST(round_trip_page_headers_and_indexes)
{
	static uint8_t mx[3] = {0xff, 0, 1};
	struct tpq_page_header hs[4];
	memset(hs, 0, sizeof(hs));
	hs[0].type = TPQ_PAGE_DATA;
	hs[0].uncompressed_page_size = INT32_MAX;
	hs[0].compressed_page_size = 0;
	hs[0].has_data_page_header = true;
	hs[0].data_page_header.num_values = -1;
	hs[0].data_page_header.encoding = TPQ_ENC_DELTA_BYTE_ARRAY;
	hs[0].data_page_header.definition_level_encoding = TPQ_ENC_RLE;
	hs[0].data_page_header.repetition_level_encoding = TPQ_ENC_BIT_PACKED;
	hs[1].type = TPQ_PAGE_DICTIONARY;
	hs[1].has_crc = true;
	hs[1].crc = INT32_MIN;
	hs[1].has_dictionary_page_header = true;
	hs[1].dictionary_page_header.num_values = 1 << 20;
	hs[1].dictionary_page_header.encoding = TPQ_ENC_PLAIN_DICTIONARY;
	hs[2].type = TPQ_PAGE_DATA_V2;
	hs[2].has_data_page_header_v2 = true;
	hs[2].data_page_header_v2.num_values = 1000;
	hs[2].data_page_header_v2.num_nulls = 999;
	hs[2].data_page_header_v2.num_rows = 1;
	hs[2].data_page_header_v2.encoding = TPQ_ENC_BYTE_STREAM_SPLIT;
	hs[2].data_page_header_v2.definition_levels_byte_length = 12;
	hs[2].data_page_header_v2.repetition_levels_byte_length = 34;
	hs[2].data_page_header_v2.is_compressed = true;
	hs[2].data_page_header_v2.has_statistics = true;
	hs[2].data_page_header_v2.statistics.has_max = true;
	hs[2].data_page_header_v2.statistics.max_value = mx;
	hs[2].data_page_header_v2.statistics.max_len = 3;
	hs[2].data_page_header_v2.statistics.has_distinct_count = true;
	hs[2].data_page_header_v2.statistics.distinct_count = INT64_MIN;
	hs[3].type = TPQ_PAGE_INDEX; /* no sub-header at all */
	hs[3].uncompressed_page_size = 1;
	for (size_t i = 0; i < 4; i++) {
		struct tpq_buf b;
		struct tpq_page_header d;
		tpq_buf_init(&b);
		tpq_meta_put_page_header(&b, &hs[i]);
		ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);
		ASSERT_EQ(tpq_meta_get_page_header(b.p, b.len, NULL, &d, NULL), TPQ_OK);
		expect_ph_eq(&hs[i], &d);
		tpq_page_header_release(&d);
		tpq_buf_release(&b);
	}

	/* ColumnIndex with 20 pages: long-form list headers */
	enum { NP = 20 };
	bool nulls[NP];
	uint8_t vals[NP][4];
	uint8_t *mins[NP], *maxs[NP];
	size_t lens[NP];
	int64_t ncs[NP];
	for (size_t i = 0; i < NP; i++) {
		nulls[i] = i % 4 == 0;
		memcpy(vals[i], "abcd", 4);
		vals[i][3] = (uint8_t)i;
		mins[i] = vals[i];
		maxs[i] = vals[NP - 1 - i];
		lens[i] = nulls[i] ? 0 : 1 + i % 4;
		ncs[i] = (int64_t)i * 1000;
	}
	struct tpq_column_index ci = {
		.n_pages = NP, .null_pages = nulls, .min_values = mins, .min_lens = lens,
		.max_values = maxs, .max_lens = lens, .boundary_order = TPQ_BO_DESCENDING,
		.has_null_counts = true, .null_counts = ncs,
	};
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_meta_put_column_index(&b, &ci);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);
	/* field 1 list (0x19); long form 0xf0 | bool(1), then varint 20 */
	ASSERT_EQ(b.p[0], 0x19);
	ASSERT_EQ(b.p[1], 0xf1);
	ASSERT_EQ(b.p[2], 20);
	struct tpq_column_index dci;
	ASSERT_EQ(tpq_meta_get_column_index(b.p, b.len, NULL, &dci, NULL), TPQ_OK);
	expect_ci_eq(&ci, &dci);
	tpq_column_index_release(&dci);
	/* without null_counts */
	ci.has_null_counts = false;
	tpq_buf_reset(&b);
	tpq_meta_put_column_index(&b, &ci);
	ASSERT_EQ(tpq_meta_get_column_index(b.p, b.len, NULL, &dci, NULL), TPQ_OK);
	expect_ci_eq(&ci, &dci);
	ASSERT_TRUE(dci.null_counts == NULL);
	tpq_column_index_release(&dci);

	struct tpq_page_location locs[NP];
	for (size_t i = 0; i < NP; i++) {
		locs[i].offset = ((int64_t)1 << 40) + (int64_t)i * 4096;
		locs[i].compressed_page_size = 4000 + (int32_t)i;
		locs[i].first_row_index = (int64_t)i * 100;
	}
	struct tpq_offset_index oi = {locs, NP};
	tpq_buf_reset(&b);
	tpq_meta_put_offset_index(&b, &oi);
	ASSERT_EQ(b.p[1], 0xfc); /* long form list of structs */
	struct tpq_offset_index doi;
	ASSERT_EQ(tpq_meta_get_offset_index(b.p, b.len, NULL, &doi, NULL), TPQ_OK);
	expect_oi_eq(&oi, &doi);
	tpq_offset_index_release(&doi);
	oi.n_pages = 0;
	tpq_buf_reset(&b);
	tpq_meta_put_offset_index(&b, &oi);
	ASSERT_EQ(tpq_meta_get_offset_index(b.p, b.len, NULL, &doi, NULL), TPQ_OK);
	ASSERT_EQ(doi.n_pages, 0);
	tpq_offset_index_release(&doi);

	struct tpq_bloom_filter_header bf = {INT32_MAX}, dbf;
	tpq_buf_reset(&b);
	tpq_meta_put_bloom_filter_header(&b, &bf);
	ASSERT_EQ(tpq_meta_get_bloom_filter_header(b.p, b.len, NULL, &dbf, NULL), TPQ_OK);
	ASSERT_EQ(dbf.num_bytes, INT32_MAX);
	tpq_buf_release(&b);
}

/* ---- truncation at every length ---- */

enum kind { K_FMD, K_PH, K_CI, K_OI, K_BF };

/* Decodes p[0..len) as `k`; on success releases. Returns the status and
 * checks that a failed decode left the output zeroed. */
static enum tpq_status decode_as(enum kind k, const uint8_t *p, size_t len, struct tpq_error *err)
{
	enum tpq_status st = TPQ_OK;
	switch (k) {
	case K_FMD: {
		struct tpq_file_meta_data m;
		st = tpq_meta_get_file_meta_data(p, len, NULL, &m, err);
		if (st != TPQ_OK)
			ASSERT_TRUE(m.schema == NULL && m.row_groups == NULL && m.kv == NULL &&
				    m.n_schema == 0 && m.created_by == NULL);
		tpq_file_meta_data_release(&m);
		break;
	}
	case K_PH: {
		struct tpq_page_header h;
		st = tpq_meta_get_page_header(p, len, NULL, &h, err);
		if (st != TPQ_OK)
			ASSERT_TRUE(h.data_page_header.statistics.min_value == NULL &&
				    !h.has_data_page_header);
		tpq_page_header_release(&h);
		break;
	}
	case K_CI: {
		struct tpq_column_index ci;
		st = tpq_meta_get_column_index(p, len, NULL, &ci, err);
		if (st != TPQ_OK)
			ASSERT_TRUE(ci.null_pages == NULL && ci.min_values == NULL && ci.n_pages == 0);
		tpq_column_index_release(&ci);
		break;
	}
	case K_OI: {
		struct tpq_offset_index oi;
		st = tpq_meta_get_offset_index(p, len, NULL, &oi, err);
		if (st != TPQ_OK)
			ASSERT_TRUE(oi.page_locations == NULL && oi.n_pages == 0);
		tpq_offset_index_release(&oi);
		break;
	}
	case K_BF: {
		struct tpq_bloom_filter_header h;
		st = tpq_meta_get_bloom_filter_header(p, len, NULL, &h, err);
		break;
	}
	}
	return st;
}

/* Every strict prefix of a valid encoding must fail cleanly (copied to an
 * exact-size heap block so ASan sees any over-read). */
static void truncate_all(enum kind k, const uint8_t *p, size_t n)
{
	for (size_t len = 0; len < n; len++) {
		uint8_t *cp = malloc(len ? len : 1);
		memcpy(cp, p, len);
		struct tpq_error err;
		tpq_error_clear(&err);
		enum tpq_status st = decode_as(k, len ? cp : NULL, len, &err);
		ASSERT_EQ(st, TPQ_ECORRUPT);
		ASSERT_EQ(err.status, TPQ_ECORRUPT);
		ASSERT_TRUE(err.offset >= 0 && (size_t)err.offset <= len);
		ASSERT_TRUE(err.msg[0] != '\0');
		free(cp);
	}
	ASSERT_EQ(decode_as(k, p, n, NULL), TPQ_OK);
}

TEST(truncated_input_every_length)
{
	struct tpq_file_meta_data m;
	struct tpq_buf b;
	build_fmd(&m);
	encode_fmd(&m, &b);
	ASSERT_TRUE(b.len > 500);
	truncate_all(K_FMD, b.p, b.len);
	tpq_buf_release(&b);

	static uint8_t v[2] = {1, 2};
	struct tpq_page_header h;
	memset(&h, 0, sizeof(h));
	h.type = TPQ_PAGE_DATA_V2;
	h.has_crc = true;
	h.has_data_page_header_v2 = true;
	h.data_page_header_v2.has_statistics = true;
	h.data_page_header_v2.statistics.has_min = true;
	h.data_page_header_v2.statistics.min_value = v;
	h.data_page_header_v2.statistics.min_len = 2;
	h.data_page_header_v2.statistics.has_is_min_exact = true;
	h.has_data_page_header = true;
	h.data_page_header.has_statistics = true;
	h.data_page_header.statistics.has_max = true;
	h.data_page_header.statistics.max_value = v;
	h.data_page_header.statistics.max_len = 2;
	h.has_dictionary_page_header = true;
	tpq_buf_init(&b);
	tpq_meta_put_page_header(&b, &h);
	truncate_all(K_PH, b.p, b.len);
	tpq_buf_release(&b);

	bool nulls[3] = {true, false, false};
	uint8_t *vals[3] = {v, v, v};
	size_t lens[3] = {0, 1, 2};
	int64_t ncs[3] = {3, 0, 1};
	struct tpq_column_index ci = {
		.n_pages = 3, .null_pages = nulls, .min_values = vals, .min_lens = lens,
		.max_values = vals, .max_lens = lens, .has_null_counts = true, .null_counts = ncs,
	};
	tpq_buf_init(&b);
	tpq_meta_put_column_index(&b, &ci);
	truncate_all(K_CI, b.p, b.len);
	tpq_buf_release(&b);

	struct tpq_page_location locs[3] = {{4, 10, 0}, {14, 10, 5}, {24, 10, 9}};
	struct tpq_offset_index oi = {locs, 3};
	tpq_buf_init(&b);
	tpq_meta_put_offset_index(&b, &oi);
	truncate_all(K_OI, b.p, b.len);
	tpq_buf_release(&b);

	struct tpq_bloom_filter_header bf = {4096};
	tpq_buf_init(&b);
	tpq_meta_put_bloom_filter_header(&b, &bf);
	truncate_all(K_BF, b.p, b.len);
	tpq_buf_release(&b);
}

/* ---- unknown fields, required fields, unions, limits ---- */

/* Writes one unknown field of every Thrift type at ids from..from+12. */
static void put_unknown_fields(struct tpq_thrift_writer *w, int16_t from)
{
	static const uint8_t set_bytes[] = {0x28, 0x01, 'x', 0x00};   /* set<binary>{"x", ""} */
	/* map<binary,struct>: size 2, key type 8 / value type c, "k": {1: 1}, "l": {1: [1]} */
	static const uint8_t map_bytes[] = {0x02, 0x8c, 0x01, 'k', 0x15, 0x02, 0x00,
					    0x01, 'l', 0x19, 0x15, 0x02, 0x00};
	static const uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	int16_t id = from;
	tpq_thrift_put_field_bool(w, id++, true);
	tpq_thrift_put_field_bool(w, id++, false);
	tpq_thrift_put_field_i8(w, id++, -3);
	tpq_thrift_put_field_i16(w, id++, 1000);
	tpq_thrift_put_field_i32(w, id++, -100000);
	tpq_thrift_put_field_i64(w, id++, INT64_MIN);
	tpq_thrift_put_field(w, id++, TPQ_THRIFT_DOUBLE);
	tpq_thrift_put_double(w, 3.25);
	tpq_thrift_put_field_binary(w, id++, "\0\1\2", 3);
	tpq_thrift_put_field(w, id++, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(w, TPQ_THRIFT_STRUCT, 2);
	for (int i = 0; i < 2; i++) {
		tpq_thrift_put_struct_begin(w);
		tpq_thrift_put_field_bool(w, 1, true);
		tpq_thrift_put_field_i32(w, 3, i);
		tpq_thrift_put_struct_end(w);
	}
	tpq_thrift_put_field(w, id++, TPQ_THRIFT_SET);
	tpq_buf_put(w->out, set_bytes, sizeof(set_bytes));
	tpq_thrift_put_field(w, id++, TPQ_THRIFT_MAP);
	tpq_buf_put(w->out, map_bytes, sizeof(map_bytes));
	tpq_thrift_put_field(w, id++, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(w);
	tpq_thrift_put_field_string(w, 200, "nested");
	tpq_thrift_put_field(w, 1, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(w, TPQ_THRIFT_BOOL, 16);
	for (int i = 0; i < 16; i++)
		tpq_thrift_put_bool(w, i & 1);
	tpq_thrift_put_struct_end(w);
	tpq_thrift_put_field(w, id++, TPQ_THRIFT_UUID);
	tpq_buf_put(w->out, uuid, sizeof(uuid));
}

TEST(unknown_fields_are_skipped)
{
	/* OffsetIndex{1: [PageLocation with unknown fields between and after the
	 * known ones], 2: unencoded_byte_array_data_bytes (skipped), 30..42: unknown} */
	struct tpq_buf b;
	struct tpq_thrift_writer w;
	tpq_buf_init(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field(&w, 1, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 1);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i64(&w, 1, 1234);
	put_unknown_fields(&w, 4);                    /* ids 4..16, then 2 goes long form */
	tpq_thrift_put_field_i32(&w, 2, 77);
	put_unknown_fields(&w, 100);
	tpq_thrift_put_field_i64(&w, 3, 55);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_I64, 1);
	tpq_thrift_put_i64(&w, 9);
	put_unknown_fields(&w, 30);
	tpq_thrift_put_struct_end(&w);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);

	struct tpq_offset_index oi;
	struct tpq_error err;
	tpq_error_clear(&err);
	size_t used = 0;
	ASSERT_EQ(tpq_meta_get_offset_index(b.p, b.len, &used, &oi, &err), TPQ_OK);
	ASSERT_EQ(used, b.len);
	ASSERT_EQ(oi.n_pages, 1);
	if (oi.n_pages == 1) {
		ASSERT_EQ(oi.page_locations[0].offset, 1234);
		ASSERT_EQ(oi.page_locations[0].compressed_page_size, 77);
		ASSERT_EQ(oi.page_locations[0].first_row_index, 55);
	}
	tpq_offset_index_release(&oi);
	truncate_all(K_OI, b.p, b.len);

	/* PageHeader: deprecated Statistics max(1)/min(2), nan_count(9), and an
	 * index_page_header(6) are read over and dropped */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, TPQ_PAGE_DATA);
	tpq_thrift_put_field_i32(&w, 2, 10);
	tpq_thrift_put_field_i32(&w, 3, 9);
	tpq_thrift_put_field(&w, 5, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 4);
	tpq_thrift_put_field_i32(&w, 2, 0);
	tpq_thrift_put_field_i32(&w, 3, 3);
	tpq_thrift_put_field_i32(&w, 4, 3);
	tpq_thrift_put_field(&w, 5, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_binary(&w, 1, "old-max", 7);
	tpq_thrift_put_field_binary(&w, 2, "old-min", 7);
	tpq_thrift_put_field_i64(&w, 3, 1);
	tpq_thrift_put_field_i64(&w, 9, 0);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_field_empty_struct(&w, 6);
	put_unknown_fields(&w, 20);
	tpq_thrift_put_struct_end(&w);
	struct tpq_page_header h;
	ASSERT_EQ(tpq_meta_get_page_header(b.p, b.len, &used, &h, NULL), TPQ_OK);
	ASSERT_EQ(used, b.len);
	ASSERT_EQ(h.data_page_header.num_values, 4);
	ASSERT_EQ(h.data_page_header.has_statistics, true);
	ASSERT_EQ(h.data_page_header.statistics.has_min, false);
	ASSERT_EQ(h.data_page_header.statistics.has_max, false);
	ASSERT_EQ(h.data_page_header.statistics.null_count, 1);
	ASSERT_EQ(h.has_dictionary_page_header, false);
	tpq_page_header_release(&h);
	tpq_buf_release(&b);
}

/* Decodes `k` from a writer-built buffer and checks status and message. */
static void expect_decode_error(enum kind k, const struct tpq_buf *b, enum tpq_status want,
				const char *msg_part)
{
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_buf_status(b), TPQ_OK);
	ASSERT_EQ(decode_as(k, b->p, b->len, &err), want);
	ASSERT_EQ(err.status, want);
	if (!strstr(err.msg, msg_part)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, msg_part);
		ASSERT_TRUE(strstr(err.msg, msg_part) != NULL);
	}
}

TEST(required_fields)
{
	struct tpq_buf b;
	struct tpq_thrift_writer w;
	tpq_buf_init(&b);

	/* FileMetaData without num_rows */
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 1);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 0);
	tpq_thrift_put_field(&w, 4, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 0);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_FMD, &b, TPQ_ECORRUPT,
			    "FileMetaData: required field num_rows (3) is missing");

	/* SchemaElement without a name (after a first valid element) */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 1);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 2);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_string(&w, 4, "root");
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 6);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_FMD, &b, TPQ_ECORRUPT, "SchemaElement: required field name (4)");

	/* PageLocation without first_row_index */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field(&w, 1, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 1);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i64(&w, 1, 0);
	tpq_thrift_put_field_i32(&w, 2, 0);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_OI, &b, TPQ_ECORRUPT,
			    "PageLocation: required field first_row_index (3) is missing");

	/* DataPageHeader without repetition_level_encoding */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 0);
	tpq_thrift_put_field_i32(&w, 2, 1);
	tpq_thrift_put_field_i32(&w, 3, 1);
	tpq_thrift_put_field(&w, 5, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 1);
	tpq_thrift_put_field_i32(&w, 2, 0);
	tpq_thrift_put_field_i32(&w, 3, 3);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_PH, &b, TPQ_ECORRUPT,
			    "DataPageHeader: required field repetition_level_encoding (4)");

	/* ColumnIndex without max_values */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field(&w, 1, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BOOL, 1);
	tpq_thrift_put_bool(&w, false);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BINARY, 1);
	tpq_thrift_put_binary(&w, "m", 1);
	tpq_thrift_put_field_i32(&w, 4, 0);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_CI, &b, TPQ_ECORRUPT, "ColumnIndex: required field max_values (3)");

	/* BloomFilterHeader without hash */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 32);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_empty_struct(&w, 1);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_field(&w, 4, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_empty_struct(&w, 1);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_BF, &b, TPQ_ECORRUPT, "BloomFilterHeader: required field hash (3)");

	/* ... and with an algorithm other than BLOCK */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 32);
	for (int16_t id = 2; id <= 4; id++) {
		tpq_thrift_put_field(&w, id, TPQ_THRIFT_STRUCT);
		tpq_thrift_put_struct_begin(&w);
		tpq_thrift_put_field_empty_struct(&w, id == 2 ? 2 : 1);
		tpq_thrift_put_struct_end(&w);
	}
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_BF, &b, TPQ_EUNSUPPORTED, "BLOCK");
	tpq_buf_release(&b);
}

TEST(malformed_structure)
{
	struct tpq_buf b;
	struct tpq_thrift_writer w;
	tpq_buf_init(&b);

	/* a known field with the wrong wire type */
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i64(&w, 1, 0);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_PH, &b, TPQ_ECORRUPT, "PageHeader.type (field 1) has type i64, expected i32");

	/* a field twice */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 0);
	tpq_thrift_put_field_i32(&w, 2, 0);
	tpq_thrift_put_field_i32(&w, 2, 0);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_PH, &b, TPQ_ECORRUPT, "uncompressed_page_size (field 2) appears twice");

	/* a list of the wrong element type */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field(&w, 1, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_I32, 1);
	tpq_thrift_put_i32(&w, 0);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_OI, &b, TPQ_ECORRUPT, "list of i32, expected struct");

	/* ColumnIndex lists of different lengths */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field(&w, 1, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BOOL, 2);
	tpq_thrift_put_bool(&w, false);
	tpq_thrift_put_bool(&w, false);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BINARY, 1);
	tpq_thrift_put_binary(&w, "m", 1);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_CI, &b, TPQ_ECORRUPT, "min_values has 1 entries, expected 2");

	/* a string with a NUL byte cannot become a C string */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 1);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 1);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_binary(&w, 4, "a\0b", 3);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_FMD, &b, TPQ_ECORRUPT, "NUL");

	/* a union with two members */
	tpq_buf_reset(&b);
	tpq_thrift_writer_init(&w, &b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 1);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 1);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_string(&w, 4, "x");
	tpq_thrift_put_field(&w, 10, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_empty_struct(&w, 1);
	tpq_thrift_put_field_empty_struct(&w, 2);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_struct_end(&w);
	expect_decode_error(K_FMD, &b, TPQ_ECORRUPT, "LogicalType: union with more than one member");
	tpq_buf_release(&b);
}

/* FileMetaData{version, schema=[{name "c", logicalType=<lt bytes>}], num_rows,
 * row_groups=[], column_orders=<co>} built by hand to test decode-only cases. */
static void put_fmd_with(struct tpq_buf *b, const uint8_t *lt, size_t lt_len, const uint8_t *co,
			 size_t co_len)
{
	struct tpq_thrift_writer w;
	tpq_buf_reset(b);
	tpq_thrift_writer_init(&w, b);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, 1, 1);
	tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 1);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_string(&w, 4, "c");
	tpq_thrift_put_field(&w, 10, TPQ_THRIFT_STRUCT);
	tpq_buf_put(b, lt, lt_len);
	tpq_thrift_put_struct_end(&w);
	tpq_thrift_put_field_i64(&w, 3, 0);
	tpq_thrift_put_field(&w, 4, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 0);
	if (co) {
		tpq_thrift_put_field(&w, 7, TPQ_THRIFT_LIST);
		tpq_buf_put(b, co, co_len);
	}
	tpq_thrift_put_struct_end(&w);
}

TEST(unions_decode_only_cases)
{
	struct tpq_buf b;
	struct tpq_file_meta_data m;
	tpq_buf_init(&b);
	/* DECIMAL (5) {1: scale 2, 2: precision 9}: not ours, kind stays NONE */
	static const uint8_t decimal[] = {0x5c, 0x15, 0x04, 0x15, 0x12, 0x00, 0x00};
	/* TIMESTAMP with unit member 4 (unknown): no logical type */
	static const uint8_t ts_unknown[] = {0x8c, 0x12, 0x1c, 0x4c, 0x00, 0x00, 0x00, 0x00};
	/* TIMESTAMP{false, NANOS} */
	static const uint8_t ts_nanos[] = {0x8c, 0x12, 0x1c, 0x3c, 0x00, 0x00, 0x00, 0x00};
	/* JSON with an unknown field inside its (normally empty) struct */
	static const uint8_t json[] = {0xcc, 0x15, 0x02, 0x00, 0x00};
	/* an empty union */
	static const uint8_t empty[] = {0x00};
	/* TIMESTAMP without its unit */
	static const uint8_t ts_no_unit[] = {0x8c, 0x11, 0x00, 0x00};
	/* column orders: [TYPE_ORDER, TYPE_ORDER] and [TYPE_ORDER, IEEE_754_TOTAL_ORDER] */
	static const uint8_t co_type[] = {0x2c, 0x1c, 0x00, 0x00, 0x1c, 0x00, 0x00};
	static const uint8_t co_ieee[] = {0x2c, 0x1c, 0x00, 0x00, 0x2c, 0x00, 0x00};

	put_fmd_with(&b, decimal, sizeof(decimal), co_type, sizeof(co_type));
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, NULL, &m, NULL), TPQ_OK);
	ASSERT_EQ(m.schema[0].logical.kind, TPQ_LT_NONE);
	ASSERT_EQ(m.n_column_orders, 2);
	tpq_file_meta_data_release(&m);

	put_fmd_with(&b, ts_unknown, sizeof(ts_unknown), co_ieee, sizeof(co_ieee));
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, NULL, &m, NULL), TPQ_OK);
	ASSERT_EQ(m.schema[0].logical.kind, TPQ_LT_NONE);
	ASSERT_EQ(m.n_column_orders, 0);
	tpq_file_meta_data_release(&m);

	put_fmd_with(&b, ts_nanos, sizeof(ts_nanos), NULL, 0);
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, NULL, &m, NULL), TPQ_OK);
	ASSERT_EQ(m.schema[0].logical.kind, TPQ_LT_TIMESTAMP);
	ASSERT_EQ(m.schema[0].logical.ts_unit, TPQ_UNIT_NANOS);
	ASSERT_EQ(m.schema[0].logical.ts_utc, false);
	ASSERT_EQ(m.n_column_orders, 0);
	tpq_file_meta_data_release(&m);

	put_fmd_with(&b, json, sizeof(json), NULL, 0);
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, NULL, &m, NULL), TPQ_OK);
	ASSERT_EQ(m.schema[0].logical.kind, TPQ_LT_JSON);
	tpq_file_meta_data_release(&m);

	put_fmd_with(&b, empty, sizeof(empty), NULL, 0);
	ASSERT_EQ(tpq_meta_get_file_meta_data(b.p, b.len, NULL, &m, NULL), TPQ_OK);
	ASSERT_EQ(m.schema[0].logical.kind, TPQ_LT_NONE);
	ASSERT_EQ(m.schema[0].converted, TPQ_CT_NONE);
	tpq_file_meta_data_release(&m);

	put_fmd_with(&b, ts_no_unit, sizeof(ts_no_unit), NULL, 0);
	expect_decode_error(K_FMD, &b, TPQ_ECORRUPT, "TimestampType: required field unit (2)");
	tpq_buf_release(&b);
}

TEST(bool_list_accepts_zero_as_false)
{
	/* null_pages written as element type 2 (the spec's code) with 0/1 bytes */
	static const uint8_t in[] = {
		0x19, 0x32, 0x00, 0x01, 0x02, /* 1 null_pages [false, true, false] */
		0x19, 0x38, 0x00, 0x00, 0x00, /* 2 min_values ["", "", ""] */
		0x19, 0x38, 0x00, 0x00, 0x00, /* 3 max_values */
		0x15, 0x00,                   /* 4 boundary_order UNORDERED */
		0x00,
	};
	struct tpq_column_index ci;
	ASSERT_EQ(tpq_meta_get_column_index(in, sizeof(in), NULL, &ci, NULL), TPQ_OK);
	ASSERT_EQ(ci.n_pages, 3);
	if (ci.n_pages == 3) {
		ASSERT_EQ(ci.null_pages[0], false);
		ASSERT_EQ(ci.null_pages[1], true);
		ASSERT_EQ(ci.null_pages[2], false);
	}
	ASSERT_EQ(ci.has_null_counts, false);
	tpq_column_index_release(&ci);
}

TEST(depth_and_size_limits)
{
	/* KeyValue {1: "k", 2: struct{1: struct{1: ...}}} nested `depth` deep */
	for (int depth = 10; depth <= 100; depth += 90) {
		struct tpq_buf b;
		struct tpq_thrift_writer w;
		tpq_buf_init(&b);
		tpq_thrift_writer_init(&w, &b);
		tpq_thrift_put_struct_begin(&w);
		tpq_thrift_put_field_i32(&w, 1, 1);
		tpq_thrift_put_field(&w, 2, TPQ_THRIFT_LIST);
		tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 0);
		tpq_thrift_put_field_i64(&w, 3, 0);
		tpq_thrift_put_field(&w, 4, TPQ_THRIFT_LIST);
		tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 0);
		tpq_thrift_put_field(&w, 5, TPQ_THRIFT_LIST);
		tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, 1);
		tpq_thrift_put_struct_begin(&w);
		tpq_thrift_put_field_string(&w, 1, "k");
		/* raw bytes: the writer itself refuses to nest this deep */
		tpq_buf_put_u8(&b, 0x3c); /* field 4 (unknown), struct */
		for (int i = 0; i < depth; i++)
			tpq_buf_put_u8(&b, 0x1c);
		for (int i = 0; i <= depth; i++)
			tpq_buf_put_u8(&b, 0x00);
		tpq_thrift_put_struct_end(&w);
		tpq_thrift_put_struct_end(&w);
		ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);
		if (depth < 50) {
			ASSERT_EQ(decode_as(K_FMD, b.p, b.len, NULL), TPQ_OK);
		} else {
			expect_decode_error(K_FMD, &b, TPQ_ELIMIT, "nesting deeper than 64");
		}
		tpq_buf_release(&b);
	}

	/* a list claiming 2^31-1 row groups in a tiny input allocates nothing big */
	static const uint8_t huge[] = {0x15, 0x02, 0x19, 0x0c, 0x16, 0x00,
				       0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00};
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(decode_as(K_FMD, huge, sizeof(huge), &err), TPQ_ELIMIT);
	static const uint8_t many[] = {0x15, 0x02, 0x19, 0x0c, 0x16, 0x00,
				       0x19, 0xfc, 0xe8, 0x07, 0x00};
	tpq_error_clear(&err);
	ASSERT_EQ(decode_as(K_FMD, many, sizeof(many), &err), TPQ_ECORRUPT);
	ASSERT_TRUE(strstr(err.msg, "cannot fit") != NULL);
}

TEST(release_is_safe_on_empty)
{
	struct tpq_file_meta_data m;
	struct tpq_page_header h;
	struct tpq_column_index ci;
	struct tpq_offset_index oi;
	struct tpq_statistics s;
	memset(&m, 0, sizeof(m));
	memset(&h, 0, sizeof(h));
	memset(&ci, 0, sizeof(ci));
	memset(&oi, 0, sizeof(oi));
	memset(&s, 0, sizeof(s));
	tpq_file_meta_data_release(&m);
	tpq_page_header_release(&h);
	tpq_column_index_release(&ci);
	tpq_offset_index_release(&oi);
	tpq_statistics_release(&s);
	tpq_file_meta_data_release(NULL);
	tpq_page_header_release(NULL);
	tpq_column_index_release(NULL);
	tpq_offset_index_release(NULL);
	tpq_statistics_release(NULL);
	/* releasing twice is harmless: release zeroes */
	tpq_file_meta_data_release(&m);
	ASSERT_TRUE(m.schema == NULL);
}

int main(void)
{
	RUN(bytes_small_file_meta_data);
	RUN(bytes_logical_types);
	RUN(bytes_page_headers);
	RUN(bytes_page_index_and_bloom);
	RUN(round_trip_file_meta_data);
	RUN(round_trip_page_headers_and_indexes);
	RUN(truncated_input_every_length);
	RUN(unknown_fields_are_skipped);
	RUN(required_fields);
	RUN(malformed_structure);
	RUN(unions_decode_only_cases);
	RUN(bool_list_accepts_zero_as_false);
	RUN(depth_and_size_limits);
	RUN(release_is_safe_on_empty);
	return harness_done();
}
