/*
 * libFuzzer target for keyring.json, the state file of the signing key ring
 * (token/keyring.c: state_parse, the records and the invariants every loader checks,
 * and state_dump, which writes it back on rotation).
 *
 * keyring.c is compiled into this target (its archive member is then not linked) so
 * that its static parser can be called on the fuzzed text itself; the rest of a load
 * (key files, PEM) is the PKCS#8 and JWK code that other targets and the unit tests
 * cover.
 *
 * Input: the file's contents.
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - the answer is 0, YH_ERR_INVALID or YH_ERR_LIMIT with a message naming the file;
 *   - a state that loads keeps the ring's rules: at most TOK_RING_MAX_KEYS keys, each
 *     kid a thumbprint (43 base64url characters, so it is a safe file name), a supported
 *     alg, a state, a creation time, retire_at for retiring and retired keys and a
 *     retired time for retired ones; no kid twice; per alg exactly one active and at
 *     most one next key unless all are retired; an active key for the default alg;
 *   - what loads is written back (state_dump) to a text that loads to the same state
 *     and is written back to the same text.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#include "token/keyring.c"

#define INPUT_MAX RING_STATE_MAX
#define FILE_NAME "/ring/keyring.json"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	return 0;
}

static void
check_rules(const struct ring_state *st)
{
	CHECK(st->n <= TOK_RING_MAX_KEYS);
	CHECK(st->def > TOK_ALG_UNSET && st->def < TOK_ALG_COUNT);
	for (size_t i = 0; i < st->n; i++) {
		const struct ring_rec *r = &st->recs[i];

		CHECK(kid_valid(r->kid, strlen(r->kid)) && strchr(r->kid, '/') == NULL &&
		    strchr(r->kid, '.') == NULL);
		CHECK(r->alg > TOK_ALG_UNSET && r->alg < TOK_ALG_COUNT);
		CHECK(r->state >= TOK_KS_NEXT && r->state <= TOK_KS_RETIRED);
		CHECK(r->created > 0 && r->activated >= 0 && r->retiring >= 0 && r->retire_at >= 0 &&
		    r->retired >= 0);
		CHECK(r->state < TOK_KS_RETIRING || r->retire_at > 0);
		CHECK(r->state != TOK_KS_RETIRED || r->retired > 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(st->recs[j].kid, r->kid) != 0);
	}
	for (int a = 1; a < TOK_ALG_COUNT; a++) {
		size_t active = 0, next = 0, live = 0;

		for (size_t i = 0; i < st->n; i++) {
			if (st->recs[i].alg != (enum tok_alg)a)
				continue;
			active += st->recs[i].state == TOK_KS_ACTIVE;
			next += st->recs[i].state == TOK_KS_NEXT;
			live += st->recs[i].state != TOK_KS_RETIRED;
		}
		CHECK(live == 0 || (active == 1 && next <= 1));
		CHECK((enum tok_alg)a != st->def || active == 1);
	}
}

static bool
same_state(const struct ring_state *a, const struct ring_state *b)
{
	if (a->def != b->def || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ring_rec *x = &a->recs[i], *y = &b->recs[i];

		if (strcmp(x->kid, y->kid) != 0 || x->alg != y->alg || x->state != y->state ||
		    x->created != y->created || x->activated != y->activated ||
		    x->retiring != y->retiring || x->retire_at != y->retire_at ||
		    x->retired != y->retired)
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ring_state st, again;
	char err[512], *text = NULL, *text2 = NULL;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	err[0] = '\0';
	rc = state_parse((const char *)data, size, FILE_NAME, &st, err, sizeof(err));
	if (rc != 0) {
		CHECK(rc == YH_ERR_INVALID || rc == YH_ERR_LIMIT);
		CHECK(strncmp(err, FILE_NAME ": ", sizeof(FILE_NAME ": ") - 1) == 0);
		return 0;
	}
	check_rules(&st);
	CHECK(state_dump(&st, &text) == 0);
	CHECK(state_parse(text, strlen(text), FILE_NAME, &again, err, sizeof(err)) == 0);
	CHECK(same_state(&st, &again));
	CHECK(state_dump(&again, &text2) == 0 && strcmp(text, text2) == 0);
	free(text);
	free(text2);
	return 0;
}
