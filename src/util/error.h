/* Internal helpers for struct tpq_error (NULL-safe). */
#ifndef TPQ_UTIL_ERROR_H
#define TPQ_UTIL_ERROR_H

#include "trailpq/trailpq.h"

/* Records `st` and a printf-style message unless `err` already holds an
 * error (the first error wins). Returns `st` so callers can `return tpq_error_set(...)`. */
enum tpq_status tpq_error_set(struct tpq_error *err, enum tpq_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets the `where` field (file, key, column) if err is not NULL. */
void tpq_error_where(struct tpq_error *err, const char *where);

#endif
