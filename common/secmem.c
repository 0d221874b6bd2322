#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/mman.h>

#include "common/secmem.h"

void
yh_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
yh_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	yh_wipe(p, n);
	free(p);
}

void
yh_strfree_secret(char *s)
{
	if (s == NULL)
		return;
	yh_freezero(s, strlen(s));
}

bool
yh_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

bool
yh_ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb) {
		/* Compare a with itself so the time still depends on a's length only. */
		(void)CRYPTO_memcmp(a, a, la);
		return false;
	}
	return CRYPTO_memcmp(a, b, la) == 0;
}

/*
 * A thread's stock of random bytes. RAND_bytes costs the same fixed work for 16 bytes
 * as for 4 KiB (a lock, a fork check by getpid, the CTR DRBG's key schedule and update),
 * and the token endpoint asks for 16 bytes per grant. So small requests are served from
 * a page that one RAND_bytes call fills: each byte is handed out once and wiped from the
 * page as it goes. The page is marked MADV_WIPEONFORK, so a child process (keyd) starts
 * with an empty stock and never hands out bytes its parent will also hand out (an atfork
 * handler empties the forking thread's stock too, should the kernel ignore the mark);
 * where the mark cannot be set, requests go to RAND_bytes directly. MADV_DONTDUMP keeps
 * the stock out of core dumps.
 */
#define STOCK_PAGE 4096
#define STOCK_TAKE_MAX 64        /* larger requests go to RAND_bytes directly */

struct rand_stock {
	size_t left;                 /* unused bytes, at the end of b */
	unsigned char b[STOCK_PAGE - sizeof(size_t)];
};
_Static_assert(sizeof(struct rand_stock) == STOCK_PAGE, "the stock is one page");

static pthread_key_t stock_key;
static bool stock_key_ok;
static pthread_once_t stock_once = PTHREAD_ONCE_INIT;
static __thread struct rand_stock *stock;
static __thread bool stock_none;     /* this thread could not have one */

/* The key's destructor, on the exiting thread: a later draw there (another key's
 * destructor) goes to RAND_bytes. */
static void
stock_free(void *p)
{
	stock = NULL;
	stock_none = true;
	yh_wipe(p, sizeof(struct rand_stock));
	munmap(p, sizeof(struct rand_stock));
}

/* In a child, on the thread that forked: its stock is emptied even where the kernel
 * did not honour MADV_WIPEONFORK (the other threads' pages are never used there). */
static void
stock_after_fork(void)
{
	if (stock != NULL)
		yh_wipe(stock, sizeof(*stock));   /* left too: the stock is empty */
}

static void
stock_key_make(void)
{
	stock_key_ok = pthread_key_create(&stock_key, stock_free) == 0 &&
	    pthread_atfork(NULL, NULL, stock_after_fork) == 0;
}

/* This thread's stock, mapped on first use; NULL where it cannot be had. */
static struct rand_stock *
stock_get(void)
{
	void *p;

	if (stock != NULL || stock_none)
		return stock;
	stock_none = true;
	(void)pthread_once(&stock_once, stock_key_make);
	if (!stock_key_ok)
		return NULL;
	p = mmap(NULL, sizeof(struct rand_stock), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, sizeof(struct rand_stock), MADV_WIPEONFORK) != 0 ||
	    pthread_setspecific(stock_key, p) != 0) {
		munmap(p, sizeof(struct rand_stock));
		return NULL;
	}
	(void)madvise(p, sizeof(struct rand_stock), MADV_DONTDUMP);   /* kept from core dumps */
	stock_none = false;
	return stock = p;
}

int
yh_random(void *buf, size_t n)
{
	struct rand_stock *s;
	unsigned char *from;

	if (n > (size_t)0x7fffffff)
		return YH_ERR_TOO_LONG;
	if (n > STOCK_TAKE_MAX || (s = stock_get()) == NULL)
		return RAND_bytes(buf, (int)n) == 1 ? 0 : YH_ERR_CRYPTO;
	if (s->left < n) {
		if (RAND_bytes(s->b, (int)sizeof(s->b)) != 1) {
			yh_wipe(s->b, sizeof(s->b));
			s->left = 0;
			return YH_ERR_CRYPTO;
		}
		s->left = sizeof(s->b);
	}
	from = s->b + sizeof(s->b) - s->left;
	memcpy(buf, from, n);
	yh_wipe(from, n);
	s->left -= n;
	return 0;
}

void
yh_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
yh_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
yh_hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen)
{
	if (hexlen != 2 * outlen)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < outlen; i++) {
		int hi = yh_hex_digit(hex[2 * i]), lo = yh_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return YH_ERR_INVALID;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
