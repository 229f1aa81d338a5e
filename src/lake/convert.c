/* The conversion run (see convert.h).
 *
 * Invariants:
 * - A file's records reach a partition only after tpq_ct_split validated the
 *   whole file, so a damaged file contributes nothing (it is rejected whole).
 * - Records keep pointing into their file's inflated buffer, which lives until
 *   their batch is written; nothing is copied per record.
 * - Within a partition the order is total (eventtime, eventID, content hash,
 *   file order, record order), so duplicates are adjacent and the output is
 *   the same whatever the number of threads.
 * - Output files appear under their final name only complete and durable:
 *   written to a hidden temporary name, fsynced, renamed, directory fsynced.
 *
 * Memory follows the batch size and the thread count, not the input: files
 * are read in batches, and a batch's inflated files are freed once its
 * partitions are written (struct run, struct lane). */
#include "lake/convert.h"

#include <errno.h>
#include <inttypes.h>
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
#include "io/open.h"
#include "io/sink.h"
#include "io/source.h"
#include "io/store.h"
#include "json/hash.h"
#include "lake/rewrite.h"
#include "lake/state.h"
#include "parquet/writer.h"
#include "util/buf.h"
#include "util/civil.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"
#include "util/pool.h"
#include "util/slab.h"

#define MAX_OBJECT_BYTES ((size_t)1 << 32)   /* compressed */
#define MAX_JSON_BYTES ((size_t)4 << 30)      /* inflated: record offsets are 32-bit */
/* Inflated files go into recycled 8 MiB blocks (util/slab.h): no page faults
 * after the first batches. Larger files get their own buffer. */
#define SLAB_BLOCK ((size_t)8 << 20)

void tpq_convert_options_init(struct tpq_convert_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = TPQ_CODEC_ZSTD;
	o->lookback_days = 3;
	tpq_io_options_init(&o->io);
}

struct rec {
	const uint8_t *p;
	uint32_t len;
	uint32_t file;
	uint32_t idx;
	uint32_t part;       /* index into its file's pk */
	int64_t ms;
	uint64_t key[2];     /* tpq_row_key: computed while the record is in cache */
	bool has_id;
};

struct part_key {
	int kind;
	char account[13];
	char region[32];
	int y, m, d;
};

struct file {
	char *key;
	struct tpq_key_info info;
	uint64_t size;
	int64_t mtime_ns;
	char *etag;
	uint8_t *json;       /* inflated, padded; kept until its batch is written */
	struct tpq_slab *slab; /* the block json is in; NULL: json is its own allocation */
	struct rec *recs;    /* its records, in file order (until its batch is written) */
	uint32_t n_recs;
	struct part_key *pk; /* the partitions of its records (rec.part indexes it) */
	uint32_t n_pk;
	size_t cap_pk;
	bool read;           /* the read stage is done with it */
	uint64_t held;       /* bytes of memory it holds until its batch is written */
	struct tpq_src_dir *sdir;  /* its directory's state */
	uint64_t digest;     /* hash of the object's bytes */
	uint64_t old_digest; /* changed objects: the recorded one */
	bool changed;        /* recorded before with another size/etag/mtime */
	bool same_content;   /* changed metadata, same bytes: nothing to convert */
	bool rejected;
	char *error;         /* rejected: the message */
	char *parts;         /* partitions its records went to, '|'-separated (in a worker's pool) */
	char *old_parts;     /* changed objects: the partitions it fed before */
	uint64_t rows;
};

/* A partition across the batches in flight. Several batches of one
 * partition are written at once (a big account/region/day keeps every core
 * busy), but what they do to its state happens in batch order: each task
 * takes a turn, phase 1 (drops, de-duplication) and phase 3 (the new file
 * recorded) run one at a time in turn order, and phase 2 (shredding and
 * writing the file) runs in parallel. The state is loaded by the first task
 * and saved by the last one in flight. Under the run's lock, except ps,
 * which belongs to the task that holds the lane (busy). */
struct lane {
	struct tpq_part_state *ps;
	bool dirty;          /* ps changed since it was loaded */
	bool busy;           /* a task is in its phase 1 or 3 */
	bool written;        /* a file of this run went into it (stats) */
	uint32_t assigned;   /* turns given out */
	uint32_t p1_done, p3_done; /* tasks past their phase 1, phase 3 */
};

struct part {
	struct part_key key;
	struct rec *v;
	size_t n, cap;
	char **drop;         /* changed source objects whose old rows leave */
	size_t n_drop;
	struct lane *lane;   /* in a batch: its lane; in the lane map: owned */
	uint32_t turn;       /* in a batch: its task's turn in the lane */
};

struct part_map {
	struct part *v;
	size_t n, cap;
	uint32_t *slots;     /* index + 1 */
	size_t n_slots;
};

/* A batch promoted from reading to writing: files [lo, hi), their records
 * by partition, one write task per partition. */
struct batch {
	bool active;
	uint64_t seq;        /* promotion order: older batches' tasks go first */
	size_t lo, hi;
	struct part_map merged;
	struct part **gparts; /* merged partitions, sorted by key */
	size_t n_gparts, next_part, parts_done; /* tasks: n_gparts stays 0 until lanes assigned */
	size_t file_base;    /* part file numbers used by earlier batches */
};

struct run;

struct worker {
	struct run *run;
	pthread_t th;
	struct tpq_codec_ctx *codec;
	struct tpq_ct_records recs;
	struct tpq_buf raw, json;
	struct tpq_ct_shredder *shredder;
	struct tpq_pool pool;     /* what files keep for the whole run (their parts) */
	struct tpq_slab_cursor cursor; /* the block inflated files go into */
	struct tpq_pw *pw;        /* the write stage's writer, reset for each file */
	enum tpq_status err;
	struct tpq_error error;
};

struct run {
	const char *dst;
	struct tpq_store *store;
	struct tpq_state *state;
	struct tpq_src_dir **sdirs;  /* loaded source directory states */
	size_t n_sdirs, cap_sdirs;
	const struct tpq_convert_options *opt;
	struct tpq_source *src;
	struct file *files;
	size_t n_files, cap_files;
	/* Batches: files are read in key order into batches of about `budget`
	 * bytes (advance_batch; deterministic, so the output does not depend on
	 * the thread count). Batches are written while the next one is read:
	 * workers take a partition of the oldest batch being written first, else
	 * a file of the batch being read, so no worker idles behind the slowest
	 * partition. At most max(2, threads) batches are held, counting the one
	 * being read, so one big partition fed by consecutive batches is written
	 * by several workers at once (struct lane). A worker may have read a few
	 * files past a full batch: they are carried into the next one. Under
	 * `lock` (and `cv`): */
	pthread_cond_t cv;
	size_t batch_lo;        /* the batch being read: files [batch_lo, claim_limit) */
	size_t next_file;       /* the next file to read */
	size_t claim_limit;     /* files at and above it are not claimed (batch full) */
	size_t prefix;          /* files [batch_lo, prefix) are all read */
	uint64_t prefix_bytes;  /* what they hold */
	uint64_t budget;
	struct batch *batches;  /* max_batches slots: batches being prepared or written */
	size_t max_batches, n_active; /* batches held: the active ones and the one being read */
	bool preparing;         /* a batch is being prepared (one at a time, in order) */
	uint64_t batch_seq;
	size_t parts_active;    /* tasks of the active batches (progress) */
	atomic_size_t files_done;  /* read, over all batches (progress) */
	size_t file_base;       /* part file numbers used by batches so far */
	struct part_map lanes;  /* every partition this run wrote or writes (struct lane) */
	struct tpq_ct_table *table;
	struct tpq_slabs slabs;  /* inflated files' memory, recycled between batches */
	char run_id[96];
	pthread_mutex_t lock;   /* stats merge, reject callback, first fatal error */
	pthread_mutex_t list_mu; /* listing: the file list and its counters */
	char **roots;           /* trail roots found by the walk, listed in parallel */
	size_t n_roots, cap_roots;
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
	pthread_cond_broadcast(&r->cv);
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
	if (tpq_grow(&m->v, m->n, &m->cap, sizeof(*m->v), 16))
		return NULL;
	struct part *p = &m->v[m->n];
	memset(p, 0, sizeof(*p));
	p->key = *k;
	m->slots[j] = (uint32_t)++m->n;
	return p;
}

/* table/account=../region=../year=YYYY/month=MM/day=DD */
static int part_path(char *out, size_t cap, const struct part_key *k)
{
	return snprintf(out, cap, "%s/account=%s/region=%s/year=%04d/month=%02d/day=%02d",
			tpq_key_table((enum tpq_key_kind)k->kind), k->account, k->region, k->y, k->m,
			k->d) >= (int)cap ? -1 : 0;
}

/* The inverse of part_path; -1 when `path` is not one. */
static int parse_part_path(const char *path, struct part_key *k)
{
	memset(k, 0, sizeof(*k));
	const char *slash = strchr(path, '/');
	if (!slash)
		return -1;
	k->kind = -1;
	for (int kind = 0; kind < TPQ_KEY_N_KINDS; kind++) {
		const char *t = tpq_key_table((enum tpq_key_kind)kind);
		if (t && strlen(t) == (size_t)(slash - path) && !memcmp(t, path, strlen(t)))
			k->kind = kind;
	}
	if (k->kind < 0)
		return -1;
	int n = 0;
	if (sscanf(slash, "/account=%12[0-9]/region=%31[^/]/year=%4d/month=%2d/day=%2d%n", k->account,
		   k->region, &k->y, &k->m, &k->d, &n) != 5 || slash[n] != '\0')
		return -1;
	return 0;
}

/* ---- the read stage ---- */

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
	int rc = tpq_mkdirs(path);
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
	char msg[1200];
	if (e->offset >= 0 && e->record >= 0)
		snprintf(msg, sizeof(msg), "record %" PRId64 ", byte %" PRId64 ": %s", e->record, e->offset,
			 e->msg);
	else if (e->offset >= 0)
		snprintf(msg, sizeof(msg), "byte %" PRId64 ": %s", e->offset, e->msg);
	else
		snprintf(msg, sizeof(msg), "%s", e->msg);
	f->rejected = true;
	f->error = strdup(msg);
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
	uint64_t h[2];
	tpq_hash128(w->raw.p, w->raw.len, h);
	f->digest = h[0];
	if (f->changed && f->digest == f->old_digest) {
		f->same_content = true; /* touched, not changed: nothing to convert */
		return TPQ_OK;
	}
	if (w->raw.len == 0)
		return tpq_error_set(e, TPQ_ECORRUPT, "empty file: not CloudTrail data");
	size_t raw_len = w->raw.len;
	struct tpq_buf *json = &w->raw;
	bool gz = w->raw.len >= 2 && w->raw.p[0] == 0x1f && w->raw.p[1] == 0x8b;
	struct tpq_buf fixed;
	bool in_slab = false;
	if (gz) {
		/* ISIZE (the inflated size of a one-member file) says whether the
		 * file fits a block; one that does not after all (several members,
		 * a wrong ISIZE) is inflated again the general way */
		size_t hint = raw_len >= 18 ? tpq_le32(w->raw.p + raw_len - 4) : 0;
		size_t room = 0;
		uint8_t *mem = hint ? tpq_slab_space(&r->slabs, &w->cursor, hint + TPQ_CT_PAD, &room)
				    : NULL;
		if (mem) {
			fixed = (struct tpq_buf){ .p = mem, .cap = room, .limit = room };
			st = tpq_gunzip(w->codec, w->raw.p, raw_len, room - TPQ_CT_PAD, &fixed, e);
			if (st && st != TPQ_ELIMIT)
				return st;
			in_slab = st == TPQ_OK;
		}
		if (in_slab) {
			json = &fixed;
		} else {
			st = tpq_gunzip(w->codec, w->raw.p, raw_len, MAX_JSON_BYTES, &w->json, e);
			if (st)
				return st;
			if (tpq_buf_reserve(&w->json, TPQ_CT_PAD))
				return tpq_error_set(e, TPQ_ENOMEM, "out of memory");
			json = &w->json;
		}
		memset(json->p + json->len, 0, TPQ_CT_PAD);
	} else if (f->info.gzip) {
		return tpq_error_set(e, TPQ_ECORRUPT, "not gzip data (bad magic) at byte 0");
	}
	if (json->len >= MAX_JSON_BYTES)
		return tpq_error_set(e, TPQ_ELIMIT, "file larger than 4 GiB of JSON");
	st = tpq_ct_split(json->p, json->len, &w->recs, e);
	if (st)
		return st;
	/* keep the JSON (with its zeroed padding) until the batch is written:
	 * its part of the block, or the buffer itself (the next file grows a
	 * new one) */
	size_t len = json->len;
	uint8_t *keep;
	if (in_slab) {
		keep = json->p;
		f->slab = tpq_slab_take(&w->cursor, len + TPQ_CT_PAD);
	} else {
		keep = tpq_buf_detach(json, NULL);
	}
	f->json = keep;
	f->recs = w->recs.n ? malloc(w->recs.n * sizeof(struct rec)) : NULL;
	if (w->recs.n && !f->recs)
		return tpq_error_set(e, TPQ_ENOMEM, "out of memory");
	f->n_recs = (uint32_t)w->recs.n;
	f->held = len + TPQ_CT_PAD + w->recs.n * sizeof(struct rec);
	uint32_t fi = (uint32_t)(f - r->files), last = 0;
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
		/* a file's records mostly share one or two days: the last hit first */
		if (!f->n_pk || memcmp(&f->pk[last], &k, sizeof(k)) != 0) {
			uint32_t j = 0;
			while (j < f->n_pk && memcmp(&f->pk[j], &k, sizeof(k)) != 0)
				j++;
			if (j == f->n_pk) {
				if (tpq_grow(&f->pk, f->n_pk, &f->cap_pk, sizeof(*f->pk), 4))
					return tpq_error_set(e, TPQ_ENOMEM, "out of memory");
				f->pk[f->n_pk++] = k;
			}
			last = j;
		}
		f->recs[i] = (struct rec){
			.p = keep + c->off, .len = c->len, .file = fi, .idx = (uint32_t)i, .part = last,
			.ms = c->event_ms, .has_id = c->has_id,
		};
		tpq_row_key(keep + c->id_off, c->id_len, c->has_id, c->hash, f->recs[i].key);
	}
	/* the partitions it fed, '|'-separated, kept for the run in the pool
	 * (w->raw is free to be the scratch now) */
	w->raw.len = 0;
	for (uint32_t j = 0; j < f->n_pk; j++) {
		char path[256];
		if (part_path(path, sizeof(path), &f->pk[j]))
			continue;
		if (w->raw.len)
			tpq_buf_put(&w->raw, "|", 1);
		tpq_buf_put(&w->raw, path, strlen(path));
	}
	if (tpq_buf_status(&w->raw) ||
	    !(f->parts = tpq_pool_strndup(&w->pool, (const char *)w->raw.p, w->raw.len)))
		return tpq_error_set(e, TPQ_ENOMEM, "out of memory");
	f->rows = w->recs.n;
	pthread_mutex_lock(&r->lock);
	r->st->files_converted++;
	r->st->records += w->recs.n;
	r->st->bytes_in += raw_len;
	r->st->bytes_json += len;
	pthread_mutex_unlock(&r->lock);
	return TPQ_OK;
}

/* Moves the read prefix over the files read since; the batch closes at the
 * first prefix that holds the budget, or earlier, once it holds half of it,
 * where a source folder ends: a folder is a day of one account and region,
 * so the partitions it feeds are then written whole instead of split
 * between two batches (a part file each). Depends only on the files' order
 * and sizes, so the output does not depend on the thread count. Called with
 * r->lock held. */
static void advance_batch(struct run *r)
{
	while (r->prefix < r->n_files && r->files[r->prefix].read) {
		r->prefix_bytes += r->files[r->prefix].held;
		r->prefix++;
		if (r->claim_limit != r->n_files)
			continue;
		bool folder_end = r->prefix < r->n_files &&
				  r->files[r->prefix].sdir != r->files[r->prefix - 1].sdir;
		if (r->prefix_bytes >= r->budget || (folder_end && r->prefix_bytes >= r->budget / 2))
			r->claim_limit = r->prefix;
	}
}

/* Frees what a file holds for its batch (JSON, records, partitions); its
 * metadata stays for the record. */
static void drop_data(struct run *r, struct file *f)
{
	if (f->slab)
		tpq_slab_put(&r->slabs, f->slab);
	else
		free(f->json);
	f->slab = NULL;
	free(f->recs);
	free(f->pk);
	f->json = NULL;
	f->recs = NULL;
	f->pk = NULL;
	f->n_recs = f->n_pk = 0;
	f->cap_pk = 0;
	f->held = 0;
}

/* Reads file i (a rejected file holds nothing). Called without r->lock. */
static void read_one(struct worker *w, size_t i)
{
	struct run *r = w->run;
	struct file *f = &r->files[i];
	struct tpq_error e;
	tpq_error_clear(&e);
	enum tpq_status st = read_file(w, f, &e);
	/* an object that could not be read (network, S3 error, I/O) is not bad
	 * input: rejecting it would record it as such and never read it again */
	if (st == TPQ_ENOMEM || st == TPQ_EIO || st == TPQ_ENOTFOUND) {
		set_fatal(r, st, &e);
	} else if (st) {
		drop_data(r, f); /* what it held so far goes now: nothing of it is written */
		reject(w, f, &e);
	}
	atomic_fetch_add(&r->files_done, 1);
}

/* ---- the write stage ---- */

/* Rows by eventtime, then by their key (a hash of eventID and content: an
 * arbitrary but fixed order, and the same event twice is adjacent), then
 * by where they came from. Nothing here reads the records themselves, which
 * are cold by now. */
static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	if (x->has_id != y->has_id)
		return x->has_id ? 1 : -1;
	for (int k = 0; k < 2; k++)
		if (x->key[k] != y->key[k])
			return x->key[k] < y->key[k] ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int table_index(int kind)
{
	return kind == TPQ_KEY_CLOUDTRAIL ? 0 : kind == TPQ_KEY_INSIGHT ? 1 : 2;
}

/* Writes p->v[0..n) (sorted, new to the partition) as one Parquet file under
 * `key`; *bytes gets its size. */
static enum tpq_status write_file(struct worker *w, struct part *p, size_t n, const char *key,
				  uint64_t *bytes, struct tpq_error *e)
{
	struct run *r = w->run;
	struct tpq_sink *sink = r->store->create(r->store, key, e);
	if (!sink)
		return e->status ? e->status : TPQ_EIO;
	struct tpq_lake_file_options fo;
	tpq_lake_file_options(&fo, r->opt->codec, r->opt->level, r->opt->row_group_bytes);
	fo.pw.codec_ctx = w->codec;
	enum tpq_status st = TPQ_OK;
	/* One writer per worker: its buffers are grown (and faulted in) once,
	 * not per partition file. The options are the same for every file. */
	if (w->pw) {
		st = tpq_pw_reset(w->pw, sink, e);
		if (st)
			goto free_sink;
	} else if (!(w->pw = tpq_pw_new(tpq_ct_table_schema(r->table), &fo.pw, sink, e))) {
		st = e->status ? e->status : TPQ_ENOMEM;
		goto free_sink;
	}
	struct tpq_pw *pw = w->pw;
	for (size_t i = 0; i < n && st == TPQ_OK; i++) {
		st = tpq_ct_shred(w->shredder, pw, p->v[i].p, p->v[i].len, e);
		if (st == TPQ_OK)
			st = tpq_pw_end_row(pw);
	}
	if (st == TPQ_OK)
		st = tpq_pw_finish(pw, bytes, e); /* closes the sink: published */
	if (st)
		tpq_error_where(e, key);
free_sink:
	sink->free(sink);
	return st;
}

/* What a partition's state adds up to, for the lake's totals. */
struct ps_totals {
	int64_t partitions, files, rows, bytes;
};

static struct ps_totals ps_totals(const struct tpq_part_state *ps)
{
	struct ps_totals t = { ps->n_files > 0, (int64_t)ps->n_files, (int64_t)ps->n_rows, 0 };
	for (size_t i = 0; i < ps->n_files; i++)
		t.bytes += (int64_t)ps->files[i].bytes;
	return t;
}

/* Adds what ps changed since `before` to the table's totals. Under r->lock. */
static void add_totals(struct run *r, int kind, const struct ps_totals *before,
		       const struct tpq_part_state *ps)
{
	struct ps_totals after = ps_totals(ps);
	struct tpq_table_totals *tt = tpq_state_totals(r->state, table_index(kind));
	tt->partitions += after.partitions - before->partitions;
	tt->files += after.files - before->files;
	tt->rows += after.rows - before->rows;
	tt->bytes += after.bytes - before->bytes;
}

/* Waits for the lane to be free and for `turn` to be next at a phase
 * (*done == turn; and *also == turn when also is given), then holds the
 * lane. false when the run stops meanwhile. Under r->lock. */
static bool lane_enter(struct run *r, struct lane *ln, uint32_t turn, const uint32_t *done,
		       const uint32_t *also)
{
	while (!atomic_load(&r->stop) && (ln->busy || *done != turn || (also && *also != turn)))
		pthread_cond_wait(&r->cv, &r->lock);
	if (atomic_load(&r->stop))
		return false;
	ln->busy = true;
	return true;
}

static void lane_leave(struct run *r, struct lane *ln, uint32_t *done)
{
	pthread_mutex_lock(&r->lock);
	ln->busy = false;
	(*done)++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
}

/* Phase 1, holding the lane: the changed objects' old rows leave, then the
 * batch's records (sorted) are de-duplicated against the partition. Leaves
 * the kept records first in p->v; *keep, *dups and *died say how many. */
static enum tpq_status dedup_part(struct worker *w, struct part *p, const char *path,
				  size_t *keep, size_t *dups, size_t *died, struct tpq_error *e)
{
	struct run *r = w->run;
	struct lane *ln = p->lane;
	if (!ln->ps) {
		enum tpq_status st = tpq_part_state_load(r->state, path, w->codec, &ln->ps, e);
		if (st)
			return st;
	}
	struct tpq_part_state *ps = ln->ps;
	struct ps_totals before = ps_totals(ps);
	enum tpq_status st = TPQ_OK;
	/* changed source objects: their old rows leave unless another object
	 * delivered them too */
	for (size_t i = 0; i < p->n_drop; i++) {
		int64_t si = tpq_part_state_src(ps, p->drop[i]);
		if (si < 0) {
			st = tpq_error_set(e, TPQ_ENOMEM, "out of memory");
			goto out;
		}
		*died += tpq_part_state_drop_source(ps, (uint32_t)si);
		ln->dirty = true;
	}
	if (*died) {
		st = tpq_lake_remove_dead(r->store, r->state, ps, r->table, r->opt->codec, r->opt->level,
					  e);
		if (st)
			goto out;
	}
	/* new records: each kept unless the partition (from an earlier run or
	 * from this one) already holds the same event. Sorted by time, records
	 * mostly follow others of their file: its source index is kept. */
	uint32_t last_file = UINT32_MAX;
	int64_t si = -1;
	for (size_t i = 0; i < p->n; i++) {
		const struct rec *c = &p->v[i];
		const uint64_t *key = c->key;
		if (c->file != last_file) {
			si = tpq_part_state_src(ps, r->files[c->file].key);
			last_file = c->file;
		}
		if (si < 0) {
			st = tpq_error_set(e, TPQ_ENOMEM, "out of memory");
			goto out;
		}
		int64_t row = c->has_id ? tpq_part_state_find(ps, key) : -1;
		if (row >= 0) {
			if (tpq_part_state_add_source(ps, (size_t)row, (uint32_t)si)) {
				st = tpq_error_set(e, TPQ_ENOMEM, "out of memory");
				goto out;
			}
			(*dups)++;
			ln->dirty = true;
			continue;
		}
		if (tpq_part_state_add_row(ps, key, !c->has_id, (uint32_t)si)) {
			st = tpq_error_set(e, TPQ_ENOMEM, "out of memory");
			goto out;
		}
		ln->dirty = true;
		p->v[(*keep)++] = *c;
	}
out:
	pthread_mutex_lock(&r->lock);
	add_totals(r, p->key.kind, &before, ps);
	pthread_mutex_unlock(&r->lock);
	return st;
}

/* Phase 3, holding the lane: the new file goes into the partition's state;
 * the last task in flight saves the state and lets it go. */
static enum tpq_status record_part(struct worker *w, struct part *p, char *name,
				   size_t keep, uint64_t bytes, bool last, struct tpq_error *e)
{
	struct run *r = w->run;
	struct lane *ln = p->lane;
	struct tpq_part_state *ps = ln->ps;
	struct ps_totals before = ps_totals(ps);
	enum tpq_status st = TPQ_OK;
	if (keep) {
		struct tpq_part_file pf = {
			.name = name, .rows = keep, .bytes = bytes, .seq = tpq_state_seq(r->state),
			.min_ms = p->v[0].ms, .max_ms = p->v[keep - 1].ms,
		};
		if (tpq_part_state_add_file(ps, &pf))
			st = tpq_error_set(e, TPQ_ENOMEM, "out of memory");
		ln->dirty = true;
	}
	pthread_mutex_lock(&r->lock);
	add_totals(r, p->key.kind, &before, ps);
	pthread_mutex_unlock(&r->lock);
	if (st == TPQ_OK && last) {
		if (ln->dirty)
			st = tpq_part_state_save(r->state, ps, w->codec, e);
		tpq_part_state_free(ps);
		ln->ps = NULL;
		ln->dirty = false;
	}
	return st;
}

/* Writes partition i of batch b: phase 1 and 3 in the lane's turn, the file
 * in between. */
static enum tpq_status write_part(struct worker *w, struct batch *b, size_t i,
				  struct tpq_error *e)
{
	struct run *r = w->run;
	struct part *p = b->gparts[i];
	struct lane *ln = p->lane;
	char path[256];
	if (part_path(path, sizeof(path), &p->key))
		return tpq_error_set(e, TPQ_ELIMIT, "partition name too long");
	qsort(p->v, p->n, sizeof(struct rec), rec_cmp);
	size_t keep = 0, dups = 0, died = 0;
	pthread_mutex_lock(&r->lock);
	/* drops rewrite the partition's files: only once every earlier task
	 * recorded its own */
	bool in = lane_enter(r, ln, p->turn, &ln->p1_done, p->n_drop ? &ln->p3_done : NULL);
	pthread_mutex_unlock(&r->lock);
	if (!in)
		return TPQ_OK; /* stopped: the error is the run's */
	enum tpq_status st = dedup_part(w, p, path, &keep, &dups, &died, e);
	lane_leave(r, ln, &ln->p1_done);
	if (st)
		return st;
	uint64_t bytes = 0;
	char name[96];
	snprintf(name, sizeof(name), "part-%010" PRIu64 "-%s-%05zu.parquet", tpq_state_seq(r->state),
		 tpq_state_tag(r->state), b->file_base + i);
	if (keep) {
		char key[512];
		snprintf(key, sizeof(key), "%s/%s", path, name);
		st = write_file(w, p, keep, key, &bytes, e);
		if (st)
			return st;
	}
	pthread_mutex_lock(&r->lock);
	in = lane_enter(r, ln, p->turn, &ln->p3_done, NULL);
	bool last = ln->p3_done + 1 == ln->assigned;
	pthread_mutex_unlock(&r->lock);
	if (!in)
		return TPQ_OK;
	st = record_part(w, p, name, keep, bytes, last, e);
	pthread_mutex_lock(&r->lock);
	r->st->duplicates += dups;
	r->st->rows_removed += died;
	r->st->rows_by_table[table_index(p->key.kind)] += keep;
	r->st->bytes_out += bytes;
	if (keep) {
		r->st->files_written++;
		if (!ln->written)
			r->st->partitions++; /* first time in this run */
		ln->written = true;
	}
	pthread_mutex_unlock(&r->lock);
	lane_leave(r, ln, &ln->p3_done);
	return st;
}

/* ---- listing ---- */

static int list_cb_locked(struct run *r, const struct tpq_object *o);

/* Listings run on several threads: the file list is shared. */
static int list_cb(void *ctx, const struct tpq_object *o)
{
	struct run *r = ctx;
	pthread_mutex_lock(&r->list_mu);
	int rc = list_cb_locked(r, o);
	pthread_mutex_unlock(&r->list_mu);
	return rc;
}

static int list_cb_locked(struct run *r, const struct tpq_object *o)
{
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
	if (tpq_grow(&r->files, r->n_files, &r->cap_files, sizeof(*r->files), 256))
		return 1;
	struct file *f = &r->files[r->n_files];
	memset(f, 0, sizeof(*f));
	f->key = strdup(o->key);
	if (!f->key)
		return 1;
	f->info = info;
	f->size = o->size;
	f->mtime_ns = o->mtime_ns;
	f->etag = strdup(o->etag ? o->etag : "");
	if (!f->etag)
		return 1;
	r->n_files++;
	return 0;
}

/* Listing follows the days asked for, not the bucket's history: below a
 * trail root (.../ACCOUNT/CloudTrail[-...]/REGION/) only the YYYY/MM/DD folders
 * in range are listed; elsewhere folders are walked one level at a time,
 * skipping those that never hold trail data. */
struct dirlist {
	char **dirs;
	size_t n, cap;
	struct run *r;
	int failed;
};

static int dir_cb(void *ctx, const struct tpq_object *o)
{
	struct dirlist *d = ctx;
	size_t n = strlen(o->key);
	if (n == 0 || o->key[n - 1] != '/')
		return list_cb(d->r, o);
	if (tpq_grow(&d->dirs, d->n, &d->cap, sizeof(*d->dirs), 16)) {
		d->failed = 1;
		return 1;
	}
	if (!(d->dirs[d->n] = strdup(o->key))) {
		d->failed = 1;
		return 1;
	}
	d->n++;
	return 0;
}

static void dirlist_release(struct dirlist *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->dirs[i]);
	free(d->dirs);
}

/* One level below prefix: files go to list_cb, folders into d. */
static enum tpq_status list_level(struct run *r, const char *prefix, struct dirlist *d,
				  struct tpq_error *err)
{
	memset(d, 0, sizeof(*d));
	d->r = r;
	enum tpq_status st = r->src->list(r->src, prefix, TPQ_LIST_DELIM, NULL, dir_cb, d, err);
	if (st == TPQ_OK && d->failed)
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	return st;
}

/* The last component of a folder key ending in '/', as (p, n). */
static const char *last_component(const char *dir, size_t *n)
{
	size_t len = strlen(dir) - 1;
	size_t start = len;
	while (start > 0 && dir[start - 1] != '/')
		start--;
	*n = len - start;
	return dir + start;
}

static bool all_digits(const char *p, size_t n, size_t want)
{
	if (n != want)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* .../<12 digits>/CloudTrail[-Insight|-NetworkActivity]/<region>/ */
static bool trail_root(const char *dir)
{
	const char *c[3];
	size_t n[3];
	size_t len = strlen(dir);
	size_t end = len - 1; /* the trailing '/' */
	for (int i = 2; i >= 0; i--) {
		size_t start = end;
		while (start > 0 && dir[start - 1] != '/')
			start--;
		if (start == end)
			return false;
		c[i] = dir + start;
		n[i] = end - start;
		if (i > 0) {
			if (start == 0)
				return false;
			end = start - 1;
		}
	}
	bool trail = (n[1] == 10 && !memcmp(c[1], "CloudTrail", 10)) ||
		     (n[1] == 18 && !memcmp(c[1], "CloudTrail-Insight", 18)) ||
		     (n[1] == 26 && !memcmp(c[1], "CloudTrail-NetworkActivity", 26));
	return trail && all_digits(c[0], n[0], 12);
}

static int day_minus(int ymd, int days)
{
	int64_t z = tpq_days_from_civil(ymd / 10000, ymd / 100 % 100, ymd % 100) - days;
	int64_t y;
	int m, d;
	tpq_civil_from_days(z, &y, &m, &d);
	return (int)y * 10000 + m * 100 + d;
}

static enum tpq_status walk_root(struct run *r, const char *root, struct tpq_error *err)
{
	int lo = 0, hi = 0;
	if (r->opt->since || r->opt->until) {
		lo = r->opt->since;
		hi = r->opt->until;
	} else if (!r->opt->full_relist) {
		int day = tpq_state_root_day(r->state, root);
		if (day)
			lo = day_minus(day, r->opt->lookback_days);
	}
	struct dirlist years;
	enum tpq_status st = list_level(r, root, &years, err);
	for (size_t i = 0; st == TPQ_OK && i < years.n; i++) {
		size_t n;
		const char *c = last_component(years.dirs[i], &n);
		if (!all_digits(c, n, 4)) {
			st = r->src->list(r->src, years.dirs[i], 0, NULL, list_cb, r, err);
			continue;
		}
		int y = atoi(c);
		if ((lo && y < lo / 10000) || (hi && y > hi / 10000))
			continue;
		struct dirlist months;
		st = list_level(r, years.dirs[i], &months, err);
		for (size_t j = 0; st == TPQ_OK && j < months.n; j++) {
			c = last_component(months.dirs[j], &n);
			int ym = y * 100 + atoi(c);
			if (!all_digits(c, n, 2) || (lo && ym < lo / 100) || (hi && ym > hi / 100))
				continue;
			struct dirlist days;
			st = list_level(r, months.dirs[j], &days, err);
			for (size_t k = 0; st == TPQ_OK && k < days.n; k++) {
				c = last_component(days.dirs[k], &n);
				int ymd = ym * 100 + atoi(c);
				if (!all_digits(c, n, 2) || (lo && ymd < lo) || (hi && ymd > hi))
					continue;
				pthread_mutex_lock(&r->list_mu);
				r->st->dirs_listed++;
				pthread_mutex_unlock(&r->list_mu);
				st = r->src->list(r->src, days.dirs[k], 0, NULL, list_cb, r, err);
			}
			dirlist_release(&days);
		}
		dirlist_release(&months);
	}
	dirlist_release(&years);
	return st;
}

static enum tpq_status walk(struct run *r, const char *prefix, int depth, struct tpq_error *err)
{
	struct dirlist d;
	enum tpq_status st = list_level(r, prefix, &d, err);
	for (size_t i = 0; st == TPQ_OK && i < d.n; i++) {
		size_t n;
		const char *c = last_component(d.dirs[i], &n);
		if ((n == 17 && !memcmp(c, "CloudTrail-Digest", 17)) || (n == 6 && !memcmp(c, "Config", 6)) ||
		    (n == strlen(TPQ_STATE_DIR) && !memcmp(c, TPQ_STATE_DIR, n)))
			continue;
		if (trail_root(d.dirs[i])) {
			if (tpq_grow(&r->roots, r->n_roots, &r->cap_roots, sizeof(*r->roots), 64))
				st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			else
				r->roots[r->n_roots++] = d.dirs[i]; /* taken: see below */
			d.dirs[i] = NULL;
		} else if (depth < 16)
			st = walk(r, d.dirs[i], depth + 1, err);
	}
	dirlist_release(&d);
	return st;
}

/* Runs fn(ctx, i) for i in [0, n) on up to `threads` threads; the first
 * error stops the others and is returned. Listing and state loads are one
 * request each, so on S3 their latency, not their work, is what costs: they
 * run many at a time. */
struct par {
	atomic_size_t next;
	size_t n;
	enum tpq_status (*fn)(void *ctx, size_t i, struct tpq_error *err);
	void *ctx;
	pthread_mutex_t mu;
	enum tpq_status st;
	struct tpq_error err;
};

static void *par_main(void *arg)
{
	struct par *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		bool stop = p->st != TPQ_OK;
		pthread_mutex_unlock(&p->mu);
		size_t i = atomic_fetch_add(&p->next, 1);
		if (stop || i >= p->n)
			break;
		struct tpq_error e;
		tpq_error_clear(&e);
		enum tpq_status st = p->fn(p->ctx, i, &e);
		if (st) {
			pthread_mutex_lock(&p->mu);
			if (!p->st) {
				p->st = st;
				p->err = e;
			}
			pthread_mutex_unlock(&p->mu);
		}
	}
	return NULL;
}

#define PAR_THREADS 16

static enum tpq_status parallel_for(size_t n, enum tpq_status (*fn)(void *, size_t, struct tpq_error *),
				    void *ctx, struct tpq_error *err)
{
	struct par p = {.n = n, .fn = fn, .ctx = ctx};
	atomic_init(&p.next, 0);
	pthread_mutex_init(&p.mu, NULL);
	pthread_t th[PAR_THREADS];
	int started = 0;
	for (size_t i = 1; i < n && i < PAR_THREADS; i++) {
		if (pthread_create(&th[started], NULL, par_main, &p) != 0)
			break;
		started++;
	}
	par_main(&p);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.st && err)
		*err = p.err;
	return p.st;
}

static enum tpq_status walk_root_job(void *ctx, size_t i, struct tpq_error *err)
{
	struct run *r = ctx;
	return walk_root(r, r->roots[i], err);
}

/* The whole walk: the folders above the trail roots one level at a time,
 * then every trail root's day folders, many roots at a time. */
static enum tpq_status walk_all(struct run *r, struct tpq_error *err)
{
	enum tpq_status st = walk(r, "", 0, err);
	if (st == TPQ_OK)
		st = parallel_for(r->n_roots, walk_root_job, r, err);
	for (size_t i = 0; i < r->n_roots; i++)
		free(r->roots[i]);
	free(r->roots);
	r->roots = NULL;
	r->n_roots = r->cap_roots = 0;
	return st;
}

/* ---- what is new: the listed files against the state ---- */

static const char *base_name(const char *key)
{
	const char *slash = strrchr(key, '/');
	return slash ? slash + 1 : key;
}

static enum tpq_status load_sdir_job(void *ctx, size_t i, struct tpq_error *err)
{
	struct run *r = ctx;
	const char *dir = r->sdirs[i]->dir;
	struct tpq_src_dir *d = NULL;
	enum tpq_status st = tpq_src_dir_load(r->state, dir, &d, err);
	if (st == TPQ_OK) {
		/* into the placeholder itself: the files point at it */
		free(r->sdirs[i]->dir);
		*r->sdirs[i] = *d;
		free(d);
	}
	return st;
}

/* Loads the state of every source folder the listed files are in (files are
 * sorted, so a folder's files are together), many at a time; each file's
 * sdir is its folder's. */
static enum tpq_status load_sdirs(struct run *r, struct tpq_error *err)
{
	for (size_t i = 0; i < r->n_files; i++) {
		const char *key = r->files[i].key, *slash = strrchr(key, '/');
		size_t n = slash ? (size_t)(slash - key) : 0;
		if (r->n_sdirs) {
			struct tpq_src_dir *last = r->sdirs[r->n_sdirs - 1];
			if (n ? strlen(last->dir) == n && !memcmp(last->dir, key, n)
			      : !strcmp(last->dir, ".")) {
				r->files[i].sdir = last;
				continue;
			}
		}
		/* a placeholder naming the folder, replaced by its loaded state */
		struct tpq_src_dir *ph = calloc(1, sizeof(*ph));
		if (!ph || tpq_grow(&r->sdirs, r->n_sdirs, &r->cap_sdirs, sizeof(*r->sdirs), 64) ||
		    !(ph->dir = n ? strndup(key, n) : strdup("."))) {
			free(ph);
			return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		}
		r->sdirs[r->n_sdirs++] = ph;
		r->files[i].sdir = ph;
	}
	return parallel_for(r->n_sdirs, load_sdir_job, r, err);
}

static enum tpq_status select_new(struct run *r, struct tpq_error *err)
{
	enum tpq_status lst = load_sdirs(r, err);
	if (lst)
		return lst;
	size_t keep = 0;
	for (size_t i = 0; i < r->n_files; i++) {
		struct file *f = &r->files[i];
		struct tpq_src_entry *e = tpq_src_dir_find(f->sdir, base_name(f->key));
		bool todo = true;
		if (e) {
			bool same = e->size == f->size &&
				    (f->etag[0] ? !strcmp(e->etag, f->etag) : e->mtime_ns == f->mtime_ns);
			if (same && (e->status != TPQ_SRC_REJECTED || !r->opt->retry_rejected))
				todo = false;
			if (!same) {
				f->changed = true;
				f->old_digest = e->digest;
				if (e->status == TPQ_SRC_CONVERTED && e->parts[0] &&
				    !(f->old_parts = strdup(e->parts)))
					return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			}
		}
		if (!todo) {
			r->st->files_unchanged++;
			free(f->key);
			free(f->etag);
			continue;
		}
		r->files[keep++] = *f;
	}
	r->n_files = keep;
	return TPQ_OK;
}

/* Records what became of each file read in its directory's state. */
static enum tpq_status record_files(struct run *r, struct tpq_error *err)
{
	for (size_t i = 0; i < r->n_files; i++) {
		struct file *f = &r->files[i];
		struct tpq_src_entry e = {
			.name = (char *)base_name(f->key), .size = f->size, .mtime_ns = f->mtime_ns,
			.etag = f->etag, .digest = f->digest, .seq = tpq_state_seq(r->state),
			.status = f->rejected ? TPQ_SRC_REJECTED : TPQ_SRC_CONVERTED, .rows = f->rows,
			.parts = f->parts ? f->parts : "", .error = f->error ? f->error : "",
		};
		if (f->same_content) {
			/* other metadata, same bytes: keep what was recorded */
			struct tpq_src_entry *old = tpq_src_dir_find(f->sdir, e.name);
			e.seq = old->seq;
			e.status = old->status;
			e.rows = old->rows;
			e.parts = old->parts;
			e.error = old->error;
			r->st->files_touched++;
		} else if (f->changed) {
			r->st->files_changed++;
		}
		/* the rejected list first: e may point into the entry that
		 * tpq_src_dir_set replaces (and frees) */
		int bad = 0;
		if (e.status == TPQ_SRC_REJECTED)
			bad = tpq_state_rejected_set(r->state, f->key, e.error);
		else
			tpq_state_rejected_clear(r->state, f->key);
		if (!bad)
			bad = tpq_src_dir_set(f->sdir, &e);
		if (bad)
			return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		/* the root's newest delivery day */
		const char *k = f->key;
		size_t n = strlen(k);
		for (int slashes = 0; n > 0; n--)
			if (k[n - 1] == '/' && ++slashes == 4)
				break;
		if (n > 0) {
			char root[4096];
			snprintf(root, sizeof(root), "%.*s", (int)n, k);
			int day = f->info.year * 10000 + f->info.month * 100 + f->info.day;
			if (trail_root(root) && tpq_state_root_note(r->state, root, day))
				return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < r->n_sdirs; i++) {
		if (!r->sdirs[i]->dirty)
			continue;
		enum tpq_status st = tpq_src_dir_save(r->state, r->sdirs[i], err);
		if (st)
			return st;
	}
	return TPQ_OK;
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
		size_t total = r->parts_active;
		pthread_mutex_unlock(&r->lock);
		if (stage)
			r->opt->on_progress(r->opt->ctx, "write", atomic_load(&r->done), total, &copy);
		else
			r->opt->on_progress(r->opt->ctx, "read", atomic_load(&r->files_done), r->n_files,
					    &copy);
	}
	return NULL;
}

static int run_stage(struct run *r, struct worker *ws, int n, void *(*fn)(void *))
{
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


static void summary_line(struct tpq_buf *b, const char *name, uint64_t v)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "stat %s %" PRIu64 "\n", name, v);
	tpq_buf_put(b, line, (size_t)n);
}

static enum tpq_status commit_run(struct run *r, double t0, struct tpq_error *err)
{
	const struct tpq_convert_stats *st = r->st;
	struct tpq_buf b;
	tpq_buf_init(&b);
	summary_line(&b, "objects", st->objects);
	summary_line(&b, "dirs_listed", st->dirs_listed);
	summary_line(&b, "files_converted", st->files_converted);
	summary_line(&b, "files_rejected", st->files_rejected);
	summary_line(&b, "files_unchanged", st->files_unchanged);
	summary_line(&b, "files_changed", st->files_changed);
	summary_line(&b, "files_touched", st->files_touched);
	summary_line(&b, "records", st->records);
	summary_line(&b, "duplicates", st->duplicates);
	summary_line(&b, "rows_removed", st->rows_removed);
	for (int t = 0; t < 3; t++) {
		static const char *names[3] = {"rows_cloudtrail", "rows_insight", "rows_networkactivity"};
		summary_line(&b, names[t], st->rows_by_table[t]);
	}
	summary_line(&b, "partitions", st->partitions);
	summary_line(&b, "files_written", st->files_written);
	summary_line(&b, "bytes_in", st->bytes_in);
	summary_line(&b, "bytes_out", st->bytes_out);
	summary_line(&b, "milliseconds", (uint64_t)((now_s() - t0) * 1000));
	enum tpq_status rc = tpq_buf_status(&b) ? tpq_error_set(err, TPQ_ENOMEM, "out of memory")
						: TPQ_OK;
	if (rc == TPQ_OK) {
		tpq_buf_put_u8(&b, 0);
		rc = tpq_state_commit(r->state, (const char *)b.p, err);
	}
	tpq_buf_release(&b);
	return rc;
}

/* Every directory this run may write into, recorded before the first write. */
static enum tpq_status plan_run(struct run *r, struct part *const *parts, size_t n,
				struct tpq_error *err)
{
	char dir[4200];
	for (size_t i = 0; i < n; i++) {
		char path[256];
		if (part_path(path, sizeof(path), &parts[i]->key))
			return tpq_error_set(err, TPQ_ELIMIT, "partition name too long");
		snprintf(dir, sizeof(dir), "%s/", path);
		if (tpq_state_plan(r->state, dir))
			return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		snprintf(dir, sizeof(dir), TPQ_STATE_DIR "/parts/%s/", path);
		if (tpq_state_plan(r->state, dir))
			return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < r->n_sdirs; i++) {
		snprintf(dir, sizeof(dir), TPQ_STATE_DIR "/sources/%s/", r->sdirs[i]->dir);
		if (tpq_state_plan(r->state, dir))
			return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	}
	return tpq_state_plan_flush(r->state, err);
}

/* Changed objects of files [lo, hi): their old rows leave the partitions they
 * fed, in the batch that brings their new rows (drops come first). */
static enum tpq_status add_drops(struct run *r, struct part_map *merged, size_t lo, size_t hi,
				 struct tpq_error *err)
{
	for (size_t i = lo; i < hi; i++) {
		struct file *f = &r->files[i];
		if (!f->old_parts || f->same_content)
			continue;
		char *save = NULL;
		for (char *tok = strtok_r(f->old_parts, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
			struct part_key k;
			if (parse_part_path(tok, &k))
				continue;
			struct part *p = part_get(merged, &k);
			char **nv = p ? realloc(p->drop, (p->n_drop + 1) * sizeof(*nv)) : NULL;
			if (!nv)
				return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			p->drop = nv;
			p->drop[p->n_drop++] = f->key;
		}
	}
	return TPQ_OK;
}

/* Empties a batch's partitions (keeping the map's memory for the next). */
static void clear_parts(struct part_map *m)
{
	for (size_t j = 0; j < m->n; j++) {
		free(m->v[j].v);
		free(m->v[j].drop);
	}
	m->n = 0;
	if (m->slots)
		memset(m->slots, 0, m->n_slots * sizeof(*m->slots));
}

/* Frees what the batch's files held (their metadata stays for the record)
 * and empties the batch's partitions. */
static void release_batch(struct run *r, struct batch *b)
{
	for (size_t i = b->lo; i < b->hi; i++)
		drop_data(r, &r->files[i]);
	clear_parts(&b->merged);
	b->n_gparts = 0;
}

/* Makes the batch of files [lo, hi) ready to write: their records by
 * partition (drops of changed objects first), partitions sorted by key, their
 * directories planned. */
static enum tpq_status prepare_batch(struct run *r, struct batch *b, size_t lo, size_t hi,
				    struct tpq_error *err)
{
	b->lo = lo;
	b->hi = hi;
	struct part_map *m = &b->merged;
	for (size_t i = lo; i < hi; i++) {
		const struct file *f = &r->files[i];
		size_t at = 0;
		uint32_t cur = UINT32_MAX;
		for (uint32_t j = 0; j < f->n_recs; j++) {
			const struct rec *c = &f->recs[j];
			if (c->part != cur) {
				struct part *p = part_get(m, &f->pk[c->part]);
				if (!p)
					return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
				at = (size_t)(p - m->v);
				cur = c->part;
			}
			struct part *p = &m->v[at];
			if (tpq_grow(&p->v, p->n, &p->cap, sizeof(*p->v), 256))
				return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			p->v[p->n++] = *c;
		}
	}
	enum tpq_status st = add_drops(r, m, lo, hi, err);
	if (st)
		return st;
	if (!m->n)
		return TPQ_OK;
	struct part **gp = realloc(b->gparts, m->n * sizeof(*gp));
	if (!gp)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	b->gparts = gp;
	for (size_t j = 0; j < m->n; j++)
		b->gparts[j] = &m->v[j];
	qsort(b->gparts, m->n, sizeof(struct part *), gpart_cmp);
	return plan_run(r, b->gparts, m->n, err);
}

/* The batch's partitions join their lanes and take turns: in key order
 * within the batch, batches in promotion order. Under r->lock. */
static enum tpq_status assign_lanes(struct run *r, struct batch *b, struct tpq_error *err)
{
	for (size_t j = 0; j < b->merged.n; j++) {
		struct part *p = b->gparts[j];
		struct part *lp = part_get(&r->lanes, &p->key);
		if (lp && !lp->lane)
			lp->lane = calloc(1, sizeof(*lp->lane));
		if (!lp || !lp->lane)
			return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		p->lane = lp->lane;
		p->turn = p->lane->assigned++;
	}
	b->n_gparts = b->merged.n;
	return TPQ_OK;
}

/* A batch is written: its memory goes. Under r->lock. */
static void end_batch(struct run *r, struct batch *b)
{
	release_batch(r, b);
	b->active = false;
	r->n_active--;
	r->parts_active -= b->parts_done;
	atomic_fetch_sub(&r->done, b->parts_done);
	if (!r->n_active)
		atomic_store(&r->stage, 0);
}

/* The oldest batch with a partition not yet taken. Under r->lock. */
static struct batch *next_task(struct run *r)
{
	struct batch *best = NULL;
	for (size_t k = 0; k < r->max_batches; k++) {
		struct batch *b = &r->batches[k];
		if (b->active && b->next_part < b->n_gparts && (!best || b->seq < best->seq))
			best = b;
	}
	return best;
}

/* Every worker: a partition of the oldest batch being written, else a file
 * of the batch being read, else (the read batch complete and room for it)
 * turn the read batch into a written one, else wait. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		if (atomic_load(&r->stop))
			break;
		struct batch *b = next_task(r);
		if (b) {
			size_t pi = b->next_part++;
			pthread_mutex_unlock(&r->lock);
			struct tpq_error e;
			tpq_error_clear(&e);
			enum tpq_status st = write_part(w, b, pi, &e);
			if (st)
				set_fatal(r, st, &e);
			/* tasks finished, failed ones too: end_batch takes its own back */
			atomic_fetch_add(&r->done, 1);
			pthread_mutex_lock(&r->lock);
			if (++b->parts_done == b->n_gparts)
				end_batch(r, b);
			pthread_cond_broadcast(&r->cv);
			continue;
		}
		/* held: the active batches and, while one is being read, that
		 * one: reading (and promoting it) needs room for it */
		bool room = r->n_active < r->max_batches;
		if (room && r->next_file < r->claim_limit) {
			size_t i = r->next_file++;
			pthread_mutex_unlock(&r->lock);
			read_one(w, i);
			pthread_mutex_lock(&r->lock);
			r->files[i].read = true;
			advance_batch(r);
			pthread_cond_broadcast(&r->cv);
			continue;
		}
		if (room && !r->preparing && r->batch_lo < r->n_files && r->prefix >= r->claim_limit) {
			/* the read batch is complete: it becomes a written one, and
			 * the next batch starts with the files read past it. It is
			 * prepared (records by partition, directories planned: a
			 * store write) outside the lock, while others go on. */
			size_t lo = r->batch_lo, hi = r->claim_limit;
			b = &r->batches[0];
			while (b->active)
				b++;
			b->active = true;
			b->n_gparts = b->next_part = b->parts_done = 0;
			b->seq = r->batch_seq++;
			r->n_active++;
			r->preparing = true;
			r->batch_lo = hi;
			r->claim_limit = r->n_files;
			r->prefix = hi;
			r->prefix_bytes = 0;
			advance_batch(r);
			pthread_cond_broadcast(&r->cv);
			pthread_mutex_unlock(&r->lock);
			struct tpq_error e;
			tpq_error_clear(&e);
			enum tpq_status st = prepare_batch(r, b, lo, hi, &e);
			pthread_mutex_lock(&r->lock);
			if (st == TPQ_OK)
				st = assign_lanes(r, b, &e);
			r->preparing = false;
			if (st) {
				pthread_mutex_unlock(&r->lock);
				set_fatal(r, st, &e);
				pthread_mutex_lock(&r->lock);
				break;
			}
			b->file_base = r->file_base;
			r->file_base += b->n_gparts;
			r->parts_active += b->n_gparts;
			atomic_store(&r->stage, 1);
			if (!b->n_gparts)
				end_batch(r, b);
			pthread_cond_broadcast(&r->cv);
			continue;
		}
		if (!r->n_active && r->batch_lo >= r->n_files)
			break; /* all written */
		pthread_cond_wait(&r->cv, &r->lock);
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Tells the source what the read stage will read, in its order (source.h: plan). */
static void plan_reads(struct run *r)
{
	if (!r->src->plan || r->n_files == 0)
		return;
	const char **keys = malloc(r->n_files * sizeof(*keys));
	if (!keys)
		return; /* read-ahead is only a hint */
	for (size_t i = 0; i < r->n_files; i++)
		keys[i] = r->files[i].key;
	r->src->plan(r->src, keys, r->n_files);
	free(keys);
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
	pthread_mutex_init(&r.list_mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	tpq_state_make_run_id(r.run_id, sizeof(r.run_id));
	enum tpq_status st = TPQ_OK;
	int n = opt->threads > 0 ? opt->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 256)
		n = 256;
	r.budget = opt->batch_bytes ? opt->batch_bytes : TPQ_CONVERT_BATCH_BYTES;
	/* idle blocks kept: what two batches and every worker's current block
	 * take, as at most that much is in use at once */
	tpq_slabs_init(&r.slabs, SLAB_BLOCK, (size_t)(2 * r.budget / SLAB_BLOCK) + (size_t)n + 2);
	struct worker *ws = calloc((size_t)n, sizeof(*ws));
	if (!ws) {
		tpq_slabs_release(&r.slabs);
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	}
	st = tpq_io_open(src, dst, &opt->io, &r.src, &r.store, err);
	if (st)
		goto free_workers;
	struct tpq_state_options so;
	tpq_state_options_init(&so);
	if (opt->lease_ms)
		so.lease_ms = opt->lease_ms;
	so.wait_ms = opt->wait_ms;
	so.host = opt->host;
	so.pid = opt->pid;
	so.run_id = r.run_id;
	st = tpq_state_open(&r.state, r.store, &so, err);
	if (st)
		goto free_store;
	tpq_state_recovered(r.state, &stats->recovered_undone, &stats->recovered_finished);
	st = opt->full_relist && !opt->since && !opt->until
		     ? r.src->list(r.src, "", 0, NULL, list_cb, &r, err)
		     : walk_all(&r, err);
	if (st)
		goto free_files;
	qsort(r.files, r.n_files, sizeof(struct file), file_cmp);
	st = select_new(&r, err);
	if (st)
		goto free_files;
	plan_reads(&r);
	if (r.n_files == 0) {
		stats->rejected_outstanding = tpq_state_rejected_count(r.state);
		goto free_files; /* nothing new: no commit */
	}
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
		tpq_pool_init(&ws[i].pool);
		if (!ws[i].codec || !ws[i].shredder) {
			st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			goto free_run;
		}
	}
	/* at most max(2, threads) batches held: with 2 threads, one written and
	 * one read, or two written */
	r.max_batches = n < 2 ? 2 : (size_t)n;
	r.batches = calloc(r.max_batches, sizeof(*r.batches));
	if (!r.batches) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto free_run;
	}
	pthread_t mon;
	bool have_mon = opt->on_progress && pthread_create(&mon, NULL, monitor, &r) == 0;
	r.claim_limit = r.n_files;
	run_stage(&r, ws, n, work);
	if (r.fatal)
		goto fatal;
	st = record_files(&r, err);
	if (st == TPQ_OK)
		st = commit_run(&r, t0, err);
	if (st == TPQ_OK)
		stats->seq = tpq_state_seq(r.state);
	stats->rejected_outstanding = tpq_state_rejected_count(r.state);
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
		tpq_pool_release(&ws[i].pool);
		tpq_slab_cursor_release(&r.slabs, &ws[i].cursor);
	}
	if (r.table)
		tpq_ct_table_free(r.table);
free_files:
	for (size_t k = 0; r.batches && k < r.max_batches; k++) {
		struct batch *b = &r.batches[k];
		clear_parts(&b->merged);
		free(b->merged.v);
		free(b->merged.slots);
		free(b->gparts);
	}
	free(r.batches);
	for (size_t i = 0; i < r.n_files; i++)
		drop_data(&r, &r.files[i]);
	for (size_t j = 0; j < r.lanes.n; j++) {
		if (r.lanes.v[j].lane)
			tpq_part_state_free(r.lanes.v[j].lane->ps);
		free(r.lanes.v[j].lane);
	}
	free(r.lanes.v);
	free(r.lanes.slots);
	for (size_t i = 0; i < r.n_files; i++) {
		free(r.files[i].key);
		free(r.files[i].json);
		free(r.files[i].etag);
		free(r.files[i].error);
		free(r.files[i].old_parts);
	}
	free(r.files);
	for (size_t i = 0; i < r.n_sdirs; i++)
		tpq_src_dir_free(r.sdirs[i]);
	free(r.sdirs);
	tpq_state_close(r.state);
free_store:
	r.store->free(r.store);
	r.src->free(r.src);
free_workers:
	free(ws);
	tpq_slabs_release(&r.slabs);
	pthread_mutex_destroy(&r.lock);
	pthread_mutex_destroy(&r.list_mu);
	pthread_cond_destroy(&r.cv);
	stats->seconds = now_s() - t0;
	return st;
}
