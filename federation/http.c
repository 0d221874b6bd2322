/* Outbound HTTP with libcurl: the rules every transfer shares. See federation/http.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/atomicfile.h"
#include "common/secmem.h"

#include "federation/http.h"

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_refs;

int
fed_http_global_ref(void)
{
	int r = 0;

	pthread_mutex_lock(&global_lock);
	if (global_refs == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		r = YH_ERR_INTERNAL;
	else
		global_refs++;
	pthread_mutex_unlock(&global_lock);
	return r;
}

void
fed_http_global_unref(void)
{
	pthread_mutex_lock(&global_lock);
	if (global_refs > 0 && --global_refs == 0)
		curl_global_cleanup();
	pthread_mutex_unlock(&global_lock);
}

CURLcode
fed_http_setup(CURL *e, const struct fed_http_opts *o)
{
	CURLcode cc = CURLE_OK;

#define SET(opt, val) \
	do { if (cc == CURLE_OK) cc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, o->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : o->timeout_ms));
	SET(CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	SET(CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
	SET(CURLOPT_USERAGENT, o->user_agent);
	if (o->ca_file != NULL && o->ca_file[0] != '\0')
		SET(CURLOPT_CAINFO, o->ca_file);
	if (o->errbuf != NULL) {
		o->errbuf[0] = '\0';
		SET(CURLOPT_ERRORBUFFER, o->errbuf);
	}
#undef SET
	return cc;
}

size_t
fed_http_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

size_t
fed_http_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct yh_buf *b = userdata;
	size_t n = size * nmemb;

	if (nmemb != 0 && n / nmemb != size)
		return 0;
	return yh_buf_append(b, ptr, n) == 0 ? n : 0;
}

bool
fed_http_url_ok(const char *s)
{
	const char *host;

	if (s == NULL)
		return false;
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return false;
	if (*host == '\0' || *host == '/' || *host == ':')
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

int
fed_http_cred_check(const char *path, char *msg, size_t msgsz)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		snprintf(msg, msgsz, "%s: %s", path, strerror(errno));
		return YH_ERR_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msgsz, "%s: not a regular file", path);
		return YH_ERR_CONFIG;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(msg, msgsz, "%s: accessible by group or others (mode 0%o); chmod 600 it",
		    path, (unsigned)(st.st_mode & 0777));
		return YH_ERR_CONFIG;
	}
	return 0;
}

int
fed_http_cred_read(const char *path, const char *auth, char **out, size_t *outlen,
    char *msg, size_t msgsz)
{
	struct yh_file_fail f;
	bool basic = auth != NULL && strcmp(auth, "basic") == 0;
	char *cred = NULL;
	size_t clen = 0;
	int r;

	*out = NULL;
	*outlen = 0;
	if ((r = yh_file_read_private(path, FED_HTTP_CRED_MAX, &cred, &clen, &f)) != 0) {
		yh_file_fail_msg(&f, msg, msgsz);
		return r == YH_ERR_ALLOC ? r : YH_ERR_CONFIG;
	}
	while (clen > 0 && (cred[clen - 1] == '\n' || cred[clen - 1] == '\r' ||
	    cred[clen - 1] == ' '))
		cred[--clen] = '\0';
	if (clen == 0 || strpbrk(cred, "\r\n") != NULL || (basic && strchr(cred, ':') == NULL)) {
		snprintf(msg, msgsz, "%s", basic ? "expected one line user:password" :
		    "expected one line holding the token");
		yh_freezero(cred, clen + 1);
		return YH_ERR_CONFIG;
	}
	*out = cred;
	*outlen = clen;
	return 0;
}

json_t *
fed_json_member(json_t *o, const char *path)
{
	char part[129];
	const char *p = path;

	for (int depth = 0; depth < FED_JSON_PATH_DEPTH && o != NULL && p != NULL; depth++) {
		const char *dot = strchr(p, '.');
		size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

		if (!json_is_object(o) || len == 0 || len >= sizeof(part))
			return NULL;
		memcpy(part, p, len);
		part[len] = '\0';
		o = json_object_get(o, part);
		if (dot == NULL)
			return o;
		p = dot + 1;
	}
	return NULL;
}

bool
fed_json_path_ok(const char *path)
{
	int parts = 1;
	size_t len = 0;

	if (path == NULL || path[0] == '\0')
		return false;
	for (const char *p = path; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
		if (*p != '.') {
			if (++len > 128)
				return false;
			continue;
		}
		if (len == 0 || ++parts > FED_JSON_PATH_DEPTH)
			return false;
		len = 0;
	}
	return len > 0;
}

bool
fed_json_text(const json_t *v, char *out, size_t outsz)
{
	int n = 0;

	out[0] = '\0';
	if (json_is_string(v))
		n = snprintf(out, outsz, "%s", json_string_value(v));
	else if (json_is_integer(v))
		n = snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
	else if (json_is_true(v))
		n = snprintf(out, outsz, "true");
	else if (json_is_false(v))
		n = snprintf(out, outsz, "false");
	return n >= 0 && (size_t)n < outsz;
}

void
fed_json_text_whole(const json_t *v, char *out, size_t outsz)
{
	if (!fed_json_text(v, out, outsz))
		out[0] = '\0';
}

int
fed_http_header_add(struct curl_slist **l, const char *h)
{
	struct curl_slist *n = curl_slist_append(*l, h);

	if (n == NULL)
		return YH_ERR_ALLOC;
	*l = n;
	return 0;
}
