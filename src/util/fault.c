/* Fault injection counters (see fault.h). Counters are atomics so workers
 * may hit them from any thread; the Nth hit is global and deterministic only
 * for single-threaded runs, which is how the crash tests use it. */
#include "util/fault.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef TPQ_FAULT_INJECTION
static atomic_long counts[TPQ_FAULT_N_KINDS];
static atomic_long any_count;
static long target = -1;      /* Nth operation */
static int target_kind = -1;  /* -2: kill on any write-like operation */

int tpq_fault_hit(enum tpq_fault_kind kind)
{
	if (target < 0)
		return 0;
	if (target_kind == -2) {
		if (kind == TPQ_FAULT_ALLOC)
			return 0;
		if (atomic_fetch_add(&any_count, 1) + 1 == target)
			kill(getpid(), SIGKILL);
		return 0;
	}
	if ((int)kind != target_kind)
		return 0;
	return atomic_fetch_add(&counts[kind], 1) + 1 == target;
}

int tpq_fault_configure(const char *spec)
{
	target = -1;
	if (!spec || !*spec)
		return 0;
	static const char *names[] = {"write", "fsync", "rename", "alloc"};
	const char *colon = strchr(spec, ':');
	if (!colon)
		return -1;
	size_t klen = (size_t)(colon - spec);
	int kind = -1;
	if (klen == 4 && !strncmp(spec, "kill", 4))
		kind = -2;
	for (int i = 0; i < TPQ_FAULT_N_KINDS; i++)
		if (strlen(names[i]) == klen && !strncmp(spec, names[i], klen))
			kind = i;
	long n = strtol(colon + 1, NULL, 10);
	if (kind == -1 || n <= 0)
		return -1;
	target_kind = kind;
	target = n;
	return 0;
}
#else
int tpq_fault_configure(const char *spec)
{
	return spec && *spec ? -1 : 0;
}
#endif
