/* trailpq status DST: what the lake holds, from its state (never takes the
 * lock, so it works while a run is going on). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "io/open.h"
#include "io/store.h"
#include "lake/state.h"
#include "util/error.h"

static const char usage_text[] =
	"usage: trailpq status [options] DST\n"
	"\n"
	"Prints what the lake DST holds: tables with their partitions, files, rows and\n"
	"bytes; the last runs and their results; the rejected source files outstanding;\n"
	"and who holds the lock, if anyone.\n"
	"\n"
	"options:\n"
	"  --runs N     how many recent runs to show (default 10)\n"
	"  --json       print it as JSON on stdout\n"
	"  -h, --help   this text\n"
	"\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	fputs(tpq_cli_io_usage, f);
}

static const char *const tables[TPQ_STATE_TABLES] = {"cloudtrail", "cloudtrail_insight",
						      "cloudtrail_networkactivity"};

/* The value of "key value" line `key` in a record, or "". */
static const char *field(const char *rec, const char *key, char *out, size_t cap)
{
	size_t n = strlen(key);
	out[0] = '\0';
	for (const char *p = rec; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > n && !strncmp(p, key, n) && p[n] == ' ') {
			snprintf(out, cap, "%.*s", (int)(len - n - 1), p + n + 1);
			break;
		}
		p = nl ? nl + 1 : NULL;
	}
	return out;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void iso_time(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *const run_stats[] = {"files_converted", "files_rejected", "files_changed",
					"records", "duplicates", "files_written", "partitions_compacted",
					"files_before", "files_after"};

int tpq_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"runs", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
		TPQ_CLI_IO_LONGOPTS, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct tpq_io_options io;
	tpq_cli_io_init(&io);
	int json = 0, c;
	long runs = 10;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;
		int taken = tpq_cli_io_option(c, optarg, &io);
		if (taken < 0)
			return 2;
		if (taken > 0)
			continue;
		switch (c) {
		case 'r':
			runs = strtol(optarg, &end, 10);
			if (!*optarg || *end || runs < 0 || runs > 100000) {
				tpq_cli_errorf("--runs takes a number, not '%s'", optarg);
				return 2;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		tpq_cli_errorf("status needs DST");
		usage(stderr);
		return 2;
	}
	const char *dst = argv[optind];
	struct tpq_error err;
	tpq_error_clear(&err);
	struct tpq_store *st = tpq_store_open(dst, &io, &err);
	struct tpq_state_view v;
	enum tpq_status s = st ? tpq_state_view(st, (size_t)runs, &v, &err) : err.status;
	if (st)
		st->free(st);
	if (s) {
		tpq_cli_error(&err, s);
		return 1;
	}
	char a[256], b[256], t[64];
	if (json) {
		printf("{\"lake\":");
		json_str(dst);
		printf(",\"runs_committed\":%" PRIu64 ",\"tables\":{", v.seq);
		for (int i = 0; i < TPQ_STATE_TABLES; i++)
			printf("%s\"%s\":{\"partitions\":%" PRId64 ",\"files\":%" PRId64 ",\"rows\":%" PRId64
			       ",\"bytes\":%" PRId64 "}", i ? "," : "", tables[i], v.totals[i].partitions,
			       v.totals[i].files, v.totals[i].rows, v.totals[i].bytes);
		printf("},\"last_runs\":[");
		for (size_t i = 0; i < v.n_runs; i++) {
			printf("%s{\"run\":%s,\"id\":", i ? "," : "", field(v.runs[i], "seq", a, sizeof(a)));
			json_str(field(v.runs[i], "run", a, sizeof(a)));
			printf(",\"host\":");
			json_str(field(v.runs[i], "host", a, sizeof(a)));
			iso_time(strtoll(field(v.runs[i], "time", a, sizeof(a)), NULL, 10), t, sizeof(t));
			printf(",\"time\":\"%s\"", t);
			for (size_t k = 0; k < sizeof(run_stats) / sizeof(run_stats[0]); k++) {
				snprintf(b, sizeof(b), "stat %s", run_stats[k]);
				if (*field(v.runs[i], b, a, sizeof(a)))
					printf(",\"%s\":%s", run_stats[k], a);
			}
			printf("}");
		}
		printf("],\"rejected\":[");
		for (size_t i = 0; i < v.n_rejected; i++) {
			printf("%s{\"key\":", i ? "," : "");
			json_str(v.rejected_keys[i]);
			printf(",\"error\":");
			json_str(v.rejected_errors[i]);
			printf("}");
		}
		printf("],\"lock\":");
		if (v.lock) {
			printf("{\"run\":");
			json_str(field(v.lock, "run", a, sizeof(a)));
			printf(",\"host\":");
			json_str(field(v.lock, "host", a, sizeof(a)));
			iso_time(strtoll(field(v.lock, "expires", a, sizeof(a)), NULL, 10), t, sizeof(t));
			printf(",\"pid\":%s,\"expires\":\"%s\"}", field(v.lock, "pid", b, sizeof(b)), t);
		} else {
			printf("null");
		}
		printf("}\n");
		tpq_state_view_release(&v);
		return 0;
	}
	printf("lake %s: %" PRIu64 " run%s committed\n", dst, v.seq, v.seq == 1 ? "" : "s");
	printf("%-28s %10s %10s %14s %14s\n", "table", "partitions", "files", "rows", "bytes");
	for (int i = 0; i < TPQ_STATE_TABLES; i++)
		printf("%-28s %10" PRId64 " %10" PRId64 " %14" PRId64 " %14" PRId64 "\n", tables[i],
		       v.totals[i].partitions, v.totals[i].files, v.totals[i].rows, v.totals[i].bytes);
	if (v.n_runs)
		printf("last runs (newest first):\n");
	for (size_t i = 0; i < v.n_runs; i++) {
		iso_time(strtoll(field(v.runs[i], "time", a, sizeof(a)), NULL, 10), t, sizeof(t));
		printf("  run %s  %s  %s", field(v.runs[i], "seq", a, sizeof(a)), t,
		       field(v.runs[i], "host", b, sizeof(b)));
		const char *sep = ": ";
		for (size_t k = 0; k < sizeof(run_stats) / sizeof(run_stats[0]); k++) {
			snprintf(b, sizeof(b), "stat %s", run_stats[k]);
			if (*field(v.runs[i], b, a, sizeof(a))) {
				printf("%s%s %s", sep, run_stats[k], a);
				sep = ", ";
			}
		}
		printf("\n");
	}
	printf("rejected files outstanding: %zu\n", v.n_rejected);
	for (size_t i = 0; i < v.n_rejected; i++)
		printf("  %s: %s\n", v.rejected_keys[i], v.rejected_errors[i]);
	if (v.lock) {
		iso_time(strtoll(field(v.lock, "expires", a, sizeof(a)), NULL, 10), t, sizeof(t));
		printf("lock: held by run %s (host %s, pid %s) until %s\n",
		       field(v.lock, "run", a, sizeof(a)), field(v.lock, "host", b, sizeof(b)),
		       field(v.lock, "pid", b + 128, sizeof(b) - 128), t);
	} else {
		printf("lock: free\n");
	}
	tpq_state_view_release(&v);
	return 0;
}
