/* Status names and the error record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

const char *tpq_status_str(enum tpq_status st)
{
	switch (st) {
	case TPQ_OK: return "ok";
	case TPQ_ENOMEM: return "out of memory";
	case TPQ_EINVAL: return "invalid argument";
	case TPQ_EIO: return "I/O error";
	case TPQ_ECORRUPT: return "malformed input";
	case TPQ_ELIMIT: return "limit exceeded";
	case TPQ_ECODEC: return "codec error";
	case TPQ_EUNSUPPORTED: return "unsupported";
	case TPQ_ENOTFOUND: return "not found";
	case TPQ_ELOCKED: return "locked";
	case TPQ_ESTATE: return "unexpected lake state";
	case TPQ_EEXIST: return "already exists";
	}
	return "unknown status";
}

void tpq_error_clear(struct tpq_error *err)
{
	if (!err)
		return;
	memset(err, 0, sizeof(*err));
	err->offset = -1;
	err->record = -1;
}

enum tpq_status tpq_error_set(struct tpq_error *err, enum tpq_status st, const char *fmt, ...)
{
	if (!err || st == TPQ_OK)
		return st;
	if (err->status != TPQ_OK)
		return st; /* the first error is the one that explains */
	err->status = st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return st;
}

void tpq_error_where(struct tpq_error *err, const char *where)
{
	if (err && where)
		snprintf(err->where, sizeof(err->where), "%s", where);
}
