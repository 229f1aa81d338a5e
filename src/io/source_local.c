/* The local directory source: listing in S3's order (io/local.c), reads
 * with one fstat-sized read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/local.h"
#include "io/source.h"
#include "util/error.h"

struct local_source {
	struct tpq_source base;
	char *root;
};

static enum tpq_status local_list(struct tpq_source *s, const char *prefix, unsigned flags,
				  const char *start_after, tpq_list_fn fn, void *ctx,
				  struct tpq_error *err)
{
	struct local_source *l = (struct local_source *)s;
	return tpq__local_list(l->root, prefix, flags, start_after, fn, ctx, err);
}

static enum tpq_status local_read(struct tpq_source *s, const char *key, size_t pad, size_t max,
				  struct tpq_buf *out, struct tpq_error *err)
{
	struct local_source *l = (struct local_source *)s;
	int dfd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = dfd < 0 ? -1 : openat(dfd, key, O_RDONLY | O_CLOEXEC);
	if (dfd >= 0)
		close(dfd);
	enum tpq_status st = TPQ_OK;
	if (fd < 0) {
		tpq_error_where(err, key);
		return tpq_error_set(err, errno == ENOENT ? TPQ_ENOTFOUND : TPQ_EIO, "cannot open: %s",
				     strerror(errno));
	}
	struct stat sb;
	tpq_buf_reset(out);
	if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size > max) {
		tpq_error_where(err, key);
		st = tpq_error_set(err, (uint64_t)sb.st_size > max ? TPQ_ELIMIT : TPQ_EIO,
				   "object too large or unreadable");
		goto close_fd;
	}
	size_t want = (size_t)sb.st_size;
	if (tpq_buf_reserve(out, want + pad + 1)) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory reading %s", key);
		goto close_fd;
	}
	for (;;) {
		if (out->cap - out->len < pad + 4096 && tpq_buf_reserve(out, pad + 65536)) {
			st = tpq_error_set(err, TPQ_ENOMEM, "out of memory reading %s", key);
			goto close_fd;
		}
		ssize_t r = read(fd, out->p + out->len, out->cap - out->len - pad);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			tpq_error_where(err, key);
			st = tpq_error_set(err, TPQ_EIO, "read failed: %s", strerror(errno));
			goto close_fd;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (out->len > max) {
			tpq_error_where(err, key);
			st = tpq_error_set(err, TPQ_ELIMIT, "object larger than %zu bytes", max);
			goto close_fd;
		}
	}
	memset(out->p + out->len, 0, pad);
close_fd:
	close(fd);
	return st;
}

static void local_free(struct tpq_source *s)
{
	struct local_source *l = (struct local_source *)s;
	if (!l)
		return;
	free(l->root);
	free(l);
}

struct tpq_source *tpq_source_local_new(const char *root, struct tpq_error *err)
{
	struct stat sb;
	if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		tpq_error_where(err, root);
		tpq_error_set(err, TPQ_EIO, "not a readable directory");
		return NULL;
	}
	struct local_source *l = calloc(1, sizeof(*l));
	if (!l || !(l->root = strdup(root))) {
		free(l);
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	l->base.list = local_list;
	l->base.read = local_read;
	l->base.free = local_free;
	return &l->base;
}
