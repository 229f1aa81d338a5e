/* `trailpq inspect [--json] FILE.parquet`: what a Parquet file holds.
 *
 * Everything comes from the reader (src/parquet/reader.h): the footer, the
 * schema tree, and for every column chunk its pages, read and decoded in full
 * (so inspect doubles as a validator: CRCs, sizes, levels, dictionary
 * indices), its page index and its Bloom filter. The report is built in a
 * memory stream and written to stdout only when the whole file read
 * cleanly: a malformed file prints one error line and no half report.
 *
 * Values (statistics) are rendered as JSON tokens in both modes: integers as
 * numbers, timestamps as ISO-8601 UTC strings, strings as JSON strings,
 * booleans as true/false, anything else as {"hex": "..."}. The JSON document
 * is described in docs/inspect.md. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* mmap, O_CLOEXEC, open_memstream with a bare -std=c17 */
#endif
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "parquet/reader.h"
#include "util/civil.h"

static const char usage[] =
	"usage: trailpq inspect [--json] FILE.parquet\n"
	"\n"
	"Prints what a Parquet file holds: the schema tree (repetition, physical and\n"
	"logical types, maximum definition and repetition levels), size, rows,\n"
	"created_by, key-value metadata, and for every row group and column chunk\n"
	"its codec, encodings, encoding stats, pages, sizes, statistics, dictionary\n"
	"page, Bloom filter and page index. Every page is read and decoded, so a\n"
	"file that inspects cleanly is readable end to end.\n"
	"\n"
	"  --json       print one JSON document instead (format: docs/inspect.md)\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 success, 1 the file cannot be read or is malformed, 2 bad usage.\n";

/* ---- JSON-safe rendering ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static bool valid_utf8(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD. */
static void json_str(FILE *f, const void *s, size_t n)
{
	const uint8_t *p = s;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t l = utf8_len(p + i, n - i);
		if (!l) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (l > 1) {
			fwrite(p + i, 1, l, f);
		} else if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else {
			fputc(c, f);
		}
		i += l;
	}
	fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
	if (s)
		json_str(f, s, strlen(s));
	else
		fputs("null", f);
}

static void hex_obj(FILE *f, const uint8_t *p, size_t n)
{
	fputs("{\"hex\": \"", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputs("\"}", f);
}

/* Epoch value in `unit` (1 ms, 2 us, 3 ns) as "YYYY-MM-DDTHH:MM:SS.fffZ". */
static void iso8601(FILE *f, int64_t v, enum tpq_time_unit unit)
{
	int64_t per = unit == TPQ_UNIT_MILLIS ? 1000 : unit == TPQ_UNIT_MICROS ? 1000000 : 1000000000;
	int digits = unit == TPQ_UNIT_MILLIS ? 3 : unit == TPQ_UNIT_MICROS ? 6 : 9;
	int64_t secs = v / per, frac = v % per;
	if (frac < 0) {
		frac += per;
		secs--;
	}
	/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
	int64_t days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	tpq_civil_from_days(days, &y, &m, &d);
	fprintf(f, "\"%04" PRId64 "-%02d-%02dT%02" PRId64 ":%02" PRId64
		   ":%02" PRId64 ".%0*" PRId64 "Z\"",
		y, m, d, sod / 3600, sod / 60 % 60, sod % 60, digits, frac);
}

/* The time unit of a timestamp leaf, or 0 if it is not one. */
static int ts_unit(const struct tpq_schema_node *n)
{
	if (n->type != TPQ_T_INT64)
		return 0;
	if (n->logical.kind == TPQ_LT_TIMESTAMP)
		return n->logical.ts_unit;
	if ((int)n->converted == 9)
		return TPQ_UNIT_MILLIS;
	if ((int)n->converted == 10)
		return TPQ_UNIT_MICROS;
	return 0;
}

static void print_double(FILE *f, double d)
{
	if (isnan(d))
		fputs("\"NaN\"", f);
	else if (isinf(d))
		fputs(d > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
	else
		fprintf(f, "%.17g", d);
}

/* A statistics value (PLAIN encoding without length) of leaf n as a JSON token. */
static void render_value(FILE *f, const struct tpq_schema_node *n, const uint8_t *p, size_t len)
{
	bool is_unsigned = n->logical.kind == TPQ_LT_INTEGER && !n->logical.int_signed;
	switch (n->type) {
	case TPQ_T_BOOLEAN:
		if (len == 1) {
			fputs(p[0] ? "true" : "false", f);
			return;
		}
		break;
	case TPQ_T_INT32:
		if (len == 4) {
			uint32_t u = tpq_le32(p);
			if (is_unsigned)
				fprintf(f, "%" PRIu32, u);
			else
				fprintf(f, "%" PRId32, (int32_t)u);
			return;
		}
		break;
	case TPQ_T_INT64:
		if (len == 8) {
			uint64_t u = tpq_le64(p);
			int unit = ts_unit(n);
			if (unit)
				iso8601(f, (int64_t)u, (enum tpq_time_unit)unit);
			else if (is_unsigned)
				fprintf(f, "%" PRIu64, u);
			else
				fprintf(f, "%" PRId64, (int64_t)u);
			return;
		}
		break;
	case TPQ_T_FLOAT:
		if (len == 4) {
			uint32_t u = tpq_le32(p);
			float x;
			memcpy(&x, &u, 4);
			print_double(f, x);
			return;
		}
		break;
	case TPQ_T_DOUBLE:
		if (len == 8) {
			uint64_t u = tpq_le64(p);
			double x;
			memcpy(&x, &u, 8);
			print_double(f, x);
			return;
		}
		break;
	case TPQ_T_BYTE_ARRAY:
		if (valid_utf8(p, len)) {
			json_str(f, p, len);
			return;
		}
		break;
	default:
		break;
	}
	hex_obj(f, p, len);
}

/* ---- names ---- */

static const char *repetition_name(enum tpq_repetition r)
{
	return r == TPQ_REQUIRED ? "REQUIRED" : r == TPQ_OPTIONAL ? "OPTIONAL" : "REPEATED";
}

static const char *converted_name(int c)
{
	static const char *const names[] = {
		"UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE", "TIME_MILLIS",
		"TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS", "UINT_8", "UINT_16",
		"UINT_32", "UINT_64", "INT_8", "INT_16", "INT_32", "INT_64", "JSON", "BSON",
		"INTERVAL",
	};
	if (c < 0 || (size_t)c >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[c];
}

/* "STRING", "TIMESTAMP(MILLIS,UTC)", "INTEGER(32,signed)", ... or NULL. */
static const char *logical_name(const struct tpq_logical_type *lt, char *buf, size_t cap)
{
	static const char *const units[] = {"?", "MILLIS", "MICROS", "NANOS"};
	switch (lt->kind) {
	case TPQ_LT_NONE: return NULL;
	case TPQ_LT_STRING: return "STRING";
	case TPQ_LT_MAP: return "MAP";
	case TPQ_LT_LIST: return "LIST";
	case TPQ_LT_JSON: return "JSON";
	case TPQ_LT_TIMESTAMP:
		snprintf(buf, cap, "TIMESTAMP(%s,%s)",
			 lt->ts_unit >= 1 && lt->ts_unit <= 3 ? units[lt->ts_unit] : "?",
			 lt->ts_utc ? "UTC" : "local");
		return buf;
	case TPQ_LT_INTEGER:
		snprintf(buf, cap, "INTEGER(%d,%s)", lt->int_bits, lt->int_signed ? "signed" : "unsigned");
		return buf;
	}
	snprintf(buf, cap, "LOGICAL(%d)", (int)lt->kind);
	return buf;
}

/* ---- gathering: everything that needs reading happens before printing ---- */

struct chunk_info {
	struct tpq_pr_page *pages;  /* moved out of the column read */
	size_t n_pages, n_dict;
	bool has_bloom;
	struct tpq_pr_bloom bloom;
	bool has_ci, has_oi;
	size_t ci_pages, oi_pages;
};

static void fail_file(const char *file, const struct tpq_error *err)
{
	if (err->offset >= 0)
		tpq_cli_errorf("%s: %s (at byte %lld)", file, err->msg, (long long)err->offset);
	else
		tpq_cli_errorf("%s: %s", file, err->msg);
}

/* Reads chunk (rg, col); 0, or -1 with the error in err. */
static int gather_chunk(struct tpq_pr *pr, size_t rg, size_t col, struct chunk_info *ci,
			struct tpq_error *err)
{
	struct tpq_pr_column c;
	if (tpq_pr_read_column(pr, rg, col, 0, &c, err) != TPQ_OK) {
		tpq_pr_column_release(&c);
		return -1;
	}
	ci->n_pages = c.n_pages;
	ci->n_dict = c.n_dict;
	ci->pages = malloc((c.n_pages ? c.n_pages : 1) * sizeof(*ci->pages));
	if (!ci->pages) {
		tpq_pr_column_release(&c);
		tpq_error_clear(err);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	if (c.n_pages)
		memcpy(ci->pages, c.pages, c.n_pages * sizeof(*ci->pages));
	tpq_pr_column_release(&c);

	enum tpq_status st = tpq_pr_read_bloom(pr, rg, col, &ci->bloom, err);
	if (st != TPQ_OK && st != TPQ_ENOTFOUND)
		return -1;
	ci->has_bloom = st == TPQ_OK;
	struct tpq_column_index cix;
	st = tpq_pr_read_column_index(pr, rg, col, &cix, err);
	if (st != TPQ_OK && st != TPQ_ENOTFOUND)
		return -1;
	ci->has_ci = st == TPQ_OK;
	if (ci->has_ci) {
		ci->ci_pages = cix.n_pages;
		tpq_column_index_release(&cix);
	}
	struct tpq_offset_index oi;
	st = tpq_pr_read_offset_index(pr, rg, col, &oi, err);
	if (st != TPQ_OK && st != TPQ_ENOTFOUND)
		return -1;
	ci->has_oi = st == TPQ_OK;
	if (ci->has_oi) {
		ci->oi_pages = oi.n_pages;
		tpq_offset_index_release(&oi);
	}
	return 0;
}

/* ---- text output ---- */

/* The root's name as the file gives it (the schema tree names its root "schema"). */
static const char *node_name(const struct tpq_schema *s, const struct tpq_file_meta_data *m,
			     size_t i)
{
	if (i == 0 && m->n_schema > 0 && m->schema[0].name)
		return m->schema[0].name;
	return s->nodes[i].name;
}

static void text_schema(FILE *f, const struct tpq_schema *s, const struct tpq_file_meta_data *m)
{
	char lb[64], path[512];
	fprintf(f, "schema: %zu columns\n", s->n_leaves);
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct tpq_schema_node *n = &s->nodes[i];
		int depth = 0;
		for (int p = n->parent; p >= 0; p = s->nodes[p].parent)
			depth++;
		fprintf(f, "%*s", 2 + 2 * depth, "");
		json_cstr(f, node_name(s, m, i));
		if (i == 0) {
			fputs(": root group\n", f);
			continue;
		}
		fprintf(f, ": %s %s", repetition_name(n->repetition),
			n->is_group ? "group" : tpq_pr_type_name((int)n->type));
		const char *lt = logical_name(&n->logical, lb, sizeof(lb));
		if (lt)
			fprintf(f, ", logical %s", lt);
		const char *ct = converted_name((int)n->converted);
		if (ct)
			fprintf(f, ", converted %s", ct);
		fprintf(f, ", max def %d, max rep %d", n->max_def, n->max_rep);
		if (!n->is_group)
			fprintf(f, ", column %d (%s)", n->leaf, tpq_schema_path(s, (int)i, path, sizeof(path)));
		fputc('\n', f);
	}
}

static void text_stats(FILE *f, const struct tpq_schema_node *leaf, const struct tpq_statistics *st)
{
	fputs("    statistics:", f);
	if (st->has_null_count)
		fprintf(f, " null_count %" PRId64 ",", st->null_count);
	if (st->has_distinct_count)
		fprintf(f, " distinct_count %" PRId64 ",", st->distinct_count);
	fputs(" min ", f);
	if (st->has_min)
		render_value(f, leaf, st->min_value, st->min_len);
	else
		fputs("-", f);
	fputs(", max ", f);
	if (st->has_max)
		render_value(f, leaf, st->max_value, st->max_len);
	else
		fputs("-", f);
	fputc('\n', f);
}

static void text_chunk(FILE *f, const struct tpq_pr *pr, size_t rg, size_t col,
		       const struct chunk_info *ci)
{
	const struct tpq_schema *s = tpq_pr_schema(pr);
	const struct tpq_pr_chunk *ch = tpq_pr_chunk(pr, rg, col);
	const struct tpq_column_meta_data *md = ch->md;
	const struct tpq_schema_node *leaf = &s->nodes[ch->node];
	char path[512];
	fprintf(f, "  column %zu ", col);
	const char *p = tpq_schema_path(s, ch->node, path, sizeof(path));
	json_cstr(f, p);
	fprintf(f, ": %s, codec %s\n", tpq_pr_type_name((int)md->type),
		tpq_pr_codec_name(md->codec));
	fprintf(f, "    values %" PRId64 ", compressed %" PRId64 " bytes, uncompressed %" PRId64
		   " bytes\n",
		md->num_values, md->total_compressed_size, md->total_uncompressed_size);
	fputs("    encodings:", f);
	for (size_t i = 0; i < md->n_encodings; i++)
		fprintf(f, "%s %s", i ? "," : "", tpq_pr_encoding_name((int)md->encodings[i]));
	fputc('\n', f);
	if (md->n_encoding_stats) {
		fputs("    encoding stats:", f);
		for (size_t i = 0; i < md->n_encoding_stats; i++) {
			const struct tpq_page_encoding_stats *e = &md->encoding_stats[i];
			fprintf(f, "%s %s %s x%d", i ? "," : "", tpq_pr_page_type_name((int)e->page_type),
				tpq_pr_encoding_name((int)e->encoding), e->count);
		}
		fputc('\n', f);
	}
	fprintf(f, "    pages: %zu\n", ci->n_pages);
	for (size_t i = 0; i < ci->n_pages; i++) {
		const struct tpq_pr_page *pg = &ci->pages[i];
		fprintf(f, "      %s %s at byte %" PRIu64 ": %d values", tpq_pr_page_type_name((int)pg->type),
			tpq_pr_encoding_name((int)pg->encoding), pg->offset, pg->num_values);
		if (pg->type == TPQ_PAGE_DATA || pg->type == TPQ_PAGE_DATA_V2)
			fprintf(f, ", %d nulls, %d rows", pg->num_nulls, pg->num_rows);
		fprintf(f, ", %d -> %d bytes%s\n", pg->compressed_size, pg->uncompressed_size,
			pg->has_crc ? ", crc ok" : "");
	}
	if (ch->has_dictionary)
		fprintf(f, "    dictionary page: at byte %" PRId64 ", %zu entries\n",
			md->dictionary_page_offset, ci->n_dict);
	else
		fputs("    dictionary page: none\n", f);
	fprintf(f, "    data page offset: %" PRId64 "\n", md->data_page_offset);
	if (md->has_statistics)
		text_stats(f, leaf, &md->statistics);
	else
		fputs("    statistics: none\n", f);
	if (ci->has_bloom)
		fprintf(f, "    bloom filter: offset %" PRIu64 ", length %" PRIu64 " (%u-byte bitset)\n",
			ci->bloom.offset,
			md->has_bloom_filter_length ? (uint64_t)md->bloom_filter_length
						    : ci->bloom.header_len + (uint64_t)ci->bloom.filter.num_bytes,
			ci->bloom.filter.num_bytes);
	else
		fputs("    bloom filter: none\n", f);
	const struct tpq_column_chunk *cc = ch->cc;
	if (ci->has_ci)
		fprintf(f, "    column index: offset %" PRId64 ", length %d, %zu pages\n",
			cc->column_index_offset, cc->column_index_length, ci->ci_pages);
	else
		fputs("    column index: none\n", f);
	if (ci->has_oi)
		fprintf(f, "    offset index: offset %" PRId64 ", length %d, %zu pages\n",
			cc->offset_index_offset, cc->offset_index_length, ci->oi_pages);
	else
		fputs("    offset index: none\n", f);
}

/* ---- JSON output ---- */

static void json_schema_node(FILE *f, const struct tpq_schema *s,
			     const struct tpq_file_meta_data *m, size_t *i, int indent)
{
	const struct tpq_schema_node *n = &s->nodes[*i];
	char lb[64], path[512];
	int node = (int)*i;
	fprintf(f, "%*s{\"name\": ", indent, "");
	json_cstr(f, node_name(s, m, *i));
	fprintf(f, ", \"repetition\": \"%s\"", node == 0 ? "REQUIRED" : repetition_name(n->repetition));
	fprintf(f, ", \"type\": \"%s\"", n->is_group ? "group" : tpq_pr_type_name((int)n->type));
	fputs(", \"logical_type\": ", f);
	json_cstr(f, logical_name(&n->logical, lb, sizeof(lb)));
	fputs(", \"converted_type\": ", f);
	json_cstr(f, converted_name((int)n->converted));
	fprintf(f, ", \"max_def\": %d, \"max_rep\": %d", n->max_def, n->max_rep);
	if (!n->is_group) {
		fprintf(f, ", \"column\": %d, \"path\": ", n->leaf);
		json_cstr(f, tpq_schema_path(s, node, path, sizeof(path)));
		fputc('}', f);
		(*i)++;
		return;
	}
	fputs(", \"children\": [\n", f);
	(*i)++;
	for (int k = 0; k < n->num_children; k++) {
		if (k)
			fputs(",\n", f);
		json_schema_node(f, s, m, i, indent + 2);
	}
	fprintf(f, "\n%*s]}", indent, "");
}

static void json_chunk(FILE *f, const struct tpq_pr *pr, size_t rg, size_t col,
		       const struct chunk_info *ci)
{
	const struct tpq_schema *s = tpq_pr_schema(pr);
	const struct tpq_pr_chunk *ch = tpq_pr_chunk(pr, rg, col);
	const struct tpq_column_meta_data *md = ch->md;
	const struct tpq_column_chunk *cc = ch->cc;
	char path[512];
	fprintf(f, "        {\"column\": %zu, \"path\": ", col);
	json_cstr(f, tpq_schema_path(s, ch->node, path, sizeof(path)));
	fprintf(f, ", \"type\": \"%s\", \"codec\": \"%s\"", tpq_pr_type_name((int)md->type),
		tpq_pr_codec_name(md->codec));
	fprintf(f, ", \"num_values\": %" PRId64 ", \"total_compressed_size\": %" PRId64
		   ", \"total_uncompressed_size\": %" PRId64,
		md->num_values, md->total_compressed_size, md->total_uncompressed_size);
	fputs(",\n         \"encodings\": [", f);
	for (size_t i = 0; i < md->n_encodings; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", tpq_pr_encoding_name((int)md->encodings[i]));
	fputs("], \"encoding_stats\": [", f);
	for (size_t i = 0; i < md->n_encoding_stats; i++) {
		const struct tpq_page_encoding_stats *e = &md->encoding_stats[i];
		fprintf(f, "%s{\"page_type\": \"%s\", \"encoding\": \"%s\", \"count\": %d}", i ? ", " : "",
			tpq_pr_page_type_name((int)e->page_type), tpq_pr_encoding_name((int)e->encoding),
			e->count);
	}
	fprintf(f, "],\n         \"data_page_offset\": %" PRId64, md->data_page_offset);
	if (ch->has_dictionary)
		fprintf(f, ", \"dictionary_page\": {\"offset\": %" PRId64 ", \"entries\": %zu}",
			md->dictionary_page_offset, ci->n_dict);
	else
		fputs(", \"dictionary_page\": null", f);
	fputs(",\n         \"statistics\": ", f);
	if (md->has_statistics) {
		const struct tpq_statistics *st = &md->statistics;
		const struct tpq_schema_node *leaf = &s->nodes[ch->node];
		fputs("{\"null_count\": ", f);
		if (st->has_null_count)
			fprintf(f, "%" PRId64, st->null_count);
		else
			fputs("null", f);
		fputs(", \"distinct_count\": ", f);
		if (st->has_distinct_count)
			fprintf(f, "%" PRId64, st->distinct_count);
		else
			fputs("null", f);
		fputs(", \"min\": ", f);
		if (st->has_min)
			render_value(f, leaf, st->min_value, st->min_len);
		else
			fputs("null", f);
		fputs(", \"max\": ", f);
		if (st->has_max)
			render_value(f, leaf, st->max_value, st->max_len);
		else
			fputs("null", f);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	fputs(",\n         \"pages\": [", f);
	for (size_t i = 0; i < ci->n_pages; i++) {
		const struct tpq_pr_page *pg = &ci->pages[i];
		fprintf(f, "%s\n           {\"type\": \"%s\", \"encoding\": \"%s\", \"offset\": %" PRIu64
			   ", \"header_length\": %u, \"compressed_size\": %d, \"uncompressed_size\": %d"
			   ", \"num_values\": %d",
			i ? "," : "", tpq_pr_page_type_name((int)pg->type),
			tpq_pr_encoding_name((int)pg->encoding), pg->offset, pg->header_len,
			pg->compressed_size, pg->uncompressed_size, pg->num_values);
		if (pg->type == TPQ_PAGE_DATA || pg->type == TPQ_PAGE_DATA_V2)
			fprintf(f, ", \"num_nulls\": %d, \"num_rows\": %d", pg->num_nulls, pg->num_rows);
		fprintf(f, ", \"crc\": %s}", pg->has_crc ? "true" : "false");
	}
	fputs("],\n         \"bloom_filter\": ", f);
	if (ci->has_bloom)
		fprintf(f, "{\"offset\": %" PRIu64 ", \"length\": %" PRIu64 ", \"num_bytes\": %u}",
			ci->bloom.offset,
			md->has_bloom_filter_length ? (uint64_t)md->bloom_filter_length
						    : ci->bloom.header_len + (uint64_t)ci->bloom.filter.num_bytes,
			ci->bloom.filter.num_bytes);
	else
		fputs("null", f);
	fputs(", \"column_index\": ", f);
	if (ci->has_ci)
		fprintf(f, "{\"offset\": %" PRId64 ", \"length\": %d, \"pages\": %zu}",
			cc->column_index_offset, cc->column_index_length, ci->ci_pages);
	else
		fputs("null", f);
	fputs(", \"offset_index\": ", f);
	if (ci->has_oi)
		fprintf(f, "{\"offset\": %" PRId64 ", \"length\": %d, \"pages\": %zu}",
			cc->offset_index_offset, cc->offset_index_length, ci->oi_pages);
	else
		fputs("null", f);
	fputc('}', f);
}

/* ---- the command ---- */

static int inspect(const char *file, bool json)
{
	struct tpq_pr *pr = NULL;
	struct tpq_error err;
	tpq_error_clear(&err);
	if (tpq_pr_open_path(&pr, file, NULL, &err) != TPQ_OK) {
		fail_file(file, &err);
		return 1;
	}
	char *text = NULL;
	size_t text_len = 0;
	FILE *f = open_memstream(&text, &text_len);
	if (!f) {
		tpq_pr_free(pr);
		tpq_cli_errorf("%s: out of memory", file);
		return 1;
	}
	const struct tpq_file_meta_data *m = tpq_pr_meta(pr);
	const struct tpq_schema *s = tpq_pr_schema(pr);
	size_t n_rg = tpq_pr_num_row_groups(pr), n_col = tpq_pr_num_columns(pr);
	int rc = 0;

	if (json) {
		fputs("{\"file\": ", f);
		json_cstr(f, file);
		fprintf(f, ", \"size\": %" PRIu64 ", \"num_rows\": %" PRId64 ", \"version\": %d",
			tpq_pr_file_size(pr), m->num_rows, m->version);
		fprintf(f, ", \"footer\": {\"offset\": %" PRIu64 ", \"length\": %u}",
			tpq_pr_footer_offset(pr), tpq_pr_footer_len(pr));
		fputs(",\n \"created_by\": ", f);
		json_cstr(f, m->created_by);
		fputs(",\n \"key_value_metadata\": [", f);
		for (size_t i = 0; i < m->n_kv; i++) {
			fputs(i ? ", {\"key\": " : "{\"key\": ", f);
			json_cstr(f, m->kv[i].key);
			fputs(", \"value\": ", f);
			json_cstr(f, m->kv[i].value);
			fputc('}', f);
		}
		fprintf(f, "],\n \"num_columns\": %zu,\n \"schema\":\n", n_col);
		size_t i = 0;
		json_schema_node(f, s, m, &i, 2);
		fputs(",\n \"row_groups\": [", f);
	} else {
		fprintf(f, "file: %s\n", file);
		fprintf(f, "size: %" PRIu64 " bytes (footer %u bytes at byte %" PRIu64 ")\n",
			tpq_pr_file_size(pr), tpq_pr_footer_len(pr), tpq_pr_footer_offset(pr));
		fprintf(f, "rows: %" PRId64 " in %zu row groups\n", m->num_rows, n_rg);
		fprintf(f, "format version: %d\n", m->version);
		fputs("created_by: ", f);
		json_cstr(f, m->created_by);
		fputc('\n', f);
		fprintf(f, "key-value metadata: %zu\n", m->n_kv);
		for (size_t i = 0; i < m->n_kv; i++) {
			fputs("  ", f);
			json_cstr(f, m->kv[i].key);
			fputs(" = ", f);
			json_cstr(f, m->kv[i].value);
			fputc('\n', f);
		}
		text_schema(f, s, m);
	}

	for (size_t rg = 0; rg < n_rg && rc == 0; rg++) {
		const struct tpq_row_group *g = &m->row_groups[rg];
		if (json) {
			fprintf(f, "%s\n   {\"index\": %zu, \"num_rows\": %" PRId64
				   ", \"total_byte_size\": %" PRId64,
				rg ? "," : "", rg, g->num_rows, g->total_byte_size);
			if (g->has_total_compressed_size)
				fprintf(f, ", \"total_compressed_size\": %" PRId64, g->total_compressed_size);
			fputs(", \"columns\": [\n", f);
		} else {
			fprintf(f, "row group %zu: %" PRId64 " rows, %" PRId64 " bytes uncompressed", rg,
				g->num_rows, g->total_byte_size);
			if (g->has_total_compressed_size)
				fprintf(f, ", %" PRId64 " compressed", g->total_compressed_size);
			fputc('\n', f);
		}
		for (size_t c = 0; c < n_col; c++) {
			struct chunk_info ci;
			memset(&ci, 0, sizeof(ci));
			tpq_error_clear(&err);
			if (gather_chunk(pr, rg, c, &ci, &err)) {
				fail_file(file, &err);
				free(ci.pages);
				rc = 1;
				break;
			}
			if (json) {
				if (c)
					fputs(",\n", f);
				json_chunk(f, pr, rg, c, &ci);
			} else {
				text_chunk(f, pr, rg, c, &ci);
			}
			free(ci.pages);
		}
		if (json)
			fputs("]}", f);
	}
	if (json)
		fputs("]}\n", f);
	tpq_pr_free(pr);
	if (fclose(f) != 0 && rc == 0) {
		tpq_cli_errorf("%s: out of memory", file);
		rc = 1;
	}
	if (rc == 0 && (fwrite(text, 1, text_len, stdout) != text_len || fflush(stdout) != 0)) {
		tpq_cli_errorf("inspect: cannot write to stdout");
		rc = 1;
	}
	free(text);
	return rc;
}

int tpq_cmd_inspect(int argc, char **argv)
{
	bool json = false;
	const char *file = NULL;
	bool only_files = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_files && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			fputs(usage, stdout);
			return 0;
		}
		if (!only_files && strcmp(a, "--json") == 0) {
			json = true;
		} else if (!only_files && strcmp(a, "--") == 0) {
			only_files = true;
		} else if (!only_files && a[0] == '-' && a[1] != '\0') {
			tpq_cli_errorf("inspect: unknown option '%s'", a);
			tpq_cli_errorf("inspect: try 'trailpq inspect --help'");
			return 2;
		} else if (file) {
			tpq_cli_errorf("inspect: one file at a time (got '%s' and '%s')", file, a);
			return 2;
		} else {
			file = a;
		}
	}
	if (!file) {
		tpq_cli_errorf("inspect: no file given; try 'trailpq inspect --help'");
		return 2;
	}
	return inspect(file, json);
}
