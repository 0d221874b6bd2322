/*
 * Identity numbers, the kinds: kind names, masking, and classifying an unknown value by
 * trying the resident ID, credit code and organization code checks (the shared folding
 * and reasons are reason.c's).
 */
#include <stdint.h>
#include <string.h>

#include "identity/idn/idnum.h"

const char *
idn_kind_str(enum idn_kind k)
{
	switch (k) {
	case IDN_KIND_RESIDENT: return "resident_id";
	case IDN_KIND_USCC: return "uscc";
	case IDN_KIND_ORGCODE: return "org_code";
	case IDN_KIND_NONE: break;
	}
	return NULL;
}

void
idn_mask(const char *canonical, char *out, size_t outsz)
{
	size_t n, head, tail, vis;

	if (out == NULL || outsz == 0)
		return;
	out[0] = '\0';
	if (canonical == NULL)
		return;
	n = strnlen(canonical, outsz);
	if (n >= outsz)
		return;          /* does not fit: show nothing rather than a cut */
	if (n == 18) {
		head = 6;
		tail = 4;
	} else {
		vis = n / 3;
		head = (vis + 1) / 2;
		tail = vis / 2;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (i < head || i >= n - tail) ? canonical[i] : '*';
	out[n] = '\0';
}

/* How far a check got before it failed: the kind that got further is the likelier one. */
static int
reason_depth(enum idn_reason r)
{
	switch (r) {
	case IDN_OK: return 4;
	case IDN_BAD_REGION: case IDN_BAD_BIRTHDATE: case IDN_FUTURE_BIRTHDATE:
	case IDN_BAD_REGISTRATION: case IDN_BAD_ORG_CODE:
		return 3;        /* past the check character */
	case IDN_BAD_CHECKSUM: return 2;
	case IDN_BAD_CHARSET: return 1;
	default: return 0;
	}
}

static enum idn_reason
classify18(const char *s, int today, struct idn_any *out)
{
	enum idn_reason rr, ru;

	rr = idn_resident_check_folded(s, 18, today, &out->resident);
	if (rr == IDN_OK) {
		out->kind = IDN_KIND_RESIDENT;
		return rr;
	}
	ru = idn_uscc_check_folded(s, 18, &out->uscc);
	if (ru == IDN_OK) {
		out->kind = IDN_KIND_USCC;
		return ru;
	}
	/* Both failed. Seventeen digits first read as a resident ID, unless the credit code
	 * check got further (its check character matched). */
	if (reason_depth(ru) > reason_depth(rr) && reason_depth(ru) >= 3) {
		out->kind = IDN_KIND_USCC;
		return ru;
	}
	for (int i = 0; i < 17; i++) {
		if ((unsigned char)(s[i] - '0') > 9) {
			out->kind = IDN_KIND_USCC;
			return ru;
		}
	}
	out->kind = IDN_KIND_RESIDENT;
	return rr;
}

enum idn_reason
idn_classify(const char *in, size_t len, int today, struct idn_any *out)
{
	char buf[IDN_INPUT_MAX + 1];
	struct idn_orgcode oc;
	enum idn_reason r;
	size_t n;

	r = idn_fold_reason(in, len, buf, &n);   /* before clearing: in may alias out */
	memset(out, 0, sizeof(*out));
	if (r == IDN_OK)
		r = idn_folded_reason(buf, n);
	if (r == IDN_SCIENTIFIC) {
		/* 1.10105E+17 stood for 18 digits, 1.10105E+14 for 15: a resident ID. */
		const char *e = memchr(buf, 'E', n);
		size_t el;

		if (e != NULL) {
			e += (e[1] == '+') ? 2 : 1;
			el = n - (size_t)(e - buf);
			if (el == 2 && e[0] == '1' && (e[1] == '7' || e[1] == '4'))
				out->kind = IDN_KIND_RESIDENT;
		}
	}
	if (r != IDN_OK)
		goto out;
	if (n < sizeof(out->canonical))
		memcpy(out->canonical, buf, n + 1);
	switch (n) {
	case 15:
		out->kind = IDN_KIND_RESIDENT;
		r = idn_resident_check_folded(buf, n, today, &out->resident);
		break;
	case 18:
		r = classify18(buf, today, out);
		break;
	case 9:
		out->kind = IDN_KIND_ORGCODE;
		r = idn_orgcode_check_folded(buf, n, &oc);
		if (r == IDN_OK)
			memcpy(out->canonical, oc.canonical, sizeof(oc.canonical));
		break;
	default:
		r = idn_length_reason(buf, n);
		break;
	}
	if (r == IDN_OK && out->kind == IDN_KIND_RESIDENT)
		memcpy(out->canonical, out->resident.canonical, sizeof(out->canonical));
	else if (r == IDN_OK && out->kind == IDN_KIND_USCC)
		memcpy(out->canonical, out->uscc.canonical, sizeof(out->canonical));
out:
	out->reason = r;
	return r;
}
