/* Pass two: one CloudTrail record into the columns of schema v1.
 *
 * tpq_ct_shred puts, for one record, every leaf column of the table built by
 * tpq_ct_schema_build (src/cloudtrail/schema_v1.h) into a Parquet writer with
 * exact Dremel levels, following the rules of schema v1:
 *  - absent key or JSON null: SQL NULL (a NULL struct / list / map);
 *    `{}` a struct of NULLs; `[]` an empty list; `{}` for the map an empty map;
 *  - STRING columns take JSON strings (escapes decoded to UTF-8), BOOL columns
 *    true/false, JSON-text columns any value but null as its verbatim bytes,
 *    eventtime an RFC 3339 string (tpq_ct_parse_time);
 *  - a value of the wrong JSON type, a string holding an escaped lone
 *    surrogate, an unparseable eventTime, a non-object resources[] element, a
 *    non-string map value (the entry stays, value NULL), and every key the
 *    schema does not name (at any level of the typed part) go to `unmapped`;
 *    an eventTime that parses but is not canonical (YYYY-MM-DDTHH:MM:SS[.mmm]Z)
 *    goes there too, with the column still set;
 *  - `unmapped` is NULL when empty, else the compact JSON object
 *    {"<pointer>":<raw value>,...}: RFC 6901 pointers into the record
 *    ("/userIdentity/foo", "/resources/2/bar"), keys decoded, '~' -> "~0",
 *    '/' -> "~1", then JSON-escaped (only '"', '\\' and control characters;
 *    an escaped lone surrogate stays a \uXXXX escape); values copied verbatim;
 *  - a key repeated inside one object: the last occurrence wins, for the
 *    columns and for unmapped alike; an entry keeps the position of the key's
 *    first occurrence (as JavaScript and Python build objects), so unmapped is
 *    in that source order.
 * Map keys are decoded strings; an entry whose key holds a lone surrogate
 * cannot be a map key and goes to unmapped instead.
 *
 * Threads: a table is immutable once made and shared by all workers; a
 * shredder belongs to one worker at a time. */
#ifndef TPQ_CLOUDTRAIL_SHRED_H
#define TPQ_CLOUDTRAIL_SHRED_H

#include <stddef.h>
#include <stdint.h>

#include "cloudtrail/records.h"
#include "parquet/schema.h"
#include "parquet/writer.h"
#include "trailpq/trailpq.h"

/* Schema v1 and its lookup tables, built once. */
struct tpq_ct_table;

enum tpq_status tpq_ct_table_new(struct tpq_ct_table **out, struct tpq_error *err);
/* The finished schema v1 (borrowed: valid until tpq_ct_table_free). */
const struct tpq_schema *tpq_ct_table_schema(const struct tpq_ct_table *t);
/* The column index of `unmapped`. */
int tpq_ct_table_unmapped_col(const struct tpq_ct_table *t);
void tpq_ct_table_free(struct tpq_ct_table *t);

/* Per-worker state: scratch buffers reused from record to record, so the
 * steady state allocates nothing. `t` is borrowed and must outlive it. NULL
 * when out of memory. The block-scan implementation (tpq_json_set_impl) is
 * read here, once. */
struct tpq_ct_shredder;
struct tpq_ct_shredder *tpq_ct_shredder_new(const struct tpq_ct_table *t);
void tpq_ct_shredder_free(struct tpq_ct_shredder *sh);

/* Puts every column of one row for the record rec[0..len): an object, as
 * returned by tpq_ct_split, followed by TPQ_CT_PAD readable bytes (true for a
 * span inside a padded file buffer). Does not call tpq_pw_end_row. On error
 * nothing has been put: TPQ_ECORRUPT (not one valid object; err->offset is
 * relative to rec), TPQ_ELIMIT (4 GiB or more), TPQ_ENOMEM. */
enum tpq_status tpq_ct_shred(struct tpq_ct_shredder *sh, struct tpq_pw *w, const uint8_t *rec,
			     size_t len, struct tpq_error *err);

/* The unmapped text of the last record shredded (borrowed: valid until the
 * next call), or NULL with *len = 0 when it was NULL. */
const uint8_t *tpq_ct_shredder_unmapped(const struct tpq_ct_shredder *sh, size_t *len);

#endif
