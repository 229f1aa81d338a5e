/* util/buf.h's small helpers (tpq_grow for dynamic arrays, the
 * little-endian loads and stores), util/pool.h, util/slab.h and tpq_mkdirs. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util/buf.h"
#include "util/pool.h"
#include "util/slab.h"
#include "util/fs.h"

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

/* Blocks are reused only once every allocation in them is back and no
 * cursor holds them; allocations never overlap; the idle list is capped. */
TEST(slab_recycling)
{
	struct tpq_slabs s;
	tpq_slabs_init(&s, 4096, 1);
	struct tpq_slab_cursor a = { 0 }, b = { 0 };
	size_t room = 0;
	ASSERT_TRUE(tpq_slab_space(&s, &a, 4097, &room) == NULL); /* larger than a block */
	uint8_t *p1 = tpq_slab_space(&s, &a, 1000, &room);
	ASSERT_TRUE(p1 != NULL);
	ASSERT_EQ(room, 4096);
	ASSERT_EQ((uintptr_t)p1 % 64, 0);
	memset(p1, 1, 1000);
	struct tpq_slab *k1 = tpq_slab_take(&a, 1000);
	uint8_t *p2 = tpq_slab_space(&s, &a, 2000, &room);
	ASSERT_TRUE(p2 == p1 + 1024); /* same block, next aligned offset */
	ASSERT_EQ(room, 4096 - 1024);
	memset(p2, 2, 2000);
	struct tpq_slab *k2 = tpq_slab_take(&a, 2000);
	ASSERT_TRUE(k1 == k2);
	/* 3000 more do not fit: a new block; the first is still referenced */
	uint8_t *p3 = tpq_slab_space(&s, &a, 3000, &room);
	ASSERT_TRUE(p3 != NULL && (p3 + 3000 <= p1 || p3 >= p1 + 4096));
	struct tpq_slab *k3 = tpq_slab_take(&a, 3000);
	ASSERT_TRUE(k3 != k1);
	ASSERT_EQ(s.n_live, 2);
	ASSERT_EQ(p1[999], 1); /* untouched by the later allocations */
	ASSERT_EQ(p2[1999], 2);
	/* another cursor gets a third block while the first is in use */
	uint8_t *q = tpq_slab_space(&s, &b, 100, &room);
	ASSERT_TRUE(q != NULL && (q + 100 <= p1 || q >= p1 + 4096));
	ASSERT_EQ(s.n_live, 3);
	struct tpq_slab *kq = tpq_slab_take(&b, 100);
	/* the first block goes idle only when both of its allocations are back */
	tpq_slab_put(&s, k1);
	ASSERT_EQ(s.n_free, 0);
	tpq_slab_put(&s, k2);
	ASSERT_EQ(s.n_free, 1);
	/* b's block is full enough: b moves to the idle one, the same memory */
	uint8_t *q2 = tpq_slab_space(&s, &b, 4000, &room);
	ASSERT_TRUE(q2 == p1);
	ASSERT_EQ(s.n_free, 0);
	ASSERT_EQ(s.n_live, 3);
	struct tpq_slab *kq2 = tpq_slab_take(&b, 4000);
	/* the cap: one idle block kept, the next freed */
	tpq_slab_put(&s, kq);
	tpq_slab_put(&s, kq2);
	tpq_slab_cursor_release(&s, &b);
	ASSERT_EQ(s.n_free, 1);
	tpq_slab_put(&s, k3);
	tpq_slab_cursor_release(&s, &a);
	ASSERT_EQ(s.n_free, 1);
	ASSERT_EQ(s.n_live, 1);
	ASSERT_EQ(s.peak_live, 3);
	tpq_slabs_release(&s);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p: missing parents made, existing folders fine, a file in the way
 * an error, the path given back unchanged. */
TEST(mkdirs)
{
	char base[] = "/tmp/tpq-mkdirs-XXXXXX";
	ASSERT_TRUE(mkdtemp(base) != NULL);
	char p[256];
	snprintf(p, sizeof(p), "%s/a/b/c", base);
	ASSERT_EQ(tpq_mkdirs(p), 0);
	ASSERT_TRUE(is_dir(p));
	ASSERT_TRUE(strstr(p, "/a/b/c") != NULL && strlen(p) == strlen(base) + 6);
	ASSERT_EQ(tpq_mkdirs(p), 0); /* exists */
	snprintf(p, sizeof(p), "%s/a/x/y/", base);
	ASSERT_EQ(tpq_mkdirs(p), 0);
	snprintf(p, sizeof(p), "%s/a/x/y", base);
	ASSERT_TRUE(is_dir(p));
	snprintf(p, sizeof(p), "%s/a/file", base);
	FILE *f = fopen(p, "w");
	ASSERT_TRUE(f != NULL);
	if (f)
		fclose(f);
	snprintf(p, sizeof(p), "%s/a/file/z", base);
	ASSERT_EQ(tpq_mkdirs(p), -1);
	ASSERT_EQ(errno, ENOTDIR);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	ASSERT_EQ(system(cmd), 0);
}

int main(void)
{
	RUN(grow_appends);
	RUN(grow_limits);
	RUN(little_endian);
	RUN(pool_strings);
	RUN(slab_recycling);
	RUN(mkdirs);
	return harness_done();
}
