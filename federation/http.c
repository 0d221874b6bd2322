/* Outbound HTTP with libcurl: the rules every transfer shares. See federation/http.h. */
#include <pthread.h>

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
