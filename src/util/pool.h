/* A string pool: many small allocations that live as long as the pool, cut
 * from chunks of at least 1 MiB.
 *
 * Why: a conversion keeps a little per source file (the partitions it fed)
 * for the whole run while it allocates and frees large batch buffers around
 * it. Kept allocations scattered among freed ones pin the allocator's pages,
 * and peak memory crept up with the number of files; a pool keeps them
 * together. Not thread-safe: one pool per worker. */
#ifndef TPQ_UTIL_POOL_H
#define TPQ_UTIL_POOL_H

#include <stddef.h>

struct tpq_pool_chunk;

struct tpq_pool {
	struct tpq_pool_chunk *head; /* the chunk being cut, then older ones */
	size_t used, cap;            /* in the head chunk */
};

void tpq_pool_init(struct tpq_pool *p);
/* n bytes (aligned to 8), or NULL when out of memory. */
void *tpq_pool_alloc(struct tpq_pool *p, size_t n);
/* A NUL-terminated copy of s[0..n), or NULL when out of memory. */
char *tpq_pool_strndup(struct tpq_pool *p, const char *s, size_t n);
/* Frees every allocation at once. */
void tpq_pool_release(struct tpq_pool *p);

#endif
