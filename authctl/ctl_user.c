/*
 * authctl user add|show|list|phone|lock|unlock|deregister|logout|verify|check-password|
 * purge: persons in the directory. A phone an operator gives is verified unless they say
 * otherwise (--phone-verified no): the operator answers for it. ID numbers and phone
 * numbers are printed masked; passwords are read from stdin only and wiped. logout,
 * lock and deregister end the person's sessions in the running authd through its
 * control socket (authd/control/control.h), which sends the apps back-channel logout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "authcore/authd_config.h"
#include "authctl/ctl.h"
#include "authcore/control_proto.h"
#include "authcore/state.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/timeutil.h"
#include "federation/regqueue.h"
#include "identity/identity.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"

#define USER_LIST_DEFAULT 100
#define WRONG_LOGIN "wrong identifier or password"

/* Options of the user commands; each command accepts a subset. */
enum {
	O_ID_NUMBER = 1u << 0, O_NAME = 1u << 1, O_PHONE = 1u << 2, O_EMAIL = 1u << 3,
	O_USERNAME = 1u << 4, O_PASSWORD_STDIN = 1u << 5, O_LIMIT = 1u << 6,
	O_OFFSET = 1u << 7, O_LOA = 1u << 8, O_BY = 1u << 9, O_EVIDENCE = 1u << 10,
	O_PHONE_VERIFIED = 1u << 11, O_REGISTRY = 1u << 12, O_OLDER_THAN = 1u << 13,
	O_DRY_RUN = 1u << 14,
};

struct uopts {
	const char *id_number, *name, *phone, *email, *username, *limit, *offset, *loa, *by,
	    *evidence, *phone_verified, *older_than;
	bool password_stdin, registry, dry_run;
	const char *ident;   /* the one positional argument, when the command takes it */
	const char *cmd;     /* the command's name (argv[1]), for messages */
};

struct uopt_def {
	const char *flag;
	unsigned bit;
	size_t offset;       /* of the const char * in struct uopts; 0 for the boolean */
};

static const struct uopt_def uopt_defs[] = {
	{ "--id-number", O_ID_NUMBER, offsetof(struct uopts, id_number) },
	{ "--name", O_NAME, offsetof(struct uopts, name) },
	{ "--phone", O_PHONE, offsetof(struct uopts, phone) },
	{ "--email", O_EMAIL, offsetof(struct uopts, email) },
	{ "--username", O_USERNAME, offsetof(struct uopts, username) },
	{ "--password-stdin", O_PASSWORD_STDIN, 0 },
	{ "--limit", O_LIMIT, offsetof(struct uopts, limit) },
	{ "--offset", O_OFFSET, offsetof(struct uopts, offset) },
	{ "--loa", O_LOA, offsetof(struct uopts, loa) },
	{ "--by", O_BY, offsetof(struct uopts, by) },
	{ "--evidence", O_EVIDENCE, offsetof(struct uopts, evidence) },
	{ "--phone-verified", O_PHONE_VERIFIED, offsetof(struct uopts, phone_verified) },
	{ "--registry", O_REGISTRY, 0 },
	{ "--older-than", O_OLDER_THAN, offsetof(struct uopts, older_than) },
	{ "--dry-run", O_DRY_RUN, 0 },
	{ NULL, 0, 0 },
};

/* Parses argv[2..] (after "user CMD") allowing the options in mask and, when
 * want_ident, exactly one positional argument. Returns 0 or 2 (after a message). */
static int
parse_opts(int argc, char **argv, unsigned mask, bool want_ident, struct uopts *o)
{
	memset(o, 0, sizeof(*o));
	o->cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const struct uopt_def *d = uopt_defs;

		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (!want_ident || o->ident != NULL)
				return ctl_fail("user %s: unexpected argument '%s'", argv[1], argv[i]);
			o->ident = argv[i];
			continue;
		}
		while (d->flag != NULL && strcmp(d->flag, argv[i]) != 0)
			d++;
		if (d->flag == NULL || (d->bit & mask) == 0)
			return ctl_fail("user %s: unknown option '%s'", argv[1], argv[i]);
		if (d->bit == O_PASSWORD_STDIN || d->bit == O_REGISTRY || d->bit == O_DRY_RUN) {
			*(d->bit == O_REGISTRY ? &o->registry : d->bit == O_DRY_RUN ? &o->dry_run :
			    &o->password_stdin) = true;
			continue;
		}
		if (i + 1 >= argc)
			return ctl_fail("user %s: %s needs a value", argv[1], argv[i]);
		*(const char **)(void *)((char *)o + d->offset) = argv[++i];
	}
	if (want_ident && o->ident == NULL)
		return ctl_fail("user %s: missing the user (uid, ID number, verified phone or "
		    "username)", argv[1]);
	return 0;
}

/* Reads a password from stdin (one trailing newline removed) into a malloc'd secret
 * string; free it with yh_freezero(*out, *len + 1). Returns 0 or 2 (after a message). */
static int
read_password(char **out, size_t *len)
{
	struct yh_buf b;
	char chunk[256];
	ssize_t n;
	int r = 0;

	*out = NULL;
	*len = 0;
	yh_buf_init_secret(&b, PW_PASSWORD_MAX + 2);
	while (r == 0 && (n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
		if (yh_buf_append(&b, chunk, (size_t)n) != 0)
			r = ctl_fail("password longer than %d bytes", PW_PASSWORD_MAX);
	yh_wipe(chunk, sizeof(chunk));
	if (r == 0 && b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (r == 0 && b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (r == 0 && b.len == 0)
		r = ctl_fail("empty password on stdin");
	if (r == 0 && b.len > PW_PASSWORD_MAX)
		r = ctl_fail("password longer than %d bytes", PW_PASSWORD_MAX);
	if (r != 0) {
		yh_buf_free(&b);
		return r;
	}
	*len = b.len;
	if ((*out = yh_buf_steal(&b)) == NULL) {
		yh_buf_free(&b);
		return ctl_fail("out of memory");
	}
	return 0;
}

/* Finds a person by uid or by any login identifier. Returns 0, 1 (not found,
 * ambiguous) or 2, after a message. */
static int
resolve(struct dir *d, const char *ident, struct dir_person *p)
{
	int r = YH_ERR_NOT_FOUND;

	if (dir_uid_valid(ident))
		r = dir_person_get(d, ident, p);
	if (r == YH_ERR_NOT_FOUND)
		r = dir_person_find_login(d, ident, p);
	if (r == 0)
		return 0;
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG) {
		ctl_fail("no such user");
		return 1;
	}
	if (r == YH_ERR_CONFLICT) {
		ctl_fail("the identifier matches several users; use the uid or the ID number");
		return 1;
	}
	return ctl_fail("cannot read the directory: %s", yh_strerror(r));
}

/* Mobile numbers as 138****8000, anything else like an ID number. */
static void
mask_phone(const char *phone, char *out, size_t outsz)
{
	if (mk_phone_is_mobile(phone) && strlen(phone) == 11 && outsz >= 12)
		snprintf(out, outsz, "%.3s****%s", phone, phone + 7);
	else
		idn_mask(phone, out, outsz);
}

/* The person as JSON with the ID number and phone masked. */
static json_t *
person_json(const struct dir_person *p)
{
	char idm[40], phm[40];
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	idn_mask(p->id_number, idm, sizeof(idm));
	ctl_set_str(o, "uid", p->uid);
	ctl_set_str(o, "id_number", idm);
	ctl_set_str(o, "name", p->name);
	if (p->phone != NULL)
		mask_phone(p->phone, phm, sizeof(phm));
	ctl_set_str(o, "phone", p->phone != NULL ? phm : NULL);
	json_object_set_new(o, "phone_verified", p->phone != NULL ?
	    json_boolean(p->phone_verified) : json_null());
	ctl_set_str(o, "email", p->email);
	ctl_set_str(o, "username", p->username);
	ctl_set_str(o, "status", dir_status_str(p->status));
	json_object_set_new(o, "loa", json_integer(p->loa.level));
	ctl_set_str(o, "origin", p->origin);
	ctl_set_str(o, "loa_method", p->loa.method);
	ctl_set_str(o, "loa_by", p->loa.by);
	ctl_set_str(o, "loa_evidence", p->loa.evidence);
	ctl_set_time(o, "loa_at", p->loa.at);
	ctl_set_time(o, "created", p->created);
	ctl_set_time(o, "updated", p->updated);
	return o;
}

/* --phone-verified yes|no into *verified (default yes: the operator answers for a
 * phone they give). Returns 0 or 2 (after a message). */
static int
phone_verified_opt(const struct uopts *o, bool *verified)
{
	*verified = true;
	if (o->phone_verified != NULL && yh_parse_bool(o->phone_verified, verified) != 0)
		return ctl_fail("user %s: --phone-verified must be yes or no", o->cmd);
	return 0;
}

/* Records an operator action on a user; takes ownership of fields (may be NULL). */
static int
record(struct ident *id, const char *event, const char *uid, json_t *fields)
{
	int r;

	if (fields == NULL)
		fields = json_object();
	if (uid != NULL)
		json_object_set_new(fields, "uid", json_string(uid));
	r = ctl_record(id, event, fields);
	json_decref(fields);
	return r;
}

static int
user_add(int argc, char **argv)
{
	struct uopts o;
	struct idn_resident idr;
	struct dir_person p;
	struct ident *id = NULL;
	char uid[DIR_UID_LEN + 1], *pw = NULL, *hash = NULL, phone[32];
	size_t pwlen = 0;
	enum idn_reason why;
	bool verified = true;
	int r;

	if ((r = parse_opts(argc, argv, O_ID_NUMBER | O_NAME | O_PHONE | O_EMAIL | O_USERNAME |
	    O_PASSWORD_STDIN | O_PHONE_VERIFIED, false, &o)) != 0)
		return r;
	if (o.id_number == NULL || o.name == NULL)
		return ctl_fail("user add: --id-number and --name are required");
	if (o.phone_verified != NULL && o.phone == NULL)
		return ctl_fail("user add: --phone-verified goes with --phone");
	if ((r = phone_verified_opt(&o, &verified)) != 0)
		return r;
	if ((why = idn_resident_check(o.id_number, strlen(o.id_number), &idr)) != IDN_OK)
		return ctl_fail("invalid ID number: %s", idn_reason_str(why));
	if (o.phone != NULL && mk_phone_key(o.phone, strlen(o.phone), phone, sizeof(phone)) != 0)
		return ctl_fail("invalid phone number");
	if (o.password_stdin && (r = read_password(&pw, &pwlen)) != 0)
		goto out;
	if ((r = ctl_open_state(true, &id)) != 0)
		goto out;
	if (pw != NULL && (r = pw_hash(&id->pw, pw, pwlen, &hash)) != 0) {
		r = ctl_fail("cannot hash the password: %s", yh_strerror(r));
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.id_number = idr.canonical;
	p.name = (char *)o.name;
	p.phone = (char *)o.phone;
	p.phone_verified = verified;
	p.email = (char *)o.email;
	p.username = (char *)o.username;
	p.status = DIR_STATUS_ACTIVE;
	p.origin = (char *)DIR_ORIGIN_OPERATOR;
	/* LoA 1 by the operator's word, not a self-registration. */
	p.loa.level = 1;
	p.loa.method = (char *)"operator";
	if ((r = dir_person_add_cred(id->dir, &p, hash != NULL ? PW_SCHEME_ARGON2ID : NULL,
	    hash, uid)) != 0) {
		if (r == YH_ERR_EXISTS)
			r = ctl_fail("a user with this ID number or username already exists");
		else if (r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG)
			r = ctl_fail("invalid --name, --email or --username (a username may not "
			    "look like an ID number or a phone number)");
		else
			r = ctl_fail("cannot add the user: %s", yh_strerror(r));
		goto out;
	}
	if ((r = record(id, "user.add", uid, o.phone == NULL ? NULL :
	    json_pack("{s:b}", "phone_verified", verified))) != 0)
		goto out;
	printf("%s\n", uid);
out:
	yh_wipe(&idr, sizeof(idr));
	yh_wipe(phone, sizeof(phone));
	if (pw != NULL)
		yh_freezero(pw, pwlen + 1);
	free(hash);
	ident_close(id);
	return r;
}

/* Adds the person's privacy consents (an empty list: none recorded, as for a person an
 * operator added or an import brought). */
static int
add_privacy(struct dir *d, const char *uid, json_t *o)
{
	struct dir_privacy *list = NULL;
	json_t *arr = json_array();
	size_t n = 0;
	int r;

	if (arr == NULL)
		return YH_ERR_ALLOC;
	if ((r = dir_privacy_list(d, uid, &list, &n)) != 0) {
		json_decref(arr);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_object();

		ctl_set_str(c, "purpose", list[i].purpose);
		ctl_set_str(c, "notice_version", list[i].notice_version);
		ctl_set_str(c, "notice_sha256", list[i].notice_sha256);
		ctl_set_str(c, "via", list[i].via);
		ctl_set_time(c, "at", list[i].at);
		json_array_append_new(arr, c);
	}
	dir_privacy_list_free(list, n);
	json_object_set_new(o, "privacy_consents", arr);
	return 0;
}

/* Adds legacy accounts and credential facts to a person's JSON. */
static int
add_account_facts(struct dir *d, const char *uid, json_t *o)
{
	struct dir_legacy *links = NULL;
	struct dir_cred cred;
	struct dir_totp totp;
	json_t *arr = json_array();
	size_t n = 0;
	int r;

	if (arr == NULL)
		return YH_ERR_ALLOC;
	if ((r = dir_legacy_list(d, uid, &links, &n)) != 0) {
		json_decref(arr);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *l = json_object();

		ctl_set_str(l, "source", links[i].source);
		ctl_set_str(l, "legacy_id", links[i].legacy_id);
		ctl_set_str(l, "username", links[i].username);
		ctl_set_str(l, "status", dir_status_str(links[i].status));
		json_array_append_new(arr, l);
	}
	dir_legacy_list_free(links, n);
	json_object_set_new(o, "legacy_accounts", arr);
	r = dir_cred_get(d, uid, &cred);
	ctl_set_str(o, "password_scheme", r == 0 ? cred.scheme : NULL);
	dir_cred_clear(&cred);
	if (r != 0 && r != YH_ERR_NOT_FOUND)
		return r;
	r = dir_totp_get(d, uid, &totp);
	json_object_set_new(o, "totp", json_boolean(r == 0 && totp.confirmed));
	dir_totp_clear(&totp);
	return r == YH_ERR_NOT_FOUND ? 0 : r;
}

static int
user_show(int argc, char **argv)
{
	struct uopts o;
	struct dir_person p;
	struct ident *id = NULL;
	json_t *j;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = parse_opts(argc, argv, 0, true, &o)) != 0 || (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = resolve(id->dir, o.ident, &p)) != 0)
		goto out;
	if ((j = person_json(&p)) == NULL) {
		r = ctl_fail("out of memory");
		goto out;
	}
	if ((r = add_account_facts(id->dir, p.uid, j)) != 0 ||
	    (r = add_privacy(id->dir, p.uid, j)) != 0) {
		json_decref(j);
		r = ctl_fail("cannot read the directory: %s", yh_strerror(r));
		goto out;
	}
	r = ctl_print_json(j) == 0 ? 0 : 2;
out:
	dir_person_clear(&p);
	ident_close(id);
	return r;
}

static int
user_list(int argc, char **argv)
{
	struct uopts o;
	struct dir_person *list = NULL;
	struct ident *id = NULL;
	uint64_t limit = USER_LIST_DEFAULT, offset = 0;
	size_t n = 0;
	int r;

	if ((r = parse_opts(argc, argv, O_LIMIT | O_OFFSET, false, &o)) != 0)
		return r;
	if (o.limit != NULL && yh_parse_u64(o.limit, 1, DIR_LIST_MAX, &limit) != 0)
		return ctl_fail("user list: --limit must be 1..%d", DIR_LIST_MAX);
	if (o.offset != NULL && yh_parse_u64(o.offset, 0, INT64_MAX, &offset) != 0)
		return ctl_fail("user list: --offset must be a number");
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = dir_person_list(id->dir, offset, (size_t)limit, &list, &n)) != 0)
		r = ctl_fail("cannot list users: %s", yh_strerror(r));
	for (size_t i = 0; r == 0 && i < n; i++)
		r = ctl_print_json(person_json(&list[i])) == 0 ? 0 : 2;
	dir_person_list_free(list, n);
	ident_close(id);
	return r;
}

/*
 * phone: sets a person's phone (--phone P; --phone "" removes it) and whether it is
 * verified (--phone-verified, default yes), or with --phone-verified alone only the
 * latter: the way to vouch for a phone the person typed in themselves once it was
 * checked, or to withdraw that.
 */
static int
user_phone(int argc, char **argv)
{
	struct uopts o;
	struct dir_person p, after;
	struct ident *id = NULL;
	char key[32], *cur;
	bool verified;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&after, 0, sizeof(after));
	if ((r = parse_opts(argc, argv, O_PHONE | O_PHONE_VERIFIED, true, &o)) != 0)
		return r;
	if (o.phone == NULL && o.phone_verified == NULL)
		return ctl_fail("user phone: give --phone P, --phone-verified yes|no, or both");
	if ((r = phone_verified_opt(&o, &verified)) != 0)
		return r;
	if (o.phone != NULL && o.phone[0] != '\0' &&
	    mk_phone_key(o.phone, strlen(o.phone), key, sizeof(key)) != 0)
		return ctl_fail("invalid phone number");
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = resolve(id->dir, o.ident, &p)) != 0)
		goto out;
	if (o.phone == NULL && p.phone == NULL) {
		r = ctl_fail("user %s has no phone", p.uid);
		goto out;
	}
	cur = p.phone;
	if (o.phone != NULL)
		p.phone = (char *)o.phone;
	p.phone_verified = verified;
	r = dir_person_update(id->dir, &p);
	p.phone = cur;
	if (r != 0) {
		r = ctl_fail("cannot change the phone: %s", yh_strerror(r));
		goto out;
	}
	if ((r = dir_person_get(id->dir, p.uid, &after)) != 0) {
		r = ctl_fail("cannot read the directory: %s", yh_strerror(r));
		goto out;
	}
	if ((r = record(id, "user.phone", p.uid, json_pack("{s:b, s:b}", "changed",
	    o.phone != NULL, "phone_verified", after.phone_verified))) != 0)
		goto out;
	r = ctl_print_json(person_json(&after)) == 0 ? 0 : 2;
out:
	yh_wipe(key, sizeof(key));
	dir_person_clear(&p);
	dir_person_clear(&after);
	ident_close(id);
	return r;
}

/*
 * Asks the running authd to end every session of uid (reason: a short word for its
 * audit line) and, with grants (a lock or deregistration), the person's refresh families
 * and their access tokens, which outlive the sessions. Returns 0 with *n set;
 * YH_ERR_UNAVAILABLE when authd is not running; another YH_ERR_* when the call or authd
 * failed. err gets one line on error.
 */
static int
end_sessions(const struct ident *id, const char *uid, const char *reason, bool grants,
    size_t *n, char *err, size_t errsz)
{
	json_t *req, *rep = NULL;
	int r;

	*n = 0;
	req = json_pack("{s:s, s:s, s:s, s:b}", "cmd", "end_sessions", "uid", uid, "reason",
	    reason, "grants", grants);
	if ((r = ctl_control(id, req, "ended", &rep, err, errsz)) == 0)
		*n = (size_t)json_integer_value(json_object_get(rep, "ended"));
	json_decref(req);
	json_decref(rep);
	return r;
}

/* True when -c names a configuration whose sessions live in Redis (they outlive authd). */
static bool
sessions_in_redis(void)
{
	struct authd_cfg cfg;
	char err[512];
	bool redis;

	if (ctl_opts.config_path == NULL)
		return false;
	redis = authd_cfg_load(&cfg, ctl_opts.config_path, ctl_opts.state_dir, NULL, err,
	    sizeof(err)) == 0 && cfg.session_backend != NULL &&
	    strcmp(cfg.session_backend, "redis") == 0;
	authd_cfg_free(&cfg);
	return redis;
}

/*
 * After lock or deregister: ends the person's sessions, best effort. Sets "sessions_ended"
 * in j to the count, or to null when authd was not reachable (a note on stderr). Returns
 * 0, or 2 when authd is running but could not end them (after a message).
 */
static int
end_after_status(const struct ident *id, const char *uid, const char *reason, json_t *j)
{
	char err[512];
	size_t n = 0;
	int r;

	r = end_sessions(id, uid, reason, true, &n, err, sizeof(err));
	json_object_set_new(j, "sessions_ended", r == 0 ? json_integer((json_int_t)n) :
	    json_null());
	if (r == 0)
		return 0;
	if (r == YH_ERR_UNAVAILABLE && !sessions_in_redis()) {
		fprintf(stderr, "authctl: note: %s: no live sessions to end\n", err);
		return 0;
	}
	if (r == YH_ERR_UNAVAILABLE) {
		fprintf(stderr, "authctl: warning: %s; the sessions kept in Redis were not ended: "
		    "run 'authctl user logout %s' once an authd runs\n", err, uid);
		return 0;
	}
	return ctl_fail("the sessions were not ended: %s", err);
}

/* lock, unlock, deregister. */
static int
user_status(int argc, char **argv, enum dir_status want)
{
	struct uopts o;
	struct dir_person p;
	struct ident *id = NULL;
	json_t *j;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = parse_opts(argc, argv, 0, true, &o)) != 0 || (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = resolve(id->dir, o.ident, &p)) != 0)
		goto out;
	if (p.status == DIR_STATUS_DEREGISTERED && want != DIR_STATUS_DEREGISTERED) {
		r = ctl_fail("user %s is deregistered", p.uid);
		goto out;
	}
	if ((r = dir_person_set_status(id->dir, p.uid, want)) != 0) {
		r = ctl_fail("cannot change the status: %s", yh_strerror(r));
		goto out;
	}
	yh_debug("user %s: status %s -> %s", p.uid, dir_status_str(p.status),
	    dir_status_str(want));
	if ((r = record(id, want == DIR_STATUS_LOCKED ? "user.lock" :
	    want == DIR_STATUS_ACTIVE ? "user.unlock" : "user.deregister", p.uid,
	    json_pack("{s:s}", "from", dir_status_str(p.status)))) != 0)
		goto out;
	j = json_object();
	ctl_set_str(j, "uid", p.uid);
	ctl_set_str(j, "status", dir_status_str(want));
	/* After the status change, so that no new login slips in between. */
	if (want != DIR_STATUS_ACTIVE)
		r = end_after_status(id, p.uid, want == DIR_STATUS_LOCKED ? "lock" :
		    "deregister", j);
	if (ctl_print_json(j) != 0)
		r = 2;
out:
	dir_person_clear(&p);
	ident_close(id);
	return r;
}

/* logout: ends every session of the person in the running authd. */
static int
user_logout(int argc, char **argv)
{
	struct uopts o;
	struct dir_person p;
	struct ident *id = NULL;
	char err[512];
	size_t n = 0;
	json_t *j;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = parse_opts(argc, argv, 0, true, &o)) != 0 || (r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = resolve(id->dir, o.ident, &p)) != 0)
		goto out;
	r = end_sessions(id, p.uid, "operator", false, &n, err, sizeof(err));
	if (r == YH_ERR_UNAVAILABLE && sessions_in_redis()) {
		r = ctl_fail("%s, and the sessions are kept in Redis: start authd (any node) and "
		    "run this again", err);
		goto out;
	}
	if (r == YH_ERR_UNAVAILABLE) {
		/* Memory sessions live only as long as the process that held them. */
		fprintf(stderr, "authctl: note: authd is not running: no live sessions\n");
		n = 0;
	} else if (r != 0) {
		r = ctl_fail("cannot end the sessions: %s", err);
		goto out;
	}
	j = json_object();
	ctl_set_str(j, "uid", p.uid);
	json_object_set_new(j, "ended", json_integer((json_int_t)n));
	r = ctl_print_json(j) == 0 ? 0 : 2;
out:
	dir_person_clear(&p);
	ident_close(id);
	return r;
}

/* user verify USER --registry: asks the population registry. Exit 0 on a match, 1 on a
 * mismatch, 2 when it is unavailable. A settled check leaves the registration queue. */
static int
verify_registry(const struct uopts *o)
{
	enum fed_reg_outcome out = FED_REG_UNAVAILABLE;
	struct fed_reg *reg = NULL;
	struct ident *id = NULL;
	struct dir_person p;
	struct fed_regq_uid q;
	char err[512];
	int r, loa = 0;

	memset(&p, 0, sizeof(p));
	if ((r = ctl_registry_open(&reg)) != 0)
		return r;
	if ((r = ctl_open_state(false, &id)) != 0 || (r = resolve(id->dir, o->ident, &p)) != 0)
		goto out;
	if (p.status == DIR_STATUS_DEREGISTERED) {
		r = ctl_fail("user %s is deregistered", p.uid);
		goto out;
	}
	if ((r = ctl_registry_person(id, reg, &p, &out, &loa)) != 0)
		goto out;
	snprintf(q.uid, sizeof(q.uid), "%s", p.uid);
	if (out != FED_REG_UNAVAILABLE && fed_regq_remove(id->state_dir, &q, 1, err,
	    sizeof(err)) != 0)
		fprintf(stderr, "authctl: warning: %s\n", err);
	if ((r = ctl_print_json(json_pack("{s:s, s:s, s:i}", "uid", p.uid, "registry",
	    fed_reg_outcome_name(out), "loa", loa))) == 0)
		r = out == FED_REG_MATCH ? 0 : out == FED_REG_MISMATCH ? 1 : 2;
out:
	dir_person_clear(&p);
	ident_close(id);
	ctl_registry_close(reg);
	return r;
}

static int
user_verify(int argc, char **argv)
{
	struct uopts o;
	struct dir_person p, after;
	struct dir_loa v;
	struct ident *id = NULL;
	uint64_t loa;
	bool applied = false;
	json_t *j;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&after, 0, sizeof(after));
	if ((r = parse_opts(argc, argv, O_LOA | O_BY | O_EVIDENCE | O_REGISTRY, true, &o)) != 0)
		return r;
	if (o.registry) {
		if (o.loa != NULL || o.by != NULL || o.evidence != NULL)
			return ctl_fail("user verify: --registry goes without --loa, --by and "
			    "--evidence (the registry says it)");
		return verify_registry(&o);
	}
	if (o.loa == NULL || yh_parse_u64(o.loa, 2, 4, &loa) != 0 || loa == 3)
		return ctl_fail("user verify: --loa must be 2 (registry) or 4 (in person)");
	if (o.by == NULL || o.by[0] == '\0' || o.evidence == NULL || o.evidence[0] == '\0')
		return ctl_fail("user verify: --by STAFF and --evidence TEXT are required");
	if ((r = ctl_open_state(false, &id)) != 0)
		return r;
	if ((r = resolve(id->dir, o.ident, &p)) != 0)
		goto out;
	if (p.status == DIR_STATUS_DEREGISTERED) {
		r = ctl_fail("user %s is deregistered", p.uid);
		goto out;
	}
	memset(&v, 0, sizeof(v));
	v.level = (int)loa;
	v.method = (char *)(loa == 2 ? "registry" : "counter");
	v.by = (char *)o.by;
	v.evidence = (char *)o.evidence;
	if ((r = dir_person_set_loa(id->dir, p.uid, &v, DIR_LOA_RAISE, &applied)) != 0) {
		r = ctl_fail("cannot record the verification: %s%s", yh_strerror(r),
		    r == YH_ERR_INVALID || r == YH_ERR_TOO_LONG ? " (--by, --evidence)" : "");
		goto out;
	}
	if ((r = dir_person_get(id->dir, p.uid, &after)) != 0) {
		r = ctl_fail("cannot read the directory: %s", yh_strerror(r));
		goto out;
	}
	yh_debug("user %s verified at LoA %d by %s (%s)", p.uid, v.level, o.by,
	    applied ? "applied" : "recorded only");
	if ((r = record(id, "user.verify", p.uid, json_pack("{s:i,s:s,s:s,s:s,s:b}", "loa",
	    v.level, "method", v.method, "by", o.by, "evidence", o.evidence, "applied",
	    applied))) != 0)
		goto out;
	j = json_object();
	ctl_set_str(j, "uid", p.uid);
	json_object_set_new(j, "loa", json_integer(after.loa.level));
	ctl_set_str(j, "loa_method", after.loa.method);
	json_object_set_new(j, "applied", json_boolean(applied));
	r = ctl_print_json(j) == 0 ? 0 : 2;
out:
	dir_person_clear(&p);
	dir_person_clear(&after);
	ident_close(id);
	return r;
}

/* The login path: find, verify (a dummy verification for unknown users), upgrade a
 * weak or legacy hash to argon2id on success. */
static int
check_login(struct ident *id, const char *ident, const char *pw, size_t pwlen,
    bool *rehashed, enum dir_status *status)
{
	struct dir_person p;
	struct dir_cred c;
	bool needs = false;
	char *hash = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	*rehashed = false;
	if ((r = dir_person_find_login(id->dir, ident, &p)) == 0)
		r = dir_cred_get(id->dir, p.uid, &c);
	if (r == YH_ERR_NOT_FOUND && p.uid[0] != '\0' &&
	    dir_legacy_cred_verify(id->dir, p.uid, pw, pwlen) == 0) {
		/* No password of their own, one a review merge brought along. (An
		 * operator's check is not the person's login: a merge stays undoable.) */
		*status = p.status;
		r = 0;
		goto out;
	}
	if (r == YH_ERR_NOT_FOUND || r == YH_ERR_CONFLICT || r == YH_ERR_INVALID ||
	    r == YH_ERR_TOO_LONG) {
		/* Same work and same answer as a wrong password for a known user. */
		if (pw_verify_dummy(&id->pw, pw, pwlen) != YH_ERR_AUTH)
			yh_debug("dummy verification failed");
		r = YH_ERR_AUTH;
		goto out;
	}
	if (r != 0)
		goto out;
	r = pw_verify(c.scheme, c.hash, c.salt, pw, pwlen, &id->pw, &needs);
	if (r != 0 && r != YH_ERR_AUTH) {
		yh_warn("user %s: stored %s credential unusable: %s", p.uid, c.scheme,
		    yh_errname(r));
		r = YH_ERR_AUTH;
	}
	/* A legacy password a review merge brought along: no rehash over the own one. */
	if (r == YH_ERR_AUTH && dir_legacy_cred_verify(id->dir, p.uid, pw, pwlen) == 0) {
		r = 0;
		needs = false;
	}
	*status = p.status;
	if (r != 0 || p.status != DIR_STATUS_ACTIVE || !needs)
		goto out;
	if (pw_hash(&id->pw, pw, pwlen, &hash) == 0 &&
	    dir_cred_set(id->dir, p.uid, PW_SCHEME_ARGON2ID, hash, NULL) == 0)
		*rehashed = true;
	else
		yh_warn("user %s: could not upgrade the %s hash", p.uid, c.scheme);
out:
	free(hash);
	dir_cred_clear(&c);
	dir_person_clear(&p);
	return r;
}

static int
user_check_password(int argc, char **argv)
{
	struct uopts o;
	struct ident *id = NULL;
	enum dir_status st = DIR_STATUS_ACTIVE;
	bool rehashed = false;
	char *pw = NULL;
	size_t pwlen = 0;
	json_t *j;
	int r;

	if ((r = parse_opts(argc, argv, O_PASSWORD_STDIN, true, &o)) != 0)
		return r;
	if (!o.password_stdin)
		return ctl_fail("user check-password: --password-stdin is required");
	if ((r = read_password(&pw, &pwlen)) != 0)
		return r;
	if ((r = ctl_open_state(false, &id)) != 0)
		goto out;
	r = check_login(id, o.ident, pw, pwlen, &rehashed, &st);
	if ((r == 0 || r == YH_ERR_AUTH) && record(id, r == 0 && st == DIR_STATUS_ACTIVE ?
	    "login.success" : "login.failure", NULL, json_pack("{s:s,s:s,s:b,s:o*}", "method",
	    "password", "via", "authctl", "rehashed", rehashed, "identifier",
	    dir_login_masked(o.ident))) != 0) {
		r = 2;
		goto out;
	}
	if (r == YH_ERR_AUTH) {
		ctl_fail(WRONG_LOGIN);
		r = 1;
		goto out;
	}
	if (r != 0) {
		r = ctl_fail("cannot check the password: %s", yh_strerror(r));
		goto out;
	}
	j = json_object();
	json_object_set_new(j, "ok", json_boolean(st == DIR_STATUS_ACTIVE));
	if (st != DIR_STATUS_ACTIVE)
		ctl_set_str(j, "status", dir_status_str(st));
	json_object_set_new(j, "rehashed", json_boolean(rehashed));
	r = ctl_print_json(j) == 0 ? (st == DIR_STATUS_ACTIVE ? 0 : 1) : 2;
out:
	if (pw != NULL)
		yh_freezero(pw, pwlen + 1);
	ident_close(id);
	return r;
}

/* Erases one tombstone t (deregistered on day, before `before`) and records user.purge
 * with the uid and that date only. Returns 0 or 2 (after a message). */
static int
purge_one(struct ident *id, const struct dir_tombstone *t, const char *day, int64_t before)
{
	int r;

	if ((r = dir_person_purge(id->dir, t->uid, before)) != 0)
		return ctl_fail("user %s was not purged: %s", t->uid, yh_strerror(r));
	return record(id, "user.purge", t->uid, json_pack("{s:s}", "deregistered", day));
}

/* purge --older-than DAYS [--dry-run]: erases the persons deregistered more than DAYS
 * days ago (dir_person_purge), one transaction each, or with --dry-run lists them. */
static int
user_purge(int argc, char **argv)
{
	static const struct ctl_purge_ops ops = { "user purge", "users",
	    dir_person_tombstones, purge_one };
	struct uopts o;
	int r;

	if ((r = parse_opts(argc, argv, O_OLDER_THAN | O_DRY_RUN, false, &o)) != 0)
		return r;
	return ctl_purge(&ops, o.older_than, o.dry_run);
}

static void
user_usage(FILE *f)
{
	fprintf(f,
	    "usage: authctl (-c FILE | -d STATE_DIR) user COMMAND ...\n"
	    "  add --id-number N --name NAME [--phone P [--phone-verified yes|no]] [--email E]"
	    " [--username U] [--password-stdin]\n"
	    "  show USER                      (USER: uid, ID number, verified phone or"
	    " username)\n"
	    "  list [--limit N] [--offset N]\n"
	    "  phone USER [--phone P] [--phone-verified yes|no]   (a phone is verified"
	    " unless 'no')\n"
	    "  lock|unlock|deregister USER   (lock, deregister: also end USER's sessions)\n"
	    "  logout USER                    end every session of USER in the running authd\n"
	    "  verify USER --loa 2|4 --by STAFF --evidence TEXT\n"
	    "  verify USER --registry         ask the population registry (-c FILE): a match"
	    " is LoA 2\n"
	    "  check-password USER --password-stdin\n"
	    "  purge --older-than DAYS [--dry-run]   erase the users deregistered more than"
	    " DAYS (>= 1) days ago\n");
}

static int
user_lock(int argc, char **argv)
{
	return user_status(argc, argv, DIR_STATUS_LOCKED);
}

static int
user_unlock(int argc, char **argv)
{
	return user_status(argc, argv, DIR_STATUS_ACTIVE);
}

static int
user_deregister(int argc, char **argv)
{
	return user_status(argc, argv, DIR_STATUS_DEREGISTERED);
}

int
ctl_user(int argc, char **argv)
{
	static const struct ctl_cmd cmds[] = {
		{ "add", user_add }, { "show", user_show }, { "list", user_list },
		{ "phone", user_phone }, { "lock", user_lock }, { "unlock", user_unlock },
		{ "deregister", user_deregister }, { "logout", user_logout },
		{ "verify", user_verify }, { "check-password", user_check_password },
		{ "purge", user_purge }, { NULL, NULL },
	};

	return ctl_dispatch(argc, argv, "user", user_usage, cmds);
}
