/* The local directory source: a recursive walk with openat/fdopendir so
 * deep trees need no path rebuilding per level, and reads with one
 * fstat-sized read. Symbolic links are followed for files but not for
 * directories (no loops). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/source.h"
#include "util/error.h"

struct local_source {
	struct tpq_source base;
	char *root;
};

static enum tpq_status walk(int fd0, char *path, size_t len, size_t cap, const char *prefix,
			    tpq_list_fn fn, void *ctx, int *stop, struct tpq_error *err)
{
	DIR *d = fdopendir(fd0);
	if (!d) {
		close(fd0);
		tpq_error_where(err, path);
		return tpq_error_set(err, TPQ_EIO, "cannot read directory: %s", strerror(errno));
	}
	enum tpq_status st = TPQ_OK;
	struct dirent *e;
	while (!*stop && st == TPQ_OK && (e = readdir(d))) {
		const char *name = e->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		size_t nl = strlen(name);
		if (len + nl + 2 > cap)
			continue; /* too deep to name: not a CloudTrail key */
		size_t at = len;
		if (at)
			path[at++] = '/';
		memcpy(path + at, name, nl + 1);
		size_t plen = strlen(prefix), klen = at + nl;
		/* prune subtrees that cannot hold the prefix */
		size_t cmp = klen < plen ? klen : plen;
		if (memcmp(path, prefix, cmp) != 0) {
			path[len] = '\0';
			continue;
		}
		struct stat sb;
		if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			path[len] = '\0';
			continue;
		}
		if (S_ISLNK(sb.st_mode) && fstatat(dirfd(d), name, &sb, 0) == 0 && S_ISDIR(sb.st_mode)) {
			path[len] = '\0';
			continue; /* no directory links: no loops */
		}
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				st = walk(fd, path, klen, cap, prefix, fn, ctx, stop, err);
		} else if (S_ISREG(sb.st_mode) && klen >= plen) {
			struct tpq_object o = {
				.key = path,
				.size = (uint64_t)sb.st_size,
				.mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec,
				.etag = "",
			};
			if (fn(ctx, &o))
				*stop = 1;
		}
		path[len] = '\0';
	}
	closedir(d);
	return st;
}

static enum tpq_status local_list(struct tpq_source *s, const char *prefix, tpq_list_fn fn,
				  void *ctx, struct tpq_error *err)
{
	struct local_source *l = (struct local_source *)s;
	int fd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		tpq_error_where(err, l->root);
		return tpq_error_set(err, TPQ_EIO, "cannot open source directory: %s", strerror(errno));
	}
	char path[4096];
	path[0] = '\0';
	int stop = 0;
	return walk(fd, path, 0, sizeof(path), prefix ? prefix : "", fn, ctx, &stop, err);
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
