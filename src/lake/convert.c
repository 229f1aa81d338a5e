/* The conversion run (see convert.h).
 *
 * Invariants:
 * - A file's records reach a partition only after tpq_ct_split validated the
 *   whole file, so a damaged file contributes nothing (it is rejected whole).
 * - Records keep pointing into their file's inflated buffer, which lives until
 *   the run ends; nothing is copied per record.
 * - Within a partition the order is total (eventtime, eventID, content hash,
 *   file order, record order), so duplicates are adjacent and the output is
 *   the same whatever the number of threads.
 * - Output files appear under their final name only complete and durable:
 *   written to a hidden temporary name, fsynced, renamed, directory fsynced.
 *
 * Memory today grows with the input (all inflated files are kept until the
 * write stage); spilling sorted runs is the next step (the speed issue). */
#include "lake/convert.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cloudtrail/records.h"
#include "cloudtrail/shred.h"
#include "codec/codec.h"
#include "io/sink.h"
#include "io/source.h"
#include "parquet/writer.h"
#include "util/civil.h"
#include "util/error.h"
#include "util/fault.h"

#define MAX_OBJECT_BYTES ((size_t)1 << 32)   /* compressed */
#define MAX_JSON_BYTES ((size_t)4 << 30)      /* inflated: record offsets are 32-bit */

void tpq_convert_options_init(struct tpq_convert_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = TPQ_CODEC_ZSTD;
}

struct file {
	char *key;
	struct tpq_key_info info;
	uint64_t size;
	uint8_t *json;       /* inflated, padded; kept until the end */
};

struct rec {
	const uint8_t *p;
	uint32_t len;
	uint32_t file;
	uint32_t idx;
	int64_t ms;
	const uint8_t *id;
	uint32_t id_len;
	bool has_id;
	uint64_t hash[2];
};

struct part_key {
	int kind;
	char account[13];
	char region[32];
	int y, m, d;
};

struct part {
	struct part_key key;
	struct rec *v;
	size_t n, cap;
};

struct part_map {
	struct part *v;
	size_t n, cap;
	uint32_t *slots;     /* index + 1 */
	size_t n_slots;
};

struct run;

struct worker {
	struct run *run;
	pthread_t th;
	struct tpq_codec_ctx *codec;
	struct tpq_ct_records recs;
	struct tpq_buf raw, json;
	struct part_map parts;
	struct tpq_ct_shredder *shredder;
	struct tpq_pw *pw;        /* the write stage's writer, reset for each file */
	enum tpq_status err;
	struct tpq_error error;
};

struct run {
	const char *dst;
	const struct tpq_convert_options *opt;
	struct tpq_source *src;
	struct file *files;
	size_t n_files, cap_files;
	atomic_size_t next;
	struct part **gparts;   /* write stage: merged partitions, sorted by key */
	size_t n_gparts;
	struct tpq_ct_table *table;
	char run_id[96];
	pthread_mutex_t lock;   /* stats merge, reject callback, first fatal error */
	struct tpq_convert_stats *st;
	atomic_bool stop;
	atomic_int stage;        /* 0 read, 1 write, 2 done: for the progress monitor */
	atomic_size_t done;      /* files or partitions finished in the stage */
	enum tpq_status fatal;
	struct tpq_error fatal_err;
};

static void set_fatal(struct run *r, enum tpq_status st, const struct tpq_error *e)
{
	pthread_mutex_lock(&r->lock);
	if (!r->fatal) {
		r->fatal = st;
		if (e)
			r->fatal_err = *e;
	}
	atomic_store(&r->stop, true);
	pthread_mutex_unlock(&r->lock);
}

/* ---- partitions ---- */

static uint64_t key_hash(const struct part_key *k)
{
	uint64_t h = 1469598103934665603ULL;
	const uint8_t *p = (const uint8_t *)k;
	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static int key_cmp(const struct part_key *a, const struct part_key *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	int c = strcmp(a->account, b->account);
	if (c)
		return c;
	c = strcmp(a->region, b->region);
	if (c)
		return c;
	int da = a->y * 10000 + a->m * 100 + a->d, db = b->y * 10000 + b->m * 100 + b->d;
	return da < db ? -1 : da > db;
}

static struct part *part_get(struct part_map *m, const struct part_key *k)
{
	if ((m->n + 1) * 2 > m->n_slots) {
		size_t ns = m->n_slots ? m->n_slots * 2 : 64;
		uint32_t *s = calloc(ns, sizeof(uint32_t));
		if (!s)
			return NULL;
		for (size_t i = 0; i < m->n; i++) {
			size_t j = key_hash(&m->v[i].key) & (ns - 1);
			while (s[j])
				j = (j + 1) & (ns - 1);
			s[j] = (uint32_t)i + 1;
		}
		free(m->slots);
		m->slots = s;
		m->n_slots = ns;
	}
	size_t j = key_hash(k) & (m->n_slots - 1);
	while (m->slots[j]) {
		struct part *p = &m->v[m->slots[j] - 1];
		if (memcmp(&p->key, k, sizeof(*k)) == 0)
			return p;
		j = (j + 1) & (m->n_slots - 1);
	}
	if (m->n == m->cap) {
		size_t c = m->cap ? m->cap * 2 : 16;
		struct part *v = realloc(m->v, c * sizeof(*v));
		if (!v)
			return NULL;
		m->v = v;
		m->cap = c;
	}
	struct part *p = &m->v[m->n];
	memset(p, 0, sizeof(*p));
	p->key = *k;
	m->slots[j] = (uint32_t)++m->n;
	return p;
}

/* ---- the read stage ---- */

static int mkdirs(char *path);

/* Copies a rejected object to DIR/<key>. Returns 0, or -1 with errno set. */
static int quarantine(struct worker *w, const char *dir, const char *key)
{
	struct run *r = w->run;
	char path[8192];
	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *slash = strrchr(path, '/');
	*slash = '\0';
	int rc = mkdirs(path);
	*slash = '/';
	if (rc)
		return -1;
	struct tpq_error e2;
	tpq_error_clear(&e2);
	if (r->src->read(r->src, key, 0, MAX_OBJECT_BYTES, &w->raw, &e2) != TPQ_OK) {
		errno = e2.sys_errno ? e2.sys_errno : EIO;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < w->raw.len) {
		ssize_t wr = write(fd, w->raw.p + off, w->raw.len - off);
		if (wr < 0 && errno == EINTR)
			continue;
		if (wr <= 0) {
			int saved = errno;
			close(fd);
			errno = saved ? saved : EIO;
			return -1;
		}
		off += (size_t)wr;
	}
	return close(fd);
}

static void reject(struct worker *w, struct file *f, struct tpq_error *e)
{
	struct run *r = w->run;
	if (r->opt->quarantine_dir && quarantine(w, r->opt->quarantine_dir, f->key) != 0) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, "; not quarantined: %s", strerror(errno));
	}
	pthread_mutex_lock(&r->lock);
	r->st->files_rejected++;
	if (r->opt->on_reject)
		r->opt->on_reject(r->opt->ctx, f->key, e);
	pthread_mutex_unlock(&r->lock);
}

static enum tpq_status read_file(struct worker *w, struct file *f, struct tpq_error *e)
{
	struct run *r = w->run;
	enum tpq_status st = r->src->read(r->src, f->key, TPQ_CT_PAD, MAX_OBJECT_BYTES, &w->raw, e);
	if (st)
		return st;
	if (w->raw.len == 0)
		return tpq_error_set(e, TPQ_ECORRUPT, "empty file: not CloudTrail data");
	size_t raw_len = w->raw.len;
	struct tpq_buf *json = &w->raw;
	bool gz = w->raw.len >= 2 && w->raw.p[0] == 0x1f && w->raw.p[1] == 0x8b;
	if (gz) {
		st = tpq_gunzip(w->codec, w->raw.p, w->raw.len, MAX_JSON_BYTES, &w->json, e);
		if (st)
			return st;
		if (tpq_buf_reserve(&w->json, TPQ_CT_PAD))
			return tpq_error_set(e, TPQ_ENOMEM, "out of memory");
		memset(w->json.p + w->json.len, 0, TPQ_CT_PAD);
		json = &w->json;
	} else if (f->info.gzip) {
		return tpq_error_set(e, TPQ_ECORRUPT, "not gzip data (bad magic) at byte 0");
	}
	if (json->len >= MAX_JSON_BYTES)
		return tpq_error_set(e, TPQ_ELIMIT, "file larger than 4 GiB of JSON");
	st = tpq_ct_split(json->p, json->len, &w->recs, e);
	if (st)
		return st;
	/* keep the JSON (with its zeroed padding): take the buffer itself, the
	 * next file grows a new one */
	size_t len = json->len;
	uint8_t *keep = tpq_buf_detach(json, NULL);
	f->json = keep;
	uint32_t fi = (uint32_t)(f - r->files);
	for (size_t i = 0; i < w->recs.n; i++) {
		const struct tpq_ct_record *c = &w->recs.v[i];
		struct part_key k;
		memset(&k, 0, sizeof(k));
		k.kind = f->info.kind;
		memcpy(k.account, f->info.account, sizeof(k.account));
		memcpy(k.region, f->info.region, sizeof(k.region));
		/* k.y stays 0 (memset) when eventTime is unusable or its UTC year has
		 * no four-digit partition value: then the delivery day is used */
		if (c->event_ms != INT64_MIN) {
			int64_t y;
			tpq_civil_from_days(tpq_days_from_ms(c->event_ms), &y, &k.m, &k.d);
			k.y = y < 1 || y > 9999 ? 0 : (int)y;
		}
		if (k.y == 0) {
			k.y = f->info.year;
			k.m = f->info.month;
			k.d = f->info.day;
		}
		struct part *p = part_get(&w->parts, &k);
		if (!p || (p->n == p->cap && !(p->v = realloc(p->v, (p->cap = p->cap ? p->cap * 2 : 256) *
								     sizeof(struct rec)))))
			return tpq_error_set(e, TPQ_ENOMEM, "out of memory");
		p->v[p->n++] = (struct rec){
			.p = keep + c->off, .len = c->len, .file = fi, .idx = (uint32_t)i, .ms = c->event_ms,
			.id = keep + c->id_off, .id_len = c->id_len, .has_id = c->has_id,
			.hash = {c->hash[0], c->hash[1]},
		};
	}
	pthread_mutex_lock(&r->lock);
	r->st->files_converted++;
	r->st->records += w->recs.n;
	r->st->bytes_in += raw_len;
	r->st->bytes_json += len;
	pthread_mutex_unlock(&r->lock);
	return TPQ_OK;
}

static void *read_stage(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	while (!atomic_load(&r->stop)) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (i >= r->n_files)
			break;
		struct file *f = &r->files[i];
		struct tpq_error e;
		tpq_error_clear(&e);
		enum tpq_status st = read_file(w, f, &e);
		if (st == TPQ_ENOMEM) {
			set_fatal(r, st, &e);
			break;
		}
		if (st)
			reject(w, f, &e);
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

/* ---- the write stage ---- */

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	if (x->has_id != y->has_id)
		return x->has_id ? 1 : -1;
	size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
	int c = n ? memcmp(x->id, y->id, n) : 0;
	if (c)
		return c;
	if (x->id_len != y->id_len)
		return x->id_len < y->id_len ? -1 : 1;
	for (int k = 0; k < 2; k++)
		if (x->hash[k] != y->hash[k])
			return x->hash[k] < y->hash[k] ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool same_event(const struct rec *a, const struct rec *b)
{
	return a->has_id && b->has_id && a->ms == b->ms && a->id_len == b->id_len &&
	       a->hash[0] == b->hash[0] && a->hash[1] == b->hash[1] &&
	       memcmp(a->id, b->id, a->id_len) == 0;
}

static int mkdirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			*s = '/';
			return -1;
		}
		*s = '/';
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = tpq_fault_hit(TPQ_FAULT_FSYNC) ? -1 : fsync(fd);
	close(fd);
	return rc;
}

static enum tpq_status write_part(struct worker *w, size_t pi, struct tpq_error *e)
{
	struct run *r = w->run;
	struct part *p = r->gparts[pi];
	qsort(p->v, p->n, sizeof(struct rec), rec_cmp);
	size_t keep = 0, dups = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (keep > 0 && same_event(&p->v[keep - 1], &p->v[i])) {
			dups++;
			continue;
		}
		p->v[keep++] = p->v[i];
	}
	p->n = keep;
	char dir[4096], tmp[4096 + 192], fin[4096 + 192];
	snprintf(dir, sizeof(dir), "%s/%s/account=%s/region=%s/year=%04d/month=%02d/day=%02d", r->dst,
		 tpq_key_table((enum tpq_key_kind)p->key.kind), p->key.account, p->key.region, p->key.y,
		 p->key.m, p->key.d);
	if (mkdirs(dir)) {
		tpq_error_where(e, dir);
		return tpq_error_set(e, TPQ_EIO, "cannot create directory: %s", strerror(errno));
	}
	snprintf(tmp, sizeof(tmp), "%s/.part-%s-%05zu.parquet.tmp", dir, r->run_id, pi);
	snprintf(fin, sizeof(fin), "%s/part-%s-%05zu.parquet", dir, r->run_id, pi);
	struct tpq_sink *sink = tpq_sink_file_new(tmp, e);
	if (!sink)
		return e->status ? e->status : TPQ_EIO;
	struct tpq_pw_options po;
	tpq_pw_options_init(&po);
	po.codec = r->opt->codec;
	po.level = r->opt->level;
	po.codec_ctx = w->codec;
	if (r->opt->row_group_bytes)
		po.row_group_bytes = r->opt->row_group_bytes;
	char ver[16];
	snprintf(ver, sizeof(ver), "%d", TPQ_SCHEMA_VERSION);
	struct tpq_key_value kv[1] = {{(char *)"trailpq.schema_version", ver}};
	po.kv = kv;
	po.n_kv = 1;
	enum tpq_status st = TPQ_OK;
	/* One writer per worker: its buffers are grown (and faulted in) once,
	 * not per partition file. The options are the same for every file. */
	if (w->pw) {
		st = tpq_pw_reset(w->pw, sink, e);
		if (st)
			goto free_sink;
	} else if (!(w->pw = tpq_pw_new(tpq_ct_table_schema(r->table), &po, sink, e))) {
		st = e->status ? e->status : TPQ_ENOMEM;
		goto free_sink;
	}
	struct tpq_pw *pw = w->pw;
	for (size_t i = 0; i < p->n && st == TPQ_OK; i++) {
		st = tpq_ct_shred(w->shredder, pw, p->v[i].p, p->v[i].len, e);
		if (st == TPQ_OK)
			st = tpq_pw_end_row(pw);
	}
	uint64_t bytes = 0;
	if (st == TPQ_OK)
		st = tpq_pw_finish(pw, &bytes, e);
	if (st) {
		tpq_error_where(e, tmp);
		goto free_sink;
	}
	if (tpq_fault_hit(TPQ_FAULT_RENAME) || rename(tmp, fin) != 0) {
		tpq_error_where(e, fin);
		st = tpq_error_set(e, TPQ_EIO, "cannot rename the finished file: %s", strerror(errno));
		goto free_sink;
	}
	if (fsync_dir(dir) != 0) {
		tpq_error_where(e, dir);
		st = tpq_error_set(e, TPQ_EIO, "cannot fsync directory: %s", strerror(errno));
		goto free_sink;
	}
	pthread_mutex_lock(&r->lock);
	r->st->duplicates += dups;
	int t = p->key.kind == TPQ_KEY_CLOUDTRAIL ? 0 : p->key.kind == TPQ_KEY_INSIGHT ? 1 : 2;
	r->st->rows_by_table[t] += p->n;
	r->st->files_written++;
	r->st->bytes_out += bytes;
	pthread_mutex_unlock(&r->lock);
free_sink:
	sink->free(sink);
	return st;
}

static void *write_stage(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	while (!atomic_load(&r->stop)) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (i >= r->n_gparts)
			break;
		struct tpq_error e;
		tpq_error_clear(&e);
		enum tpq_status st = write_part(w, i, &e);
		if (st) {
			set_fatal(r, st, &e);
			break;
		}
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

/* ---- listing ---- */

static int list_cb(void *ctx, const struct tpq_object *o)
{
	struct run *r = ctx;
	struct tpq_key_info info;
	tpq_key_classify(o->key, &info);
	r->st->objects++;
	r->st->files_by_kind[info.kind]++;
	if (!tpq_key_table(info.kind))
		return 0;
	int date = info.year * 10000 + info.month * 100 + info.day;
	if ((r->opt->since && date < r->opt->since) || (r->opt->until && date > r->opt->until)) {
		r->st->files_out_of_range++;
		return 0;
	}
	if (r->n_files == r->cap_files) {
		size_t c = r->cap_files ? r->cap_files * 2 : 256;
		struct file *f = realloc(r->files, c * sizeof(*f));
		if (!f)
			return 1;
		r->files = f;
		r->cap_files = c;
	}
	struct file *f = &r->files[r->n_files];
	memset(f, 0, sizeof(*f));
	f->key = strdup(o->key);
	if (!f->key)
		return 1;
	f->info = info;
	f->size = o->size;
	r->n_files++;
	return 0;
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->key, ((const struct file *)b)->key);
}

static int gpart_cmp(const void *a, const void *b)
{
	return key_cmp(&(*(struct part *const *)a)->key, &(*(struct part *const *)b)->key);
}

static void *monitor(void *arg)
{
	struct run *r = arg;
	while (atomic_load(&r->stage) < 2) {
		struct timespec ts = {0, 250 * 1000 * 1000};
		nanosleep(&ts, NULL);
		int stage = atomic_load(&r->stage);
		if (stage >= 2)
			break;
		struct tpq_convert_stats copy;
		pthread_mutex_lock(&r->lock);
		copy = *r->st;
		pthread_mutex_unlock(&r->lock);
		r->opt->on_progress(r->opt->ctx, stage ? "write" : "read", atomic_load(&r->done),
				    stage ? r->n_gparts : r->n_files, &copy);
	}
	return NULL;
}

static int run_stage(struct run *r, struct worker *ws, int n, void *(*fn)(void *))
{
	atomic_store(&r->next, 0);
	atomic_store(&r->done, 0);
	int started = 0;
	for (int i = 1; i < n; i++) {
		if (pthread_create(&ws[i].th, NULL, fn, &ws[i]) != 0)
			break;
		started = i;
	}
	fn(&ws[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(ws[i].th, NULL);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_run_id(char *out, size_t cap)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	uint32_t rnd = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
			rnd = 0;
		close(fd);
	}
	if (!rnd)
		rnd = (uint32_t)getpid() ^ (uint32_t)t;
	snprintf(out, cap, "%04d%02d%02dT%02d%02d%02dZ-%08x", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd);
}

enum tpq_status tpq_convert(const char *src, const char *dst, const struct tpq_convert_options *opt,
			    struct tpq_convert_stats *stats, struct tpq_error *err)
{
	double t0 = now_s();
	struct tpq_convert_options defaults;
	if (!opt) {
		tpq_convert_options_init(&defaults);
		opt = &defaults;
	}
	memset(stats, 0, sizeof(*stats));
	struct run r;
	memset(&r, 0, sizeof(r));
	r.dst = dst;
	r.opt = opt;
	r.st = stats;
	pthread_mutex_init(&r.lock, NULL);
	make_run_id(r.run_id, sizeof(r.run_id));
	enum tpq_status st = TPQ_OK;
	int n = opt->threads > 0 ? opt->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 256)
		n = 256;
	struct worker *ws = calloc((size_t)n, sizeof(*ws));
	if (!ws)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	r.src = tpq_source_local_new(src, err);
	if (!r.src) {
		st = err && err->status ? err->status : TPQ_EIO;
		goto free_workers;
	}
	{
		char d[4096];
		snprintf(d, sizeof(d), "%s", dst);
		if (mkdirs(d)) {
			tpq_error_where(err, dst);
			st = tpq_error_set(err, TPQ_EIO, "cannot create the destination: %s", strerror(errno));
			goto free_source;
		}
	}
	st = r.src->list(r.src, "", list_cb, &r, err);
	if (st)
		goto free_files;
	qsort(r.files, r.n_files, sizeof(struct file), file_cmp);
	st = tpq_ct_table_new(&r.table, err);
	if (st)
		goto free_files;
	for (int i = 0; i < n; i++) {
		ws[i].run = &r;
		ws[i].codec = tpq_codec_ctx_new();
		ws[i].shredder = tpq_ct_shredder_new(r.table);
		tpq_ct_records_init(&ws[i].recs);
		tpq_buf_init(&ws[i].raw);
		tpq_buf_init(&ws[i].json);
		if (!ws[i].codec || !ws[i].shredder) {
			st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			goto free_run;
		}
	}
	pthread_t mon;
	bool have_mon = opt->on_progress && pthread_create(&mon, NULL, monitor, &r) == 0;
	run_stage(&r, ws, n, read_stage);
	if (r.fatal)
		goto fatal;
	/* merge the workers' partitions */
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += ws[i].parts.n;
	struct part_map merged;
	memset(&merged, 0, sizeof(merged));
	for (int i = 0; i < n && !r.fatal; i++) {
		for (size_t j = 0; j < ws[i].parts.n; j++) {
			struct part *src_p = &ws[i].parts.v[j];
			struct part *p = part_get(&merged, &src_p->key);
			if (!p || (p->n + src_p->n > p->cap &&
				   !(p->v = realloc(p->v, (p->cap = p->n + src_p->n) * sizeof(struct rec))))) {
				st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
				goto free_merged;
			}
			memcpy(p->v + p->n, src_p->v, src_p->n * sizeof(struct rec));
			p->n += src_p->n;
		}
	}
	(void)total;
	r.gparts = calloc(merged.n ? merged.n : 1, sizeof(struct part *));
	if (!r.gparts) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto free_merged;
	}
	for (size_t j = 0; j < merged.n; j++)
		r.gparts[j] = &merged.v[j];
	r.n_gparts = merged.n;
	qsort(r.gparts, r.n_gparts, sizeof(struct part *), gpart_cmp);
	pthread_mutex_lock(&r.lock);
	stats->partitions = r.n_gparts;
	pthread_mutex_unlock(&r.lock);
	atomic_store(&r.done, 0);
	atomic_store(&r.stage, 1);
	run_stage(&r, ws, n, write_stage);
free_merged:
	for (size_t j = 0; j < merged.n; j++)
		free(merged.v[j].v);
	free(merged.v);
	free(merged.slots);
	free(r.gparts);
fatal:
	atomic_store(&r.stage, 2);
	if (have_mon)
		pthread_join(mon, NULL);
	if (r.fatal) {
		st = r.fatal;
		if (err && !err->status)
			*err = r.fatal_err;
	}
free_run:
	for (int i = 0; i < n; i++) {
		tpq_pw_free(ws[i].pw);
		tpq_codec_ctx_free(ws[i].codec);
		if (ws[i].shredder)
			tpq_ct_shredder_free(ws[i].shredder);
		tpq_ct_records_release(&ws[i].recs);
		tpq_buf_release(&ws[i].raw);
		tpq_buf_release(&ws[i].json);
		for (size_t j = 0; j < ws[i].parts.n; j++)
			free(ws[i].parts.v[j].v);
		free(ws[i].parts.v);
		free(ws[i].parts.slots);
	}
	if (r.table)
		tpq_ct_table_free(r.table);
free_files:
	for (size_t i = 0; i < r.n_files; i++) {
		free(r.files[i].key);
		free(r.files[i].json);
	}
	free(r.files);
free_source:
	r.src->free(r.src);
free_workers:
	free(ws);
	pthread_mutex_destroy(&r.lock);
	stats->seconds = now_s() - t0;
	return st;
}
