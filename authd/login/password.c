/*
 * Password login: GET and POST /login (routes.c lists the routes). The password check, like everything slow, runs on the worker pool; the
 * HTTP thread only checks the CSRF token and copies the form.
 *
 * No enumeration: an identifier that names nobody (or several people) goes through
 * pw_verify_dummy, which costs what a real argon2id check costs, counts failures and
 * locks exactly like a real account, and gets the same words. A disabled, locked or
 * deregistered account has its password checked too (same time) and gets the same
 * words whatever the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "authd/ui/csrf.h"
#include "authd/login/login.h"
#include "authd/oidc/oidc.h"
#include "authd/ui/pages.h"
#include "authd/ui/templates_gen.h"
#include "authd/app.h"
#include "authd/keyd/keys.h"
#include "common/digest.h"
#include "common/workers.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/url.h"
#include "federation/ldapsrc.h"
#include "identity/dir/dir.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/passwd/passwd.h"

#define LOGIN_PURPOSE "login"

/* ------------------------------------------------------------------ the login attempt */

/* What a POST /login hands to the worker: copies, since the request cannot be read
 * while suspended. */
struct pw_job {
	struct authd_app *app;
	struct http_req *req;
	struct login_req_info ri;           /* https, language, old session, address, UA */
	char *username;
	char *password;                     /* secret: wiped */
	char next[LOGIN_NEXT_MAX + 1];
	char csrf[CSRF_TOKEN_SIZE];
};

static void
pw_job_free(struct pw_job *j)
{
	if (j == NULL)
		return;
	free(j->username);
	yh_strfree_secret(j->password);
	yh_wipe(j->ri.old_sid, sizeof(j->ri.old_sid));
	free(j);
}

/* The counter name of text that names no person: a keyed hash of it (lower-cased
 * ASCII; keys_mac KEYS_MAC_LOGIN_NAME), never the text itself (the store hashes names
 * with plain SHA-256, which an ID number would not survive). */
static int
text_counter_name(const struct pw_job *j, const char *text, char *out, size_t outsz)
{
	unsigned char msg[DIR_LEGACY_FIELD_MAX], mac[KEYS_MAC_LEN];
	char hex[2 * KEYS_MAC_LEN + 1];
	size_t len = strlen(text), n = len;
	unsigned char *low = len > sizeof(msg) ? malloc(len) : msg;
	int r;

	if (low == NULL)
		return YH_ERR_ALLOC;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		low[i] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	/* Longer than the message keys_mac takes (a long DN): its digest, after a NUL no
	 * text holds, so that it names the whole text and never a short one. */
	if (low != msg) {
		msg[0] = '\0';
		r = yh_sha256(low, len, msg + 1);
		yh_wipe(low, len);
		free(low);
		if (r != 0)
			return r;
		n = 1 + YH_SHA256_LEN;
	}
	r = keys_mac(j->app->keys, KEYS_MAC_LOGIN_NAME, msg, n, mac);
	yh_wipe(msg, sizeof(msg));
	if (r != 0)
		return r;
	yh_hex_encode(mac, sizeof(mac), hex);
	snprintf(out, outsz, "login:acct:x:%s", hex);
	return 0;
}

/* The counter name of an account: the uid when the identifier names a person, else
 * text_counter_name of the identifier typed. */
static int
acct_counter_name(const struct pw_job *j, const char *uid, char *out, size_t outsz)
{
	if (uid != NULL) {
		snprintf(out, outsz, "login:acct:%s", uid);
		return 0;
	}
	return text_counter_name(j, j->username, out, outsz);
}

/* The login form again, with an alert. */
static int
respond_form(struct pw_job *j, unsigned status, enum page_msg alert)
{
	struct page p;

	page_init_lang(&p, j->ri.lang, j->ri.https, LOGIN_PATH);
	page_set_next(&p, j->next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_LOGIN_TITLE));
	login_form(&p, j->app, j->csrf, j->next, j->username, page_msg(p.lang, alert));
	return page_send(&p, j->req, status);
}

static int
audit_failure(struct pw_job *j, const char *uid, const char *reason, int64_t count)
{
	char actor[16 + DIR_UID_LEN];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "%s%s", uid != NULL ? "user:" : "anonymous",
	    uid != NULL ? uid : "");
	f = json_pack("{s:s, s:s, s:s, s:o*, s:I}", "method", "pwd", "reason", reason,
	    "ip", j->ri.ip, "login", dir_login_masked(j->username), "failures", (json_int_t)count);
	if (f == NULL)
		return YH_ERR_ALLOC;
	r = login_audit(j->app, "login.failure", actor, f);
	json_decref(f);
	return r;
}

static int
audit_lockout(struct pw_job *j, const char *uid, const char *scope, int64_t lockout_s)
{
	char actor[16 + DIR_UID_LEN];
	json_t *f;
	int r;

	snprintf(actor, sizeof(actor), "%s%s", uid != NULL ? "user:" : "anonymous",
	    uid != NULL ? uid : "");
	f = json_pack("{s:s, s:s, s:s, s:o*, s:I}", "method", "pwd", "scope", scope, "ip", j->ri.ip,
	    "login", dir_login_masked(j->username), "lockout_s", (json_int_t)lockout_s);
	if (f == NULL)
		return YH_ERR_ALLOC;
	r = login_audit(j->app, "login.lockout", actor, f);
	json_decref(f);
	return r;
}

/* A refused attempt: count it (account and address), audit it, answer the form. */
static int
login_failed(struct pw_job *j, const char *uid, const char *acct, const char *addr,
    const char *reason)
{
	int64_t count = 0, acount = 0;
	bool locked_acct = false, locked_addr = false;
	struct login_policy pol;
	int r;

	login_policy_get(j->app, &pol);
	r = sess_fail(j->app->sess, acct, pol.window_s, pol.max_failures, pol.lockout_s, &count);
	if (r == YH_ERR_LOCKED)
		locked_acct = true;
	else if (r != 0)
		return r;
	r = sess_fail(j->app->sess, addr, pol.window_s, pol.addr_max_failures, pol.lockout_s,
	    &acount);
	if (r == YH_ERR_LOCKED)
		locked_addr = true;
	else if (r != 0)
		return r;
	if ((r = audit_failure(j, uid, reason, locked_acct ? pol.max_failures : count)) != 0)
		return r;
	if (locked_acct && (r = audit_lockout(j, uid, "account", pol.lockout_s)) != 0)
		return r;
	if (locked_addr && (r = audit_lockout(j, uid, "address", pol.lockout_s)) != 0)
		return r;
	yh_info("login failed from %s (%s)%s", j->ri.ip, reason,
	    locked_acct || locked_addr ? ": now locked" : "");
	login_metric(j->app, "pwd", locked_acct || locked_addr ? "locked" : "failure");
	if (locked_acct || locked_addr)
		return respond_form(j, 429, PAGE_MSG_LOCKED);
	return respond_form(j, 200, PAGE_MSG_LOGIN_FAILED);
}

/* An attempt while the account or the address is locked: no password check at all. */
static int
login_locked(struct pw_job *j, const char *uid)
{
	int r;

	if ((r = audit_failure(j, uid, "locked", 0)) != 0)
		return r;
	login_metric(j->app, "pwd", "locked");
	return respond_form(j, 429, PAGE_MSG_LOCKED);
}

/* Replaces a legacy or weaker hash with argon2id at the current cost. Best effort: a
 * failure (the disk full) is logged, the old hash stays and the login goes on. True
 * when the new hash is stored. */
static bool
rehash(struct pw_job *j, const char *uid, const struct pw_params *pw)
{
	char *enc = NULL;
	int r;

	if ((r = pw_hash(pw, j->password, strlen(j->password), &enc)) == 0)
		r = dir_cred_set(j->app->dir, uid, PW_SCHEME_ARGON2ID, enc, NULL);
	if (r != 0)
		yh_warn("cannot rehash the password of user %s: %s", uid, yh_strerror(r));
	else
		yh_info("rehashed the password of user %s with argon2id", uid);
	free(enc);
	return r == 0;
}

/* Opens uid's session at loa (LOGIN_LOA_PENDING for staff) with amr "pwd" (and
 * "ldap" when method is "ldap"), writes login.success with the fields f (consumed; sid
 * and loa added) and answers: 303 to next or to the TOTP step. A session the audit line
 * cannot record is ended: the login does not happen. Staff under login.staff_methods =
 * cert get the form with a 403 instead: a password of either kind opens nothing. */
static int
open_and_answer(struct pw_job *j, const char *uid, int loa, bool staff, const char *method,
    json_t *f)
{
	static const char *const amrs[] = { "pwd", "ldap" };
	char token[SESS_TOKEN_SIZE] = "", actor[16 + DIR_UID_LEN];
	struct sess_info info;
	int r;

	if (f == NULL)
		return YH_ERR_ALLOC;
	if (staff && login_staff_cert_only(j->app)) {
		/* login.staff_methods = cert: the right password opens nothing. */
		if ((r = audit_failure(j, uid, "staff_certificate_required", 0)) == 0) {
			login_metric(j->app, method, "failure");
			r = respond_form(j, 403, PAGE_MSG_STAFF_CERT_REQUIRED);
		}
		goto out;
	}
	if ((r = login_open_session_amr(j->app, &j->ri, uid, staff ? LOGIN_LOA_PENDING : loa,
	    amrs, strcmp(method, "ldap") == 0 ? 2 : 1, token, &info)) != 0)
		goto out;
	snprintf(actor, sizeof(actor), "user:%s", uid);
	if (json_object_set_new(f, "sid", json_string(info.sid)) != 0 ||
	    json_object_set_new(f, "loa", json_integer(info.loa)) != 0)
		r = YH_ERR_ALLOC;
	if (r == 0 && (r = login_audit(j->app, "login.success", actor, f)) != 0) {
		if (sess_end_token(j->app->sess, token, SESS_END_ADMIN, NULL) != 0)
			yh_warn("cannot end the unaudited session");
		goto out;
	}
	if (r != 0)
		goto out;
	login_metric(j->app, method, "success");
	r = login_complete(j->req, j->ri.https, j->next, token, staff);
out:
	json_decref(f);
	yh_wipe(token, sizeof(token));
	return r;
}

static int
login_succeeded(struct pw_job *j, const struct dir_person *p, const char *acct,
    bool needs_rehash, const struct pw_params *pw)
{
	bool rehashed = false, staff = false;
	int r;

	/* From now on a review case merged into this person cannot be undone. */
	if ((r = dir_case_note_login(j->app->dir, p->uid)) != 0 ||
	    (r = login_staff_pending(j->app, p->uid, &staff)) != 0)
		return r;
	if (needs_rehash)
		rehashed = rehash(j, p->uid, pw);
	if ((r = sess_fail_clear(j->app->sess, acct)) != 0)
		yh_warn("cannot clear login failures: %s", yh_strerror(r));
	return open_and_answer(j, p->uid, login_session_loa(p->loa.level, false), staff, "pwd",
	    json_pack("{s:s, s:s, s:b, s:s?}", "method", "pwd", "ip", j->ri.ip, "rehashed",
	    rehashed, "pending", staff ? "totp" : NULL));
}

/* ------------------------------------------------------------------ department LDAP */

/* The ldap_source a username "NAME\user" names (*user: after the backslash), or NULL:
 * a local login. */
static const struct fed_ldap_src *
ldap_source_of(const struct pw_job *j, const char **user)
{
	const char *bs = strchr(j->username, '\\');

	if (bs == NULL || j->app->cfg == NULL)
		return NULL;
	*user = bs + 1;
	return fed_ldap_find(&j->app->cfg->ldap, j->username, (size_t)(bs - j->username));
}

/* The department's server did not answer: audited, a page that says so (local login
 * keeps working), not counted as a failure of the person. */
static int
ldap_unavailable(struct pw_job *j, const struct fed_ldap_src *s, const char *why)
{
	json_t *f;
	int r;

	yh_warn("ldap_source %s: %s", s->name, why);
	f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o*}", "method", "ldap", "source", s->name,
	    "reason", "ldap_unavailable", "ip", j->ri.ip, "why", why, "login",
	    dir_login_masked(j->username));
	if (f == NULL)
		return YH_ERR_ALLOC;
	r = login_audit(j->app, "login.failure", "anonymous", f);
	json_decref(f);
	if (r != 0)
		return r;
	login_metric(j->app, "ldap", "failure");
	return respond_form(j, 503, PAGE_MSG_LDAP_UNAVAILABLE);
}

static bool
same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* The staff relation s grants, created or refreshed: an earlier relation this source
 * granted with another unit or position is revoked first; one an operator granted is
 * left as it is; a person below LoA 2 gets none (authctl staff add's rule). */
static int
ldap_grant_staff(struct pw_job *j, const struct fed_ldap_src *s, const struct dir_person *p,
    const struct fed_ldap_entry *e)
{
	const char *uid = p->uid;
	struct dir *d = j->app->dir;
	struct dir_mandate m, cur;
	struct dir_org org;
	char actor[16 + FED_LDAP_NAME_MAX];
	const char *unit;
	int r;

	memset(&m, 0, sizeof(m));
	memset(&cur, 0, sizeof(cur));
	memset(&org, 0, sizeof(org));
	snprintf(actor, sizeof(actor), "ldap_source:%s", s->name);
	if (p->loa.level < 2) {
		/* As for authctl staff add: staff are real-name verified people. */
		yh_warn("ldap_source %s: user %s is below LoA 2: no staff relation", s->name,
		    p->uid);
		return 0;
	}
	if ((r = dir_org_find_uscc(d, s->org, &org)) != 0) {
		yh_warn("ldap_source %s: agency %s: %s", s->name, s->org, yh_strerror(r));
		goto out;
	}
	unit = e->unit != NULL ? e->unit : s->name;
	r = dir_staff_current(d, uid, 0, &cur, NULL);
	/* An operator's relation, or ours as it stands: nothing to do. */
	if (r == 0 && (cur.granted_by == NULL || strcmp(cur.granted_by, actor) != 0 ||
	    (strcmp(cur.org_uid, org.uid) == 0 && same_str(cur.unit, unit) &&
	    same_str(cur.position, e->role))))
		goto out;
	if (r == 0 && (r = dir_mandate_revoke(d, cur.id, 0, actor)) != 0)
		goto out;
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		goto out;
	memcpy(m.person_uid, uid, strlen(uid) + 1);
	memcpy(m.org_uid, org.uid, sizeof(m.org_uid));
	m.role = DIR_ROLE_STAFF;
	m.granted_by = actor;
	m.unit = (char *)unit;
	m.position = e->role;
	r = dir_mandate_add(d, &m, actor, NULL);
	if (r != 0)
		yh_warn("ldap_source %s: cannot grant the staff relation of %s: %s", s->name, uid,
		    yh_strerror(r));
	else
		yh_info("ldap_source %s: staff relation of %s granted", s->name, uid);
out:
	dir_mandate_clear(&cur);
	dir_org_clear(&org);
	return r;
}

/* What the gate between the search and the bind of an LDAP login keeps. */
struct ldap_gate {
	struct pw_job *j;
	const struct fed_ldap_src *s;
	char acct[SESS_NAME_MAX];   /* the entry's counter; "" until the entry is found */
	char uid[DIR_UID_LEN + 1];  /* the person the entry names, or "" */
	int found;                  /* the person's lookup: 0 (in p), NOT_FOUND, INVALID */
	struct dir_person p;
};

/*
 * The entry found: its counter is the person's own account counter when its ID number
 * names a person (the lockout of their password logins), else one keyed on the source
 * and the entry's DN. The server matches many spellings of one account ("zhang",
 * " zhang", "ZHANG "), so a count kept on the typed name alone is one per spelling; this
 * one is the entry's. A locked counter stops the login before the bind.
 */
static int
ldap_entry_gate(void *arg, const struct fed_ldap_entry *e)
{
	struct ldap_gate *g = arg;
	char text[FED_LDAP_NAME_MAX + 8 + 1024];
	int r;

	/* kept for after the bind: the login's person is this lookup's */
	r = g->found = e->id_number != NULL ?
	    dir_person_find_id_number(g->j->app->dir, e->id_number, &g->p) : YH_ERR_NOT_FOUND;
	if (r == 0) {
		snprintf(g->uid, sizeof(g->uid), "%s", g->p.uid);
		r = acct_counter_name(g->j, g->p.uid, g->acct, sizeof(g->acct));
	} else if (r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		snprintf(text, sizeof(text), "ldap:%s:%s", g->s->name, e->dn != NULL ? e->dn : "");
		r = text_counter_name(g->j, text, g->acct, sizeof(g->acct));
	}
	if (r == 0)
		r = sess_locked(g->j->app->sess, g->acct, NULL);
	if (r != 0 && r != YH_ERR_LOCKED)
		g->acct[0] = '\0';
	return r;
}

/* A login through a department's directory: Yihao's lockout first (a locked account or
 * address never reaches the department's server; the entry's own counter is asked
 * between the search and the bind), then search and bind there, then the person by the
 * entry's ID number and the staff relation. */
static int
ldap_attempt(struct pw_job *j, const struct fed_ldap_src *s, const char *user)
{
	char acct[SESS_NAME_MAX], addr[SESS_NAME_MAX], why[256];
	struct ldap_gate g = { .j = j, .s = s, .found = YH_ERR_NOT_FOUND };
	struct fed_ldap_entry e;
	struct dir_person *p = &g.p;
	bool staff = false;
	int r, loa;

	memset(&e, 0, sizeof(e));
	if ((r = acct_counter_name(j, NULL, acct, sizeof(acct))) != 0)
		goto out;
	sess_addr_name(addr, sizeof(addr), "login:addr:", j->ri.ip);
	if ((r = sess_locked(j->app->sess, acct, NULL)) == 0)
		r = sess_locked(j->app->sess, addr, NULL);
	if (r == YH_ERR_LOCKED) {
		r = login_locked(j, NULL);
		goto out;
	}
	if (r != 0)
		goto out;
	r = fed_ldap_login(s, user, j->password, ldap_entry_gate, &g, &e, why, sizeof(why));
	if (r == YH_ERR_LOCKED) {
		r = login_locked(j, g.uid[0] != '\0' ? g.uid : NULL);
		goto out;
	}
	if (r == YH_ERR_UNAVAILABLE) {
		r = ldap_unavailable(j, s, why);
		goto out;
	}
	/* A wrong password counts on the entry's counter and on the name typed (which the
	 * next attempt in that spelling meets before any call to the server); no entry, on
	 * the name typed alone. */
	if (r == YH_ERR_AUTH && g.acct[0] != '\0') {
		struct login_policy pol;

		login_policy_get(j->app, &pol);
		r = sess_fail(j->app->sess, acct, pol.window_s, pol.max_failures, pol.lockout_s,
		    NULL);
		if (r != 0 && r != YH_ERR_LOCKED)
			goto out;
		r = login_failed(j, g.uid[0] != '\0' ? g.uid : NULL, g.acct, addr, "bad_password");
		goto out;
	}
	if (r == YH_ERR_AUTH || r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID) {
		r = login_failed(j, NULL, acct, addr, r == YH_ERR_AUTH ? "bad_password" :
		    "unknown");
		goto out;
	}
	if (r != 0)
		goto out;
	/* the person the gate found by the entry's ID number */
	r = g.found;
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID || (r == 0 &&
	    p->status != DIR_STATUS_ACTIVE)) {
		r = login_failed(j, r == 0 ? p->uid : NULL, acct, addr, r == 0 ?
		    dir_status_str(p->status) : "no_person");
		goto out;
	}
	if (r != 0 || (r = ldap_grant_staff(j, s, p, &e)) != 0 ||
	    (r = dir_case_note_login(j->app->dir, p->uid)) != 0 ||
	    (r = login_staff_pending(j->app, p->uid, &staff)) != 0)
		goto out;
	if ((r = sess_fail_clear(j->app->sess, acct)) != 0 ||
	    (g.acct[0] != '\0' && (r = sess_fail_clear(j->app->sess, g.acct)) != 0))
		yh_warn("cannot clear login failures: %s", yh_strerror(r));
	loa = login_session_loa(p->loa.level, false);
	if (loa > (int)s->loa)
		loa = (int)s->loa;
	r = open_and_answer(j, p->uid, loa, staff, "ldap", json_pack("{s:s, s:s, s:s, s:s?}",
	    "method", "ldap", "source", s->name, "ip", j->ri.ip, "pending", staff ? "totp" : NULL));
out:
	fed_ldap_entry_clear(&e);
	dir_person_clear(&g.p);
	return r;
}

/* The password check and what follows; sets the response unless it returns an error. */
static int
pw_attempt(struct pw_job *j)
{
	struct dir *d = j->app->dir;
	const struct pw_params *pw = j->app->ident != NULL ? &j->app->ident->pw : NULL;
	char acct[SESS_NAME_MAX], addr[SESS_NAME_MAX];
	size_t pwlen = strlen(j->password);
	const char *reason = NULL;
	struct dir_person p;
	struct dir_cred c;
	bool found, needs_rehash = false;
	const struct fed_ldap_src *src;
	const char *user = NULL;
	int r, vr;

	if ((src = ldap_source_of(j, &user)) != NULL)
		return ldap_attempt(j, src, user);
	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	r = dir_person_find_login(d, j->username, &p);
	if (r != 0 && r != YH_ERR_NOT_FOUND && r != YH_ERR_CONFLICT && r != YH_ERR_INVALID &&
	    r != YH_ERR_TOO_LONG)
		goto out;
	found = r == 0;
	if (!found)
		reason = r == YH_ERR_CONFLICT ? "ambiguous" : "unknown";
	if ((r = acct_counter_name(j, found ? p.uid : NULL, acct, sizeof(acct))) != 0)
		goto out;
	sess_addr_name(addr, sizeof(addr), "login:addr:", j->ri.ip);
	if ((r = sess_locked(j->app->sess, acct, NULL)) == 0)
		r = sess_locked(j->app->sess, addr, NULL);
	if (r == YH_ERR_LOCKED) {
		r = login_locked(j, found ? p.uid : NULL);
		goto out;
	}
	if (r != 0)
		goto out;
	if (found && (r = dir_cred_get(d, p.uid, &c)) == 0) {
		vr = pw_verify(c.scheme, c.hash, c.salt, j->password, pwlen, pw, &needs_rehash);
		/* A legacy hash checks in microseconds: spend what an argon2id check costs,
		 * so that imported accounts cannot be told apart by the response time (a
		 * successful one spends it on the rehash). */
		if (vr != 0 && pw_scheme_is_legacy(c.scheme) &&
		    pw_verify_dummy(pw, j->password, pwlen) == YH_ERR_ALLOC)
			vr = YH_ERR_ALLOC;
	} else {
		if (found && r != YH_ERR_NOT_FOUND)
			goto out;
		vr = pw_verify_dummy(pw, j->password, pwlen);
		if (reason == NULL)
			reason = "no_password";
	}
	if (found && vr == YH_ERR_AUTH) {
		/* The passwords of legacy accounts a review merge joined to the person; no
		 * rehash, which would replace the person's own. */
		int lr = dir_legacy_cred_verify(d, p.uid, j->password, pwlen);

		if (lr == 0) {
			vr = 0;
			needs_rehash = false;
			reason = NULL;
		} else if (lr != YH_ERR_AUTH && lr != YH_ERR_NOT_FOUND) {
			r = lr;
			goto out;
		}
	}
	if (vr == YH_ERR_ALLOC || vr == YH_ERR_CRYPTO) {
		r = vr;
		goto out;
	}
	if (vr != 0 && vr != YH_ERR_AUTH && vr != YH_ERR_TOO_LONG)
		yh_warn("stored password of user %s cannot be checked: %s", p.uid, yh_strerror(vr));
	if (vr == 0 && found && p.status == DIR_STATUS_ACTIVE) {
		r = login_succeeded(j, &p, acct, needs_rehash, pw);
		goto out;
	}
	if (reason == NULL)
		reason = vr != 0 ? "bad_password" : dir_status_str(p.status);
	r = login_failed(j, found ? p.uid : NULL, acct, addr, reason);
out:
	dir_cred_clear(&c);
	dir_person_clear(&p);
	return r;
}

/* login_job_start's callbacks. */
static int
pw_job_run(void *arg)
{
	return pw_attempt(arg);
}

static void
pw_job_drop(void *arg)
{
	pw_job_free(arg);
}

/* ------------------------------------------------------------------ handlers */

/* login_hint of the /authorize request carried in next (malloc'd), or NULL. */
static char *
hint_from_next(const char *next)
{
	const char *q = strchr(next, '?');
	char *hint = NULL;

	if (q == NULL || http_form_get(yh_span_cstr(q + 1), "login_hint", DIR_LEGACY_FIELD_MAX,
	    &hint) != 0)
		return NULL;
	return hint;
}

int
login_password_get(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char csrf[CSRF_TOKEN_SIZE];
	const char *next = NULL, *hint = NULL;
	char *owned_hint = NULL;
	struct page p;
	int r;

	if (http_req_query(req, "next", LOGIN_NEXT_MAX, &next) != 0)
		next = NULL;
	next = login_next_pick(next);
	if (http_req_query(req, "login_hint", DIR_LEGACY_FIELD_MAX, &hint) != 0)
		hint = owned_hint = hint_from_next(next);
	if ((r = csrf_prepare(req, app->keys, LOGIN_PURPOSE, NULL, csrf)) != 0)
		goto out;
	page_init(&p, req, LOGIN_PATH);
	page_set_next(&p, next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_LOGIN_TITLE));
	login_form(&p, app, csrf, next, hint, NULL);
	r = page_send(&p, req, 200);
out:
	free(owned_hint);
	return r;
}

/* Copies what the worker needs out of the request. */
static int
pw_job_new(struct http_req *req, struct authd_app *app, char *username, char *password,
    const char *next, const char *csrf, struct pw_job **out)
{
	struct pw_job *j = calloc(1, sizeof(*j));

	*out = NULL;
	if (j == NULL)
		return YH_ERR_ALLOC;
	j->app = app;
	j->req = req;
	login_req_info_get(req, &j->ri);
	j->username = username;
	j->password = password;
	snprintf(j->next, sizeof(j->next), "%s", next);
	snprintf(j->csrf, sizeof(j->csrf), "%s", csrf);
	*out = j;
	return 0;
}

/* The form without the slow part: a missing or over-long field. */
static int
respond_quick(struct http_req *req, struct authd_app *app, const char *csrf,
    const char *next, const char *username, enum page_msg alert)
{
	struct page p;

	page_init(&p, req, LOGIN_PATH);
	page_set_next(&p, next);
	page_begin(&p, page_msg(p.lang, PAGE_MSG_LOGIN_TITLE));
	login_form(&p, app, csrf, next, username, page_msg(p.lang, alert));
	return page_send(&p, req, 200);
}

int
login_password_post(struct http_req *req, void *arg)
{
	struct authd_app *app = arg;
	char *username = NULL, *password = NULL, *next = NULL, *csrf = NULL;
	struct pw_job *j = NULL;
	const char *nx;
	int r, ru, rp;

	if ((r = csrf_verify(req, app->keys, LOGIN_PURPOSE, NULL)) != 0)
		return r == YH_ERR_DENIED ? csrf_respond_rejected(req) : r;
	if ((r = http_req_form(req, CSRF_FIELD, CSRF_TOKEN_SIZE, &csrf)) != 0)
		goto out;
	if (http_req_form(req, "next", LOGIN_NEXT_MAX, &next) != 0)
		next = NULL;
	nx = login_next_pick(next);
	ru = http_req_form(req, "username", DIR_LEGACY_FIELD_MAX, &username);
	rp = http_req_form(req, "password", PW_PASSWORD_MAX, &password);
	if (ru == YH_ERR_TOO_LONG || rp == YH_ERR_TOO_LONG) {
		/* No account has such a name or password: the generic answer, no hashing. */
		r = respond_quick(req, app, csrf, nx, NULL, PAGE_MSG_LOGIN_FAILED);
		goto out;
	}
	if (ru != 0 || rp != 0 || username[0] == '\0' || password[0] == '\0') {
		r = respond_quick(req, app, csrf, nx, ru == 0 ? username : NULL, PAGE_MSG_MISSING_FIELDS);
		goto out;
	}
	if ((r = pw_job_new(req, app, username, password, nx, csrf, &j)) != 0)
		goto out;
	username = password = NULL;   /* the job owns them */
	r = login_job_start(req, app, LOGIN_PATH, "login", pw_job_run, pw_job_drop, j);
out:
	free(username);
	yh_strfree_secret(password);
	free(next);
	free(csrf);
	return r;
}

void
login_form(struct page *p, struct authd_app *app, const char *csrf, const char *next,
    const char *username, const char *error)
{
	struct page_upstream_button ups[PAGE_UPSTREAMS_MAX];
	char name[CLIENTS_NAME_MAX + 1];
	size_t nups;

	login_app_name(app, next, name, sizeof(name));
	nups = login_upstream_buttons(app, p->lang, ups, PAGE_UPSTREAMS_MAX);
	page_login_form(p, csrf, next, username, error, name, ups, nups,
	    app->cfg != NULL && app->cfg->ldap.n > 0);
}
