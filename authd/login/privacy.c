/*
 * The privacy notice (PIPL arts. 17, 29): GET /privacy shows it whole, the registration
 * form shows it in a scrolling box and records its version and SHA-256 with the
 * consents (register.c). The operator's notice (registration.privacy_notice_file, with
 * its registration.privacy_notice_version) is read with the configuration, at start and
 * on SIGHUP (authcore/authd_config.c); without one, the built-in notice in the page's
 * language (authd/ui/privacy/notice_*.txt), whose contact line the operator must
 * replace.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "authcore/authd_config.h"
#include "authd/app.h"
#include "authd/login/login.h"
#include "authd/ui/pages.h"
#include "authd/ui/privacy_gen.h"
#include "authd/ui/templates_gen.h"
#include "common/secmem.h"

int
login_notice_get(const struct authd_cfg *cfg, enum page_lang lang, struct login_notice *out)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	enum ui_privacy_file f = lang == PAGE_LANG_EN ? UI_PRIVACY_NOTICE_EN :
	    UI_PRIVACY_NOTICE_ZH;

	memset(out, 0, sizeof(*out));
	if (cfg != NULL && cfg->privacy_text != NULL) {
		out->text = cfg->privacy_text;
		out->len = cfg->privacy_len;
		out->version = cfg->privacy_notice_version;
		memcpy(out->sha256, cfg->privacy_sha256, sizeof(out->sha256));
		return 0;
	}
	out->text = ui_privacy_text[f];
	out->len = ui_privacy_len[f];
	out->version = LOGIN_PRIVACY_BUILTIN_VERSION;
	if (EVP_Digest(out->text, out->len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return YH_ERR_CRYPTO;
	yh_hex_encode(md, 32, out->sha256);
	return 0;
}

int
login_privacy_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	struct login_notice n;
	struct page p;
	int r;

	page_init(&p, req, LOGIN_PRIVACY_PATH);
	if ((r = login_notice_get(app->cfg, p.lang, &n)) != 0) {
		page_free(&p);
		return page_failure_send(req, r);
	}
	page_begin(&p, page_msg(p.lang, PAGE_MSG_PRIVACY_TITLE));
	tpl_privacy_render(&p, &(struct tpl_privacy){ .notice = n.text,
	    .notice_version = n.version });
	return page_send(&p, req, 200);
}
