/* Decoding legacy exports to UTF-8 as they are read: see encoding.h. */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migration-tools/idmerge/input/encoding.h"
#include "common/utf8.h"

#define RAW_CHUNK (256 * 1024)
#define RAW_CARRY 8             /* an incomplete character kept for the next chunk */
/* Worst growth is GBK's two bytes becoming three; one bad byte stays one byte. */
#define DECODED_MAX(n) ((n) + (n) / 2 + 16)
#define WINDOW_CAP (MIG_INPUT_KEEP + DECODED_MAX(RAW_CHUNK + RAW_CARRY))

struct mig_input {
	int fd;
	enum mig_enc enc;
	iconv_t cd;
	uint64_t raw_done;
	uint64_t raw_total;
	unsigned char *raw;        /* RAW_CARRY + RAW_CHUNK */
	size_t carry;              /* bytes at raw[0] left from the previous chunk */
	char *win;                 /* WINDOW_CAP */
	size_t off;                /* consumed bytes at the front of win */
	size_t len;                /* bytes in win */
	bool eof;
	bool started;              /* the byte order mark check is done */
};

int
mig_enc_parse(const char *name, enum mig_enc *out)
{
	if (name == NULL)
		return YH_ERR_UNSUPPORTED;
	if (strcasecmp(name, "UTF-8") == 0 || strcasecmp(name, "UTF8") == 0)
		*out = MIG_ENC_UTF8;
	else if (strcasecmp(name, "GBK") == 0 || strcasecmp(name, "CP936") == 0)
		*out = MIG_ENC_GBK;
	else if (strcasecmp(name, "GB18030") == 0)
		*out = MIG_ENC_GB18030;
	else
		return YH_ERR_UNSUPPORTED;
	return 0;
}

const char *
mig_enc_name(enum mig_enc enc)
{
	switch (enc) {
	case MIG_ENC_GBK:
		return "GBK";
	case MIG_ENC_GB18030:
		return "GB18030";
	default:
		return "UTF-8";
	}
}

/* Length of the run of ASCII bytes at p. */
static size_t
ascii_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

	while (n - i >= 8) {
		memcpy(&w, p + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
		i += 8;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

/* Validates and copies UTF-8 from in to out. Returns bytes consumed; a sequence cut
 * off by the end is left unconsumed unless last. */
static size_t
decode_utf8(const unsigned char *in, size_t n, char *out, size_t *outlen, bool last)
{
	size_t i = 0, o = *outlen, a, l;
	uint32_t cp;

	while (i < n) {
		a = ascii_run(in + i, n - i);
		memcpy(out + o, in + i, a);
		i += a;
		o += a;
		while (i < n && in[i] >= 0x80) {
			l = yh_utf8_next((const char *)in + i, n - i, &cp);
			if (l == 0 && !last && yh_utf8_incomplete((const char *)in + i, n - i))
				goto done;
			if (l == 0) {
				out[o++] = (char)MIG_ENC_BAD;
				i++;
				continue;
			}
			memcpy(out + o, in + i, l);
			o += l;
			i += l;
		}
	}
done:
	*outlen = o;
	return i;
}

/* Length of the run of multi-byte characters at p by their lead bytes (GBK: two bytes;
 * GB18030: four when the second is a digit). *cut is set when the last character runs
 * past the end of the bytes. */
static size_t
mb_run(const unsigned char *p, size_t n, bool gb18030, bool *cut)
{
	size_t i = 0, l;

	*cut = false;
	while (i < n && p[i] >= 0x80) {
		l = 2;
		if (gb18030 && i + 1 < n && p[i + 1] >= 0x30 && p[i + 1] <= 0x39)
			l = 4;
		if (i + l > n) {
			*cut = true;
			break;
		}
		i += l;
	}
	return i;
}

/* Converts a run of multi-byte characters through iconv; each byte iconv rejects
 * becomes MIG_ENC_BAD. */
static void
iconv_run(iconv_t cd, const unsigned char *in, size_t n, char *out, size_t *outlen)
{
	char *ip = (char *)(uintptr_t)in, *op = out + *outlen;
	size_t il = n, ol = DECODED_MAX(n);

	while (il > 0) {
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
			break;
		if (errno == E2BIG)
			break; /* cannot happen: ol is the worst case (two bytes to three) */
		/* EILSEQ or EINVAL inside a run: mark one byte and go on after it. */
		*op++ = (char)MIG_ENC_BAD;
		ol--;
		ip++;
		il--;
		(void)iconv(cd, NULL, NULL, NULL, NULL);
	}
	*outlen = (size_t)(op - out);
}

static size_t
decode_mb(struct mig_input *in, const unsigned char *p, size_t n, char *out, size_t *outlen,
    bool last)
{
	size_t i = 0, a, m;
	bool cut;

	while (i < n) {
		a = ascii_run(p + i, n - i);
		memcpy(out + *outlen, p + i, a);
		*outlen += a;
		i += a;
		m = mb_run(p + i, n - i, in->enc == MIG_ENC_GB18030, &cut);
		if (m > 0)
			iconv_run(in->cd, p + i, m, out, outlen);
		i += m;
		if (cut) {
			if (!last)
				break;
			for (; i < n; i++)
				out[(*outlen)++] = (char)MIG_ENC_BAD;
		}
	}
	return i;
}

/* Decodes n bytes; returns how many were consumed (the rest is an incomplete
 * character waiting for more input). */
static size_t
decode(struct mig_input *in, const unsigned char *p, size_t n, char *out, size_t *outlen,
    bool last)
{
	if (in->enc == MIG_ENC_UTF8)
		return decode_utf8(p, n, out, outlen, last);
	return decode_mb(in, p, n, out, outlen, last);
}

int
mig_input_open(const char *path, enum mig_enc enc, struct mig_input **out, char *err,
    size_t errsz)
{
	struct mig_input *in = NULL;
	struct stat st;
	int rc = YH_ERR_ALLOC;

	*out = NULL;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		goto fail;
	in->fd = -1;
	in->cd = (iconv_t)-1;
	in->enc = enc;
	if ((in->raw = malloc(RAW_CARRY + RAW_CHUNK)) == NULL ||
	    (in->win = malloc(WINDOW_CAP)) == NULL)
		goto fail;
	if (enc != MIG_ENC_UTF8) {
		in->cd = iconv_open("UTF-8", mig_enc_name(enc));
		if (in->cd == (iconv_t)-1) {
			snprintf(err, errsz, "%s: iconv cannot convert from %s", path,
			    mig_enc_name(enc));
			rc = YH_ERR_UNSUPPORTED;
			goto fail;
		}
	}
	if ((in->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in->fd, &st) != 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		rc = YH_ERR_IO;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s: is a directory", path);
		rc = YH_ERR_IO;
		goto fail;
	}
	in->raw_total = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	*out = in;
	return 0;
fail:
	if (rc == YH_ERR_ALLOC)
		snprintf(err, errsz, "%s: out of memory", path);
	mig_input_close(in);
	return rc;
}

/* Reads up to RAW_CHUNK bytes after the carry. Returns bytes read, 0 at EOF, -1. */
static ssize_t
read_chunk(struct mig_input *in)
{
	ssize_t n;

	do
		n = read(in->fd, in->raw + in->carry, RAW_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		in->raw_done += (uint64_t)n;
	return n;
}

int
mig_input_more(struct mig_input *in)
{
	size_t have, used, before;
	ssize_t n;

	if (in->off > 0) {
		memmove(in->win, in->win + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	if (WINDOW_CAP - in->len < DECODED_MAX(RAW_CHUNK + RAW_CARRY))
		return YH_ERR_TOO_LONG;
	before = in->len;
	/* The first call reads until it can tell whether the file starts with a BOM. */
	while (in->len == before || (!in->started && !in->eof && in->len < 3)) {
		if (in->eof)
			return YH_ERR_NOT_FOUND;
		if ((n = read_chunk(in)) < 0)
			return YH_ERR_IO;
		if (n == 0)
			in->eof = true;
		have = in->carry + (size_t)n;
		used = decode(in, in->raw, have, in->win, &in->len, in->eof);
		in->carry = have - used;
		if (in->carry > 0)
			memmove(in->raw, in->raw + used, in->carry);
		if (!in->started && (in->len >= 3 || in->eof)) {
			/* Nothing was consumed yet: the file starts at win[0]. */
			in->started = true;
			if (in->len >= 3 && memcmp(in->win, "\xEF\xBB\xBF", 3) == 0) {
				memmove(in->win, in->win + 3, in->len - 3);
				in->len -= 3;
			}
		}
	}
	return 0;
}

const char *
mig_input_data(const struct mig_input *in)
{
	return in->win + in->off;
}

size_t
mig_input_avail(const struct mig_input *in)
{
	return in->len - in->off;
}

void
mig_input_consume(struct mig_input *in, size_t n)
{
	if (n > in->len - in->off)
		n = in->len - in->off;
	in->off += n;
}

void
mig_input_progress(const struct mig_input *in, uint64_t *done, uint64_t *total)
{
	*done = in->raw_done;
	*total = in->raw_total;
}

int
mig_input_convert(struct mig_input *in, const char *p, size_t n, struct yh_buf *out)
{
	char *tmp;
	size_t olen = 0;
	int rc = 0;

	if (n > MIG_RECORD_MAX)
		return YH_ERR_TOO_LONG;
	if ((tmp = malloc(DECODED_MAX(n))) == NULL)
		return YH_ERR_ALLOC;
	(void)decode(in, (const unsigned char *)p, n, tmp, &olen, true);
	if (memchr(tmp, MIG_ENC_BAD, olen) != NULL || memchr(tmp, '\0', olen) != NULL)
		rc = YH_ERR_INVALID;
	else
		rc = yh_buf_append(out, tmp, olen);
	free(tmp);
	return rc;
}

void
mig_input_close(struct mig_input *in)
{
	if (in == NULL)
		return;
	if (in->fd >= 0)
		close(in->fd);
	if (in->cd != (iconv_t)-1)
		iconv_close(in->cd);
	free(in->raw);
	free(in->win);
	free(in);
}

bool
mig_has_bad_byte(const char *p, size_t n, size_t *off)
{
	const char *a = memchr(p, MIG_ENC_BAD, n), *z = memchr(p, '\0', n);

	if (a == NULL && z == NULL)
		return false;
	if (a == NULL || (z != NULL && z < a))
		a = z;
	*off = (size_t)(a - p);
	return true;
}
