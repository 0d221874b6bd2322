/*
 * Cleansing: one legacy record in, one typed, canonical record (or a reject) out. The
 * identifier rules themselves live in identity/ (idnum.h, matchkey.h); this file
 * decides what to do with their answers.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "identity/idn/idnum.h"
#include "identity/match/matchkey.h"
#include "migration-tools/idmerge/mig.h"

/* Values clerks type when they do not know the number. Compared after trimming. */
static const char *const placeholder_words[] = {
	"无", "NULL", "null", "Null", "NONE", "None", "none", "N/A", "n/a", "NA", "na",
	"-", "--", "---", "/", "//", "\\", "待补充", "暂无", "未知", "不详", "空", "无证件",
	"0", "?", "??", "？", "－", "／", "—", "——", "x", "X", "nil", "undefined",
};

/* Length of a trailing or leading space character at p: ASCII whitespace, NBSP
 * (C2 A0) or the ideographic space (E3 80 80); 0 when none. */
static size_t
space_len(const char *p, size_t left)
{
	const unsigned char *u = (const unsigned char *)p;

	if (left >= 1 && (u[0] == ' ' || u[0] == '\t' || u[0] == '\r' || u[0] == '\n'))
		return 1;
	if (left >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (left >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
		return 3;
	return 0;
}

/* Trims spaces from both ends of s: returns the start, sets *len. NULL gives "". */
static const char *
trim(const char *s, size_t *len)
{
	size_t n, k;

	if (s == NULL) {
		*len = 0;
		return "";
	}
	n = strlen(s);
	while (n > 0 && (k = space_len(s, n)) > 0) {
		s += k;
		n -= k;
	}
	for (;;) {
		if (n >= 1 && space_len(s + n - 1, 1) == 1)
			n--;
		else if (n >= 2 && space_len(s + n - 2, 2) == 2)
			n -= 2;
		else if (n >= 3 && space_len(s + n - 3, 3) == 3)
			n -= 3;
		else
			break;
	}
	*len = n;
	return s;
}

/* Copies len bytes into the record's buffer; returns the copy or NULL when full. */
static const char *
keep(struct mig_clean *c, const char *s, size_t len)
{
	char *d;

	if (len + 1 > sizeof(c->buf) - c->used)
		return NULL;
	d = c->buf + c->used;
	memcpy(d, s, len);
	d[len] = '\0';
	c->used += len + 1;
	return d;
}

static const char *
keep_str(struct mig_clean *c, const char *s)
{
	return keep(c, s, strlen(s));
}

bool
mig_is_placeholder(const char *raw)
{
	char folded[IDN_INPUT_MAX + 1], word[64];
	size_t len, n, i;
	const char *t = trim(raw, &len);
	bool same = true, up = true, down = true;

	if (len == 0)
		return false;
	if (len < sizeof(word)) {
		memcpy(word, t, len);
		word[len] = '\0';
		for (i = 0; i < sizeof(placeholder_words) / sizeof(placeholder_words[0]); i++)
			if (strcmp(word, placeholder_words[i]) == 0)
				return true;
	}
	if (idn_fold(t, len, folded, sizeof(folded)) != 0)
		return false;
	n = strlen(folded);
	if (n < 6)
		return false;
	/* All one character (000000000000000000), or a run of consecutive digits up or
	 * down (123456789012345678, 98765432109876543X) ignoring the check position. */
	for (i = 1; i < n; i++) {
		unsigned char a = (unsigned char)folded[i - 1], b = (unsigned char)folded[i];

		if (a != b)
			same = false;
		if (i == n - 1 && (n == 18 || n == 15))
			continue;
		if (a < '0' || a > '9' || b < '0' || b > '9') {
			up = down = false;
			continue;
		}
		if ((a - '0' + 1) % 10 != b - '0')
			up = false;
		if ((b - '0' + 1) % 10 != a - '0')
			down = false;
	}
	return same || (n >= 9 && (up || down));
}

void
mig_mask_value(const char *raw, char *out, size_t outsz)
{
	size_t len, i, o = 0;
	const char *t = trim(raw, &len);
	bool ascii = true;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (len == 0)
		return;
	if (mig_is_placeholder(raw) && len < outsz) {
		/* A placeholder carries no personal data; showing it helps the operator. */
		memcpy(out, t, len);
		out[len] = '\0';
		return;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x7f)
			ascii = false;
	if (ascii && len < outsz && len <= 40) {
		char tmp[48];

		memcpy(tmp, t, len);
		tmp[len] = '\0';
		idn_mask(tmp, out, outsz);
		return;
	}
	/* Anything else: one star per character, nothing of the value shown. */
	for (i = 0; i < len && o + 1 < outsz && o < 32; i++)
		if (((unsigned char)t[i] & 0xC0) != 0x80)
			out[o++] = '*';
	out[o] = '\0';
}

/* Reads up to max digits at *p as a number; advances *p; returns the digit count. */
static int
digits(const char **p, int max, int *val)
{
	int n = 0, v = 0;

	while (**p >= '0' && **p <= '9' && n < max) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*val = v;
	return n;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static void
fmt_time(int y, int mo, int d, int h, int mi, int s, char out[15])
{
	char tmp[64];

	out[0] = '\0';
	if (!yh_date_valid(y, mo, d) || y < 1900 || y > 9999 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || s < 0 || s > 60)
		return;
	snprintf(tmp, sizeof(tmp), "%04d%02d%02d%02d%02d%02d", y, mo, d, h, mi, s);
	memcpy(out, tmp, 15);
	out[14] = '\0';
}

void
mig_norm_time(const char *in, char out[15])
{
	size_t len;
	const char *t = trim(in, &len);
	int part[6] = { 0, 0, 0, 0, 0, 0 }, n = 0;
	char tmp[64];
	const char *p;

	out[0] = '\0';
	if (len == 0 || len >= sizeof(tmp))
		return;
	memcpy(tmp, t, len);
	tmp[len] = '\0';
	if (all_digits(tmp, len) && (len == 10 || len == 13)) {
		/* Unix seconds or milliseconds, shown in China Standard Time. */
		uint64_t v = 0;
		struct tm tm;
		time_t tt;

		if (yh_parse_u64(tmp, 0, UINT64_MAX, &v) != 0)
			return;
		if (len == 13)
			v /= 1000;
		tt = (time_t)v + 8 * 3600;
		if (gmtime_r(&tt, &tm) == NULL)
			return;
		fmt_time(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, out);
		return;
	}
	p = tmp;
	if (all_digits(tmp, len) && (len == 8 || len == 12 || len == 14)) {
		static const int w[6] = { 4, 2, 2, 2, 2, 2 };

		for (n = 0; n < 6 && *p; n++)
			(void)digits(&p, w[n], &part[n]);
	} else {
		/* Digit groups separated by anything: 2023-05-01 12:00:00, 2023/5/1 12:00,
		 * 2023-05-01T12:00:00Z, 2023年5月1日. */
		while (*p && n < 6) {
			if (*p >= '0' && *p <= '9') {
				if (digits(&p, n == 0 ? 4 : 2, &part[n]) == 0)
					return;
				n++;
				if (*p == '.' && n == 6)
					break; /* fractional seconds */
			} else
				p++;
		}
	}
	if (n < 3)
		return;
	fmt_time(part[0], part[1], part[2], part[3], part[4], part[5], out);
}

const char *
mig_norm_status(const struct mig_source *src, const char *raw)
{
	static const char *const canon[] = { "active", "disabled", "locked", "deregistered" };
	size_t len, i;
	const char *t = trim(raw, &len);

	if (len == 0)
		return "active";
	for (i = 0; src != NULL && i < src->n_status_map; i++)
		if (strlen(src->status_map[i].from) == len &&
		    memcmp(src->status_map[i].from, t, len) == 0) {
			for (size_t k = 0; k < 4; k++)
				if (strcmp(src->status_map[i].to, canon[k]) == 0)
					return canon[k];
			return "disabled";
		}
	for (i = 0; i < 4; i++)
		if (strlen(canon[i]) == len && strncasecmp(canon[i], t, len) == 0)
			return canon[i];
	/* An unknown status never re-enables an account. */
	return "disabled";
}

/* Optimal-string-alignment distance between two short strings, capped at 2. */
static int
osa_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b), i, j;
	int d[24][24];

	if (n > 22 || m > 22)
		return 2;
	for (i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= n; i++)
		for (j = 1; j <= m; j++) {
			int cost = a[i - 1] != b[j - 1], v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m] > 2 ? 2 : d[n][m];
}

/* Does an Excel-mangled "1.10105E+17" agree with canonical? The mantissa is the
 * number rounded to its shown digits. */
static bool
scientific_agrees(const char *raw, const char *canonical)
{
	char mant[24], ref[19];
	size_t nm = 0, i;
	const char *p = raw;
	int exp = 0, sign = 1;
	uint64_t want = 0, have = 0;

	for (; *p && *p != 'E'; p++) {
		if (*p == '.' || *p == ',')
			continue;
		if (*p < '0' || *p > '9' || nm >= 16)
			return false;
		mant[nm++] = *p;
	}
	if (*p != 'E' || nm == 0)
		return false;
	p++;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 3, &exp) == 0 || *p != '\0' || sign < 0)
		return false;
	if (exp == 17) {
		memcpy(ref, canonical, 18);
		ref[18] = '\0';
	} else if (exp == 14) {
		/* A 15-digit number: the canonical one without the inserted "19" and check. */
		memcpy(ref, canonical, 6);
		memcpy(ref + 6, canonical + 8, 9);
		ref[15] = '\0';
	} else
		return false;
	if (nm >= strlen(ref) || ref[nm] < '0' || ref[nm] > '9')
		return false;
	for (i = 0; i < nm; i++) {
		if (ref[i] < '0' || ref[i] > '9')
			return false;
		want = want * 10 + (uint64_t)(mant[i] - '0');
		have = have * 10 + (uint64_t)(ref[i] - '0');
	}
	if (ref[nm] >= '5')
		have++;
	return want == have;
}

bool
mig_id_contradicts(const char *raw, const char *reason, const char *canonical)
{
	char up[24];
	size_t n;

	if (raw == NULL || raw[0] == '\0' || strcmp(reason, "missing_id") == 0 ||
	    strcmp(reason, "placeholder") == 0)
		return false; /* no number given: nothing to contradict */
	if (strlen(canonical) != 18)
		return true;
	if (strcmp(reason, "scientific_notation") == 0)
		return !scientific_agrees(raw, canonical);
	n = strlen(raw);
	if (n == 15 && all_digits(raw, 15)) {
		char can17[18];

		memcpy(up, raw, 6);
		memcpy(up + 6, "19", 2);
		memcpy(up + 8, raw + 6, 9);
		up[17] = '\0';
		memcpy(can17, canonical, 17);
		can17[17] = '\0';
		return osa_distance(up, can17) > 1;
	}
	/* A typo: one substitution, insertion, deletion or adjacent transposition. */
	return osa_distance(raw, canonical) > 1;
}

/* Fills the fields persons and organizations share. */
static int
common_fields(const struct mig_record *in, struct mig_clean *c)
{
	const struct mig_source *src = in->src;
	char key[64], when[15], seqid[32];
	const char *t, *v;
	size_t len;

	for (int i = 0; i < MV_COUNT; i++)
		c->rec.v[i] = "";
	t = trim(in->f[MIG_F_LEGACY_ID], &len);
	if (len == 0) {
		/* No legacy id: the record number stands in, so the account stays traceable. */
		snprintf(seqid, sizeof(seqid), "#%llu", (unsigned long long)in->seq);
		t = seqid;
		len = strlen(seqid);
	}
	if ((v = keep(c, t, len)) == NULL)
		return YH_ERR_TOO_LONG;
	c->rec.v[MV_LEGACY_ID] = v;
	t = in->f[MIG_F_PHONE];
	if (t != NULL && mk_phone_key(t, strlen(t), key, sizeof(key)) == 0) {
		if ((c->rec.v[MV_PHONE] = keep_str(c, key)) == NULL)
			return YH_ERR_TOO_LONG;
	}
	t = trim(in->f[MIG_F_EMAIL], &len);
	if (len > 2 && len <= 254 && memchr(t, '@', len) != NULL && memchr(t, ' ', len) == NULL) {
		if ((v = keep(c, t, len)) == NULL)
			return YH_ERR_TOO_LONG;
		for (char *w = (char *)v; *w; w++)
			if (*w >= 'A' && *w <= 'Z')
				*w = (char)(*w - 'A' + 'a');
		c->rec.v[MV_EMAIL] = v;
	}
	t = trim(in->f[MIG_F_USERNAME], &len);
	if ((c->rec.v[MV_USERNAME] = keep(c, t, len)) == NULL)
		return YH_ERR_TOO_LONG;
	t = trim(in->f[MIG_F_PASSWORD_HASH], &len);
	if ((c->rec.v[MV_PW_HASH] = keep(c, t, len)) == NULL)
		return YH_ERR_TOO_LONG;
	/* Salts are used byte for byte: never trimmed. */
	t = in->f[MIG_F_PASSWORD_SALT] != NULL ? in->f[MIG_F_PASSWORD_SALT] : "";
	if (len > 0 && (c->rec.v[MV_PW_SALT] = keep_str(c, t)) == NULL)
		return YH_ERR_TOO_LONG;
	c->rec.v[MV_STATUS] = mig_norm_status(src, in->f[MIG_F_STATUS]);
	mig_norm_time(in->f[MIG_F_LAST_LOGIN], when);
	if ((c->rec.v[MV_LAST_LOGIN] = keep_str(c, when)) == NULL)
		return YH_ERR_TOO_LONG;
	return 0;
}

/* Sets a reject with a masked value. */
static void
set_reject(struct mig_clean *c, const char *reason, const char *field, const char *raw)
{
	c->dest = MIG_DEST_REJECT;
	c->reason = reason;
	c->field = field;
	mig_mask_value(raw, c->value, sizeof(c->value));
}

/* Classifies an ID-number value: canonical on success, else a reason code. */
static const char *
check_resident(const char *raw, int today, struct idn_resident *res)
{
	size_t len;
	const char *t = trim(raw, &len);
	enum idn_reason r;

	memset(res, 0, sizeof(*res));
	if (len == 0)
		return "missing_id";
	if (mig_is_placeholder(t))
		return "placeholder";
	if (len > IDN_INPUT_MAX)
		return "bad_length";
	r = idn_resident_check_at(t, len, today, res);
	if (r == IDN_OK)
		return NULL;
	if (r == IDN_EMPTY)
		return "missing_id";
	return idn_reason_str(r);
}

/* Keeps a display name tidy: spaces a clerk typed inside a Chinese name ("张 三",
 * "张　三") are dropped, runs of spaces between Latin words become one. */
static const char *
keep_name(struct mig_clean *c, const char *s, size_t len)
{
	char out[MIG_FIELD_MAX];
	size_t o = 0, i = 0, k;

	while (i < len && o + 4 < sizeof(out)) {
		if ((k = space_len(s + i, len - i)) > 0) {
			size_t j = i;

			while (j < len && (k = space_len(s + j, len - j)) > 0)
				j += k;
			if (o > 0 && j < len && !((unsigned char)out[o - 1] & 0x80) &&
			    !((unsigned char)s[j] & 0x80))
				out[o++] = ' ';
			i = j;
			continue;
		}
		out[o++] = s[i++];
	}
	return keep(c, out, o);
}

static int
cleanse_person(const struct mig_record *in, int today, struct mig_clean *c)
{
	struct idn_resident res;
	char key[MK_NAME_MAX + 8], folded[IDN_INPUT_MAX + 1];
	const char *t, *why, *raw = in->f[MIG_F_ID_NUMBER];
	size_t len;
	int r;

	t = trim(in->f[MIG_F_NAME], &len);
	if (len > 0 && mig_is_placeholder(t))
		len = 0;   /* "无", "NULL", "-": no name, not a name */
	if ((c->rec.v[MV_NAME] = keep_name(c, t, len)) == NULL)
		return YH_ERR_TOO_LONG;
	if (len > 0 && mk_name_key(t, len, key, sizeof(key)) == 0 &&
	    (c->rec.v[MV_NAME_KEY] = keep_str(c, key)) == NULL)
		return YH_ERR_TOO_LONG;
	why = check_resident(raw, today, &res);
	if (why == NULL) {
		c->rec.type = MIG_T_PERSON;
		c->rec.key = keep_str(c, res.canonical);
		return c->rec.key == NULL ? YH_ERR_TOO_LONG : 0;
	}
	/* No usable number: name and phone may still find the identity (pass 3). */
	if (c->rec.v[MV_NAME_KEY][0] == '\0' || c->rec.v[MV_PHONE][0] == '\0') {
		set_reject(c, why, "id_number", raw);
		return 0;
	}
	/* Kept for the contradiction check and the reject line: the folded value, or the
	 * trimmed one when it cannot be folded (placeholders, bad bytes). */
	t = trim(raw, &len);
	if (len > IDN_INPUT_MAX || idn_fold(t, len, folded, sizeof(folded)) != 0 ||
	    strcmp(why, "placeholder") == 0)
		c->rec.v[MV_ID_RAW] = keep(c, t, len > IDN_INPUT_MAX ? IDN_INPUT_MAX : len);
	else
		c->rec.v[MV_ID_RAW] = keep_str(c, folded);
	if (c->rec.v[MV_ID_RAW] == NULL)
		return YH_ERR_TOO_LONG;
	c->rec.v[MV_REASON] = why;
	c->rec.type = MIG_T_NOID;
	r = snprintf(key, sizeof(key), "%s\x1f%s", c->rec.v[MV_NAME_KEY], c->rec.v[MV_PHONE]);
	if (r < 0 || (size_t)r >= sizeof(key))
		return YH_ERR_TOO_LONG;
	c->rec.key = keep_str(c, key);
	return c->rec.key == NULL ? YH_ERR_TOO_LONG : 0;
}

/* The organization code a credit-code value embeds, when the code itself fails. */
static bool
embedded_orgcode(const char *raw, struct idn_orgcode *oc)
{
	char folded[IDN_INPUT_MAX + 1];
	size_t len;
	const char *t = trim(raw, &len);

	if (len == 0 || idn_fold(t, len, folded, sizeof(folded)) != 0 || strlen(folded) != 18)
		return false;
	return idn_orgcode_check(folded + 8, 9, oc) == IDN_OK;
}

static int
cleanse_org(const struct mig_record *in, int today, struct mig_clean *c)
{
	struct idn_uscc us;
	struct idn_orgcode oc_field, oc_emb;
	struct idn_resident rep;
	const char *t, *us_raw = in->f[MIG_F_USCC], *oc_raw = in->f[MIG_F_ORG_CODE];
	const char *us_why = "missing_id", *oc_why = "missing_id", *key = NULL;
	size_t len, us_len, oc_len;
	bool us_ok = false, oc_ok = false;

	t = trim(in->f[MIG_F_ORG_NAME], &len);
	if (len > 0 && mig_is_placeholder(t))
		len = 0;
	if ((c->rec.v[MV_ORG_NAME] = keep(c, t, len)) == NULL)
		return YH_ERR_TOO_LONG;
	if (check_resident(in->f[MIG_F_LEGAL_REP_ID_NUMBER], today, &rep) == NULL &&
	    (c->rec.v[MV_LEGAL_REP] = keep_str(c, rep.canonical)) == NULL)
		return YH_ERR_TOO_LONG;
	t = trim(us_raw, &us_len);
	if (us_len > 0 && mig_is_placeholder(t))
		us_why = "placeholder";
	else if (us_len > IDN_INPUT_MAX)
		us_why = "bad_length";
	else if (us_len > 0) {
		enum idn_reason r = idn_uscc_check(t, us_len, &us);

		us_ok = r == IDN_OK;
		us_why = r == IDN_EMPTY ? "missing_id" : idn_reason_str(r);
	}
	t = trim(oc_raw, &oc_len);
	if (oc_len > 0 && mig_is_placeholder(t))
		oc_why = "placeholder";
	else if (oc_len > IDN_INPUT_MAX)
		oc_why = "bad_length";
	else if (oc_len > 0) {
		enum idn_reason r = idn_orgcode_check(t, oc_len, &oc_field);

		oc_ok = r == IDN_OK;
		oc_why = r == IDN_EMPTY ? "missing_id" : idn_reason_str(r);
	}
	if (us_ok) {
		if (oc_ok && strcmp(oc_field.canonical, us.org_code) != 0) {
			/* Two codes naming different organizations: a human decides. */
			c->dest = MIG_DEST_REVIEW;
			c->reason = "org_code_mismatch";
			c->rec.type = MIG_T_ORG;
			if ((c->rec.v[MV_USCC] = keep_str(c, us.canonical)) == NULL ||
			    (c->rec.v[MV_ORG_CODE] = keep_str(c, oc_field.canonical)) == NULL)
				return YH_ERR_TOO_LONG;
			return 0;
		}
		key = us.org_code;
		if ((c->rec.v[MV_USCC] = keep_str(c, us.canonical)) == NULL)
			return YH_ERR_TOO_LONG;
	} else if (oc_ok)
		key = oc_field.canonical;
	else if (us_len > 0 && strcmp(us_why, "placeholder") != 0 && embedded_orgcode(us_raw, &oc_emb))
		key = oc_emb.canonical; /* the credit code fails, its organization code holds */
	if (key == NULL) {
		if (us_len > 0 && (strcmp(us_why, "missing_id") != 0 || oc_len == 0))
			set_reject(c, us_why, "uscc", us_raw);
		else
			set_reject(c, oc_why, "org_code", oc_raw);
		return 0;
	}
	c->rec.type = MIG_T_ORG;
	if ((c->rec.key = keep_str(c, key)) == NULL ||
	    (c->rec.v[MV_ORG_CODE] = keep_str(c, key)) == NULL)
		return YH_ERR_TOO_LONG;
	return 0;
}

int
mig_cleanse(const struct mig_record *in, uint32_t src_index, int today, struct mig_clean *c)
{
	int r;

	c->used = 0;
	c->dest = MIG_DEST_KEEP;
	c->reason = NULL;
	c->field = NULL;
	c->value[0] = '\0';
	c->rec.type = 0;
	c->rec.src = src_index;
	c->rec.seq = in->seq;
	c->rec.key = "";
	if ((r = common_fields(in, c)) != 0)
		return r;
	if (in->src->kind == MIG_KIND_ORG)
		return cleanse_org(in, today, c);
	return cleanse_person(in, today, c);
}
