/*
 * The audit part of the operators' console (permission audit; see admin.h):
 *
 *   GET  /admin/audit          the lines matching the filters (?person= a uid anywhere in
 *                              the line, ?app= a client id, ?event=, ?from= and ?to=
 *                              dates YYYY-MM-DD of the line's time, UTC), the last
 *                              AUDIT_SHOWN of them; audited admin.audit.search
 *   GET  /admin/audit/export   the same lines, every one, as JSON lines (a download);
 *                              audited admin.audit.export before it is sent
 *   POST /admin/audit/verify   CSRF; the chain checked (yh_audit_verify: links,
 *                              sequence, the checkpoint copy, and the checkpoints' tags
 *                              through keyd, which holds the audit key and tags them
 *                              for authd), of the whole file or of the dates from..to
 *                              (form fields, YYYY-MM-DD, either may be empty: the
 *                              range as `authctl audit verify --from --to` checks it);
 *                              audited admin.audit.verify
 *
 * The log is read as the file stands when the request comes, line by line, each line at
 * most AUDIT_LINE_MAX bytes (longer ones are not chain lines and are skipped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/admin/common.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "authd/ui/csrf.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authcore/audit/audit.h"
#include "authcore/authd_config.h"
#include "common/buf.h"
#include "common/secmem.h"

#define AUDIT_PATH ADMIN_PATH "/audit"
#define AUDIT_SHOWN 200           /* lines one page shows (the last ones matching) */
#define DATE_LEN 10               /* YYYY-MM-DD */
#define APP_MAX 64
#define EVENT_MAX 64
#define EXPORT_MAX (256u * 1024 * 1024)   /* bytes one export may hold */

/* The filters of a search; "" is no filter. */
struct filter {
	const char *person, *app, *event, *from, *to;
};

/* True when s is "" or a date YYYY-MM-DD (digits where digits go). */
static bool
date_ok(const char *s)
{
	if (s[0] == '\0')
		return true;
	if (strlen(s) != DATE_LEN || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < DATE_LEN; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

/* True when s is printable ASCII without quotes or backslashes (an app or event). */
static bool
token_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* Reads the filters from the query. 0 or YH_ERR_INVALID (a malformed one). */
static int
filter_read(struct http_req *req, struct filter *f)
{
	static const struct { const char *name; size_t max; size_t off; } q[] = {
		{ "person", DIR_UID_LEN, offsetof(struct filter, person) },
		{ "app", APP_MAX, offsetof(struct filter, app) },
		{ "event", EVENT_MAX, offsetof(struct filter, event) },
		{ "from", DATE_LEN, offsetof(struct filter, from) },
		{ "to", DATE_LEN, offsetof(struct filter, to) },
	};

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		const char **v = (const char **)(void *)((char *)f + q[i].off);

		int r;

		*v = NULL;
		if ((r = http_req_query(req, q[i].name, q[i].max, v)) != 0 &&
		    r != YH_ERR_NOT_FOUND)
			return YH_ERR_INVALID;
		if (r != 0 || *v == NULL)
			*v = "";
	}
	if ((f->person[0] != '\0' && !dir_uid_valid(f->person)) || !token_ok(f->app) ||
	    !token_ok(f->event) || !date_ok(f->from) || !date_ok(f->to))
		return YH_ERR_INVALID;
	return 0;
}

/* The filters as audit fields ("event_type": "event" is the line's own). */
static json_t *
filter_json(const struct filter *f)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "person", f->person, "app", f->app,
	    "event_type", f->event, "from", f->from, "to", f->to);
}

/* True when line (parsed as o) passes the filters. */
static bool
matches(const struct filter *f, const char *line, const json_t *o)
{
	const char *ts = json_string_value(json_object_get(o, "ts"));
	const char *ev = json_string_value(json_object_get(o, "event"));
	char quoted[APP_MAX + 3];

	if (ts == NULL || ev == NULL)
		return false;
	if (f->event[0] != '\0' && strcmp(ev, f->event) != 0)
		return false;
	if (f->person[0] != '\0' && strstr(line, f->person) == NULL)
		return false;
	if (f->app[0] != '\0') {
		snprintf(quoted, sizeof(quoted), "\"%s\"", f->app);
		if (strstr(line, quoted) == NULL)
			return false;
	}
	if (f->from[0] != '\0' && strncmp(ts, f->from, DATE_LEN) < 0)
		return false;
	if (f->to[0] != '\0' && strncmp(ts, f->to, DATE_LEN) > 0)
		return false;
	return true;
}

/* The audit log's path (malloc'd), or NULL. */
static char *
log_path(struct authd_app *app)
{
	const struct authd_cfg *cfg = app->cfg;

	return authd_cfg_state_path(cfg, cfg->audit_file, "audit.log");
}

/*
 * Calls each(line, o, ctx) for every chain line of the log that passes f, in order.
 * 0, YH_ERR_IO (the file cannot be read), or each's error.
 */
static int
scan(struct authd_app *app, const struct filter *f,
    int (*each)(const char *line, json_t *o, void *ctx), void *ctx)
{
	char *path = log_path(app), *buf = NULL;
	bool skipping = false;
	FILE *fp = NULL;
	int r = 0;

	if (path == NULL || (buf = malloc(AUDIT_LINE_MAX + 2)) == NULL) {
		r = YH_ERR_ALLOC;
		goto out;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		r = YH_ERR_IO;
		goto out;
	}
	while (r == 0 && fgets(buf, AUDIT_LINE_MAX + 2, fp) != NULL) {
		size_t n = strlen(buf);
		bool whole = n > 0 && buf[n - 1] == '\n';
		json_t *o;

		if (skipping || !whole) {
			skipping = !whole;   /* the rest of an over-long line */
			continue;
		}
		buf[n - 1] = '\0';
		if ((o = json_loads(buf, 0, NULL)) == NULL)
			continue;
		if (matches(f, buf, o))
			r = each(buf, o, ctx);
		json_decref(o);
	}
	if (r == 0 && ferror(fp))
		r = YH_ERR_IO;
out:
	if (fp != NULL)
		fclose(fp);
	free(buf);
	free(path);
	return r;
}

/* The last AUDIT_SHOWN lines matching, as the page shows them (a ring). */
struct shown {
	struct tpl_admin_audit_lines items[AUDIT_SHOWN];
	char *text[AUDIT_SHOWN][5];   /* seq, ts, event, actor, fields */
	size_t next, count;
	long long total;
};

static void
shown_free(struct shown *s)
{
	for (size_t i = 0; i < AUDIT_SHOWN; i++)
		for (size_t k = 0; k < 5; k++)
			free(s->text[i][k]);
}

/* Keeps the line o in the ring of shown lines. */
static int
keep_line(const char *line, json_t *o, void *ctx)
{
	struct shown *s = ctx;
	size_t i = s->next;
	json_t *rest = json_deep_copy(o);
	static const char *const top[] = { "seq", "ts", "event", "actor", "prev" };

	(void)line;
	if (rest == NULL)
		return YH_ERR_ALLOC;
	for (size_t k = 0; k < 5; k++)
		free(s->text[i][k]);
	s->text[i][0] = json_dumps(json_object_get(o, "seq"), JSON_ENCODE_ANY);
	s->text[i][1] = strdup(json_string_value(json_object_get(o, "ts")));
	s->text[i][2] = strdup(json_string_value(json_object_get(o, "event")));
	s->text[i][3] = json_string_value(json_object_get(o, "actor")) != NULL ?
	    strdup(json_string_value(json_object_get(o, "actor"))) : strdup("-");
	for (size_t k = 0; k < sizeof(top) / sizeof(top[0]); k++)
		json_object_del(rest, top[k]);
	s->text[i][4] = json_dumps(rest, JSON_COMPACT);
	json_decref(rest);
	for (size_t k = 0; k < 5; k++)
		if (s->text[i][k] == NULL)
			return YH_ERR_ALLOC;
	s->next = (i + 1) % AUDIT_SHOWN;
	if (s->count < AUDIT_SHOWN)
		s->count++;
	s->total++;
	return 0;
}

/* The audit page: the filters f, the lines in s (NULL: none), notice or alert and
 * detail, answered with status. */
static int
render(struct authd_app *app, struct http_req *req, const struct op *o,
    const struct filter *f, struct shown *s, const char *notice, const char *alert,
    const char *detail, unsigned status)
{
	struct tpl_admin_audit_lines *lines = NULL;
	char csrf[CSRF_TOKEN_SIZE];
	struct page pg;
	size_t n = s != NULL ? s->count : 0;
	int r;

	if ((r = csrf_prepare(req, app->keys, ADMIN_PURPOSE, o->si.key, csrf)) != 0)
		return r;
	if (n > 0 && (lines = calloc(n, sizeof(*lines))) == NULL)
		return YH_ERR_ALLOC;
	for (size_t k = 0; k < n; k++) {
		size_t i = (s->next + AUDIT_SHOWN - n + k) % AUDIT_SHOWN;

		lines[k] = (struct tpl_admin_audit_lines){ .seq = s->text[i][0],
		    .ts = s->text[i][1], .event = s->text[i][2], .actor = s->text[i][3],
		    .fields = s->text[i][4] };
	}
	page_init(&pg, req, AUDIT_PATH);
	page_begin(&pg, page_msg(pg.lang, PAGE_MSG_ADMIN_AUDIT));
	tpl_admin_audit_render(&pg, &(struct tpl_admin_audit){ .notice = notice,
	    .alert = alert, .detail = detail, .csrf = csrf, .person = f->person,
	    .app = f->app, .event = f->event, .from = f->from, .to = f->to,
	    .count = s != NULL ? (int)s->total : 0, .lines = lines, .lines_n = n });
	yh_wipe(csrf, sizeof(csrf));
	free(lines);
	return page_send(&pg, req, status);
}

static const struct filter no_filter = { "", "", "", "", "" };

/* admin_enter for a GET of the audit part, then the filters (malformed: the 400
 * page). 0 (go on unless http_req_answered) or an error to return. */
static int
enter_filtered(struct authd_app *app, struct http_req *req, struct op *o, struct filter *f)
{
	int r;

	if ((r = admin_enter(app, req, false, DIR_CONSOLE_AUDIT, o)) != 0 ||
	    http_req_answered(req))
		return r;
	if (filter_read(req, f) != 0)
		return render(app, req, o, &no_filter, NULL, NULL,
		    page_msg(page_lang_of(req), PAGE_MSG_ADMIN_AUDIT_BAD_FILTER), NULL, 400);
	return 0;
}

static int
audit_search(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct shown *s = NULL;
	struct filter f;
	struct op o;
	int r;

	if ((r = enter_filtered(app, req, &o, &f)) != 0 || http_req_answered(req))
		goto out;
	/* The search is on the record before the log is read. */
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (r = admin_audit(app, &o, "admin.audit.search", filter_json(&f))) != 0 ||
	    (r = scan(app, &f, keep_line, s)) != 0) {
		r = page_failure_send(req, s == NULL ? YH_ERR_ALLOC : r);
		goto out;
	}
	r = render(app, req, &o, &f, s, NULL, NULL, NULL, 200);
out:
	if (s != NULL)
		shown_free(s);
	free(s);
	admin_op_clear(&o);
	return r;
}

/* Appends the line and a newline to the buffer ctx. */
static int
export_line(const char *line, json_t *o, void *ctx)
{
	int r;

	(void)o;
	if ((r = yh_buf_append(ctx, line, strlen(line))) == 0)
		r = yh_buf_append(ctx, "\n", 1);
	return r;
}

static int
audit_export(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct yh_buf b;
	struct filter f;
	struct op o;
	int r;

	yh_buf_init(&b, EXPORT_MAX);
	if ((r = enter_filtered(app, req, &o, &f)) != 0 || http_req_answered(req))
		goto out;
	if ((r = admin_audit(app, &o, "admin.audit.export", filter_json(&f))) != 0 ||
	    (r = scan(app, &f, export_line, &b)) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	if ((r = http_resp_header(req, "Content-Disposition",
	    "attachment; filename=\"audit.jsonl\"")) == 0)
		r = http_respond(req, 200, "application/x-ndjson", b.data != NULL ? b.data : "",
		    b.len);
out:
	yh_buf_free(&b);
	admin_op_clear(&o);
	return r;
}

/* The verify form's dates into from and to (allocated, "" when not given): 0, or
 * YH_ERR_INVALID when one is malformed. */
static int
verify_range(struct http_req *req, char **from, char **to)
{
	int rf = http_req_form(req, "from", DATE_LEN, from);
	int rt = http_req_form(req, "to", DATE_LEN, to);

	if ((rf != 0 && rf != YH_ERR_NOT_FOUND) || (rt != 0 && rt != YH_ERR_NOT_FOUND))
		return YH_ERR_INVALID;
	if ((*from == NULL && (*from = strdup("")) == NULL) ||
	    (*to == NULL && (*to = strdup("")) == NULL))
		return YH_ERR_ALLOC;
	return date_ok(*from) && date_ok(*to) ? 0 : YH_ERR_INVALID;
}

/* The result's words: lines, head, checkpoints tagged and checked, the range's lines
 * and the window checked, the reason of a damage or the first warning. */
static void
verify_detail(const struct yh_audit_report *rep, bool range, int vr, char *out,
    size_t outsz)
{
	int n = snprintf(out, outsz, "lines=%llu head=%s checkpoints=%llu checked=%llu",
	    (unsigned long long)rep->lines, rep->head, (unsigned long long)rep->checkpoints,
	    (unsigned long long)rep->checked);

	if (n > 0 && (size_t)n < outsz && range)
		n += snprintf(out + n, outsz - (size_t)n, " range=%llu-%llu checked_lines=%llu-%llu",
		    (unsigned long long)rep->range_first, (unsigned long long)rep->range_last,
		    (unsigned long long)rep->window_first, (unsigned long long)rep->window_last);
	if (n > 0 && (size_t)n < outsz && (vr != 0 || rep->nwarnings > 0))
		snprintf(out + n, outsz - (size_t)n, " %s", vr != 0 ? rep->reason :
		    rep->warnings[0]);
}

static int
audit_verify(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	enum page_lang l = page_lang_of(req);
	struct yh_audit_verify_opts vo = { .mac = keys_audit_mac, .mac_ctx = app->keys,
	    .mac_kid = app->keys != NULL ? app->audit_kid : NULL };
	struct yh_audit_report rep;
	struct filter f = no_filter;
	char *path = NULL, *from = NULL, *to = NULL, detail[1024];
	struct op o;
	int r, vr;

	if ((r = admin_enter(app, req, true, DIR_CONSOLE_AUDIT, &o)) != 0 ||
	    http_req_answered(req))
		goto out;
	if ((r = verify_range(req, &from, &to)) != 0) {
		r = r == YH_ERR_ALLOC ? page_failure_send(req, r) : render(app, req, &o,
		    &no_filter, NULL, NULL, page_msg(l, PAGE_MSG_ADMIN_AUDIT_BAD_FILTER), NULL,
		    400);
		goto out;
	}
	f.from = from;
	f.to = to;
	vo.from = from[0] != '\0' ? from : NULL;
	vo.to = to[0] != '\0' ? to : NULL;
	if ((path = log_path(app)) == NULL) {
		r = page_failure_send(req, YH_ERR_ALLOC);
		goto out;
	}
	memset(&rep, 0, sizeof(rep));
	vr = yh_audit_verify(path, &vo, &rep);
	if (vr != 0 && vr != YH_ERR_AUTH) {
		r = page_failure_send(req, vr);
		goto out;
	}
	if ((r = admin_audit(app, &o, "admin.audit.verify", json_pack("{s:I, s:s, s:I, s:I, "
	    "s:s, s:s}", "lines", (json_int_t)rep.lines, "damage",
	    yh_audit_damage_name(rep.damage), "bad_line", (json_int_t)rep.bad_line, "checked",
	    (json_int_t)rep.checked, "from", from, "to", to))) != 0) {
		r = page_failure_send(req, r);
		goto out;
	}
	verify_detail(&rep, vo.from != NULL || vo.to != NULL, vr, detail, sizeof(detail));
	r = vr == 0 ? render(app, req, &o, &f, NULL,
	    page_msg(l, PAGE_MSG_ADMIN_AUDIT_INTACT), NULL, detail, 200) :
	    render(app, req, &o, &f, NULL, NULL,
	    page_msg(l, PAGE_MSG_ADMIN_AUDIT_DAMAGED), detail, 200);
out:
	free(path);
	free(from);
	free(to);
	admin_op_clear(&o);
	return r;
}

static const struct http_route audit_routes[] = {
	{ "GET", AUDIT_PATH, audit_search, HTTP_ROUTE_NO_STORE },
	{ "GET", AUDIT_PATH "/export", audit_export, HTTP_ROUTE_NO_STORE },
	{ "POST", AUDIT_PATH "/verify", audit_verify, HTTP_ROUTE_NO_STORE },
	{ NULL, NULL, NULL, 0 },
};

int
admin_audit_register(struct http_server *srv, struct authd_app *app)
{
	return http_routes_add(srv, audit_routes, app);
}
