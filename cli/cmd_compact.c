/* trailpq compact DST: see src/lake/compact.h and docs/cli.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codec/codec.h"
#include "lake/compact.h"
#include "lake/state.h"
#include "util/error.h"

static const char usage_text[] =
	"usage: trailpq compact [options] DST\n"
	"\n"
	"Rewrites the files of each chosen partition of the lake DST into as few files\n"
	"as the row-group target allows, rows sorted by eventtime. Readers never see\n"
	"an event twice or miss one: the new files are committed before the old ones\n"
	"leave the state, and the old ones are deleted after.\n"
	"\n"
	"options:\n"
	"  --partition P     only partitions under P (repeatable), e.g.\n"
	"                    cloudtrail/account=123456789012/region=us-east-1/year=2024\n"
	"  --older-than DAYS only partitions whose day is more than DAYS days ago\n"
	"  --compression C   codec of the new files (default zstd)\n"
	"  --wait SECONDS    wait for another run's lock (default: refuse at once)\n"
	"  --json            print the summary as JSON on stdout\n"
	"  -h, --help        this text\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"exit status: 0 done (or nothing to do), 4 the lake is locked, 1 error, 2 bad usage\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	fputs(tpq_cli_io_usage, f);
	fputs(usage_tail, f);
}

int tpq_cmd_compact(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"partition", required_argument, NULL, 'p'}, {"older-than", required_argument, NULL, 'o'},
		{"compression", required_argument, NULL, 'c'}, {"wait", required_argument, NULL, 'W'},
		{"json", no_argument, NULL, 'j'}, TPQ_CLI_IO_LONGOPTS,
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct tpq_compact_options o;
	tpq_compact_options_init(&o);
	tpq_cli_io_init(&o.io);
	const char **parts = calloc((size_t)argc + 1, sizeof(char *));
	int json = 0, c, rc = 2;
	if (!parts)
		return 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;
		int io = tpq_cli_io_option(c, optarg, &o.io);
		if (io < 0)
			goto out;
		if (io > 0)
			continue;
		switch (c) {
		case 'p':
			parts[o.n_partitions++] = optarg;
			break;
		case 'o':
		case 'W': {
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 0 || v > 1000000) {
				tpq_cli_errorf("--%s takes a number, not '%s'", c == 'o' ? "older-than" : "wait",
					       optarg);
				goto out;
			}
			if (c == 'o')
				o.older_than_days = (int)v;
			else
				o.wait_ms = (int64_t)v * 1000;
			break;
		}
		case 'c': {
			int k = tpq_codec_from_name(optarg);
			if (k < 0 || !tpq_codec_supported((enum tpq_codec)k)) {
				tpq_cli_errorf("unknown compression '%s'", optarg);
				goto out;
			}
			o.codec = (enum tpq_codec)k;
			break;
		}
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (argc - optind != 1) {
		tpq_cli_errorf("compact needs DST");
		usage(stderr);
		goto out;
	}
	o.partitions = parts;
	o.today_days = (int64_t)time(NULL) / 86400;
	char host[256] = "", run_id[96];
	gethostname(host, sizeof(host) - 1);
	o.host = host;
	o.pid = (int)getpid();
	tpq_state_make_run_id(run_id, sizeof(run_id));
	o.run_id = run_id;
	struct tpq_compact_stats s;
	struct tpq_error err;
	tpq_error_clear(&err);
	enum tpq_status st = tpq_compact(argv[optind], &o, &s, &err);
	if (st) {
		tpq_cli_error(&err, st);
		rc = st == TPQ_ELOCKED ? 4 : 1;
		goto out;
	}
	if (json)
		printf("{\"run\":%llu,\"partitions_seen\":%llu,\"partitions_compacted\":%llu,"
		       "\"files_before\":%llu,\"files_after\":%llu,\"rows\":%llu,\"bytes_before\":%llu,"
		       "\"bytes_after\":%llu}\n",
		       (unsigned long long)s.seq, (unsigned long long)s.partitions_seen,
		       (unsigned long long)s.partitions_compacted, (unsigned long long)s.files_before,
		       (unsigned long long)s.files_after, (unsigned long long)s.rows,
		       (unsigned long long)s.bytes_before, (unsigned long long)s.bytes_after);
	else if (!s.partitions_compacted)
		fprintf(stderr, "trailpq: nothing to compact: %llu partition%s chosen, none with more "
			"than one file\n", (unsigned long long)s.partitions_seen,
			s.partitions_seen == 1 ? "" : "s");
	else
		fprintf(stderr, "trailpq: run %llu: %llu partition%s compacted: %llu files -> %llu, "
			"%llu rows, %.1f MB -> %.1f MB\n", (unsigned long long)s.seq,
			(unsigned long long)s.partitions_compacted, s.partitions_compacted == 1 ? "" : "s",
			(unsigned long long)s.files_before, (unsigned long long)s.files_after,
			(unsigned long long)s.rows, (double)s.bytes_before / 1e6,
			(double)s.bytes_after / 1e6);
	rc = 0;
out:
	free(parts);
	return rc;
}
