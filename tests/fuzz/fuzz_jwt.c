/*
 * libFuzzer target for the JWT claims rules (token/jwt.c: tok_claims_check, and
 * tok_jwt_verify, which runs them after the signature): what authd applies to client
 * assertions (private_key_jwt), access tokens at /userinfo and id_token_hint at logout
 * once their signature verified. fuzz_jws covers the signature layer; here the claims
 * set itself is the input.
 *
 * Input: byte 0 picks the kind (bits 0-1: JWT, ID, ACCESS, LOGOUT), whether the first
 * line of the rest is the header's typ (bit 2), whether a nonce is expected (bit 3), and
 * bit 4 also signs the claims with a fixed Ed25519 key and verifies the token. The rest
 * (after the typ line) is the claims JSON.
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - the answer is 0, YH_ERR_INVALID, YH_ERR_EXPIRED or YH_ERR_DENIED, with a reason
 *     (the check itself is well formed, so never YH_ERR_INTERNAL);
 *   - accepted claims meet the documented rules: the typ fits the kind; iss is ours and
 *     aud is ours or an array holding it (ID, ACCESS, LOGOUT); an integer exp, nbf and
 *     iat lie within the window now - leeway < exp, nbf <= now + leeway, iat <= now +
 *     leeway; an expected nonce is the one in the token;
 *   - a wider leeway only accepts more: accepted with none, accepted with 60 s;
 *   - a token signed over the claims verifies exactly when the claims pass, with the
 *     same answer, and gives back the claims it was signed over.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"

#include "common/log.h"
#include "token/jose_alg.h"
#include "token/jwk.h"
#include "token/jwt.h"

#define INPUT_MAX 8192
#define ISS "https://id.example.gov.cn"
#define AUD "portal"
#define NONCE "n-0S6_WzA2Mj"
#define NOW 1700000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8037 appendix A.1 (a published test key). */
static const char ed_private[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
    "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char ed_public[] = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";

static struct tok_key *signer;
static struct tok_keyset verifiers;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	CHECK(tok_jwk_parse(ed_private, strlen(ed_private), &signer) == 0);
	tok_keyset_init(&verifiers);
	CHECK(tok_jwks_parse(ed_public, strlen(ed_public), TOK_JWKS_STRICT, &verifiers) == 0);
	return 0;
}

static bool
typ_is(const char *typ, const char *want)
{
	if (typ == NULL)
		return false;
	if (strncasecmp(typ, "application/", 12) == 0)
		typ += 12;
	return strcasecmp(typ, want) == 0;
}

static bool
aud_ok(const json_t *aud)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), AUD) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), AUD) == 0)
			return true;
	return false;
}

/* Accepted claims meet the rules of their kind. */
static void
check_accepted(const json_t *c, const char *typ, const struct tok_check *chk)
{
	const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
	const json_t *iat = json_object_get(c, "iat");
	int64_t L = chk->leeway;

	switch (chk->kind) {
	case TOK_KIND_ID:
		CHECK(typ == NULL || typ_is(typ, "JWT"));
		break;
	case TOK_KIND_ACCESS:
		CHECK(typ_is(typ, "at+jwt"));
		break;
	case TOK_KIND_LOGOUT:
		CHECK(typ_is(typ, "logout+jwt"));
		break;
	default:
		break;
	}
	if (chk->kind != TOK_KIND_JWT) {
		CHECK(json_is_string(json_object_get(c, "iss")) &&
		    strcmp(json_string_value(json_object_get(c, "iss")), ISS) == 0);
		CHECK(aud_ok(json_object_get(c, "aud")));
		CHECK(exp != NULL && iat != NULL);
	}
	if (json_is_integer(exp))
		CHECK(NOW - L < json_integer_value(exp));
	if (json_is_integer(nbf))
		CHECK(json_integer_value(nbf) <= NOW + L);
	if (json_is_integer(iat))
		CHECK(json_integer_value(iat) <= NOW + L);
	if (chk->kind == TOK_KIND_ID && chk->nonce != NULL)
		CHECK(json_is_string(json_object_get(c, "nonce")) &&
		    strcmp(json_string_value(json_object_get(c, "nonce")), NONCE) == 0);
}

/* Signs the claims and verifies the token: the same answer as the claims check. */
static void
signed_round_trip(const json_t *claims, const char *typ, const struct tok_check *chk,
    int want)
{
	struct tok_jwt jwt;
	char *token = NULL, why[256];
	int r;

	if (tok_jwt_sign(signer, typ, claims, &token) != 0)
		return;              /* a typ the header cannot carry, or over TOK_JWS_MAX */
	r = tok_jwt_verify(token, strlen(token), &verifiers, TOK_ALGSET(TOK_ALG_EDDSA), chk,
	    &jwt, why, sizeof(why));
	CHECK(r == want);
	if (r == 0) {
		CHECK(jwt.alg == TOK_ALG_EDDSA && json_equal(jwt.claims, claims));
		CHECK(typ == NULL ? json_object_get(jwt.header, "typ") == NULL :
		    strcmp(json_string_value(json_object_get(jwt.header, "typ")), typ) == 0);
	}
	tok_jwt_clear(&jwt);
	free(token);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[INPUT_MAX + 1];
	struct tok_check chk;
	const char *typ = NULL, *body = text;
	char why[256], *nl;
	json_t *claims;
	int r, r0;

	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (memchr(text, '\0', size - 1) != NULL)
		return 0;                  /* a typ is a C string; the claims come from JSON */
	if ((data[0] & 4) && (nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		typ = text;
		body = nl + 1;
	}
	if ((claims = json_loads(body, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	memset(&chk, 0, sizeof(chk));
	chk.kind = (enum tok_kind)(data[0] & 3);
	chk.iss = ISS;
	chk.aud = AUD;
	chk.now = NOW;
	chk.nonce = (data[0] & 8) ? NONCE : NULL;
	r0 = tok_claims_check(claims, typ, TOK_ALG_EDDSA, &chk, why, sizeof(why));
	chk.leeway = 60;
	r = tok_claims_check(claims, typ, TOK_ALG_EDDSA, &chk, why, sizeof(why));
	CHECK(r == 0 || r == YH_ERR_INVALID || r == YH_ERR_EXPIRED || r == YH_ERR_DENIED);
	CHECK(r == 0 || why[0] != '\0');
	if (r0 == 0)
		CHECK(r == 0);
	if (r == 0)
		check_accepted(claims, typ, &chk);
	if (data[0] & 16)
		signed_round_trip(claims, typ, &chk, r);
	json_decref(claims);
	return 0;
}
