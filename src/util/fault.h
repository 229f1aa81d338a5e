/* Fault injection for crash tests. In builds with TPQ_FAULT_INJECTION (the
 * sanitizer/debug build), the environment is read once by the CLI, which
 * calls tpq_fault_configure: "TPQ_FAULT=kind:N" makes the Nth operation of that
 * kind fail (or, with kind "kill", the process die with SIGKILL right before the
 * Nth write/rename/fsync of any kind). Elsewhere every check is a constant 0. */
#ifndef TPQ_UTIL_FAULT_H
#define TPQ_UTIL_FAULT_H

enum tpq_fault_kind {
	TPQ_FAULT_WRITE = 0,
	TPQ_FAULT_FSYNC = 1,
	TPQ_FAULT_RENAME = 2,
	TPQ_FAULT_ALLOC = 3,
	TPQ_FAULT_N_KINDS = 4,
};

#ifdef TPQ_FAULT_INJECTION
/* Returns nonzero if this operation must fail (or kills the process). Thread-safe. */
int tpq_fault_hit(enum tpq_fault_kind kind);
#else
static inline int tpq_fault_hit(enum tpq_fault_kind kind) { (void)kind; return 0; }
#endif
/* spec: "write:N", "fsync:N", "rename:N", "alloc:N" or "kill:N"; NULL or "" disables.
 * Returns 0, or -1 for an unknown spec (or a build without fault injection). */
int tpq_fault_configure(const char *spec);

#endif
