/*
 * idmerge input layer: a legacy export decoded to UTF-8 as it is read.
 *
 * A struct mig_input reads a file in large chunks and converts each chunk from its
 * declared encoding (UTF-8, GBK or GB18030) into a window of UTF-8 bytes that the
 * format readers (csv.c, jsonl.c, ldif.c) parse. Pure ASCII runs
 * are copied as they are; other runs go through one iconv descriptor kept for the
 * life of the input (GBK, GB18030) or through a strict UTF-8 validator (UTF-8). A UTF-8
 * byte order mark (U+FEFF) at the start of the file is dropped.
 *
 * A byte sequence that is invalid in the declared encoding is not dropped and does not
 * stop the stream: each bad byte becomes MIG_ENC_BAD (0xFF, a byte that never occurs in
 * UTF-8) in the window, so the reader that meets it can turn the record holding it into
 * a record-level error naming file:line. Line feeds survive conversion unchanged in all
 * three encodings, so line numbers counted in the window are those of the file.
 *
 * The format readers' shared state is in format.h; callers use reader.h instead.
 */
#ifndef YH_MIG_INPUT_ENCODING_H
#define YH_MIG_INPUT_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/err.h"
#include "migration-tools/idmerge/input/reader.h"

/* The byte that stands for an invalid input byte in a decoded window. */
#define MIG_ENC_BAD 0xFF

enum mig_enc { MIG_ENC_UTF8, MIG_ENC_GBK, MIG_ENC_GB18030 };

/*
 * Parses an encoding name as written in a sources file, ignoring case: "UTF-8" (or
 * "UTF8"), "GBK" (or "CP936"), "GB18030". Returns 0 or YH_ERR_UNSUPPORTED.
 */
int mig_enc_parse(const char *name, enum mig_enc *out) YH_WUR;

/* The canonical name of an encoding ("UTF-8", "GBK", "GB18030"); never NULL. */
const char *mig_enc_name(enum mig_enc enc);

struct mig_input;

/*
 * Opens path for reading in the given encoding. On error returns YH_ERR_IO (message
 * with strerror), YH_ERR_UNSUPPORTED (iconv lacks the encoding) or YH_ERR_ALLOC, and
 * writes a message naming the file into err. *out is NULL on error; free the input
 * with mig_input_close.
 */
int mig_input_open(const char *path, enum mig_enc enc, struct mig_input **out, char *err,
    size_t errsz) YH_WUR;

/*
 * Decodes the next chunk of the file and appends it to the window. Returns 0 when at
 * least one byte was added, YH_ERR_NOT_FOUND at the end of the file, YH_ERR_IO on a read
 * error, YH_ERR_TOO_LONG when the window is full because the caller kept more than
 * MIG_INPUT_KEEP unconsumed bytes. Pointers from mig_input_data are invalid afterwards;
 * offsets from it stay valid.
 */
int mig_input_more(struct mig_input *in) YH_WUR;

/* How many unconsumed bytes a caller may keep in the window and still call more. */
#define MIG_INPUT_KEEP (2 * MIG_RECORD_MAX + 64)

/* The unconsumed part of the window (decoded UTF-8, MIG_ENC_BAD for invalid bytes). */
const char *mig_input_data(const struct mig_input *in);

/* The number of bytes at mig_input_data. */
size_t mig_input_avail(const struct mig_input *in);

/* Marks the first n bytes of the window as consumed (n <= avail). */
void mig_input_consume(struct mig_input *in, size_t n);

/* Raw bytes read from the file so far and its size when opened. */
void mig_input_progress(const struct mig_input *in, uint64_t *done, uint64_t *total);

/*
 * Converts n bytes in the input's encoding (e.g. a base64-decoded LDIF value) to UTF-8
 * and appends them to out. YH_ERR_INVALID when they hold an invalid sequence or a NUL
 * byte, YH_ERR_TOO_LONG past out's max; out may hold a partial value on error.
 */
int mig_input_convert(struct mig_input *in, const char *p, size_t n, struct yh_buf *out) YH_WUR;

/* Closes the file and frees the input. NULL is fine. */
void mig_input_close(struct mig_input *in);

/* True when the bytes hold MIG_ENC_BAD or NUL; *off gets the first such offset. */
bool mig_has_bad_byte(const char *p, size_t n, size_t *off);

#endif
