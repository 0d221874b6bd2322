/*
 * What the libFuzzer targets share: the invariant check and the ways of handing a
 * fuzzed input to code that reads a file by path. Header-only: every target is one
 * executable built from one .c file. A target defines _GNU_SOURCE before its first
 * #include (memfd_create).
 */
#ifndef YH_FUZZ_UTIL_H
#define YH_FUZZ_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sanitizer/common_interface_defs.h>

/* The temporary directory of fuzz_tmpdir ("" when none). */
static char fuzz_tmp[256];

static void fuzz_tmp_remove(void);

/* An invariant of the code under test: a failure is a finding, so abort (libFuzzer
 * then keeps the input as a crash reproducer), leaving no temporary directory behind
 * (libFuzzer exits without running atexit handlers). */
#define CHECK(cond) do { if (!(cond)) { fuzz_tmp_remove(); abort(); } } while (0)

/* Writes size bytes to fd from its start (truncating what was there). 0 or -1. */
static inline int
fuzz_write_all(int fd, const void *data, size_t size)
{
	const char *p = data;
	size_t off = 0;
	ssize_t n;

	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	while (off < size) {
		if ((n = write(fd, p + off, size - off)) <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/*
 * A memory file holding the input; its path (/proc/self/fd/N, which a reader can open
 * by name) goes to path. Returns the fd (close it when done) or -1.
 */
static inline int
fuzz_memfd(const char *name, const void *data, size_t size, char *path, size_t pathsz)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fuzz_write_all(fd, data, size) != 0) {
		close(fd);
		return -1;
	}
	snprintf(path, pathsz, "/proc/self/fd/%d", fd);
	return fd;
}

/* Replaces the contents of the file at path with the input (made 0600 when new).
 * 0 or -1. */
static inline int
fuzz_write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -1;
	r = fuzz_write_all(fd, data, size);
	return close(fd) == 0 ? r : -1;
}

static inline int
fuzz_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything in it (for an atexit handler). */
static inline void
fuzz_rmtree(const char *dir)
{
	if (dir[0] != '\0')
		(void)nftw(dir, fuzz_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void
fuzz_tmp_remove(void)
{
	fuzz_rmtree(fuzz_tmp);
	fuzz_tmp[0] = '\0';
}

/*
 * Makes a private temporary directory named /dev/shm/yh_fuzz_NAME_XXXXXX (tmpfs: files
 * rewritten for every input cost no disk writeback; /tmp when there is no /dev/shm) into
 * dir, and has it removed when a check or a sanitizer ends the run (at a normal exit the
 * target's atexit handler removes it). One per target. 0 or -1.
 */
static inline int
fuzz_tmpdir(const char *name, char *dir, size_t dirsz)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	int n = snprintf(dir, dirsz, "%s/yh_fuzz_%s_XXXXXX", base, name);

	if (n < 0 || (size_t)n >= dirsz || (size_t)n >= sizeof(fuzz_tmp) ||
	    mkdtemp(dir) == NULL) {
		dir[0] = '\0';
		return -1;
	}
	memcpy(fuzz_tmp, dir, (size_t)n + 1);
	__sanitizer_set_death_callback(fuzz_tmp_remove);
	return 0;
}

/* The number of lines of a text: line feeds, plus one for a last line without one. */
static inline size_t
fuzz_count_lines(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n + (size > 0 && data[size - 1] != '\n');
}

#endif
