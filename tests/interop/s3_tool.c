/* A small command over the S3 client, the S3 source and the S3 store, driven
 * by tests/interop/s3_client.mjs against s3rver behind the SigV4-verifying
 * and fault-injecting proxies (all on 127.0.0.1).
 *
 *   s3_tool [options] COMMAND ARGS...
 *
 * Options: --endpoint URL (required), --region R (us-east-1), --attempts N,
 * --base-delay MS, --attempt-timeout MS, --access-key K, --secret S,
 * --token T, --part-size BYTES, --stats (prints "stats: requests R attempts A
 * retries T" on stderr at the end).
 *
 * Commands (bucket B, key K):
 *   mb B                          CreateBucket
 *   put B K FILE [--if-none-match] [--if-match ETAG]   prints the ETag
 *   putmany B PREFIX N            N small objects PREFIX000000 ... (content = key)
 *   get B K OUT                   whole object to OUT
 *   range B K OFF LEN OUT         bytes [OFF, OFF+LEN) to OUT, prints the total size
 *   head B K                      prints "SIZE ETAG"
 *   ls B [--prefix P] [--delim D] [--start-after S] [--max-keys N]
 *                                 prints "KEY<TAB>SIZE<TAB>ETAG" or "PRE<TAB>PREFIX"
 *   rm B K                        DeleteObject
 *   rmmany B PREFIX N             DeleteObjects of PREFIX000000 ... (N keys)
 *   rmkeys B K1 K2 ...            DeleteObjects of the keys given
 *   mpu B K FILE [--abort-after N] [--if-none-match]
 *                                 multipart upload (parts of --part-size); with
 *                                 --abort-after, N parts then free without completing
 *   sink URL/KEY FILE [--chunk N] [--no-close]
 *                                 store->create sink (s3://B/prefix), written in chunks
 *   sput URL KEY FILE [--if-absent]   store->put
 *   sget URL KEY OUT              store->get
 *   sls URL PREFIX [--delim] [--start-after S]   store->list, prints "KEY<TAB>SIZE"
 *   srcls URL PREFIX              source->list
 *   srcread URL KEY OUT [--prefetch N]   source->read (with read-ahead hint N)
 *   srcreadall URL PREFIX [--prefetch N] source->list then source->read of each object in
 *                                 listing order; checks each object holds its own full key
 *                                 (as putmany writes them), prints "read N objects"
 *
 * Exit status: 0 on success, else the tpq_status number (8 not found, 11
 * exists, ...) with "error: STATUS: MESSAGE [where]" on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store.h"
#include "io/store_s3.h"
#include "s3/s3.h"
#include "util/error.h"

static const char *access_key = "S3RVER", *secret = "S3RVER", *token = "";

static enum tpq_status creds(void *ctx, struct tpq_s3_credentials *out, struct tpq_error *err)
{
	snprintf(out->access_key_id, sizeof(out->access_key_id), "%s", access_key);
	snprintf(out->secret_access_key, sizeof(out->secret_access_key), "%s", secret);
	snprintf(out->session_token, sizeof(out->session_token), "%s", token);
	return TPQ_OK;
}

static int read_file(const char *path, struct tpq_buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		tpq_buf_put(b, tmp, n);
	fclose(f);
	return tpq_buf_status(b) ? -1 : 0;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int rc = fwrite(p, 1, n, f) == n ? 0 : -1;
	return fclose(f) || rc ? -1 : 0;
}

/* Finds "--name" in argv[from..] and returns the argument after it (or "" for a flag). */
static const char *opt(int argc, char **argv, int from, const char *name, int has_arg)
{
	for (int i = from; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return has_arg ? (i + 1 < argc ? argv[i + 1] : NULL) : "";
	return NULL;
}

static int print_obj(void *ctx, const struct tpq_s3_object *o)
{
	if (o->is_prefix)
		printf("PRE\t%s\n", o->key);
	else
		printf("%s\t%llu\t%s\n", o->key, (unsigned long long)o->size, o->etag);
	return 0;
}

static int print_store_obj(void *ctx, const struct tpq_object *o)
{
	printf("%s\t%llu\n", o->key, (unsigned long long)o->size);
	return 0;
}

struct keys {
	char **v;
	size_t n, cap;
};

static int collect_key(void *ctx, const struct tpq_object *o)
{
	struct keys *k = ctx;
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 256;
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
	}
	k->v[k->n++] = strdup(o->key);
	return 0;
}

static void key_of(char *out, size_t cap, const char *prefix, long i)
{
	snprintf(out, cap, "%s%06ld", prefix, i);
}

int main(int argc, char **argv)
{
	struct tpq_s3_options o;
	tpq_s3_options_init(&o);
	o.region = "us-east-1";
	o.path_style = 1;
	o.get_creds = creds;
	int i = 1, stats = 0;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *name = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (strcmp(name, "--stats") == 0) {
			stats = 1;
			i--;
		} else if (strcmp(name, "--endpoint") == 0) {
			o.endpoint = v;
		} else if (strcmp(name, "--region") == 0) {
			o.region = v;
		} else if (strcmp(name, "--attempts") == 0) {
			o.http.max_attempts = (unsigned)atoi(v);
		} else if (strcmp(name, "--base-delay") == 0) {
			o.http.base_delay_ms = (unsigned)atoi(v);
		} else if (strcmp(name, "--attempt-timeout") == 0) {
			o.http.attempt_timeout_ms = atol(v);
		} else if (strcmp(name, "--access-key") == 0) {
			access_key = v;
		} else if (strcmp(name, "--secret") == 0) {
			secret = v;
		} else if (strcmp(name, "--token") == 0) {
			token = v;
		} else if (strcmp(name, "--part-size") == 0) {
			o.part_size = (size_t)atol(v);
		} else {
			fprintf(stderr, "unknown option %s\n", name);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: s3_tool [options] COMMAND ARGS...\n");
		return 2;
	}
	const char *cmd = argv[i];
	char **a = argv + i + 1;
	int na = argc - i - 1;
	struct tpq_error err;
	tpq_error_clear(&err);
	enum tpq_status st = TPQ_OK;
	struct tpq_buf b;
	tpq_buf_init(&b);
	struct tpq_s3 *s = NULL;
	struct tpq_store *store = NULL;
	struct tpq_source *src = NULL;

	int store_cmd = strcmp(cmd, "sink") == 0 || strcmp(cmd, "sput") == 0 ||
			strcmp(cmd, "sget") == 0 || strcmp(cmd, "sls") == 0;
	if (store_cmd) {
		struct tpq_store_s3_options so;
		tpq_store_s3_options_init(&so);
		so.s3 = o;
		store = na >= 1 ? tpq_store_s3_new(a[0], &so, &err) : NULL;
		if (!store)
			goto done;
	} else if (strncmp(cmd, "src", 3) == 0) {
		struct tpq_store_s3_options so;
		tpq_store_s3_options_init(&so);
		so.s3 = o;
		const char *pf = opt(argc, argv, i, "--prefetch", 1);
		so.prefetch = pf ? (unsigned)atoi(pf) : 0;
		src = na >= 1 ? tpq_source_s3_new(a[0], &so, &err) : NULL;
		if (!src)
			goto done;
	} else {
		s = tpq_s3_new(&o, &err);
		if (!s)
			goto done;
	}

	if (strcmp(cmd, "mb") == 0 && na >= 1) {
		st = tpq_s3_create_bucket(s, a[0], &err);
	} else if (strcmp(cmd, "put") == 0 && na >= 3) {
		struct tpq_s3_put_options po = {0};
		if (opt(argc, argv, i, "--if-none-match", 0))
			po.flags |= TPQ_S3_IF_NONE_MATCH;
		if ((po.if_match_etag = opt(argc, argv, i, "--if-match", 1)))
			po.flags |= TPQ_S3_IF_MATCH;
		char etag[128] = "";
		if (read_file(a[2], &b))
			return fprintf(stderr, "cannot read %s\n", a[2]), 2;
		st = tpq_s3_put(s, a[0], a[1], b.p, b.len, &po, etag, &err);
		if (!st)
			printf("%s\n", etag);
	} else if (strcmp(cmd, "putmany") == 0 && na >= 3) {
		long n = atol(a[2]);
		for (long k = 0; k < n && !st; k++) {
			char key[512];
			key_of(key, sizeof(key), a[1], k);
			st = tpq_s3_put(s, a[0], key, key, strlen(key), NULL, NULL, &err);
		}
	} else if (strcmp(cmd, "get") == 0 && na >= 3) {
		struct tpq_s3_head h;
		st = tpq_s3_get(s, a[0], a[1], 0, &b, &h, &err);
		if (!st && write_file(a[2], b.p, b.len))
			return fprintf(stderr, "cannot write %s\n", a[2]), 2;
		if (!st)
			printf("%zu %s\n", b.len, h.etag);
	} else if (strcmp(cmd, "range") == 0 && na >= 5) {
		uint64_t total = 0;
		st = tpq_s3_get_range(s, a[0], a[1], strtoull(a[2], NULL, 10),
				      (size_t)strtoull(a[3], NULL, 10), &b, &total, &err);
		if (!st && write_file(a[4], b.p, b.len))
			return fprintf(stderr, "cannot write %s\n", a[4]), 2;
		if (!st)
			printf("%zu %llu\n", b.len, (unsigned long long)total);
	} else if (strcmp(cmd, "head") == 0 && na >= 2) {
		struct tpq_s3_head h;
		st = tpq_s3_head(s, a[0], a[1], &h, &err);
		if (!st)
			printf("%llu %s %lld\n", (unsigned long long)h.size, h.etag,
			       (long long)(h.mtime_ns / 1000000000));
	} else if (strcmp(cmd, "ls") == 0 && na >= 1) {
		struct tpq_s3_list_options lo = {0};
		lo.prefix = opt(argc, argv, i, "--prefix", 1);
		lo.delimiter = opt(argc, argv, i, "--delim", 1);
		lo.start_after = opt(argc, argv, i, "--start-after", 1);
		const char *mk = opt(argc, argv, i, "--max-keys", 1);
		lo.max_keys = mk ? (unsigned)atoi(mk) : 0;
		st = tpq_s3_list(s, a[0], &lo, print_obj, NULL, &err);
	} else if (strcmp(cmd, "rm") == 0 && na >= 2) {
		st = tpq_s3_delete(s, a[0], a[1], &err);
	} else if ((strcmp(cmd, "rmmany") == 0 && na >= 3) || (strcmp(cmd, "rmkeys") == 0 && na >= 2)) {
		int many = cmd[2] == 'm';
		size_t n = many ? (size_t)atol(a[2]) : (size_t)(na - 1);
		char **keys = calloc(n ? n : 1, sizeof(*keys));
		for (size_t k = 0; k < n; k++) {
			if (many) {
				keys[k] = malloc(512);
				key_of(keys[k], 512, a[1], (long)k);
			} else {
				keys[k] = strdup(a[1 + k]);
			}
		}
		size_t failed = 0;
		st = tpq_s3_delete_objects(s, a[0], (const char *const *)keys, n, &failed, &err);
		printf("failed %zu\n", failed);
		for (size_t k = 0; k < n; k++)
			free(keys[k]);
		free(keys);
	} else if (strcmp(cmd, "mpu") == 0 && na >= 3) {
		if (read_file(a[2], &b))
			return fprintf(stderr, "cannot read %s\n", a[2]), 2;
		const char *ab = opt(argc, argv, i, "--abort-after", 1);
		struct tpq_s3_put_options po = {0};
		if (opt(argc, argv, i, "--if-none-match", 0))
			po.flags |= TPQ_S3_IF_NONE_MATCH;
		struct tpq_s3_upload *u = NULL;
		st = tpq_s3_upload_new(s, a[0], a[1], &po, &u, &err);
		size_t ps = tpq_s3_part_size(s), off = 0;
		long limit = ab ? atol(ab) : -1;
		while (!st && b.len - off > ps && (limit < 0 || (long)tpq_s3_upload_parts(u) < limit)) {
			st = tpq_s3_upload_part(u, b.p + off, ps, &err);
			off += ps;
		}
		char etag[128] = "";
		if (!st && limit < 0) {
			st = tpq_s3_upload_complete(u, b.p + off, b.len - off, etag, &err);
			if (!st)
				printf("%s %u\n", etag, tpq_s3_upload_parts(u));
		} else if (!st) {
			printf("abandoned after %u parts\n", tpq_s3_upload_parts(u));
		}
		tpq_s3_upload_free(u);
	} else if (strcmp(cmd, "sink") == 0 && na >= 3) {
		if (read_file(a[2], &b))
			return fprintf(stderr, "cannot read %s\n", a[2]), 2;
		const char *ch = opt(argc, argv, i, "--chunk", 1);
		size_t chunk = ch ? (size_t)atol(ch) : 1 << 20;
		struct tpq_sink *k = store->create(store, a[1], &err);
		if (!k) {
			st = err.status;
		} else {
			for (size_t off = 0; off < b.len && !st; off += chunk)
				st = tpq_sink_write(k, b.p + off, b.len - off < chunk ? b.len - off : chunk,
						    &err);
			if (!st && !opt(argc, argv, i, "--no-close", 0))
				st = k->close(k, &err);
			if (!st)
				printf("wrote %llu\n", (unsigned long long)k->written);
			k->free(k);
		}
	} else if (strcmp(cmd, "sput") == 0 && na >= 3) {
		if (read_file(a[2], &b))
			return fprintf(stderr, "cannot read %s\n", a[2]), 2;
		st = store->put(store, a[1], b.p, b.len,
				opt(argc, argv, i, "--if-absent", 0) ? TPQ_PUT_IF_ABSENT : 0, &err);
	} else if (strcmp(cmd, "sget") == 0 && na >= 3) {
		st = store->get(store, a[1], &b, &err);
		if (!st && write_file(a[2], b.p, b.len))
			return fprintf(stderr, "cannot write %s\n", a[2]), 2;
	} else if (strcmp(cmd, "sls") == 0 && na >= 2) {
		st = store->list(store, a[1], opt(argc, argv, i, "--delim", 0) ? TPQ_LIST_DELIM : 0,
				 opt(argc, argv, i, "--start-after", 1), print_store_obj, NULL, &err);
	} else if (strcmp(cmd, "srcls") == 0 && na >= 2) {
		st = src->list(src, a[1], 0, NULL, print_store_obj, NULL, &err);
	} else if (strcmp(cmd, "srcread") == 0 && na >= 3) {
		st = src->read(src, a[1], 16, (size_t)1 << 30, &b, &err);
		if (!st && write_file(a[2], b.p, b.len))
			return fprintf(stderr, "cannot write %s\n", a[2]), 2;
		if (!st)
			printf("%zu\n", b.len);
	} else if (strcmp(cmd, "srcreadall") == 0 && na >= 2) {
		struct keys ks = {0};
		st = src->list(src, a[1], 0, NULL, collect_key, &ks, &err);
		size_t bad = 0;
		for (size_t k = 0; k < ks.n && !st; k++) {
			st = src->read(src, ks.v[k], 16, (size_t)1 << 30, &b, &err);
			/* putmany's content is the full key: root prefix + relative key */
			size_t kl = strlen(ks.v[k]);
			if (!st && (b.len < kl || memcmp(b.p + b.len - kl, ks.v[k], kl) != 0 ||
				    b.p[b.len] != 0))
				bad++;
		}
		if (!st)
			printf("read %zu objects, %zu wrong\n", ks.n, bad);
		if (!st && bad)
			st = TPQ_ECORRUPT;
		for (size_t k = 0; k < ks.n; k++)
			free(ks.v[k]);
		free(ks.v);
	} else {
		fprintf(stderr, "bad command or arguments: %s\n", cmd);
		return 2;
	}
done:
	if (!st && err.status)
		st = err.status;
	if (stats && s) {
		struct tpq_http_stats hs;
		tpq_s3_stats(s, &hs);
		fprintf(stderr, "stats: requests %llu attempts %llu retries %llu\n",
			(unsigned long long)hs.requests, (unsigned long long)hs.attempts,
			(unsigned long long)hs.retries);
	}
	if (st)
		fprintf(stderr, "error: %s: %s [%s]\n", tpq_status_str(st), err.msg, err.where);
	tpq_buf_release(&b);
	if (store)
		store->free(store);
	if (src)
		src->free(src);
	tpq_s3_free(s);
	return (int)st;
}
