/*
 * libFuzzer target for the app registry loader (authcore/clients/clients.c): the clients.json
 * document authctl writes and the operator's apps file (clients.file), with every rule
 * a client must pass (redirect URIs, scopes, grants, secrets, JWKS), loaded into a
 * snapshot through clients_reload, plus clients_check_file (what `authd -t` runs) on the
 * apps file.
 *
 * At start a temporary directory (on tmpfs) gets a state directory, an apps file and two
 * secret files ("secret": a good secret, 0600; "short": too short); a registry is opened
 * on them and reloaded for every input. The directory is removed at exit.
 *
 * Input: byte 0 bit 0 picks the file the rest is written to (0: the apps file, 1:
 * clients.json, the apps file then being an empty document).
 *
 * Invariants checked, beyond "no crash, no leak":
 *   - a load error names the file, and a line where it names one ("FILE:N:" with N a
 *     line of the file); clients_check_file agrees with the load on the apps file;
 *   - in a loaded snapshot clients are sorted by id with no id twice, clients_find finds
 *     each, and each obeys the rules of clients_client_check (valid id; PKCE for public
 *     clients; a secret exactly for client_secret clients; scopes and allow_id_number
 *     together; grants that fit the client; LoA 1..4; lifetimes 0 or in range; a JWKS of
 *     public keys exactly for private_key_jwt);
 *   - every redirect URI (and post-logout URI) accepted passes the registration rules,
 *     matches itself exactly, and no URI differing from it in one byte (changed, cut,
 *     added, or a letter's case) matches unless that URI is registered too; a wrong
 *     secret never authenticates;
 *   - CORS: a confidential client has no origins; a public client's origins are the
 *     origins of its http(s) redirect URIs and its allowed_origins, each passing the
 *     origin rules, each found for it and in the registry-wide set.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

#include "authcore/authd_config.h"
#include "authcore/clients/clients.h"
#include "common/log.h"
#include "token/jwk.h"

#define INPUT_MAX (256 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char empty_doc[] = "{\"format\":\"yihao-clients/1\",\"clients\":[]}\n";

static char dir[64], state_dir[96], apps_path[96], state_path[128];
static struct clients_registry *reg;

/* ---- setup ------------------------------------------------------------------------------- */

static void
cleanup(void)
{
	clients_close(reg);
	reg = NULL;
	fuzz_rmtree(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct clients_opts o = { .check_interval_ms = -1 };
	char path[128], err[512];

	(void)argc;
	(void)argv;
	yh_log_set_level(YH_LOG_OFF);
	CHECK(fuzz_tmpdir("clients", dir, sizeof(dir)) == 0);
	atexit(cleanup);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(apps_path, sizeof(apps_path), "%s/apps.json", dir);
	snprintf(state_path, sizeof(state_path), "%s/%s", state_dir, CLIENTS_FILE);
	CHECK(mkdir(state_dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/secret", dir);
	CHECK(fuzz_write_file(path, "fuzz-secret-0123456789-abcdefghijkl\n", 36) == 0);
	snprintf(path, sizeof(path), "%s/short", dir);
	CHECK(fuzz_write_file(path, "short\n", 6) == 0);
	CHECK(fuzz_write_file(apps_path, empty_doc, sizeof(empty_doc) - 1) == 0);
	o.apps_file = apps_path;
	if (clients_open(state_dir, &o, &reg, err, sizeof(err)) != 0)
		abort();
	return 0;
}

/* ---- checks ------------------------------------------------------------------------------- */

/* err names path and, where it names a line, one of the file's nlines. */
static void
check_where(const char *err, const char *path, size_t nlines)
{
	size_t plen = strlen(path);
	const char *p = err + plen + 1;
	unsigned long n = 0;

	CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
	if (*p < '0' || *p > '9')
		return;
	while (*p >= '0' && *p <= '9' && n < 100000000)
		n = n * 10 + (unsigned long)(*p++ - '0');
	CHECK(*p == ':');
	/* jansson's "LINE:COLUMN:" may name the end of the file, after its last line feed */
	CHECK(n >= 1 && n <= nlines + (p[1] >= '0' && p[1] <= '9'));
}

static bool
listed(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* A URI differing from u in one byte matches only when it is registered too. */
static void
probe(const struct clients_client *c, const char *const *v, size_t n,
    bool (*ok)(const struct clients_client *, const char *), const char *u)
{
	static char m[CLIENTS_URI_MAX + 2];
	size_t len = strlen(u);

	CHECK(ok(c, u));
	for (size_t i = 0; i < len; i++) {
		char was = u[i];

		/* every byte of a short URI; about 32 spread over a long one, and its last */
		if (len > 64 && i % (len / 32) != 0 && i + 1 != len)
			continue;
		/* changed (or, for a letter, its case) */
		memcpy(m, u, len + 1);
		m[i] = (char)(((was >= 'A' && was <= 'Z') || (was >= 'a' && was <= 'z')) ?
		    was ^ 0x20 : was == '~' ? '!' : was + 1);
		CHECK(!ok(c, m) || listed(v, n, m));
		/* cut there */
		m[i] = '\0';
		CHECK(!ok(c, m) || listed(v, n, m));
		/* a byte removed */
		memcpy(m, u, i);
		memcpy(m + i, u + i + 1, len - i);
		CHECK(!ok(c, m) || listed(v, n, m));
	}
	/* one added */
	memcpy(m, u, len);
	m[len] = '/';
	m[len + 1] = '\0';
	CHECK(!ok(c, m) || listed(v, n, m));
}

static void
check_uris(const struct clients_client *c)
{
	const char *why;

	CHECK(c->n_redirect_uris <= CLIENTS_URIS_MAX && c->n_post_logout_uris <= CLIENTS_URIS_MAX);
	for (size_t i = 0; i < c->n_redirect_uris; i++) {
		CHECK(clients_uri_check(c->redirect_uris[i], false, &why) == 0);
		probe(c, c->redirect_uris, c->n_redirect_uris, clients_redirect_ok,
		    c->redirect_uris[i]);
	}
	for (size_t i = 0; i < c->n_post_logout_uris; i++) {
		CHECK(clients_uri_check(c->post_logout_uris[i], false, &why) == 0);
		probe(c, c->post_logout_uris, c->n_post_logout_uris,
		    clients_post_logout_redirect_ok, c->post_logout_uris[i]);
	}
	if (c->backchannel_logout_uri != NULL)
		CHECK(clients_uri_check(c->backchannel_logout_uri, true, &why) == 0);
}

static void
check_origins(const struct clients_snap *s, const struct clients_client *c)
{
	char o[CLIENTS_URI_MAX + 1];
	const char *why;

	CHECK(c->n_cors_origins <= CLIENTS_URIS_MAX + CLIENTS_ORIGINS_MAX);
	CHECK(c->auth == CLIENTS_AUTH_NONE || c->n_cors_origins + c->n_allowed_origins == 0);
	for (size_t i = 0; i < c->n_cors_origins; i++)
		CHECK(clients_origin_check(c->cors_origins[i], &why) == 0 &&
		    clients_origin_ok(c, c->cors_origins[i]) &&
		    clients_origin_known(s, c->cors_origins[i]));
	for (size_t i = 0; i < c->n_allowed_origins; i++)
		CHECK(clients_origin_ok(c, c->allowed_origins[i]));
	for (size_t i = 0; c->auth == CLIENTS_AUTH_NONE && i < c->n_redirect_uris; i++)
		if (clients_origin_of(c->redirect_uris[i], o, sizeof(o)) == 0)
			CHECK(clients_origin_ok(c, o));
}

static bool
lifetime_ok(int64_t v, const char *opt)
{
	return v == 0 || (v >= CLIENTS_LIFETIME_MIN && v <= authd_cfg_max(opt));
}

static void
check_client(const struct clients_snap *s, const struct clients_client *c)
{
	const struct clients_client *found = NULL;
	unsigned all_scopes = (CLIENTS_SCOPE_LAST << 1) - 1u;
	unsigned all_grants = CLIENTS_GRANT_AUTHORIZATION_CODE | CLIENTS_GRANT_REFRESH_TOKEN |
	    CLIENTS_GRANT_CLIENT_CREDENTIALS | CLIENTS_GRANT_DEVICE_CODE;
	char err[512];

	CHECK(clients_id_valid(c->id) && clients_find(s, c->id) == c);
	CHECK(c->name != NULL && c->sector != NULL);
	CHECK(c->auth == CLIENTS_AUTH_NONE || c->auth == CLIENTS_AUTH_SECRET ||
	    c->auth == CLIENTS_AUTH_PRIVATE_KEY_JWT);
	CHECK(c->auth != CLIENTS_AUTH_NONE || c->require_pkce);
	CHECK((c->auth == CLIENTS_AUTH_SECRET) == c->has_secret);
	CHECK((c->scopes & ~all_scopes) == 0);
	CHECK(((c->scopes & CLIENTS_SCOPE_ID_NUMBER) != 0) == c->allow_id_number);
	CHECK(c->grants != 0 && (c->grants & ~all_grants) == 0);
	CHECK(!(c->grants & CLIENTS_GRANT_REFRESH_TOKEN) ||
	    (c->grants & (CLIENTS_GRANT_AUTHORIZATION_CODE | CLIENTS_GRANT_DEVICE_CODE)));
	CHECK(!(c->grants & CLIENTS_GRANT_CLIENT_CREDENTIALS) || c->auth != CLIENTS_AUTH_NONE);
	CHECK(!(c->grants & CLIENTS_GRANT_AUTHORIZATION_CODE) || c->n_redirect_uris > 0);
	CHECK(c->min_loa >= 1 && c->min_loa <= 4);
	CHECK(lifetime_ok(c->access_token_lifetime, "token.access_lifetime") &&
	    lifetime_ok(c->id_token_lifetime, "token.id_lifetime") &&
	    lifetime_ok(c->refresh_token_lifetime, "token.refresh_lifetime"));
	if (c->auth == CLIENTS_AUTH_PRIVATE_KEY_JWT) {
		CHECK(c->jwks_json != NULL && c->jwks.n > 0);
		for (size_t i = 0; i < c->jwks.n; i++)
			CHECK(!tok_key_is_private(c->jwks.keys[i]));
	} else
		CHECK(c->jwks_json == NULL && c->jwks.n == 0);
	CHECK(clients_client_check(c, err, sizeof(err)) == 0);
	check_uris(c);
	check_origins(s, c);
	CHECK(clients_verify_secret(s, c->id, "not-the-secret-0123456789-abcdefgh", 34,
	    &found) == YH_ERR_AUTH && found == NULL);
}

static void
check_snapshot(void)
{
	struct clients_snap *s = clients_acquire(reg);
	size_t n = clients_count(s);

	CHECK(n <= CLIENTS_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct clients_client *c = clients_at(s, i);

		CHECK(c != NULL);
		if (i > 0)
			CHECK(strcmp(clients_at(s, i - 1)->id, c->id) < 0);
		check_client(s, c);
	}
	CHECK(clients_at(s, n) == NULL);
	clients_release(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool state = false;
	const char *path;
	char err[1024], err2[1024];
	int rc, rc2;

	if (size < 1 || size - 1 > INPUT_MAX)
		return 0;
	state = (data[0] & 1) != 0;
	path = state ? state_path : apps_path;
	CHECK(fuzz_write_file(path, data + 1, size - 1) == 0);
	if (state)
		CHECK(fuzz_write_file(apps_path, empty_doc, sizeof(empty_doc) - 1) == 0);
	else
		(void)unlink(state_path);
	err[0] = '\0';
	rc = clients_reload(reg, err, sizeof(err));
	if (rc != 0) {
		CHECK(rc != YH_ERR_ALLOC && rc != YH_ERR_INTERNAL && err[0] != '\0');
		check_where(err, path, fuzz_count_lines(data + 1, size - 1));
	} else
		check_snapshot();
	if (!state) {
		rc2 = clients_check_file(apps_path, err2, sizeof(err2));
		CHECK((rc == 0) == (rc2 == 0));
	}
	return 0;
}
