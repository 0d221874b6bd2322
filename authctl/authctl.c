/* authctl: the operator tool's entry point; global options, then one subcommand group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authctl/ctl.h"
#include "common/log.h"

/* Groups whose file has not landed resolve to NULL through weak symbols. */
int ctl_id(int, char **) __attribute__((weak));
int ctl_user(int, char **) __attribute__((weak));
int ctl_keys(int, char **) __attribute__((weak));
int ctl_jwt(int, char **) __attribute__((weak));
int ctl_client(int, char **) __attribute__((weak));
int ctl_audit(int, char **) __attribute__((weak));
int ctl_org(int, char **) __attribute__((weak));
int ctl_staff(int, char **) __attribute__((weak));
int ctl_registry(int, char **) __attribute__((weak));
int ctl_review(int, char **) __attribute__((weak));
int ctl_upstream(int, char **) __attribute__((weak));
int ctl_directory(int, char **) __attribute__((weak));
int ctl_cert(int, char **) __attribute__((weak));
int ctl_ca(int, char **) __attribute__((weak));

struct group {
	const char *name;
	int (*fn)(int, char **);
	const char *usage;
};

static void
usage(FILE *f, const struct group *groups)
{
	fprintf(f, "usage: authctl [-c FILE] [-d STATE_DIR] GROUP COMMAND [ARGS...]\n\n");
	for (const struct group *g = groups; g->name != NULL; g++)
		if (g->fn != NULL)
			fprintf(f, "  %s\n", g->usage);
}

/*
 * The arguments, copied to the heap (NULL when out of memory), and the originals masked
 * in place by the log redactor: the command line other users read in /proc/PID/cmdline
 * (ps, top) then shows an ID number or phone number an operator typed as
 * "110101********0011", not whole. The copies live until the process exits (held by
 * arg_copy, so that a leak checker sees them reachable).
 */
static char **volatile arg_copy;    /* volatile: the store is kept though never read */

static char **
hide_args(int argc, char **argv)
{
	char **copy = arg_copy = calloc((size_t)argc + 1, sizeof(*copy));

	for (int i = 0; copy != NULL && i < argc; i++) {
		size_t n = strlen(argv[i]), m;

		if ((copy[i] = strdup(argv[i])) == NULL)
			return NULL;
		m = yh_redact_default(argv[i], n);      /* only shrinks; NUL-terminated */
		memset(argv[i] + m, '\0', n - m);
	}
	return copy;
}

int
main(int argc, char **argv)
{
	const struct group groups[] = {
		{ "id", ctl_id, "id check VALUE...            validate ID numbers, credit codes, org codes" },
		{ "user", ctl_user, "user add|show|list|lock|unlock|deregister|logout|verify|check-password" },
		{ "org", ctl_org, "org add|show|list|change|deregister|agent|admin   organizations and who acts for them" },
		{ "staff", ctl_staff, "staff add|remove|list   government staff (the service-hall counter)" },
		{ "registry", ctl_registry, "registry retry              ask the population registry again for queued persons" },
		{ "upstream", ctl_upstream, "upstream test NAME           check the connection to an upstream identity provider" },
		{ "review", ctl_review, "review list|show|resolve|undo   cases idmerge could not decide" },
		{ "directory", ctl_directory, "directory init|copy           the directory store (LDAP base entries, copying between backends)" },
		{ "cert", ctl_cert, "cert check FILE [--chain FILE]   verify a certificate as a login would" },
		{ "ca", ctl_ca, "ca list|add|remove          the CAs whose certificates log people in" },
		{ "keys", ctl_keys, "keys generate|rotate|jwks|list --dir DIR   signing keys" },
		{ "jwt", ctl_jwt, "jwt sign|verify               sign claims or verify a token" },
		{ "client", ctl_client, "client add|list|show|remove|reset-secret|check-secret   registered apps" },
		{ "audit", ctl_audit, "audit verify FILE [--key KEYFILE]... [--head [LINE:]HASH] [--strict]   check the audit log" },
		{ NULL, NULL, NULL },
	};
	int i = 1;

	yh_log_set_prog("authctl");
	if ((argv = hide_args(argc, argv)) == NULL) {
		fprintf(stderr, "authctl: out of memory\n");
		return 2;
	}
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout, groups);
			return 0;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-d") == 0) && i + 1 < argc) {
			if (argv[i][1] == 'c')
				ctl_opts.config_path = argv[i + 1];
			else
				ctl_opts.state_dir = argv[i + 1];
			i += 2;
			continue;
		}
		usage(stderr, groups);
		return 2;
	}
	if (i >= argc) {
		usage(stderr, groups);
		return 2;
	}
	for (const struct group *g = groups; g->name != NULL; g++)
		if (strcmp(argv[i], g->name) == 0 && g->fn != NULL) {
			int rc = g->fn(argc - i, argv + i);

			ctl_settle_owners();
			return rc;
		}
	fprintf(stderr, "authctl: unknown command group '%s'\n", argv[i]);
	usage(stderr, groups);
	return 2;
}
