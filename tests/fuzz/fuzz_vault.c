/*
 * libFuzzer target for the PII vault's sealed-value parser and decryption
 * (identity/vault/vault.h: vault_open_value), for both ciphers.
 *
 * At start two key files with FIXED keys (one per cipher) are written to a temporary
 * directory and opened, so the seed corpus (values sealed under those keys) reaches the
 * decryption paths on every run; the files and the directory are removed as soon as
 * the vaults are open.
 *
 * Input: byte 0 picks the cipher (bit 0), the domain (bits 1-2: idnum, phone, name, or
 * a domain taken from the input), and the mode (bit 7):
 *   open   the rest is a sealed string: it must open only when it is one of ours (then
 *          for its domain only, and any one-character change makes it fail), and what
 *          opens is NUL-free text within VAULT_VALUE_MAX;
 *   seal   the rest is a plaintext: sealing it and opening the result gives it back,
 *          and the result does not open under another domain or with the other key.
 * In "domain from the input" mode the first line of the rest is the domain.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/secmem.h"
#include "identity/vault/vault.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define INPUT_MAX (VAULT_SEALED_MAX + 64)

static char dir[64];
static char paths[2][96];
static struct vault *vaults[2];
static const char *const ciphers[2] = { VAULT_CIPHER_AES, VAULT_CIPHER_SM4 };
static const char *const domains[3] = { VAULT_DOMAIN_IDNUM, VAULT_DOMAIN_PHONE,
    VAULT_DOMAIN_NAME };

static void
cleanup(void)
{
	for (int i = 0; i < 2; i++) {
		vault_close(vaults[i]);
		vaults[i] = NULL;
		if (paths[i][0] != '\0')
			(void)unlink(paths[i]);
	}
	if (dir[0] != '\0')
		(void)rmdir(dir);
}

/* The key id vault.c computes: hex of the first 8 bytes of
 * SHA-256("yihao-vault-kid-v1|" cipher "|" enc idx). */
static void
kid_of(const char *cipher, const unsigned char *enc, const unsigned char *idx, char out[17])
{
	unsigned char md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	CHECK(ctx != NULL);
	CHECK(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, "yihao-vault-kid-v1|", 19) == 1 &&
	    EVP_DigestUpdate(ctx, cipher, strlen(cipher)) == 1 &&
	    EVP_DigestUpdate(ctx, "|", 1) == 1 &&
	    EVP_DigestUpdate(ctx, enc, 32) == 1 && EVP_DigestUpdate(ctx, idx, 32) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, NULL) == 1);
	EVP_MD_CTX_free(ctx);
	yh_hex_encode(md, 8, out);
}

/* Writes a key file with fixed keys (not secret: test keys) for cipher i. */
static void
write_keyfile(int i)
{
	unsigned char enc[32], idx[32];
	char kid[17], enchex[65], idxhex[65], text[512];
	int fd, n;

	for (int k = 0; k < 32; k++) {
		enc[k] = (unsigned char)(0x10 + k + 0x40 * i);
		idx[k] = (unsigned char)(0xA0 ^ (k * 7 + i));
	}
	kid_of(ciphers[i], enc, idx, kid);
	yh_hex_encode(enc, 32, enchex);
	yh_hex_encode(idx, 32, idxhex);
	n = snprintf(text, sizeof(text), "yihao-vault-key v1\ncipher %s\nkid %s\nenc %s\nidx %s\n",
	    ciphers[i], kid, enchex, idxhex);
	CHECK(n > 0 && (size_t)n < sizeof(text));
	snprintf(paths[i], sizeof(paths[i]), "%s/vault-%d.key", dir, i);
	fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, text, (size_t)n) == n);
	CHECK(close(fd) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/yh_fuzz_vault_XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	atexit(cleanup);
	for (int i = 0; i < 2; i++) {
		write_keyfile(i);
		if (vault_open(paths[i], ciphers[i], false, &vaults[i], err, sizeof(err)) != 0)
			abort();
		/* the vault holds its keys: the file can go now, so that a run that crashes
		 * (libFuzzer then skips atexit) leaves nothing behind */
		(void)unlink(paths[i]);
		paths[i][0] = '\0';
	}
	(void)rmdir(dir);
	dir[0] = '\0';
	return 0;
}

/* A close change of character c: the next one in the base64url alphabet (which, on a
 * field's last character, may touch only padding bits: a lax decoder would then still
 * open the value), '-' for a dot, else one bit flipped. */
static char
nudge(char c)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = c != '\0' ? strchr(a, c) : NULL;

	if (p != NULL)
		return a[(p - a + 1) % 64];
	return c == '.' ? '-' : (char)(c ^ 1);
}

/* True for the positions tried by check_opened: all of a short value; else about 64
 * spread over it, and every character next to a dot or at the end. */
static bool
probe_at(const char *s, size_t n, size_t i)
{
	return n <= 128 || i % (n / 64) == 0 || i + 1 == n || s[i + 1] == '.' ||
	    (i > 0 && s[i - 1] == '.');
}

/* Checks a value that opened: text within the cap, and bound to its domain and key. */
static void
check_opened(struct vault *v, struct vault *other, const char *domain, const char *sealed,
    const char *pt)
{
	char *pt2 = NULL, *copy;
	size_t n = strlen(sealed);

	CHECK(pt != NULL && strlen(pt) <= VAULT_VALUE_MAX);
	CHECK(strncmp(sealed, "v1.", 3) == 0 && strncmp(sealed + 3, vault_kid(v), 16) == 0);
	/* another domain, the other key */
	CHECK(vault_open_value(v, strcmp(domain, "phone") ? "phone" : "idnum", sealed,
	    &pt2) != 0 && pt2 == NULL);
	CHECK(vault_open_value(other, domain, sealed, &pt2) != 0 && pt2 == NULL);
	/* single characters changed */
	CHECK((copy = strdup(sealed)) != NULL);
	for (size_t i = 0; i < n; i++) {
		char c = copy[i];

		if (!probe_at(sealed, n, i))
			continue;
		copy[i] = nudge(c);
		if (vault_open_value(v, domain, copy, &pt2) == 0)
			abort();         /* a tampered or re-encoded value opened */
		CHECK(pt2 == NULL);
		copy[i] = c;
	}
	free(copy);
}

static void
fuzz_open(struct vault *v, struct vault *other, const char *domain, const char *text)
{
	char *pt = NULL;
	int rc = vault_open_value(v, domain, text, &pt);

	if (rc == 0)
		check_opened(v, other, domain, text, pt);
	else
		CHECK(pt == NULL && rc != YH_ERR_ALLOC && rc != YH_ERR_CRYPTO &&
		    rc != YH_ERR_INTERNAL);
	yh_strfree_secret(pt);
}

static void
fuzz_seal(struct vault *v, struct vault *other, const char *domain, const char *text,
    size_t n)
{
	char *sealed = NULL, *pt = NULL, *pt2 = NULL;
	int rc = vault_seal(v, domain, text, n, &sealed);

	if (n > VAULT_VALUE_MAX) {
		CHECK(rc == YH_ERR_TOO_LONG && sealed == NULL);
		return;
	}
	/* Every valid domain ([a-z0-9_-]{1,32}) and every NUL-free text must seal. */
	if (rc != 0)
		abort();
	CHECK(sealed != NULL && strlen(sealed) <= VAULT_SEALED_MAX);
	CHECK(vault_open_value(v, domain, sealed, &pt) == 0);
	CHECK(strlen(pt) == n && memcmp(pt, text, n) == 0);
	CHECK(vault_open_value(other, domain, sealed, &pt2) == YH_ERR_KEY && pt2 == NULL);
	if (strcmp(domain, "name") != 0)
		CHECK(vault_open_value(v, "name", sealed, &pt2) == YH_ERR_AUTH && pt2 == NULL);
	yh_strfree_secret(pt);
	free(sealed);
}

static bool
domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > VAULT_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') ||
		    d[i] == '_' || d[i] == '-'))
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[INPUT_MAX + 1];
	struct vault *v, *other;
	const char *domain, *body;
	char *nl;
	size_t n;

	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	v = vaults[data[0] & 1];
	other = vaults[(data[0] & 1) ^ 1];
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (memchr(text, '\0', size - 1) != NULL)
		return 0;                     /* values and sealed strings are C strings */
	body = text;
	if (((data[0] >> 1) & 3) < 3)
		domain = domains[(data[0] >> 1) & 3];
	else {
		if ((nl = strchr(text, '\n')) == NULL)
			return 0;
		*nl = '\0';
		domain = text;
		body = nl + 1;
		if (!domain_ok(domain)) {
			char *pt = NULL, *sealed = NULL;

			CHECK(vault_open_value(v, domain, body, &pt) == YH_ERR_INVALID && !pt);
			CHECK(vault_seal(v, domain, body, strlen(body), &sealed) ==
			    YH_ERR_INVALID && sealed == NULL);
			return 0;
		}
	}
	n = strlen(body);
	if (data[0] & 0x80)
		fuzz_seal(v, other, domain, body, n);
	else
		fuzz_open(v, other, domain, body);
	return 0;
}
