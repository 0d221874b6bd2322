/*
 * The process series of every exporter: build info and start time, kept; CPU time,
 * resident memory and file descriptors, read from the kernel at each rendering (the
 * names and meanings of Prometheus' process collector, for this process only: keyd is
 * another process and not counted).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/timeutil.h"

/* User and system CPU time of every thread, in seconds. */
static int
read_cpu(void *ctx, double *v)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return YH_ERR_IO;
	*v = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
	return 0;
}

/* Resident set size: the second field of /proc/self/statm, in pages. */
static int
read_rss(void *ctx, double *v)
{
	char buf[256], *p, *end;
	unsigned long long pages;
	long pagesz = sysconf(_SC_PAGESIZE);
	ssize_t n;
	int fd;

	if (pagesz <= 0 || (fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) < 0)
		return YH_ERR_IO;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return YH_ERR_IO;
	buf[n] = '\0';
	if ((p = strchr(buf, ' ')) == NULL)
		return YH_ERR_IO;
	errno = 0;
	pages = strtoull(p + 1, &end, 10);
	if (errno != 0 || end == p + 1 || (*end != ' ' && *end != '\n'))
		return YH_ERR_IO;
	*v = (double)pages * (double)pagesz;
	return 0;
}

/* Entries of /proc/self/fd, without the one reading it. */
static int
read_open_fds(void *ctx, double *v)
{
	struct dirent *e;
	unsigned long n = 0;
	DIR *d;
	int self;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return YH_ERR_IO;
	self = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd;

		if (e->d_name[0] == '.')
			continue;
		fd = strtol(e->d_name, &end, 10);
		if (*end == '\0' && fd != self)
			n++;
	}
	closedir(d);
	*v = (double)n;
	return 0;
}

/* The soft limit on open files. */
static int
read_max_fds(void *ctx, double *v)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return YH_ERR_IO;
	*v = (double)rl.rlim_cur;
	return 0;
}

static int
register_kernel(struct mx_registry *reg)
{
	int r;

	if ((r = mx_counter_fn_add(reg, "process_cpu_seconds_total",
	    "Total user and system CPU time spent in seconds.", NULL, read_cpu, NULL)) != 0 ||
	    (r = mx_gauge_fn_add(reg, "process_resident_memory_bytes",
	    "Resident memory size in bytes.", NULL, read_rss, NULL)) != 0 ||
	    (r = mx_gauge_fn_add(reg, "process_open_fds",
	    "Number of open file descriptors.", NULL, read_open_fds, NULL)) != 0)
		return r;
	return mx_gauge_fn_add(reg, "process_max_fds",
	    "Maximum number of open file descriptors.", NULL, read_max_fds, NULL);
}

int
mx_register_process(struct mx_registry *reg, const char *version)
{
	struct mx_gauge *info, *start;
	struct yh_buf labels;
	int r;

	yh_buf_init(&labels, 512);
	if ((r = yh_buf_puts(&labels, "version=\"")) != 0 ||
	    (r = mx_label_escape(&labels, version)) != 0 || (r = yh_buf_putc(&labels, '"')) != 0)
		goto out;
	if ((r = mx_gauge_get(reg, "yh_build_info", "Build information; the value is always 1.",
	    yh_buf_cstr(&labels), &info)) != 0)
		goto out;
	mx_gauge_set(info, 1);
	if ((r = mx_gauge_get(reg, "process_start_time_seconds",
	    "Start time of the process since the Unix epoch in seconds.", NULL, &start)) != 0)
		goto out;
	mx_gauge_set(start, yh_now());
	r = register_kernel(reg);
out:
	yh_buf_free(&labels);
	return r;
}
