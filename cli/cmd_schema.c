/* `trailpq schema`: prints schema v1, as an indented tree (column, type, the
 * JSON key it comes from) or, with --json, as one JSON document that programs
 * (the interop tests among them) read instead of repeating the column list.
 * The rendering is tpq_ct_schema_describe's; this file parses flags, writes
 * stdout and maps errors to exit statuses (2 bad usage, 1 write failure). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cloudtrail/ddl.h"

static const char usage[] =
	"usage: trailpq schema [--json]\n"
	"\n"
	"Prints schema v1, the columns of the tables cloudtrail, cloudtrail_insight and\n"
	"cloudtrail_networkactivity: each column's type and the CloudTrail JSON key it\n"
	"comes from, then the partition columns (see docs/schema.md).\n"
	"\n"
	"  --json       print it as a JSON document\n"
	"  -h, --help   show this help\n";

int tpq_cmd_schema(int argc, char **argv)
{
	enum tpq_schema_format format = TPQ_SCHEMA_TEXT;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		if (strcmp(argv[i], "--json") == 0) {
			format = TPQ_SCHEMA_JSON;
			continue;
		}
		if (argv[i][0] == '-')
			tpq_cli_errorf("schema: unknown option '%s'", argv[i]);
		else
			tpq_cli_errorf("schema: unexpected argument '%s'", argv[i]);
		tpq_cli_errorf("schema: try 'trailpq schema --help'");
		return 2;
	}

	struct tpq_buf out;
	struct tpq_error err;
	tpq_buf_init(&out);
	tpq_error_clear(&err);
	int rc = 0;
	if (tpq_ct_schema_describe(&out, format, &err) != TPQ_OK) {
		tpq_cli_errorf("schema: %s", err.msg);
		rc = 1;
	} else if ((out.len && fwrite(out.p, 1, out.len, stdout) != out.len) || fflush(stdout)) {
		tpq_cli_errorf("schema: writing to stdout: %s", strerror(errno));
		rc = 1;
	}
	tpq_buf_release(&out);
	return rc;
}
