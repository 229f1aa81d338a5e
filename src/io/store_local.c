/* The local store: a directory. Objects are files; put and create publish
 * through a hidden temporary name (".tpq-tmp-<name>.tmp" beside the final one:
 * written, fsynced, renamed, directory fsynced), so a crash leaves either
 * nothing or the whole object under its final name, and listings never show
 * temporaries. put with TPQ_PUT_IF_ABSENT publishes with link(2), which fails
 * when the name exists: the atomic test-and-create. The temporary name is
 * fixed per key, so whoever writes the key next (the lake has one writer at
 * a time) replaces a temporary left by a crash, and del removes it too. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/local.h"
#include "io/store.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/fs.h"

struct local_store {
	struct tpq_store base;
	char *root;
};

/* root/key and its temporary sibling. -1 when too long or not a valid key. */
static int paths(const struct local_store *l, const char *key, char *fin, char *tmp, size_t cap)
{
	if (!*key || key[0] == '/' || strstr(key, "..") || key[strlen(key) - 1] == '/')
		return -1;
	const char *base = strrchr(key, '/');
	size_t dlen = base ? (size_t)(base - key) + 1 : 0;
	base = base ? base + 1 : key;
	if (snprintf(fin, cap, "%s/%s", l->root, key) >= (int)cap)
		return -1;
	if (tmp && snprintf(tmp, cap, "%s/%.*s%s%s%s", l->root, (int)dlen, key, TPQ__LOCAL_TMP_PREFIX,
			    base, TPQ__LOCAL_TMP_SUFFIX) >= (int)cap)
		return -1;
	return 0;
}

static enum tpq_status bad_key(const char *key, struct tpq_error *err)
{
	tpq_error_where(err, key);
	return tpq_error_set(err, TPQ_EINVAL, "not a valid object key");
}

static enum tpq_status sys_fail(const char *path, const char *what, struct tpq_error *err)
{
	int e = errno;
	if (err)
		err->sys_errno = e;
	tpq_error_where(err, path);
	return tpq_error_set(err, e == ENOENT ? TPQ_ENOTFOUND : TPQ_EIO, "%s: %s", what, strerror(e));
}

/* Creates the parent directory of path (modified and restored). */
static int make_parent(char *path)
{
	char *slash = strrchr(path, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	int rc = tpq_mkdirs(path);
	*slash = '/';
	return rc;
}

static int fsync_parent(char *path)
{
	char *slash = strrchr(path, '/');
	*slash = '\0';
	int rc = tpq_fsync_dir(path);
	*slash = '/';
	return rc;
}

static enum tpq_status write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		if (tpq_fault_hit(TPQ_FAULT_WRITE)) {
			errno = EIO;
			return TPQ_EIO;
		}
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return TPQ_EIO;
		p += w;
		n -= (size_t)w;
	}
	return TPQ_OK;
}

static enum tpq_status ls_put(struct tpq_store *s, const char *key, const void *p, size_t n,
			      unsigned flags, struct tpq_error *err)
{
	struct local_store *l = (struct local_store *)s;
	char fin[PATH_MAX], tmp[PATH_MAX];
	if (paths(l, key, fin, tmp, sizeof(fin)))
		return bad_key(key, err);
	if (make_parent(fin))
		return sys_fail(fin, "cannot create directory", err);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return sys_fail(tmp, "cannot create file", err);
	enum tpq_status st = write_all(fd, p, n);
	if (st == TPQ_OK && (tpq_fault_hit(TPQ_FAULT_FSYNC) || fsync(fd) != 0))
		st = TPQ_EIO;
	int saved = errno;
	close(fd);
	if (st) {
		errno = saved;
		st = sys_fail(tmp, "cannot write", err);
		unlink(tmp);
		return st;
	}
	if (flags & TPQ_PUT_IF_ABSENT) {
		int rc = tpq_fault_hit(TPQ_FAULT_RENAME) ? (errno = EIO, -1) : link(tmp, fin);
		saved = errno;
		unlink(tmp);
		if (rc != 0 && saved == EEXIST) {
			tpq_error_where(err, fin);
			return tpq_error_set(err, TPQ_EEXIST, "already exists");
		}
		if (rc != 0) {
			errno = saved;
			return sys_fail(fin, "cannot publish", err);
		}
	} else if (tpq_fault_hit(TPQ_FAULT_RENAME) || rename(tmp, fin) != 0) {
		st = sys_fail(fin, "cannot publish", err);
		unlink(tmp);
		return st;
	}
	if (fsync_parent(fin))
		return sys_fail(fin, "cannot fsync directory", err);
	return TPQ_OK;
}

static enum tpq_status ls_get(struct tpq_store *s, const char *key, struct tpq_buf *out,
			      struct tpq_error *err)
{
	struct local_store *l = (struct local_store *)s;
	char fin[PATH_MAX];
	if (paths(l, key, fin, NULL, sizeof(fin)))
		return bad_key(key, err);
	tpq_buf_reset(out);
	int fd = open(fin, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sys_fail(fin, "cannot open", err);
	enum tpq_status st = TPQ_OK;
	for (;;) {
		if (out->cap - out->len < 65536 && tpq_buf_reserve(out, 65536)) {
			st = tpq_error_set(err, TPQ_ENOMEM, "out of memory reading %s", fin);
			break;
		}
		ssize_t r = read(fd, out->p + out->len, out->cap - out->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = sys_fail(fin, "read failed", err);
			break;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
	}
	close(fd);
	return st;
}

static enum tpq_status ls_list(struct tpq_store *s, const char *prefix, unsigned flags,
			       const char *start_after, tpq_list_fn fn, void *ctx,
			       struct tpq_error *err)
{
	struct local_store *l = (struct local_store *)s;
	enum tpq_status st = tpq__local_list(l->root, prefix, flags, start_after, fn, ctx, err);
	return st == TPQ_ENOTFOUND ? TPQ_OK : st;
}

static enum tpq_status ls_del(struct tpq_store *s, const char *key, struct tpq_error *err)
{
	struct local_store *l = (struct local_store *)s;
	char fin[PATH_MAX], tmp[PATH_MAX];
	if (paths(l, key, fin, tmp, sizeof(fin)))
		return bad_key(key, err);
	unlink(tmp);
	if (unlink(fin) != 0 && errno != ENOENT)
		return sys_fail(fin, "cannot delete", err);
	return TPQ_OK;
}

/* create(): a file sink on the temporary name; close publishes. */
struct publish_sink {
	struct tpq_sink base;
	struct tpq_sink *inner;
	char fin[PATH_MAX], tmp[PATH_MAX];
};

static enum tpq_status ps_write(struct tpq_sink *s, const void *p, size_t n, struct tpq_error *err)
{
	struct publish_sink *ps = (struct publish_sink *)s;
	return tpq_sink_write(ps->inner, p, n, err);
}

static enum tpq_status ps_close(struct tpq_sink *s, struct tpq_error *err)
{
	struct publish_sink *ps = (struct publish_sink *)s;
	enum tpq_status st = ps->inner->close(ps->inner, err);
	if (st)
		return st;
	if (tpq_fault_hit(TPQ_FAULT_RENAME) || rename(ps->tmp, ps->fin) != 0) {
		st = sys_fail(ps->fin, "cannot publish", err);
		unlink(ps->tmp);
		return st;
	}
	if (fsync_parent(ps->fin))
		return sys_fail(ps->fin, "cannot fsync directory", err);
	return TPQ_OK;
}

static void ps_free(struct tpq_sink *s)
{
	struct publish_sink *ps = (struct publish_sink *)s;
	if (!ps)
		return;
	ps->inner->free(ps->inner); /* unlinks the temporary unless closed */
	free(ps);
}

static struct tpq_sink *ls_create(struct tpq_store *s, const char *key, struct tpq_error *err)
{
	struct local_store *l = (struct local_store *)s;
	struct publish_sink *ps = calloc(1, sizeof(*ps));
	if (!ps) {
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	if (paths(l, key, ps->fin, ps->tmp, sizeof(ps->fin))) {
		bad_key(key, err);
		free(ps);
		return NULL;
	}
	if (make_parent(ps->fin)) {
		sys_fail(ps->fin, "cannot create directory", err);
		free(ps);
		return NULL;
	}
	unlink(ps->tmp);
	ps->inner = tpq_sink_file_new(ps->tmp, err);
	if (!ps->inner) {
		free(ps);
		return NULL;
	}
	ps->base.write = ps_write;
	ps->base.close = ps_close;
	ps->base.free = ps_free;
	return &ps->base;
}

static const char *ls_name(struct tpq_store *s)
{
	return ((struct local_store *)s)->root;
}

static void ls_free(struct tpq_store *s)
{
	struct local_store *l = (struct local_store *)s;
	if (!l)
		return;
	free(l->root);
	free(l);
}

struct tpq_store *tpq_store_local_new(const char *root, struct tpq_error *err)
{
	struct local_store *l = calloc(1, sizeof(*l));
	if (!l || !(l->root = strdup(root))) {
		free(l);
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	size_t n = strlen(l->root);
	while (n > 1 && l->root[n - 1] == '/')
		l->root[--n] = '\0';
	if (tpq_mkdirs(l->root)) {
		sys_fail(root, "cannot create the destination", err);
		ls_free(&l->base);
		return NULL;
	}
	l->base.put = ls_put;
	l->base.get = ls_get;
	l->base.list = ls_list;
	l->base.del = ls_del;
	l->base.create = ls_create;
	l->base.name = ls_name;
	l->base.free = ls_free;
	return &l->base;
}
