/* The local store and the local listing: S3's order and delimiter rule,
 * start_after, atomic put, create-if-absent, publish on close only. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/store.h"
#include "util/buf.h"
#include "util/error.h"

static char root[256];

struct listing {
	char s[4096];
	int n;
	int stop_after;
};

static int collect(void *ctx, const struct tpq_object *o)
{
	struct listing *l = ctx;
	strcat(l->s, o->key);
	strcat(l->s, " ");
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static const char *ls(struct tpq_store *s, const char *prefix, unsigned flags, const char *after)
{
	static struct listing l;
	memset(&l, 0, sizeof(l));
	struct tpq_error e;
	tpq_error_clear(&e);
	ASSERT_EQ(s->list(s, prefix, flags, after, collect, &l, &e), TPQ_OK);
	return l.s;
}

static void put(struct tpq_store *s, const char *key, const char *text)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	ASSERT_EQ(s->put(s, key, text, strlen(text), 0, &e), TPQ_OK);
}

TEST(order_and_delimiter)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	struct tpq_store *s = tpq_store_local_new(root, &e);
	ASSERT_TRUE(s != NULL);
	/* "a/x" sorts after "a-c" and "a.b" because '/' (0x2f) > '-' and '.' */
	put(s, "a/x", "1");
	put(s, "a-c", "2");
	put(s, "a.b", "3");
	put(s, "a/y/z", "4");
	put(s, "b", "5");
	ASSERT_STR_EQ(ls(s, "", 0, NULL), "a-c a.b a/x a/y/z b ");
	ASSERT_STR_EQ(ls(s, "", TPQ_LIST_DELIM, NULL), "a-c a.b a/ b ");
	ASSERT_STR_EQ(ls(s, "a/", TPQ_LIST_DELIM, NULL), "a/x a/y/ ");
	ASSERT_STR_EQ(ls(s, "a", 0, NULL), "a-c a.b a/x a/y/z ");
	ASSERT_STR_EQ(ls(s, "", 0, "a.b"), "a/x a/y/z b ");
	ASSERT_STR_EQ(ls(s, "", 0, "a/x"), "a/y/z b ");
	ASSERT_STR_EQ(ls(s, "", 0, "a/"), "a/x a/y/z b ");
	ASSERT_STR_EQ(ls(s, "", TPQ_LIST_DELIM, "a/"), "b ");
	ASSERT_STR_EQ(ls(s, "nothing/", 0, NULL), "");
	/* stop early */
	struct listing l;
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	ASSERT_EQ(s->list(s, "", 0, NULL, collect, &l, &e), TPQ_OK);
	ASSERT_STR_EQ(l.s, "a-c a.b ");
	s->free(s);
}

TEST(put_get_del)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	struct tpq_store *s = tpq_store_local_new(root, &e);
	struct tpq_buf b;
	tpq_buf_init(&b);
	put(s, "k/v1", "hello");
	ASSERT_EQ(s->get(s, "k/v1", &b, &e), TPQ_OK);
	ASSERT_EQ(b.len, 5);
	ASSERT_TRUE(memcmp(b.p, "hello", 5) == 0);
	put(s, "k/v1", "bye");
	ASSERT_EQ(s->get(s, "k/v1", &b, &e), TPQ_OK);
	ASSERT_EQ(b.len, 3);
	ASSERT_EQ(s->put(s, "k/v1", "x", 1, TPQ_PUT_IF_ABSENT, &e), TPQ_EEXIST);
	ASSERT_EQ(s->get(s, "k/v1", &b, &e), TPQ_OK);
	ASSERT_EQ(b.len, 3);
	tpq_error_clear(&e);
	ASSERT_EQ(s->put(s, "k/v2", "x", 1, TPQ_PUT_IF_ABSENT, &e), TPQ_OK);
	ASSERT_EQ(s->del(s, "k/v2", &e), TPQ_OK);
	ASSERT_EQ(s->del(s, "k/v2", &e), TPQ_OK);
	ASSERT_EQ(s->get(s, "k/v2", &b, &e), TPQ_ENOTFOUND);
	tpq_error_clear(&e);
	ASSERT_EQ(s->put(s, "../escape", "x", 1, 0, &e), TPQ_EINVAL);
	ASSERT_EQ(s->put(s, "/abs", "x", 1, 0, &e), TPQ_EINVAL);
	tpq_buf_release(&b);
	s->free(s);
}

TEST(create_publishes_on_close_only)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	struct tpq_store *s = tpq_store_local_new(root, &e);
	struct tpq_sink *k = s->create(s, "p/q/file.parquet", &e);
	ASSERT_TRUE(k != NULL);
	ASSERT_EQ(tpq_sink_write(k, "abc", 3, &e), TPQ_OK);
	ASSERT_STR_EQ(ls(s, "p/", 0, NULL), ""); /* the temporary is not listed */
	/* ...unless asked for, under its final key; on disk it is hidden from
	 * Hive-style readers (leading dot) and from "*.parquet" globs (suffix) */
	ASSERT_STR_EQ(ls(s, "p/", TPQ_LIST_UNPUBLISHED, NULL), "p/q/file.parquet ");
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s/p/q/.tpq-tmp-file.parquet.tmp", root);
	ASSERT_TRUE(access(tmp, F_OK) == 0);
	ASSERT_EQ(k->close(k, &e), TPQ_OK);
	ASSERT_TRUE(access(tmp, F_OK) != 0);
	k->free(k);
	ASSERT_STR_EQ(ls(s, "p/", 0, NULL), "p/q/file.parquet ");
	/* abandoned: nothing remains, not even the temporary */
	k = s->create(s, "p/q/other.parquet", &e);
	ASSERT_EQ(tpq_sink_write(k, "abc", 3, &e), TPQ_OK);
	k->free(k);
	ASSERT_STR_EQ(ls(s, "p/", 0, NULL), "p/q/file.parquet ");
	char path[512];
	snprintf(path, sizeof(path), "%s/p/q/.tpq-tmp-other.parquet.tmp", root);
	ASSERT_TRUE(access(path, F_OK) != 0);
	s->free(s);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/tpq-test-store-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	RUN(order_and_delimiter);
	RUN(put_get_del);
	RUN(create_publishes_on_close_only);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return harness_done();
}
