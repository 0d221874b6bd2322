/*
 * authctl upstream test NAME: checks the connection to the upstream identity provider
 * of -c FILE's upstream.NAME block (docs/federation.md). For kind = oidc it fetches
 * discovery and the JWKS as authd would and prints what it found (the endpoints, whether
 * the upstream names itself in its answers (RFC 9207), the key ids, how authd
 * authenticates at the token endpoint and, for private_key_jwt, its key's kid); for
 * kind = ticket it makes a dry exchange of a ticket that cannot be valid at
 * validate_url, signed as configured, and prints what the platform answered (a refusal of the ticket means it
 * is reachable and read the request). Exit 0 when the upstream answered as expected,
 * 1 when not, 2 on a usage or configuration error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authcore/authd_config.h"
#include "authctl/ctl.h"
#include "federation/upstream_oidc.h"
#include "federation/upstream_ticket.h"

#define DRY_TICKET "YH-DRY-RUN-NOT-A-TICKET"

static int
test_oidc(const struct authd_cfg *c, const struct fed_up_cfg *u)
{
	char redirect[4096], why[512], *text = NULL;
	struct fed_oidc *o = NULL;
	json_t *d = NULL;
	int r;

	snprintf(redirect, sizeof(redirect), "%s/login/upstream/%s/callback", c->issuer,
	    u->name);
	if (fed_oidc_new(u, redirect, &o) != 0)
		return ctl_fail("upstream.%s: cannot make a client", u->name);
	if (fed_oidc_discover(o, true, why, sizeof(why)) != 0) {
		printf("upstream %s: discovery FAILED: %s\n", u->name, why);
		fed_oidc_free(o);
		return 1;
	}
	if ((r = fed_oidc_describe(o, &d)) == 0 &&
	    (text = json_dumps(d, JSON_INDENT(2) | JSON_SORT_KEYS)) != NULL) {
		printf("upstream %s: discovery and JWKS ok\nredirect_uri to register: %s\n%s\n",
		    u->name, redirect, text);
	}
	free(text);
	json_decref(d);
	fed_oidc_free(o);
	return r == 0 ? 0 : ctl_fail("out of memory");
}

static int
test_ticket(const struct authd_cfg *c, const struct fed_up_cfg *u)
{
	char ret[4096], why[512], *login = NULL;
	struct fed_login l;
	int r;

	snprintf(ret, sizeof(ret), "%s/login/upstream/%s/callback?st=dry-run", c->issuer,
	    u->name);
	if (fed_ticket_login_url(u, ret, &login) != 0)
		return ctl_fail("out of memory");
	printf("upstream %s: the browser goes to %s\n", u->name, login);
	free(login);
	r = fed_ticket_validate(u, DRY_TICKET, ret, &l, why, sizeof(why));
	fed_login_clear(&l);
	if (r == YH_ERR_DENIED) {
		printf("dry exchange at %s: reachable, the ticket refused as it should be: %s\n",
		    u->validate_url, why);
		return 0;
	}
	printf("dry exchange at %s: %s%s%s\n", u->validate_url, r == 0 ? "ACCEPTED a ticket "
	    "that cannot be valid: check result_field and result_value" : "FAILED",
	    why[0] != '\0' ? ": " : "", why);
	return 1;
}

int
ctl_upstream(int argc, char **argv)
{
	struct authd_cfg c;
	const struct fed_up_cfg *u;
	char err[1024];
	int r;

	if (argc != 3 || strcmp(argv[1], "test") != 0)
		return ctl_fail("usage: authctl -c FILE upstream test NAME");
	if (ctl_opts.config_path == NULL)
		return ctl_fail("upstream test needs -c FILE (the file with the upstream blocks)");
	if (authd_cfg_load(&c, ctl_opts.config_path, ctl_opts.state_dir, NULL, err,
	    sizeof(err)) != 0) {
		authd_cfg_free(&c);
		return ctl_fail("%s", err);
	}
	if ((u = fed_up_find(&c.upstreams, argv[2])) == NULL)
		r = ctl_fail("%s has no upstream.%s block", ctl_opts.config_path, argv[2]);
	else if (strcmp(u->kind, "oidc") == 0)
		r = test_oidc(&c, u);
	else
		r = test_ticket(&c, u);
	authd_cfg_free(&c);
	return r;
}
