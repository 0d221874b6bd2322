/*
 * CAS single logout: the body of the LogoutRequest POSTed to a service whose ticket a
 * session that ended had issued (CAS Protocol 3.0, appendix C). The back-channel sender
 * (authd/oidc/backchannel.h) delivers it.
 */
#include <stdlib.h>
#include <string.h>

#include "authd/cas/cas.h"
#include "common/b64.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "common/url.h"

#define SLO_ID_BYTES 16
#define SLO_XML_MAX 2048

/* The LogoutRequest naming ticket, with a random ID, issued at now_ms. */
static int
slo_xml(struct yh_buf *x, const char *ticket, int64_t now_ms)
{
	unsigned char raw[SLO_ID_BYTES];
	char id[3 + (SLO_ID_BYTES * 4 + 2) / 3 + 1] = "LR-", instant[32];
	int r;

	if ((r = yh_random(raw, sizeof(raw))) != 0)
		return r;
	yh_b64url_encode(raw, sizeof(raw), id + 3);
	yh_time_iso8601(now_ms, instant, sizeof(instant));
	if ((r = yh_buf_puts(x, "<samlp:LogoutRequest "
	    "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
	    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"")) == 0 &&
	    (r = yh_buf_puts(x, id)) == 0 &&
	    (r = yh_buf_puts(x, "\" Version=\"2.0\" IssueInstant=\"")) == 0 &&
	    (r = yh_buf_puts(x, instant)) == 0 &&
	    (r = yh_buf_puts(x, "\"><saml:NameID>@NOT_USED@</saml:NameID>"
	    "<samlp:SessionIndex>")) == 0 &&
	    (r = cas_xml_text(x, ticket)) == 0)
		r = yh_buf_puts(x, "</samlp:SessionIndex></samlp:LogoutRequest>");
	return r;
}

int
cas_slo_body(const char *ticket, int64_t now_ms, char **out)
{
	struct yh_buf x, body;
	int r;

	*out = NULL;
	if (ticket == NULL || ticket[0] == '\0' || strlen(ticket) > SLO_XML_MAX / 4)
		return YH_ERR_INVALID;
	yh_buf_init(&x, SLO_XML_MAX);
	yh_buf_init(&body, SLO_XML_MAX * 3 + 32);
	if ((r = slo_xml(&x, ticket, now_ms)) == 0 &&
	    (r = yh_buf_puts(&body, "logoutRequest=")) == 0 &&
	    (r = yh_url_pct_encode(&body, yh_buf_cstr(&x))) == 0 &&
	    (*out = yh_buf_steal(&body)) == NULL)
		r = YH_ERR_ALLOC;
	yh_buf_free(&x);
	yh_buf_free(&body);
	return r;
}
