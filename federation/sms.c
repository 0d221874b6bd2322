/* Sending text messages through the configured gateway. See federation/sms.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"
#include "federation/http.h"
#include "federation/sms.h"

const char *const fed_sms_drivers[] = { "none", "http", "file", "log", NULL };
const char *const fed_sms_formats[] = { "json", "form", NULL };
const char *const fed_sms_auths[] = { "none", "bearer", "basic", NULL };

enum sms_driver { SMS_NONE, SMS_HTTP, SMS_FILE, SMS_LOG };

struct fed_sms {
	const struct fed_sms_cfg *cfg;
	enum sms_driver driver;
	char *cred;                      /* the credentials file's line (secret), or NULL */
	size_t credlen;
	struct curl_slist *headers;      /* http: read-only once made */
	bool curl_ref;
	pthread_mutex_t file_lock;       /* file: one line at a time */
};

static bool
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static enum sms_driver
driver_of(const char *name)
{
	if (name == NULL || strcmp(name, "none") == 0)
		return SMS_NONE;
	if (strcmp(name, "http") == 0)
		return SMS_HTTP;
	return strcmp(name, "file") == 0 ? SMS_FILE : SMS_LOG;
}

/* True when the templates of c use {credential}. */
static bool
uses_credential(const struct fed_sms_cfg *c)
{
	return (set(c->url) && strstr(c->url, "{credential}") != NULL) ||
	    (set(c->body) && strstr(c->body, "{credential}") != NULL);
}

/* The http driver's options. */
static int
check_http(const struct fed_sms_cfg *c, const char **key, char *msg, size_t msgsz)
{
	if (!fed_http_url_ok(c->url)) {
		*key = "sms.url";
		snprintf(msg, msgsz, "must be an http:// or https:// URL with a host, without "
		    "spaces, with sms.driver = http");
		return YH_ERR_CONFIG;
	}
	if ((strcmp(c->auth, "none") != 0 || uses_credential(c)) && !set(c->credentials_file)) {
		*key = "sms.credentials_file";
		snprintf(msg, msgsz, "is required with sms.auth = %s or {credential} in a "
		    "template", c->auth);
		return YH_ERR_CONFIG;
	}
	if (set(c->credentials_file)) {
		*key = "sms.credentials_file";
		if (fed_http_cred_check(c->credentials_file, msg, msgsz) != 0)
			return YH_ERR_CONFIG;
	}
	if (set(c->ca_file) && access(c->ca_file, R_OK) != 0) {
		*key = "sms.ca_file";
		snprintf(msg, msgsz, "%s: %s", c->ca_file, strerror(errno));
		return YH_ERR_CONFIG;
	}
	if (!set(c->success_field) || !set(c->success_value)) {
		*key = set(c->success_field) ? "sms.success_value" : "sms.success_field";
		snprintf(msg, msgsz, "must not be empty");
		return YH_ERR_CONFIG;
	}
	return 0;
}

int
fed_sms_cfg_check(const struct fed_sms_cfg *c, const char **key, char *msg, size_t msgsz)
{
	switch (driver_of(c->driver)) {
	case SMS_HTTP:
		return check_http(c, key, msg, msgsz);
	case SMS_FILE:
		if (!set(c->file)) {
			*key = "sms.file";
			snprintf(msg, msgsz, "is required with sms.driver = file");
			return YH_ERR_CONFIG;
		}
		return 0;
	default:
		return 0;
	}
}

/* Appends the header line h. 0 or YH_ERR_ALLOC. */
static int
add_header(struct fed_sms *g, const char *h)
{
	return fed_http_header_add(&g->headers, h);
}

/* The http driver's credential and headers. */
static int
open_http(struct fed_sms *g, char *err, size_t errsz)
{
	const struct fed_sms_cfg *c = g->cfg;
	struct yh_buf hdr;
	char fmsg[512];
	int r = 0;

	yh_buf_init_secret(&hdr, FED_HTTP_CRED_MAX + 64);
	if (set(c->credentials_file) && (r = fed_http_cred_read(c->credentials_file, c->auth,
	    &g->cred, &g->credlen, fmsg, sizeof(fmsg))) != 0) {
		snprintf(err, errsz, "sms.credentials_file: %s", fmsg);
		goto out;
	}
	if (strcmp(c->auth, "bearer") == 0 && ((r = yh_buf_puts(&hdr,
	    "Authorization: Bearer ")) != 0 || (r = yh_buf_puts(&hdr, g->cred)) != 0 ||
	    (r = add_header(g, yh_buf_cstr(&hdr))) != 0))
		goto out;
	if (set(c->body) && (r = add_header(g, strcmp(c->format, "form") == 0 ?
	    "Content-Type: application/x-www-form-urlencoded" :
	    "Content-Type: application/json; charset=utf-8")) != 0)
		goto out;
	if ((r = add_header(g, "Accept: application/json")) != 0 ||
	    (r = add_header(g, "Expect:")) != 0)
		goto out;
	if ((r = fed_http_global_ref()) != 0) {
		snprintf(err, errsz, "sms: libcurl cannot start");
		goto out;
	}
	g->curl_ref = true;
out:
	yh_buf_free(&hdr);
	return r;
}

int
fed_sms_new(const struct fed_sms_cfg *c, struct fed_sms **out, char *err, size_t errsz)
{
	struct fed_sms *g;
	int r = 0;

	*out = NULL;
	err[0] = '\0';
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return YH_ERR_ALLOC;
	g->cfg = c;
	g->driver = driver_of(c->driver);
	pthread_mutex_init(&g->file_lock, NULL);
	if (g->driver == SMS_HTTP && (r = open_http(g, err, errsz)) != 0) {
		if (err[0] == '\0')
			snprintf(err, errsz, "sms: %s", yh_strerror(r));
		fed_sms_free(g);
		return r;
	}
	*out = g;
	return 0;
}

void
fed_sms_free(struct fed_sms *g)
{
	struct curl_slist *h;

	if (g == NULL)
		return;
	for (h = g->headers; h != NULL; h = h->next)
		yh_wipe(h->data, strlen(h->data));
	curl_slist_free_all(g->headers);
	if (g->cred != NULL)
		yh_freezero(g->cred, g->credlen + 1);
	if (g->curl_ref)
		fed_http_global_unref();
	pthread_mutex_destroy(&g->file_lock);
	free(g);
}

bool
fed_sms_enabled(const struct fed_sms *g)
{
	return g != NULL && g->driver != SMS_NONE;
}

const char *
fed_sms_driver(const struct fed_sms *g)
{
	static const char *const names[] = { "none", "http", "file", "log" };

	return g != NULL ? names[g->driver] : "none";
}

/* ---- the drivers --------------------------------------------------------------------- */

/* Appends {"phone": ..., "text": ...} and a newline to sms.file, flushed to disk. */
static void
send_file(struct fed_sms *g, const char *phone, const char *text, struct fed_sms_result *res)
{
	struct yh_buf line;
	int fd = -1;
	ssize_t w;

	yh_buf_init_secret(&line, FED_SMS_TEXT_MAX * 6 + 128);
	if (yh_buf_puts(&line, "{\"phone\":\"") != 0 ||
	    yh_json_escape(&line, phone, strlen(phone)) != 0 ||
	    yh_buf_puts(&line, "\",\"text\":\"") != 0 ||
	    yh_json_escape(&line, text, strlen(text)) != 0 || yh_buf_puts(&line, "\"}\n") != 0) {
		snprintf(res->why, sizeof(res->why), "the message does not fit");
		goto out;
	}
	pthread_mutex_lock(&g->file_lock);
	fd = open(g->cfg->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(res->why, sizeof(res->why), "%s", strerror(errno));
	} else if ((w = write(fd, line.data, line.len)) < 0 || (size_t)w != line.len ||
	    fsync(fd) != 0) {
		snprintf(res->why, sizeof(res->why), "cannot append to the file: %s",
		    w >= 0 && (size_t)w != line.len ? "short write" : strerror(errno));
	} else {
		res->sent = true;
	}
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&g->file_lock);
out:
	yh_buf_free(&line);
}

/* Appends to b the template tpl with {phone}, {text} and {credential} replaced, each
 * value encoded by form: 'u' percent-encoding, 'j' JSON string escapes. */
static int
expand(struct fed_sms *g, struct yh_buf *b, const char *tpl, char form, const char *phone,
    const char *text)
{
	static const char *const names[] = { "{phone}", "{text}", "{credential}" };
	const char *p = tpl;
	int r = 0;

	while (r == 0 && *p != '\0') {
		const char *v = NULL;
		size_t n = 0;

		for (size_t i = 0; i < 3 && v == NULL; i++) {
			n = strlen(names[i]);
			if (strncmp(p, names[i], n) == 0)
				v = i == 0 ? phone : i == 1 ? text : (g->cred != NULL ? g->cred : "");
		}
		if (v == NULL) {
			r = yh_buf_putc(b, *p++);
			continue;
		}
		r = form == 'u' ? yh_url_pct_encode(b, v) : yh_json_escape(b, v, strlen(v));
		p += n;
	}
	return r;
}

/* Maps the platform's 2xx answer: sent when success_field holds success_value. */
static void
map_answer(const struct fed_sms_cfg *c, const struct yh_buf *body, struct fed_sms_result *res)
{
	char text[160];
	json_error_t je;
	json_t *root = json_loadb(body->data != NULL ? body->data : "", body->len,
	    JSON_REJECT_DUPLICATES, &je), *v;

	if (!json_is_object(root)) {
		snprintf(res->why, sizeof(res->why), "the answer is not a JSON object");
		goto out;
	}
	fed_json_text(fed_json_member(root, c->success_field), text, sizeof(text));
	if (text[0] != '\0' && strcmp(text, c->success_value) == 0) {
		res->sent = true;
		goto out;
	}
	snprintf(res->why, sizeof(res->why), "refused by the platform: %s = \"%.60s\"",
	    c->success_field, text);
	if (set(c->error_field) && (v = fed_json_member(root, c->error_field)) != NULL) {
		fed_json_text(v, text, sizeof(text));
		snprintf(res->detail, sizeof(res->detail), "%.128s", text);
	}
out:
	json_decref(root);
}

/* One attempt; true when it is worth another (no answer, or a 5xx). */
static bool
http_attempt(struct fed_sms *g, const char *url, const char *req, struct fed_sms_result *res)
{
	const struct fed_sms_cfg *c = g->cfg;
	char errbuf[CURL_ERROR_SIZE];
	struct yh_buf body;
	bool again = false;
	CURLcode cc;
	CURL *e;

	res->http_status = 0;
	res->why[0] = '\0';
	res->detail[0] = '\0';
	res->attempts++;
	yh_buf_init(&body, FED_SMS_BODY_MAX);
	if ((e = curl_easy_init()) == NULL) {
		snprintf(res->why, sizeof(res->why), "libcurl: cannot make a handle");
		goto out;
	}
	cc = fed_http_setup(e, &(struct fed_http_opts){ .url = url,
	    .user_agent = "yihao sms", .timeout_ms = c->timeout * 1000, .ca_file = c->ca_file,
	    .errbuf = errbuf });
#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
	if (req != NULL) {
		SET(CURLOPT_POSTFIELDS, req);
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(req));
	}
	SET(CURLOPT_HTTPHEADER, g->headers);
	SET(CURLOPT_WRITEFUNCTION, fed_http_collect);
	SET(CURLOPT_WRITEDATA, &body);
	if (strcmp(c->auth, "basic") == 0) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERPWD, g->cred);
	}
#undef SET
	if (cc == CURLE_OK)
		cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res->http_status);
	if (cc == CURLE_WRITE_ERROR) {
		snprintf(res->why, sizeof(res->why), "the answer is over %d bytes",
		    FED_SMS_BODY_MAX);
	} else if (cc != CURLE_OK) {
		snprintf(res->why, sizeof(res->why), "%.150s", errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
		again = true;
	} else if (res->http_status < 200 || res->http_status > 299) {
		snprintf(res->why, sizeof(res->why), "HTTP status %ld", res->http_status);
		again = res->http_status >= 500;
	} else {
		map_answer(c, &body, res);
	}
out:
	if (e != NULL)
		curl_easy_cleanup(e);
	yh_buf_free(&body);
	return again;
}

/* The http driver: the request from the templates, tried at most twice. */
static void
send_http(struct fed_sms *g, const char *phone, const char *text, struct fed_sms_result *res)
{
	const struct fed_sms_cfg *c = g->cfg;
	struct yh_buf url, req;

	yh_buf_init_secret(&url, FED_SMS_REQ_MAX);
	yh_buf_init_secret(&req, FED_SMS_REQ_MAX);
	if (expand(g, &url, c->url, 'u', phone, text) != 0 || (set(c->body) &&
	    expand(g, &req, c->body, strcmp(c->format, "form") == 0 ? 'u' : 'j', phone,
	    text) != 0)) {
		snprintf(res->why, sizeof(res->why), "the request is over %d bytes",
		    FED_SMS_REQ_MAX);
		goto out;
	}
	if (http_attempt(g, yh_buf_cstr(&url), set(c->body) ? yh_buf_cstr(&req) : NULL, res))
		(void)http_attempt(g, yh_buf_cstr(&url), set(c->body) ? yh_buf_cstr(&req) : NULL,
		    res);
out:
	yh_buf_free(&url);
	yh_buf_free(&req);
}

int
fed_sms_send(struct fed_sms *g, const char *phone, const char *text,
    struct fed_sms_result *res)
{
	int64_t t0 = yh_mono_ms();
	size_t pl;

	memset(res, 0, sizeof(*res));
	if (phone == NULL || text == NULL || (pl = strnlen(phone, FED_SMS_PHONE_MAX + 1)) == 0 ||
	    pl > FED_SMS_PHONE_MAX || strnlen(text, FED_SMS_TEXT_MAX + 1) > FED_SMS_TEXT_MAX)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < pl; i++)
		if ((phone[i] < '0' || phone[i] > '9') && phone[i] != '+')
			return YH_ERR_INVALID;
	if (!fed_sms_enabled(g))
		return YH_ERR_NOT_FOUND;
	switch (g->driver) {
	case SMS_HTTP:
		send_http(g, phone, text, res);
		break;
	case SMS_FILE:
		res->attempts = 1;
		send_file(g, phone, text, res);
		break;
	default:
		res->attempts = 1;
		res->sent = true;
		yh_info("SMS to %.3s****%s: %s", phone, pl > 7 ? phone + pl - 4 : "", text);
		break;
	}
	res->latency_ms = yh_mono_ms() - t0;
	return 0;
}

json_t *
fed_sms_audit_fields(const struct fed_sms *g, const struct fed_sms_result *res)
{
	json_t *f = json_pack("{s:s, s:s, s:i, s:I, s:I}", "driver", fed_sms_driver(g),
	    "result", res->sent ? "sent" : "failed", "attempts", res->attempts,
	    "latency_ms", (json_int_t)res->latency_ms, "http_status",
	    (json_int_t)res->http_status), *w;

	if (f == NULL)
		return NULL;
	/* A text cut inside a character is left out rather than failing the line. */
	if (res->why[0] != '\0' && (w = json_string(res->why)) != NULL)
		(void)json_object_set_new(f, "why", w);
	if (res->detail[0] != '\0' && (w = json_string(res->detail)) != NULL)
		(void)json_object_set_new(f, "detail", w);
	return f;
}
