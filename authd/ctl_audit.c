/* authctl audit verify FILE [--head HASH]: checks the audit log's hash chain. */
#include <stdio.h>
#include <string.h>

#include "authd/audit.h"
#include "authd/ctl.h"

int
ctl_audit(int argc, char **argv)
{
	struct yh_audit_report rep;
	const char *path = NULL, *head = NULL;
	int r;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return ctl_fail("usage: authctl audit verify FILE [--head HASH]");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--head") == 0 && i + 1 < argc)
			head = argv[++i];
		else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else
			return ctl_fail("usage: authctl audit verify FILE [--head HASH]");
	}
	if (path == NULL)
		return ctl_fail("usage: authctl audit verify FILE [--head HASH]");
	r = yh_audit_verify(path, head, &rep);
	if (r == YH_ERR_IO)
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
