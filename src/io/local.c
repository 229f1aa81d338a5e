/* Local listing in S3's order (see local.h).
 *
 * S3 orders keys bytewise. A directory "a" holds keys "a/...", which sort as
 * if the directory's name were "a/": so each level's entries are sorted by
 * name with '/' appended to directories, and the walk emits them in that
 * order, which is then the order of the whole keys. */
#include "io/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <unistd.h>

#include "util/error.h"

struct entry {
	char *name;      /* with a trailing '/' for directories */
	uint64_t size;
	int64_t mtime_ns;
};

struct walk {
	const char *prefix;
	size_t plen;
	const char *after;
	unsigned flags;
	tpq_list_fn fn;
	void *ctx;
	int stop;
	int rootfd;
	char path[4096];   /* the key being built, relative to the root */
};

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void free_entries(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Reads directory fd (consumed) into a sorted array. */
static enum tpq_status read_dir(int fd, struct walk *w, struct entry **out, size_t *n_out,
				struct tpq_error *err)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		tpq_error_where(err, w->path[0] ? w->path : ".");
		return tpq_error_set(err, TPQ_EIO, "cannot read directory: %s", strerror(errno));
	}
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	enum tpq_status st = TPQ_OK;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *name = e->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		size_t nl = strlen(name);
		if (!strncmp(name, TPQ__LOCAL_TMP_PREFIX, strlen(TPQ__LOCAL_TMP_PREFIX))) {
			size_t pl = strlen(TPQ__LOCAL_TMP_PREFIX), sl = strlen(TPQ__LOCAL_TMP_SUFFIX);
			if (!(w->flags & TPQ_LIST_UNPUBLISHED) || nl <= pl + sl ||
			    strcmp(name + nl - sl, TPQ__LOCAL_TMP_SUFFIX) != 0)
				continue;
			name += pl; /* under its final key */
			nl -= pl + sl;
		}
		struct stat sb;
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* vanished meanwhile */
		bool dir = S_ISDIR(sb.st_mode);
		if (S_ISLNK(sb.st_mode)) {
			if (fstatat(dirfd(d), e->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))
				continue; /* dangling, or a directory link: no loops */
		} else if (!dir && !S_ISREG(sb.st_mode)) {
			continue;
		}
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct entry *nv = realloc(v, c * sizeof(*v));
			if (!nv) {
				st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = c;
		}
		char *s = malloc(nl + 2);
		if (!s) {
			st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			break;
		}
		memcpy(s, name, nl);
		s[nl] = dir ? '/' : '\0';
		s[nl + 1] = '\0';
		v[n].name = s;
		v[n].size = dir ? 0 : (uint64_t)sb.st_size;
		v[n].mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
		n++;
	}
	closedir(d);
	if (st) {
		free_entries(v, n);
		return st;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	*n_out = n;
	return TPQ_OK;
}

/* 1 if a key starting with path[0..len) (len bytes, a directory ending in
 * '/' or a whole key) can both start with the prefix and come after
 * start_after. */
static bool may_match(const struct walk *w, size_t len, bool dir)
{
	size_t cmp = len < w->plen ? len : w->plen;
	if (memcmp(w->path, w->prefix, cmp) != 0)
		return false;
	if (!dir && len < w->plen)
		return false;
	if (w->after) {
		/* a directory is wholly at or before start_after when start_after
		 * does not start with it and sorts after it */
		if (dir ? strncmp(w->path, w->after, len) < 0 : strcmp(w->path, w->after) <= 0)
			return false;
	}
	return true;
}

static enum tpq_status walk_dir(int fd, size_t len, struct walk *w, struct tpq_error *err)
{
	struct entry *v = NULL;
	size_t n = 0;
	enum tpq_status st = read_dir(fd, w, &v, &n, err);
	if (st)
		return st;
	for (size_t i = 0; i < n && !w->stop && st == TPQ_OK; i++) {
		size_t nl = strlen(v[i].name);
		if (len + nl + 1 > sizeof(w->path))
			continue; /* too long to be a key */
		memcpy(w->path + len, v[i].name, nl + 1);
		bool dir = w->path[len + nl - 1] == '/';
		if (!may_match(w, len + nl, dir))
			continue;
		if (dir && (w->flags & TPQ_LIST_DELIM) && len + nl > w->plen) {
			/* a common prefix: reported once, not entered */
			struct tpq_object o = {.key = w->path, .size = 0, .mtime_ns = 0, .etag = ""};
			if (!w->after || strcmp(w->path, w->after) > 0)
				w->stop = w->fn(w->ctx, &o) != 0;
			continue;
		}
		if (dir) {
			w->path[len + nl - 1] = '\0';
			int sub = openat(w->rootfd, w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			w->path[len + nl - 1] = '/';
			if (sub < 0)
				continue;
			st = walk_dir(sub, len + nl, w, err);
			continue;
		}
		struct tpq_object o = {
			.key = w->path, .size = v[i].size, .mtime_ns = v[i].mtime_ns, .etag = ""};
		w->stop = w->fn(w->ctx, &o) != 0;
	}
	w->path[len] = '\0';
	free_entries(v, n);
	return st;
}

enum tpq_status tpq__local_list(const char *root, const char *prefix, unsigned flags,
				const char *start_after, tpq_list_fn fn, void *ctx,
				struct tpq_error *err)
{
	struct walk *w = calloc(1, sizeof(*w));
	if (!w)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	w->prefix = prefix ? prefix : "";
	w->plen = strlen(w->prefix);
	w->after = start_after && *start_after ? start_after : NULL;
	w->flags = flags;
	w->fn = fn;
	w->ctx = ctx;
	enum tpq_status st = TPQ_OK;
	w->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int top = w->rootfd < 0 ? -1 : dup(w->rootfd);
	if (top < 0) {
		tpq_error_where(err, root);
		st = tpq_error_set(err, errno == ENOENT ? TPQ_ENOTFOUND : TPQ_EIO,
				   "cannot open directory: %s", strerror(errno));
	} else {
		st = walk_dir(top, 0, w, err);
	}
	if (w->rootfd >= 0)
		close(w->rootfd);
	free(w);
	return st;
}
