/*
 * authctl cert check FILE [--chain FILE]: verifies a certificate against the CAs of -c's
 * cert.ca.* blocks and the trust directory, and prints as one JSON object the path it
 * built (each certificate's subject, issuer, serial, signature and key algorithm,
 * validity), the CA the path belongs to, the identity it found (masked) and where, and
 * the revocation policy, status (the CA's CRL, cert.ca.NAME.crl) and source, and each
 * certificate's of the path (path[i].revocation: status and source). With
 * --challenge and --signature also whether SIG_FILE (DER or base64 DER) is the certificate key's signature of the challenge as a login checks it
 * ("proof"). Exit 0 when the certificate would log in (and the proof holds), 1 when
 * refused (the reason in "reason" and "detail"), 2 on a usage or operational error.
 *
 * authctl ca list | add NAME --roots FILE [--intermediates FILE] [--cross-certs FILE] |
 * remove NAME: the CAs in force (the file's and the trust directory's), and the trust
 * directory's folders (cert.trust_dir, by default STATE_DIR/ca), which authd reads at
 * start and on SIGHUP. A CA of the file is changed in the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "authcore/authd_config.h"
#include "authctl/ctl.h"
#include "common/atomicfile.h"
#include "common/b64.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"

#define CTL_CERT_FILE_MAX (256 * 1024)

static void
cert_usage(FILE *f)
{
	fprintf(f, "usage: authctl [-c FILE] cert check CERT_FILE [--chain PEM_FILE] "
	    "[--challenge TEXT --signature SIG_FILE]\n");
}

static void
ca_usage(FILE *f)
{
	fprintf(f, "usage: authctl [-c FILE] ca list\n"
	    "       authctl [-c FILE] ca add NAME --roots PEM [--intermediates PEM] "
	    "[--cross-certs PEM]\n"
	    "       authctl [-c FILE] ca remove NAME\n");
}

static int
read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return ctl_fail("%s: %s", path, strerror(errno));
	r = yh_file_read_fd(fd, CTL_CERT_FILE_MAX, false, out, len);
	close(fd);
	if (r != 0)
		return ctl_fail("%s: %s", path, yh_strerror(r));
	return 0;
}

static int
load_cfg(struct authd_cfg *cfg)
{
	char err[1024];

	if (authd_cfg_load(cfg, ctl_opts.config_path, ctl_opts.state_dir, NULL, err,
	    sizeof(err)) != 0) {
		authd_cfg_free(cfg);
		return ctl_fail("%s", err);
	}
	return 0;
}

/* The key's algorithm: "SM2 256", "EC P-256", "RSA 2048". */
static void
key_name(X509 *x, char *out, size_t outsz)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	char group[64] = "";

	if (k == NULL) {
		snprintf(out, outsz, "unknown");
		return;
	}
	if (EVP_PKEY_is_a(k, "RSA")) {
		snprintf(out, outsz, "RSA %d", EVP_PKEY_get_bits(k));
		return;
	}
	EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	    NULL);
	if (strcmp(group, "SM2") == 0)
		snprintf(out, outsz, "SM2 %d", EVP_PKEY_get_bits(k));
	else if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		snprintf(out, outsz, "EC P-256");
	else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		snprintf(out, outsz, "EC P-384");
	else
		snprintf(out, outsz, "%s %s", EVP_PKEY_get0_type_name(k), group);
}

static void
set_time(json_t *o, const char *k, const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		json_object_set_new(o, k, json_null());
		return;
	}
	ctl_set_time(o, k, (int64_t)timegm(&tm));
}

static json_t *
cert_json(X509 *x)
{
	json_t *o = json_object();
	char buf[512];
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
	ctl_set_str(o, "subject", buf);
	X509_NAME_oneline(X509_get_issuer_name(x), buf, sizeof(buf));
	ctl_set_str(o, "issuer", buf);
	ctl_set_str(o, "serial", hex);
	ctl_set_str(o, "signature", OBJ_nid2ln(X509_get_signature_nid(x)));
	key_name(x, buf, sizeof(buf));
	ctl_set_str(o, "key", buf);
	set_time(o, "not_before", X509_get0_notBefore(x));
	set_time(o, "not_after", X509_get0_notAfter(x));
	OPENSSL_free(hex);
	BN_free(bn);
	return o;
}

static json_t *
identity_json(const struct fed_x509_result *res)
{
	json_t *o;
	char masked[FED_X509_VALUE_MAX];

	if (res->kind == 0)
		return json_null();
	o = json_object();
	idn_mask(res->value, masked, sizeof(masked));
	ctl_set_str(o, "kind", res->kind == FED_X509_PERSON ? "person" : "organization");
	ctl_set_str(o, "field", fed_x509_field_str(res->field));
	ctl_set_str(o, "value", res->field == FED_X509_ID_NUMBER ? masked : res->value);
	ctl_set_str(o, "source", res->source);
	return o;
}

static json_t *
revocation_json(const struct fed_x509_result *res)
{
	const struct fed_x509_ca *ca = res->ca;
	json_t *o;

	if (ca == NULL)
		return json_null();
	o = json_object();
	ctl_set_str(o, "policy", fed_x509_rev_str(ca->revocation));
	ctl_set_str(o, "fail", ca->fail_open ? "open" : "closed");
	ctl_set_str(o, "status", res->why == FED_X509_REVOKED ? "revoked" :
	    fed_x509_rev_decision_str(fed_x509_rev_decide(ca, res->rev_good)));
	ctl_set_str(o, "source", res->rev_source[0] != '\0' ? res->rev_source : NULL);
	return o;
}

/* The certificate would log in: verified, and its revocation policy lets it. */
static bool
cert_ok(const struct fed_x509_result *res)
{
	return res->why == FED_X509_OK &&
	    fed_x509_rev_decide(res->ca, res->rev_good) != FED_X509_REV_REFUSED;
}

static json_t *
result_json(const char *file, X509 *leaf, const struct fed_x509_result *res)
{
	json_t *o = json_object(), *path = json_array();
	char hex[65];

	ctl_set_str(o, "file", file);
	json_object_set_new(o, "ok", json_boolean(cert_ok(res)));
	ctl_set_str(o, "reason", res->why == FED_X509_OK && !cert_ok(res) ?
	    "revocation_unknown" : fed_x509_why_str(res->why));
	ctl_set_str(o, "detail", res->detail[0] != '\0' ? res->detail : NULL);
	ctl_set_str(o, "ca", res->ca != NULL ? res->ca->name : NULL);
	if (res->path != NULL)
		for (int i = 0; i < sk_X509_num(res->path); i++) {
			json_t *c = cert_json(sk_X509_value(res->path, i));

			if (res->ca != NULL && i < FED_X509_PATH_MAX)
				json_object_set_new(c, "revocation", json_pack("{s:s, s:s?}",
				    "status", fed_x509_cert_rev_str(res->path_rev[i].status),
				    "source", res->path_rev[i].source[0] != '\0' ?
				    res->path_rev[i].source : NULL));
			json_array_append_new(path, c);
		}
	else
		json_array_append_new(path, cert_json(leaf));
	json_object_set_new(o, "path", path);
	json_object_set_new(o, "identity", identity_json(res));
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", res->key_sha256[i]);
	ctl_set_str(o, "key_sha256", res->path != NULL ? hex : NULL);
	json_object_set_new(o, "revocation", revocation_json(res));
	return o;
}

/* "proof": whether sig_file holds x's signature of challenge. */
static int
proof_json(X509 *x, const char *challenge, const char *sig_file, json_t *o, bool *valid)
{
	unsigned char sig[1024];
	char *s = NULL;
	size_t n = 0, siglen = 0;
	json_t *p;
	int r;

	*valid = false;
	if (read_file(sig_file, &s, &n) != 0)
		return 2;
	if (yh_b64_decode(s, n > 0 && s[n - 1] == '\n' ? n - 1 : n, sig, sizeof(sig),
	    &siglen) != 0) {
		if (n > sizeof(sig)) {
			free(s);
			return ctl_fail("%s: not a signature (DER or base64 DER)", sig_file);
		}
		memcpy(sig, s, n);
		siglen = n;
	}
	free(s);
	r = fed_x509_proof_verify(x, (const unsigned char *)challenge, strlen(challenge), sig,
	    siglen);
	if (r != 0 && r != YH_ERR_AUTH && r != YH_ERR_UNSUPPORTED)
		return ctl_fail("cert check: the signature: %s", yh_strerror(r));
	*valid = r == 0;
	p = json_object();
	ctl_set_str(p, "algorithm", fed_x509_proof_alg(x));
	json_object_set_new(p, "valid", json_boolean(*valid));
	json_object_set_new(o, "proof", p);
	return 0;
}

/* The certificate in file: PEM, base64 DER or DER. */
static int
read_cert(const char *file, X509 **x)
{
	char *s = NULL;
	size_t n = 0;
	const unsigned char *p;

	if (read_file(file, &s, &n) != 0)
		return 2;
	if (fed_x509_parse_cert(s, n, x) != 0) {
		p = (const unsigned char *)s;
		*x = d2i_X509(NULL, &p, (long)n);
		if (*x != NULL && p != (const unsigned char *)s + n) {
			X509_free(*x);
			*x = NULL;
		}
	}
	free(s);
	return *x != NULL ? 0 : ctl_fail("%s: not a certificate (PEM, base64 DER or DER)", file);
}

static int
cert_check(int argc, char **argv)
{
	struct authd_cfg cfg;
	struct fed_x509_result res;
	STACK_OF(X509) *chain = NULL;
	const char *file = NULL, *chain_file = NULL, *challenge = NULL, *sig_file = NULL;
	X509 *leaf = NULL;
	json_t *out;
	bool proof_ok = true;
	int rc = 2;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--chain") == 0 && i + 1 < argc)
			chain_file = argv[++i];
		else if (strcmp(argv[i], "--challenge") == 0 && i + 1 < argc)
			challenge = argv[++i];
		else if (strcmp(argv[i], "--signature") == 0 && i + 1 < argc)
			sig_file = argv[++i];
		else if (file == NULL && argv[i][0] != '-')
			file = argv[i];
		else
			return ctl_fail("cert check: unexpected argument '%s'", argv[i]);
	}
	if (file == NULL || (challenge == NULL) != (sig_file == NULL)) {
		cert_usage(stderr);
		return 2;
	}
	if (read_cert(file, &leaf) != 0)
		return 2;
	if (chain_file != NULL) {
		char *s = NULL;
		size_t n = 0;

		if (read_file(chain_file, &s, &n) != 0)
			goto out;
		if (fed_x509_parse_chain(s, n, &chain) != 0) {
			free(s);
			ctl_fail("%s: expected PEM holding 1 to %d certificates", chain_file,
			    FED_X509_CHAIN_MAX);
			goto out;
		}
		free(s);
	}
	if (load_cfg(&cfg) != 0)
		goto out;
	if (cfg.cert_trust == NULL) {
		authd_cfg_free(&cfg);
		ctl_fail("no CA is configured (cert.ca.NAME.roots, or authctl ca add)");
		goto out;
	}
	if (fed_x509_verify(cfg.cert_trust, leaf, chain, time(NULL), &res) != 0) {
		authd_cfg_free(&cfg);
		ctl_fail("cert check: out of memory or a crypto library failure");
		goto out;
	}
	out = result_json(file, leaf, &res);
	if (challenge != NULL && proof_json(leaf, challenge, sig_file, out, &proof_ok) != 0) {
		json_decref(out);
		fed_x509_result_clear(&res);
		authd_cfg_free(&cfg);
		goto out;
	}
	rc = ctl_print_json(out);
	if (rc == 0 && (!cert_ok(&res) || !proof_ok))
		rc = 1;
	fed_x509_result_clear(&res);
	authd_cfg_free(&cfg);
out:
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	return rc;
}

int
ctl_cert(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "check", cert_check },
		{ NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "cert", cert_usage, cmds);
}

/* ---- ca */

static json_t *
ca_json(const struct authd_cfg *cfg, size_t i)
{
	static const char *const kinds[3] = { "root", "intermediate", "cross" };
	const struct fed_x509_ca *ca = &cfg->cert.ca[i];
	json_t *o = json_object(), *certs = json_array();
	X509 *x;

	ctl_set_str(o, "name", ca->name);
	ctl_set_str(o, "origin", ca->where);
	json_object_set_new(o, "trust_dir", json_boolean(ca->from_dir));
	ctl_set_str(o, "revocation", fed_x509_rev_str(ca->revocation));
	ctl_set_str(o, "fail", ca->fail_open ? "open" : "closed");
	ctl_set_str(o, "profile", ca->profile[0] != '\0' ? ca->profile : "gmt0015");
	for (int k = 0; k < 3; k++)
		for (size_t j = 0; (x = fed_x509_trust_cert(cfg->cert_trust, i, k, j)) != NULL;
		    j++) {
			json_t *c = cert_json(x);

			ctl_set_str(c, "kind", kinds[k]);
			json_array_append_new(certs, c);
		}
	json_object_set_new(o, "certificates", certs);
	return o;
}

static int
ca_list(int argc, char **argv)
{
	struct authd_cfg cfg;
	json_t *arr;
	int rc;

	if (argc != 2) {
		ca_usage(stderr);
		return 2;
	}
	if (load_cfg(&cfg) != 0)
		return 2;
	arr = json_array();
	for (size_t i = 0; i < cfg.cert.nca; i++)
		json_array_append_new(arr, ca_json(&cfg, i));
	rc = ctl_print_json(arr);
	authd_cfg_free(&cfg);
	return rc;
}

/* The trust directory's folder for name, with the directory made when make is set. */
static int
ca_folder(const struct authd_cfg *cfg, const char *name, bool make, char *out, size_t outsz)
{
	char *dir = authd_cfg_state_path(cfg, cfg->cert_trust_dir, "ca");
	int r = 0;

	if (dir == NULL)
		return ctl_fail("out of memory");
	if (make && mkdir(dir, 0755) != 0 && errno != EEXIST)
		r = ctl_fail("%s: %s", dir, strerror(errno));
	snprintf(out, outsz, "%s/%s", dir, name);
	if (r == 0 && make && mkdir(out, 0755) != 0)
		r = ctl_fail("%s: %s", out, strerror(errno));
	free(dir);
	return r;
}

/* Checks the files as a CA named name would be read, before anything is written. */
static int
ca_try(const char *name, const char *const files[3])
{
	static const char *const fields[3] = { "roots", "intermediates", "cross_certs" };
	struct fed_x509_cfg c = { 0 };
	struct fed_x509_trust *t = NULL;
	struct yh_cfg_err e = { .where = "", .msg = "" };
	char key[96], err[1024];
	int r = 0;

	for (int k = 0; r == 0 && k < 3; k++) {
		if (files[k] == NULL)
			continue;
		snprintf(key, sizeof(key), "cert.ca.%s.%s", name, fields[k]);
		if ((r = fed_x509_cfg_line(&c, key, files[k], NULL, 0, &e)) != 0)
			ctl_fail("%s", e.msg);
	}
	if (r == 0 && (r = fed_x509_trust_load(&c, &t, err, sizeof(err))) != 0)
		ctl_fail("%s", err);
	fed_x509_trust_free(t);
	fed_x509_cfg_free(&c);
	return r != 0 ? 2 : 0;
}

/* Records event for CA name in the audit trail (the state made when create is set). */
static int
ca_record(const char *event, const char *name, bool create)
{
	struct ident *id = NULL;
	json_t *f;
	int r;

	if (ctl_open_state(create, &id) != 0)
		return 2;
	if (event == NULL) {
		ident_close(id);
		return 0;
	}
	f = json_pack("{ss}", "ca", name);
	r = ctl_record(id, event, f);
	json_decref(f);
	ident_close(id);
	return r;
}

static int
ca_add(int argc, char **argv)
{
	static const char *const out_names[3] = {
		FED_X509_DIR_ROOTS, FED_X509_DIR_INT, FED_X509_DIR_CROSS,
	};
	const char *files[3] = { NULL, NULL, NULL }, *name;
	struct authd_cfg cfg;
	struct yh_file_fail ff;
	char folder[4200], path[4300];
	int rc = 2;

	if (argc < 3) {
		ca_usage(stderr);
		return 2;
	}
	name = argv[2];
	for (int i = 3; i < argc; i++) {
		int k = strcmp(argv[i], "--roots") == 0 ? 0 :
		    strcmp(argv[i], "--intermediates") == 0 ? 1 :
		    strcmp(argv[i], "--cross-certs") == 0 ? 2 : -1;

		if (k < 0 || i + 1 >= argc || files[k] != NULL)
			return ctl_fail("ca add: unexpected argument '%s'", argv[i]);
		files[k] = argv[++i];
	}
	if (files[0] == NULL)
		return ctl_fail("ca add: --roots PEM is required");
	if (ca_try(name, files) != 0 || load_cfg(&cfg) != 0)
		return 2;
	for (size_t i = 0; i < cfg.cert.nca; i++)
		if (strcmp(cfg.cert.ca[i].name, name) == 0) {
			ctl_fail("ca add: a CA called %s exists (%s)", name, cfg.cert.ca[i].where);
			goto out;
		}
	if (ca_record(NULL, name, true) != 0 ||
	    ca_folder(&cfg, name, true, folder, sizeof(folder)) != 0)
		goto out;
	for (int k = 0; k < 3; k++) {
		char *s = NULL;
		size_t n = 0;

		if (files[k] == NULL)
			continue;
		if (read_file(files[k], &s, &n) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/%s", folder, out_names[k]);
		if (yh_file_write_atomic(path, s, n, 0644, YH_FILE_NOREPLACE, &ff) != 0) {
			char msg[512];

			yh_file_fail_msg(&ff, msg, sizeof(msg));
			free(s);
			ctl_fail("%s", msg);
			goto out;
		}
		free(s);
	}
	if ((rc = ca_record("ca.add", name, false)) == 0)
		rc = ctl_print_json(json_pack("{sssssb}", "name", name, "folder", folder,
		    "added", 1));
out:
	authd_cfg_free(&cfg);
	return rc;
}

static int
ca_remove(int argc, char **argv)
{
	static const char *const names[3] = {
		FED_X509_DIR_ROOTS, FED_X509_DIR_INT, FED_X509_DIR_CROSS,
	};
	struct authd_cfg cfg;
	char folder[4200], path[4300];
	const struct fed_x509_ca *ca = NULL;
	int rc = 2;

	if (argc != 3) {
		ca_usage(stderr);
		return 2;
	}
	if (load_cfg(&cfg) != 0)
		return 2;
	for (size_t i = 0; i < cfg.cert.nca; i++)
		if (strcmp(cfg.cert.ca[i].name, argv[2]) == 0)
			ca = &cfg.cert.ca[i];
	if (ca == NULL) {
		ctl_fail("ca remove: no CA called %s", argv[2]);
		goto out;
	}
	if (!ca->from_dir) {
		ctl_fail("ca remove: %s is configured in the file (%s): remove its cert.ca.* "
		    "lines there", argv[2], ca->where);
		goto out;
	}
	if (ca_folder(&cfg, ca->name, false, folder, sizeof(folder)) != 0)
		goto out;
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "%s/%s", folder, names[k]);
		if (unlink(path) != 0 && errno != ENOENT) {
			ctl_fail("%s: %s", path, strerror(errno));
			goto out;
		}
	}
	if (rmdir(folder) != 0) {
		ctl_fail("%s: %s", folder, strerror(errno));
		goto out;
	}
	if ((rc = ca_record("ca.remove", argv[2], false)) == 0)
		rc = ctl_print_json(json_pack("{sssb}", "name", argv[2], "removed", 1));
out:
	authd_cfg_free(&cfg);
	return rc;
}

int
ctl_ca(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "list", ca_list },
		{ "add", ca_add },
		{ "remove", ca_remove },
		{ NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "ca", ca_usage, cmds);
}
