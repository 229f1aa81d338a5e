/* Key classification (see keys.h). Works on segment boundaries only; every
 * field is length-checked before it is copied, so odd keys are "other",
 * never an overflow. */
#include "cloudtrail/keys.h"

#include <ctype.h>
#include <string.h>

#define MAX_SEG 64

struct seg {
	const char *p;
	size_t n;
};

static bool all_digits(struct seg s, size_t n)
{
	if (s.n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s.p[i]))
			return false;
	return true;
}

static int num(struct seg s)
{
	int v = 0;
	for (size_t i = 0; i < s.n; i++)
		v = v * 10 + (s.p[i] - '0');
	return v;
}

static bool eq(struct seg s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool region_ok(struct seg s)
{
	if (s.n < 2 || s.n >= 32)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-'))
			return false;
	}
	return true;
}

static bool ends_with(struct seg s, const char *suf)
{
	size_t n = strlen(suf);
	return s.n >= n && memcmp(s.p + s.n - n, suf, n) == 0;
}

static bool org_ok(struct seg s)
{
	return s.n > 2 && s.n < 40 && s.p[0] == 'o' && s.p[1] == '-';
}

void tpq_key_classify(const char *key, struct tpq_key_info *info)
{
	memset(info, 0, sizeof(*info));
	info->kind = TPQ_KEY_OTHER;
	struct seg s[MAX_SEG];
	size_t n = 0;
	const char *p = key;
	while (*p && n < MAX_SEG) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len)
			s[n++] = (struct seg){p, len};
		if (!e)
			break;
		p = e + 1;
	}
	size_t i = n;
	for (size_t k = 0; k < n; k++)
		if (eq(s[k], "AWSLogs"))
			i = k;
	if (i >= n)
		return;
	i++;
	if (i < n && org_ok(s[i])) {
		memcpy(info->org, s[i].p, s[i].n);
		i++;
	}
	if (i + 1 >= n || !all_digits(s[i], 12))
		return;
	memcpy(info->account, s[i].p, 12);
	struct seg svc = s[i + 1];
	if (eq(svc, "Config")) {
		info->kind = TPQ_KEY_CONFIG;
		return;
	}
	enum tpq_key_kind kind;
	const char *tag;
	if (eq(svc, "CloudTrail"))
		kind = TPQ_KEY_CLOUDTRAIL, tag = "_CloudTrail_";
	else if (eq(svc, "CloudTrail-Insight"))
		kind = TPQ_KEY_INSIGHT, tag = "_CloudTrail-Insight_";
	else if (eq(svc, "CloudTrail-NetworkActivity"))
		kind = TPQ_KEY_NETWORK, tag = "_CloudTrail-NetworkActivity_";
	else if (eq(svc, "CloudTrail-Digest"))
		kind = TPQ_KEY_DIGEST, tag = "_CloudTrail-Digest_";
	else
		return;
	/* REGION/YYYY/MM/DD/file, exactly */
	if (i + 7 != n)
		return;
	struct seg reg = s[i + 2], y = s[i + 3], m = s[i + 4], d = s[i + 5], f = s[i + 6];
	if (!region_ok(reg) || !all_digits(y, 4) || !all_digits(m, 2) || !all_digits(d, 2))
		return;
	int yy = num(y), mm = num(m), dd = num(d);
	if (mm < 1 || mm > 12 || dd < 1 || dd > 31)
		return;
	/* ACCOUNT_<tag>REGION_YYYYMMDDTHHMMZ_<id>.json[.gz]; only the parts
	 * that identify the object's kind are required. */
	bool gz = ends_with(f, ".json.gz");
	if (!gz && !ends_with(f, ".json"))
		return;
	size_t tl = strlen(tag);
	if (f.n < 12 + tl || memcmp(f.p, info->account, 12) != 0 || memcmp(f.p + 12, tag, tl) != 0)
		return;
	info->kind = kind;
	memcpy(info->region, reg.p, reg.n);
	info->year = yy;
	info->month = mm;
	info->day = dd;
	info->gzip = gz;
}

const char *tpq_key_table(enum tpq_key_kind kind)
{
	switch (kind) {
	case TPQ_KEY_CLOUDTRAIL: return "cloudtrail";
	case TPQ_KEY_INSIGHT: return "cloudtrail_insight";
	case TPQ_KEY_NETWORK: return "cloudtrail_networkactivity";
	default: return NULL;
	}
}

const char *tpq_key_kind_name(enum tpq_key_kind kind)
{
	static const char *names[] = {"other", "cloudtrail", "insight", "networkactivity", "digest",
				      "config"};
	return kind < TPQ_KEY_N_KINDS ? names[kind] : "other";
}
