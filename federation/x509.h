/*
 * X.509 trust across cross-certified CAs, prefix fed_x509_: what lets a certificate in a
 * person's or an enterprise's USBKey vouch for them.
 *
 * Configuration (x509_cfg.c). Two families of keys of authd's file:
 *   cert.ca.NAME.roots = FILE           PEM, one or more trust anchors (required)
 *   cert.ca.NAME.intermediates = FILE   PEM, CA certificates below the roots
 *   cert.ca.NAME.cross_certs = FILE     PEM, cross-certificates issued to or by this CA
 *   cert.ca.NAME.revocation = crl | ocsp | crl+ocsp | none        (default crl)
 *   cert.ca.NAME.fail = closed | open   an unknown revocation status (default closed)
 *   cert.ca.NAME.crl = FILE             a CRL of the CA (DER or PEM), read with the rest
 *   cert.ca.NAME.crl = URL              or an http(s) URL, fetched in the background
 *                                       (fed_x509_trust_crl_*), never on a login
 *   cert.ca.NAME.ocsp = URL             the OCSP responder (default: the certificate's
 *                                       authorityInfoAccess), for revocation ocsp
 *   cert.ca.NAME.profile = PROFILE      where the identity is (default gmt0015)
 *   cert.ca.NAME.policies = OID, ...    the end-entity must name one of them (default: any)
 *   cert.profile.PROFILE.id_number = SOURCE; SOURCE...
 *   cert.profile.PROFILE.credit_code | org_code | reg_number = SOURCE; ...
 *   cert.profile.PROFILE.name = SOURCE; ...   the holder's name (default subject:CN)
 * A SOURCE is `ext:OID` (an extension whose value is a PrintableString, UTF8String or
 * IA5String), `subject:OID` or `subject:CN` / `subject:serialNumber` (an attribute of the
 * subject), `san:OID` (a subjectAltName otherName of that type), each optionally followed
 * by ` ~ REGEX` (POSIX extended; the first group, or the whole match, is the value). A
 * profile not configured and named gmt0015 is built in (GM/T 0015: the ID number from
 * 1.2.156.10260.4.1.1 and the older 1.2.86.11.7.1 and 1.2.156.11.7.1, the credit code
 * from 1.2.156.10260.4.4, the organization code from 1.2.156.10260.4.1.4, the registration
 * number from 1.2.156.10260.4.1.3). Relative files are taken relative to the
 * configuration file; every error names the file and line of the key at fault.
 *
 * Trust (x509.c). fed_x509_trust_load reads every CA's files into one trust
 * set (one X509_STORE of all roots, the intermediates and cross-certificates as the
 * untrusted pool), built once per configuration and shared by threads. fed_x509_verify
 * builds a path from a certificate (and an optional chain the client sent) to a root,
 * through cross-certificates: OpenSSL's path building with validity, basic constraints
 * and path length, name constraints; then this module's checks of the end-entity's key
 * usage (digitalSignature), extended key usage (clientAuth or any, when present) and the
 * CA's policy allow-list. OpenSSL 3.0 verifies an SM2 signature with an empty
 * distinguishing ID unless the certificate carries one: every SM2-signed certificate of
 * the trust set and of the chain gets GM/T 0009's default ID (TOK_SM2_ID).
 *
 * Identity (x509_id.c): the ID number, or the credit code, organization code or
 * registration number, found by the path's CA's profile and checked by identity/idn.
 */
#ifndef YH_FEDERATION_X509_H
#define YH_FEDERATION_X509_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/config.h"
#include "common/err.h"

#define FED_X509_NAME_MAX 32      /* a CA's or a profile's NAME: [a-z0-9_-]{1,32} */
#define FED_X509_WHERE_MAX 320    /* "file:line" */
#define FED_X509_SRC_MAX 8        /* sources of one identity field */
#define FED_X509_CA_MAX 64        /* CAs of one configuration */
#define FED_X509_POLICY_MAX 16    /* OIDs of one allow-list */
#define FED_X509_CHAIN_MAX 16     /* certificates a client may send as its chain */
#define FED_X509_VALUE_MAX 64     /* an identity value as found in a certificate */
#define FED_X509_FILE_MAX (1024 * 1024) /* a roots, intermediates or cross_certs file */

enum fed_x509_rev {
	FED_X509_REV_NONE = 0,
	FED_X509_REV_CRL,
	FED_X509_REV_OCSP,
	FED_X509_REV_CRL_OCSP,
};

/* The identity fields a profile locates. */
enum fed_x509_field {
	FED_X509_ID_NUMBER = 0,
	FED_X509_CREDIT_CODE,
	FED_X509_ORG_CODE,
	FED_X509_REG_NUMBER,
	FED_X509_NAME,        /* the holder's name (not an identity: see fed_x509_identity) */
};
#define FED_X509_FIELDS 4          /* the identity fields, FED_X509_NAME excluded */
#define FED_X509_PROFILE_FIELDS 5  /* what a profile may name */
#define FED_X509_HOLDER_NAME_MAX 256  /* bytes of a holder's name */

enum fed_x509_src_kind { FED_X509_SRC_EXT = 1, FED_X509_SRC_SUBJECT, FED_X509_SRC_SAN };

/* Where one field may be: a place, and a pattern the value must match. */
struct fed_x509_src {
	enum fed_x509_src_kind kind;
	ASN1_OBJECT *oid;
	bool has_re;
	regex_t re;
};

struct fed_x509_profile {
	char name[FED_X509_NAME_MAX + 1];
	struct fed_x509_src src[FED_X509_PROFILE_FIELDS][FED_X509_SRC_MAX];
	size_t nsrc[FED_X509_PROFILE_FIELDS];
	char where[FED_X509_WHERE_MAX];  /* its first key's file:line */
};

/* One CA's block, as configured. Paths are absolute or relative to the file. */
struct fed_x509_ca {
	char name[FED_X509_NAME_MAX + 1];
	char *roots, *intermediates, *cross_certs;
	char where_roots[FED_X509_WHERE_MAX], where_int[FED_X509_WHERE_MAX],
	    where_cross[FED_X509_WHERE_MAX];
	enum fed_x509_rev revocation;
	bool fail_open;
	char *crl;                             /* cert.ca.NAME.crl: a CRL file (DER or PEM) */
	char *crl_url;                         /* or its http(s) URL (then crl is NULL) */
	char *ocsp_url;                        /* cert.ca.NAME.ocsp: the OCSP responder;
	                                        * NULL: the certificate's (AIA) */
	char where_crl[FED_X509_WHERE_MAX];
	char profile[FED_X509_NAME_MAX + 1];   /* "" = gmt0015 */
	char where_profile[FED_X509_WHERE_MAX];
	ASN1_OBJECT *policies[FED_X509_POLICY_MAX];
	size_t npolicies;
	char where[FED_X509_WHERE_MAX];        /* its first key's file:line, or its folder */
	bool from_dir;                         /* a folder of the trust directory */
};

/* The files of a CA's folder in the trust directory (what `authctl ca add` writes). */
#define FED_X509_DIR_ROOTS "roots.pem"
#define FED_X509_DIR_INT "intermediates.pem"
#define FED_X509_DIR_CROSS "cross.pem"

/* The cert.ca.* and cert.profile.* keys of one configuration. */
struct fed_x509_cfg {
	struct fed_x509_ca *ca;
	size_t nca;
	struct fed_x509_profile *prof;
	size_t nprof;
	char *crl_dir;                         /* where the last good copy of each CRL
	                                        * fetched by URL is kept (NAME.crl), set
	                                        * by the program; NULL: none kept */
};

/*
 * The YH_CFG_FAMILY hook of "cert.ca." and "cert.profile." (common/config.h), base
 * pointing at a struct fed_x509_cfg: records one key. Errors: an unknown field, a bad
 * NAME, a key given twice, a bad value (enum, OID, pattern), too many CAs or sources.
 */
int fed_x509_cfg_line(void *base, const char *key, const char *value, const char *file,
    unsigned lineno, struct yh_cfg_err *err) YH_WUR;

/*
 * Adds the CAs of the trust directory dir: each folder NAME holding FED_X509_DIR_ROOTS
 * (and optionally the other two files) is a CA with the default settings (revocation
 * crl, fail closed, the built-in profile). A missing dir is no CA. 0, or YH_ERR_CONFIG
 * (unreadable, a NAME the file configures too) / YH_ERR_ALLOC with err.
 */
int fed_x509_cfg_dir(struct fed_x509_cfg *c, const char *dir, char *err, size_t errsz)
    YH_WUR;

/* Checks what single lines cannot: every CA has roots and names a known profile.
 * 0 or YH_ERR_CONFIG with err ("file:line: ..."). */
int fed_x509_cfg_check(const struct fed_x509_cfg *c, char *err, size_t errsz) YH_WUR;

/* The profile called name ("" or "gmt0015" without a configured one: the built-in). */
const struct fed_x509_profile *fed_x509_profile_find(const struct fed_x509_cfg *c,
    const char *name);

/* Frees everything c holds and zeroes it (safe on a zeroed struct). */
void fed_x509_cfg_free(struct fed_x509_cfg *c);

/* "crl", "ocsp", "crl+ocsp", "none". */
const char *fed_x509_rev_str(enum fed_x509_rev r);

/* --- trust ------------------------------------------------------------------------- */

struct fed_x509_trust;

/*
 * Reads every CA's roots, intermediates and cross-certificates (PEM) into a new trust
 * set. Returns 0, YH_ERR_CONFIG (a file missing, unreadable, holding no certificate or
 * something else than certificates, a root that is not a CA; err names the key's
 * file:line) or YH_ERR_ALLOC. A configuration with no CA gives an empty set (every
 * certificate is then of an unknown CA). Free with fed_x509_trust_free; the set is
 * immutable (but for the CRLs by URL, swapped under a lock) and may be used by many
 * threads at once.
 */
int fed_x509_trust_load(const struct fed_x509_cfg *c, struct fed_x509_trust **out,
    char *err, size_t errsz) YH_WUR;

void fed_x509_trust_free(struct fed_x509_trust *t);

/*
 * CRLs fetched by URL (cert.ca.NAME.crl = URL; or, for a CA whose revocation is crl or
 * crl+ocsp with no cert.ca.NAME.crl, the first http(s) CRL distribution point of a
 * certificate that verified under it, learned at that login and fetched from then on:
 * fed_x509_trust_crl_url gives the one in force). fed_x509_trust_load starts such a CA
 * with the last good copy in cfg->crl_dir (NAME.crl) when there is one that verifies,
 * so a restart needs no network; the program's background task then asks, for each
 * CA i below fed_x509_trust_nca, whether its CRL is due (fed_x509_trust_crl_due: never
 * fetched by this trust set, which a SIGHUP makes anew; none in force; three quarters
 * of the way from thisUpdate to nextUpdate; a failure retried after
 * FED_X509_CRL_RETRY_S), fetches fed_x509_trust_crl_url and hands the answer to
 * fed_x509_trust_crl_put, which checks it as a CRL file is checked, refuses one older
 * than the CRL in force, writes it to crl_dir (atomically) and swaps it in under a
 * lock a login holds only for its lookup. 0, or YH_ERR_INVALID with *why (not a CRL of
 * the CA, a bad signature, older), YH_ERR_IO (the copy not written: the CRL is not
 * taken either), YH_ERR_ALLOC. fed_x509_trust_crl_failed records a failed fetch.
 */
#define FED_X509_CRL_RETRY_S 30
#define FED_X509_URL_MAX 1024
size_t fed_x509_trust_nca(const struct fed_x509_trust *t);
/* The CRL sources: the CAs (0 .. nca - 1), then one per distinct http(s) distribution
 * point a configured intermediate or cross-certificate names, of a CA whose revocation
 * consults CRLs (its issuer's CRL, learned when the trust is loaded; named
 * "NAME.int-HEX" by fed_x509_trust_ca_name, HEX the first 8 bytes of the URL's SHA-256
 * in hex, its copy crl_dir/NAME.int-HEX.crl). The
 * fed_x509_trust_crl_* calls take any index below fed_x509_trust_ncrl. */
size_t fed_x509_trust_ncrl(const struct fed_x509_trust *t);
int fed_x509_trust_crl_url(struct fed_x509_trust *t, size_t i, char *out, size_t outsz)
    YH_WUR;
const char *fed_x509_trust_ca_name(const struct fed_x509_trust *t, size_t i);
bool fed_x509_trust_crl_due(struct fed_x509_trust *t, size_t i, time_t now);
int fed_x509_trust_crl_put(struct fed_x509_trust *t, size_t i, const char *data, size_t n,
    time_t now, const char **why) YH_WUR;
void fed_x509_trust_crl_failed(struct fed_x509_trust *t, size_t i, time_t now);
/* Makes every CRL by URL of t due now (a SIGHUP's refresh). t may be NULL. */
void fed_x509_trust_crl_reset(struct fed_x509_trust *t);

/* Certificates of the trust set, for listing: CA index i's j-th certificate of kind
 * (0 roots, 1 intermediates, 2 cross-certificates), borrowed, or NULL past the end. */
X509 *fed_x509_trust_cert(const struct fed_x509_trust *t, size_t i, int kind, size_t j);

/* Why a certificate was refused (or FED_X509_OK). */
enum fed_x509_why {
	FED_X509_OK = 0,
	FED_X509_BAD_INPUT,       /* not a certificate, too long a chain */
	FED_X509_UNKNOWN_CA,      /* no path to a configured root */
	FED_X509_EXPIRED,         /* a certificate of the path is expired or not yet valid */
	FED_X509_BAD_SIGNATURE,   /* a signature of the path does not verify */
	FED_X509_KEY_USAGE,       /* the end-entity may not sign logins */
	FED_X509_POLICY,          /* no allowed policy */
	FED_X509_CONSTRAINTS,     /* basic, name or path-length constraints */
	FED_X509_NO_IDENTITY,     /* no valid identity where the profile says */
	FED_X509_REVOKED,         /* a CRL in force lists it */
	FED_X509_INVALID,         /* another reason of OpenSSL's (detail has it) */
};

/* "ok", "bad_input", "unknown_ca", "expired", "bad_signature", "key_usage", "policy",
 * "constraints", "no_identity", "invalid", "revoked". */
const char *fed_x509_why_str(enum fed_x509_why w);

enum fed_x509_kind { FED_X509_PERSON = 1, FED_X509_ORG };

/*
 * One certificate's revocation status on the path (fed_x509_result.path_rev). The
 * end-entity as fed_x509_rev_decide sees it; each intermediate (every certificate but
 * the end-entity and the root), for a CA whose revocation consults CRLs, by a CRL in
 * force of its issuer: a CA's CRL (cert.ca.NAME.crl, a file or URL) or one fetched from
 * a configured intermediate's distribution point (never fetched by a login).
 */
enum fed_x509_cert_rev {
	FED_X509_CERT_REV_NOT_CHECKED = 0, /* no CRL of its issuer is published (no source
	                                    * configured, no distribution point), or the CA's
	                                    * revocation does not consult CRLs */
	FED_X509_CERT_REV_GOOD,           /* a CRL in force does not list it */
	FED_X509_CERT_REV_REVOKED,        /* a CRL in force lists it */
	FED_X509_CERT_REV_UNKNOWN,        /* a CRL is published, none in force: fail decides */
	FED_X509_CERT_REV_ANCHOR,         /* the root: a trust anchor, never looked up */
};
#define FED_X509_PATH_MAX 16
struct fed_x509_path_rev {
	enum fed_x509_cert_rev status;
	char source[64];                  /* "crl:THISUPDATE", "ocsp:..." or "" */
};

/* "not_checked", "good", "revoked", "unknown", "trust_anchor". */
const char *fed_x509_cert_rev_str(enum fed_x509_cert_rev s);

/* What verification found. */
struct fed_x509_result {
	enum fed_x509_why why;
	char detail[160];                 /* OpenSSL's reason, or this module's, in English */
	STACK_OF(X509) *path;             /* end-entity first, root last (owned; NULL when
	                                   * no path was built) */
	const struct fed_x509_ca *ca;     /* the CA the path belongs to (borrowed from the
	                                   * configuration), NULL when none */
	enum fed_x509_kind kind;          /* 0 without an identity */
	enum fed_x509_field field;        /* which field identified it */
	char value[FED_X509_VALUE_MAX];   /* its canonical value (ID number, code) */
	char source[96];                  /* where it was: "ext:1.2.156.10260.4.1.1" */
	unsigned char key_sha256[32];     /* SHA-256 of the end-entity's SubjectPublicKeyInfo */
	bool rev_good;                    /* a CRL in force does not list it, or OCSP said good */
	char rev_source[64];              /* "crl:2026-12-06T20:00:00.000Z" (its thisUpdate), or
	                                   * "ocsp:..." (the response's), or "" */
	char rev_why[96];                 /* why OCSP gave no answer, or "" */
	int revoked_depth;                /* with FED_X509_REVOKED: 0 the end-entity, k the
	                                   * path's k-th certificate (an intermediate) */
	struct fed_x509_path_rev path_rev[FED_X509_PATH_MAX]; /* each certificate's status,
	                                   * as the path (end-entity first) */
	char name[FED_X509_HOLDER_NAME_MAX + 1]; /* a person's name by the profile's name
	                                   * sources (fed_x509_holder_name), or "" */
};

/*
 * OCSP (RFC 6960, x509_ocsp.c), for a CA whose revocation is ocsp, or crl+ocsp when its
 * CRL gave no answer: the responder of cert.ca.NAME.ocsp, else the end-entity's
 * authorityInfoAccess, is asked with a nonce (POST, federation/http.c's rules,
 * FED_X509_OCSP_TIMEOUT_MS); the answer counts only when it is successful, its nonce
 * matches (a responder that sends none is accepted), it is signed by the issuer or by a
 * responder the issuer certified for OCSP signing (id-kp-OCSPSigning; SM2 signatures over
 * the to-be-signed bytes with the distinguishing ID), and it is current (thisUpdate to
 * nextUpdate, 5 min of clock skew). good and revoked are kept by the trust set until
 * nextUpdate (5 min without one) for the next login. Sets res as crl_check does:
 * rev_good and rev_source "ocsp:THISUPDATE", or FED_X509_REVOKED; an answer that does
 * not count leaves the status unknown (the CA's fail policy decides) and says why in
 * res->rev_why.
 */
#define FED_X509_OCSP_TIMEOUT_MS 5000
struct fed_x509_ocsp_cache;
void fed_x509_ocsp_check(struct fed_x509_ocsp_cache *c, const struct fed_x509_ca *ca,
    struct fed_x509_result *res, time_t now);
int fed_x509_ocsp_cache_new(struct fed_x509_ocsp_cache **out) YH_WUR;
void fed_x509_ocsp_cache_free(struct fed_x509_ocsp_cache *c);

/* A CRL, its revoked serials sorted for a lookup in O(log n) (x509_crl.c). */
struct fed_x509_crl;

/*
 * Reads the CRL at path (DER or PEM, at most FED_X509_CRL_MAX bytes) and checks its
 * signature with the certificate of issuers whose subject is its issuer: an SM2 CRL over
 * its to-be-signed bytes with SM3 and the default distinguishing ID (X509_CRL_verify
 * cannot pass one), others with X509_CRL_verify. 0, or YH_ERR_CONFIG with *why
 * (unreadable, not a CRL, no issuer among issuers, a signature that does not verify),
 * YH_ERR_ALLOC.
 */
int fed_x509_crl_load(const char *path, STACK_OF(X509) *issuers, struct fed_x509_crl **out,
    const char **why) YH_WUR;

/* Whether sig is k's SM2 signature over the n bytes at tbs, with SM3 and the default
 * distinguishing ID (what OpenSSL's CRL and OCSP calls cannot check). */
bool fed_x509_sm2_tbs_ok(EVP_PKEY *k, const unsigned char *tbs, size_t n,
    const ASN1_BIT_STRING *sig);

/* As fed_x509_crl_load, from the n bytes at text (DER or PEM). */
int fed_x509_crl_parse(const char *text, size_t n, STACK_OF(X509) *issuers,
    struct fed_x509_crl **out, const char **why) YH_WUR;

/* c's thisUpdate and nextUpdate (0: none given), seconds since the epoch. */
time_t fed_x509_crl_this_update(const struct fed_x509_crl *c);
time_t fed_x509_crl_next_update(const struct fed_x509_crl *c);

void fed_x509_crl_free(struct fed_x509_crl *c);

/* True when c is of x's issuer and in force at now (thisUpdate <= now <= nextUpdate). */
bool fed_x509_crl_covers(const struct fed_x509_crl *c, X509 *x, time_t now);

/* True when c's issuer is x's issuer (whether or not c is in force). */
bool fed_x509_crl_of_issuer(const struct fed_x509_crl *c, X509 *x);

/* True when c lists serial. */
bool fed_x509_crl_lists(const struct fed_x509_crl *c, const ASN1_INTEGER *serial);

/* c's thisUpdate as "crl:YYYY-MM-DDTHH:MM:SS.000Z" into out. */
void fed_x509_crl_source(const struct fed_x509_crl *c, char *out, size_t outsz);

#define FED_X509_CRL_MAX (64 * 1024 * 1024)   /* bytes of a CRL file */

/*
 * Verifies leaf with the chain the client sent (may be NULL; at most FED_X509_CHAIN_MAX
 * certificates, read-only: the function works on copies) against t at time now, and
 * extracts its identity by the path's CA's profile. The path's CA is the configured CA
 * owning the certificate of the path nearest to the end-entity (an intermediate, a
 * cross-certificate or a root of its block). Then revocation: the end-entity by its
 * CA's CRL and OCSP, each intermediate by a CRL of its issuer (res->path_rev; one listed
 * is FED_X509_REVOKED with revoked_depth > 0, one whose CRL is published but none in
 * force leaves rev_good false for the CA's fail policy).
 * Returns 0 with res->why FED_X509_OK, or 0 with another why and a detail (refused), or
 * YH_ERR_ALLOC / YH_ERR_CRYPTO. Release res with fed_x509_result_clear.
 */
int fed_x509_verify(const struct fed_x509_trust *t, X509 *leaf, STACK_OF(X509) *chain,
    time_t now, struct fed_x509_result *res) YH_WUR;

void fed_x509_result_clear(struct fed_x509_result *res);

/*
 * Parses a certificate given as base64 DER or PEM (one certificate; surrounding spaces
 * allowed), at most len bytes. 0 or YH_ERR_INVALID.
 */
int fed_x509_parse_cert(const char *s, size_t len, X509 **out) YH_WUR;

/* Parses PEM holding 1..FED_X509_CHAIN_MAX certificates. 0 or YH_ERR_INVALID /
 * YH_ERR_TOO_LONG / YH_ERR_ALLOC. */
int fed_x509_parse_chain(const char *s, size_t len, STACK_OF(X509) **out) YH_WUR;

/* Sets GM/T 0009's default distinguishing ID on x when it is SM2-signed (a no-op
 * otherwise). 0 or YH_ERR_ALLOC. */
int fed_x509_set_sm2_id(X509 *x) YH_WUR;

/*
 * Finds the identity of x by profile p (x509_id.c): the first field that yields a value
 * valid for identity/idn, credit code, organization code and registration number before
 * the ID number (an enterprise certificate may name its holder's ID number too), each
 * field's sources in order. Sets res->kind, field, value, source (and for a person
 * res->name, fed_x509_holder_name); FED_X509_NO_IDENTITY
 * in res->why (with a detail) when none. Returns 0 or YH_ERR_ALLOC.
 */
int fed_x509_identity(X509 *x, const struct fed_x509_profile *p, struct fed_x509_result *res)
    YH_WUR;

/*
 * The name of x's holder by profile p's name sources (the built-in profile, and one
 * naming none: subject:CN), the first that is a usable name: UTF-8 text of at most
 * FED_X509_HOLDER_NAME_MAX bytes with no ASCII digit, '@', '/', '=', ',' or control
 * character (an ID number, an e-mail address or a serial is not a name). "" when none.
 */
void fed_x509_holder_name(X509 *x, const struct fed_x509_profile *p, char *out,
    size_t outsz);

/*
 * Verifies that sig (DER) is the signature of the n bytes msg by the key of x, as a
 * certificate login proves possession: SM2 over SM3 with GM/T 0009's default
 * distinguishing ID for an SM2 key, ECDSA with SHA-256 for a P-256 or P-384 key, RSA
 * PKCS#1 v1.5 with SHA-256 for an RSA key. Returns 0, YH_ERR_AUTH (does not verify),
 * YH_ERR_UNSUPPORTED (another kind of key), YH_ERR_TOO_LONG, YH_ERR_ALLOC.
 */
int fed_x509_proof_verify(X509 *x, const unsigned char *msg, size_t n,
    const unsigned char *sig, size_t siglen) YH_WUR;

/* The proof's algorithm for x's key: "SM2-SM3", "ECDSA-SHA256", "RSA-SHA256", or NULL
 * for a key fed_x509_proof_verify refuses. */
const char *fed_x509_proof_alg(X509 *x);

/*
 * What the revocation policy of ca (cert.ca.NAME.revocation and fail) makes of a path
 * whose end-entity is not revoked: good when a CRL in force does not list it
 * (fed_x509_verify's res->rev_good); with revocation none the certificate is accepted
 * (FED_X509_REV_NOT_REQUIRED); else a status not known (no CRL of its issuer, or one
 * past its nextUpdate, and no OCSP answer that counts) refuses under fail closed
 * (FED_X509_REV_REFUSED) and is accepted under fail open (FED_X509_REV_ACCEPTED_UNKNOWN).
 */
enum fed_x509_rev_decision {
	FED_X509_REV_NOT_REQUIRED = 0,
	FED_X509_REV_REFUSED,
	FED_X509_REV_ACCEPTED_UNKNOWN,
	FED_X509_REV_GOOD,            /* a CRL in force does not list it */
};
enum fed_x509_rev_decision fed_x509_rev_decide(const struct fed_x509_ca *ca, bool good);

/* "not_required", "unknown_refused", "unknown_accepted", "good". */
const char *fed_x509_rev_decision_str(enum fed_x509_rev_decision d);

/*
 * What names the certificate x for a binding to an account (identity/dir's
 * dir_cert_*): id, the lower-case hex SHA-256 of its issuer name (DER) and its serial
 * (DER), so that one issuer's serial is one certificate; issuer, its issuer's name
 * readable (RFC 2253, UTF-8 kept); serial, upper-case hex. Returns 0, YH_ERR_TOO_LONG
 * (a buffer too small), YH_ERR_INVALID (a negative serial), YH_ERR_CRYPTO, YH_ERR_ALLOC.
 */
#define FED_X509_HEX_LEN 64
int fed_x509_cert_names(X509 *x, char id[FED_X509_HEX_LEN + 1], char *issuer,
    size_t issuersz, char *serial, size_t serialsz) YH_WUR;

/* fed_x509_cert_names' id alone. 0 or YH_ERR_CRYPTO. */
int fed_x509_cert_id(X509 *x, char id[FED_X509_HEX_LEN + 1]) YH_WUR;

/* "id_number", "credit_code", "org_code", "reg_number". */
const char *fed_x509_field_str(enum fed_x509_field f);

#endif
