/* util/buf.h's small helpers (tpq_grow for dynamic arrays, the
 * little-endian loads and stores) and util/pool.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/buf.h"
#include "util/pool.h"

/* Appending 1000 elements: capacity starts at `first`, doubles, never falls
 * below the count, and earlier elements survive every move. */
TEST(grow_appends)
{
	struct pair {
		uint32_t a;
		uint64_t b;
	} *v = NULL;
	size_t n = 0, cap = 0, grew = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		size_t before = cap;
		ASSERT_EQ(tpq_grow(&v, n, &cap, sizeof(*v), 4), 0);
		if (cap != before) {
			grew++;
			ASSERT_EQ(cap, before ? before * 2 : 4);
		}
		ASSERT_TRUE(cap > n);
		v[n++] = (struct pair){i, (uint64_t)i * i};
	}
	ASSERT_EQ(cap, 1024);
	ASSERT_EQ(grew, 9); /* 4, 8, ..., 1024 */
	for (uint32_t i = 0; i < 1000; i++)
		ASSERT_TRUE(v[i].a == i && v[i].b == (uint64_t)i * i);
	free(v);
}

/* Room already there: nothing moves. Too large a request: -1, the array and
 * its capacity as they were. A count past the doubled capacity is honoured
 * (doubling on until it fits). */
TEST(grow_limits)
{
	char *v = NULL;
	size_t cap = 0;
	ASSERT_EQ(tpq_grow(&v, 0, &cap, 1, 8), 0);
	char *was = v;
	ASSERT_EQ(tpq_grow(&v, 7, &cap, 1, 8), 0);
	ASSERT_TRUE(v == was && cap == 8);
	size_t big = SIZE_MAX / 2 + 1;
	ASSERT_EQ(tpq_grow(&v, big, &big, 2, 8), -1);
	ASSERT_TRUE(v == was && big == SIZE_MAX / 2 + 1);
	ASSERT_EQ(tpq_grow(&v, 100, &cap, 1, 8), 0);
	ASSERT_TRUE(cap > 100);
	free(v);
}

TEST(little_endian)
{
	uint8_t b[12] = {0};
	tpq_store_le64(b + 1, UINT64_C(0x0807060504030201));
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(b[1 + i], i + 1);
	ASSERT_EQ(tpq_le64(b + 1), UINT64_C(0x0807060504030201));
	ASSERT_EQ(tpq_le32(b + 3), UINT32_C(0x06050403));
}

/* 100,000 strings across many chunks, one larger than a chunk: each stays
 * intact and 8-byte aligned until the release. */
TEST(pool_strings)
{
	struct tpq_pool p;
	tpq_pool_init(&p);
	static char *kept[100000];
	char buf[64];
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(buf, sizeof(buf), "acct=%d/day=%d", i, i % 31);
		kept[i] = tpq_pool_strndup(&p, buf, (size_t)n);
		ASSERT_TRUE(kept[i] != NULL);
		ASSERT_EQ((uintptr_t)kept[i] % 8, 0);
	}
	size_t huge = (size_t)3 << 20;
	char *h = tpq_pool_alloc(&p, huge);
	ASSERT_TRUE(h != NULL);
	memset(h, 'x', huge);
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		snprintf(buf, sizeof(buf), "acct=%d/day=%d", i, i % 31);
		bad += strcmp(kept[i], buf) != 0;
	}
	ASSERT_EQ(bad, 0);
	ASSERT_TRUE(tpq_pool_strndup(&p, "abc", 2)[2] == '\0');
	tpq_pool_release(&p);
	ASSERT_TRUE(p.head == NULL);
}

int main(void)
{
	RUN(grow_appends);
	RUN(grow_limits);
	RUN(little_endian);
	RUN(pool_strings);
	return harness_done();
}
