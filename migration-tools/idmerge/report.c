/*
 * The report: report.json for programs (counts per source and per reason) and a
 * self-contained report.html for people (tables and an inline SVG chart of where the
 * records went; no JavaScript, nothing fetched from elsewhere). No timestamps: the
 * same input gives the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "migration-tools/idmerge/mig.h"

int
mig_counts_check(const struct mig_counts *c, const struct mig_sources *s, char *err,
    size_t errsz)
{
	for (size_t i = 0; i < c->n_src; i++) {
		const struct mig_src_counts *x = &c->src[i];

		if (x->read != x->accounts + x->rejects + x->review) {
			snprintf(err, errsz, "internal error: source %s read %llu records but accounted "
			    "for %llu (accounts %llu + rejects %llu + review %llu)", s->v[i].name,
			    (unsigned long long)x->read,
			    (unsigned long long)(x->accounts + x->rejects + x->review),
			    (unsigned long long)x->accounts, (unsigned long long)x->rejects,
			    (unsigned long long)x->review);
			return YH_ERR_INTERNAL;
		}
	}
	return 0;
}

/* Merges per-source reason tables into one, sorted by reason. */
static size_t
total_reasons(const struct mig_counts *c, bool rejects, struct mig_reason_count *out,
    size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_src; i++) {
		const struct mig_src_counts *x = &c->src[i];
		const struct mig_reason_count *t = rejects ? x->rej : x->rev;
		size_t nt = rejects ? x->n_rej : x->n_rev;

		for (size_t k = 0; k < nt; k++) {
			size_t m;

			for (m = 0; m < n; m++)
				if (strcmp(out[m].reason, t[k].reason) == 0)
					break;
			if (m == n) {
				if (n == max)
					continue;
				out[n].reason = t[k].reason;
				out[n++].n = 0;
			}
			out[m].n += t[k].n;
		}
	}
	return n;
}

static int
reason_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mig_reason_count *)a)->reason,
	    ((const struct mig_reason_count *)b)->reason);
}

static int
put_reasons(struct yh_buf *b, const struct mig_reason_count *t, size_t n)
{
	struct mig_reason_count s[MIG_REASONS_MAX * 4];
	int e = yh_buf_putc(b, '{');

	if (n > sizeof(s) / sizeof(s[0]))
		n = sizeof(s) / sizeof(s[0]);
	memcpy(s, t, n * sizeof(*t));
	qsort(s, n, sizeof(*s), reason_cmp);
	for (size_t i = 0; i < n && e == 0; i++) {
		if ((e = yh_buf_puts(b, i ? "," : "")) == 0 && (e = mig_json_str(b, s[i].reason)) == 0)
			e = yh_buf_printf(b, ":%llu", (unsigned long long)s[i].n);
	}
	return e != 0 ? e : yh_buf_putc(b, '}');
}

static int
report_json(struct yh_buf *b, const struct mig_sources *s, const struct mig_counts *c,
    bool dry_run)
{
	struct mig_reason_count all[MIG_REASONS_MAX * 4];
	uint64_t t[4] = { 0, 0, 0, 0 };
	size_t n;
	int e = 0;

	for (size_t i = 0; i < c->n_src; i++) {
		t[0] += c->src[i].read;
		t[1] += c->src[i].accounts;
		t[2] += c->src[i].rejects;
		t[3] += c->src[i].review;
	}
	e = yh_buf_printf(b, "{\n  \"version\": 1,\n  \"dry_run\": %s,\n  \"totals\": {\"read\": %llu, "
	    "\"accounts\": %llu, \"rejects\": %llu, \"review\": %llu, \"persons\": %llu, "
	    "\"orgs\": %llu, \"conflict_groups\": %llu},\n  \"sources\": [", dry_run ? "true" : "false",
	    (unsigned long long)t[0], (unsigned long long)t[1], (unsigned long long)t[2],
	    (unsigned long long)t[3], (unsigned long long)c->persons, (unsigned long long)c->orgs,
	    (unsigned long long)c->conflicts);
	for (size_t i = 0; i < c->n_src && e == 0; i++) {
		const struct mig_src_counts *x = &c->src[i];

		if ((e = yh_buf_puts(b, i ? ",\n    {\"name\": " : "\n    {\"name\": ")) != 0 ||
		    (e = mig_json_str(b, s->v[i].name)) != 0 ||
		    (e = yh_buf_printf(b, ", \"kind\": \"%s\", \"read\": %llu, \"accounts\": %llu, "
		    "\"rejects\": %llu, \"review\": %llu, \"reject_reasons\": ",
		    s->v[i].kind == MIG_KIND_ORG ? "org" : "person", (unsigned long long)x->read,
		    (unsigned long long)x->accounts, (unsigned long long)x->rejects,
		    (unsigned long long)x->review)) != 0 ||
		    (e = put_reasons(b, x->rej, x->n_rej)) != 0 ||
		    (e = yh_buf_puts(b, ", \"review_reasons\": ")) != 0 ||
		    (e = put_reasons(b, x->rev, x->n_rev)) != 0)
			return e;
		e = yh_buf_putc(b, '}');
	}
	if (e != 0 || (e = yh_buf_puts(b, "\n  ],\n  \"reasons\": {\"rejects\": ")) != 0)
		return e;
	n = total_reasons(c, true, all, sizeof(all) / sizeof(all[0]));
	if ((e = put_reasons(b, all, n)) != 0 || (e = yh_buf_puts(b, ", \"review\": ")) != 0)
		return e;
	n = total_reasons(c, false, all, sizeof(all) / sizeof(all[0]));
	if ((e = put_reasons(b, all, n)) != 0)
		return e;
	return yh_buf_puts(b, "}\n}\n");
}

/* ---------- HTML ---------- */

static int
html_esc(struct yh_buf *b, const char *s)
{
	int e = 0;

	for (; *s && e == 0; s++) {
		switch (*s) {
		case '<': e = yh_buf_puts(b, "&lt;"); break;
		case '>': e = yh_buf_puts(b, "&gt;"); break;
		case '&': e = yh_buf_puts(b, "&amp;"); break;
		case '"': e = yh_buf_puts(b, "&quot;"); break;
		case '\'': e = yh_buf_puts(b, "&#39;"); break;
		default: e = yh_buf_putc(b, *s);
		}
	}
	return e;
}

/* What each reason code means, for people. */
static const char *
reason_label(const char *r)
{
	static const char *const map[][2] = {
		{ "bad_checksum", "校验位错误 check digit wrong" },
		{ "bad_length", "长度错误 wrong length" },
		{ "bad_charset", "含非法字符 invalid characters" },
		{ "bad_birthdate", "出生日期无效 invalid birth date" },
		{ "future_birthdate", "出生日期在未来 birth date in the future" },
		{ "bad_region", "地区码无效 invalid region" },
		{ "bad_registration", "登记管理部门/类别无效 unknown registration type" },
		{ "bad_org_code", "组织机构代码无效 invalid organization code" },
		{ "scientific_notation", "被Excel转成科学计数法 mangled by Excel (1.1E+17)" },
		{ "placeholder", "占位值 placeholder (无, NULL, 000…)" },
		{ "missing_id", "缺少证件号 no ID number" },
		{ "unreadable", "记录无法读取 record unreadable" },
		{ "too_long", "字段超长 value too long" },
		{ "name_conflict", "同一证件号姓名不一致 one ID number, different names" },
		{ "uscc_conflict", "同一组织机构代码对应多个信用代码 two credit codes, one org code" },
		{ "org_code_mismatch", "信用代码与组织机构代码不符 credit code and org code disagree" },
		{ "ambiguous_match", "姓名+手机号对应多个身份 name+phone match several identities" },
		{ "id_contradiction", "证件号与匹配身份矛盾 ID number contradicts the match" },
		{ "candidate_in_conflict", "匹配的身份存在冲突 the matched identity is in conflict" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], r) == 0)
			return map[i][1];
	return "";
}

/* One horizontal stacked bar: accounts (green), rejects (red), review (amber). */
static int
svg_bar(struct yh_buf *b, int y, const char *label, const uint64_t v[3], uint64_t max)
{
	static const char *const colors[3] = { "#2e7d32", "#c62828", "#ef8f00" };
	double x = 160.0, width = 560.0;
	int e;

	if ((e = yh_buf_printf(b, "<text x=\"150\" y=\"%d\" text-anchor=\"end\">", y + 15)) != 0 ||
	    (e = html_esc(b, label)) != 0 || (e = yh_buf_puts(b, "</text>")) != 0)
		return e;
	for (int i = 0; i < 3 && e == 0; i++) {
		double w = max > 0 ? width * (double)v[i] / (double)max : 0.0;

		if (v[i] == 0)
			continue;
		e = yh_buf_printf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"20\" "
		    "fill=\"%s\"><title>%llu</title></rect>", x, y, w < 1.0 ? 1.0 : w, colors[i],
		    (unsigned long long)v[i]);
		x += w;
	}
	if (e == 0)
		e = yh_buf_printf(b, "<text x=\"%.1f\" y=\"%d\">%llu</text>", x + 6, y + 15,
		    (unsigned long long)(v[0] + v[1] + v[2]));
	return e;
}

static int
html_chart(struct yh_buf *b, const struct mig_sources *s, const struct mig_counts *c)
{
	uint64_t max = 1, tot[3] = { 0, 0, 0 };
	int h = 40 + 30 * (int)(c->n_src + 1) + 30, y = 30, e;

	for (size_t i = 0; i < c->n_src; i++) {
		tot[0] += c->src[i].accounts;
		tot[1] += c->src[i].rejects;
		tot[2] += c->src[i].review;
	}
	max = tot[0] + tot[1] + tot[2] > 0 ? tot[0] + tot[1] + tot[2] : 1;
	e = yh_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\" height=\"%d\" "
	    "role=\"img\" aria-label=\"records by destination\" font-family=\"sans-serif\" "
	    "font-size=\"13\">", h);
	for (size_t i = 0; i < c->n_src && e == 0; i++) {
		uint64_t v[3] = { c->src[i].accounts, c->src[i].rejects, c->src[i].review };

		e = svg_bar(b, y, s->v[i].name, v, max);
		y += 30;
	}
	if (e == 0)
		e = svg_bar(b, y, "合计 total", tot, max);
	y += 40;
	if (e == 0)
		e = yh_buf_printf(b, "<rect x=\"160\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#2e7d32\"/>"
		    "<text x=\"178\" y=\"%d\">合并入身份 merged</text>"
		    "<rect x=\"330\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#c62828\"/>"
		    "<text x=\"348\" y=\"%d\">拒绝 rejected</text>"
		    "<rect x=\"480\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#ef8f00\"/>"
		    "<text x=\"498\" y=\"%d\">待审核 review</text></svg>\n",
		    y - 10, y, y - 10, y, y - 10, y);
	return e;
}

static int
html_reason_table(struct yh_buf *b, const char *title, const struct mig_reason_count *t,
    size_t n)
{
	struct mig_reason_count s[MIG_REASONS_MAX * 4];
	int e;

	if (n > sizeof(s) / sizeof(s[0]))
		n = sizeof(s) / sizeof(s[0]);
	memcpy(s, t, n * sizeof(*t));
	qsort(s, n, sizeof(*s), reason_cmp);
	e = yh_buf_printf(b, "<h2>%s</h2>\n<table><tr><th>原因 code</th><th>说明 meaning</th>"
	    "<th>数量 count</th></tr>\n", title);
	for (size_t i = 0; i < n && e == 0; i++) {
		if ((e = yh_buf_puts(b, "<tr><td><code>")) == 0 && (e = html_esc(b, s[i].reason)) == 0 &&
		    (e = yh_buf_puts(b, "</code></td><td>")) == 0 &&
		    (e = html_esc(b, reason_label(s[i].reason))) == 0)
			e = yh_buf_printf(b, "</td><td class=\"n\">%llu</td></tr>\n",
			    (unsigned long long)s[i].n);
	}
	if (e == 0 && n == 0)
		e = yh_buf_puts(b, "<tr><td colspan=\"3\">无 none</td></tr>\n");
	return e != 0 ? e : yh_buf_puts(b, "</table>\n");
}

static int
report_html(struct yh_buf *b, const struct mig_sources *s, const struct mig_counts *c,
    bool dry_run)
{
	struct mig_reason_count all[MIG_REASONS_MAX * 4];
	size_t n;
	int e;

	e = yh_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
	    "<title>idmerge 合并报告 merge report</title>\n<style>body{font-family:sans-serif;"
	    "margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px "
	    "solid #bbb;padding:4px 10px}th{background:#eee}td.n{text-align:right}</style></head>"
	    "<body>\n<h1>旧系统用户合并报告 Legacy user merge report</h1>\n%s"
	    "<p>身份 identities: 自然人 persons <b>%llu</b>, 法人 organizations <b>%llu</b>; "
	    "冲突组 conflict groups %llu.</p>\n",
	    dry_run ? "<p><b>试运行 dry run</b>: 仅生成报告 only the report was written.</p>\n" : "",
	    (unsigned long long)c->persons, (unsigned long long)c->orgs,
	    (unsigned long long)c->conflicts);
	if (e == 0)
		e = yh_buf_puts(b, "<h2>记录去向 Where the records went</h2>\n");
	if (e == 0)
		e = html_chart(b, s, c);
	if (e == 0)
		e = yh_buf_puts(b, "<table><tr><th>来源 source</th><th>类型 kind</th><th>读取 read</th>"
		    "<th>合并 merged</th><th>拒绝 rejected</th><th>待审核 review</th></tr>\n");
	for (size_t i = 0; i < c->n_src && e == 0; i++) {
		const struct mig_src_counts *x = &c->src[i];

		if ((e = yh_buf_puts(b, "<tr><td>")) == 0 && (e = html_esc(b, s->v[i].name)) == 0)
			e = yh_buf_printf(b, "</td><td>%s</td><td class=\"n\">%llu</td><td class=\"n\">"
			    "%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>\n",
			    s->v[i].kind == MIG_KIND_ORG ? "法人 org" : "自然人 person",
			    (unsigned long long)x->read, (unsigned long long)x->accounts,
			    (unsigned long long)x->rejects, (unsigned long long)x->review);
	}
	if (e == 0)
		e = yh_buf_puts(b, "</table>\n");
	n = total_reasons(c, true, all, sizeof(all) / sizeof(all[0]));
	if (e == 0)
		e = html_reason_table(b, "拒绝原因 Reject reasons", all, n);
	n = total_reasons(c, false, all, sizeof(all) / sizeof(all[0]));
	if (e == 0)
		e = html_reason_table(b, "待审核原因 Review reasons", all, n);
	return e != 0 ? e : yh_buf_puts(b, "</body></html>\n");
}

static int
write_file(const char *dir, const char *name, const struct yh_buf *b)
{
	char path[4200];
	FILE *f;
	int e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((e = mig_create_file(path, &f)) != 0)
		return e;
	if (fwrite(b->data, 1, b->len, f) != b->len)
		e = YH_ERR_IO;
	if (fclose(f) != 0)
		e = YH_ERR_IO;
	return e;
}

int
mig_report_write(const char *dir, const struct mig_sources *s, const struct mig_counts *c,
    bool dry_run)
{
	struct yh_buf b;
	int e;

	yh_buf_init(&b, 16u << 20);
	if ((e = report_json(&b, s, c, dry_run)) == 0 && (e = write_file(dir, "report.json", &b)) == 0) {
		yh_buf_reset(&b);
		if ((e = report_html(&b, s, c, dry_run)) == 0)
			e = write_file(dir, "report.html", &b);
	}
	yh_buf_free(&b);
	return e;
}
