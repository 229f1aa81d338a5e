#include "util/slab.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SLAB_ALIGN 64

struct tpq_slab {
	struct tpq_slab *next;  /* on the free list */
	size_t used;            /* bytes kept so far (the cursor's thread only) */
	atomic_size_t refs;     /* allocations not put back, plus one while a cursor holds it */
	_Alignas(SLAB_ALIGN) uint8_t data[];
};

void tpq_slabs_init(struct tpq_slabs *s, size_t block, size_t max_free)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->block = (block + SLAB_ALIGN - 1) & ~(size_t)(SLAB_ALIGN - 1);
	s->max_free = max_free;
}

void tpq_slabs_release(struct tpq_slabs *s)
{
	while (s->free) {
		struct tpq_slab *b = s->free;
		s->free = b->next;
		free(b);
	}
	s->n_free = 0;
	pthread_mutex_destroy(&s->mu);
}

/* The last reference went: back on the free list, or to the system. */
static void recycle(struct tpq_slabs *s, struct tpq_slab *b)
{
	pthread_mutex_lock(&s->mu);
	if (s->n_free < s->max_free) {
		b->next = s->free;
		s->free = b;
		s->n_free++;
		b = NULL;
	}
	if (b)
		s->n_live--;
	pthread_mutex_unlock(&s->mu);
	free(b);
}

static void unref(struct tpq_slabs *s, struct tpq_slab *b)
{
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		recycle(s, b);
}

static struct tpq_slab *get_block(struct tpq_slabs *s)
{
	pthread_mutex_lock(&s->mu);
	struct tpq_slab *b = s->free;
	if (b) {
		s->free = b->next;
		s->n_free--;
	}
	pthread_mutex_unlock(&s->mu);
	if (!b) {
		b = aligned_alloc(SLAB_ALIGN, sizeof(*b) + s->block);
		if (!b)
			return NULL;
		pthread_mutex_lock(&s->mu);
		if (++s->n_live > s->peak_live)
			s->peak_live = s->n_live;
		pthread_mutex_unlock(&s->mu);
	}
	b->next = NULL;
	b->used = 0;
	atomic_store_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

uint8_t *tpq_slab_space(struct tpq_slabs *s, struct tpq_slab_cursor *c, size_t n, size_t *room)
{
	if (n > s->block)
		return NULL;
	if (!c->cur || s->block - c->cur->used < n) {
		if (c->cur)
			unref(s, c->cur);
		c->cur = get_block(s);
		if (!c->cur)
			return NULL;
	}
	*room = s->block - c->cur->used;
	return c->cur->data + c->cur->used;
}

struct tpq_slab *tpq_slab_take(struct tpq_slab_cursor *c, size_t used)
{
	struct tpq_slab *b = c->cur;
	b->used += (used + SLAB_ALIGN - 1) & ~(size_t)(SLAB_ALIGN - 1);
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

void tpq_slab_put(struct tpq_slabs *s, struct tpq_slab *b)
{
	unref(s, b);
}

void tpq_slab_cursor_release(struct tpq_slabs *s, struct tpq_slab_cursor *c)
{
	if (c->cur)
		unref(s, c->cur);
	c->cur = NULL;
}
