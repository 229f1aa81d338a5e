/* The S3 options shared by convert, compact and status, and the environment handed to the
 * library (which never calls getenv itself: src/io/open.h resolves region, endpoint and
 * credentials through this callback). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/open.h"

const char tpq_cli_io_usage[] =
	"S3 (SRC or DST given as s3://BUCKET/PREFIX; see docs/cli.md):\n"
	"  --profile NAME      AWS profile for credentials and region (default: AWS_PROFILE,\n"
	"                      then \"default\")\n"
	"  --region R          bucket region (default: AWS_REGION, AWS_DEFAULT_REGION, the\n"
	"                      profile's region, us-east-1)\n"
	"  --endpoint-url URL  S3-compatible endpoint, e.g. http://127.0.0.1:9000 (default:\n"
	"                      AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)\n"
	"  --path-style        path-style addressing (the default with an endpoint URL)\n"
	"  --virtual-hosted    virtual-hosted addressing (the default on AWS)\n"
	"  --prefetch N        source objects read ahead (default 16, 0 to 32)\n"
	"  --concurrency N     HTTP connections per bucket (default 32)\n"
	"  --ca-bundle FILE    PEM certificates to verify TLS with (default: AWS_CA_BUNDLE,\n"
	"                      then the system's)\n"
	"  --no-verify-ssl     do not verify TLS certificates (test endpoints only)\n";

static const char *process_getenv(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

void tpq_cli_io_init(struct tpq_io_options *o)
{
	tpq_io_options_init(o);
	o->getenv_fn = process_getenv;
	/* AWS_MAX_ATTEMPTS as the AWS SDKs and CLI read it: attempts per request, retries
	 * included */
	const char *m = getenv("AWS_MAX_ATTEMPTS");
	if (m && *m) {
		char *end;
		long v = strtol(m, &end, 10);
		if (!*end && v >= 1 && v <= 100)
			o->max_attempts = (unsigned)v;
		else
			tpq_cli_errorf("ignoring AWS_MAX_ATTEMPTS=%s (not 1 to 100)", m);
	}
}

static int number(const char *name, const char *arg, long lo, long hi, unsigned *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (!*arg || *end || v < lo || v > hi) {
		tpq_cli_errorf("--%s takes a number from %ld to %ld, not '%s'", name, lo, hi, arg);
		return -1;
	}
	*out = (unsigned)v;
	return 1;
}

int tpq_cli_io_option(int c, const char *arg, struct tpq_io_options *o)
{
	switch (c) {
	case 0x1001:
		o->profile = arg;
		return 1;
	case 0x1002:
		o->region = arg;
		return 1;
	case 0x1003:
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
			tpq_cli_errorf("--endpoint-url takes http(s)://HOST[:PORT], not '%s'", arg);
			return -1;
		}
		o->endpoint = arg;
		return 1;
	case 0x1004:
		o->addressing = TPQ_IO_ADDRESS_PATH;
		return 1;
	case 0x1005:
		o->addressing = TPQ_IO_ADDRESS_VIRTUAL;
		return 1;
	case 0x1006:
		return number("prefetch", arg, 0, 32, &o->prefetch);
	case 0x1007:
		return number("concurrency", arg, 1, 256, &o->concurrency);
	case 0x1008:
		o->ca_bundle = arg;
		return 1;
	case 0x1009:
		o->no_verify_tls = true;
		return 1;
	default:
		return 0;
	}
}
