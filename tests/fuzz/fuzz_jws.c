/*
 * libFuzzer target for the JWS compact parser and verifier (token/jws.c) and the
 * r||s <-> DER converters (token/jose_alg.c). The key set is fixed (RFC example keys and
 * one SM2 key), so seed tokens signed with those keys reach every branch.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token/jose_alg.h"
#include "token/jwk.h"
#include "token/jws.h"

static const char jwks[] = "{\"keys\":["
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
    "{\"kty\":\"EC\",\"crv\":\"SM2\",\"kid\":\"sm2\","
    "\"x\":\"3QrBphCQ6hKMXTrzZn3SUeSe7-XLZoeu3DPPVW4MmjE\","
    "\"y\":\"R0Gc9OwTSoa7-bbeh9ZvZ3cu1cBM2Oxa-Y1PkrCtX_c\"},"
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":\""
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGj"
    "QR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    "\"}]}";

static struct tok_keyset set;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct tok_jws jws;
	unsigned char raw[64], *der = NULL;
	size_t rawlen = 0, derlen = 0;
	enum tok_alg alg;

	if (!ready) {
		if (tok_jwks_parse(jwks, strlen(jwks), TOK_JWKS_STRICT, &set) != 0 || set.n != 4)
			abort();
		ready = 1;
	}
	if (tok_jws_verify((const char *)data, size, &set, TOK_ALGSET_ALL, &jws) == 0) {
		/* A verified token: its parts must be consistent. */
		if (jws.header == NULL || jws.key == NULL || jws.payload == NULL ||
		    jws.payload_len > size || jws.payload[jws.payload_len] != '\0' ||
		    !tok_key_can_alg(jws.key, jws.alg))
			abort();
	}
	tok_jws_clear(&jws);
	/* Only one algorithm allowed: a success must be of that algorithm. */
	if (size > 0) {
		enum tok_alg only = (enum tok_alg)(1 + data[0] % (TOK_ALG_COUNT - 1));

		if (tok_jws_verify((const char *)data, size, &set, TOK_ALGSET(only), &jws) == 0 &&
		    jws.alg != only)
			abort();
		tok_jws_clear(&jws);
	}
	/* DER -> raw -> DER must give the same bytes back (DER is canonical). */
	if (tok_sig_der_to_raw(TOK_ALG_ES256, data, size, raw, sizeof(raw), &rawlen) == 0) {
		if (tok_sig_raw_to_der(TOK_ALG_ES256, raw, rawlen, &der, &derlen) != 0 ||
		    derlen != size || memcmp(der, data, size) != 0)
			abort();
		free(der);
	}
	(void)tok_alg_from_mem((const char *)data, size, &alg);
	return 0;
}
