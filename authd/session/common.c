/*
 * What the session store (sess.c) and its backends (mem.c, redis.c) share: checks of
 * names, keys and public ids, the store's clock, the expiry arithmetic of a session
 * record, handing a remote event to the handler, and the JSON forms of records kept in
 * Redis. Nothing here knows which backend is in use.
 */
#define _GNU_SOURCE
#include <string.h>
#include <jansson.h>

#define YH_SESS_INTERNAL
#include "authd/session/sess.h"
#include "common/timeutil.h"

/* ---- checks ------------------------------------------------------------------------- */

bool
sess_str_ok(const char *str, size_t max)
{
	size_t n;

	if (str == NULL)
		return false;
	n = strnlen(str, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)str[i] < 0x20 || str[i] == 0x7f)
			return false;
	return true;
}

bool
sess_key_ok(const char *key)
{
	if (key == NULL || strnlen(key, SESS_KEY_SIZE) != SESS_KEY_SIZE - 1)
		return false;
	for (size_t i = 0; i < SESS_KEY_SIZE - 1; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
			return false;
	return true;
}

static bool
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

bool
sess_pubid_ok(const char *id)
{
	if (id == NULL || strnlen(id, SESS_PUBID_SIZE) != SESS_PUBID_SIZE - 1)
		return false;
	for (size_t i = 0; i < SESS_PUBID_SIZE - 1; i++)
		if (!b64url_char(id[i]))
			return false;
	return true;
}

void
sess_copy_cut(char *dst, size_t dstsz, const char *src)
{
	size_t n;

	dst[0] = '\0';
	if (src == NULL)
		return;
	n = strnlen(src, dstsz - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

bool
sess_amr_ok(const char *v)
{
	if (!sess_str_ok(v, SESS_AMR_LEN - 1))
		return false;
	for (const char *p = v; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    *p == '-'))
			return false;
	return true;
}

bool
sess_prefix_ok(const char *p)
{
	size_t n = p == NULL ? 0 : strnlen(p, 33);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(b64url_char(p[i]) || p[i] == ':' || p[i] == '.'))
			return false;
	return true;
}

/* ---- records ------------------------------------------------------------------------ */

int64_t
sess_now(const struct sess_store *s)
{
	return s->cfg.now_ms != NULL ? s->cfg.now_ms(s->cfg.clock_ctx) : yh_now_ms();
}

int64_t
sess_rec_expiry(int64_t seen_ms, int64_t idle_ms, int64_t aexp_ms)
{
	int64_t idle_exp;

	/* the fields may come from Redis: a sum past the range saturates, never wraps */
	if (__builtin_add_overflow(seen_ms, idle_ms, &idle_exp))
		idle_exp = idle_ms > 0 ? INT64_MAX : INT64_MIN;
	return idle_exp < aexp_ms ? idle_exp : aexp_ms;
}

int64_t
sess_touch_gran(int64_t idle_ms)
{
	int64_t g = idle_ms / 20;

	return g > 60000 ? 60000 : g;
}

/* ---- events ------------------------------------------------------------------------- */

void
sess_deliver_remote(struct sess_store *s, const struct sess_event *ev)
{
	if (s->cfg.on_event != NULL)
		s->cfg.on_event(s->cfg.event_ctx, ev);
}

/* ---- JSON forms (Redis) --------------------------------------------------------------- */

char *
sess_attrs_json(const struct sess_info *rec)
{
	json_t *o, *amr;
	char *out = NULL;

	amr = json_array();
	for (size_t i = 0; amr != NULL && i < rec->namr; i++)
		json_array_append_new(amr, json_string(rec->amr[i]));
	o = json_pack("{s:s,s:s,s:I,s:I,s:i,s:o*,s:s,s:s}", "sid", rec->sid, "uid", rec->uid,
	    "ct", (json_int_t)rec->created_ms, "at", (json_int_t)rec->auth_time, "loa",
	    rec->loa, "amr", amr, "ua", rec->ua, "ip", rec->addr);
	if (o != NULL)
		out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/* Copies a JSON string member into dst if it fits and passes the check. */
static int
json_str(json_t *o, const char *name, char *dst, size_t dstsz, bool required)
{
	json_t *v = json_object_get(o, name);
	size_t n;

	dst[0] = '\0';
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v))
		return YH_ERR_INVALID;
	n = json_string_length(v);
	if (n >= dstsz || strlen(json_string_value(v)) != n)
		return YH_ERR_INVALID;
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

int
sess_attrs_parse(const char *json, size_t len, struct sess_info *rec)
{
	json_t *o = NULL, *amr, *v;
	json_error_t jerr;
	int rc = YH_ERR_INVALID;

	if (len > 4096)
		return YH_ERR_TOO_LONG;
	if ((o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(o))
		goto out;
	if (json_str(o, "sid", rec->sid, sizeof(rec->sid), true) != 0 ||
	    json_str(o, "uid", rec->uid, sizeof(rec->uid), true) != 0 ||
	    json_str(o, "ua", rec->ua, sizeof(rec->ua), false) != 0 ||
	    json_str(o, "ip", rec->addr, sizeof(rec->addr), false) != 0)
		goto out;
	/* times within what their readers compute with: auth_time * 1000, now - auth_time */
	if (!json_is_integer(v = json_object_get(o, "ct")) || json_integer_value(v) < 0)
		goto out;
	rec->created_ms = json_integer_value(v);
	if (!json_is_integer(v = json_object_get(o, "at")) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > INT64_MAX / 1000)
		goto out;
	rec->auth_time = json_integer_value(v);
	if (!json_is_integer(v = json_object_get(o, "loa")) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 4)
		goto out;
	rec->loa = (int)json_integer_value(v);
	rec->namr = 0;
	amr = json_object_get(o, "amr");
	if (amr != NULL) {
		if (!json_is_array(amr) || json_array_size(amr) > SESS_AMR_MAX)
			goto out;
		for (size_t i = 0; i < json_array_size(amr); i++) {
			v = json_array_get(amr, i);
			if (!json_is_string(v) || !sess_amr_ok(json_string_value(v)))
				goto out;
			sess_copy_cut(rec->amr[rec->namr++], SESS_AMR_LEN, json_string_value(v));
		}
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

char *
sess_family_json(const struct sess_family *f)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "uid", f->uid, "cid", f->client_id, "sid", f->sid);
	char *out = NULL;

	if (o != NULL && f->org[0] != '\0' &&
	    json_object_set_new(o, "org", json_string(f->org)) != 0) {
		json_decref(o);
		return NULL;
	}
	if (o != NULL)
		out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

char *
sess_ticket_json(const struct sess_ticket *t)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:i,s:b}", "svc", t->service, "cid",
	    t->client_id, "uid", t->uid, "sid", t->sid, "at", (json_int_t)t->auth_time, "loa",
	    t->loa, "renew", t->renewed);
	char *out = NULL;

	if (o != NULL && t->proxies[0] != '\0' &&
	    json_object_set_new(o, "px", json_string(t->proxies)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o != NULL)
		out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

int
sess_ticket_parse(const char *json, struct sess_ticket *t)
{
	json_t *o = NULL, *at, *loa, *renew;
	json_error_t jerr;
	int rc = YH_ERR_INVALID;

	memset(t, 0, sizeof(*t));
	if (json == NULL || strnlen(json, SESS_PAYLOAD_MAX + 1) > SESS_PAYLOAD_MAX)
		return YH_ERR_INVALID;
	if ((o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(o))
		goto out;
	at = json_object_get(o, "at");
	loa = json_object_get(o, "loa");
	renew = json_object_get(o, "renew");
	if (json_str(o, "svc", t->service, sizeof(t->service), true) != 0 ||
	    json_str(o, "cid", t->client_id, sizeof(t->client_id), true) != 0 ||
	    json_str(o, "uid", t->uid, sizeof(t->uid), true) != 0 ||
	    json_str(o, "sid", t->sid, sizeof(t->sid), false) != 0 ||
	    json_str(o, "px", t->proxies, sizeof(t->proxies), false) != 0 ||
	    !json_is_integer(at) || json_integer_value(at) < 0 ||
	    !json_is_integer(loa) || json_integer_value(loa) < 1 || json_integer_value(loa) > 4 ||
	    !json_is_boolean(renew))
		goto out;
	t->auth_time = json_integer_value(at);
	t->loa = (int)json_integer_value(loa);
	t->renewed = json_is_true(renew);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int
sess_family_parse(const char *json, size_t len, struct sess_family *f)
{
	json_t *o = NULL;
	json_error_t jerr;
	int rc = YH_ERR_INVALID;

	if (len > 1024)
		return YH_ERR_TOO_LONG;
	if ((o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(o))
		goto out;
	if (json_str(o, "uid", f->uid, sizeof(f->uid), true) != 0 ||
	    json_str(o, "cid", f->client_id, sizeof(f->client_id), true) != 0 ||
	    json_str(o, "sid", f->sid, sizeof(f->sid), false) != 0 ||
	    json_str(o, "org", f->org, sizeof(f->org), false) != 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}
