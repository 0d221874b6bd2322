/* What every authctl group uses: the global options, the error line, opening the state
 * and printing JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>

#include "authctl/ctl.h"
#include "authcore/state.h"
#include "common/timeutil.h"

struct ctl_opts ctl_opts;

int
ctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("authctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int
ctl_open_state(bool create, struct ident **id)
{
	struct state_args a = {
		.config_path = ctl_opts.config_path,
		.state_dir = ctl_opts.state_dir,
		.default_state_dir = NULL,
	};
	char err[512];

	if (state_open(&a, create, id, err, sizeof(err)) != 0)
		return ctl_fail("%s", err);
	return 0;
}

void
ctl_set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v != NULL ? json_string(v) : json_null());
}

void
ctl_set_time(json_t *o, const char *k, int64_t t)
{
	char buf[40];

	if (t == 0) {
		json_object_set_new(o, k, json_null());
		return;
	}
	yh_time_iso8601(t * 1000, buf, sizeof(buf));
	json_object_set_new(o, k, json_string(buf));
}

int
ctl_print_json(json_t *o)
{
	char *s;

	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return ctl_fail("out of memory");
	}
	puts(s);
	free(s);
	json_decref(o);
	return 0;
}
