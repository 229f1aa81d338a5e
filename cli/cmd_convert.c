/* trailpq convert SRC DST: options, the rejected-file lines, the summary. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/codec.h"
#include "lake/convert.h"

static const char usage_text[] =
	"usage: trailpq convert [options] SRC DST\n"
	"\n"
	"Converts the CloudTrail files under SRC (a CloudTrail bucket as s3://BUCKET[/PREFIX],\n"
	"or a local copy of one, as `aws s3 sync` makes it) into a Parquet lake under DST\n"
	"(a directory or s3://BUCKET[/PREFIX]; any mix of the two):\n"
	"  DST/<table>/account=A/region=R/year=YYYY/month=MM/day=DD/part-*.parquet\n"
	"\n"
	"options:\n"
	"  --compression C   zstd (default), snappy, gzip, lz4, none\n"
	"  --level N         codec level (zstd 1..22, gzip 1..12)\n"
	"  --threads N       worker threads (default: all cores)\n"
	"  --batch-mb N      MiB of read files per batch (default 64); at most\n"
	"                    max(2, threads) batches are held, whatever the input size\n"
	"  --since DATE      only delivery days on or after DATE (YYYY-MM-DD)\n"
	"  --until DATE      only delivery days on or before DATE (YYYY-MM-DD)\n"
	"  --quarantine DIR  copy rejected files to DIR (same relative keys)\n"
	"\n"
	"Runs are incremental: DST/_trailpq/ records what was converted, so a run\n"
	"converts only new or changed files and never doubles an event.\n"
	"  --lookback-days N list day folders from N days before the newest one\n"
	"                    converted under each trail (default 3)\n"
	"  --full            list every folder (finds files delivered long ago)\n"
	"  --retry-rejected  read rejected files again even if unchanged\n"
	"  --wait SECONDS    wait for another run's lock (default: refuse at once)\n"
	"  --lock-lease SECONDS  the lock's lease (default 300), renewed while running\n"
	"  --json            print the summary as JSON on stdout\n"
	"  --quiet           no summary on stderr\n"
	"  -h, --help        this text\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"exit status: 0 all converted (or nothing new), 3 some files rejected in this\n"
	"run, 4 the lake is locked by another run, 1 fatal error, 2 bad usage\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	fputs(tpq_cli_io_usage, f);
	fputs(usage_tail, f);
}

static int parse_date(const char *s, int *out)
{
	int y, m, d;
	char tail;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1])
		return -1;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return -1;
	*out = y * 10000 + m * 100 + d;
	return 0;
}

struct progress {
	int rejected;
	char **lines;         /* "key\tmessage" of each rejected file, for the summary */
	int shown;            /* a progress line is on the terminal */
	double t0;
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One line, rewritten in place: files or partitions, records, MB/s, ETA. */
static void on_progress(void *ctx, const char *stage, uint64_t done, uint64_t total,
			const struct tpq_convert_stats *s)
{
	struct progress *p = ctx;
	double el = mono_now() - p->t0;
	double mbs = el > 0 ? (double)s->bytes_json / 1e6 / el : 0;
	double eta = done > 0 && total > done ? el / (double)done * (double)(total - done) : 0;
	fprintf(stderr, "\r\033[Ktrailpq: %s %llu/%llu %s, %llu records, %.1f MB/s, ETA %.0f s", stage,
		(unsigned long long)done, (unsigned long long)total,
		strcmp(stage, "read") ? "partitions" : "files", (unsigned long long)s->records, mbs, eta);
	p->shown = 1;
}

static void on_reject(void *ctx, const char *key, const struct tpq_error *e)
{
	char where[96] = "";
	if (e->record >= 0 && e->offset >= 0)
		snprintf(where, sizeof(where), " (record %lld, byte %lld)", (long long)e->record,
			 (long long)e->offset);
	else if (e->offset >= 0 && !strstr(e->msg, " byte "))
		snprintf(where, sizeof(where), " (byte %lld)", (long long)e->offset);
	struct progress *p0 = ctx;
	if (p0->shown) {
		fputs("\r\033[K", stderr);
		p0->shown = 0;
	}
	fprintf(stderr, "trailpq: rejected %s: %s%s\n", key,
		e->msg[0] ? e->msg : tpq_status_str(e->status), where);
	/* kept for the summary; a line that cannot be kept was still printed above */
	const char *msg = e->msg[0] ? e->msg : tpq_status_str(e->status);
	size_t need = strlen(key) + strlen(msg) + strlen(where) + 2;
	char **nl = realloc(p0->lines, (size_t)(p0->rejected + 1) * sizeof(char *));
	if (!nl)
		return;
	p0->lines = nl;
	if (!(nl[p0->rejected] = malloc(need)))
		return;
	snprintf(nl[p0->rejected++], need, "%s\t%s%s", key, msg, where);
}

static void print_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int tpq_cmd_convert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"compression", required_argument, NULL, 'c'}, {"level", required_argument, NULL, 'l'},
		{"threads", required_argument, NULL, 't'}, {"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'}, {"quarantine", required_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'Q'},
		{"lookback-days", required_argument, NULL, 'b'}, {"full", no_argument, NULL, 'F'},
		{"retry-rejected", no_argument, NULL, 'R'}, {"wait", required_argument, NULL, 'W'},
		{"lock-lease", required_argument, NULL, 'L'}, {"batch-mb", required_argument, NULL, 'M'},
		TPQ_CLI_IO_LONGOPTS,
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct tpq_convert_options o;
	tpq_convert_options_init(&o);
	tpq_cli_io_init(&o.io);
	int json = 0, quiet = 0, c, have_level = 0;
	struct progress prog = {0, NULL, 0, mono_now()};
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int io = tpq_cli_io_option(c, optarg, &o.io);
		if (io < 0)
			return 2;
		if (io > 0)
			continue;
		switch (c) {
		case 'c': {
			int k = tpq_codec_from_name(optarg);
			if (k < 0 || !tpq_codec_supported((enum tpq_codec)k)) {
				tpq_cli_errorf("unknown compression '%s' (zstd, snappy, gzip, lz4, none)", optarg);
				return 2;
			}
			o.codec = (enum tpq_codec)k;
			break;
		}
		case 'l': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < -1000000 || v > 1000000) {
				tpq_cli_errorf("--level takes a number, not '%s'", optarg);
				return 2;
			}
			o.level = (int)v;
			have_level = 1;
			break;
		}
		case 't':
			o.threads = atoi(optarg);
			if (o.threads < 1 || o.threads > 256) {
				tpq_cli_errorf("--threads takes a number from 1 to 256");
				return 2;
			}
			break;
		case 's':
		case 'u':
			if (parse_date(optarg, c == 's' ? &o.since : &o.until)) {
				tpq_cli_errorf("--%s takes a date YYYY-MM-DD, not '%s'",
					       c == 's' ? "since" : "until", optarg);
				return 2;
			}
			break;
		case 'q':
			o.quarantine_dir = optarg;
			break;
		case 'M': {
			char *end;
			double v = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(v >= 1.0 / 1024) || v > 1048576) {
				tpq_cli_errorf("--batch-mb takes a number of MiB from 0.001 to 1048576, not '%s'",
					       optarg);
				return 2;
			}
			o.batch_bytes = (size_t)(v * 1048576);
			break;
		}
		case 'b':
		case 'W':
		case 'L': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < (c == 'L') || v > 100000000) {
				tpq_cli_errorf("--%s takes a number%s, not '%s'",
					       c == 'b' ? "lookback-days" : c == 'W' ? "wait" : "lock-lease",
					       c == 'b' ? " of days" : " of seconds", optarg);
				return 2;
			}
			if (c == 'b')
				o.lookback_days = (int)v;
			else if (c == 'W')
				o.wait_ms = (int64_t)v * 1000;
			else
				o.lease_ms = (int64_t)v * 1000;
			break;
		}
		case 'F':
			o.full_relist = true;
			break;
		case 'R':
			o.retry_rejected = true;
			break;
		case 'j':
			json = 1;
			break;
		case 'Q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (have_level) {
		int lo = 0, hi = 0;
		if (o.codec == TPQ_CODEC_ZSTD)
			lo = 1, hi = 22;
		else if (o.codec == TPQ_CODEC_GZIP)
			lo = 1, hi = 12;
		if (hi == 0) {
			tpq_cli_errorf("--level does not apply to --compression %s", tpq_codec_name(o.codec));
			return 2;
		}
		if (o.level < lo || o.level > hi) {
			tpq_cli_errorf("--level for %s takes %d to %d", tpq_codec_name(o.codec), lo, hi);
			return 2;
		}
	}
	if (argc - optind != 2) {
		tpq_cli_errorf("convert needs SRC and DST");
		usage(stderr);
		return 2;
	}
	const char *src = argv[optind], *dst = argv[optind + 1];
	o.on_reject = on_reject;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	o.host = host;
	o.pid = (int)getpid();
	if (!quiet && isatty(STDERR_FILENO))
		o.on_progress = on_progress;
	o.ctx = &prog;
	struct tpq_convert_stats s;
	struct tpq_error err;
	tpq_error_clear(&err);
	enum tpq_status st = tpq_convert(src, dst, &o, &s, &err);
	if (prog.shown)
		fputs("\r\033[K", stderr);
	if (st) {
		tpq_cli_error(&err, st);
		for (int i = 0; i < prog.rejected; i++)
			free(prog.lines[i]);
		free(prog.lines);
		return st == TPQ_ELOCKED ? 4 : 1;
	}
	double mb = (double)s.bytes_json / 1e6;
	if (!quiet && (s.recovered_undone || s.recovered_finished))
		fprintf(stderr, "trailpq: settled earlier runs: %llu interrupted run%s undone, %llu "
			"committed run%s cleaned up\n", (unsigned long long)s.recovered_undone,
			s.recovered_undone == 1 ? "" : "s", (unsigned long long)s.recovered_finished,
			s.recovered_finished == 1 ? "" : "s");
	if (!quiet && s.seq == 0 && s.files_converted == 0 && s.files_rejected == 0) {
		/* unchanged files include rejected ones not read again: not "converted" */
		fprintf(stderr, "trailpq: nothing new: %llu unchanged file%s in %llu day "
			"folder%s listed; %llu rejected file%s outstanding\n",
			(unsigned long long)s.files_unchanged, s.files_unchanged == 1 ? "" : "s",
			(unsigned long long)s.dirs_listed, s.dirs_listed == 1 ? "" : "s",
			(unsigned long long)s.rejected_outstanding,
			s.rejected_outstanding == 1 ? "" : "s");
	} else if (!quiet) {
		fprintf(stderr,
			"trailpq: %llu objects: %llu cloudtrail, %llu insight, %llu networkactivity, "
			"%llu digest, %llu config, %llu other; %llu converted, %llu rejected\n",
			(unsigned long long)s.objects,
			(unsigned long long)s.files_by_kind[TPQ_KEY_CLOUDTRAIL],
			(unsigned long long)s.files_by_kind[TPQ_KEY_INSIGHT],
			(unsigned long long)s.files_by_kind[TPQ_KEY_NETWORK],
			(unsigned long long)s.files_by_kind[TPQ_KEY_DIGEST],
			(unsigned long long)s.files_by_kind[TPQ_KEY_CONFIG],
			(unsigned long long)s.files_by_kind[TPQ_KEY_OTHER],
			(unsigned long long)s.files_converted, (unsigned long long)s.files_rejected);
		fprintf(stderr,
			"trailpq: %llu records, %llu duplicates dropped; rows: %llu cloudtrail, %llu insight, "
			"%llu networkactivity; %llu partitions, %llu files written\n",
			(unsigned long long)s.records, (unsigned long long)s.duplicates,
			(unsigned long long)s.rows_by_table[0], (unsigned long long)s.rows_by_table[1],
			(unsigned long long)s.rows_by_table[2], (unsigned long long)s.partitions,
			(unsigned long long)s.files_written);
		fprintf(stderr,
			"trailpq: %.1f MB in (%.1f MB JSON), %.1f MB out, %.2f s, %.1f MB/s of JSON\n",
			(double)s.bytes_in / 1e6, mb, (double)s.bytes_out / 1e6, s.seconds,
			s.seconds > 0 ? mb / s.seconds : 0.0);
		fprintf(stderr,
			"trailpq: run %llu: %llu unchanged, %llu changed (%llu old rows replaced), %llu "
			"rejected file%s outstanding in the lake\n",
			(unsigned long long)s.seq, (unsigned long long)s.files_unchanged,
			(unsigned long long)s.files_changed, (unsigned long long)s.rows_removed,
			(unsigned long long)s.rejected_outstanding,
			s.rejected_outstanding == 1 ? "" : "s");
		if (prog.rejected)
			fprintf(stderr, "trailpq: %d rejected file%s:\n", prog.rejected,
				prog.rejected == 1 ? "" : "s");
		for (int i = 0; i < prog.rejected; i++) {
			char *tab = strchr(prog.lines[i], '\t');
			fprintf(stderr, "  %.*s: %s\n", (int)(tab - prog.lines[i]), prog.lines[i], tab + 1);
		}
	}
	if (json) {
		printf("{\"source\":");
		print_json_str(stdout, src);
		printf(",\"destination\":");
		print_json_str(stdout, dst);
		printf(",\"objects\":%llu,\"files\":{", (unsigned long long)s.objects);
		for (int k = 0; k < TPQ_KEY_N_KINDS; k++)
			printf("%s\"%s\":%llu", k ? "," : "", tpq_key_kind_name((enum tpq_key_kind)k),
			       (unsigned long long)s.files_by_kind[k]);
		printf("},\"files_out_of_range\":%llu,\"files_converted\":%llu,\"files_rejected\":%llu,"
		       "\"records\":%llu,\"duplicates\":%llu,\"rows\":{\"cloudtrail\":%llu,"
		       "\"cloudtrail_insight\":%llu,\"cloudtrail_networkactivity\":%llu},"
		       "\"partitions\":%llu,\"files_written\":%llu,\"bytes_in\":%llu,\"bytes_json\":%llu,"
		       "\"bytes_out\":%llu,\"seconds\":%.3f,\"run\":%llu,\"files_unchanged\":%llu,"
		       "\"files_changed\":%llu,\"files_touched\":%llu,\"rows_removed\":%llu,"
		       "\"rejected_outstanding\":%llu,\"day_folders_listed\":%llu,\"rejected\":[",
		       (unsigned long long)s.files_out_of_range, (unsigned long long)s.files_converted,
		       (unsigned long long)s.files_rejected, (unsigned long long)s.records,
		       (unsigned long long)s.duplicates, (unsigned long long)s.rows_by_table[0],
		       (unsigned long long)s.rows_by_table[1], (unsigned long long)s.rows_by_table[2],
		       (unsigned long long)s.partitions, (unsigned long long)s.files_written,
		       (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_json,
		       (unsigned long long)s.bytes_out, s.seconds, (unsigned long long)s.seq,
		       (unsigned long long)s.files_unchanged, (unsigned long long)s.files_changed,
		       (unsigned long long)s.files_touched, (unsigned long long)s.rows_removed,
		       (unsigned long long)s.rejected_outstanding, (unsigned long long)s.dirs_listed);
		for (int i = 0; i < prog.rejected; i++) {
			char *tab = strchr(prog.lines[i], '\t');
			*tab = '\0';
			printf("%s{\"key\":", i ? "," : "");
			print_json_str(stdout, prog.lines[i]);
			printf(",\"error\":");
			print_json_str(stdout, tab + 1);
			printf("}");
			*tab = '\t';
		}
		printf("]}\n");
	}
	for (int i = 0; i < prog.rejected; i++)
		free(prog.lines[i]);
	free(prog.lines);
	return s.files_rejected ? 3 : 0;
}
