/* Parquet footer structures (parquet.thrift) over the Thrift compact protocol.
 *
 * Design. Field ids are named constants, each beside the parquet.thrift line
 * it comes from. Encoders write fields in increasing id order and only the
 * optional fields whose `has_` flag (or pointer/count) says they are present.
 *
 * Decoders are table driven: each struct has a descriptor listing the fields
 * we understand (id, wire type, required?), and one generic loop, get_struct,
 * reads the field headers, skips unknown ids (any type, any depth), rejects a
 * known id with the wrong wire type or seen twice, and checks afterwards that
 * every required field was present, naming the struct and field when not.
 * A per-struct callback decodes the value of each known field.
 *
 * Memory safety on error: every array is allocated zeroed (calloc) and stored
 * with its final count in the output struct *before* its elements are parsed,
 * so at any moment everything allocated is reachable from the top-level
 * struct and its _release function (safe on zeroed and partly filled
 * structs) frees exactly that. The public decoders release and zero the
 * output on any error. List sizes are bounded by the Thrift reader (at most
 * one element per input byte), so allocations stay proportional to input.
 *
 * Decoded enums keep the raw i32 from the wire, even if it is not one of the
 * named values (a newer writer may use a newer encoding). Strings decode to
 * NUL-terminated copies; a string holding a NUL byte is rejected, since it
 * could not round-trip through a C string. */
#include "parquet/meta.h"

#include <stdlib.h>
#include <string.h>

#include "parquet/thrift.h"

/* ---- field ids (quoted lines from apache/parquet-format parquet.thrift) ----
 * Ids named here but absent from the struct's descriptor table further down
 * are read over like any unknown field (deprecated or not represented). */

/* struct Statistics */
enum {
	STATS_MAX = 1,                  /* 1: optional binary max;  (deprecated, skipped) */
	STATS_MIN = 2,                  /* 2: optional binary min;  (deprecated, skipped) */
	STATS_NULL_COUNT = 3,           /* 3: optional i64 null_count; */
	STATS_DISTINCT_COUNT = 4,       /* 4: optional i64 distinct_count; */
	STATS_MAX_VALUE = 5,            /* 5: optional binary max_value; */
	STATS_MIN_VALUE = 6,            /* 6: optional binary min_value; */
	STATS_IS_MAX_VALUE_EXACT = 7,   /* 7: optional bool is_max_value_exact; */
	STATS_IS_MIN_VALUE_EXACT = 8,   /* 8: optional bool is_min_value_exact; */
};

/* union TimeUnit */
enum {
	TU_MILLIS = 1,                  /* 1: MilliSeconds MILLIS */
	TU_MICROS = 2,                  /* 2: MicroSeconds MICROS */
	TU_NANOS = 3,                   /* 3: NanoSeconds NANOS */
};

/* struct TimestampType */
enum {
	TS_IS_ADJUSTED_TO_UTC = 1,      /* 1: required bool isAdjustedToUTC */
	TS_UNIT = 2,                    /* 2: required TimeUnit unit */
};

/* struct IntType */
enum {
	INT_BIT_WIDTH = 1,              /* 1: required i8 bitWidth */
	INT_IS_SIGNED = 2,              /* 2: required bool isSigned */
};

/* union LogicalType (members we read and write; others are skipped) */
enum {
	LT_STRING = 1,                  /* 1:  StringType STRING       // use ConvertedType UTF8 */
	LT_MAP = 2,                     /* 2:  MapType MAP             // use ConvertedType MAP */
	LT_LIST = 3,                    /* 3:  ListType LIST           // use ConvertedType LIST */
	LT_TIMESTAMP = 8,               /* 8:  TimestampType TIMESTAMP */
	LT_INTEGER = 10,                /* 10: IntType INTEGER */
	LT_JSON = 12,                   /* 12: JsonType JSON           // use ConvertedType JSON */
};

/* struct SchemaElement */
enum {
	SE_TYPE = 1,                    /* 1: optional Type type; */
	SE_TYPE_LENGTH = 2,             /* 2: optional i32 type_length;  (skipped) */
	SE_REPETITION_TYPE = 3,         /* 3: optional FieldRepetitionType repetition_type; */
	SE_NAME = 4,                    /* 4: required string name; */
	SE_NUM_CHILDREN = 5,            /* 5: optional i32 num_children; */
	SE_CONVERTED_TYPE = 6,          /* 6: optional ConvertedType converted_type; */
	SE_FIELD_ID = 9,                /* 9: optional i32 field_id; */
	SE_LOGICAL_TYPE = 10,           /* 10: optional LogicalType logicalType */
};

/* struct KeyValue */
enum {
	KV_KEY = 1,                     /* 1: required string key */
	KV_VALUE = 2,                   /* 2: optional string value */
};

/* struct PageEncodingStats */
enum {
	PES_PAGE_TYPE = 1,              /* 1: required PageType page_type; */
	PES_ENCODING = 2,               /* 2: required Encoding encoding; */
	PES_COUNT = 3,                  /* 3: required i32 count; */
};

/* struct ColumnMetaData */
enum {
	CMD_TYPE = 1,                   /* 1: required Type type */
	CMD_ENCODINGS = 2,              /* 2: required list<Encoding> encodings */
	CMD_PATH_IN_SCHEMA = 3,         /* 3: required list<string> path_in_schema */
	CMD_CODEC = 4,                  /* 4: required CompressionCodec codec */
	CMD_NUM_VALUES = 5,             /* 5: required i64 num_values */
	CMD_TOTAL_UNCOMPRESSED_SIZE = 6, /* 6: required i64 total_uncompressed_size */
	CMD_TOTAL_COMPRESSED_SIZE = 7,  /* 7: required i64 total_compressed_size */
	CMD_KEY_VALUE_METADATA = 8,     /* 8: optional list<KeyValue> key_value_metadata */
	CMD_DATA_PAGE_OFFSET = 9,       /* 9: required i64 data_page_offset */
	CMD_INDEX_PAGE_OFFSET = 10,     /* 10: optional i64 index_page_offset  (skipped) */
	CMD_DICTIONARY_PAGE_OFFSET = 11, /* 11: optional i64 dictionary_page_offset */
	CMD_STATISTICS = 12,            /* 12: optional Statistics statistics; */
	CMD_ENCODING_STATS = 13,        /* 13: optional list<PageEncodingStats> encoding_stats; */
	CMD_BLOOM_FILTER_OFFSET = 14,   /* 14: optional i64 bloom_filter_offset; */
	CMD_BLOOM_FILTER_LENGTH = 15,   /* 15: optional i32 bloom_filter_length; */
};

/* struct ColumnChunk */
enum {
	CC_FILE_PATH = 1,               /* 1: optional string file_path  (never written, skipped) */
	CC_FILE_OFFSET = 2,             /* 2: required i64 file_offset = 0 */
	CC_META_DATA = 3,               /* 3: optional ColumnMetaData meta_data */
	CC_OFFSET_INDEX_OFFSET = 4,     /* 4: optional i64 offset_index_offset */
	CC_OFFSET_INDEX_LENGTH = 5,     /* 5: optional i32 offset_index_length */
	CC_COLUMN_INDEX_OFFSET = 6,     /* 6: optional i64 column_index_offset */
	CC_COLUMN_INDEX_LENGTH = 7,     /* 7: optional i32 column_index_length */
};

/* struct RowGroup */
enum {
	RG_COLUMNS = 1,                 /* 1: required list<ColumnChunk> columns */
	RG_TOTAL_BYTE_SIZE = 2,         /* 2: required i64 total_byte_size */
	RG_NUM_ROWS = 3,                /* 3: required i64 num_rows */
	RG_SORTING_COLUMNS = 4,         /* 4: optional list<SortingColumn> sorting_columns */
	RG_FILE_OFFSET = 5,             /* 5: optional i64 file_offset */
	RG_TOTAL_COMPRESSED_SIZE = 6,   /* 6: optional i64 total_compressed_size */
	RG_ORDINAL = 7,                 /* 7: optional i16 ordinal */
};

/* union ColumnOrder */
enum {
	CO_TYPE_ORDER = 1,              /* 1: TypeDefinedOrder TYPE_ORDER; */
};

/* struct FileMetaData */
enum {
	FMD_VERSION = 1,                /* 1: required i32 version */
	FMD_SCHEMA = 2,                 /* 2: required list<SchemaElement> schema; */
	FMD_NUM_ROWS = 3,               /* 3: required i64 num_rows */
	FMD_ROW_GROUPS = 4,             /* 4: required list<RowGroup> row_groups */
	FMD_KEY_VALUE_METADATA = 5,     /* 5: optional list<KeyValue> key_value_metadata */
	FMD_CREATED_BY = 6,             /* 6: optional string created_by */
	FMD_COLUMN_ORDERS = 7,          /* 7: optional list<ColumnOrder> column_orders; */
};

/* struct DataPageHeader */
enum {
	DPH_NUM_VALUES = 1,             /* 1: required i32 num_values */
	DPH_ENCODING = 2,               /* 2: required Encoding encoding */
	DPH_DEFINITION_LEVEL_ENCODING = 3, /* 3: required Encoding definition_level_encoding; */
	DPH_REPETITION_LEVEL_ENCODING = 4, /* 4: required Encoding repetition_level_encoding; */
	DPH_STATISTICS = 5,             /* 5: optional Statistics statistics; */
};

/* struct DictionaryPageHeader */
enum {
	DICT_NUM_VALUES = 1,            /* 1: required i32 num_values; */
	DICT_ENCODING = 2,              /* 2: required Encoding encoding */
	DICT_IS_SORTED = 3,             /* 3: optional bool is_sorted; */
};

/* struct DataPageHeaderV2 */
enum {
	DPH2_NUM_VALUES = 1,            /* 1: required i32 num_values */
	DPH2_NUM_NULLS = 2,             /* 2: required i32 num_nulls */
	DPH2_NUM_ROWS = 3,              /* 3: required i32 num_rows */
	DPH2_ENCODING = 4,              /* 4: required Encoding encoding */
	DPH2_DEFINITION_LEVELS_BYTE_LENGTH = 5, /* 5: required i32 definition_levels_byte_length; */
	DPH2_REPETITION_LEVELS_BYTE_LENGTH = 6, /* 6: required i32 repetition_levels_byte_length; */
	DPH2_IS_COMPRESSED = 7,         /* 7: optional bool is_compressed = true; */
	DPH2_STATISTICS = 8,            /* 8: optional Statistics statistics; */
};

/* struct PageHeader */
enum {
	PH_TYPE = 1,                    /* 1: required PageType type */
	PH_UNCOMPRESSED_PAGE_SIZE = 2,  /* 2: required i32 uncompressed_page_size */
	PH_COMPRESSED_PAGE_SIZE = 3,    /* 3: required i32 compressed_page_size */
	PH_CRC = 4,                     /* 4: optional i32 crc */
	PH_DATA_PAGE_HEADER = 5,        /* 5: optional DataPageHeader data_page_header; */
	PH_INDEX_PAGE_HEADER = 6,       /* 6: optional IndexPageHeader index_page_header; */
	PH_DICTIONARY_PAGE_HEADER = 7,
	/* 7: optional DictionaryPageHeader dictionary_page_header; */
	PH_DATA_PAGE_HEADER_V2 = 8,     /* 8: optional DataPageHeaderV2 data_page_header_v2; */
};

/* struct BloomFilterHeader and its unions */
enum {
	BFH_NUM_BYTES = 1,              /* 1: required i32 numBytes; */
	BFH_ALGORITHM = 2,              /* 2: required BloomFilterAlgorithm algorithm; */
	BFH_HASH = 3,                   /* 3: required BloomFilterHash hash; */
	BFH_COMPRESSION = 4,            /* 4: required BloomFilterCompression compression; */
	BFA_BLOCK = 1,                  /* 1: SplitBlockAlgorithm BLOCK; */
	BFHASH_XXHASH = 1,              /* 1: XxHash XXHASH; */
	BFC_UNCOMPRESSED = 1,           /* 1: Uncompressed UNCOMPRESSED; */
};

/* struct PageLocation */
enum {
	PL_OFFSET = 1,                  /* 1: required i64 offset */
	PL_COMPRESSED_PAGE_SIZE = 2,    /* 2: required i32 compressed_page_size */
	PL_FIRST_ROW_INDEX = 3,         /* 3: required i64 first_row_index */
};

/* struct OffsetIndex */
enum {
	OI_PAGE_LOCATIONS = 1,          /* 1: required list<PageLocation> page_locations */
	/* 2: optional list<i64> unencoded_byte_array_data_bytes */
	OI_UNENCODED_BYTE_ARRAY_DATA_BYTES = 2,
};

/* struct ColumnIndex */
enum {
	CI_NULL_PAGES = 1,              /* 1: required list<bool> null_pages */
	CI_MIN_VALUES = 2,              /* 2: required list<binary> min_values */
	CI_MAX_VALUES = 3,              /* 3: required list<binary> max_values */
	CI_BOUNDARY_ORDER = 4,          /* 4: required BoundaryOrder boundary_order */
	CI_NULL_COUNTS = 5,             /* 5: optional list<i64> null_counts */
};

/* ---- encoders ---- */

static void put_invalid(struct tpq_thrift_writer *w)
{
	if (w->out->err == TPQ_OK)
		w->out->err = TPQ_EINVAL;
}

static void put_statistics(struct tpq_thrift_writer *w, int16_t id, const struct tpq_statistics *s)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(w);
	if (s->has_null_count)
		tpq_thrift_put_field_i64(w, STATS_NULL_COUNT, s->null_count);
	if (s->has_distinct_count)
		tpq_thrift_put_field_i64(w, STATS_DISTINCT_COUNT, s->distinct_count);
	if (s->has_max)
		tpq_thrift_put_field_binary(w, STATS_MAX_VALUE, s->max_value, s->max_len);
	if (s->has_min)
		tpq_thrift_put_field_binary(w, STATS_MIN_VALUE, s->min_value, s->min_len);
	if (s->has_is_max_exact)
		tpq_thrift_put_field_bool(w, STATS_IS_MAX_VALUE_EXACT, s->is_max_exact);
	if (s->has_is_min_exact)
		tpq_thrift_put_field_bool(w, STATS_IS_MIN_VALUE_EXACT, s->is_min_exact);
	tpq_thrift_put_struct_end(w);
}

static void put_logical_type(struct tpq_thrift_writer *w, const struct tpq_logical_type *lt)
{
	switch (lt->kind) {
	case TPQ_LT_NONE:
		return;
	case TPQ_LT_STRING:
	case TPQ_LT_MAP:
	case TPQ_LT_LIST:
	case TPQ_LT_JSON:
	case TPQ_LT_TIMESTAMP:
	case TPQ_LT_INTEGER:
		break;
	default:
		put_invalid(w);
		return;
	}
	tpq_thrift_put_field(w, SE_LOGICAL_TYPE, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(w);
	switch (lt->kind) {
	case TPQ_LT_TIMESTAMP:
		if (lt->ts_unit < TPQ_UNIT_MILLIS || lt->ts_unit > TPQ_UNIT_NANOS)
			put_invalid(w);
		tpq_thrift_put_field(w, LT_TIMESTAMP, TPQ_THRIFT_STRUCT);
		tpq_thrift_put_struct_begin(w);
		tpq_thrift_put_field_bool(w, TS_IS_ADJUSTED_TO_UTC, lt->ts_utc);
		tpq_thrift_put_field(w, TS_UNIT, TPQ_THRIFT_STRUCT);
		tpq_thrift_put_struct_begin(w);
		/* TimeUnit member ids equal enum tpq_time_unit */
		tpq_thrift_put_field_empty_struct(w, (int16_t)lt->ts_unit);
		tpq_thrift_put_struct_end(w);
		tpq_thrift_put_struct_end(w);
		break;
	case TPQ_LT_INTEGER:
		tpq_thrift_put_field(w, LT_INTEGER, TPQ_THRIFT_STRUCT);
		tpq_thrift_put_struct_begin(w);
		tpq_thrift_put_field_i8(w, INT_BIT_WIDTH, lt->int_bits);
		tpq_thrift_put_field_bool(w, INT_IS_SIGNED, lt->int_signed);
		tpq_thrift_put_struct_end(w);
		break;
	default:
		/* STRING, MAP, LIST, JSON: member id equals the kind, empty struct */
		tpq_thrift_put_field_empty_struct(w, (int16_t)lt->kind);
		break;
	}
	tpq_thrift_put_struct_end(w);
}

static void put_schema_element(struct tpq_thrift_writer *w, const struct tpq_schema_element *se)
{
	tpq_thrift_put_struct_begin(w);
	if (se->has_type)
		tpq_thrift_put_field_i32(w, SE_TYPE, (int32_t)se->type);
	if (se->has_repetition)
		tpq_thrift_put_field_i32(w, SE_REPETITION_TYPE, (int32_t)se->repetition);
	tpq_thrift_put_field_string(w, SE_NAME, se->name);
	if (se->num_children != 0)
		tpq_thrift_put_field_i32(w, SE_NUM_CHILDREN, se->num_children);
	if (se->converted != TPQ_CT_NONE)
		tpq_thrift_put_field_i32(w, SE_CONVERTED_TYPE, (int32_t)se->converted);
	if (se->has_field_id)
		tpq_thrift_put_field_i32(w, SE_FIELD_ID, se->field_id);
	put_logical_type(w, &se->logical);
	tpq_thrift_put_struct_end(w);
}

static void put_key_value(struct tpq_thrift_writer *w, const struct tpq_key_value *kv)
{
	tpq_thrift_put_struct_begin(w);
	tpq_thrift_put_field_string(w, KV_KEY, kv->key);
	if (kv->value)
		tpq_thrift_put_field_string(w, KV_VALUE, kv->value);
	tpq_thrift_put_struct_end(w);
}

static void put_column_meta_data(struct tpq_thrift_writer *w, const struct tpq_column_meta_data *c)
{
	tpq_thrift_put_struct_begin(w);
	tpq_thrift_put_field_i32(w, CMD_TYPE, (int32_t)c->type);
	tpq_thrift_put_field(w, CMD_ENCODINGS, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(w, TPQ_THRIFT_I32, c->n_encodings);
	for (size_t i = 0; i < c->n_encodings; i++)
		tpq_thrift_put_i32(w, (int32_t)c->encodings[i]);
	tpq_thrift_put_field(w, CMD_PATH_IN_SCHEMA, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(w, TPQ_THRIFT_BINARY, c->n_path);
	for (size_t i = 0; i < c->n_path; i++)
		tpq_thrift_put_string(w, c->path_in_schema[i]);
	tpq_thrift_put_field_i32(w, CMD_CODEC, c->codec);
	tpq_thrift_put_field_i64(w, CMD_NUM_VALUES, c->num_values);
	tpq_thrift_put_field_i64(w, CMD_TOTAL_UNCOMPRESSED_SIZE, c->total_uncompressed_size);
	tpq_thrift_put_field_i64(w, CMD_TOTAL_COMPRESSED_SIZE, c->total_compressed_size);
	tpq_thrift_put_field_i64(w, CMD_DATA_PAGE_OFFSET, c->data_page_offset);
	if (c->has_dictionary_page_offset)
		tpq_thrift_put_field_i64(w, CMD_DICTIONARY_PAGE_OFFSET, c->dictionary_page_offset);
	if (c->has_statistics)
		put_statistics(w, CMD_STATISTICS, &c->statistics);
	if (c->n_encoding_stats > 0) {
		tpq_thrift_put_field(w, CMD_ENCODING_STATS, TPQ_THRIFT_LIST);
		tpq_thrift_put_list_begin(w, TPQ_THRIFT_STRUCT, c->n_encoding_stats);
		for (size_t i = 0; i < c->n_encoding_stats; i++) {
			const struct tpq_page_encoding_stats *e = &c->encoding_stats[i];
			tpq_thrift_put_struct_begin(w);
			tpq_thrift_put_field_i32(w, PES_PAGE_TYPE, (int32_t)e->page_type);
			tpq_thrift_put_field_i32(w, PES_ENCODING, (int32_t)e->encoding);
			tpq_thrift_put_field_i32(w, PES_COUNT, e->count);
			tpq_thrift_put_struct_end(w);
		}
	}
	if (c->has_bloom_filter_offset)
		tpq_thrift_put_field_i64(w, CMD_BLOOM_FILTER_OFFSET, c->bloom_filter_offset);
	if (c->has_bloom_filter_length)
		tpq_thrift_put_field_i32(w, CMD_BLOOM_FILTER_LENGTH, c->bloom_filter_length);
	tpq_thrift_put_struct_end(w);
}

static void put_column_chunk(struct tpq_thrift_writer *w, const struct tpq_column_chunk *cc)
{
	tpq_thrift_put_struct_begin(w);
	tpq_thrift_put_field_i64(w, CC_FILE_OFFSET, cc->file_offset);
	if (cc->has_meta_data) {
		tpq_thrift_put_field(w, CC_META_DATA, TPQ_THRIFT_STRUCT);
		put_column_meta_data(w, &cc->meta_data);
	}
	if (cc->has_offset_index) {
		tpq_thrift_put_field_i64(w, CC_OFFSET_INDEX_OFFSET, cc->offset_index_offset);
		tpq_thrift_put_field_i32(w, CC_OFFSET_INDEX_LENGTH, cc->offset_index_length);
	}
	if (cc->has_column_index) {
		tpq_thrift_put_field_i64(w, CC_COLUMN_INDEX_OFFSET, cc->column_index_offset);
		tpq_thrift_put_field_i32(w, CC_COLUMN_INDEX_LENGTH, cc->column_index_length);
	}
	tpq_thrift_put_struct_end(w);
}

static void put_row_group(struct tpq_thrift_writer *w, const struct tpq_row_group *rg)
{
	tpq_thrift_put_struct_begin(w);
	tpq_thrift_put_field(w, RG_COLUMNS, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(w, TPQ_THRIFT_STRUCT, rg->n_columns);
	for (size_t i = 0; i < rg->n_columns; i++)
		put_column_chunk(w, &rg->columns[i]);
	tpq_thrift_put_field_i64(w, RG_TOTAL_BYTE_SIZE, rg->total_byte_size);
	tpq_thrift_put_field_i64(w, RG_NUM_ROWS, rg->num_rows);
	if (rg->has_file_offset)
		tpq_thrift_put_field_i64(w, RG_FILE_OFFSET, rg->file_offset);
	if (rg->has_total_compressed_size)
		tpq_thrift_put_field_i64(w, RG_TOTAL_COMPRESSED_SIZE, rg->total_compressed_size);
	if (rg->has_ordinal)
		tpq_thrift_put_field_i16(w, RG_ORDINAL, rg->ordinal);
	tpq_thrift_put_struct_end(w);
}

void tpq_meta_put_file_meta_data(struct tpq_buf *out, const struct tpq_file_meta_data *m)
{
	struct tpq_thrift_writer w;
	tpq_thrift_writer_init(&w, out);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, FMD_VERSION, m->version);
	tpq_thrift_put_field(&w, FMD_SCHEMA, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, m->n_schema);
	for (size_t i = 0; i < m->n_schema; i++)
		put_schema_element(&w, &m->schema[i]);
	tpq_thrift_put_field_i64(&w, FMD_NUM_ROWS, m->num_rows);
	tpq_thrift_put_field(&w, FMD_ROW_GROUPS, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, m->n_row_groups);
	for (size_t i = 0; i < m->n_row_groups; i++)
		put_row_group(&w, &m->row_groups[i]);
	if (m->n_kv > 0) {
		tpq_thrift_put_field(&w, FMD_KEY_VALUE_METADATA, TPQ_THRIFT_LIST);
		tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, m->n_kv);
		for (size_t i = 0; i < m->n_kv; i++)
			put_key_value(&w, &m->kv[i]);
	}
	if (m->created_by)
		tpq_thrift_put_field_string(&w, FMD_CREATED_BY, m->created_by);
	if (m->n_column_orders > 0) {
		tpq_thrift_put_field(&w, FMD_COLUMN_ORDERS, TPQ_THRIFT_LIST);
		tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, m->n_column_orders);
		for (size_t i = 0; i < m->n_column_orders; i++) {
			tpq_thrift_put_struct_begin(&w);
			tpq_thrift_put_field_empty_struct(&w, CO_TYPE_ORDER);
			tpq_thrift_put_struct_end(&w);
		}
	}
	tpq_thrift_put_struct_end(&w);
}

void tpq_meta_put_page_header(struct tpq_buf *out, const struct tpq_page_header *h)
{
	struct tpq_thrift_writer w;
	tpq_thrift_writer_init(&w, out);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, PH_TYPE, (int32_t)h->type);
	tpq_thrift_put_field_i32(&w, PH_UNCOMPRESSED_PAGE_SIZE, h->uncompressed_page_size);
	tpq_thrift_put_field_i32(&w, PH_COMPRESSED_PAGE_SIZE, h->compressed_page_size);
	if (h->has_crc)
		tpq_thrift_put_field_i32(&w, PH_CRC, h->crc);
	if (h->has_data_page_header) {
		const struct tpq_data_page_header *d = &h->data_page_header;
		tpq_thrift_put_field(&w, PH_DATA_PAGE_HEADER, TPQ_THRIFT_STRUCT);
		tpq_thrift_put_struct_begin(&w);
		tpq_thrift_put_field_i32(&w, DPH_NUM_VALUES, d->num_values);
		tpq_thrift_put_field_i32(&w, DPH_ENCODING, (int32_t)d->encoding);
		tpq_thrift_put_field_i32(&w, DPH_DEFINITION_LEVEL_ENCODING,
					 (int32_t)d->definition_level_encoding);
		tpq_thrift_put_field_i32(&w, DPH_REPETITION_LEVEL_ENCODING,
					 (int32_t)d->repetition_level_encoding);
		if (d->has_statistics)
			put_statistics(&w, DPH_STATISTICS, &d->statistics);
		tpq_thrift_put_struct_end(&w);
	}
	if (h->has_dictionary_page_header) {
		const struct tpq_dictionary_page_header *d = &h->dictionary_page_header;
		tpq_thrift_put_field(&w, PH_DICTIONARY_PAGE_HEADER, TPQ_THRIFT_STRUCT);
		tpq_thrift_put_struct_begin(&w);
		tpq_thrift_put_field_i32(&w, DICT_NUM_VALUES, d->num_values);
		tpq_thrift_put_field_i32(&w, DICT_ENCODING, (int32_t)d->encoding);
		if (d->has_is_sorted)
			tpq_thrift_put_field_bool(&w, DICT_IS_SORTED, d->is_sorted);
		tpq_thrift_put_struct_end(&w);
	}
	if (h->has_data_page_header_v2) {
		const struct tpq_data_page_header_v2 *d = &h->data_page_header_v2;
		tpq_thrift_put_field(&w, PH_DATA_PAGE_HEADER_V2, TPQ_THRIFT_STRUCT);
		tpq_thrift_put_struct_begin(&w);
		tpq_thrift_put_field_i32(&w, DPH2_NUM_VALUES, d->num_values);
		tpq_thrift_put_field_i32(&w, DPH2_NUM_NULLS, d->num_nulls);
		tpq_thrift_put_field_i32(&w, DPH2_NUM_ROWS, d->num_rows);
		tpq_thrift_put_field_i32(&w, DPH2_ENCODING, (int32_t)d->encoding);
		tpq_thrift_put_field_i32(&w, DPH2_DEFINITION_LEVELS_BYTE_LENGTH,
					 d->definition_levels_byte_length);
		tpq_thrift_put_field_i32(&w, DPH2_REPETITION_LEVELS_BYTE_LENGTH,
					 d->repetition_levels_byte_length);
		tpq_thrift_put_field_bool(&w, DPH2_IS_COMPRESSED, d->is_compressed);
		if (d->has_statistics)
			put_statistics(&w, DPH2_STATISTICS, &d->statistics);
		tpq_thrift_put_struct_end(&w);
	}
	tpq_thrift_put_struct_end(&w);
}

void tpq_meta_put_column_index(struct tpq_buf *out, const struct tpq_column_index *ci)
{
	struct tpq_thrift_writer w;
	tpq_thrift_writer_init(&w, out);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field(&w, CI_NULL_PAGES, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BOOL, ci->n_pages);
	for (size_t i = 0; i < ci->n_pages; i++)
		tpq_thrift_put_bool(&w, ci->null_pages[i]);
	tpq_thrift_put_field(&w, CI_MIN_VALUES, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BINARY, ci->n_pages);
	for (size_t i = 0; i < ci->n_pages; i++)
		tpq_thrift_put_binary(&w, ci->min_values[i], ci->min_lens[i]);
	tpq_thrift_put_field(&w, CI_MAX_VALUES, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_BINARY, ci->n_pages);
	for (size_t i = 0; i < ci->n_pages; i++)
		tpq_thrift_put_binary(&w, ci->max_values[i], ci->max_lens[i]);
	tpq_thrift_put_field_i32(&w, CI_BOUNDARY_ORDER, (int32_t)ci->boundary_order);
	if (ci->has_null_counts) {
		tpq_thrift_put_field(&w, CI_NULL_COUNTS, TPQ_THRIFT_LIST);
		tpq_thrift_put_list_begin(&w, TPQ_THRIFT_I64, ci->n_pages);
		for (size_t i = 0; i < ci->n_pages; i++)
			tpq_thrift_put_i64(&w, ci->null_counts[i]);
	}
	tpq_thrift_put_struct_end(&w);
}

void tpq_meta_put_offset_index(struct tpq_buf *out, const struct tpq_offset_index *oi)
{
	struct tpq_thrift_writer w;
	tpq_thrift_writer_init(&w, out);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field(&w, OI_PAGE_LOCATIONS, TPQ_THRIFT_LIST);
	tpq_thrift_put_list_begin(&w, TPQ_THRIFT_STRUCT, oi->n_pages);
	for (size_t i = 0; i < oi->n_pages; i++) {
		const struct tpq_page_location *pl = &oi->page_locations[i];
		tpq_thrift_put_struct_begin(&w);
		tpq_thrift_put_field_i64(&w, PL_OFFSET, pl->offset);
		tpq_thrift_put_field_i32(&w, PL_COMPRESSED_PAGE_SIZE, pl->compressed_page_size);
		tpq_thrift_put_field_i64(&w, PL_FIRST_ROW_INDEX, pl->first_row_index);
		tpq_thrift_put_struct_end(&w);
	}
	tpq_thrift_put_struct_end(&w);
}

/* A field holding a union whose one member is an empty struct. */
static void put_unit_union(struct tpq_thrift_writer *w, int16_t id, int16_t member)
{
	tpq_thrift_put_field(w, id, TPQ_THRIFT_STRUCT);
	tpq_thrift_put_struct_begin(w);
	tpq_thrift_put_field_empty_struct(w, member);
	tpq_thrift_put_struct_end(w);
}

void tpq_meta_put_bloom_filter_header(struct tpq_buf *out, const struct tpq_bloom_filter_header *h)
{
	struct tpq_thrift_writer w;
	tpq_thrift_writer_init(&w, out);
	tpq_thrift_put_struct_begin(&w);
	tpq_thrift_put_field_i32(&w, BFH_NUM_BYTES, h->num_bytes);
	put_unit_union(&w, BFH_ALGORITHM, BFA_BLOCK);
	put_unit_union(&w, BFH_HASH, BFHASH_XXHASH);
	put_unit_union(&w, BFH_COMPRESSION, BFC_UNCOMPRESSED);
	tpq_thrift_put_struct_end(&w);
}

/* ---- release ---- */

void tpq_statistics_release(struct tpq_statistics *s)
{
	if (!s)
		return;
	free(s->min_value);
	free(s->max_value);
	memset(s, 0, sizeof(*s));
}

static void column_meta_data_release(struct tpq_column_meta_data *c)
{
	free(c->encodings);
	if (c->path_in_schema) {
		for (size_t i = 0; i < c->n_path; i++)
			free(c->path_in_schema[i]);
	}
	free(c->path_in_schema);
	tpq_statistics_release(&c->statistics);
	free(c->encoding_stats);
	memset(c, 0, sizeof(*c));
}

static void row_group_release(struct tpq_row_group *rg)
{
	if (rg->columns) {
		for (size_t i = 0; i < rg->n_columns; i++)
			column_meta_data_release(&rg->columns[i].meta_data);
	}
	free(rg->columns);
	memset(rg, 0, sizeof(*rg));
}

void tpq_file_meta_data_release(struct tpq_file_meta_data *m)
{
	if (!m)
		return;
	if (m->schema) {
		for (size_t i = 0; i < m->n_schema; i++)
			free(m->schema[i].name);
	}
	free(m->schema);
	if (m->row_groups) {
		for (size_t i = 0; i < m->n_row_groups; i++)
			row_group_release(&m->row_groups[i]);
	}
	free(m->row_groups);
	if (m->kv) {
		for (size_t i = 0; i < m->n_kv; i++) {
			free(m->kv[i].key);
			free(m->kv[i].value);
		}
	}
	free(m->kv);
	free(m->created_by);
	memset(m, 0, sizeof(*m));
}

void tpq_page_header_release(struct tpq_page_header *h)
{
	if (!h)
		return;
	tpq_statistics_release(&h->data_page_header.statistics);
	tpq_statistics_release(&h->data_page_header_v2.statistics);
	memset(h, 0, sizeof(*h));
}

void tpq_column_index_release(struct tpq_column_index *ci)
{
	if (!ci)
		return;
	for (size_t i = 0; i < ci->n_pages; i++) {
		if (ci->min_values)
			free(ci->min_values[i]);
		if (ci->max_values)
			free(ci->max_values[i]);
	}
	free(ci->null_pages);
	free(ci->min_values);
	free(ci->min_lens);
	free(ci->max_values);
	free(ci->max_lens);
	free(ci->null_counts);
	memset(ci, 0, sizeof(*ci));
}

void tpq_offset_index_release(struct tpq_offset_index *oi)
{
	if (!oi)
		return;
	free(oi->page_locations);
	memset(oi, 0, sizeof(*oi));
}

/* ---- decoders ---- */

struct fdesc {
	int16_t id;
	uint8_t type;          /* enum tpq_thrift_type expected on the wire */
	bool required;
	const char *name;      /* as in parquet.thrift, for messages */
};

struct sdesc {
	const char *name;
	const struct fdesc *fields;
	size_t n;
	bool is_union;         /* at most one member may be present */
};

#define SDESC(sname, arr, u) {sname, arr, sizeof(arr) / sizeof(arr[0]), u}

/* Decodes the value of known field `id` (type already checked) into obj. */
typedef enum tpq_status (*field_fn)(struct tpq_thrift_reader *r, int16_t id, void *obj);

static enum tpq_status corrupt_at(struct tpq_thrift_reader *r, const char *what, const char *why)
{
	return tpq_thrift_fail(r, TPQ_ECORRUPT, "%s: %s", what, why);
}

static enum tpq_status get_struct(struct tpq_thrift_reader *r, const struct sdesc *d, field_fn fn,
				  void *obj)
{
	uint32_t seen = 0;
	unsigned members = 0;
	enum tpq_status st = tpq_thrift_get_struct_begin(r);
	while (st == TPQ_OK) {
		int16_t id = 0;
		enum tpq_thrift_type t = TPQ_THRIFT_STOP;
		if ((st = tpq_thrift_get_field(r, &id, &t)) != TPQ_OK || t == TPQ_THRIFT_STOP)
			break;
		if (d->is_union && ++members > 1) {
			st = corrupt_at(r, d->name, "union with more than one member");
			break;
		}
		const struct fdesc *f = NULL;
		for (size_t i = 0; i < d->n; i++) {
			if (d->fields[i].id == id)
				f = &d->fields[i];
		}
		if (!f) {
			st = tpq_thrift_skip(r, t);
			continue;
		}
		if (t != f->type) {
			st = tpq_thrift_fail(r, TPQ_ECORRUPT,
					     "%s.%s (field %d) has type %s, expected %s", d->name,
					     f->name, (int)id, tpq_thrift_type_name(t),
					     tpq_thrift_type_name((enum tpq_thrift_type)f->type));
			break;
		}
		if (seen & (1u << id)) {
			st = tpq_thrift_fail(r, TPQ_ECORRUPT, "%s.%s (field %d) appears twice",
					     d->name, f->name, (int)id);
			break;
		}
		seen |= 1u << id;
		st = fn(r, id, obj);
	}
	if (st != TPQ_OK)
		return st;
	if ((st = tpq_thrift_get_struct_end(r)) != TPQ_OK)
		return st;
	for (size_t i = 0; i < d->n; i++) {
		if (d->fields[i].required && !(seen & (1u << d->fields[i].id)))
			return tpq_thrift_fail(r, TPQ_ECORRUPT,
					       "%s: required field %s (%d) is missing", d->name,
					       d->fields[i].name, (int)d->fields[i].id);
	}
	return TPQ_OK;
}

/* A list header of elements `want`, and a zeroed array of its n elements
 * (never NULL on success, even for n = 0). */
static enum tpq_status get_list_alloc(struct tpq_thrift_reader *r, const char *what,
				      enum tpq_thrift_type want, size_t elem_size, void **arr,
				      size_t *n)
{
	enum tpq_thrift_type et = TPQ_THRIFT_STOP;
	enum tpq_status st = tpq_thrift_get_list_begin(r, &et, n);
	if (st != TPQ_OK)
		return st;
	if (et != want)
		return tpq_thrift_fail(r, TPQ_ECORRUPT, "%s: list of %s, expected %s", what,
				       tpq_thrift_type_name(et), tpq_thrift_type_name(want));
	*arr = calloc(*n ? *n : 1, elem_size);
	if (!*arr)
		return tpq_thrift_fail(r, TPQ_ENOMEM, "%s: cannot allocate %zu elements", what, *n);
	return TPQ_OK;
}

static enum tpq_status get_string(struct tpq_thrift_reader *r, const char *what, char **out)
{
	const uint8_t *p = NULL;
	size_t n = 0;
	enum tpq_status st = tpq_thrift_get_binary(r, &p, &n);
	if (st != TPQ_OK)
		return st;
	if (memchr(p, 0, n))
		return corrupt_at(r, what, "string contains a NUL byte");
	char *s = malloc(n + 1);
	if (!s)
		return tpq_thrift_fail(r, TPQ_ENOMEM, "%s: cannot allocate %zu bytes", what, n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	*out = s;
	return TPQ_OK;
}

static enum tpq_status get_bytes(struct tpq_thrift_reader *r, const char *what, uint8_t **out,
				 size_t *len)
{
	const uint8_t *p = NULL;
	size_t n = 0;
	enum tpq_status st = tpq_thrift_get_binary(r, &p, &n);
	if (st != TPQ_OK)
		return st;
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return tpq_thrift_fail(r, TPQ_ENOMEM, "%s: cannot allocate %zu bytes", what, n);
	if (n)
		memcpy(b, p, n);
	*out = b;
	*len = n;
	return TPQ_OK;
}

/* An i32 stored in an enum field (the raw wire value is kept). */
#define GET_ENUM(r, dst)                                                  \
	do {                                                              \
		int32_t v_ = 0;                                               \
		enum tpq_status st_ = tpq_thrift_get_i32((r), &v_);       \
		if (st_ != TPQ_OK)                                        \
			return st_;                                       \
		(dst) = v_;                                               \
	} while (0)

/* -- Statistics -- */

static const struct fdesc STATS_FIELDS[] = {
	{STATS_NULL_COUNT, TPQ_THRIFT_I64, false, "null_count"},
	{STATS_DISTINCT_COUNT, TPQ_THRIFT_I64, false, "distinct_count"},
	{STATS_MAX_VALUE, TPQ_THRIFT_BINARY, false, "max_value"},
	{STATS_MIN_VALUE, TPQ_THRIFT_BINARY, false, "min_value"},
	{STATS_IS_MAX_VALUE_EXACT, TPQ_THRIFT_BOOL, false, "is_max_value_exact"},
	{STATS_IS_MIN_VALUE_EXACT, TPQ_THRIFT_BOOL, false, "is_min_value_exact"},
};
static const struct sdesc STATS_DESC = SDESC("Statistics", STATS_FIELDS, false);

static enum tpq_status stats_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_statistics *s = obj;
	switch (id) {
	case STATS_NULL_COUNT:
		s->has_null_count = true;
		return tpq_thrift_get_i64(r, &s->null_count);
	case STATS_DISTINCT_COUNT:
		s->has_distinct_count = true;
		return tpq_thrift_get_i64(r, &s->distinct_count);
	case STATS_MAX_VALUE:
		s->has_max = true;
		return get_bytes(r, "Statistics.max_value", &s->max_value, &s->max_len);
	case STATS_MIN_VALUE:
		s->has_min = true;
		return get_bytes(r, "Statistics.min_value", &s->min_value, &s->min_len);
	case STATS_IS_MAX_VALUE_EXACT:
		s->has_is_max_exact = true;
		return tpq_thrift_get_bool(r, &s->is_max_exact);
	case STATS_IS_MIN_VALUE_EXACT:
		s->has_is_min_exact = true;
		return tpq_thrift_get_bool(r, &s->is_min_exact);
	}
	return TPQ_OK;
}

static enum tpq_status get_statistics(struct tpq_thrift_reader *r, struct tpq_statistics *s)
{
	return get_struct(r, &STATS_DESC, stats_field, s);
}

/* -- LogicalType -- */

static const struct fdesc TU_FIELDS[] = {
	{TU_MILLIS, TPQ_THRIFT_STRUCT, false, "MILLIS"},
	{TU_MICROS, TPQ_THRIFT_STRUCT, false, "MICROS"},
	{TU_NANOS, TPQ_THRIFT_STRUCT, false, "NANOS"},
};
static const struct sdesc TU_DESC = SDESC("TimeUnit", TU_FIELDS, true);

static enum tpq_status tu_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	*(enum tpq_time_unit *)obj = (enum tpq_time_unit)id;
	return tpq_thrift_skip(r, TPQ_THRIFT_STRUCT);
}

static const struct fdesc TS_FIELDS[] = {
	{TS_IS_ADJUSTED_TO_UTC, TPQ_THRIFT_BOOL, true, "isAdjustedToUTC"},
	{TS_UNIT, TPQ_THRIFT_STRUCT, true, "unit"},
};
static const struct sdesc TS_DESC = SDESC("TimestampType", TS_FIELDS, false);

static enum tpq_status ts_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_logical_type *lt = obj;
	if (id == TS_IS_ADJUSTED_TO_UTC)
		return tpq_thrift_get_bool(r, &lt->ts_utc);
	return get_struct(r, &TU_DESC, tu_field, &lt->ts_unit);
}

static const struct fdesc INT_FIELDS[] = {
	{INT_BIT_WIDTH, TPQ_THRIFT_I8, true, "bitWidth"},
	{INT_IS_SIGNED, TPQ_THRIFT_BOOL, true, "isSigned"},
};
static const struct sdesc INT_DESC = SDESC("IntType", INT_FIELDS, false);

static enum tpq_status int_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_logical_type *lt = obj;
	if (id == INT_BIT_WIDTH)
		return tpq_thrift_get_i8(r, &lt->int_bits);
	return tpq_thrift_get_bool(r, &lt->int_signed);
}

static const struct fdesc LT_FIELDS[] = {
	{LT_STRING, TPQ_THRIFT_STRUCT, false, "STRING"},
	{LT_MAP, TPQ_THRIFT_STRUCT, false, "MAP"},
	{LT_LIST, TPQ_THRIFT_STRUCT, false, "LIST"},
	{LT_TIMESTAMP, TPQ_THRIFT_STRUCT, false, "TIMESTAMP"},
	{LT_INTEGER, TPQ_THRIFT_STRUCT, false, "INTEGER"},
	{LT_JSON, TPQ_THRIFT_STRUCT, false, "JSON"},
};
static const struct sdesc LT_DESC = SDESC("LogicalType", LT_FIELDS, true);

static enum tpq_status lt_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_logical_type *lt = obj;
	enum tpq_status st;
	switch (id) {
	case LT_TIMESTAMP:
		st = get_struct(r, &TS_DESC, ts_field, lt);
		if (st == TPQ_OK && lt->ts_unit >= TPQ_UNIT_MILLIS && lt->ts_unit <= TPQ_UNIT_NANOS)
			lt->kind = TPQ_LT_TIMESTAMP;
		else
			memset(lt, 0, sizeof(*lt)); /* a unit we do not know: no logical type */
		return st;
	case LT_INTEGER:
		st = get_struct(r, &INT_DESC, int_field, lt);
		lt->kind = TPQ_LT_INTEGER;
		return st;
	default:
		/* STRING, MAP, LIST, JSON: empty structs (possibly with fields we skip) */
		lt->kind = (enum tpq_logical_kind)id;
		return tpq_thrift_skip(r, TPQ_THRIFT_STRUCT);
	}
}

/* -- SchemaElement -- */

static const struct fdesc SE_FIELDS[] = {
	{SE_TYPE, TPQ_THRIFT_I32, false, "type"},
	{SE_REPETITION_TYPE, TPQ_THRIFT_I32, false, "repetition_type"},
	{SE_NAME, TPQ_THRIFT_BINARY, true, "name"},
	{SE_NUM_CHILDREN, TPQ_THRIFT_I32, false, "num_children"},
	{SE_CONVERTED_TYPE, TPQ_THRIFT_I32, false, "converted_type"},
	{SE_FIELD_ID, TPQ_THRIFT_I32, false, "field_id"},
	{SE_LOGICAL_TYPE, TPQ_THRIFT_STRUCT, false, "logicalType"},
};
static const struct sdesc SE_DESC = SDESC("SchemaElement", SE_FIELDS, false);

static enum tpq_status se_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_schema_element *se = obj;
	switch (id) {
	case SE_TYPE:
		se->has_type = true;
		GET_ENUM(r, se->type);
		return TPQ_OK;
	case SE_REPETITION_TYPE:
		se->has_repetition = true;
		GET_ENUM(r, se->repetition);
		return TPQ_OK;
	case SE_NAME:
		return get_string(r, "SchemaElement.name", &se->name);
	case SE_NUM_CHILDREN:
		return tpq_thrift_get_i32(r, &se->num_children);
	case SE_CONVERTED_TYPE:
		GET_ENUM(r, se->converted);
		return TPQ_OK;
	case SE_FIELD_ID:
		se->has_field_id = true;
		return tpq_thrift_get_i32(r, &se->field_id);
	case SE_LOGICAL_TYPE:
		return get_struct(r, &LT_DESC, lt_field, &se->logical);
	}
	return TPQ_OK;
}

/* -- KeyValue -- */

static const struct fdesc KV_FIELDS[] = {
	{KV_KEY, TPQ_THRIFT_BINARY, true, "key"},
	{KV_VALUE, TPQ_THRIFT_BINARY, false, "value"},
};
static const struct sdesc KV_DESC = SDESC("KeyValue", KV_FIELDS, false);

static enum tpq_status kv_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_key_value *kv = obj;
	if (id == KV_KEY)
		return get_string(r, "KeyValue.key", &kv->key);
	return get_string(r, "KeyValue.value", &kv->value);
}

/* -- PageEncodingStats -- */

static const struct fdesc PES_FIELDS[] = {
	{PES_PAGE_TYPE, TPQ_THRIFT_I32, true, "page_type"},
	{PES_ENCODING, TPQ_THRIFT_I32, true, "encoding"},
	{PES_COUNT, TPQ_THRIFT_I32, true, "count"},
};
static const struct sdesc PES_DESC = SDESC("PageEncodingStats", PES_FIELDS, false);

static enum tpq_status pes_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_page_encoding_stats *e = obj;
	switch (id) {
	case PES_PAGE_TYPE:
		GET_ENUM(r, e->page_type);
		return TPQ_OK;
	case PES_ENCODING:
		GET_ENUM(r, e->encoding);
		return TPQ_OK;
	}
	return tpq_thrift_get_i32(r, &e->count);
}

/* -- ColumnMetaData -- */

static const struct fdesc CMD_FIELDS[] = {
	{CMD_TYPE, TPQ_THRIFT_I32, true, "type"},
	{CMD_ENCODINGS, TPQ_THRIFT_LIST, true, "encodings"},
	{CMD_PATH_IN_SCHEMA, TPQ_THRIFT_LIST, true, "path_in_schema"},
	{CMD_CODEC, TPQ_THRIFT_I32, true, "codec"},
	{CMD_NUM_VALUES, TPQ_THRIFT_I64, true, "num_values"},
	{CMD_TOTAL_UNCOMPRESSED_SIZE, TPQ_THRIFT_I64, true, "total_uncompressed_size"},
	{CMD_TOTAL_COMPRESSED_SIZE, TPQ_THRIFT_I64, true, "total_compressed_size"},
	{CMD_DATA_PAGE_OFFSET, TPQ_THRIFT_I64, true, "data_page_offset"},
	{CMD_DICTIONARY_PAGE_OFFSET, TPQ_THRIFT_I64, false, "dictionary_page_offset"},
	{CMD_STATISTICS, TPQ_THRIFT_STRUCT, false, "statistics"},
	{CMD_ENCODING_STATS, TPQ_THRIFT_LIST, false, "encoding_stats"},
	{CMD_BLOOM_FILTER_OFFSET, TPQ_THRIFT_I64, false, "bloom_filter_offset"},
	{CMD_BLOOM_FILTER_LENGTH, TPQ_THRIFT_I32, false, "bloom_filter_length"},
};
static const struct sdesc CMD_DESC = SDESC("ColumnMetaData", CMD_FIELDS, false);

static enum tpq_status cmd_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_column_meta_data *c = obj;
	enum tpq_status st;
	void *arr = NULL;
	size_t n = 0;
	switch (id) {
	case CMD_TYPE:
		GET_ENUM(r, c->type);
		return TPQ_OK;
	case CMD_ENCODINGS:
		st = get_list_alloc(r, "ColumnMetaData.encodings", TPQ_THRIFT_I32,
				    sizeof(*c->encodings), &arr, &n);
		if (st != TPQ_OK)
			return st;
		c->encodings = arr;
		c->n_encodings = n;
		for (size_t i = 0; i < n; i++)
			GET_ENUM(r, c->encodings[i]);
		return TPQ_OK;
	case CMD_PATH_IN_SCHEMA:
		st = get_list_alloc(r, "ColumnMetaData.path_in_schema", TPQ_THRIFT_BINARY,
				    sizeof(*c->path_in_schema), &arr, &n);
		if (st != TPQ_OK)
			return st;
		c->path_in_schema = arr;
		c->n_path = n;
		for (size_t i = 0; i < n && st == TPQ_OK; i++)
			st = get_string(r, "ColumnMetaData.path_in_schema", &c->path_in_schema[i]);
		return st;
	case CMD_CODEC:
		return tpq_thrift_get_i32(r, &c->codec);
	case CMD_NUM_VALUES:
		return tpq_thrift_get_i64(r, &c->num_values);
	case CMD_TOTAL_UNCOMPRESSED_SIZE:
		return tpq_thrift_get_i64(r, &c->total_uncompressed_size);
	case CMD_TOTAL_COMPRESSED_SIZE:
		return tpq_thrift_get_i64(r, &c->total_compressed_size);
	case CMD_DATA_PAGE_OFFSET:
		return tpq_thrift_get_i64(r, &c->data_page_offset);
	case CMD_DICTIONARY_PAGE_OFFSET:
		c->has_dictionary_page_offset = true;
		return tpq_thrift_get_i64(r, &c->dictionary_page_offset);
	case CMD_STATISTICS:
		c->has_statistics = true;
		return get_statistics(r, &c->statistics);
	case CMD_ENCODING_STATS:
		st = get_list_alloc(r, "ColumnMetaData.encoding_stats", TPQ_THRIFT_STRUCT,
				    sizeof(*c->encoding_stats), &arr, &n);
		if (st != TPQ_OK)
			return st;
		c->encoding_stats = arr;
		c->n_encoding_stats = n;
		for (size_t i = 0; i < n && st == TPQ_OK; i++)
			st = get_struct(r, &PES_DESC, pes_field, &c->encoding_stats[i]);
		return st;
	case CMD_BLOOM_FILTER_OFFSET:
		c->has_bloom_filter_offset = true;
		return tpq_thrift_get_i64(r, &c->bloom_filter_offset);
	case CMD_BLOOM_FILTER_LENGTH:
		c->has_bloom_filter_length = true;
		return tpq_thrift_get_i32(r, &c->bloom_filter_length);
	}
	return TPQ_OK;
}

/* -- ColumnChunk -- */

static const struct fdesc CC_FIELDS[] = {
	{CC_FILE_OFFSET, TPQ_THRIFT_I64, true, "file_offset"},
	{CC_META_DATA, TPQ_THRIFT_STRUCT, false, "meta_data"},
	{CC_OFFSET_INDEX_OFFSET, TPQ_THRIFT_I64, false, "offset_index_offset"},
	{CC_OFFSET_INDEX_LENGTH, TPQ_THRIFT_I32, false, "offset_index_length"},
	{CC_COLUMN_INDEX_OFFSET, TPQ_THRIFT_I64, false, "column_index_offset"},
	{CC_COLUMN_INDEX_LENGTH, TPQ_THRIFT_I32, false, "column_index_length"},
};
static const struct sdesc CC_DESC = SDESC("ColumnChunk", CC_FIELDS, false);

static enum tpq_status cc_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_column_chunk *cc = obj;
	switch (id) {
	case CC_FILE_OFFSET:
		return tpq_thrift_get_i64(r, &cc->file_offset);
	case CC_META_DATA:
		cc->has_meta_data = true;
		return get_struct(r, &CMD_DESC, cmd_field, &cc->meta_data);
	case CC_OFFSET_INDEX_OFFSET:
		cc->has_offset_index = true;
		return tpq_thrift_get_i64(r, &cc->offset_index_offset);
	case CC_OFFSET_INDEX_LENGTH:
		cc->has_offset_index = true;
		return tpq_thrift_get_i32(r, &cc->offset_index_length);
	case CC_COLUMN_INDEX_OFFSET:
		cc->has_column_index = true;
		return tpq_thrift_get_i64(r, &cc->column_index_offset);
	case CC_COLUMN_INDEX_LENGTH:
		cc->has_column_index = true;
		return tpq_thrift_get_i32(r, &cc->column_index_length);
	}
	return TPQ_OK;
}

/* -- RowGroup -- */

static const struct fdesc RG_FIELDS[] = {
	{RG_COLUMNS, TPQ_THRIFT_LIST, true, "columns"},
	{RG_TOTAL_BYTE_SIZE, TPQ_THRIFT_I64, true, "total_byte_size"},
	{RG_NUM_ROWS, TPQ_THRIFT_I64, true, "num_rows"},
	{RG_FILE_OFFSET, TPQ_THRIFT_I64, false, "file_offset"},
	{RG_TOTAL_COMPRESSED_SIZE, TPQ_THRIFT_I64, false, "total_compressed_size"},
	{RG_ORDINAL, TPQ_THRIFT_I16, false, "ordinal"},
};
static const struct sdesc RG_DESC = SDESC("RowGroup", RG_FIELDS, false);

static enum tpq_status rg_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_row_group *rg = obj;
	enum tpq_status st;
	void *arr = NULL;
	size_t n = 0;
	switch (id) {
	case RG_COLUMNS:
		st = get_list_alloc(r, "RowGroup.columns", TPQ_THRIFT_STRUCT, sizeof(*rg->columns),
				    &arr, &n);
		if (st != TPQ_OK)
			return st;
		rg->columns = arr;
		rg->n_columns = n;
		for (size_t i = 0; i < n && st == TPQ_OK; i++)
			st = get_struct(r, &CC_DESC, cc_field, &rg->columns[i]);
		return st;
	case RG_TOTAL_BYTE_SIZE:
		return tpq_thrift_get_i64(r, &rg->total_byte_size);
	case RG_NUM_ROWS:
		return tpq_thrift_get_i64(r, &rg->num_rows);
	case RG_FILE_OFFSET:
		rg->has_file_offset = true;
		return tpq_thrift_get_i64(r, &rg->file_offset);
	case RG_TOTAL_COMPRESSED_SIZE:
		rg->has_total_compressed_size = true;
		return tpq_thrift_get_i64(r, &rg->total_compressed_size);
	case RG_ORDINAL:
		rg->has_ordinal = true;
		return tpq_thrift_get_i16(r, &rg->ordinal);
	}
	return TPQ_OK;
}

/* -- ColumnOrder -- */

static const struct fdesc CO_FIELDS[] = {
	{CO_TYPE_ORDER, TPQ_THRIFT_STRUCT, false, "TYPE_ORDER"},
};
static const struct sdesc CO_DESC = SDESC("ColumnOrder", CO_FIELDS, true);

static enum tpq_status co_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	*(bool *)obj = true;
	return tpq_thrift_skip(r, TPQ_THRIFT_STRUCT);
}

/* -- FileMetaData -- */

static const struct fdesc FMD_FIELDS[] = {
	{FMD_VERSION, TPQ_THRIFT_I32, true, "version"},
	{FMD_SCHEMA, TPQ_THRIFT_LIST, true, "schema"},
	{FMD_NUM_ROWS, TPQ_THRIFT_I64, true, "num_rows"},
	{FMD_ROW_GROUPS, TPQ_THRIFT_LIST, true, "row_groups"},
	{FMD_KEY_VALUE_METADATA, TPQ_THRIFT_LIST, false, "key_value_metadata"},
	{FMD_CREATED_BY, TPQ_THRIFT_BINARY, false, "created_by"},
	{FMD_COLUMN_ORDERS, TPQ_THRIFT_LIST, false, "column_orders"},
};
static const struct sdesc FMD_DESC = SDESC("FileMetaData", FMD_FIELDS, false);

static enum tpq_status fmd_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_file_meta_data *m = obj;
	enum tpq_status st = TPQ_OK;
	void *arr = NULL;
	size_t n = 0;
	switch (id) {
	case FMD_VERSION:
		return tpq_thrift_get_i32(r, &m->version);
	case FMD_SCHEMA:
		st = get_list_alloc(r, "FileMetaData.schema", TPQ_THRIFT_STRUCT, sizeof(*m->schema),
				    &arr, &n);
		if (st != TPQ_OK)
			return st;
		m->schema = arr;
		m->n_schema = n;
		for (size_t i = 0; i < n && st == TPQ_OK; i++) {
			m->schema[i].converted = TPQ_CT_NONE;
			st = get_struct(r, &SE_DESC, se_field, &m->schema[i]);
		}
		return st;
	case FMD_NUM_ROWS:
		return tpq_thrift_get_i64(r, &m->num_rows);
	case FMD_ROW_GROUPS:
		st = get_list_alloc(r, "FileMetaData.row_groups", TPQ_THRIFT_STRUCT,
				    sizeof(*m->row_groups), &arr, &n);
		if (st != TPQ_OK)
			return st;
		m->row_groups = arr;
		m->n_row_groups = n;
		for (size_t i = 0; i < n && st == TPQ_OK; i++)
			st = get_struct(r, &RG_DESC, rg_field, &m->row_groups[i]);
		return st;
	case FMD_KEY_VALUE_METADATA:
		st = get_list_alloc(r, "FileMetaData.key_value_metadata", TPQ_THRIFT_STRUCT,
				    sizeof(*m->kv), &arr, &n);
		if (st != TPQ_OK)
			return st;
		m->kv = arr;
		m->n_kv = n;
		for (size_t i = 0; i < n && st == TPQ_OK; i++)
			st = get_struct(r, &KV_DESC, kv_field, &m->kv[i]);
		return st;
	case FMD_CREATED_BY:
		return get_string(r, "FileMetaData.created_by", &m->created_by);
	case FMD_COLUMN_ORDERS: {
		enum tpq_thrift_type et = TPQ_THRIFT_STOP;
		bool all_type_order = true;
		st = tpq_thrift_get_list_begin(r, &et, &n);
		if (st == TPQ_OK && et != TPQ_THRIFT_STRUCT)
			st = corrupt_at(r, "FileMetaData.column_orders", "not a list of structs");
		for (size_t i = 0; i < n && st == TPQ_OK; i++) {
			bool type_order = false;
			st = get_struct(r, &CO_DESC, co_field, &type_order);
			all_type_order = all_type_order && type_order;
		}
		/* Orders other than TYPE_ORDER cannot be represented: report none. */
		m->n_column_orders = all_type_order ? n : 0;
		return st;
	}
	}
	return TPQ_OK;
}

/* -- PageHeader -- */

static const struct fdesc DPH_FIELDS[] = {
	{DPH_NUM_VALUES, TPQ_THRIFT_I32, true, "num_values"},
	{DPH_ENCODING, TPQ_THRIFT_I32, true, "encoding"},
	{DPH_DEFINITION_LEVEL_ENCODING, TPQ_THRIFT_I32, true, "definition_level_encoding"},
	{DPH_REPETITION_LEVEL_ENCODING, TPQ_THRIFT_I32, true, "repetition_level_encoding"},
	{DPH_STATISTICS, TPQ_THRIFT_STRUCT, false, "statistics"},
};
static const struct sdesc DPH_DESC = SDESC("DataPageHeader", DPH_FIELDS, false);

static enum tpq_status dph_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_data_page_header *d = obj;
	switch (id) {
	case DPH_NUM_VALUES:
		return tpq_thrift_get_i32(r, &d->num_values);
	case DPH_ENCODING:
		GET_ENUM(r, d->encoding);
		return TPQ_OK;
	case DPH_DEFINITION_LEVEL_ENCODING:
		GET_ENUM(r, d->definition_level_encoding);
		return TPQ_OK;
	case DPH_REPETITION_LEVEL_ENCODING:
		GET_ENUM(r, d->repetition_level_encoding);
		return TPQ_OK;
	}
	d->has_statistics = true;
	return get_statistics(r, &d->statistics);
}

static const struct fdesc DICT_FIELDS[] = {
	{DICT_NUM_VALUES, TPQ_THRIFT_I32, true, "num_values"},
	{DICT_ENCODING, TPQ_THRIFT_I32, true, "encoding"},
	{DICT_IS_SORTED, TPQ_THRIFT_BOOL, false, "is_sorted"},
};
static const struct sdesc DICT_DESC = SDESC("DictionaryPageHeader", DICT_FIELDS, false);

static enum tpq_status dict_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_dictionary_page_header *d = obj;
	switch (id) {
	case DICT_NUM_VALUES:
		return tpq_thrift_get_i32(r, &d->num_values);
	case DICT_ENCODING:
		GET_ENUM(r, d->encoding);
		return TPQ_OK;
	}
	d->has_is_sorted = true;
	return tpq_thrift_get_bool(r, &d->is_sorted);
}

static const struct fdesc DPH2_FIELDS[] = {
	{DPH2_NUM_VALUES, TPQ_THRIFT_I32, true, "num_values"},
	{DPH2_NUM_NULLS, TPQ_THRIFT_I32, true, "num_nulls"},
	{DPH2_NUM_ROWS, TPQ_THRIFT_I32, true, "num_rows"},
	{DPH2_ENCODING, TPQ_THRIFT_I32, true, "encoding"},
	{DPH2_DEFINITION_LEVELS_BYTE_LENGTH, TPQ_THRIFT_I32, true, "definition_levels_byte_length"},
	{DPH2_REPETITION_LEVELS_BYTE_LENGTH, TPQ_THRIFT_I32, true, "repetition_levels_byte_length"},
	{DPH2_IS_COMPRESSED, TPQ_THRIFT_BOOL, false, "is_compressed"},
	{DPH2_STATISTICS, TPQ_THRIFT_STRUCT, false, "statistics"},
};
static const struct sdesc DPH2_DESC = SDESC("DataPageHeaderV2", DPH2_FIELDS, false);

static enum tpq_status dph2_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_data_page_header_v2 *d = obj;
	switch (id) {
	case DPH2_NUM_VALUES:
		return tpq_thrift_get_i32(r, &d->num_values);
	case DPH2_NUM_NULLS:
		return tpq_thrift_get_i32(r, &d->num_nulls);
	case DPH2_NUM_ROWS:
		return tpq_thrift_get_i32(r, &d->num_rows);
	case DPH2_ENCODING:
		GET_ENUM(r, d->encoding);
		return TPQ_OK;
	case DPH2_DEFINITION_LEVELS_BYTE_LENGTH:
		return tpq_thrift_get_i32(r, &d->definition_levels_byte_length);
	case DPH2_REPETITION_LEVELS_BYTE_LENGTH:
		return tpq_thrift_get_i32(r, &d->repetition_levels_byte_length);
	case DPH2_IS_COMPRESSED:
		return tpq_thrift_get_bool(r, &d->is_compressed);
	}
	d->has_statistics = true;
	return get_statistics(r, &d->statistics);
}

static const struct fdesc PH_FIELDS[] = {
	{PH_TYPE, TPQ_THRIFT_I32, true, "type"},
	{PH_UNCOMPRESSED_PAGE_SIZE, TPQ_THRIFT_I32, true, "uncompressed_page_size"},
	{PH_COMPRESSED_PAGE_SIZE, TPQ_THRIFT_I32, true, "compressed_page_size"},
	{PH_CRC, TPQ_THRIFT_I32, false, "crc"},
	{PH_DATA_PAGE_HEADER, TPQ_THRIFT_STRUCT, false, "data_page_header"},
	{PH_DICTIONARY_PAGE_HEADER, TPQ_THRIFT_STRUCT, false, "dictionary_page_header"},
	{PH_DATA_PAGE_HEADER_V2, TPQ_THRIFT_STRUCT, false, "data_page_header_v2"},
};
static const struct sdesc PH_DESC = SDESC("PageHeader", PH_FIELDS, false);

static enum tpq_status ph_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_page_header *h = obj;
	switch (id) {
	case PH_TYPE:
		GET_ENUM(r, h->type);
		return TPQ_OK;
	case PH_UNCOMPRESSED_PAGE_SIZE:
		return tpq_thrift_get_i32(r, &h->uncompressed_page_size);
	case PH_COMPRESSED_PAGE_SIZE:
		return tpq_thrift_get_i32(r, &h->compressed_page_size);
	case PH_CRC:
		h->has_crc = true;
		return tpq_thrift_get_i32(r, &h->crc);
	case PH_DATA_PAGE_HEADER:
		h->has_data_page_header = true;
		return get_struct(r, &DPH_DESC, dph_field, &h->data_page_header);
	case PH_DICTIONARY_PAGE_HEADER:
		h->has_dictionary_page_header = true;
		return get_struct(r, &DICT_DESC, dict_field, &h->dictionary_page_header);
	case PH_DATA_PAGE_HEADER_V2:
		h->has_data_page_header_v2 = true;
		h->data_page_header_v2.is_compressed = true; /* the default when absent */
		return get_struct(r, &DPH2_DESC, dph2_field, &h->data_page_header_v2);
	}
	return TPQ_OK;
}

/* -- ColumnIndex -- */

struct ci_ctx {
	struct tpq_column_index *ci;
	bool have_n;           /* ci->n_pages was set by the first list read */
};

static const struct fdesc CI_FIELDS[] = {
	{CI_NULL_PAGES, TPQ_THRIFT_LIST, true, "null_pages"},
	{CI_MIN_VALUES, TPQ_THRIFT_LIST, true, "min_values"},
	{CI_MAX_VALUES, TPQ_THRIFT_LIST, true, "max_values"},
	{CI_BOUNDARY_ORDER, TPQ_THRIFT_I32, true, "boundary_order"},
	{CI_NULL_COUNTS, TPQ_THRIFT_LIST, false, "null_counts"},
};
static const struct sdesc CI_DESC = SDESC("ColumnIndex", CI_FIELDS, false);

/* Every per-page list must have the same length; the first fixes it. Called
 * before anything is allocated for the new list, so release stays exact. */
static enum tpq_status ci_pages(struct tpq_thrift_reader *r, struct ci_ctx *x, const char *what,
				size_t n)
{
	if (x->have_n && n != x->ci->n_pages)
		return tpq_thrift_fail(r, TPQ_ECORRUPT,
				       "ColumnIndex.%s has %zu entries, expected %zu", what, n,
				       x->ci->n_pages);
	x->have_n = true;
	x->ci->n_pages = n;
	return TPQ_OK;
}

static enum tpq_status ci_binaries(struct tpq_thrift_reader *r, struct ci_ctx *x, const char *what,
				   uint8_t ***vals, size_t **lens)
{
	enum tpq_thrift_type et = TPQ_THRIFT_STOP;
	size_t n = 0;
	enum tpq_status st = tpq_thrift_get_list_begin(r, &et, &n);
	if (st == TPQ_OK && et != TPQ_THRIFT_BINARY)
		st = tpq_thrift_fail(r, TPQ_ECORRUPT, "ColumnIndex.%s: list of %s, expected binary",
				     what, tpq_thrift_type_name(et));
	if (st == TPQ_OK)
		st = ci_pages(r, x, what, n);
	if (st != TPQ_OK)
		return st;
	*vals = calloc(n ? n : 1, sizeof(**vals));
	*lens = calloc(n ? n : 1, sizeof(**lens));
	if (!*vals || !*lens)
		return tpq_thrift_fail(r, TPQ_ENOMEM, "ColumnIndex.%s: cannot allocate %zu entries",
				       what, n);
	for (size_t i = 0; i < n && st == TPQ_OK; i++)
		st = get_bytes(r, "ColumnIndex values", &(*vals)[i], &(*lens)[i]);
	return st;
}

static enum tpq_status ci_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct ci_ctx *x = obj;
	struct tpq_column_index *ci = x->ci;
	enum tpq_thrift_type et = TPQ_THRIFT_STOP;
	enum tpq_status st;
	size_t n = 0;
	switch (id) {
	case CI_NULL_PAGES:
		st = tpq_thrift_get_list_begin(r, &et, &n);
		if (st == TPQ_OK && et != TPQ_THRIFT_BOOL)
			st = corrupt_at(r, "ColumnIndex.null_pages", "not a list of bool");
		if (st == TPQ_OK)
			st = ci_pages(r, x, "null_pages", n);
		if (st != TPQ_OK)
			return st;
		ci->null_pages = calloc(n ? n : 1, sizeof(*ci->null_pages));
		if (!ci->null_pages)
			return tpq_thrift_fail(r, TPQ_ENOMEM,
					       "ColumnIndex.null_pages: cannot allocate");
		for (size_t i = 0; i < n && st == TPQ_OK; i++)
			st = tpq_thrift_get_bool(r, &ci->null_pages[i]);
		return st;
	case CI_MIN_VALUES:
		return ci_binaries(r, x, "min_values", &ci->min_values, &ci->min_lens);
	case CI_MAX_VALUES:
		return ci_binaries(r, x, "max_values", &ci->max_values, &ci->max_lens);
	case CI_BOUNDARY_ORDER:
		GET_ENUM(r, ci->boundary_order);
		return TPQ_OK;
	case CI_NULL_COUNTS:
		st = tpq_thrift_get_list_begin(r, &et, &n);
		if (st == TPQ_OK && et != TPQ_THRIFT_I64)
			st = corrupt_at(r, "ColumnIndex.null_counts", "not a list of i64");
		if (st == TPQ_OK)
			st = ci_pages(r, x, "null_counts", n);
		if (st != TPQ_OK)
			return st;
		ci->has_null_counts = true;
		ci->null_counts = calloc(n ? n : 1, sizeof(*ci->null_counts));
		if (!ci->null_counts)
			return tpq_thrift_fail(r, TPQ_ENOMEM,
					       "ColumnIndex.null_counts: cannot allocate");
		for (size_t i = 0; i < n && st == TPQ_OK; i++)
			st = tpq_thrift_get_i64(r, &ci->null_counts[i]);
		return st;
	}
	return TPQ_OK;
}

/* -- OffsetIndex -- */

static const struct fdesc PL_FIELDS[] = {
	{PL_OFFSET, TPQ_THRIFT_I64, true, "offset"},
	{PL_COMPRESSED_PAGE_SIZE, TPQ_THRIFT_I32, true, "compressed_page_size"},
	{PL_FIRST_ROW_INDEX, TPQ_THRIFT_I64, true, "first_row_index"},
};
static const struct sdesc PL_DESC = SDESC("PageLocation", PL_FIELDS, false);

static enum tpq_status pl_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_page_location *pl = obj;
	switch (id) {
	case PL_OFFSET:
		return tpq_thrift_get_i64(r, &pl->offset);
	case PL_COMPRESSED_PAGE_SIZE:
		return tpq_thrift_get_i32(r, &pl->compressed_page_size);
	}
	return tpq_thrift_get_i64(r, &pl->first_row_index);
}

static const struct fdesc OI_FIELDS[] = {
	{OI_PAGE_LOCATIONS, TPQ_THRIFT_LIST, true, "page_locations"},
};
static const struct sdesc OI_DESC = SDESC("OffsetIndex", OI_FIELDS, false);

static enum tpq_status oi_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct tpq_offset_index *oi = obj;
	void *arr = NULL;
	size_t n = 0;
	enum tpq_status st = get_list_alloc(r, "OffsetIndex.page_locations", TPQ_THRIFT_STRUCT,
					    sizeof(*oi->page_locations), &arr, &n);
	if (st != TPQ_OK)
		return st;
	oi->page_locations = arr;
	oi->n_pages = n;
	for (size_t i = 0; i < n && st == TPQ_OK; i++)
		st = get_struct(r, &PL_DESC, pl_field, &oi->page_locations[i]);
	return st;
}

/* -- BloomFilterHeader -- */

struct bfh_ctx {
	struct tpq_bloom_filter_header *h;
	bool block, xxhash, uncompressed;
};

static const struct fdesc BFA_FIELDS[] = {{BFA_BLOCK, TPQ_THRIFT_STRUCT, false, "BLOCK"}};
static const struct sdesc BFA_DESC = SDESC("BloomFilterAlgorithm", BFA_FIELDS, true);
static const struct fdesc BFHASH_FIELDS[] = {{BFHASH_XXHASH, TPQ_THRIFT_STRUCT, false, "XXHASH"}};
static const struct sdesc BFHASH_DESC = SDESC("BloomFilterHash", BFHASH_FIELDS, true);
static const struct fdesc BFC_FIELDS[] = {
	{BFC_UNCOMPRESSED, TPQ_THRIFT_STRUCT, false, "UNCOMPRESSED"},
};
static const struct sdesc BFC_DESC = SDESC("BloomFilterCompression", BFC_FIELDS, true);

/* Each union has one member we know (id 1, an empty struct): mark it seen. */
static enum tpq_status flag_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	*(bool *)obj = true;
	return tpq_thrift_skip(r, TPQ_THRIFT_STRUCT);
}

static const struct fdesc BFH_FIELDS[] = {
	{BFH_NUM_BYTES, TPQ_THRIFT_I32, true, "numBytes"},
	{BFH_ALGORITHM, TPQ_THRIFT_STRUCT, true, "algorithm"},
	{BFH_HASH, TPQ_THRIFT_STRUCT, true, "hash"},
	{BFH_COMPRESSION, TPQ_THRIFT_STRUCT, true, "compression"},
};
static const struct sdesc BFH_DESC = SDESC("BloomFilterHeader", BFH_FIELDS, false);

static enum tpq_status bfh_field(struct tpq_thrift_reader *r, int16_t id, void *obj)
{
	struct bfh_ctx *x = obj;
	switch (id) {
	case BFH_NUM_BYTES:
		return tpq_thrift_get_i32(r, &x->h->num_bytes);
	case BFH_ALGORITHM:
		return get_struct(r, &BFA_DESC, flag_field, &x->block);
	case BFH_HASH:
		return get_struct(r, &BFHASH_DESC, flag_field, &x->xxhash);
	}
	return get_struct(r, &BFC_DESC, flag_field, &x->uncompressed);
}

/* ---- public decoders ---- */

static void set_used(size_t *used, const struct tpq_thrift_reader *r, enum tpq_status st)
{
	if (used)
		*used = st == TPQ_OK ? tpq_thrift_offset(r) : 0;
}

enum tpq_status tpq_meta_get_file_meta_data(const uint8_t *p, size_t len, size_t *used,
					    struct tpq_file_meta_data *m, struct tpq_error *err)
{
	struct tpq_thrift_reader r;
	memset(m, 0, sizeof(*m));
	tpq_thrift_reader_init(&r, p, len, err);
	enum tpq_status st = get_struct(&r, &FMD_DESC, fmd_field, m);
	if (st != TPQ_OK)
		tpq_file_meta_data_release(m);
	set_used(used, &r, st);
	return st;
}

enum tpq_status tpq_meta_get_page_header(const uint8_t *p, size_t len, size_t *used,
					 struct tpq_page_header *h, struct tpq_error *err)
{
	struct tpq_thrift_reader r;
	memset(h, 0, sizeof(*h));
	tpq_thrift_reader_init(&r, p, len, err);
	enum tpq_status st = get_struct(&r, &PH_DESC, ph_field, h);
	if (st != TPQ_OK)
		tpq_page_header_release(h);
	set_used(used, &r, st);
	return st;
}

enum tpq_status tpq_meta_get_column_index(const uint8_t *p, size_t len, size_t *used,
					  struct tpq_column_index *ci, struct tpq_error *err)
{
	struct tpq_thrift_reader r;
	struct ci_ctx x = {ci, false};
	memset(ci, 0, sizeof(*ci));
	tpq_thrift_reader_init(&r, p, len, err);
	enum tpq_status st = get_struct(&r, &CI_DESC, ci_field, &x);
	if (st != TPQ_OK)
		tpq_column_index_release(ci);
	set_used(used, &r, st);
	return st;
}

enum tpq_status tpq_meta_get_offset_index(const uint8_t *p, size_t len, size_t *used,
					  struct tpq_offset_index *oi, struct tpq_error *err)
{
	struct tpq_thrift_reader r;
	memset(oi, 0, sizeof(*oi));
	tpq_thrift_reader_init(&r, p, len, err);
	enum tpq_status st = get_struct(&r, &OI_DESC, oi_field, oi);
	if (st != TPQ_OK)
		tpq_offset_index_release(oi);
	set_used(used, &r, st);
	return st;
}

enum tpq_status tpq_meta_get_bloom_filter_header(const uint8_t *p, size_t len, size_t *used,
						 struct tpq_bloom_filter_header *h,
						 struct tpq_error *err)
{
	struct tpq_thrift_reader r;
	struct bfh_ctx x = {h, false, false, false};
	memset(h, 0, sizeof(*h));
	tpq_thrift_reader_init(&r, p, len, err);
	enum tpq_status st = get_struct(&r, &BFH_DESC, bfh_field, &x);
	if (st == TPQ_OK && !(x.block && x.xxhash && x.uncompressed))
		st = tpq_thrift_fail(&r, TPQ_EUNSUPPORTED,
				     "BloomFilterHeader: only BLOCK/XXHASH/UNCOMPRESSED supported");
	if (st != TPQ_OK)
		memset(h, 0, sizeof(*h));
	set_used(used, &r, st);
	return st;
}
