/* Pass one over a CloudTrail file: validate the whole document and split it
 * into records.
 *
 * A CloudTrail file is {"Records":[ {...}, {...}, ... ]}. tpq_ct_split checks
 * the ENTIRE document before returning anything (strict RFC 8259 JSON, UTF-8
 * validity of every string, the shape), so a file is either taken whole or
 * rejected whole. For each record it gives the span, eventTime in ms,
 * eventID's raw bytes, and a 128-bit hash of the record's content with
 * insignificant whitespace removed; with the eventID it tells a record
 * delivered twice from two different records that share an id.
 *
 * Keys repeated inside one object: the last occurrence wins (for eventTime,
 * eventID, and a repeated top-level "Records"). */
#ifndef TPQ_CLOUDTRAIL_RECORDS_H
#define TPQ_CLOUDTRAIL_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json/scan.h"
#include "trailpq/trailpq.h"

/* Bytes the caller must allocate (readable, any content) after the `len`
 * bytes of a buffer given to tpq_ct_split or tpq_ct_shred. */
#define TPQ_CT_PAD TPQ_JSON_PAD

struct tpq_ct_record {
	uint32_t off, len;       /* the record object's bytes in the file buffer, '{' to '}' */
	int64_t event_ms;        /* eventTime in ms since the epoch, UTC; INT64_MIN when unusable */
	uint32_t id_off, id_len; /* eventID's raw string contents (between the quotes, escapes
				    not decoded), offsets in the file buffer */
	bool has_id;             /* eventID present and a JSON string */
	uint64_t hash[2];        /* hash of the record's bytes with insignificant whitespace
				    (outside strings) removed; src/json/hash.h */
};

/* Caller-owned storage for the records of one file; reused across files. */
struct tpq_ct_records {
	struct tpq_ct_record *v; /* owned */
	size_t n, cap;
	size_t other_keys;       /* top-level keys other than the Records array used (the
				    caller may warn); a repeated "Records" counts too */
};

void tpq_ct_records_init(struct tpq_ct_records *r);
/* Forgets the records, keeps the capacity. */
void tpq_ct_records_reset(struct tpq_ct_records *r);
void tpq_ct_records_release(struct tpq_ct_records *r);

/* Validates buf[0..len) (followed by TPQ_CT_PAD readable bytes) and fills
 * `out` (reset first) with every record, in file order. On failure out->n is
 * 0 and err says where: err->record (the record index, -1 outside a record),
 * err->offset (byte offset in buf) and the message, e.g. "invalid JSON:
 * expected ',' or ']'", "invalid UTF-8", "Records is not an array", "record 17
 * is not an object", "not a CloudTrail file: no Records array".
 * Returns TPQ_OK, TPQ_ECORRUPT, TPQ_ELIMIT (nesting deeper than
 * TPQ_JSON_MAX_DEPTH, or a file of 4 GiB or more) or TPQ_ENOMEM.
 * Reentrant: no state besides `out`. */
enum tpq_status tpq_ct_split(const uint8_t *buf, size_t len, struct tpq_ct_records *out,
			     struct tpq_error *err);

/* Parses an RFC 3339 timestamp `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`
 * ('t' and 'z' accepted too) from s[0..n) (decoded string contents) into
 * milliseconds since the epoch, UTC (fraction truncated to ms). Ranges are
 * checked, days per month and leap years included; second 60 is refused.
 * Returns 0 when unparseable (*ms untouched), 1 when parsed but not in
 * CloudTrail's canonical form, 2 when canonical: exactly
 * `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
int tpq_ct_parse_time(const uint8_t *s, size_t n, int64_t *ms);

/* eventTime from the raw contents of the JSON string (escapes decoded first):
 * the ms value, or INT64_MIN when unusable. *canonical (may be NULL) tells
 * whether the decoded string was in canonical form. */
int64_t tpq_ct_event_ms(const uint8_t *raw, size_t n, bool esc, bool *canonical);

#endif
