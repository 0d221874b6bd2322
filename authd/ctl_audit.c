/* authctl audit verify FILE [--head HASH]: checks the audit log's hash chain. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd/audit.h"
#include "authd/ctl.h"
#include "identity/identity.h"

/* Who runs authctl: the sudo caller when there is one, else the login of the uid. */
static void
operator_name(char *out, size_t outsz)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (sudo != NULL && sudo[0] != '\0' && strlen(sudo) < 64) {
		snprintf(out, outsz, "operator:%s(sudo)", sudo);
		return;
	}
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, outsz, "operator:%s", res->pw_name);
	else
		snprintf(out, outsz, "operator:uid%u", (unsigned)getuid());
}

int
ctl_record(const struct ident *id, const char *event, json_t *fields)
{
	char path[4096], actor[128], err[512];
	struct yh_audit *a = NULL;
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/audit.log", id->state_dir) >= sizeof(path))
		return ctl_fail("state directory path too long for the audit log");
	operator_name(actor, sizeof(actor));
	if (yh_audit_open(path, &a, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	r = yh_audit_write(a, event, actor, fields);
	yh_audit_close(a);
	if (r != 0)
		return ctl_fail("%s: cannot record %s: %s", path, event, yh_strerror(r));
	return 0;
}

int
ctl_audit(int argc, char **argv)
{
	struct yh_audit_verify_opts o = { 0 };
	struct yh_audit_report rep;
	const char *path = NULL;
	int r;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return ctl_fail("usage: authctl audit verify FILE [--head HASH]");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--head") == 0 && i + 1 < argc)
			o.head = argv[++i];
		else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else
			return ctl_fail("usage: authctl audit verify FILE [--head HASH]");
	}
	if (path == NULL)
		return ctl_fail("usage: authctl audit verify FILE [--head HASH]");
	r = yh_audit_verify(path, &o, &rep);
	if (r == YH_ERR_IO || r == YH_ERR_INVALID || r == YH_ERR_ALLOC)
		return ctl_fail("%s: %s", path, rep.reason);
	if (r != 0) {
		printf("{\"valid\":false,\"lines\":%llu,\"bad_line\":%llu,\"reason\":\"%s\"}\n",
		    (unsigned long long)rep.lines, (unsigned long long)rep.bad_line, rep.reason);
		return 1;
	}
	printf("{\"valid\":true,\"lines\":%llu,\"head\":\"%s\"}\n",
	    (unsigned long long)rep.lines, rep.head);
	return 0;
}
