/* File and memory sinks. The file sink writes through a 1 MiB buffer so the
 * writer's many small puts (page headers, pages) become few write(2) calls;
 * close() flushes, fsyncs and closes, so a caller that renames the file
 * afterwards publishes only complete, durable bytes. */
#include "io/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/fault.h"

#define FILE_SINK_BUF (1u << 20)

struct file_sink {
	struct tpq_sink base;
	int fd;
	char *path;
	uint8_t *buf;
	size_t len;
	int closed;
};

static enum tpq_status fs_flush(struct file_sink *f, struct tpq_error *err)
{
	size_t off = 0;
	while (off < f->len) {
		if (tpq_fault_hit(TPQ_FAULT_WRITE)) {
			errno = EIO;
			goto fail;
		}
		ssize_t w = write(f->fd, f->buf + off, f->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	f->len = 0;
	return TPQ_OK;
fail:
	if (err)
		err->sys_errno = errno;
	tpq_error_where(err, f->path);
	return tpq_error_set(err, TPQ_EIO, "write failed: %s", strerror(errno));
}

static enum tpq_status fs_write(struct tpq_sink *s, const void *p, size_t n, struct tpq_error *err)
{
	struct file_sink *f = (struct file_sink *)s;
	const uint8_t *b = p;
	while (n > 0) {
		if (f->len == FILE_SINK_BUF) {
			enum tpq_status st = fs_flush(f, err);
			if (st)
				return st;
		}
		size_t k = FILE_SINK_BUF - f->len;
		if (k > n)
			k = n;
		memcpy(f->buf + f->len, b, k);
		f->len += k;
		b += k;
		n -= k;
	}
	return TPQ_OK;
}

static enum tpq_status fs_close(struct tpq_sink *s, struct tpq_error *err)
{
	struct file_sink *f = (struct file_sink *)s;
	enum tpq_status st = fs_flush(f, err);
	if (st)
		return st;
	if (tpq_fault_hit(TPQ_FAULT_FSYNC) || fsync(f->fd) != 0) {
		if (err)
			err->sys_errno = errno;
		tpq_error_where(err, f->path);
		return tpq_error_set(err, TPQ_EIO, "fsync failed: %s", strerror(errno));
	}
	if (close(f->fd) != 0) {
		f->fd = -1;
		tpq_error_where(err, f->path);
		return tpq_error_set(err, TPQ_EIO, "close failed: %s", strerror(errno));
	}
	f->fd = -1;
	f->closed = 1;
	return TPQ_OK;
}

static void fs_free(struct tpq_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (!f->closed && f->path)
		unlink(f->path);
	free(f->path);
	free(f->buf);
	free(f);
}

struct tpq_sink *tpq_sink_file_new(const char *path, struct tpq_error *err)
{
	struct file_sink *f = calloc(1, sizeof(*f));
	if (!f || !(f->buf = malloc(FILE_SINK_BUF)) || !(f->path = strdup(path))) {
		if (f)
			free(f->buf);
		free(f);
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		if (err)
			err->sys_errno = errno;
		tpq_error_where(err, path);
		tpq_error_set(err, TPQ_EIO, "cannot create file: %s", strerror(errno));
		f->closed = 1; /* nothing of ours to unlink */
		fs_free(&f->base);
		return NULL;
	}
	f->base.write = fs_write;
	f->base.close = fs_close;
	f->base.free = fs_free;
	return &f->base;
}

struct mem_sink {
	struct tpq_sink base;
	struct tpq_buf buf;
};

static enum tpq_status ms_write(struct tpq_sink *s, const void *p, size_t n, struct tpq_error *err)
{
	struct mem_sink *m = (struct mem_sink *)s;
	tpq_buf_put(&m->buf, p, n);
	if (m->buf.err)
		return tpq_error_set(err, m->buf.err, "memory sink: out of memory");
	return TPQ_OK;
}

static enum tpq_status ms_close(struct tpq_sink *s, struct tpq_error *err)
{
	return TPQ_OK;
}

static void ms_free(struct tpq_sink *s)
{
	struct mem_sink *m = (struct mem_sink *)s;
	if (!m)
		return;
	tpq_buf_release(&m->buf);
	free(m);
}

struct tpq_sink *tpq_sink_mem_new(void)
{
	struct mem_sink *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	tpq_buf_init(&m->buf);
	m->base.write = ms_write;
	m->base.close = ms_close;
	m->base.free = ms_free;
	return &m->base;
}

const uint8_t *tpq_sink_mem_data(const struct tpq_sink *s, size_t *len)
{
	const struct mem_sink *m = (const struct mem_sink *)s;
	*len = m->buf.len;
	return m->buf.p;
}
