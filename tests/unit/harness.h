/* A tiny test harness: each tests/unit/test_*.c is its own program.
 *
 *   TEST(name) { ASSERT_EQ(a, b); ... }
 *   int main(void) { RUN(name); ...; return harness_done(); }
 *
 * Failed assertions print file, line, both values, and mark the test failed;
 * the test goes on to its end so one run shows every failure. The closing line
 * is "N passed, N failed". */
#ifndef TPQ_TEST_HARNESS_H
#define TPQ_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_failed_asserts;
static int harness_pass, harness_fail;
static const char *harness_prog = __BASE_FILE__;

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                                 \
	do {                                                                      \
		int before_ = harness_failed_asserts;                              \
		test_##name();                                                    \
		if (harness_failed_asserts == before_) {                          \
			harness_pass++;                                           \
		} else {                                                          \
			harness_fail++;                                           \
			fprintf(stderr, "FAIL %s: %s\n", harness_prog, #name);   \
		}                                                                 \
	} while (0)

#define ASSERT_TRUE(c)                                                            \
	do {                                                                      \
		if (!(c)) {                                                       \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c); \
			harness_failed_asserts++;                                 \
		}                                                                 \
	} while (0)

#define ASSERT_EQ(a, b)                                                           \
	do {                                                                      \
		long long a_ = (long long)(a), b_ = (long long)(b);               \
		if (a_ != b_) {                                                   \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
				#a, #b, a_, b_);                                  \
			harness_failed_asserts++;                                 \
		}                                                                 \
	} while (0)

#define ASSERT_U64_EQ(a, b)                                                       \
	do {                                                                      \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_) {                                                   \
			fprintf(stderr, "%s:%d: %s == %s failed: 0x%llx != 0x%llx\n", __FILE__, __LINE__, \
				#a, #b, a_, b_);                                  \
			harness_failed_asserts++;                                 \
		}                                                                 \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                       \
	do {                                                                      \
		const char *a_ = (a), *b_ = (b);                                  \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                          \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
				#a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");   \
			harness_failed_asserts++;                                 \
		}                                                                 \
	} while (0)

/* Compares n bytes and prints the first difference. */
#define ASSERT_MEM_EQ(a, b, n)                                                    \
	do {                                                                      \
		const unsigned char *a_ = (const unsigned char *)(a), *b_ = (const unsigned char *)(b); \
		size_t n_ = (n);                                                  \
		for (size_t i_ = 0; i_ < n_; i_++) {                               \
			if (a_[i_] != b_[i_]) {                                   \
				fprintf(stderr, "%s:%d: %s and %s differ at byte %zu: 0x%02x != 0x%02x\n", \
					__FILE__, __LINE__, #a, #b, i_, a_[i_], b_[i_]); \
				harness_failed_asserts++;                         \
				break;                                            \
			}                                                         \
		}                                                                 \
	} while (0)

static inline int harness_done(void)
{
	printf("%s: %d passed, %d failed\n", harness_prog, harness_pass, harness_fail);
	return harness_fail ? 1 : 0;
}

#endif
