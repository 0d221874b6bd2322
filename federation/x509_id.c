/* The identity in a certificate (x509.h): the places a profile names, the first value
 * identity/idn accepts. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "federation/x509.h"
#include "identity/idn/idnum.h"

/* value as UTF-8 into out when it is a text string type; 0 or YH_ERR_INVALID. */
static int
text_of(const ASN1_STRING *v, char *out, size_t outsz)
{
	unsigned char *u = NULL;
	int n;

	if (v == NULL)
		return YH_ERR_INVALID;
	switch (ASN1_STRING_type(v)) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_IA5STRING:
	case V_ASN1_BMPSTRING:
	case V_ASN1_T61STRING:
		break;
	default:
		return YH_ERR_INVALID;
	}
	if ((n = ASN1_STRING_to_UTF8(&u, v)) < 0 || (size_t)n >= outsz ||
	    memchr(u, '\0', (size_t)n) != NULL) {
		OPENSSL_free(u);
		return YH_ERR_INVALID;
	}
	memcpy(out, u, (size_t)n);
	out[n] = '\0';
	OPENSSL_free(u);
	return 0;
}

/* An extension's value: DER of a string inside the extension's OCTET STRING. */
static int
from_ext(X509 *x, const ASN1_OBJECT *oid, char *out, size_t outsz)
{
	int i = X509_get_ext_by_OBJ(x, oid, -1);
	const ASN1_OCTET_STRING *os;
	const unsigned char *p;
	ASN1_TYPE *t;
	int r = YH_ERR_INVALID;

	if (i < 0 || (os = X509_EXTENSION_get_data(X509_get_ext(x, i))) == NULL)
		return YH_ERR_INVALID;
	p = ASN1_STRING_get0_data(os);
	if ((t = d2i_ASN1_TYPE(NULL, &p, ASN1_STRING_length(os))) == NULL)
		return YH_ERR_INVALID;
	if (p == ASN1_STRING_get0_data(os) + ASN1_STRING_length(os) &&
	    t->type != V_ASN1_BOOLEAN && t->type != V_ASN1_OBJECT && t->type != V_ASN1_NULL)
		r = text_of(t->value.asn1_string, out, outsz);
	ASN1_TYPE_free(t);
	return r;
}

static int
from_subject(X509 *x, const ASN1_OBJECT *oid, char *out, size_t outsz)
{
	const X509_NAME *n = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_OBJ(n, oid, -1);

	if (i < 0)
		return YH_ERR_INVALID;
	return text_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)), out, outsz);
}

static int
from_san(X509 *x, const ASN1_OBJECT *oid, char *out, size_t outsz)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int r = YH_ERR_INVALID;

	for (int i = 0; gens != NULL && r != 0 && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		ASN1_TYPE *v;

		if (g->type != GEN_OTHERNAME || OBJ_cmp(g->d.otherName->type_id, oid) != 0)
			continue;
		v = g->d.otherName->value;
		if (v != NULL && v->type != V_ASN1_BOOLEAN && v->type != V_ASN1_OBJECT &&
		    v->type != V_ASN1_NULL)
			r = text_of(v->value.asn1_string, out, outsz);
	}
	GENERAL_NAMES_free(gens);
	return r;
}

/* Applies src's pattern to raw: the first group, or the whole match. */
static int
pattern(const struct fed_x509_src *src, char *raw, size_t rawsz)
{
	regmatch_t m[2];
	size_t n;

	if (!src->has_re)
		return 0;
	if (regexec(&src->re, raw, 2, m, 0) != 0)
		return YH_ERR_INVALID;
	if (m[1].rm_so < 0)
		m[1] = m[0];
	n = (size_t)(m[1].rm_eo - m[1].rm_so);
	if (n >= rawsz)
		return YH_ERR_INVALID;
	memmove(raw, raw + m[1].rm_so, n);
	raw[n] = '\0';
	return 0;
}

/* Checks raw as field f; its canonical form into out. */
static bool
valid(enum fed_x509_field f, const char *raw, char *out, size_t outsz)
{
	size_t n = strlen(raw);
	char folded[FED_X509_VALUE_MAX];
	struct idn_resident rid;
	struct idn_uscc u;
	struct idn_orgcode oc;

	switch (f) {
	case FED_X509_ID_NUMBER:
		if (idn_resident_check(raw, n, &rid) != IDN_OK)
			return false;
		break;
	case FED_X509_CREDIT_CODE:
		if (idn_uscc_check(raw, n, &u) != IDN_OK)
			return false;
		break;
	case FED_X509_ORG_CODE:
		if (idn_orgcode_check(raw, n, &oc) != IDN_OK)
			return false;
		break;
	case FED_X509_REG_NUMBER:
		/* The old business registration number: 15 digits. */
		if (n != 15 || strspn(raw, "0123456789") != 15)
			return false;
		break;
	case FED_X509_NAME:   /* not an identity (fed_x509_holder_name) */
		return false;
	}
	if (idn_fold(raw, n, folded, sizeof(folded)) != 0)
		return false;
	snprintf(out, outsz, "%s", folded);
	return true;
}

static void
source_name(const struct fed_x509_src *s, char *out, size_t outsz)
{
	char oid[80];

	OBJ_obj2txt(oid, sizeof(oid), s->oid, s->kind == FED_X509_SRC_SUBJECT ? 0 : 1);
	snprintf(out, outsz, "%s:%s%s",
	    s->kind == FED_X509_SRC_EXT ? "ext" : s->kind == FED_X509_SRC_SAN ? "san" : "subject",
	    oid, s->has_re ? " ~" : "");
}

int
fed_x509_identity(X509 *x, const struct fed_x509_profile *p, struct fed_x509_result *res)
{
	static const enum fed_x509_field order[FED_X509_FIELDS] = {
		FED_X509_CREDIT_CODE, FED_X509_ORG_CODE, FED_X509_REG_NUMBER,
		FED_X509_ID_NUMBER,
	};
	char raw[FED_X509_VALUE_MAX * 4];

	for (size_t k = 0; p != NULL && k < FED_X509_FIELDS; k++) {
		enum fed_x509_field f = order[k];

		for (size_t i = 0; i < p->nsrc[f]; i++) {
			const struct fed_x509_src *s = &p->src[f][i];
			int r = s->kind == FED_X509_SRC_EXT ? from_ext(x, s->oid, raw, sizeof(raw)) :
			    s->kind == FED_X509_SRC_SAN ? from_san(x, s->oid, raw, sizeof(raw)) :
			    from_subject(x, s->oid, raw, sizeof(raw));

			if (r != 0 || pattern(s, raw, sizeof(raw)) != 0 ||
			    !valid(f, raw, res->value, sizeof(res->value)))
				continue;
			res->kind = f == FED_X509_ID_NUMBER ? FED_X509_PERSON : FED_X509_ORG;
			res->field = f;
			source_name(s, res->source, sizeof(res->source));
			if (f == FED_X509_ID_NUMBER)
				fed_x509_holder_name(x, p, res->name, sizeof(res->name));
			return 0;
		}
	}
	res->why = FED_X509_NO_IDENTITY;
	snprintf(res->detail, sizeof(res->detail), "no valid ID number or organization code "
	    "where the profile '%s' looks", p != NULL ? p->name : "?");
	return 0;
}

/* Whether s can be a person's name: no ASCII digit, '@', '/', '=', ',' or control
 * character, not only spaces. */
static bool
name_usable(const char *s)
{
	bool seen = false;

	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c < 0x20 || *c == 0x7f || (*c >= '0' && *c <= '9') ||
		    strchr("@/=,", *c) != NULL)
			return false;
		seen = seen || *c != ' ';
	}
	return seen;
}

void
fed_x509_holder_name(X509 *x, const struct fed_x509_profile *p, char *out, size_t outsz)
{
	static const struct fed_x509_src cn = { .kind = FED_X509_SRC_SUBJECT };
	char raw[FED_X509_HOLDER_NAME_MAX + 1];
	size_t n = p != NULL ? p->nsrc[FED_X509_NAME] : 0;

	out[0] = '\0';
	for (size_t i = 0; i < (n > 0 ? n : 1); i++) {
		const struct fed_x509_src *s = n > 0 ? &p->src[FED_X509_NAME][i] : &cn;
		const ASN1_OBJECT *oid = n > 0 ? s->oid : OBJ_nid2obj(NID_commonName);
		int r = s->kind == FED_X509_SRC_EXT ? from_ext(x, oid, raw, sizeof(raw)) :
		    s->kind == FED_X509_SRC_SAN ? from_san(x, oid, raw, sizeof(raw)) :
		    from_subject(x, oid, raw, sizeof(raw));

		if (r != 0 || pattern(s, raw, sizeof(raw)) != 0 || !name_usable(raw) ||
		    strlen(raw) >= outsz)
			continue;
		snprintf(out, outsz, "%s", raw);
		return;
	}
}
