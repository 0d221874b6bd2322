/*
 * libFuzzer target for the JWK and JWK Set parsers (token/jwk.c). Whatever imports must
 * export and re-import to a key with the same thumbprint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token/jose_alg.h"
#include "token/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Exports key (private members when it has them), re-imports, compares thumbprints. */
static void
round_trip(const struct tok_key *key)
{
	char tp1[TOK_THUMBPRINT_LEN + 1], tp2[TOK_THUMBPRINT_LEN + 1];
	struct tok_key *back = NULL;
	json_t *j = NULL;

	if (tok_jwk_thumbprint(key, tp1) != 0)
		abort();
	if (tok_jwk_export(key, tok_key_is_private(key), &j) != 0)
		abort();
	if (tok_jwk_import(j, &back) != 0)
		abort();
	if (tok_jwk_thumbprint(back, tp2) != 0 || strcmp(tp1, tp2) != 0 ||
	    strcmp(tok_key_kid(key), tok_key_kid(back)) != 0 ||
	    tok_key_alg(key) != tok_key_alg(back) ||
	    tok_key_is_private(key) != tok_key_is_private(back))
		abort();
	tok_key_free(back);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tok_key *key = NULL;
	struct tok_keyset set;
	char *s = NULL;

	if (tok_jwk_parse((const char *)data, size, &key) == 0) {
		round_trip(key);
		tok_key_free(key);
	}
	tok_keyset_init(&set);
	if (tok_jwks_parse((const char *)data, size, 0, &set) == 0) {
		struct tok_keyset again;
		size_t n = set.n;

		for (size_t i = 0; i < set.n; i++)
			round_trip(set.keys[i]);
		tok_keyset_init(&again);
		if (tok_jwks_export_string(&set, &s) != 0 ||
		    tok_jwks_parse(s, strlen(s), TOK_JWKS_STRICT, &again) != 0 || again.n != n)
			abort();
		tok_keyset_clear(&again);
		free(s);
	}
	tok_keyset_clear(&set);
	return 0;
}
