/* Classifying the objects of a CloudTrail bucket by their keys.
 *
 * CloudTrail delivers to
 *   [prefix/]AWSLogs/[o-ORGID/]ACCOUNT/<service folder>/REGION/YYYY/MM/DD/<file>
 * (organization trails add o-ORGID; AWS Control Tower log archives put the
 * org id in front as well, as part of the prefix). The layout is recognised
 * by the segments after the last `AWSLogs` segment, never by fixed positions
 * from the root. */
#ifndef TPQ_CLOUDTRAIL_KEYS_H
#define TPQ_CLOUDTRAIL_KEYS_H

#include <stdbool.h>
#include <stddef.h>

enum tpq_key_kind {
	TPQ_KEY_OTHER = 0,      /* not recognised: skipped, counted */
	TPQ_KEY_CLOUDTRAIL,     /* CloudTrail/ management and data events */
	TPQ_KEY_INSIGHT,        /* CloudTrail-Insight/ */
	TPQ_KEY_NETWORK,        /* CloudTrail-NetworkActivity/ */
	TPQ_KEY_DIGEST,         /* CloudTrail-Digest/: not data */
	TPQ_KEY_CONFIG,         /* AWS Config: skipped */
	TPQ_KEY_N_KINDS,
};

struct tpq_key_info {
	enum tpq_key_kind kind;
	char account[13];       /* 12 digits */
	char org[40];           /* "o-..." or "" */
	char region[32];
	int year, month, day;   /* the delivery folder's date */
	bool gzip;              /* name ends in .gz */
};

/* Classifies `key` (a '/'-separated path relative to the bucket or source
 * root). Always fills info->kind; the other fields only for data, Insight,
 * network-activity and digest objects. */
void tpq_key_classify(const char *key, struct tpq_key_info *info);

/* "cloudtrail", "cloudtrail_insight", "cloudtrail_networkactivity" for the
 * data kinds, NULL for the rest. */
const char *tpq_key_table(enum tpq_key_kind kind);
/* A short name for counting: "cloudtrail", "insight", "networkactivity",
 * "digest", "config", "other". */
const char *tpq_key_kind_name(enum tpq_key_kind kind);

#endif
