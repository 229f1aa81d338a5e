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

/* Prints "trailpq: <msg>" to stderr (a printf-style line, newline added). */
void tpq_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
