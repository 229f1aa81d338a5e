/* The S3 source, with an optional bounded read-ahead (see io/store_s3.h).
 *
 * Read-ahead design: the last listing's object keys are kept in listing
 * order, which is ascending byte order, so a key's place is found by binary
 * search. A fixed table of `prefetch` slots holds the objects being fetched
 * or fetched ahead; `prefetch` worker threads take queued slots and fill
 * them. read(key) takes its object from a ready slot (or waits for a slot
 * already being fetched, or fetches on demand), then queues the next
 * `prefetch` listed keys into free slots; slots whose key is no longer
 * within that window are recycled, so memory stays bounded by `prefetch`
 * objects of at most prefetch_max_bytes each. A prefetch that failed is not
 * reported: the reader fetches the object itself and gets the real error. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io/store_s3.h"
#include "util/error.h"

#define MAX_PREFETCH 32

enum slot_state { SLOT_EMPTY, SLOT_QUEUED, SLOT_FETCHING, SLOT_READY, SLOT_FAILED };

struct slot {
	enum slot_state state;
	size_t index;           /* in the listing order of generation gen */
	unsigned gen;
	struct tpq_buf data;
};

struct s3_source {
	struct tpq_source base;
	struct tpq_s3 *s3;
	char bucket[64];
	char root[1024];
	unsigned prefetch;
	size_t prefetch_max;

	pthread_mutex_t mu;
	pthread_cond_t work, done;
	char **order;           /* full keys of the listings, ascending */
	unsigned char *taken;   /* per key of order: read already (never fetched ahead again) */
	size_t norder, cap_order;
	struct slot slots[MAX_PREFETCH];
	pthread_t threads[MAX_PREFETCH];
	unsigned nthreads;
	unsigned gen;           /* bumped when indices change: older slots are stale */
	int stop;
	void (*on_free)(void *ctx);
	void *on_free_ctx;
};

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *k = malloc(n);
	if (k) {
		memcpy(k, a, strlen(a));
		memcpy(k + strlen(a), b, strlen(b) + 1);
	}
	return k;
}

/* ---- listing ---- */

struct order_ctx {
	struct s3_source *s;
	tpq_list_fn fn;
	void *ctx;
	char **keys;
	size_t n, cap;
	int oom;
};

static int remember(void *ctx, const struct tpq_object *o)
{
	struct order_ctx *c = ctx;
	size_t kl = strlen(o->key);
	if (kl && o->key[kl - 1] != '/' && !c->oom) {
		if (c->n == c->cap) {
			size_t nc = c->cap ? c->cap * 2 : 1024;
			char **nk = realloc(c->keys, nc * sizeof(*nk));
			if (nk) {
				c->keys = nk;
				c->cap = nc;
			}
		}
		char *k = c->n < c->cap ? join(c->s->root, o->key) : NULL;
		if (k)
			c->keys[c->n++] = k;
		else
			c->oom = 1; /* read-ahead is a hint: without memory it just stops */
	}
	return c->fn(c->ctx, o);
}

static void free_order(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* Adds a listing's keys (ascending, owned: moved in) to the remembered order
 * (under mu). A conversion lists day folder after day folder in ascending key
 * order, then reads the chosen objects in key order, so the order has to span
 * all its listings. The keys usually all come after the remembered ones and
 * are appended, which keeps every index, and so every slot, valid; otherwise
 * the two are merged (duplicates dropped) and the slots, which index the old
 * order, are dropped. Without memory the new keys are forgotten: read-ahead is
 * only a hint. */
static void add_order(struct s3_source *s, char **keys, size_t n)
{
	if (n == 0) {
		free(keys);
		return;
	}
	if (s->norder == 0 || strcmp(s->order[s->norder - 1], keys[0]) < 0) {
		if (s->norder + n > s->cap_order) {
			size_t cap = s->cap_order ? s->cap_order : 1024;
			while (cap < s->norder + n)
				cap *= 2;
			char **grown = realloc(s->order, cap * sizeof(*grown));
			if (grown)
				s->order = grown;
			unsigned char *gt = grown ? realloc(s->taken, cap) : NULL;
			if (gt)
				s->taken = gt;
			if (!grown || !gt) {
				free_order(keys, n);
				return;
			}
			s->cap_order = cap;
		}
		memcpy(s->order + s->norder, keys, n * sizeof(*keys));
		memset(s->taken + s->norder, 0, n);
		s->norder += n;
		free(keys);
		return;
	}
	size_t total = s->norder + n;
	char **m = malloc(total * sizeof(*m));
	unsigned char *mt = malloc(total);
	if (!m || !mt) {
		free(m);
		free(mt);
		free_order(keys, n);
		return;
	}
	size_t i = 0, j = 0, k = 0;
	while (i < s->norder || j < n) {
		int c = i == s->norder ? 1 : j == n ? -1 : strcmp(s->order[i], keys[j]);
		if (c <= 0) {
			mt[k] = s->taken[i];
			m[k++] = s->order[i++];
		} else {
			mt[k] = 0;
			m[k++] = keys[j++];
		}
		if (c == 0)
			free(keys[j++]);
	}
	free(s->order);
	free(s->taken);
	free(keys);
	s->order = m;
	s->taken = mt;
	s->norder = k;
	s->cap_order = total;
	s->gen++;
	for (unsigned q = 0; q < s->prefetch; q++)
		if (s->slots[q].state == SLOT_QUEUED || s->slots[q].state == SLOT_READY ||
		    s->slots[q].state == SLOT_FAILED)
			s->slots[q].state = SLOT_EMPTY;
}

static enum tpq_status src_list(struct tpq_source *base, const char *prefix, unsigned flags,
				const char *start_after, tpq_list_fn fn, void *ctx,
				struct tpq_error *err)
{
	struct s3_source *s = (struct s3_source *)base;
	if (!s->prefetch)
		return tpq__s3_list(s->s3, s->bucket, s->root, prefix, flags, start_after, fn, ctx,
				    err);
	struct order_ctx c = {.s = s, .fn = fn, .ctx = ctx};
	enum tpq_status st = tpq__s3_list(s->s3, s->bucket, s->root, prefix, flags, start_after,
					  remember, &c, err);
	pthread_mutex_lock(&s->mu);
	add_order(s, c.keys, c.n);
	pthread_mutex_unlock(&s->mu);
	return st;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The readers' own list replaces the listing order: read-ahead then fetches
 * only objects that will be read. */
static void src_plan(struct tpq_source *base, const char *const *keys, size_t n)
{
	struct s3_source *s = (struct s3_source *)base;
	if (!s->prefetch)
		return;
	char **o = malloc((n ? n : 1) * sizeof(*o));
	unsigned char *t = calloc(n ? n : 1, 1);
	size_t k = 0;
	bool sorted = true;
	for (; o && t && k < n; k++) {
		if (!(o[k] = join(s->root, keys[k])))
			break;
		if (k && strcmp(o[k - 1], o[k]) >= 0)
			sorted = false;
	}
	if (!o || !t || k < n) {
		if (o)
			free_order(o, k);
		free(t);
		return;
	}
	if (!sorted) {
		qsort(o, n, sizeof(*o), key_cmp);
		size_t w = 0;
		for (size_t i = 0; i < n; i++) {
			if (w && !strcmp(o[w - 1], o[i]))
				free(o[i]);
			else
				o[w++] = o[i];
		}
		n = w;
	}
	pthread_mutex_lock(&s->mu);
	char **old = s->order;
	size_t nold = s->norder;
	free(s->taken);
	s->order = o;
	s->taken = t;
	s->norder = s->cap_order = n;
	s->gen++;
	for (unsigned q = 0; q < s->prefetch; q++)
		if (s->slots[q].state == SLOT_QUEUED || s->slots[q].state == SLOT_READY ||
		    s->slots[q].state == SLOT_FAILED)
			s->slots[q].state = SLOT_EMPTY;
	pthread_mutex_unlock(&s->mu);
	free_order(old, nold);
}

/* ---- read-ahead ---- */

static void *worker(void *arg)
{
	struct s3_source *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		struct slot *job = NULL;
		for (unsigned i = 0; i < s->prefetch && !job; i++)
			if (s->slots[i].state == SLOT_QUEUED)
				job = &s->slots[i];
		if (!job) {
			pthread_cond_wait(&s->work, &s->mu);
			continue;
		}
		job->state = SLOT_FETCHING;
		char *key = strdup(s->order[job->index]);
		pthread_mutex_unlock(&s->mu);
		enum tpq_status st = key ? tpq_s3_get(s->s3, s->bucket, key, s->prefetch_max,
						      &job->data, NULL, NULL)
					 : TPQ_ENOMEM;
		free(key);
		pthread_mutex_lock(&s->mu);
		job->state = job->gen != s->gen ? SLOT_EMPTY : st ? SLOT_FAILED : SLOT_READY;
		pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int find_index(const struct s3_source *s, const char *key, size_t *at)
{
	size_t lo = 0, hi = s->norder;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->order[mid], key);
		if (c == 0) {
			*at = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static struct slot *slot_of(struct s3_source *s, size_t index)
{
	for (unsigned i = 0; i < s->prefetch; i++)
		if (s->slots[i].state != SLOT_EMPTY && s->slots[i].index == index &&
		    s->slots[i].gen == s->gen)
			return &s->slots[i];
	return NULL;
}

/* Queues listed objects index+1 .. index+prefetch into free slots (under mu).
 * Objects fetched ahead stay until their slot is needed: with several readers,
 * one may still be about to read an object behind another's window (it took
 * the object in order but another reader got to the source first), so a slot
 * just behind the window is not recycled: that read would be a second GET.
 * When no slot is empty, the one farthest beyond the window, or else one far
 * behind it (more than twice the window: a reader that far behind is no
 * longer expected), is recycled, unless a reader waits for it (its key is
 * taken). */
static void schedule(struct s3_source *s, size_t index)
{
	for (unsigned i = 0; i < s->prefetch; i++) {
		struct slot *sl = &s->slots[i];
		if (sl->gen != s->gen && (sl->state == SLOT_QUEUED || sl->state == SLOT_READY ||
					  sl->state == SLOT_FAILED))
			sl->state = SLOT_EMPTY;
	}
	for (size_t j = index + 1; j <= index + s->prefetch && j < s->norder; j++) {
		if (s->taken[j] || slot_of(s, j))
			continue;
		struct slot *free_slot = NULL, *victim = NULL;
		for (unsigned i = 0; i < s->prefetch && !free_slot; i++) {
			struct slot *sl = &s->slots[i];
			if (sl->state == SLOT_EMPTY) {
				free_slot = sl;
			} else if (sl->state != SLOT_FETCHING && !s->taken[sl->index] &&
				   (sl->index + 2 * (size_t)s->prefetch < index ||
				    sl->index > index + s->prefetch) &&
				   (!victim || sl->index > victim->index))
				victim = sl;
		}
		if (!free_slot)
			free_slot = victim;
		if (!free_slot)
			break;
		free_slot->state = SLOT_QUEUED;
		free_slot->index = j;
		free_slot->gen = s->gen;
		tpq_buf_reset(&free_slot->data);
	}
	pthread_cond_broadcast(&s->work);
}

static void start_threads(struct s3_source *s)
{
	while (s->nthreads < s->prefetch) {
		if (pthread_create(&s->threads[s->nthreads], NULL, worker, s) != 0)
			break; /* fewer helpers: still correct */
		s->nthreads++;
	}
}

/* Takes a prefetched object for `full` into out if there is one (under mu):
 * 1 when out holds it. Queues the next ones either way. */
static int take_prefetched(struct s3_source *s, const char *full, struct tpq_buf *out)
{
	size_t index;
	int got = 0;
	if (!find_index(s, full, &index))
		return 0;
	/* read now, here or from a slot: a later schedule() must not fetch it again (another
	 * reader's window may still cover it) */
	s->taken[index] = 1;
	if (!s->nthreads)
		start_threads(s);
	struct slot *sl = slot_of(s, index);
	if (sl && sl->state == SLOT_QUEUED)
		sl->state = SLOT_EMPTY; /* not started: cheaper to fetch it here */
	unsigned gen = s->gen;
	while (sl && sl->state == SLOT_FETCHING && sl->index == index && sl->gen == gen)
		pthread_cond_wait(&s->done, &s->mu);
	if (sl && (sl->index != index || sl->gen != gen))
		sl = NULL; /* recycled meanwhile */
	if (sl && sl->state == SLOT_READY) {
		struct tpq_buf t = *out;
		*out = sl->data;
		sl->data = t;
		tpq_buf_reset(&sl->data);
		sl->state = SLOT_EMPTY;
		got = 1;
	} else if (sl && sl->state == SLOT_FAILED) {
		sl->state = SLOT_EMPTY;
	}
	schedule(s, index);
	return got;
}

static enum tpq_status src_read(struct tpq_source *base, const char *key, size_t pad, size_t max,
				struct tpq_buf *out, struct tpq_error *err)
{
	struct s3_source *s = (struct s3_source *)base;
	char *full = join(s->root, key);
	if (!full)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	enum tpq_status st = TPQ_OK;
	int got = 0;
	if (s->prefetch) {
		pthread_mutex_lock(&s->mu);
		got = take_prefetched(s, full, out);
		pthread_mutex_unlock(&s->mu);
	}
	if (got && out->len > max) {
		tpq_error_where(err, key);
		st = tpq_error_set(err, TPQ_ELIMIT, "s3://%s/%s: object larger than %zu bytes",
				   s->bucket, full, max);
		goto out;
	}
	if (!got && (st = tpq_s3_get(s->s3, s->bucket, full, max, out, NULL, err)) != TPQ_OK)
		goto out;
	if (tpq_buf_reserve(out, pad + 1)) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory reading s3://%s/%s", s->bucket, full);
		goto out;
	}
	memset(out->p + out->len, 0, pad + 1);
out:
	free(full);
	return st;
}

static void src_free(struct tpq_source *base)
{
	struct s3_source *s = (struct s3_source *)base;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->mu);
	for (unsigned i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	for (unsigned i = 0; i < MAX_PREFETCH; i++)
		tpq_buf_release(&s->slots[i].data);
	free_order(s->order, s->norder);
	free(s->taken);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->done);
	tpq_s3_free(s->s3);
	if (s->on_free)
		s->on_free(s->on_free_ctx);
	free(s);
}

struct tpq_source *tpq_source_s3_new(const char *url, const struct tpq_store_s3_options *o,
				     struct tpq_error *err)
{
	struct s3_source *s = calloc(1, sizeof(*s));
	if (!s) {
		if (o->on_free)
			o->on_free(o->on_free_ctx);
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	s->on_free = o->on_free;
	s->on_free_ctx = o->on_free_ctx;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	for (unsigned i = 0; i < MAX_PREFETCH; i++)
		tpq_buf_init(&s->slots[i].data);
	s->prefetch = o->prefetch > MAX_PREFETCH ? MAX_PREFETCH : o->prefetch;
	s->prefetch_max = o->prefetch_max_bytes ? o->prefetch_max_bytes : (size_t)64 << 20;
	if (tpq_s3_parse_url(url, s->bucket, sizeof(s->bucket), s->root, sizeof(s->root), err))
		goto fail;
	s->s3 = tpq_s3_new(&o->s3, err);
	if (!s->s3)
		goto fail;
	s->base.list = src_list;
	s->base.read = src_read;
	s->base.plan = src_plan;
	s->base.free = src_free;
	return &s->base;
fail:
	src_free(&s->base);
	return NULL;
}
