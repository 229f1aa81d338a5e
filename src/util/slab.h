/* Slabs: large blocks of memory recycled between batches of a conversion.
 *
 * Why: a run inflates every source file into memory that lives until the
 * file's batch is written, then frees it. Fresh memory from the system costs
 * a page fault (and the kernel zeroing the page) per 4 KiB on first touch:
 * on one core that was about a tenth of a conversion's time. Blocks taken
 * from a free list were touched before, so inflating into them faults
 * nothing; memory stays bounded because a block is reused only after every
 * allocation in it has been released, and the free list is capped.
 *
 * Use: each thread has a cursor (its current block). tpq_slab_space() gives
 * room for at least `n` bytes at the cursor (a new block when the current
 * one is too full); tpq_slab_take() then keeps the first `used` bytes of that
 * room and returns the block, which the caller hands back with
 * tpq_slab_put() once that allocation is no longer needed. A block is
 * reusable when all its allocations are put back and no cursor holds it.
 * The set is thread-safe; a cursor belongs to one thread. */
#ifndef TPQ_UTIL_SLAB_H
#define TPQ_UTIL_SLAB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct tpq_slab;

struct tpq_slabs {
	pthread_mutex_t mu;
	size_t block;             /* bytes per block */
	struct tpq_slab *free;    /* blocks ready for reuse */
	size_t n_free, max_free;  /* blocks on the free list, and its cap */
	size_t n_live, peak_live; /* blocks allocated now, and the most at once */
};

struct tpq_slab_cursor {
	struct tpq_slab *cur;     /* the block being filled (holds a reference) */
};

/* `block`: bytes per block (allocations larger than that are the caller's
 * to make elsewhere); at most `max_free` idle blocks are kept for reuse, the
 * rest go back to the system. */
void tpq_slabs_init(struct tpq_slabs *s, size_t block, size_t max_free);
/* Frees the free list. Every block must have been put back and every
 * cursor released first. */
void tpq_slabs_release(struct tpq_slabs *s);

/* Room for at least n bytes at the cursor (64-byte aligned); *room gets how
 * many bytes there are. NULL when n exceeds the block size or memory is
 * out. Nothing is kept until tpq_slab_take. */
uint8_t *tpq_slab_space(struct tpq_slabs *s, struct tpq_slab_cursor *c, size_t n, size_t *room);
/* Keeps the first `used` bytes of the room last given by tpq_slab_space
 * (used <= room) and returns their block, for tpq_slab_put. */
struct tpq_slab *tpq_slab_take(struct tpq_slab_cursor *c, size_t used);
/* Releases one allocation of block b. */
void tpq_slab_put(struct tpq_slabs *s, struct tpq_slab *b);
/* Drops the cursor's hold on its block. */
void tpq_slab_cursor_release(struct tpq_slabs *s, struct tpq_slab_cursor *c);

#endif
