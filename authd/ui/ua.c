/*
 * The User-Agent summary (see ua.h). Two ordered tables of tokens: the first token
 * found names the family. The order matters because browsers borrow each other's
 * tokens: Edge, Opera and the Chinese browsers all say "Chrome/" and "Safari/", Chrome
 * says "Safari/", an iPhone's browsers all say "Mac OS X" and HarmonyOS says
 * "Android".
 */
#include <stdio.h>
#include <string.h>

#include "authd/ui/ua.h"

struct ua_token {
	const char *token;      /* a substring of the header */
	const char *name;       /* the family it names */
};

static const struct ua_token browsers[] = {
	{ "MicroMessenger/", "WeChat" },
	{ "AlipayClient/", "Alipay" },
	{ " QQ/", "QQ" },
	{ "Edg/", "Edge" }, { "EdgA/", "Edge" }, { "EdgiOS/", "Edge" }, { "Edge/", "Edge" },
	{ "OPR/", "Opera" }, { "Opera", "Opera" },
	{ "UCBrowser/", "UC Browser" },
	{ "QQBrowser/", "QQ Browser" },
	{ "Quark/", "Quark" },
	{ "baiduboxapp/", "Baidu" },
	{ "SamsungBrowser/", "Samsung Internet" },
	{ "HuaweiBrowser/", "Huawei Browser" },
	{ "MiuiBrowser/", "Mi Browser" },
	{ "HeyTapBrowser/", "OPPO Browser" },
	{ "VivoBrowser/", "vivo Browser" },
	{ "Firefox/", "Firefox" }, { "FxiOS/", "Firefox" },
	{ "CriOS/", "Chrome" }, { "Chrome/", "Chrome" }, { "Chromium/", "Chrome" },
	{ "Version/", "Safari" },
	{ "Trident/", "Internet Explorer" }, { "MSIE ", "Internet Explorer" },
};

static const struct ua_token systems[] = {
	{ "HarmonyOS", "HarmonyOS" }, { "OpenHarmony", "HarmonyOS" },
	{ "iPhone", "iPhone" }, { "iPad", "iPad" }, { "iPod", "iPod" },
	{ "Android", "Android" },
	{ "Windows", "Windows" },
	{ "CrOS", "ChromeOS" },
	{ "Macintosh", "macOS" }, { "Mac OS X", "macOS" },
	{ "Linux", "Linux" },
};

/* Whether token occurs in the n bytes at s. */
static int
has(const char *s, size_t n, const char *token)
{
	size_t t = strlen(token);

	for (size_t i = 0; t <= n && i <= n - t; i++)
		if (memcmp(s + i, token, t) == 0)
			return 1;
	return 0;
}

/* The name of the first of the n tokens found in the n bytes at s, or NULL. */
static const char *
first_of(const struct ua_token *t, size_t nt, const char *s, size_t n)
{
	for (size_t i = 0; i < nt; i++)
		if (has(s, n, t[i].token))
			return t[i].name;
	return NULL;
}

/* Whether os is one of Apple's systems. */
static int
apple(const char *os)
{
	return os != NULL && (strcmp(os, "iPhone") == 0 || strcmp(os, "iPad") == 0 ||
	    strcmp(os, "iPod") == 0 || strcmp(os, "macOS") == 0);
}

/* The family name of table t spelled as the n bytes at s, or NULL. */
static const char *
name_of(const struct ua_token *t, size_t nt, const char *s, size_t n)
{
	for (size_t i = 0; i < nt; i++)
		if (strlen(t[i].name) == n && memcmp(t[i].name, s, n) == 0)
			return t[i].name;
	return NULL;
}

/* Reads a summary text ("BROWSER / OS", "?" unknown) into out: false when ua is not one. */
static int
summary_read(const char *ua, size_t n, struct ua_summary *out)
{
	const char *sep = NULL;
	size_t bl, ol;

	for (size_t i = 0; i + 3 <= n; i++)
		if (memcmp(ua + i, " / ", 3) == 0) {
			sep = ua + i;
			break;
		}
	if (sep == NULL)
		return 0;
	bl = (size_t)(sep - ua);
	ol = n - bl - 3;
	out->browser = name_of(browsers, sizeof(browsers) / sizeof(browsers[0]), ua, bl);
	out->os = name_of(systems, sizeof(systems) / sizeof(systems[0]), sep + 3, ol);
	return (out->browser != NULL || (bl == 1 && ua[0] == '?')) &&
	    (out->os != NULL || (ol == 1 && sep[3] == '?'));
}

void
ua_summary_text(const char *ua, char *out, size_t size)
{
	struct ua_summary u = ua_summarize(ua);

	if (size > 0)
		snprintf(out, size, "%s / %s", u.browser != NULL ? u.browser : "?",
		    u.os != NULL ? u.os : "?");
}

struct ua_summary
ua_summarize(const char *ua)
{
	struct ua_summary out = { NULL, NULL };
	size_t n;

	if (ua == NULL)
		return out;
	n = strnlen(ua, UA_SCAN_MAX);
	if (summary_read(ua, n, &out))
		return out;
	out.browser = out.os = NULL;
	out.os = first_of(systems, sizeof(systems) / sizeof(systems[0]), ua, n);
	out.browser = first_of(browsers, sizeof(browsers) / sizeof(browsers[0]), ua, n);
	/* "Version/ ... Safari/" is Safari on Apple's systems only (old Android browsers
	 * say it too). */
	if (out.browser != NULL && strcmp(out.browser, "Safari") == 0 &&
	    (!has(ua, n, "Safari/") || !apple(out.os)))
		out.browser = NULL;
	return out;
}
