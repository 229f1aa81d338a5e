#include "util/pool.h"

#include <stdlib.h>
#include <string.h>

#define POOL_CHUNK ((size_t)1 << 20)

struct tpq_pool_chunk {
	struct tpq_pool_chunk *next;
	max_align_t data[];
};

void tpq_pool_init(struct tpq_pool *p)
{
	memset(p, 0, sizeof(*p));
}

void *tpq_pool_alloc(struct tpq_pool *p, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (n < 8)
		n = 8;
	if (!p->head || p->cap - p->used < n) {
		size_t cap = n > POOL_CHUNK ? n : POOL_CHUNK;
		struct tpq_pool_chunk *c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = p->head;
		p->head = c;
		p->used = 0;
		p->cap = cap;
	}
	void *out = (char *)p->head->data + p->used;
	p->used += n;
	return out;
}

char *tpq_pool_strndup(struct tpq_pool *p, const char *s, size_t n)
{
	char *d = tpq_pool_alloc(p, n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void tpq_pool_release(struct tpq_pool *p)
{
	while (p->head) {
		struct tpq_pool_chunk *c = p->head;
		p->head = c->next;
		free(c);
	}
	p->used = p->cap = 0;
}
