/*
 * What the session store (sess.c) and its backends (mem.c, redis.c) share: checks of
 * names, keys and public ids, the store's clock, the expiry arithmetic of a session
 * record, handing a remote event to the handler, and the JSON forms of records kept in
 * Redis. Nothing here knows which backend is in use.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#define YH_SESS_INTERNAL
#include "authd/session/sess.h"
#include "authd/ui/ua.h"
#include "common/b64.h"
#include "common/buf.h"
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

/*
 * A session in Redis is a small hash, every field a short name and a short value, so
 * that Redis keeps it in its compact (listpack) form, where integers take 2 to 10
 * bytes: i sid (its 16 bytes), u uid, k created (ms), a auth_time (s), l loa, m amr
 * (comma-separated), g user agent summary ("Chrome / Android", authd/ui/ua.h), p
 * address, s last use (ms after k), d idle timeout (ms), x absolute timeout (ms after
 * k); c:<client> and t:<ticket> are added later (redis.c).
 */
void
sess_rec_fields(const struct sess_info *rec, bool all, struct sess_rec_text *t)
{
	size_t o = 0, n = 0;

	memset(t, 0, sizeof(*t));
	/* SESS_AMR_MAX values of under SESS_AMR_LEN bytes, commas included, always fit */
	for (size_t i = 0; i < rec->namr && i < SESS_AMR_MAX; i++) {
		snprintf(t->amr + o, sizeof(t->amr) - o, "%s%s", i > 0 ? "," : "", rec->amr[i]);
		o += strlen(t->amr + o);
	}
	ua_summary_text(rec->ua, t->ua, sizeof(t->ua));
	/* a sid that is not 16 bytes in base64url (never written by sess.c) stays text */
	if (yh_b64url_decode(rec->sid, strlen(rec->sid), t->sid, sizeof(t->sid), &n) != 0 ||
	    n != sizeof(t->sid))
		n = 0;
	snprintf(t->num[0], sizeof(t->num[0]), "%lld", (long long)rec->created_ms);
	snprintf(t->num[1], sizeof(t->num[1]), "%lld", (long long)rec->auth_time);
	snprintf(t->num[2], sizeof(t->num[2]), "%d", rec->loa);
	snprintf(t->num[3], sizeof(t->num[3]), "%lld",
	    (long long)((uint64_t)rec->seen_ms - (uint64_t)rec->created_ms));
	snprintf(t->num[4], sizeof(t->num[4]), "%lld", (long long)rec->idle_ms);
	snprintf(t->num[5], sizeof(t->num[5]), "%lld",
	    (long long)((uint64_t)rec->aexp_ms - (uint64_t)rec->created_ms));
	{
		const char *pairs[][2] = { { "i", n > 0 ? (const char *)t->sid : rec->sid },
			{ "u", rec->uid }, { "k", t->num[0] }, { "a", t->num[1] },
			{ "l", t->num[2] }, { "m", t->amr }, { "g", t->ua }, { "p", rec->addr },
			{ "s", t->num[3] }, { "d", t->num[4] }, { "x", t->num[5] } };
		size_t np = all ? 11 : 9;

		for (size_t i = 0; i < np; i++) {
			t->v[t->n] = pairs[i][0];
			t->l[t->n++] = 1;
			t->v[t->n] = pairs[i][1];
			t->l[t->n++] = i == 0 && n > 0 ? n : strlen(pairs[i][1]);
		}
	}
}

/* The sid field (16 bytes, or the text of one) into rec. */
static bool
field_sid(const char *v, size_t vlen, struct sess_info *rec)
{
	if (vlen == 16) {
		yh_b64url_encode((const unsigned char *)v, vlen, rec->sid);
		return true;
	}
	return vlen < sizeof(rec->sid) && memchr(v, '\0', vlen) == NULL &&
	    (memcpy(rec->sid, v, vlen), rec->sid[vlen] = '\0', sess_pubid_ok(rec->sid));
}

/* A field's value as an integer in lo..hi. */
static bool
field_i64(const char *v, size_t vlen, int64_t lo, int64_t hi, int64_t *out)
{
	char buf[24];

	if (vlen == 0 || vlen >= sizeof(buf) || memchr(v, '\0', vlen) != NULL)
		return false;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	return yh_parse_i64(buf, lo, hi, out) == 0;
}

/* A field's value as a string into dst (size bytes) when it fits and has no NUL. */
static bool
field_str(const char *v, size_t vlen, char *dst, size_t size)
{
	if (vlen >= size || memchr(v, '\0', vlen) != NULL)
		return false;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return true;
}

/* The amr field ("pwd,otp") into rec. */
static bool
field_amr(const char *v, size_t vlen, struct sess_info *rec)
{
	size_t start = 0;

	rec->namr = 0;
	for (size_t i = 0; vlen > 0 && i <= vlen; i++) {
		if (i < vlen && v[i] != ',')
			continue;
		if (rec->namr >= SESS_AMR_MAX ||
		    !field_str(v + start, i - start, rec->amr[rec->namr], SESS_AMR_LEN) ||
		    !sess_amr_ok(rec->amr[rec->namr]))
			return false;
		rec->namr++;
		start = i + 1;
	}
	return true;
}

int
sess_rec_field(const char *f, size_t flen, const char *v, size_t vlen, struct sess_info *rec,
    unsigned *have)
{
	int64_t n = 0;
	bool ok;

	if (flen != 1)
		return 0;
	switch (f[0]) {
	case 'i': ok = field_sid(v, vlen, rec); break;
	case 'u': ok = field_str(v, vlen, rec->uid, sizeof(rec->uid)); break;
	case 'g': ok = field_str(v, vlen, rec->ua, sizeof(rec->ua)); break;
	case 'p': ok = field_str(v, vlen, rec->addr, sizeof(rec->addr)); break;
	case 'm': ok = field_amr(v, vlen, rec); break;
	/* times within what their readers compute with: auth_time * 1000, now - auth_time */
	case 'k': ok = field_i64(v, vlen, 0, INT64_MAX, &rec->created_ms); break;
	case 'a': ok = field_i64(v, vlen, 0, INT64_MAX / 1000, &rec->auth_time); break;
	case 'l': ok = field_i64(v, vlen, 0, 4, &n); rec->loa = (int)n; break;
	case 's': ok = field_i64(v, vlen, INT64_MIN + 1, INT64_MAX, &rec->seen_ms); break;
	case 'd': ok = field_i64(v, vlen, INT64_MIN + 1, INT64_MAX, &rec->idle_ms); break;
	case 'x': ok = field_i64(v, vlen, INT64_MIN + 1, INT64_MAX, &rec->aexp_ms); break;
	default: return 0;
	}
	if (!ok)
		return YH_ERR_INVALID;
	*have |= 1u << (strchr(SESS_REC_NAMES, f[0]) - SESS_REC_NAMES);
	return 0;
}

int
sess_rec_finish(struct sess_info *rec, unsigned have)
{
	int64_t seen, aexp;

	if ((have & SESS_REC_REQUIRED) != SESS_REC_REQUIRED ||
	    __builtin_add_overflow(rec->created_ms, rec->seen_ms, &seen) ||
	    __builtin_add_overflow(rec->created_ms, rec->aexp_ms, &aexp))
		return YH_ERR_INVALID;
	rec->seen_ms = seen;
	rec->aexp_ms = aexp;
	rec->expires_ms = sess_rec_expiry(seen, rec->idle_ms, aexp);
	return 0;
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
