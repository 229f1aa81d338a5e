/* util/buf.h's small helpers: tpq_grow (dynamic arrays) and the
 * little-endian loads and stores. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util/buf.h"

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

int main(void)
{
	RUN(grow_appends);
	RUN(grow_limits);
	RUN(little_endian);
	return harness_done();
}
