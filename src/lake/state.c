/* The lake's state and its commit protocol (see state.h, docs/state.md).
 *
 * Names under _trailpq/ (SEQ is ten digits, TAG the run's eight hex digits):
 *   format                          "trailpq-lake-state 1"
 *   lock, lock.steal.<holder>       the lease, and the marker of a takeover
 *   head                            hint: the newest committed SEQ
 *   commits/SEQ                     commit records (created if absent)
 *   pending/SEQ-TAG                 what a run may write, until it is settled
 *   parts/<partition>/SEQ-TAG.bin   partition versions
 *   sources/<dir>/SEQ-TAG.tsv       source directory versions
 * Data files: <partition>/part-SEQ-TAG-NNNNN.parquet.
 *
 * Why these rules hold the lake exact:
 * - Nothing a run writes is named by the state until commits/SEQ exists, and
 *   that object is created atomically, once (create-if-absent).
 * - Every file a run writes carries SEQ-TAG and lies in a directory its
 *   pending record names, written before the first of them: so whoever
 *   settles an uncommitted pending finds and deletes all of them.
 * - A version is read only if its SEQ is committed and, when two runs ever
 *   used one SEQ (a lost lock), its TAG is the committing run's.
 * - Obsolete files (superseded versions, compacted or replaced data) are
 *   deleted only after the commit, and the pending record stays until they
 *   are, so a crash during cleanup is finished by the next run. */
#include "lake/state.h"

#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"
#include "json/hash.h"
#include "util/buf.h"
#include "util/error.h"

#define D TPQ_STATE_DIR "/"
#define FORMAT_TEXT "trailpq-lake-state 1\n"

void tpq_state_options_init(struct tpq_state_options *o)
{
	memset(o, 0, sizeof(*o));
	o->lease_ms = 300 * 1000;
}

/* ---- small helpers ---- */

void tpq_state_make_run_id(char *out, size_t cap)
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


static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void tpq_state_escape(struct tpq_buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\t': tpq_buf_put(out, "\\t", 2); break;
		case '\n': tpq_buf_put(out, "\\n", 2); break;
		case '\r': tpq_buf_put(out, "\\r", 2); break;
		case '\\': tpq_buf_put(out, "\\\\", 2); break;
		default: tpq_buf_put_u8(out, (uint8_t)*s);
		}
	}
}

/* Unescapes s in place. */
static char *unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return s;
}

/* Splits line at tabs into at most n fields (unescaped). Returns the count. */
static size_t split_tabs(char *line, char **f, size_t n)
{
	size_t k = 0;
	char *p = line;
	while (k < n) {
		f[k++] = p;
		char *t = strchr(p, '\t');
		if (!t)
			break;
		*t = '\0';
		p = t + 1;
	}
	for (size_t i = 0; i < k; i++)
		unescape(f[i]);
	return k;
}

/* Next line of a NUL-terminated text (modified in place), or NULL. */
static char *next_line(char **cur)
{
	char *p = *cur;
	if (!p || !*p)
		return NULL;
	char *nl = strchr(p, '\n');
	if (nl) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = p + strlen(p);
	}
	return p;
}

static int buf_cstr(struct tpq_buf *b)
{
	tpq_buf_put_u8(b, 0);
	if (tpq_buf_status(b))
		return -1;
	b->len--;
	return 0;
}

static enum tpq_status oom(struct tpq_error *err)
{
	return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
}

struct strv {
	char **v;
	size_t n, cap;
};

static int strv_push(struct strv *sv, const char *s)
{
	if (tpq_grow(&sv->v, sv->n, &sv->cap, sizeof(*sv->v), 16))
		return -1;
	if (!(sv->v[sv->n] = strdup(s)))
		return -1;
	sv->n++;
	return 0;
}

static void strv_release(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* ---- the state object ---- */

struct root_day {
	char *root;
	int day;
};

struct rejected {
	char *key, *error;
};

struct tpq_state {
	struct tpq_store *st;
	struct tpq_state_options opt;
	char run_id[96];
	char tag[9];
	uint64_t seq;             /* this run's */
	uint64_t last;            /* newest committed before this run */
	uint64_t head_hint;       /* what `head` said */
	/* from the last commit, updated by the run */
	struct tpq_table_totals totals[TPQ_STATE_TABLES];
	struct root_day *roots;
	size_t n_roots, cap_roots;
	struct rejected *rej;
	size_t n_rej, cap_rej;
	struct strv obsolete;
	struct strv plan;
	size_t plan_flushed;
	bool committed;
	size_t undone, finished;
	/* the lease */
	pthread_t beat;
	bool beating;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop_beat;
	bool lock_lost;
	char steal_marker[256];
	pthread_mutex_t plan_mu;  /* plan and pending record: workers save versions */
};

uint64_t tpq_state_seq(const struct tpq_state *s) { return s->seq; }
const char *tpq_state_tag(const struct tpq_state *s) { return s->tag; }
struct tpq_store *tpq_state_store(const struct tpq_state *s) { return s->st; }

void tpq_state_recovered(const struct tpq_state *s, size_t *undone, size_t *finished)
{
	*undone = s->undone;
	*finished = s->finished;
}

/* ---- the lock ---- */

struct lock_info {
	char run[96], host[128];
	long pid;
	int64_t expires;
};

static int parse_lock(char *text, struct lock_info *li)
{
	memset(li, 0, sizeof(*li));
	char *cur = text, *line;
	int ok = 0;
	while ((line = next_line(&cur))) {
		if (!strcmp(line, "trailpq-lock 1"))
			ok = 1;
		else if (!strncmp(line, "run ", 4))
			snprintf(li->run, sizeof(li->run), "%s", line + 4);
		else if (!strncmp(line, "host ", 5))
			snprintf(li->host, sizeof(li->host), "%s", line + 5);
		else if (!strncmp(line, "pid ", 4))
			li->pid = strtol(line + 4, NULL, 10);
		else if (!strncmp(line, "expires ", 8))
			li->expires = strtoll(line + 8, NULL, 10);
	}
	return ok && li->run[0] ? 0 : -1;
}

static enum tpq_status put_lock(struct tpq_state *s, unsigned flags, struct tpq_error *err)
{
	char text[512];
	int n = snprintf(text, sizeof(text), "trailpq-lock 1\nrun %s\nhost %s\npid %d\nexpires %" PRId64
			 "\n", s->run_id, s->opt.host ? s->opt.host : "", s->opt.pid,
			 now_ms() + s->opt.lease_ms);
	return s->st->put(s->st, D "lock", text, (size_t)n, flags, err);
}

/* Reads the lock: TPQ_OK with li filled, TPQ_ENOTFOUND, or an error. A lock
 * that cannot be parsed counts as expired (a torn write cannot happen, but a
 * foreign object can). */
static enum tpq_status get_lock(struct tpq_state *s, struct lock_info *li, struct tpq_error *err)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	enum tpq_status st = s->st->get(s->st, D "lock", &b, err);
	if (st == TPQ_OK && buf_cstr(&b))
		st = oom(err);
	if (st == TPQ_OK && parse_lock((char *)b.p, li)) {
		memset(li, 0, sizeof(*li));
		snprintf(li->run, sizeof(li->run), "unreadable");
	}
	tpq_buf_release(&b);
	return st;
}

static void *heartbeat(void *arg)
{
	struct tpq_state *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stop_beat) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t t = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + s->opt.lease_ms / 3;
		ts.tv_sec = (time_t)(t / 1000);
		ts.tv_nsec = (long)(t % 1000) * 1000000;
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		if (s->stop_beat)
			break;
		pthread_mutex_unlock(&s->mu);
		struct lock_info li;
		struct tpq_error e;
		tpq_error_clear(&e);
		enum tpq_status st = get_lock(s, &li, &e);
		bool lost = st == TPQ_ENOTFOUND || (st == TPQ_OK && strcmp(li.run, s->run_id) != 0);
		if (!lost && st == TPQ_OK)
			put_lock(s, 0, &e);
		pthread_mutex_lock(&s->mu);
		if (lost)
			s->lock_lost = true;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* 1 when the takeover marker was written more than a lease ago (or cannot
 * be read as one of ours). */
static int stale_marker(struct tpq_state *s, const char *marker, int64_t now)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	int stale = 0;
	if (s->st->get(s->st, marker, &b, NULL) == TPQ_OK && buf_cstr(&b) == 0) {
		const char *sp = strchr((const char *)b.p, ' ');
		stale = !sp || now - strtoll(sp + 1, NULL, 10) > s->opt.lease_ms;
	}
	tpq_buf_release(&b);
	return stale;
}

static enum tpq_status acquire(struct tpq_state *s, struct tpq_error *err)
{
	int64_t deadline = now_ms() + s->opt.wait_ms;
	for (;;) {
		struct tpq_error e;
		tpq_error_clear(&e);
		enum tpq_status st = put_lock(s, TPQ_PUT_IF_ABSENT, &e);
		if (st == TPQ_OK)
			return TPQ_OK;
		if (st != TPQ_EEXIST) {
			if (err)
				*err = e;
			return st;
		}
		struct lock_info li;
		st = get_lock(s, &li, &e);
		if (st == TPQ_ENOTFOUND)
			continue; /* released meanwhile */
		if (st) {
			if (err)
				*err = e;
			return st;
		}
		int64_t t = now_ms();
		if (li.expires < t) {
			/* take over an expired lease: one taker per lease, by the
			 * marker's create-if-absent; the marker stays until this run
			 * releases, so a late taker of the same lease fails too */
			char marker[256];
			snprintf(marker, sizeof(marker), D "lock.steal.%.60s-%" PRId64, li.run, li.expires);
			for (char *c = marker + strlen(D); *c; c++)
				if (*c == '/')
					*c = '_';
			char mtext[160];
			int mn = snprintf(mtext, sizeof(mtext), "%s %" PRId64 "\n", s->run_id, t);
			st = s->st->put(s->st, marker, mtext, (size_t)mn, TPQ_PUT_IF_ABSENT, &e);
			if (st == TPQ_OK) {
				st = put_lock(s, 0, &e);
				if (st) {
					s->st->del(s->st, marker, NULL);
					if (err)
						*err = e;
					return st;
				}
				snprintf(s->steal_marker, sizeof(s->steal_marker), "%s", marker);
				return TPQ_OK;
			}
			if (st != TPQ_EEXIST) {
				if (err)
					*err = e;
				return st;
			}
			/* another run is taking it over: wait for its lock like for a
			 * live one; a marker older than a lease belongs to a taker that
			 * died before writing the lock, and goes */
			if (stale_marker(s, marker, t)) {
				s->st->del(s->st, marker, NULL);
				continue;
			}
			li.expires = t + 1000;
		}
		if (t >= deadline) {
			tpq_error_where(err, s->st->name(s->st));
			return tpq_error_set(err, TPQ_ELOCKED,
					     "the lake is locked by run %s (host %s, pid %ld) for %" PRId64
					     " more seconds: another run is in progress, or a crashed run's "
					     "lease has not expired yet",
					     li.run, li.host[0] ? li.host : "?", li.pid,
					     (li.expires - t + 999) / 1000);
		}
		int64_t nap = deadline - t < 1000 ? deadline - t : 1000;
		sleep_ms(nap > 0 ? nap : 1);
	}
}

static void release_lock(struct tpq_state *s)
{
	if (s->beating) {
		pthread_mutex_lock(&s->mu);
		s->stop_beat = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->beat, NULL);
		s->beating = false;
	}
	struct lock_info li;
	if (get_lock(s, &li, NULL) == TPQ_OK && !strcmp(li.run, s->run_id))
		s->st->del(s->st, D "lock", NULL);
	if (s->steal_marker[0])
		s->st->del(s->st, s->steal_marker, NULL);
}

/* ---- commit records ---- */

static void seq_name(char *out, size_t cap, const char *dir, uint64_t seq)
{
	snprintf(out, cap, "%s%010" PRIu64, dir, seq);
}

struct list_ctx {
	struct strv keys;
	int failed;
};

static int collect_key(void *ctx, const struct tpq_object *o)
{
	struct list_ctx *c = ctx;
	if (strv_push(&c->keys, o->key)) {
		c->failed = 1;
		return 1;
	}
	return 0;
}

static enum tpq_status list_keys(struct tpq_store *st, const char *prefix, unsigned flags,
				 const char *after, struct strv *out, struct tpq_error *err)
{
	struct list_ctx c;
	memset(&c, 0, sizeof(c));
	enum tpq_status r = st->list(st, prefix, flags, after, collect_key, &c, err);
	if (r == TPQ_OK && c.failed)
		r = oom(err);
	if (r) {
		strv_release(&c.keys);
		return r;
	}
	*out = c.keys;
	return TPQ_OK;
}

static enum tpq_status get_text(struct tpq_store *st, const char *key, struct tpq_buf *b,
				struct tpq_error *err)
{
	enum tpq_status r = st->get(st, key, b, err);
	if (r == TPQ_OK && buf_cstr(b))
		r = oom(err);
	return r;
}

static enum tpq_status put_head(struct tpq_state *s, uint64_t seq, struct tpq_error *err)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "%" PRIu64 "\n", seq);
	return s->st->put(s->st, D "head", head, (size_t)n, 0, err);
}

/* The newest committed seq: the head hint, then any commit after it. */
static enum tpq_status find_last(struct tpq_state *s, struct tpq_error *err)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	uint64_t hint = 0;
	enum tpq_status r = get_text(s->st, D "head", &b, err);
	if (r == TPQ_OK)
		hint = strtoull((char *)b.p, NULL, 10);
	else if (r != TPQ_ENOTFOUND)
		goto out;
	tpq_error_clear(err);
	char after[128];
	seq_name(after, sizeof(after), D "commits/", hint);
	struct strv keys;
	r = list_keys(s->st, D "commits/", 0, hint ? after : NULL, &keys, err);
	if (r)
		goto out;
	s->last = hint;
	s->head_hint = hint;
	for (size_t i = 0; i < keys.n; i++) {
		uint64_t q = strtoull(keys.v[i] + strlen(D "commits/"), NULL, 10);
		if (q > s->last)
			s->last = q;
	}
	strv_release(&keys);
out:
	tpq_buf_release(&b);
	return r;
}

static int add_root(struct tpq_state *s, const char *root, int day)
{
	for (size_t i = 0; i < s->n_roots; i++) {
		if (!strcmp(s->roots[i].root, root)) {
			if (day > s->roots[i].day)
				s->roots[i].day = day;
			return 0;
		}
	}
	if (tpq_grow(&s->roots, s->n_roots, &s->cap_roots, sizeof(*s->roots), 16))
		return -1;
	if (!(s->roots[s->n_roots].root = strdup(root)))
		return -1;
	s->roots[s->n_roots++].day = day;
	return 0;
}

int tpq_state_root_day(const struct tpq_state *s, const char *root)
{
	for (size_t i = 0; i < s->n_roots; i++)
		if (!strcmp(s->roots[i].root, root))
			return s->roots[i].day;
	return 0;
}

int tpq_state_root_note(struct tpq_state *s, const char *root, int day)
{
	return add_root(s, root, day);
}

int tpq_state_rejected_set(struct tpq_state *s, const char *key, const char *error)
{
	for (size_t i = 0; i < s->n_rej; i++) {
		if (!strcmp(s->rej[i].key, key)) {
			char *e = strdup(error);
			if (!e)
				return -1;
			free(s->rej[i].error);
			s->rej[i].error = e;
			return 0;
		}
	}
	if (tpq_grow(&s->rej, s->n_rej, &s->cap_rej, sizeof(*s->rej), 16))
		return -1;
	s->rej[s->n_rej].key = strdup(key);
	s->rej[s->n_rej].error = strdup(error);
	if (!s->rej[s->n_rej].key || !s->rej[s->n_rej].error) {
		free(s->rej[s->n_rej].key);
		free(s->rej[s->n_rej].error);
		return -1;
	}
	s->n_rej++;
	return 0;
}

void tpq_state_rejected_clear(struct tpq_state *s, const char *key)
{
	for (size_t i = 0; i < s->n_rej; i++) {
		if (!strcmp(s->rej[i].key, key)) {
			free(s->rej[i].key);
			free(s->rej[i].error);
			s->rej[i] = s->rej[--s->n_rej];
			return;
		}
	}
}

size_t tpq_state_rejected_count(const struct tpq_state *s) { return s->n_rej; }

struct tpq_table_totals *tpq_state_totals(struct tpq_state *s, int table)
{
	return &s->totals[table];
}

int tpq_state_obsolete(struct tpq_state *s, const char *key)
{
	pthread_mutex_lock(&s->plan_mu);
	int rc = strv_push(&s->obsolete, key);
	pthread_mutex_unlock(&s->plan_mu);
	return rc;
}

/* Parses a commit record into the state (roots, totals, rejected) and/or
 * the list of obsolete keys it names. */
static int parse_commit(char *text, struct tpq_state *into, struct strv *obsolete, char *run,
			size_t run_cap)
{
	char *cur = text, *line;
	line = next_line(&cur);
	if (!line || strcmp(line, "trailpq-commit 1"))
		return -1;
	while ((line = next_line(&cur))) {
		char *f[6];
		if (!strncmp(line, "run ", 4) && run) {
			snprintf(run, run_cap, "%s", line + 4);
		} else if (!strncmp(line, "total ", 6) && into) {
			int t = atoi(line + 6);
			if (t < 0 || t >= TPQ_STATE_TABLES)
				continue;
			struct tpq_table_totals *tt = &into->totals[t];
			if (sscanf(line + 6, "%*d %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64,
				   &tt->partitions, &tt->files, &tt->rows, &tt->bytes) != 4)
				return -1;
		} else if (!strncmp(line, "root ", 5) && into) {
			if (split_tabs(line + 5, f, 2) == 2 && add_root(into, f[0], atoi(f[1])))
				return -1;
		} else if (!strncmp(line, "rejected ", 9) && into) {
			if (split_tabs(line + 9, f, 2) == 2 && tpq_state_rejected_set(into, f[0], f[1]))
				return -1;
		} else if (!strncmp(line, "obsolete ", 9) && obsolete) {
			if (strv_push(obsolete, unescape(line + 9)))
				return -1;
		}
	}
	return 0;
}

/* ---- pending records: settling what earlier runs left ---- */

static bool owned_by(const char *key, uint64_t seq, const char *tag)
{
	const char *base = strrchr(key, '/');
	base = base ? base + 1 : key;
	char want[64];
	snprintf(want, sizeof(want), "%010" PRIu64 "-%s", seq, tag);
	size_t n = strlen(want);
	if (!strncmp(base, "part-", 5))
		base += 5;
	return !strncmp(base, want, n) && (base[n] == '.' || base[n] == '-');
}

static enum tpq_status settle(struct tpq_state *s, const char *pkey, struct tpq_error *err)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	struct strv dirs = {0}, obs = {0};
	enum tpq_status r = get_text(s->st, pkey, &b, err);
	if (r == TPQ_ENOTFOUND) {
		/* never published (the run died writing it, before any of its
		 * files): only its temporary is left */
		tpq_error_clear(err);
		r = s->st->del(s->st, pkey, err);
		goto out;
	}
	if (r)
		goto out;
	uint64_t seq = 0;
	char run[96] = "", *cur = (char *)b.p, *line;
	line = next_line(&cur);
	if (!line || strcmp(line, "trailpq-pending 1")) {
		tpq_error_where(err, pkey);
		r = tpq_error_set(err, TPQ_ESTATE, "not a pending record of this format");
		goto out;
	}
	while ((line = next_line(&cur))) {
		if (!strncmp(line, "seq ", 4))
			seq = strtoull(line + 4, NULL, 10);
		else if (!strncmp(line, "run ", 4))
			snprintf(run, sizeof(run), "%s", line + 4);
		else if (!strncmp(line, "dir ", 4) && strv_push(&dirs, unescape(line + 4))) {
			r = oom(err);
			goto out;
		}
	}
	size_t rl = strlen(run);
	const char *tag = rl >= 8 ? run + rl - 8 : run;
	/* committed by this very run? */
	char ckey[128], crun[96] = "";
	seq_name(ckey, sizeof(ckey), D "commits/", seq);
	r = get_text(s->st, ckey, &b, err);
	if (r == TPQ_OK) {
		if (parse_commit((char *)b.p, NULL, &obs, crun, sizeof(crun))) {
			tpq_error_where(err, ckey);
			r = tpq_error_set(err, TPQ_ESTATE, "unreadable commit record");
			goto out;
		}
	} else if (r == TPQ_ENOTFOUND) {
		tpq_error_clear(err);
		r = TPQ_OK;
	} else {
		goto out;
	}
	if (crun[0] && !strcmp(crun, run)) {
		/* committed: finish its cleanup */
		for (size_t i = 0; i < obs.n && r == TPQ_OK; i++)
			r = s->st->del(s->st, obs.v[i], err);
		s->finished++;
	} else {
		/* never committed: remove everything it wrote */
		for (size_t i = 0; i < dirs.n && r == TPQ_OK; i++) {
			struct strv keys = {0};
			r = list_keys(s->st, dirs.v[i], TPQ_LIST_DELIM | TPQ_LIST_UNPUBLISHED, NULL,
				      &keys, err);
			for (size_t j = 0; r == TPQ_OK && j < keys.n; j++)
				if (owned_by(keys.v[j], seq, tag))
					r = s->st->del(s->st, keys.v[j], err);
			strv_release(&keys);
		}
		s->undone++;
	}
	if (r == TPQ_OK)
		r = s->st->del(s->st, pkey, err);
out:
	strv_release(&dirs);
	strv_release(&obs);
	tpq_buf_release(&b);
	return r;
}

int tpq_state_plan(struct tpq_state *s, const char *dir)
{
	pthread_mutex_lock(&s->plan_mu);
	int rc = 0;
	bool have = false;
	for (size_t i = 0; i < s->plan.n && !have; i++)
		have = !strcmp(s->plan.v[i], dir);
	if (!have)
		rc = strv_push(&s->plan, dir);
	pthread_mutex_unlock(&s->plan_mu);
	return rc;
}

static enum tpq_status plan_flush_locked(struct tpq_state *s, struct tpq_error *err);

static void pending_key(const struct tpq_state *s, char *out, size_t cap)
{
	snprintf(out, cap, D "pending/%010" PRIu64 "-%s", s->seq, s->tag);
}

enum tpq_status tpq_state_plan_flush(struct tpq_state *s, struct tpq_error *err)
{
	pthread_mutex_lock(&s->plan_mu);
	enum tpq_status r = plan_flush_locked(s, err);
	pthread_mutex_unlock(&s->plan_mu);
	return r;
}

static enum tpq_status plan_flush_locked(struct tpq_state *s, struct tpq_error *err)
{
	if (s->plan_flushed == s->plan.n && s->plan_flushed)
		return TPQ_OK;
	struct tpq_buf b;
	tpq_buf_init(&b);
	char head[256];
	snprintf(head, sizeof(head), "trailpq-pending 1\nseq %" PRIu64 "\nrun %s\n", s->seq, s->run_id);
	tpq_buf_put(&b, head, strlen(head));
	for (size_t i = 0; i < s->plan.n; i++) {
		tpq_buf_put(&b, "dir ", 4);
		tpq_state_escape(&b, s->plan.v[i]);
		tpq_buf_put_u8(&b, '\n');
	}
	enum tpq_status r = tpq_buf_status(&b) ? oom(err) : TPQ_OK;
	char key[160];
	pending_key(s, key, sizeof(key));
	if (r == TPQ_OK)
		r = s->st->put(s->st, key, b.p, b.len, 0, err);
	if (r == TPQ_OK)
		s->plan_flushed = s->plan.n;
	tpq_buf_release(&b);
	return r;
}

/* ---- open / commit / close ---- */

static void free_state(struct tpq_state *s)
{
	for (size_t i = 0; i < s->n_roots; i++)
		free(s->roots[i].root);
	free(s->roots);
	for (size_t i = 0; i < s->n_rej; i++) {
		free(s->rej[i].key);
		free(s->rej[i].error);
	}
	free(s->rej);
	strv_release(&s->obsolete);
	strv_release(&s->plan);
	pthread_mutex_destroy(&s->plan_mu);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static enum tpq_status check_format(struct tpq_state *s, struct tpq_error *err)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	enum tpq_status r = get_text(s->st, D "format", &b, err);
	if (r == TPQ_ENOTFOUND) {
		tpq_error_clear(err);
		r = s->st->put(s->st, D "format", FORMAT_TEXT, strlen(FORMAT_TEXT), TPQ_PUT_IF_ABSENT,
			       err);
		if (r == TPQ_EEXIST) {
			tpq_error_clear(err);
			r = get_text(s->st, D "format", &b, err);
		} else {
			goto out;
		}
	}
	if (r == TPQ_OK && strcmp((char *)b.p, FORMAT_TEXT) != 0) {
		tpq_error_where(err, D "format");
		r = tpq_error_set(err, TPQ_ESTATE,
				  "this lake's state has another format (\"%.40s\"); this trailpq "
				  "reads format %d",
				  (char *)b.p, TPQ_STATE_FORMAT);
	}
out:
	tpq_buf_release(&b);
	return r;
}

enum tpq_status tpq_state_open(struct tpq_state **out, struct tpq_store *dst,
			       const struct tpq_state_options *opt, struct tpq_error *err)
{
	*out = NULL;
	struct tpq_state *s = calloc(1, sizeof(*s));
	if (!s)
		return oom(err);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->plan_mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->st = dst;
	s->opt = *opt;
	if (s->opt.lease_ms <= 0)
		s->opt.lease_ms = 300 * 1000;
	snprintf(s->run_id, sizeof(s->run_id), "%s", opt->run_id ? opt->run_id : "run");
	size_t rl = strlen(s->run_id);
	memcpy(s->tag, rl >= 8 ? s->run_id + rl - 8 : s->run_id, rl >= 8 ? 8 : rl);
	enum tpq_status r = acquire(s, err);
	if (r) {
		release_lock(s); /* the lock may be ours already (a failed fsync after it) */
		free_state(s);
		return r;
	}
	if (pthread_create(&s->beat, NULL, heartbeat, s) == 0)
		s->beating = true;
	/* takeover markers of earlier leases (takers that died holding one) */
	struct strv markers = {0};
	r = list_keys(dst, D "lock.steal.", 0, NULL, &markers, err);
	for (size_t i = 0; r == TPQ_OK && i < markers.n; i++)
		if (strcmp(markers.v[i], s->steal_marker) != 0)
			r = dst->del(dst, markers.v[i], err);
	strv_release(&markers);
	if (r)
		goto fail;
	r = check_format(s, err);
	if (r)
		goto fail;
	/* settle what earlier runs left, then read the newest commit */
	struct strv pend = {0};
	r = list_keys(dst, D "pending/", TPQ_LIST_UNPUBLISHED, NULL, &pend, err);
	for (size_t i = 0; r == TPQ_OK && i < pend.n; i++)
		r = settle(s, pend.v[i], err);
	strv_release(&pend);
	if (r)
		goto fail;
	r = find_last(s, err);
	if (r == TPQ_OK && s->last != s->head_hint)
		r = put_head(s, s->last, err); /* a run died before moving it */
	if (r)
		goto fail;
	if (s->last) {
		char key[128];
		seq_name(key, sizeof(key), D "commits/", s->last);
		struct tpq_buf b;
		tpq_buf_init(&b);
		r = get_text(dst, key, &b, err);
		if (r == TPQ_OK && parse_commit((char *)b.p, s, NULL, NULL, 0)) {
			tpq_error_where(err, key);
			r = tpq_error_set(err, TPQ_ESTATE, "unreadable commit record");
		}
		tpq_buf_release(&b);
		if (r)
			goto fail;
	}
	s->seq = s->last + 1;
	*out = s;
	return TPQ_OK;
fail:
	release_lock(s);
	free_state(s);
	return r;
}

enum tpq_status tpq_state_commit(struct tpq_state *s, const char *summary, struct tpq_error *err)
{
	pthread_mutex_lock(&s->mu);
	bool lost = s->lock_lost;
	pthread_mutex_unlock(&s->mu);
	struct lock_info li;
	if (!lost) {
		enum tpq_status r = get_lock(s, &li, err);
		if (r && r != TPQ_ENOTFOUND)
			return r;
		lost = r == TPQ_ENOTFOUND || strcmp(li.run, s->run_id) != 0;
	}
	if (lost) {
		tpq_error_where(err, s->st->name(s->st));
		return tpq_error_set(err, TPQ_ELOCKED,
				     "this run lost its lock (its lease expired and another run took "
				     "it): nothing of this run was committed");
	}
	struct tpq_buf b;
	tpq_buf_init(&b);
	char line[512];
	snprintf(line, sizeof(line), "trailpq-commit 1\nseq %" PRIu64 "\nrun %s\nhost %s\npid %d\n"
		 "time %" PRId64 "\n", s->seq, s->run_id, s->opt.host ? s->opt.host : "", s->opt.pid,
		 now_ms());
	tpq_buf_put(&b, line, strlen(line));
	for (int t = 0; t < TPQ_STATE_TABLES; t++) {
		const struct tpq_table_totals *tt = &s->totals[t];
		snprintf(line, sizeof(line), "total %d %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
			 t, tt->partitions, tt->files, tt->rows, tt->bytes);
		tpq_buf_put(&b, line, strlen(line));
	}
	for (size_t i = 0; i < s->n_roots; i++) {
		tpq_buf_put(&b, "root ", 5);
		tpq_state_escape(&b, s->roots[i].root);
		snprintf(line, sizeof(line), "\t%d\n", s->roots[i].day);
		tpq_buf_put(&b, line, strlen(line));
	}
	for (size_t i = 0; i < s->n_rej; i++) {
		tpq_buf_put(&b, "rejected ", 9);
		tpq_state_escape(&b, s->rej[i].key);
		tpq_buf_put_u8(&b, '\t');
		tpq_state_escape(&b, s->rej[i].error);
		tpq_buf_put_u8(&b, '\n');
	}
	for (size_t i = 0; i < s->obsolete.n; i++) {
		tpq_buf_put(&b, "obsolete ", 9);
		tpq_state_escape(&b, s->obsolete.v[i]);
		tpq_buf_put_u8(&b, '\n');
	}
	if (summary)
		tpq_buf_put(&b, summary, strlen(summary));
	enum tpq_status r = tpq_buf_status(&b) ? oom(err) : TPQ_OK;
	char key[128];
	seq_name(key, sizeof(key), D "commits/", s->seq);
	if (r == TPQ_OK)
		r = s->st->put(s->st, key, b.p, b.len, TPQ_PUT_IF_ABSENT, err);
	tpq_buf_release(&b);
	if (r == TPQ_EEXIST) {
		tpq_error_where(err, key);
		return tpq_error_set(err, TPQ_EEXIST,
				     "another run committed sequence %" PRIu64 " first (this run's lock "
				     "was taken over): nothing of this run was committed", s->seq);
	}
	if (r == TPQ_OK)
		s->committed = true;
	return r;
}

void tpq_state_close(struct tpq_state *s)
{
	if (!s)
		return;
	if (s->committed) {
		/* after the commit: delete what it made obsolete, then the pending
		 * record (a crash in between is finished by the next open), then
		 * move the head hint */
		enum tpq_status r = TPQ_OK;
		for (size_t i = 0; i < s->obsolete.n && r == TPQ_OK; i++)
			r = s->st->del(s->st, s->obsolete.v[i], NULL);
		char key[160];
		pending_key(s, key, sizeof(key));
		if (r == TPQ_OK)
			r = s->st->del(s->st, key, NULL);
		if (r == TPQ_OK)
			put_head(s, s->seq, NULL);
	}
	release_lock(s);
	free_state(s);
}

/* ---- versions of a shard: DIR/SEQ-TAG.EXT ---- */

struct version_pick {
	const struct tpq_state *s;
	uint64_t best;
	char best_key[1024];
	int ties;               /* same seq, other tags: a lost-lock run's leftovers */
	char own_key[1024];     /* this run's own version (an earlier batch saved it) */
	struct strv all;
};

static int pick_version(void *ctx, const struct tpq_object *o)
{
	struct version_pick *vp = ctx;
	const char *base = strrchr(o->key, '/');
	base = base ? base + 1 : o->key;
	char *end;
	uint64_t q = strtoull(base, &end, 10);
	if (end - base != 10 || *end != '-')
		return 0;
	if (strv_push(&vp->all, o->key))
		return 1;
	if (q > vp->s->last && q != vp->s->seq)
		return 0; /* not committed: settled by the next open */
	if (q == vp->s->seq) {
		/* this run's own, not yet committed: an earlier batch of the run
		 * wrote it, and the run goes on from there */
		if (owned_by(o->key, q, vp->s->tag))
			snprintf(vp->own_key, sizeof(vp->own_key), "%s", o->key);
		return 0;
	}
	if (q > vp->best) {
		vp->best = q;
		vp->ties = 0;
		snprintf(vp->best_key, sizeof(vp->best_key), "%s", o->key);
	} else if (q == vp->best) {
		vp->ties++;
	}
	return 0;
}

/* Loads the committed version of the shard in directory `dir` (ends in
 * '/'): *out gets its text (NUL-terminated), *version its seq (0: none).
 * Older committed versions found on the way are marked obsolete. A version
 * this run saved already (an earlier batch) is the one loaded. */
static enum tpq_status load_version(struct tpq_state *s, const char *dir, struct tpq_buf *out,
				    uint64_t *version, char **version_key, struct tpq_error *err)
{
	struct version_pick vp;
	memset(&vp, 0, sizeof(vp));
	vp.s = s;
	enum tpq_status r = s->st->list(s->st, dir, TPQ_LIST_DELIM, NULL, pick_version, &vp, err);
	if (r == TPQ_OK && vp.own_key[0]) {
		/* older versions were marked obsolete when this one was first saved */
		*version = s->seq;
		r = s->st->get(s->st, vp.own_key, out, err);
		if (r == TPQ_OK && !(*version_key = strdup(vp.own_key)))
			r = oom(err);
		strv_release(&vp.all);
		return r;
	}
	*version = vp.best;
	if (r == TPQ_OK && vp.best && vp.ties) {
		/* two runs used this seq: the committing run's tag decides */
		char ckey[128], crun[96] = "";
		seq_name(ckey, sizeof(ckey), D "commits/", vp.best);
		r = get_text(s->st, ckey, out, err);
		if (r == TPQ_OK)
			parse_commit((char *)out->p, NULL, NULL, crun, sizeof(crun));
		size_t rl = strlen(crun);
		const char *tag = rl >= 8 ? crun + rl - 8 : crun;
		for (size_t i = 0; r == TPQ_OK && i < vp.all.n; i++)
			if (owned_by(vp.all.v[i], vp.best, tag))
				snprintf(vp.best_key, sizeof(vp.best_key), "%s", vp.all.v[i]);
	}
	if (r == TPQ_OK && vp.best)
		r = s->st->get(s->st, vp.best_key, out, err);
	if (r == TPQ_OK && vp.best && !(*version_key = strdup(vp.best_key)))
		r = oom(err);
	for (size_t i = 0; r == TPQ_OK && i < vp.all.n; i++) {
		uint64_t q = strtoull(strrchr(vp.all.v[i], '/') + 1, NULL, 10);
		if (q < vp.best && tpq_state_obsolete(s, vp.all.v[i]))
			r = oom(err);
	}
	strv_release(&vp.all);
	return r;
}

static enum tpq_status save_version(struct tpq_state *s, const char *dir, const char *ext,
				    const char *old_key, const void *p, size_t n,
				    struct tpq_error *err)
{
	char key[2048];
	if (snprintf(key, sizeof(key), "%s%010" PRIu64 "-%s.%s", dir, s->seq, s->tag, ext) >=
	    (int)sizeof(key))
		return tpq_error_set(err, TPQ_ELIMIT, "state key too long: %s", dir);
	if (tpq_state_plan(s, dir))
		return oom(err);
	enum tpq_status r = tpq_state_plan_flush(s, err);
	if (r == TPQ_OK)
		r = s->st->put(s->st, key, p, n, 0, err);
	/* the version this one supersedes goes after the commit (unless it is
	 * this run's own, just overwritten) */
	if (r == TPQ_OK && old_key && strcmp(old_key, key) != 0 && tpq_state_obsolete(s, old_key))
		r = oom(err);
	return r;
}

/* ---- partitions ---- */

void tpq_row_key(const void *id, size_t id_len, bool has_id, const uint64_t content[2],
		 uint64_t out[2])
{
	struct tpq_hash128 h;
	tpq_hash128_init(&h);
	uint8_t flag = has_id ? 1 : 0;
	tpq_hash128_update(&h, &flag, 1);
	if (has_id)
		tpq_hash128_update(&h, id, id_len);
	tpq_hash128_update(&h, content, 16);
	tpq_hash128_final(&h, out);
}

static size_t slot_of(uint64_t k, size_t n_slots)
{
	return (size_t)(k * 0x9E3779B97F4A7C15ull >> 7) & (n_slots - 1);
}

/* Open-addressing tables of index + 1, at most half full. */
static uint32_t *new_slots(size_t n_items, size_t min, size_t *n_slots)
{
	size_t want = min;
	while (want < n_items * 2 + 2)
		want *= 2;
	*n_slots = want;
	return calloc(want, sizeof(uint32_t));
}

static void slot_put(uint32_t *sl, size_t n_slots, uint64_t h, uint32_t v)
{
	size_t j = slot_of(h, n_slots);
	while (sl[j])
		j = (j + 1) & (n_slots - 1);
	sl[j] = v;
}

static int reindex(struct tpq_part_state *p)
{
	size_t want;
	uint32_t *sl = new_slots(p->n_rows, 64, &want);
	if (!sl)
		return -1;
	free(p->slots);
	p->slots = sl;
	p->n_slots = want;
	for (size_t i = 0; i < p->n_rows; i++)
		if (!p->rows[i].noid)
			slot_put(sl, want, p->rows[i].key[0], (uint32_t)i + 1);
	return 0;
}

static uint64_t src_hash(const char *key)
{
	uint64_t h[2];
	tpq_hash128(key, strlen(key), h);
	return h[0];
}

static int src_reindex(struct tpq_part_state *p)
{
	size_t want;
	uint32_t *sl = new_slots(p->n_srcs, 16, &want);
	if (!sl)
		return -1;
	free(p->src_slots);
	p->src_slots = sl;
	p->n_src_slots = want;
	for (size_t i = 0; i < p->n_srcs; i++)
		slot_put(sl, want, src_hash(p->srcs[i]), (uint32_t)i + 1);
	return 0;
}

int tpq_part_state_reindex(struct tpq_part_state *p)
{
	return reindex(p);
}

int64_t tpq_part_state_find(const struct tpq_part_state *p, const uint64_t key[2])
{
	if (!p->n_slots)
		return -1;
	size_t j = slot_of(key[0], p->n_slots);
	while (p->slots[j]) {
		const struct tpq_part_row *r = &p->rows[p->slots[j] - 1];
		if (r->key[0] == key[0] && r->key[1] == key[1] && !r->dead)
			return p->slots[j] - 1;
		j = (j + 1) & (p->n_slots - 1);
	}
	return -1;
}

int64_t tpq_part_state_src(struct tpq_part_state *p, const char *key)
{
	uint64_t h[1] = {src_hash(key)};
	if (p->n_src_slots) {
		size_t j = slot_of(h[0], p->n_src_slots);
		while (p->src_slots[j]) {
			if (!strcmp(p->srcs[p->src_slots[j] - 1], key))
				return p->src_slots[j] - 1;
			j = (j + 1) & (p->n_src_slots - 1);
		}
	}
	if (tpq_grow(&p->srcs, p->n_srcs, &p->cap_srcs, sizeof(*p->srcs), 16))
		return -1;
	if (!(p->srcs[p->n_srcs] = strdup(key)))
		return -1;
	p->n_srcs++;
	if (p->n_srcs * 2 + 2 > p->n_src_slots) {
		if (src_reindex(p))
			return -1;
	} else {
		slot_put(p->src_slots, p->n_src_slots, h[0], (uint32_t)p->n_srcs);
	}
	return (int64_t)p->n_srcs - 1;
}

static int extra_push(struct tpq_part_state *p, uint32_t v)
{
	if (tpq_grow(&p->extra, p->n_extra, &p->cap_extra, sizeof(*p->extra), 64))
		return -1;
	p->extra[p->n_extra++] = v;
	return 0;
}

int tpq_part_state_add_source(struct tpq_part_state *p, size_t row, uint32_t src)
{
	struct tpq_part_row *r = &p->rows[row];
	const uint32_t *cur = r->n_src == 1 ? &r->src : p->extra + r->src;
	for (uint16_t i = 0; i < r->n_src; i++)
		if (cur[i] == src)
			return 0;
	if (r->n_src == UINT16_MAX)
		return 0; /* enough witnesses */
	/* move the list to the end of extra[] with the new one appended */
	size_t at = p->n_extra;
	uint16_t n = r->n_src;
	uint32_t first = r->src;
	for (uint16_t i = 0; i < n; i++)
		if (extra_push(p, n == 1 ? first : p->extra[first + i]))
			return -1;
	if (extra_push(p, src))
		return -1;
	r->src = (uint32_t)at;
	r->n_src = n + 1;
	return 0;
}

int tpq_part_state_add_file(struct tpq_part_state *p, const struct tpq_part_file *f)
{
	if (tpq_grow(&p->files, p->n_files, &p->cap_files, sizeof(*p->files), 8))
		return -1;
	p->files[p->n_files] = *f;
	if (!(p->files[p->n_files].name = strdup(f->name)))
		return -1;
	p->n_files++;
	return 0;
}

int tpq_part_state_add_row(struct tpq_part_state *p, const uint64_t key[2], bool noid,
			   uint32_t src)
{
	if (tpq_grow(&p->rows, p->n_rows, &p->cap_rows, sizeof(*p->rows), 1024))
		return -1;
	if (p->n_rows >= UINT32_MAX - 1)
		return -1;
	struct tpq_part_row *r = &p->rows[p->n_rows++];
	r->key[0] = key[0];
	r->key[1] = key[1];
	r->src = src;
	r->n_src = 1;
	r->noid = noid;
	r->dead = 0;
	if (noid)
		return 0;
	if (p->n_rows * 2 + 2 > p->n_slots)
		return reindex(p);
	slot_put(p->slots, p->n_slots, key[0], (uint32_t)p->n_rows);
	return 0;
}

size_t tpq_part_state_drop_source(struct tpq_part_state *p, uint32_t src)
{
	size_t died = 0;
	for (size_t i = 0; i < p->n_rows; i++) {
		struct tpq_part_row *r = &p->rows[i];
		if (r->dead)
			continue;
		if (r->n_src == 1) {
			if (r->src == src) {
				r->dead = 1;
				r->n_src = 0;
				died++;
			}
			continue;
		}
		uint32_t *v = p->extra + r->src;
		uint16_t k = 0;
		for (uint16_t j = 0; j < r->n_src; j++)
			if (v[j] != src)
				v[k++] = v[j];
		r->n_src = k;
		if (k == 1)
			r->src = v[0];
		else if (k == 0) {
			r->dead = 1;
			died++;
		}
	}
	return died;
}

void tpq_part_state_free(struct tpq_part_state *p)
{
	if (!p)
		return;
	free(p->path);
	free(p->version_key);
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i].name);
	free(p->files);
	for (size_t i = 0; i < p->n_srcs; i++)
		free(p->srcs[i]);
	free(p->srcs);
	free(p->rows);
	free(p->extra);
	free(p->slots);
	free(p->src_slots);
	free(p);
}

/* Binary version (zstd-compressed):
 *   "TPQPART1"
 *   uleb n_srcs, then each: uleb len, bytes
 *   uleb n_files, then each: uleb len, name, uleb rows, bytes, seq, zigzag min_ms, max_ms
 *   then for each file, its rows: 16 bytes key (LE), uleb (n_src << 1 | noid),
 *   n_src x uleb source index */
#define PART_MAGIC "TPQPART1"

struct rd {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t rd_uleb(struct rd *r)
{
	uint64_t v = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *q = r->p;
	r->p += n;
	return q;
}

static uint64_t rd_le64(struct rd *r)
{
	const uint8_t *q = rd_bytes(r, 8);
	uint64_t v = 0;
	for (int i = 7; q && i >= 0; i--)
		v = v << 8 | q[i];
	return v;
}

static char *rd_str(struct rd *r)
{
	uint64_t n = rd_uleb(r);
	const uint8_t *q = n > (uint64_t)(r->end - r->p) ? NULL : rd_bytes(r, (size_t)n);
	if (!q) {
		r->bad = 1;
		return NULL;
	}
	char *s = malloc((size_t)n + 1);
	if (!s) {
		r->bad = 2;
		return NULL;
	}
	memcpy(s, q, (size_t)n);
	s[n] = '\0';
	return s;
}

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static void part_dir(char *out, size_t cap, const char *path)
{
	snprintf(out, cap, D "parts/%s/", path);
}

static enum tpq_status decode_part(struct tpq_part_state *p, const uint8_t *data, size_t n,
				   struct tpq_error *err)
{
	struct rd r = {data, data + n, 0};
	const uint8_t *m = rd_bytes(&r, 8);
	if (!m || memcmp(m, PART_MAGIC, 8))
		return tpq_error_set(err, TPQ_ESTATE, "not a partition state of this format");
	uint64_t ns = rd_uleb(&r);
	for (uint64_t i = 0; i < ns && !r.bad; i++) {
		char *s = rd_str(&r);
		if (s && tpq_part_state_src(p, s) < 0)
			r.bad = 2;
		free(s);
	}
	uint64_t nf = r.bad ? 0 : rd_uleb(&r);
	uint64_t *counts = nf <= n ? calloc(nf ? nf : 1, sizeof(*counts)) : NULL;
	if (!counts)
		r.bad = nf > n ? 1 : 2;
	for (uint64_t i = 0; i < nf && !r.bad; i++) {
		struct tpq_part_file f;
		f.name = rd_str(&r);
		f.rows = rd_uleb(&r);
		f.bytes = rd_uleb(&r);
		f.seq = rd_uleb(&r);
		f.min_ms = unzz(rd_uleb(&r));
		f.max_ms = unzz(rd_uleb(&r));
		counts[i] = f.rows;
		if (!r.bad && tpq_part_state_add_file(p, &f))
			r.bad = 2;
		free(f.name);
	}
	for (uint64_t i = 0; i < nf && !r.bad; i++) {
		for (uint64_t j = 0; j < counts[i] && !r.bad; j++) {
			uint64_t key[2];
			key[0] = rd_le64(&r);
			key[1] = rd_le64(&r);
			uint64_t h = rd_uleb(&r);
			uint64_t k = h >> 1;
			if (k == 0 || k > UINT16_MAX || k > (uint64_t)(r.end - r.p)) {
				r.bad = 1;
				break;
			}
			uint64_t s0 = rd_uleb(&r);
			if (s0 >= p->n_srcs || tpq_part_state_add_row(p, key, h & 1, (uint32_t)s0)) {
				r.bad = r.bad ? r.bad : s0 >= p->n_srcs ? 1 : 2;
				break;
			}
			for (uint64_t q = 1; q < k && !r.bad; q++) {
				uint64_t sq = rd_uleb(&r);
				if (sq >= p->n_srcs)
					r.bad = 1;
				else if (tpq_part_state_add_source(p, p->n_rows - 1, (uint32_t)sq))
					r.bad = 2;
			}
		}
	}
	free(counts);
	if (r.bad == 2)
		return oom(err);
	if (r.bad || r.p != r.end)
		return tpq_error_set(err, TPQ_ESTATE, "damaged partition state");
	return TPQ_OK;
}

enum tpq_status tpq_part_state_load(struct tpq_state *s, const char *path,
				    struct tpq_codec_ctx *codec, struct tpq_part_state **out,
				    struct tpq_error *err)
{
	*out = NULL;
	struct tpq_part_state *p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path))) {
		free(p);
		return oom(err);
	}
	char dir[1200];
	part_dir(dir, sizeof(dir), path);
	struct tpq_buf b, raw;
	tpq_buf_init(&b);
	tpq_buf_init(&raw);
	enum tpq_status r = load_version(s, dir, &raw, &p->version, &p->version_key, err);
	if (r == TPQ_OK && p->version) {
		/* 8 bytes of uncompressed size, then a zstd frame */
		struct rd rr = {raw.p, raw.p + raw.len, 0};
		uint64_t n = rd_le64(&rr);
		if (rr.bad || n > ((uint64_t)1 << 34) || tpq_buf_reserve(&b, (size_t)n + 1))
			r = rr.bad || n > ((uint64_t)1 << 34)
				    ? tpq_error_set(err, TPQ_ESTATE, "damaged partition state")
				    : oom(err);
		else
			r = tpq_codec_decompress(codec, TPQ_CODEC_ZSTD, raw.p + 8, raw.len - 8, b.p,
						 (size_t)n, err);
		if (r == TPQ_OK)
			r = decode_part(p, b.p, (size_t)n, err);
		if (r)
			tpq_error_where(err, dir);
	}
	tpq_buf_release(&b);
	tpq_buf_release(&raw);
	if (r) {
		tpq_part_state_free(p);
		return r;
	}
	*out = p;
	return TPQ_OK;
}

static void put_str(struct tpq_buf *b, const char *s)
{
	size_t n = strlen(s);
	tpq_buf_put_uleb(b, n);
	tpq_buf_put(b, s, n);
}

enum tpq_status tpq_part_state_save(struct tpq_state *s, struct tpq_part_state *p,
				    struct tpq_codec_ctx *codec, struct tpq_error *err)
{
	struct tpq_buf b, z;
	tpq_buf_init(&b);
	tpq_buf_init(&z);
	tpq_buf_put(&b, PART_MAGIC, 8);
	tpq_buf_put_uleb(&b, p->n_srcs);
	for (size_t i = 0; i < p->n_srcs; i++)
		put_str(&b, p->srcs[i]);
	tpq_buf_put_uleb(&b, p->n_files);
	uint64_t total = 0;
	for (size_t i = 0; i < p->n_files; i++) {
		const struct tpq_part_file *f = &p->files[i];
		put_str(&b, f->name);
		tpq_buf_put_uleb(&b, f->rows);
		tpq_buf_put_uleb(&b, f->bytes);
		tpq_buf_put_uleb(&b, f->seq);
		tpq_buf_put_uleb(&b, zz(f->min_ms));
		tpq_buf_put_uleb(&b, zz(f->max_ms));
		total += f->rows;
	}
	enum tpq_status r = TPQ_OK;
	if (total != p->n_rows) {
		r = tpq_error_set(err, TPQ_ESTATE, "partition %s: %" PRIu64 " rows in files, %zu keys",
				  p->path, total, p->n_rows);
		goto out;
	}
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct tpq_part_row *row = &p->rows[i];
		tpq_buf_put_le64(&b, row->key[0]);
		tpq_buf_put_le64(&b, row->key[1]);
		tpq_buf_put_uleb(&b, (uint64_t)row->n_src << 1 | row->noid);
		const uint32_t *v = row->n_src == 1 ? &row->src : p->extra + row->src;
		for (uint16_t j = 0; j < row->n_src; j++)
			tpq_buf_put_uleb(&b, v[j]);
	}
	tpq_buf_put_le64(&z, b.len);
	if (tpq_buf_status(&b) || tpq_buf_status(&z)) {
		r = oom(err);
		goto out;
	}
	r = tpq_codec_compress(codec, TPQ_CODEC_ZSTD, 3, b.p, b.len, &z, err);
	char dir[1200];
	part_dir(dir, sizeof(dir), p->path);
	if (r == TPQ_OK)
		r = save_version(s, dir, "bin", p->version_key, z.p, z.len, err);
out:
	tpq_buf_release(&b);
	tpq_buf_release(&z);
	return r;
}

/* ---- source directories ---- */

static void src_dir_key(char *out, size_t cap, const char *dir)
{
	snprintf(out, cap, D "sources/%s/", dir);
}

void tpq_src_dir_free(struct tpq_src_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].etag);
		free(d->v[i].parts);
		free(d->v[i].error);
	}
	free(d->v);
	free(d->dir);
	free(d->version_key);
	free(d);
}

static size_t src_lower(const struct tpq_src_dir *d, const char *name)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(d->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct tpq_src_entry *tpq_src_dir_find(struct tpq_src_dir *d, const char *name)
{
	size_t i = src_lower(d, name);
	return i < d->n && !strcmp(d->v[i].name, name) ? &d->v[i] : NULL;
}

int tpq_src_dir_set(struct tpq_src_dir *d, const struct tpq_src_entry *e)
{
	struct tpq_src_entry c = *e;
	c.name = strdup(e->name);
	c.etag = strdup(e->etag ? e->etag : "");
	c.parts = strdup(e->parts ? e->parts : "");
	c.error = strdup(e->error ? e->error : "");
	if (!c.name || !c.etag || !c.parts || !c.error) {
		free(c.name);
		free(c.etag);
		free(c.parts);
		free(c.error);
		return -1;
	}
	size_t i = src_lower(d, e->name);
	if (i < d->n && !strcmp(d->v[i].name, e->name)) {
		free(d->v[i].name);
		free(d->v[i].etag);
		free(d->v[i].parts);
		free(d->v[i].error);
		d->v[i] = c;
	} else {
		if (d->n == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 32;
			struct tpq_src_entry *nv = realloc(d->v, cap * sizeof(*nv));
			if (!nv) {
				free(c.name);
				free(c.etag);
				free(c.parts);
				free(c.error);
				return -1;
			}
			d->v = nv;
			d->cap = cap;
		}
		memmove(d->v + i + 1, d->v + i, (d->n - i) * sizeof(*d->v));
		d->v[i] = c;
		d->n++;
	}
	d->dirty = true;
	return 0;
}

enum tpq_status tpq_src_dir_load(struct tpq_state *s, const char *dir, struct tpq_src_dir **out,
				 struct tpq_error *err)
{
	*out = NULL;
	struct tpq_src_dir *d = calloc(1, sizeof(*d));
	if (!d || !(d->dir = strdup(dir))) {
		free(d);
		return oom(err);
	}
	char key[1200];
	src_dir_key(key, sizeof(key), dir);
	struct tpq_buf b;
	tpq_buf_init(&b);
	enum tpq_status r = load_version(s, key, &b, &d->version, &d->version_key, err);
	if (r == TPQ_OK && d->version && buf_cstr(&b))
		r = oom(err);
	if (r == TPQ_OK && d->version) {
		char *cur = (char *)b.p, *line = next_line(&cur);
		if (!line || strcmp(line, "trailpq-sources 1")) {
			tpq_error_where(err, key);
			r = tpq_error_set(err, TPQ_ESTATE, "not a source directory state of this format");
		}
		while (r == TPQ_OK && (line = next_line(&cur))) {
			char *f[10];
			if (split_tabs(line, f, 10) != 10) {
				tpq_error_where(err, key);
				r = tpq_error_set(err, TPQ_ESTATE, "damaged source directory state");
				break;
			}
			struct tpq_src_entry e = {
				.name = f[0],
				.size = strtoull(f[1], NULL, 10),
				.mtime_ns = strtoll(f[2], NULL, 10),
				.etag = f[3],
				.digest = strtoull(f[4], NULL, 16),
				.seq = strtoull(f[5], NULL, 10),
				.status = atoi(f[6]),
				.rows = strtoull(f[7], NULL, 10),
				.parts = f[8],
				.error = f[9],
			};
			if (tpq_src_dir_set(d, &e))
				r = oom(err);
		}
	}
	d->dirty = false;
	tpq_buf_release(&b);
	if (r) {
		tpq_src_dir_free(d);
		return r;
	}
	*out = d;
	return TPQ_OK;
}

enum tpq_status tpq_src_dir_save(struct tpq_state *s, struct tpq_src_dir *d,
				 struct tpq_error *err)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_buf_put(&b, "trailpq-sources 1\n", 18);
	for (size_t i = 0; i < d->n; i++) {
		const struct tpq_src_entry *e = &d->v[i];
		char num[200];
		tpq_state_escape(&b, e->name);
		snprintf(num, sizeof(num), "\t%" PRIu64 "\t%" PRId64 "\t", e->size, e->mtime_ns);
		tpq_buf_put(&b, num, strlen(num));
		tpq_state_escape(&b, e->etag);
		snprintf(num, sizeof(num), "\t%016" PRIx64 "\t%" PRIu64 "\t%d\t%" PRIu64 "\t", e->digest,
			 e->seq, e->status, e->rows);
		tpq_buf_put(&b, num, strlen(num));
		tpq_state_escape(&b, e->parts);
		tpq_buf_put_u8(&b, '\t');
		tpq_state_escape(&b, e->error);
		tpq_buf_put_u8(&b, '\n');
	}
	enum tpq_status r = tpq_buf_status(&b) ? oom(err) : TPQ_OK;
	char key[1200];
	src_dir_key(key, sizeof(key), d->dir);
	if (r == TPQ_OK)
		r = save_version(s, key, "tsv", d->version_key, b.p, b.len, err);
	if (r == TPQ_OK)
		d->dirty = false;
	tpq_buf_release(&b);
	return r;
}

/* ---- status ---- */

enum tpq_status tpq_state_view(struct tpq_store *dst, size_t n_runs, struct tpq_state_view *out,
			       struct tpq_error *err)
{
	memset(out, 0, sizeof(*out));
	struct tpq_state *s = calloc(1, sizeof(*s));
	if (!s)
		return oom(err);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->plan_mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->st = dst;
	struct tpq_buf b;
	tpq_buf_init(&b);
	struct strv runs = {0};
	enum tpq_status r = find_last(s, err);
	out->seq = s->last;
	for (uint64_t q = s->last; r == TPQ_OK && q > 0 && runs.n < n_runs; q--) {
		char key[128];
		seq_name(key, sizeof(key), D "commits/", q);
		r = get_text(dst, key, &b, err);
		if (r == TPQ_ENOTFOUND) {
			tpq_error_clear(err);
			r = TPQ_OK;
			continue;
		}
		if (r == TPQ_OK && strv_push(&runs, (char *)b.p))
			r = oom(err);
		if (r == TPQ_OK && q == s->last) {
			char *copy = strdup((char *)b.p);
			if (!copy || parse_commit(copy, s, NULL, NULL, 0))
				r = copy ? tpq_error_set(err, TPQ_ESTATE, "unreadable commit record %s", key)
					 : oom(err);
			free(copy);
		}
	}
	if (r == TPQ_OK) {
		enum tpq_status lr = get_text(dst, D "lock", &b, err);
		if (lr == TPQ_OK && !(out->lock = strdup((char *)b.p)))
			r = oom(err);
		else if (lr != TPQ_OK && lr != TPQ_ENOTFOUND)
			r = lr;
		else
			tpq_error_clear(err);
	}
	memcpy(out->totals, s->totals, sizeof(out->totals));
	out->runs = runs.v;
	out->n_runs = runs.n;
	out->n_rejected = s->n_rej;
	out->rejected_keys = calloc(s->n_rej + 1, sizeof(char *));
	out->rejected_errors = calloc(s->n_rej + 1, sizeof(char *));
	for (size_t i = 0; i < s->n_rej && out->rejected_keys && out->rejected_errors; i++) {
		out->rejected_keys[i] = s->rej[i].key;
		out->rejected_errors[i] = s->rej[i].error;
		s->rej[i].key = s->rej[i].error = NULL;
	}
	if (r == TPQ_OK && (!out->rejected_keys || !out->rejected_errors))
		r = oom(err);
	tpq_buf_release(&b);
	free_state(s);
	if (r)
		tpq_state_view_release(out);
	return r;
}

void tpq_state_view_release(struct tpq_state_view *v)
{
	for (size_t i = 0; i < v->n_runs; i++)
		free(v->runs[i]);
	free(v->runs);
	for (size_t i = 0; v->rejected_keys && i < v->n_rejected; i++) {
		free(v->rejected_keys[i]);
		free(v->rejected_errors[i]);
	}
	free(v->rejected_keys);
	free(v->rejected_errors);
	free(v->lock);
	memset(v, 0, sizeof(*v));
}
