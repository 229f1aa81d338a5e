/* Growable byte buffer. Capacity doubles, so appends are amortised O(1); the
 * only failure is an allocation or the configured limit, after which the
 * buffer stays in error (sticky) until reset. */
#include "util/buf.h"

#include <stdlib.h>

void tpq_buf_init(struct tpq_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void tpq_buf_release(struct tpq_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int tpq_buf_reserve(struct tpq_buf *b, size_t n)
{
	if (b->err)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	if (n > SIZE_MAX / 2 - b->len || (b->limit && b->len + n > b->limit)) {
		b->err = TPQ_ELIMIT;
		return -1;
	}
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n)
		cap *= 2;
	if (b->limit && cap > b->limit)
		cap = b->limit;
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->err = TPQ_ENOMEM;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

uint8_t *tpq_buf_detach(struct tpq_buf *b, size_t *len)
{
	uint8_t *p = b->p;
	if (len)
		*len = b->len;
	memset(b, 0, sizeof(*b));
	return p;
}

int tpq_grow(void *vp, size_t n, size_t *cap, size_t size, size_t first)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap : first ? first : 1;
	while (c <= n) {
		if (c > SIZE_MAX / 2)
			return -1;
		c *= 2;
	}
	if (c > SIZE_MAX / size)
		return -1;
	void *old;
	memcpy(&old, vp, sizeof(old));
	void *nv = realloc(old, c * size);
	if (!nv)
		return -1;
	memcpy(vp, &nv, sizeof(nv));
	*cap = c;
	return 0;
}
