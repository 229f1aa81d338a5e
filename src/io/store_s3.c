/* The S3 store (see io/store_s3.h). Each operation is one S3 client call on
 * root + key; the sink holds at most one part in memory and decides at the
 * first overflow whether the object becomes a multipart upload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store_s3.h"
#include "util/error.h"

void tpq_store_s3_options_init(struct tpq_store_s3_options *o)
{
	memset(o, 0, sizeof(*o));
	tpq_s3_options_init(&o->s3);
	o->prefetch_max_bytes = (size_t)64 << 20;
}

/* ---- the shared list adapter ---- */

struct list_ctx {
	size_t root_len;
	tpq_list_fn fn;
	void *ctx;
};

static int list_one(void *ctx, const struct tpq_s3_object *o)
{
	struct list_ctx *l = ctx;
	if (strlen(o->key) <= l->root_len)
		return 0; /* the root itself ("logs/" under root "logs/") is no object of ours */
	struct tpq_object obj = {
		.key = o->key + l->root_len, .size = o->size, .mtime_ns = o->mtime_ns,
		.etag = o->etag,
	};
	return l->fn(l->ctx, &obj);
}

enum tpq_status tpq__s3_list(struct tpq_s3 *s, const char *bucket, const char *root,
			     const char *prefix, unsigned flags, const char *start_after,
			     tpq_list_fn fn, void *ctx, struct tpq_error *err)
{
	size_t rl = strlen(root);
	char *full_prefix = malloc(rl + strlen(prefix ? prefix : "") + 1);
	char *full_after = start_after ? malloc(rl + strlen(start_after) + 1) : NULL;
	enum tpq_status st;
	if (!full_prefix || (start_after && !full_after)) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto out;
	}
	sprintf(full_prefix, "%s%s", root, prefix ? prefix : "");
	if (full_after)
		sprintf(full_after, "%s%s", root, start_after);
	struct tpq_s3_list_options lo = {
		.prefix = full_prefix,
		.delimiter = (flags & TPQ_LIST_DELIM) ? "/" : NULL,
		.start_after = full_after,
	};
	struct list_ctx l = {.root_len = rl, .fn = fn, .ctx = ctx};
	st = tpq_s3_list(s, bucket, &lo, list_one, &l, err);
out:
	free(full_prefix);
	free(full_after);
	return st;
}

/* ---- the store ---- */

struct s3_store {
	struct tpq_store base;
	struct tpq_s3 *s3;
	void (*on_free)(void *ctx);
	void *on_free_ctx;
	char bucket[64];
	char root[1024];
	char name[1200];
};

/* root + key, or NULL (err set) for an empty or absolute key. */
static char *full_key(const struct s3_store *st, const char *key, struct tpq_error *err)
{
	if (!key || !*key || key[0] == '/') {
		tpq_error_where(err, key);
		tpq_error_set(err, TPQ_EINVAL, "not a valid object key");
		return NULL;
	}
	size_t n = strlen(st->root) + strlen(key) + 1;
	char *k = malloc(n);
	if (!k)
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	else
		snprintf(k, n, "%s%s", st->root, key);
	return k;
}

static enum tpq_status put_any(struct tpq_s3 *s3, const char *bucket, const char *key,
			       const uint8_t *p, size_t n, unsigned s3flags, struct tpq_error *err)
{
	struct tpq_s3_put_options po = {.flags = s3flags};
	size_t ps = tpq_s3_part_size(s3);
	if (n <= ps)
		return tpq_s3_put(s3, bucket, key, p, n, &po, NULL, err);
	struct tpq_s3_upload *u;
	enum tpq_status st = tpq_s3_upload_new(s3, bucket, key, &po, &u, err);
	if (st)
		return st;
	size_t off = 0;
	while (!st && n - off > ps) {
		st = tpq_s3_upload_part(u, p + off, ps, err);
		off += ps;
	}
	if (!st)
		st = tpq_s3_upload_complete(u, p + off, n - off, NULL, err);
	tpq_s3_upload_free(u);
	return st;
}

static enum tpq_status s3_put(struct tpq_store *s, const char *key, const void *p, size_t n,
			      unsigned flags, struct tpq_error *err)
{
	struct s3_store *st = (struct s3_store *)s;
	char *k = full_key(st, key, err);
	if (!k)
		return err ? err->status : TPQ_EINVAL;
	enum tpq_status rc = put_any(st->s3, st->bucket, k, p, n,
				     (flags & TPQ_PUT_IF_ABSENT) ? TPQ_S3_IF_NONE_MATCH : 0, err);
	free(k);
	return rc;
}

static enum tpq_status s3_get(struct tpq_store *s, const char *key, struct tpq_buf *out,
			      struct tpq_error *err)
{
	struct s3_store *st = (struct s3_store *)s;
	char *k = full_key(st, key, err);
	if (!k)
		return err ? err->status : TPQ_EINVAL;
	enum tpq_status rc = tpq_s3_get(st->s3, st->bucket, k, 0, out, NULL, err);
	free(k);
	return rc;
}

static enum tpq_status s3_list(struct tpq_store *s, const char *prefix, unsigned flags,
			       const char *start_after, tpq_list_fn fn, void *ctx,
			       struct tpq_error *err)
{
	struct s3_store *st = (struct s3_store *)s;
	return tpq__s3_list(st->s3, st->bucket, st->root, prefix, flags, start_after, fn, ctx, err);
}

static enum tpq_status s3_del(struct tpq_store *s, const char *key, struct tpq_error *err)
{
	struct s3_store *st = (struct s3_store *)s;
	char *k = full_key(st, key, err);
	if (!k)
		return err ? err->status : TPQ_EINVAL;
	enum tpq_status rc = tpq_s3_delete(st->s3, st->bucket, k, err);
	free(k);
	return rc;
}

static const char *s3_name(struct tpq_store *s)
{
	return ((struct s3_store *)s)->name;
}

/* ---- the sink: one part buffered, multipart past it ---- */

struct s3_sink {
	struct tpq_sink base;
	struct s3_store *store;
	char *key;
	uint8_t *buf;
	size_t len, part;
	struct tpq_s3_upload *upload;
	enum tpq_status failed;
	int closed;
};

static enum tpq_status sink_write(struct tpq_sink *k, const void *p, size_t n,
				  struct tpq_error *err)
{
	struct s3_sink *s = (struct s3_sink *)k;
	const uint8_t *q = p;
	if (s->failed || s->closed)
		return tpq_error_set(err, s->failed ? s->failed : TPQ_EINVAL,
				     "s3://%s/%s: write after a failure or close", s->store->bucket, s->key);
	while (n > 0) {
		if (s->len == s->part) {
			/* The buffer is full and more is coming: this object is a
			 * multipart upload, and the buffer its next part. */
			enum tpq_status st = TPQ_OK;
			if (!s->upload)
				st = tpq_s3_upload_new(s->store->s3, s->store->bucket, s->key, NULL,
						       &s->upload, err);
			if (!st)
				st = tpq_s3_upload_part(s->upload, s->buf, s->len, err);
			if (st)
				return s->failed = st;
			s->len = 0;
		}
		size_t take = s->part - s->len < n ? s->part - s->len : n;
		memcpy(s->buf + s->len, q, take);
		s->len += take;
		q += take;
		n -= take;
	}
	return TPQ_OK;
}

static enum tpq_status sink_close(struct tpq_sink *k, struct tpq_error *err)
{
	struct s3_sink *s = (struct s3_sink *)k;
	if (s->failed || s->closed)
		return tpq_error_set(err, s->failed ? s->failed : TPQ_EINVAL,
				     "s3://%s/%s: close after a failure or twice", s->store->bucket, s->key);
	enum tpq_status st;
	if (s->upload)
		st = tpq_s3_upload_complete(s->upload, s->buf, s->len, NULL, err);
	else
		st = tpq_s3_put(s->store->s3, s->store->bucket, s->key, s->buf, s->len, NULL, NULL,
				err);
	if (st)
		s->failed = st;
	else
		s->closed = 1;
	return st;
}

static void sink_free(struct tpq_sink *k)
{
	struct s3_sink *s = (struct s3_sink *)k;
	if (!s)
		return;
	tpq_s3_upload_free(s->upload); /* aborts an upload that was not completed */
	free(s->buf);
	free(s->key);
	free(s);
}

static struct tpq_sink *s3_create(struct tpq_store *s, const char *key, struct tpq_error *err)
{
	struct s3_store *st = (struct s3_store *)s;
	struct s3_sink *k = calloc(1, sizeof(*k));
	if (!k) {
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	k->store = st;
	k->part = tpq_s3_part_size(st->s3);
	k->key = full_key(st, key, err);
	k->buf = k->key ? malloc(k->part) : NULL;
	if (!k->buf) {
		if (k->key)
			tpq_error_set(err, TPQ_ENOMEM, "out of memory for a %zu-byte part", k->part);
		sink_free(&k->base);
		return NULL;
	}
	k->base.write = sink_write;
	k->base.close = sink_close;
	k->base.free = sink_free;
	return &k->base;
}

static void s3_free(struct tpq_store *s)
{
	struct s3_store *st = (struct s3_store *)s;
	if (!st)
		return;
	tpq_s3_free(st->s3);
	if (st->on_free)
		st->on_free(st->on_free_ctx);
	free(st);
}

struct tpq_store *tpq_store_s3_new(const char *url, const struct tpq_store_s3_options *o,
				   struct tpq_error *err)
{
	struct s3_store *st = calloc(1, sizeof(*st));
	if (!st) {
		if (o->on_free)
			o->on_free(o->on_free_ctx);
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	st->on_free = o->on_free;
	st->on_free_ctx = o->on_free_ctx;
	if (tpq_s3_parse_url(url, st->bucket, sizeof(st->bucket), st->root, sizeof(st->root), err))
		goto fail;
	snprintf(st->name, sizeof(st->name), "s3://%s/%s", st->bucket, st->root);
	st->s3 = tpq_s3_new(&o->s3, err);
	if (!st->s3)
		goto fail;
	st->base.put = s3_put;
	st->base.get = s3_get;
	st->base.list = s3_list;
	st->base.del = s3_del;
	st->base.create = s3_create;
	st->base.name = s3_name;
	st->base.free = s3_free;
	return &st->base;
fail:
	s3_free(&st->base);
	return NULL;
}
