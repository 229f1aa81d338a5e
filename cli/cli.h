/* The trailpq command's subcommands. cli/ is the only code that prints, exits
 * or reads the environment. Each subcommand takes the arguments after its
 * name (argv[0] is the subcommand name) and returns the process exit status:
 * 0 success, 1 fatal error, 2 bad usage, 3 some input rejected (convert). */
#ifndef TPQ_CLI_CLI_H
#define TPQ_CLI_CLI_H

int tpq_cmd_convert(int argc, char **argv);
int tpq_cmd_inspect(int argc, char **argv);
int tpq_cmd_schema(int argc, char **argv);
int tpq_cmd_ddl(int argc, char **argv);
int tpq_cmd_status(int argc, char **argv);
int tpq_cmd_compact(int argc, char **argv);

#include "trailpq/trailpq.h"

struct tpq_io_options;

/* The S3 options every command that opens a lake or a bucket takes (cli/io_opts.c). Codes
 * 0x1001.. are theirs; put TPQ_CLI_IO_LONGOPTS in a command's getopt_long table. */
#define TPQ_CLI_IO_LONGOPTS                                                                    \
	{"profile", required_argument, NULL, 0x1001},                                          \
	{"region", required_argument, NULL, 0x1002},                                           \
	{"endpoint-url", required_argument, NULL, 0x1003},                                     \
	{"path-style", no_argument, NULL, 0x1004},                                             \
	{"virtual-hosted", no_argument, NULL, 0x1005},                                         \
	{"prefetch", required_argument, NULL, 0x1006},                                         \
	{"concurrency", required_argument, NULL, 0x1007},                                      \
	{"ca-bundle", required_argument, NULL, 0x1008},                                        \
	{"no-verify-ssl", no_argument, NULL, 0x1009}

/* The help text of those options, for the usage texts. */
extern const char tpq_cli_io_usage[];

/* Initialises *o with the process environment (getenv) and AWS_MAX_ATTEMPTS. */
void tpq_cli_io_init(struct tpq_io_options *o);

/* Handles option `c` (with its argument) if it is one of TPQ_CLI_IO_LONGOPTS: 1 when
 * taken, 0 when not ours, -1 for a bad value (the message is printed). */
int tpq_cli_io_option(int c, const char *arg, struct tpq_io_options *o);

/* Prints a library error: "trailpq: <where>: <message>" (where left out when the message
 * already names it, as S3 errors do: "GET s3://bucket/key: HTTP 403 ..."). */
void tpq_cli_error(const struct tpq_error *err, enum tpq_status st);

/* Prints "trailpq: <msg>" to stderr (a printf-style line, newline added). */
void tpq_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
