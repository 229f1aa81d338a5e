/* Proleptic Gregorian calendar arithmetic on days since 1970-01-01, for
 * timestamps (eventTime, statistics) and partition dates. Exact for every
 * int64 day count the callers produce (years far beyond 0..9999). */
#ifndef TPQ_UTIL_CIVIL_H
#define TPQ_UTIL_CIVIL_H

#include <stdint.h>

/* The date of day z (0 = 1970-01-01). Month 1..12, day 1..31. */
static inline void tpq_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468; /* days from 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                     /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365], from March 1 */
	int64_t mp = (5 * doy + 2) / 153;                                     /* [0, 11], March = 0 */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* The inverse: days since 1970-01-01 of y-m-d (month 1..12). */
static inline int64_t tpq_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                                  /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* Days since 1970-01-01 of a millisecond timestamp, rounding towards -inf. */
static inline int64_t tpq_days_from_ms(int64_t ms)
{
	int64_t days = ms / 86400000;
	return ms % 86400000 < 0 ? days - 1 : days;
}

#endif
