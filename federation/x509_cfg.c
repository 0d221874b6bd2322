/* The cert.ca.NAME.* and cert.profile.NAME.* keys (x509.h): parsed line by line from the
 * configuration file, each remembered with the file:line it came from. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/objects.h>

#include "federation/http.h"
#include "federation/x509.h"

#define CA_PREFIX "cert.ca."
#define PROF_PREFIX "cert.profile."
#define BUILTIN_PROFILE "gmt0015"

static const char *const field_names[FED_X509_PROFILE_FIELDS] = {
	"id_number", "credit_code", "org_code", "reg_number", "name",
};

/* GM/T 0015's places, the built-in profile. */
static const char *const builtin_src[FED_X509_PROFILE_FIELDS] = {
	"ext:1.2.156.10260.4.1.1; subject:1.2.156.10260.4.1.1; san:1.2.156.10260.4.1.1; "
	    "ext:1.2.86.11.7.1; subject:1.2.86.11.7.1; ext:1.2.156.11.7.1; "
	    "subject:1.2.156.11.7.1",
	"ext:1.2.156.10260.4.4; subject:1.2.156.10260.4.4",
	"ext:1.2.156.10260.4.1.4; subject:1.2.156.10260.4.1.4",
	"ext:1.2.156.10260.4.1.3; subject:1.2.156.10260.4.1.3",
	"subject:CN",
};

const char *
fed_x509_field_str(enum fed_x509_field f)
{
	return (unsigned)f < FED_X509_PROFILE_FIELDS ? field_names[f] : "?";
}

const char *
fed_x509_rev_str(enum fed_x509_rev r)
{
	switch (r) {
	case FED_X509_REV_CRL: return "crl";
	case FED_X509_REV_OCSP: return "ocsp";
	case FED_X509_REV_CRL_OCSP: return "crl+ocsp";
	case FED_X509_REV_NONE: return "none";
	}
	return "?";
}

enum fed_x509_rev_decision
fed_x509_rev_decide(const struct fed_x509_ca *ca, bool good)
{
	if (ca == NULL || ca->revocation == FED_X509_REV_NONE)
		return FED_X509_REV_NOT_REQUIRED;
	if (good)
		return FED_X509_REV_GOOD;
	return ca->fail_open ? FED_X509_REV_ACCEPTED_UNKNOWN : FED_X509_REV_REFUSED;
}

const char *
fed_x509_rev_decision_str(enum fed_x509_rev_decision d)
{
	switch (d) {
	case FED_X509_REV_NOT_REQUIRED: return "not_required";
	case FED_X509_REV_REFUSED: return "unknown_refused";
	case FED_X509_REV_ACCEPTED_UNKNOWN: return "unknown_accepted";
	case FED_X509_REV_GOOD: return "good";
	}
	return "?";
}

static int
bad(struct yh_cfg_err *err, const char *key, const char *why)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s", key, why);
	return YH_ERR_CONFIG;
}

/* Splits "NAME.FIELD" (rest of a key after its prefix) into name and field. */
static int
split_name(const char *rest, char name[FED_X509_NAME_MAX + 1], const char **field)
{
	const char *dot = strchr(rest, '.');
	size_t n;

	if (dot == NULL || (n = (size_t)(dot - rest)) == 0 || n > FED_X509_NAME_MAX)
		return YH_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", rest[i]) == NULL ||
		    rest[i] == '\0')
			return YH_ERR_INVALID;
	memcpy(name, rest, n);
	name[n] = '\0';
	*field = dot + 1;
	return 0;
}

static ASN1_OBJECT *
oid_parse(const char *s, size_t n)
{
	char buf[128];

	if (n == 0 || n >= sizeof(buf) || strspn(s, "0123456789.") < n)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return OBJ_txt2obj(buf, 1);
}

/* A subject attribute: a dotted OID, or CN / serialNumber. */
static ASN1_OBJECT *
attr_parse(const char *s, size_t n)
{
	if (n == 2 && strncmp(s, "CN", 2) == 0)
		return OBJ_nid2obj(NID_commonName);
	if (n == 12 && strncmp(s, "serialNumber", 12) == 0)
		return OBJ_nid2obj(NID_serialNumber);
	return oid_parse(s, n);
}

static void
src_free(struct fed_x509_src *s)
{
	ASN1_OBJECT_free(s->oid);
	if (s->has_re)
		regfree(&s->re);
	memset(s, 0, sizeof(*s));
}

/* Parses one SOURCE ("ext:OID ~ REGEX") of len bytes at s. */
static int
src_parse(const char *s, size_t len, struct fed_x509_src *out, const char **why)
{
	const char *colon, *tilde, *end = s + len;
	char re[512];
	size_t n;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	memset(out, 0, sizeof(*out));
	if ((colon = memchr(s, ':', (size_t)(end - s))) == NULL) {
		*why = "a source is ext:OID, subject:OID|CN|serialNumber or san:OID";
		return YH_ERR_CONFIG;
	}
	if ((size_t)(colon - s) == 3 && strncmp(s, "ext", 3) == 0)
		out->kind = FED_X509_SRC_EXT;
	else if ((size_t)(colon - s) == 7 && strncmp(s, "subject", 7) == 0)
		out->kind = FED_X509_SRC_SUBJECT;
	else if ((size_t)(colon - s) == 3 && strncmp(s, "san", 3) == 0)
		out->kind = FED_X509_SRC_SAN;
	else {
		*why = "a source is ext:OID, subject:OID|CN|serialNumber or san:OID";
		return YH_ERR_CONFIG;
	}
	colon++;
	tilde = memchr(colon, '~', (size_t)(end - colon));
	n = (size_t)((tilde != NULL ? tilde : end) - colon);
	while (n > 0 && (colon[n - 1] == ' ' || colon[n - 1] == '\t'))
		n--;
	out->oid = out->kind == FED_X509_SRC_SUBJECT ? attr_parse(colon, n) : oid_parse(colon, n);
	if (out->oid == NULL) {
		*why = "not a dotted OID";
		return YH_ERR_CONFIG;
	}
	if (tilde == NULL)
		return 0;
	tilde++;
	while (tilde < end && (*tilde == ' ' || *tilde == '\t'))
		tilde++;
	if ((n = (size_t)(end - tilde)) == 0 || n >= sizeof(re)) {
		src_free(out);
		*why = "an empty or too long pattern after '~'";
		return YH_ERR_CONFIG;
	}
	memcpy(re, tilde, n);
	re[n] = '\0';
	if (regcomp(&out->re, re, REG_EXTENDED) != 0) {
		src_free(out);
		*why = "not a POSIX extended regular expression";
		return YH_ERR_CONFIG;
	}
	out->has_re = true;
	return 0;
}

/* Parses "SOURCE; SOURCE..." into p's field f. */
static int
sources_parse(struct fed_x509_profile *p, enum fed_x509_field f, const char *value,
    const char **why)
{
	const char *s = value, *semi;
	int r;

	if (p->nsrc[f] > 0) {
		*why = "given twice";
		return YH_ERR_CONFIG;
	}
	while (*s != '\0') {
		semi = strchr(s, ';');
		if (p->nsrc[f] == FED_X509_SRC_MAX) {
			*why = "too many sources (at most 8)";
			return YH_ERR_CONFIG;
		}
		r = src_parse(s, semi != NULL ? (size_t)(semi - s) : strlen(s),
		    &p->src[f][p->nsrc[f]], why);
		if (r != 0)
			return r;
		p->nsrc[f]++;
		if (semi == NULL)
			break;
		s = semi + 1;
	}
	if (p->nsrc[f] == 0) {
		*why = "no source";
		return YH_ERR_CONFIG;
	}
	return 0;
}

static void
profile_free(struct fed_x509_profile *p)
{
	for (size_t f = 0; f < FED_X509_PROFILE_FIELDS; f++)
		for (size_t i = 0; i < p->nsrc[f]; i++)
			src_free(&p->src[f][i]);
}

/* The entry called name in an array (CA or profile), appended when missing. */
static void *
entry_get(void **arr, size_t *n, size_t elsz, const char *name, const char *where,
    size_t max)
{
	char *a = *arr;
	void *grown;

	for (size_t i = 0; i < *n; i++)
		if (strcmp(a + i * elsz, name) == 0)   /* name is each struct's first member */
			return a + i * elsz;
	if (*n == max || (grown = realloc(a, (*n + 1) * elsz)) == NULL)
		return NULL;
	*arr = grown;
	a = (char *)grown + *n * elsz;
	memset(a, 0, elsz);
	memcpy(a, name, strlen(name) + 1);
	if (elsz == sizeof(struct fed_x509_ca)) {
		struct fed_x509_ca *ca = (struct fed_x509_ca *)(void *)a;

		snprintf(ca->where, FED_X509_WHERE_MAX, "%s", where);
		ca->revocation = FED_X509_REV_CRL;
	} else
		snprintf(((struct fed_x509_profile *)(void *)a)->where, FED_X509_WHERE_MAX, "%s",
		    where);
	(*n)++;
	return a;
}

static int
path_set(char **slot, char *where_slot, const char *value, const char *file,
    const char *where, const char **why)
{
	if (*slot != NULL) {
		*why = "given twice";
		return YH_ERR_CONFIG;
	}
	if (value[0] == '\0') {
		*why = "an empty path";
		return YH_ERR_CONFIG;
	}
	if ((*slot = yh_cfg_path_resolve(value, file)) == NULL)
		return YH_ERR_ALLOC;
	snprintf(where_slot, FED_X509_WHERE_MAX, "%s", where);
	return 0;
}

/* cert.ca.NAME.crl: a file, or an http(s) URL fetched in the background. */
static int
crl_set(struct fed_x509_ca *ca, const char *value, const char *file, const char *where,
    const char **why)
{
	if (ca->crl != NULL || ca->crl_url != NULL) {
		*why = "given twice";
		return YH_ERR_CONFIG;
	}
	if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
		return path_set(&ca->crl, ca->where_crl, value, file, where, why);
	if (!fed_http_url_ok(value)) {
		*why = "not an http or https URL with a host";
		return YH_ERR_CONFIG;
	}
	if ((ca->crl_url = strdup(value)) == NULL)
		return YH_ERR_ALLOC;
	snprintf(ca->where_crl, FED_X509_WHERE_MAX, "%s", where);
	return 0;
}

static int
policies_parse(struct fed_x509_ca *ca, const char *value, const char **why)
{
	const char *s = value;

	if (ca->npolicies > 0) {
		*why = "given twice";
		return YH_ERR_CONFIG;
	}
	while (*s != '\0') {
		size_t n;

		s += strspn(s, " \t,");
		if ((n = strcspn(s, " \t,")) == 0)
			break;
		if (ca->npolicies == FED_X509_POLICY_MAX) {
			*why = "too many policies (at most 16)";
			return YH_ERR_CONFIG;
		}
		if ((ca->policies[ca->npolicies] = oid_parse(s, n)) == NULL) {
			*why = "not a list of dotted OIDs";
			return YH_ERR_CONFIG;
		}
		ca->npolicies++;
		s += n;
	}
	if (ca->npolicies == 0) {
		*why = "an empty list";
		return YH_ERR_CONFIG;
	}
	return 0;
}

static int
ca_line(struct fed_x509_ca *ca, const char *field, const char *value, const char *file,
    const char *where, const char **why)
{
	if (strcmp(field, "roots") == 0)
		return path_set(&ca->roots, ca->where_roots, value, file, where, why);
	if (strcmp(field, "intermediates") == 0)
		return path_set(&ca->intermediates, ca->where_int, value, file, where, why);
	if (strcmp(field, "cross_certs") == 0)
		return path_set(&ca->cross_certs, ca->where_cross, value, file, where, why);
	if (strcmp(field, "crl") == 0)
		return crl_set(ca, value, file, where, why);
	if (strcmp(field, "ocsp") == 0) {
		if (ca->ocsp_url != NULL || !fed_http_url_ok(value)) {
			*why = ca->ocsp_url != NULL ? "given twice" :
			    "not an http or https URL with a host";
			return YH_ERR_CONFIG;
		}
		return (ca->ocsp_url = strdup(value)) != NULL ? 0 : YH_ERR_ALLOC;
	}
	if (strcmp(field, "revocation") == 0) {
		if (strcmp(value, "crl") == 0)
			ca->revocation = FED_X509_REV_CRL;
		else if (strcmp(value, "ocsp") == 0)
			ca->revocation = FED_X509_REV_OCSP;
		else if (strcmp(value, "crl+ocsp") == 0)
			ca->revocation = FED_X509_REV_CRL_OCSP;
		else if (strcmp(value, "none") == 0)
			ca->revocation = FED_X509_REV_NONE;
		else
			*why = "expected crl, ocsp, crl+ocsp or none";
		return *why != NULL ? YH_ERR_CONFIG : 0;
	}
	if (strcmp(field, "fail") == 0) {
		if (strcmp(value, "closed") != 0 && strcmp(value, "open") != 0)
			*why = "expected closed or open";
		ca->fail_open = strcmp(value, "open") == 0;
		return *why != NULL ? YH_ERR_CONFIG : 0;
	}
	if (strcmp(field, "profile") == 0) {
		const char *f;
		char name[FED_X509_NAME_MAX + 1];
		char probe[FED_X509_NAME_MAX + 3];

		snprintf(probe, sizeof(probe), "%s.", value);
		if (strlen(value) > FED_X509_NAME_MAX || split_name(probe, name, &f) != 0) {
			*why = "a profile name is 1 to 32 of a-z 0-9 _ -";
			return YH_ERR_CONFIG;
		}
		memcpy(ca->profile, name, sizeof(name));
		snprintf(ca->where_profile, FED_X509_WHERE_MAX, "%s", where);
		return 0;
	}
	if (strcmp(field, "policies") == 0)
		return policies_parse(ca, value, why);
	*why = "unknown field (roots, intermediates, cross_certs, crl, ocsp, revocation, fail, "
	    "profile, policies)";
	return YH_ERR_CONFIG;
}

int
fed_x509_cfg_line(void *base, const char *key, const char *value, const char *file,
    unsigned lineno, struct yh_cfg_err *err)
{
	struct fed_x509_cfg *c = base;
	char name[FED_X509_NAME_MAX + 1], where[FED_X509_WHERE_MAX];
	const char *field, *why = NULL;
	bool is_ca = strncmp(key, CA_PREFIX, strlen(CA_PREFIX)) == 0;
	int r;

	if (file != NULL)
		snprintf(where, sizeof(where), "%s:%u", file, lineno);
	else
		snprintf(where, sizeof(where), "%s", value);
	if (split_name(key + strlen(is_ca ? CA_PREFIX : PROF_PREFIX), name, &field) != 0)
		return bad(err, key, "expected cert.ca.NAME.FIELD or cert.profile.NAME.FIELD, "
		    "NAME 1 to 32 of a-z 0-9 _ -");
	if (is_ca) {
		struct fed_x509_ca *ca = entry_get((void **)&c->ca, &c->nca, sizeof(*ca), name,
		    where, FED_X509_CA_MAX);

		if (ca == NULL)
			return bad(err, key, "too many CAs (at most 64), or out of memory");
		r = ca_line(ca, field, value, file, where, &why);
	} else {
		struct fed_x509_profile *p = entry_get((void **)&c->prof, &c->nprof, sizeof(*p),
		    name, where, FED_X509_CA_MAX);
		size_t f;

		if (p == NULL)
			return bad(err, key, "too many profiles (at most 64), or out of memory");
		for (f = 0; f < FED_X509_PROFILE_FIELDS && strcmp(field, field_names[f]) != 0; f++)
			;
		if (f == FED_X509_PROFILE_FIELDS) {
			why = "unknown field (id_number, credit_code, org_code, reg_number, name)";
			r = YH_ERR_CONFIG;
		} else {
			r = sources_parse(p, (enum fed_x509_field)f, value, &why);
		}
	}
	if (r == YH_ERR_ALLOC) {
		bad(err, key, "out of memory");
		return YH_ERR_ALLOC;
	}
	return r != 0 ? bad(err, key, why != NULL ? why : "bad value") : 0;
}

/* The built-in profile, built once. */
static struct fed_x509_profile builtin;
static bool builtin_ok;

static void
builtin_init(void)
{
	const char *why;

	snprintf(builtin.name, sizeof(builtin.name), "%s", BUILTIN_PROFILE);
	snprintf(builtin.where, sizeof(builtin.where), "%s", "built in");
	for (size_t f = 0; f < FED_X509_PROFILE_FIELDS; f++)
		if (sources_parse(&builtin, (enum fed_x509_field)f, builtin_src[f], &why) != 0)
			return;
	builtin_ok = true;
}

const struct fed_x509_profile *
fed_x509_profile_find(const struct fed_x509_cfg *c, const char *name)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (name == NULL || name[0] == '\0')
		name = BUILTIN_PROFILE;
	for (size_t i = 0; c != NULL && i < c->nprof; i++)
		if (strcmp(c->prof[i].name, name) == 0)
			return &c->prof[i];
	if (strcmp(name, BUILTIN_PROFILE) != 0)
		return NULL;
	pthread_once(&once, builtin_init);
	return builtin_ok ? &builtin : NULL;
}

int
fed_x509_cfg_check(const struct fed_x509_cfg *c, char *err, size_t errsz)
{
	for (size_t i = 0; i < c->nca; i++) {
		const struct fed_x509_ca *ca = &c->ca[i];

		if (ca->roots == NULL)
			return YH_FAIL(YH_ERR_CONFIG, err, errsz, "%s: cert.ca.%s.roots is missing "
			    "(every CA needs its root certificates)", ca->where, ca->name);
		if (fed_x509_profile_find(c, ca->profile) == NULL)
			return YH_FAIL(YH_ERR_CONFIG, err, errsz, "%s: cert.ca.%s.profile: no "
			    "profile '%s' (define cert.profile.%s.*)", ca->where_profile, ca->name,
			    ca->profile, ca->profile);
	}
	return 0;
}

void
fed_x509_cfg_free(struct fed_x509_cfg *c)
{
	for (size_t i = 0; i < c->nca; i++) {
		free(c->ca[i].roots);
		free(c->ca[i].intermediates);
		free(c->ca[i].cross_certs);
		free(c->ca[i].crl);
		free(c->ca[i].crl_url);
		free(c->ca[i].ocsp_url);
		for (size_t j = 0; j < c->ca[i].npolicies; j++)
			ASN1_OBJECT_free(c->ca[i].policies[j]);
	}
	for (size_t i = 0; i < c->nprof; i++)
		profile_free(&c->prof[i]);
	free(c->ca);
	free(c->prof);
	free(c->crl_dir);
	memset(c, 0, sizeof(*c));
}

/* Feeds NAME/FILE of the trust directory as cert.ca.NAME.FIELD when FILE exists. */
static int
dir_file(struct fed_x509_cfg *c, const char *dir, const char *name, const char *file,
    const char *field, char *err, size_t errsz)
{
	char path[4200], key[128];
	struct yh_cfg_err e = { .where = "", .msg = "" };
	int r;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);
	if (access(path, F_OK) != 0)
		return 0;
	snprintf(key, sizeof(key), "cert.ca.%s.%s", name, field);
	if ((r = fed_x509_cfg_line(c, key, path, NULL, 0, &e)) != 0)
		return YH_FAIL(r, err, errsz, "%s/%s: %s", dir, name, e.msg);
	return 0;
}

int
fed_x509_cfg_dir(struct fed_x509_cfg *c, const char *dir, char *err, size_t errsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : YH_FAIL(YH_ERR_CONFIG, err, errsz, "%s: cannot "
		    "read the trust directory: %s", dir, strerror(errno));
	while (r == 0 && (de = readdir(d)) != NULL) {
		char probe[FED_X509_NAME_MAX + 3], name[FED_X509_NAME_MAX + 1];
		size_t n = strlen(de->d_name);
		const char *f;

		if (de->d_name[0] == '.' || n > FED_X509_NAME_MAX)
			continue;
		memcpy(probe, de->d_name, n);
		memcpy(probe + n, ".", 2);
		if (split_name(probe, name, &f) != 0)
			continue;   /* not a CA's folder: a temporary file, an editor's copy */
		for (size_t i = 0; i < c->nca; i++)
			if (strcmp(c->ca[i].name, name) == 0)
				r = YH_FAIL(YH_ERR_CONFIG, err, errsz, "%s/%s: a CA called %s is "
				    "configured at %s", dir, name, name, c->ca[i].where);
		if (r == 0)
			r = dir_file(c, dir, name, FED_X509_DIR_ROOTS, "roots", err, errsz);
		if (r == 0)
			r = dir_file(c, dir, name, FED_X509_DIR_INT, "intermediates", err, errsz);
		if (r == 0)
			r = dir_file(c, dir, name, FED_X509_DIR_CROSS, "cross_certs", err, errsz);
		for (size_t i = 0; r == 0 && i < c->nca; i++)
			if (strcmp(c->ca[i].name, name) == 0) {
				c->ca[i].from_dir = true;
				snprintf(c->ca[i].where, FED_X509_WHERE_MAX, "%s/%s", dir, name);
			}
	}
	closedir(d);
	return r;
}
