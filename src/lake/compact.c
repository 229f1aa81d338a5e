/* See compact.h. */
#include "lake/compact.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudtrail/shred.h"
#include "codec/codec.h"
#include "io/open.h"
#include "io/store.h"
#include "lake/rewrite.h"
#include "lake/state.h"
#include "util/buf.h"
#include "util/civil.h"
#include "util/error.h"

void tpq_compact_options_init(struct tpq_compact_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = TPQ_CODEC_ZSTD;
	tpq_io_options_init(&o->io);
}

struct parts {
	char **v;
	size_t n, cap;
	int failed;
};

/* Keys are _trailpq/parts/<partition>/<version>: one entry per partition
 * (the listing is sorted, so a partition's versions are adjacent). */
static int part_cb(void *ctx, const struct tpq_object *o)
{
	struct parts *p = ctx;
	const char *rel = o->key + strlen(TPQ_STATE_DIR "/parts/");
	const char *slash = strrchr(rel, '/');
	if (!slash)
		return 0;
	size_t n = (size_t)(slash - rel);
	if (p->n && strlen(p->v[p->n - 1]) == n && !memcmp(p->v[p->n - 1], rel, n))
		return 0;
	if (tpq_grow(&p->v, p->n, &p->cap, sizeof(*p->v), 64)) {
		p->failed = 1;
		return 1;
	}
	if (!(p->v[p->n] = strndup(rel, n))) {
		p->failed = 1;
		return 1;
	}
	p->n++;
	return 0;
}

static bool chosen(const struct tpq_compact_options *o, const char *path)
{
	if (o->n_partitions) {
		bool any = false;
		for (size_t i = 0; i < o->n_partitions && !any; i++) {
			size_t n = strlen(o->partitions[i]);
			while (n && o->partitions[i][n - 1] == '/')
				n--;
			any = !strncmp(path, o->partitions[i], n) && (path[n] == '/' || path[n] == '\0');
		}
		if (!any)
			return false;
	}
	if (o->older_than_days > 0) {
		const char *y = strstr(path, "/year="), *m = strstr(path, "/month="),
			   *d = strstr(path, "/day=");
		if (!y || !m || !d)
			return false;
		int64_t days = tpq_days_from_civil(atoi(y + 6), atoi(m + 7), atoi(d + 5));
		if (days >= o->today_days - o->older_than_days)
			return false;
	}
	return true;
}

static int table_of(const char *path)
{
	if (!strncmp(path, "cloudtrail_insight/", 19))
		return 1;
	if (!strncmp(path, "cloudtrail_networkactivity/", 27))
		return 2;
	return 0;
}

enum tpq_status tpq_compact(const char *dst, const struct tpq_compact_options *opt,
			    struct tpq_compact_stats *stats, struct tpq_error *err)
{
	memset(stats, 0, sizeof(*stats));
	struct tpq_store *st = tpq_store_open(dst, &opt->io, err);
	if (!st)
		return err && err->status ? err->status : TPQ_EIO;
	struct tpq_state_options so;
	tpq_state_options_init(&so);
	if (opt->lease_ms)
		so.lease_ms = opt->lease_ms;
	so.wait_ms = opt->wait_ms;
	so.host = opt->host;
	so.pid = opt->pid;
	so.run_id = opt->run_id;
	struct tpq_state *s = NULL;
	struct tpq_ct_table *table = NULL;
	struct tpq_codec_ctx *codec = tpq_codec_ctx_new();
	struct parts parts = {0};
	enum tpq_status r = codec ? tpq_state_open(&s, st, &so, err)
				  : tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	if (r == TPQ_OK)
		r = st->list(st, TPQ_STATE_DIR "/parts/", 0, NULL, part_cb, &parts, err);
	if (r == TPQ_OK && parts.failed)
		r = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	if (r == TPQ_OK)
		r = tpq_ct_table_new(&table, err);
	/* which partitions: chosen and with more than one file */
	struct tpq_part_state **todo = calloc(parts.n ? parts.n : 1, sizeof(*todo));
	size_t n_todo = 0;
	if (!todo && r == TPQ_OK)
		r = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	for (size_t i = 0; r == TPQ_OK && i < parts.n; i++) {
		if (!chosen(opt, parts.v[i]))
			continue;
		stats->partitions_seen++;
		struct tpq_part_state *ps;
		r = tpq_part_state_load(s, parts.v[i], codec, &ps, err);
		if (r)
			break;
		if (ps->n_files < 2) {
			tpq_part_state_free(ps);
			continue;
		}
		todo[n_todo++] = ps;
		char dir[1200];
		snprintf(dir, sizeof(dir), "%s/", ps->path);
		if (tpq_state_plan(s, dir))
			r = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		snprintf(dir, sizeof(dir), TPQ_STATE_DIR "/parts/%s/", ps->path);
		if (tpq_state_plan(s, dir))
			r = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	}
	if (r == TPQ_OK && n_todo)
		r = tpq_state_plan_flush(s, err);
	for (size_t i = 0; r == TPQ_OK && i < n_todo; i++) {
		struct tpq_part_state *ps = todo[i];
		uint64_t files0 = ps->n_files, bytes0 = 0, bytes1 = 0;
		for (size_t j = 0; j < ps->n_files; j++)
			bytes0 += ps->files[j].bytes;
		r = tpq_lake_compact(st, s, ps, table, opt->codec, opt->level, opt->row_group_bytes, err);
		if (r == TPQ_OK)
			r = tpq_part_state_save(s, ps, codec, err);
		if (r)
			break;
		for (size_t j = 0; j < ps->n_files; j++)
			bytes1 += ps->files[j].bytes;
		struct tpq_table_totals *tt = tpq_state_totals(s, table_of(ps->path));
		tt->files += (int64_t)ps->n_files - (int64_t)files0;
		tt->bytes += (int64_t)bytes1 - (int64_t)bytes0;
		stats->partitions_compacted++;
		stats->files_before += files0;
		stats->files_after += ps->n_files;
		stats->rows += ps->n_rows;
		stats->bytes_before += bytes0;
		stats->bytes_after += bytes1;
	}
	if (r == TPQ_OK && n_todo) {
		char summary[512];
		snprintf(summary, sizeof(summary),
			 "stat compact 1\nstat partitions_compacted %" PRIu64 "\nstat files_before %" PRIu64
			 "\nstat files_after %" PRIu64 "\nstat rows %" PRIu64 "\n",
			 stats->partitions_compacted, stats->files_before, stats->files_after, stats->rows);
		r = tpq_state_commit(s, summary, err);
		if (r == TPQ_OK)
			stats->seq = tpq_state_seq(s);
	}
	for (size_t i = 0; i < n_todo; i++)
		tpq_part_state_free(todo[i]);
	free(todo);
	for (size_t i = 0; i < parts.n; i++)
		free(parts.v[i]);
	free(parts.v);
	if (table)
		tpq_ct_table_free(table);
	tpq_state_close(s);
	tpq_codec_ctx_free(codec);
	st->free(st);
	return r;
}
