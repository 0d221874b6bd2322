/*
 * Unit tests for identity/vault: key file creation and checks, sealing and opening with
 * both ciphers, tamper and wrong-key detection, the blind index.
 *
 * The known-answer vectors (KAT_*) were made with python3 `cryptography` 48 and
 * hashlib/hmac, independently of OpenSSL's EVP code paths used here:
 *   enc = bytes(range(0, 32)), idx = bytes(range(32, 64))
 *   kid = sha256(b"yihao-vault-kid-v1|" + cipher + b"|" + enc + idx)[:8].hex()
 *   aad = b"yihao-vault.v1." + kid + b".idnum"
 *   aes-256-gcm: AESGCM(enc).encrypt(bytes(range(100, 112)), pt, aad)
 *   sm4-gcm:     k  = HKDF(SM3, 16, salt=None, info=b"yihao-vault sm4-ctr key v1")(enc)
 *                mk = HKDF(SM3, 32, salt=None, info=b"yihao-vault hmac-sm3 key v1")(enc)
 *                iv = bytes(range(100, 116)); ct = SM4-CTR(k, iv, pt)
 *                tag = HMAC-SM3(mk, len(aad).to_bytes(8, "big") + aad + iv + ct)
 *   blind = HMAC-SHA256 / HMAC-SM3 (idx, b"idnum:" + pt)
 * with pt = b"110101199003070011" and base64url without padding.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/secmem.h"
#include "identity/vault/vault.h"

#define IDN "110101199003070011"
#define KEY_ENC "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_IDX "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define KAT_AES_KID "423967423b3eece1"
#define KAT_AES_SEALED "v1.423967423b3eece1.ZGVmZ2hpamtsbW5v." \
	"eSruV0nYZ6cHUm_b6lJazXPzLw7O_jKNXlB3MHR1l9Hp2w"
#define KAT_AES_BLIND "2a82cbbe3417d2ff56d6dbdf7916479aa7f0b7f4025bd0180b59b15e0189e949"
#define KAT_SM4_KID "66cc2a214f841396"
#define KAT_SM4_SEALED "v1.66cc2a214f841396.ZGVmZ2hpamtsbW5vcHFycw." \
	"3PqKCp9ZyUCCKhiJnHXs1Cucy-RpxqmCl-T_UsYlINabkH1eZEmu8D2Rw2rzqEUZ-r4"
#define KAT_SM4_BLIND "061084d1ff5050f576550e0bf95641f42b45a21c60c3131e2f33736c586fe248"

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/yh-test-vault-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[600];

	(void)state;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	return rmdir(tmpdir);
}

static void
path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *
read_file(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void
write_kat_keyfile(const char *path, const char *cipher, const char *kid)
{
	char text[512];

	snprintf(text, sizeof(text), "# test\nyihao-vault-key v1\ncipher %s\nkid %s\nenc "
	    KEY_ENC "\nidx " KEY_IDX "\n", cipher, kid);
	write_file(path, text, 0600);
}

static struct vault *
open_ok(const char *path, const char *cipher, bool create)
{
	struct vault *v = NULL;
	char err[512];

	assert_int_equal(vault_open(path, cipher, create, &v, err, sizeof(err)), 0);
	assert_non_null(v);
	assert_string_equal(err, "");
	return v;
}

static void
expect_open_error(const char *path, const char *cipher, bool create, int code,
    const char *words)
{
	struct vault *v = (struct vault *)1;
	char err[512];

	assert_int_equal(vault_open(path, cipher, create, &v, err, sizeof(err)), code);
	assert_null(v);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, words));
}

static void
test_create_mode_and_format(void **state)
{
	char path[300];
	struct vault *v;
	struct stat st;
	mode_t old;
	char *text;

	(void)state;
	path_of(path, sizeof(path), "created.key");
	old = umask(0);      /* the file must still come out 0600 */
	v = open_ok(path, NULL, true);
	umask(old);
	assert_string_equal(vault_cipher(v), VAULT_CIPHER_AES);
	assert_int_equal(strlen(vault_kid(v)), VAULT_KID_LEN);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = read_file(path);
	assert_non_null(strstr(text, "\nyihao-vault-key v1\ncipher aes-256-gcm\nkid "));
	assert_non_null(strstr(text, vault_kid(v)));
	vault_close(v);

	/* Opening again (create or not) reads the same key, never replaces it. */
	v = open_ok(path, VAULT_CIPHER_AES, true);
	assert_non_null(strstr(read_file(path), vault_kid(v)));
	vault_close(v);

	/* No temporary file left behind. */
	{
		DIR *d = opendir(tmpdir);
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			assert_null(strstr(e->d_name, ".tmp-"));
		closedir(d);
	}
	vault_close(NULL);
}

static void
roundtrip(const char *cipher, const char *file)
{
	char path[300], blind[VAULT_BLIND_HEX_LEN + 1], blind2[VAULT_BLIND_HEX_LEN + 1];
	char big[VAULT_VALUE_MAX + 2], prefix[32];
	struct vault *v;
	char *s1 = NULL, *s2 = NULL, *pt = NULL;

	path_of(path, sizeof(path), file);
	v = open_ok(path, cipher, true);
	assert_string_equal(vault_cipher(v), cipher);
	assert_int_equal(vault_seal(v, VAULT_DOMAIN_IDNUM, IDN, strlen(IDN), &s1), 0);
	assert_int_equal(vault_seal(v, VAULT_DOMAIN_IDNUM, IDN, strlen(IDN), &s2), 0);
	assert_string_not_equal(s1, s2);   /* fresh nonce */
	snprintf(prefix, sizeof(prefix), "v1.%s.", vault_kid(v));
	assert_true(strncmp(s1, prefix, strlen(prefix)) == 0);
	assert_null(strstr(s1, IDN));
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_IDNUM, s1, &pt), 0);
	assert_string_equal(pt, IDN);
	yh_strfree_secret(pt);
	/* Another domain does not open it. */
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_PHONE, s1, &pt), YH_ERR_AUTH);
	assert_null(pt);
	assert_int_equal(vault_blind(v, VAULT_DOMAIN_IDNUM, IDN, blind), 0);
	vault_close(v);
	free(s2);
	s2 = NULL;

	/* Reopened from the file: same key, same blind index, old values open. */
	v = open_ok(path, NULL, false);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_IDNUM, s1, &pt), 0);
	assert_string_equal(pt, IDN);
	yh_strfree_secret(pt);
	assert_int_equal(vault_blind(v, VAULT_DOMAIN_IDNUM, IDN, blind2), 0);
	assert_string_equal(blind, blind2);

	/* Empty and maximal values; over-long and NUL-containing values refused. */
	assert_int_equal(vault_seal(v, VAULT_DOMAIN_PHONE, "", 0, &s2), 0);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_PHONE, s2, &pt), 0);
	assert_string_equal(pt, "");
	yh_strfree_secret(pt);
	free(s2);
	memset(big, 'z', sizeof(big));
	big[VAULT_VALUE_MAX] = '\0';
	assert_int_equal(vault_seal(v, VAULT_DOMAIN_NAME, big, VAULT_VALUE_MAX, &s2), 0);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_NAME, s2, &pt), 0);
	assert_string_equal(pt, big);
	yh_strfree_secret(pt);
	free(s2);
	assert_int_equal(vault_seal(v, VAULT_DOMAIN_NAME, big, VAULT_VALUE_MAX + 1, &s2),
	    YH_ERR_TOO_LONG);
	assert_null(s2);
	assert_int_equal(vault_seal(v, VAULT_DOMAIN_NAME, "a\0b", 3, &s2), YH_ERR_INVALID);
	assert_int_equal(vault_seal(v, "ID.NUM", "a", 1, &s2), YH_ERR_INVALID);
	assert_int_equal(vault_seal(v, "", "a", 1, &s2), YH_ERR_INVALID);
	assert_int_equal(vault_seal(v, "idnum:x", "a", 1, &s2), YH_ERR_INVALID);
	free(s1);
	vault_close(v);
}

static void
test_roundtrip_aes(void **state)
{
	(void)state;
	roundtrip(VAULT_CIPHER_AES, "aes.key");
}

static void
test_roundtrip_sm4(void **state)
{
	(void)state;
	roundtrip(VAULT_CIPHER_SM4, "sm4.key");
}

/* The longest domain the header allows (found by fuzz_vault: the AAD buffer was short). */
static void
test_domain_max_len(void **state)
{
	static const char *const ciphers[] = { VAULT_CIPHER_AES, VAULT_CIPHER_SM4 };
	const char *domain = "abcdefghijklmnopqrstuvwxyz012345";
	char path[300], *sealed, *pt;

	(void)state;
	assert_int_equal(strlen(domain), VAULT_DOMAIN_MAX);
	for (size_t i = 0; i < 2; i++) {
		struct vault *v;

		path_of(path, sizeof(path), i ? "dmax-sm4.key" : "dmax-aes.key");
		v = open_ok(path, ciphers[i], true);
		assert_int_equal(vault_seal(v, domain, "x", 1, &sealed), 0);
		assert_int_equal(vault_open_value(v, domain, sealed, &pt), 0);
		assert_string_equal(pt, "x");
		yh_strfree_secret(pt);
		free(sealed);
		vault_close(v);
	}
}

/* Every single-character change of a sealed string fails to open; a change in the
 * middle of the ciphertext is an authentication failure. */
static void
tamper(const char *cipher, const char *file)
{
	char path[300];
	struct vault *v;
	char *s = NULL, *pt = NULL, *copy;
	size_t n, body;
	int rc;

	path_of(path, sizeof(path), file);
	v = open_ok(path, cipher, true);
	assert_int_equal(vault_seal(v, VAULT_DOMAIN_PHONE, "13800138000", 11, &s), 0);
	n = strlen(s);
	copy = strdup(s);
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, s, n + 1);
		copy[i] = copy[i] == 'A' ? 'B' : 'A';
		rc = vault_open_value(v, VAULT_DOMAIN_PHONE, copy, &pt);
		assert_true(rc == YH_ERR_AUTH || rc == YH_ERR_INVALID || rc == YH_ERR_KEY);
		assert_null(pt);
	}
	body = (size_t)(strrchr(s, '.') - s) + 1;
	memcpy(copy, s, n + 1);
	copy[body + 4] = copy[body + 4] == 'A' ? 'B' : 'A';
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_PHONE, copy, &pt), YH_ERR_AUTH);
	/* Truncated and extended strings. */
	memcpy(copy, s, n + 1);
	copy[n - 4] = '\0';
	rc = vault_open_value(v, VAULT_DOMAIN_PHONE, copy, &pt);
	assert_true(rc == YH_ERR_AUTH || rc == YH_ERR_INVALID);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_PHONE, "v1", &pt), YH_ERR_INVALID);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_PHONE, "", &pt), YH_ERR_INVALID);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_PHONE, "13800138000", &pt),
	    YH_ERR_INVALID);
	free(copy);
	free(s);
	vault_close(v);
}

static void
test_tamper_aes(void **state)
{
	(void)state;
	tamper(VAULT_CIPHER_AES, "tamper-aes.key");
}

static void
test_tamper_sm4(void **state)
{
	(void)state;
	tamper(VAULT_CIPHER_SM4, "tamper-sm4.key");
}

/* A value sealed under one key: another key file gives YH_ERR_KEY (other kid), and
 * with the kid forged to match, YH_ERR_AUTH. */
static void
test_wrong_key(void **state)
{
	static const char *const ciphers[] = { VAULT_CIPHER_AES, VAULT_CIPHER_SM4 };
	char p1[300], p2[300], forged[512];
	struct vault *v1, *v2;
	char *s = NULL, *pt = NULL;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		path_of(p1, sizeof(p1), i == 0 ? "k1-aes.key" : "k1-sm4.key");
		path_of(p2, sizeof(p2), i == 0 ? "k2-aes.key" : "k2-sm4.key");
		v1 = open_ok(p1, ciphers[i], true);
		v2 = open_ok(p2, ciphers[i], true);
		assert_string_not_equal(vault_kid(v1), vault_kid(v2));
		assert_int_equal(vault_seal(v1, VAULT_DOMAIN_IDNUM, IDN, strlen(IDN), &s), 0);
		assert_int_equal(vault_open_value(v2, VAULT_DOMAIN_IDNUM, s, &pt), YH_ERR_KEY);
		assert_null(pt);
		snprintf(forged, sizeof(forged), "v1.%s%s", vault_kid(v2), s + 3 + VAULT_KID_LEN);
		assert_int_equal(vault_open_value(v2, VAULT_DOMAIN_IDNUM, forged, &pt),
		    YH_ERR_AUTH);
		assert_null(pt);
		free(s);
		s = NULL;
		vault_close(v1);
		vault_close(v2);
	}
}

static void
test_known_answers(void **state)
{
	char path[300], blind[VAULT_BLIND_HEX_LEN + 1];
	struct vault *v;
	char *pt = NULL;

	(void)state;
	path_of(path, sizeof(path), "kat-aes.key");
	write_kat_keyfile(path, VAULT_CIPHER_AES, KAT_AES_KID);
	v = open_ok(path, VAULT_CIPHER_AES, false);
	assert_string_equal(vault_kid(v), KAT_AES_KID);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_IDNUM, KAT_AES_SEALED, &pt), 0);
	assert_string_equal(pt, IDN);
	yh_strfree_secret(pt);
	assert_int_equal(vault_blind(v, VAULT_DOMAIN_IDNUM, IDN, blind), 0);
	assert_string_equal(blind, KAT_AES_BLIND);
	vault_close(v);

	path_of(path, sizeof(path), "kat-sm4.key");
	write_kat_keyfile(path, VAULT_CIPHER_SM4, KAT_SM4_KID);
	v = open_ok(path, NULL, false);
	assert_string_equal(vault_cipher(v), VAULT_CIPHER_SM4);
	assert_int_equal(vault_open_value(v, VAULT_DOMAIN_IDNUM, KAT_SM4_SEALED, &pt), 0);
	assert_string_equal(pt, IDN);
	yh_strfree_secret(pt);
	assert_int_equal(vault_blind(v, VAULT_DOMAIN_IDNUM, IDN, blind), 0);
	assert_string_equal(blind, KAT_SM4_BLIND);
	vault_close(v);
}

static void
test_blind_index(void **state)
{
	char p1[300], p2[300];
	char a[VAULT_BLIND_HEX_LEN + 1], b[VAULT_BLIND_HEX_LEN + 1];
	char c[VAULT_BLIND_HEX_LEN + 1], d[VAULT_BLIND_HEX_LEN + 1];
	struct vault *v1, *v2;

	(void)state;
	path_of(p1, sizeof(p1), "blind1.key");
	path_of(p2, sizeof(p2), "blind2.key");
	v1 = open_ok(p1, NULL, true);
	v2 = open_ok(p2, NULL, true);
	assert_int_equal(vault_blind(v1, VAULT_DOMAIN_IDNUM, IDN, a), 0);
	assert_int_equal(vault_blind(v1, VAULT_DOMAIN_IDNUM, IDN, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), VAULT_BLIND_HEX_LEN);
	for (size_t i = 0; i < VAULT_BLIND_HEX_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_int_equal(vault_blind(v1, VAULT_DOMAIN_PHONE, IDN, c), 0);
	assert_string_not_equal(a, c);
	assert_int_equal(vault_blind(v2, VAULT_DOMAIN_IDNUM, IDN, d), 0);
	assert_string_not_equal(a, d);
	assert_int_equal(vault_blind(v1, VAULT_DOMAIN_IDNUM, "110101199003070012", c), 0);
	assert_string_not_equal(a, c);
	assert_int_equal(vault_blind(v1, "bad domain", IDN, c), YH_ERR_INVALID);
	assert_string_equal(c, "");
	assert_int_equal(vault_blind(v1, VAULT_DOMAIN_IDNUM, NULL, c), YH_ERR_INVALID);
	vault_close(v1);
	vault_close(v2);
}

static void
test_missing_file(void **state)
{
	char path[300];
	struct stat st;

	(void)state;
	path_of(path, sizeof(path), "missing.key");
	expect_open_error(path, NULL, false, YH_ERR_KEY, "does not exist");
	assert_int_equal(stat(path, &st), -1);
	path_of(path, sizeof(path), "no-such-dir/vault.key");
	expect_open_error(path, NULL, true, YH_ERR_IO, "cannot create");
}

static void
test_unsafe_permissions(void **state)
{
	static const mode_t modes[] = { 0640, 0604, 0660, 0602 };
	char path[300];
	struct vault *v;

	(void)state;
	path_of(path, sizeof(path), "perm.key");
	v = open_ok(path, NULL, true);
	vault_close(v);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(path, modes[i]), 0);
		expect_open_error(path, NULL, false, YH_ERR_PERM, "unsafe permissions");
		/* create_if_missing never replaces it either. */
		expect_open_error(path, NULL, true, YH_ERR_PERM, "unsafe permissions");
	}
	assert_int_equal(chmod(path, 0400), 0);
	v = open_ok(path, NULL, false);
	vault_close(v);
}

static void
test_corrupted_files(void **state)
{
	char path[300], good[1024], text[2200];
	char *p;
	struct vault *v;

	(void)state;
	path_of(path, sizeof(path), "corrupt.key");
	v = open_ok(path, NULL, true);
	vault_close(v);
	assert_true((size_t)snprintf(good, sizeof(good), "%s", read_file(path)) < sizeof(good));

	/* Truncated in the middle of the idx line, and at every earlier line end. */
	snprintf(text, sizeof(text), "%s", good);
	text[strlen(text) - 10] = '\0';
	write_file(path, text, 0600);
	expect_open_error(path, NULL, true, YH_ERR_KEY, "truncated");
	snprintf(text, sizeof(text), "%s", good);
	*strstr(text, "idx ") = '\0';
	write_file(path, text, 0600);
	expect_open_error(path, NULL, true, YH_ERR_KEY, "missing");
	write_file(path, "", 0600);
	expect_open_error(path, NULL, true, YH_ERR_KEY, "truncated");

	/* One flipped hex digit in the encryption key: the kid no longer matches. */
	snprintf(text, sizeof(text), "%s", good);
	p = strstr(text, "enc ") + 10;
	*p = *p == '0' ? '1' : '0';
	write_file(path, text, 0600);
	expect_open_error(path, NULL, false, YH_ERR_KEY, "corrupted");

	/* Bad header, unknown version, unknown line, repeated line, short key. */
	snprintf(text, sizeof(text), "%s", good);
	p = strstr(text, "key v1");
	p[5] = '2';
	write_file(path, text, 0600);
	expect_open_error(path, NULL, false, YH_ERR_KEY, "version");
	snprintf(text, sizeof(text), "%sextra line\n", good);
	write_file(path, text, 0600);
	expect_open_error(path, NULL, false, YH_ERR_KEY, "unknown");
	snprintf(text, sizeof(text), "%s%s", good, strstr(good, "kid "));
	write_file(path, text, 0600);
	expect_open_error(path, NULL, false, YH_ERR_KEY, "repeated");
	snprintf(text, sizeof(text), "%s", good);
	p = strstr(text, "idx ") + 4;
	memmove(p, p + 2, strlen(p + 2) + 1);
	write_file(path, text, 0600);
	expect_open_error(path, NULL, false, YH_ERR_KEY, "idx");
	write_file(path, "binary\0junk", 0600);
	expect_open_error(path, NULL, false, YH_ERR_KEY, "");

	/* The original content still works. */
	write_file(path, good, 0600);
	v = open_ok(path, NULL, false);
	vault_close(v);
}

static void
test_cipher_mismatch(void **state)
{
	char path[300];
	struct vault *v = (struct vault *)1;
	char err[256];

	(void)state;
	path_of(path, sizeof(path), "mismatch.key");
	vault_close(open_ok(path, VAULT_CIPHER_AES, true));
	expect_open_error(path, VAULT_CIPHER_SM4, true, YH_ERR_CONFIG, "sm4-gcm");
	expect_open_error(path, VAULT_CIPHER_SM4, false, YH_ERR_CONFIG, "aes-256-gcm");
	assert_int_equal(vault_open(path, "des", false, &v, err, sizeof(err)), YH_ERR_CONFIG);
	assert_null(v);
	assert_non_null(strstr(err, "unknown cipher"));
	/* err may be NULL. */
	assert_int_equal(vault_open(path, "des", false, &v, NULL, 0), YH_ERR_CONFIG);
}

static void
test_symlink_refused(void **state)
{
	char path[300], link_path[300];
	struct vault *v = NULL;

	(void)state;
	path_of(path, sizeof(path), "real.key");
	path_of(link_path, sizeof(link_path), "link.key");
	vault_close(open_ok(path, NULL, true));
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_not_equal(vault_open(link_path, NULL, false, &v, NULL, 0), 0);
	assert_null(v);
}

struct worker {
	struct vault *v;
	int failures;
};

/* A vault held elsewhere (vault_new_remote): each operation reaches the holder's vault
 * through the ops, and bad arguments never leave this side. */
struct holder {
	struct vault *v;
	int calls;
};

static int
h_seal(void *ctx, const char *domain, const void *pt, size_t n, char **out)
{
	struct holder *h = ctx;

	h->calls++;
	return vault_seal(h->v, domain, pt, n, out);
}

static int
h_open(void *ctx, const char *domain, const char *sealed, char **out)
{
	struct holder *h = ctx;

	h->calls++;
	return vault_open_value(h->v, domain, sealed, out);
}

static int
h_blind(void *ctx, const char *domain, const char *value, char out[VAULT_BLIND_HEX_LEN + 1])
{
	struct holder *h = ctx;

	h->calls++;
	return vault_blind(h->v, domain, value, out);
}

static void
test_remote_ops(void **state)
{
	static const struct vault_ops ops = { h_seal, h_open, h_blind };
	char p[300], a[VAULT_BLIND_HEX_LEN + 1], b[VAULT_BLIND_HEX_LEN + 1], big[VAULT_SEALED_MAX + 2];
	struct holder h = { 0 };
	struct vault *r = NULL;
	char *sealed = NULL, *pt = NULL;

	(void)state;
	path_of(p, sizeof(p), "remote.key");
	h.v = open_ok(p, VAULT_CIPHER_SM4, true);
	assert_int_equal(vault_new_remote(&ops, &h, "rot13", vault_kid(h.v), &r), YH_ERR_INVALID);
	assert_int_equal(vault_new_remote(&ops, &h, VAULT_CIPHER_SM4, "xyz", &r), YH_ERR_INVALID);
	assert_int_equal(vault_new_remote(&ops, &h, VAULT_CIPHER_SM4, vault_kid(h.v), &r), 0);
	assert_string_equal(vault_cipher(r), VAULT_CIPHER_SM4);
	assert_string_equal(vault_kid(r), vault_kid(h.v));
	/* sealed on one side, opened on the other */
	assert_int_equal(vault_seal(r, VAULT_DOMAIN_IDNUM, IDN, strlen(IDN), &sealed), 0);
	assert_int_equal(vault_open_value(h.v, VAULT_DOMAIN_IDNUM, sealed, &pt), 0);
	assert_string_equal(pt, IDN);
	yh_strfree_secret(pt);
	assert_int_equal(vault_open_value(r, VAULT_DOMAIN_PHONE, sealed, &pt), YH_ERR_AUTH);
	assert_null(pt);
	free(sealed);
	assert_int_equal(vault_blind(r, VAULT_DOMAIN_IDNUM, IDN, a), 0);
	assert_int_equal(vault_blind(h.v, VAULT_DOMAIN_IDNUM, IDN, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(h.calls, 3);
	/* refused here, never asked */
	assert_int_equal(vault_seal(r, "Bad Domain", IDN, strlen(IDN), &sealed), YH_ERR_INVALID);
	assert_int_equal(vault_seal(r, VAULT_DOMAIN_IDNUM, "a\0b", 3, &sealed), YH_ERR_INVALID);
	assert_int_equal(vault_blind(r, VAULT_DOMAIN_IDNUM, NULL, a), YH_ERR_INVALID);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vault_open_value(r, VAULT_DOMAIN_IDNUM, big, &pt), YH_ERR_TOO_LONG);
	assert_int_equal(h.calls, 3);
	vault_close(r);
	vault_close(h.v);
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char val[32], blind[VAULT_BLIND_HEX_LEN + 1];
	char *s = NULL, *pt = NULL;

	for (int i = 0; i < 200; i++) {
		snprintf(val, sizeof(val), "1380013%04d", i);
		if (vault_seal(w->v, VAULT_DOMAIN_PHONE, val, strlen(val), &s) != 0 ||
		    vault_open_value(w->v, VAULT_DOMAIN_PHONE, s, &pt) != 0 ||
		    strcmp(pt, val) != 0 ||
		    vault_blind(w->v, VAULT_DOMAIN_PHONE, val, blind) != 0)
			w->failures++;
		free(s);
		yh_strfree_secret(pt);
		s = pt = NULL;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	static const char *const ciphers[] = { VAULT_CIPHER_AES, VAULT_CIPHER_SM4 };
	char path[300];
	pthread_t th[4];
	struct worker w[4];

	(void)state;
	for (size_t c = 0; c < 2; c++) {
		path_of(path, sizeof(path), c == 0 ? "threads-aes.key" : "threads-sm4.key");
		struct vault *v = open_ok(path, ciphers[c], true);
		for (int i = 0; i < 4; i++) {
			w[i].v = v;
			w[i].failures = 0;
			assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
		}
		for (int i = 0; i < 4; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(w[i].failures, 0);
		}
		vault_close(v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_mode_and_format),
		cmocka_unit_test(test_roundtrip_aes),
		cmocka_unit_test(test_roundtrip_sm4),
		cmocka_unit_test(test_domain_max_len),
		cmocka_unit_test(test_tamper_aes),
		cmocka_unit_test(test_tamper_sm4),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_blind_index),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unsafe_permissions),
		cmocka_unit_test(test_corrupted_files),
		cmocka_unit_test(test_cipher_mismatch),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_remote_ops),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
