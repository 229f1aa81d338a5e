/* trailpq: the command. Dispatches to the subcommands in cli/cmd_*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cli/cli.h"
#include "trailpq/trailpq.h"
#include "util/fault.h"

void tpq_cli_errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("trailpq: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void tpq_cli_error(const struct tpq_error *err, enum tpq_status st)
{
	const char *msg = err->msg[0] ? err->msg : tpq_status_str(st);
	if (err->where[0] && !strstr(msg, err->where))
		tpq_cli_errorf("%s: %s", err->where, msg);
	else
		tpq_cli_errorf("%s", msg);
}

static void usage(FILE *f)
{
	fputs("usage: trailpq <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  convert SRC DST     convert a CloudTrail bucket copy into a Parquet lake\n"
	      "  status DST          what the lake holds: tables, runs, rejected files\n"
	      "  compact DST         merge each partition's small files\n"
	      "  inspect FILE        describe a Parquet file\n"
	      "  schema              print the table schema (v1)\n"
	      "  ddl                 print table definitions for Athena, Trino, Spark, DuckDB\n"
	      "  version             print the version\n"
	      "\n"
	      "Run 'trailpq <command> --help' for a command's options.\n",
	      f);
}

int main(int argc, char **argv)
{
#if defined(__GLIBC__)
	/* A conversion holds a batch of inflated files (each a large buffer) and
	 * frees it before the next. glibc's default threshold for mmap'ed blocks
	 * rises with such frees, after which the buffers come from arenas that do
	 * not shrink: peak RSS grew by half. A fixed threshold keeps every large
	 * buffer mmap'ed and returned when freed (bench/README.md). Overridable
	 * with MALLOC_MMAP_THRESHOLD_, which glibc reads itself. */
	if (!getenv("MALLOC_MMAP_THRESHOLD_"))
		mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	const char *fault = getenv("TPQ_FAULT");
	if (fault && *fault && tpq_fault_configure(fault) != 0) {
		tpq_cli_errorf("TPQ_FAULT=%s is not supported by this build", fault);
		return 2;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("trailpq %s\n", TPQ_VERSION_STRING);
		return 0;
	}
	if (!strcmp(cmd, "convert"))
		return tpq_cmd_convert(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return tpq_cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "compact"))
		return tpq_cmd_compact(argc - 1, argv + 1);
	if (!strcmp(cmd, "inspect"))
		return tpq_cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(cmd, "schema"))
		return tpq_cmd_schema(argc - 1, argv + 1);
	if (!strcmp(cmd, "ddl"))
		return tpq_cmd_ddl(argc - 1, argv + 1);
	tpq_cli_errorf("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
