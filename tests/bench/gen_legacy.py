#!/usr/bin/env python3
"""Synthetic legacy user databases for the idmerge benchmark (python3 stdlib only).

usage: gen_legacy.py N OUTDIR [SEED]

Writes about N records across five sources in OUTDIR plus sources.json:
  shebao.csv (GBK), gjj.csv (GB18030, '|'), jiaoyu.jsonl, minzheng.ldif  -- persons
  shichang.csv (UTF-8)                                                   -- organizations
A population of persons appears in one to four sources each, with the usual dirt:
15-digit and full-width numbers, lowercase x, leading apostrophes, typos, Excel
mangling, placeholders, missing numbers (name + phone only), traditional characters.
Deterministic for a given N and SEED.
"""
import json
import os
import random
import sys

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
REGIONS = ["110105", "310115", "440305", "320102", "510104", "330106", "420106", "370202",
           "210102", "650102", "610113", "430104"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
TRAD = {"张": "張", "陈": "陳", "刘": "劉", "黄": "黃", "赵": "趙", "吴": "吳", "郑": "鄭", "马": "馬"}
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅飞鑫波斌宇浩凯"
USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_W = [3, 7, 9, 10, 5, 8, 4, 2]
USCC_W = [pow(3, i, 31) for i in range(17)]


def check(s17):
    return "10X98765432"[sum((ord(a) - 48) * b for a, b in zip(s17, W)) % 11]


def mix(x):
    """A 64-bit integer hash (splitmix64): cheap, deterministic facts per person."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def person(i):
    """The facts of person i (stable across sources)."""
    h = mix(i)
    y = 1940 + h % 70
    h //= 70
    s17 = "%s%04d%02d%02d%03d" % (REGIONS[i % len(REGIONS)], y, 1 + h % 12, 1 + (h >> 4) % 28,
                                  (h >> 9) % 1000)
    h >>= 19
    name = SURNAMES[h % len(SURNAMES)] + GIVEN[(h >> 6) % len(GIVEN)]
    if (h >> 12) & 1:
        name += GIVEN[(h >> 13) % len(GIVEN)]
    phone = "1%d%09d" % (3 + (h >> 20) % 7, (h >> 24) % 10 ** 9)
    return s17 + check(s17), name, phone


def dirty_id(num, r):
    x = r.random()
    if x < 0.03:
        return ""                                   # missing: name + phone only
    if x < 0.04:
        return r.choice(["无", "NULL", "000000000000000000", "待补充", "-"])
    if x < 0.05:
        d = str((int(num[5]) + 1) % 10)              # a typo
        return num[:5] + d + num[6:]
    if x < 0.055:
        return "%.5E" % int(num[:17] + "0")          # Excel
    if x < 0.08 and num[6:8] == "19":
        return num[:6] + num[8:17]                  # 15 digits
    if x < 0.10:
        return "".join(chr(ord(c) + 0xFEE0) for c in num)   # full width
    if x < 0.12:
        return "'" + num.lower()
    return num


def dirty_name(name, r):
    if r.random() < 0.05 and name[0] in TRAD:
        return TRAD[name[0]] + name[1:]
    if r.random() < 0.02:
        return name[0] + " " + name[1:]
    return name


def org_code(s8):
    # GB 11714: letters count A=10 ... Z=35.
    c = 11 - sum(int(ch, 36) * w for ch, w in zip(s8, ORG_W)) % 11
    return s8 + ("X" if c == 10 else "0" if c == 11 else str(c))


def org(j):
    h = mix(j + (1 << 40))
    oc = org_code("".join(USCC_ALPHA[(h >> (5 * k)) % 31] for k in range(8)))
    s17 = "91" + REGIONS[j % len(REGIONS)] + oc
    c = (31 - sum(USCC_ALPHA.index(ch) * w for ch, w in zip(s17, USCC_W)) % 31) % 31
    return s17 + USCC_ALPHA[c], oc


def csv_quote(v, delim):
    if any(c in v for c in (delim, '"', "\n", "\r")):
        return '"' + v.replace('"', '""') + '"'
    return v


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n = int(sys.argv[1])
    out = sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.makedirs(out, exist_ok=True)
    r = random.Random(seed)
    n_org = n // 10
    n_person_recs = n - n_org
    population = max(1, int(n_person_recs / 1.8))
    shares = [("shebao", 0.35), ("gjj", 0.25), ("jiaoyu", 0.25), ("minzheng", 0.15)]
    files = {
        "shebao": open(os.path.join(out, "shebao.csv"), "w", encoding="gbk", newline=""),
        "gjj": open(os.path.join(out, "gjj.csv"), "w", encoding="gb18030", newline=""),
        "jiaoyu": open(os.path.join(out, "jiaoyu.jsonl"), "w", encoding="utf-8"),
        "minzheng": open(os.path.join(out, "minzheng.ldif"), "w", encoding="utf-8"),
    }
    files["shebao"].write("user_id,xm,sfzh,sjhm,pwd,zt,zhdlsj\r\n")
    files["gjj"].write("gjzh|xm|zjhm|sj|mm|zt\r\n")
    files["minzheng"].write("version: 1\n\n")
    import base64
    b64 = base64.b64encode
    for src, share in shares:
        f = files[src]
        count = int(n_person_recs * share)
        buf = []
        for k in range(count):
            i = r.randrange(population)
            num, name, phone = person(i)
            idv = dirty_id(num, r)
            nm = dirty_name(name, r)
            lid = "%s%d" % (src[:2], k + 1)
            if src == "shebao":
                buf.append("%s,%s,%s,%s,%032x,%d,2023-%02d-%02d 10:00:00\r\n" % (
                    lid, nm, csv_quote(idv, ","), phone, r.getrandbits(128), r.randrange(2),
                    1 + r.randrange(12), 1 + r.randrange(28)))
            elif src == "gjj":
                buf.append("%s|%s|%s|%s|%040x|正常\r\n" % (lid, nm, idv, phone, r.getrandbits(160)))
            elif src == "jiaoyu":
                buf.append(json.dumps({"id": lid, "xm": nm, "sfz": idv, "tel": phone,
                                       "state": "active"}, ensure_ascii=False) + "\n")
            else:
                buf.append("dn: uid=%s,ou=people,dc=mz\nuid: %s\ncn:: %s\nsfzh:: %s\nmobile: %s\n\n" % (
                    lid, lid, b64(nm.encode()).decode(), b64(idv.encode()).decode(), phone))
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))
        f.close()
    with open(os.path.join(out, "shichang.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("qyid,qymc,tyshxydm,zzjgdm,fddbr\r\n")
        n_orgs_pop = max(1, int(n_org / 1.5))
        buf = []
        for k in range(n_org):
            j = r.randrange(n_orgs_pop)
            u, oc = org(j)
            rep = person(j % population)[0]
            if r.random() < 0.2:
                row = "sc%d,企业%d有限公司,,%s,%s\r\n" % (k + 1, j, oc, rep)
            else:
                row = "sc%d,企业%d有限公司,%s,,%s\r\n" % (k + 1, j, u, rep)
            buf.append(row)
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))
    sources = {"sources": [
        {"name": "shebao", "file": "shebao.csv", "format": "csv", "encoding": "GBK", "kind": "person",
         "trust": 3, "fields": {"legacy_id": "user_id", "name": "xm", "id_number": "sfzh",
                                "phone": "sjhm", "password_hash": "pwd", "status": "zt",
                                "last_login": "zhdlsj"},
         "password_scheme": "md5-hex", "status_map": {"1": "active", "0": "disabled"}},
        {"name": "gjj", "file": "gjj.csv", "format": "csv", "encoding": "GB18030", "delimiter": "|",
         "kind": "person", "trust": 2,
         "fields": {"legacy_id": "gjzh", "name": "xm", "id_number": "zjhm", "phone": "sj",
                    "password_hash": "mm", "status": "zt"},
         "password_scheme": "sha1-hex", "status_map": {"正常": "active"}},
        {"name": "jiaoyu", "file": "jiaoyu.jsonl", "format": "jsonl", "kind": "person", "trust": 1,
         "fields": {"legacy_id": "id", "name": "xm", "id_number": "sfz", "phone": "tel",
                    "status": "state"}},
        {"name": "minzheng", "file": "minzheng.ldif", "format": "ldif", "kind": "person",
         "fields": {"legacy_id": "uid", "name": "cn", "id_number": "sfzh", "phone": "mobile"}},
        {"name": "shichang", "file": "shichang.csv", "format": "csv", "kind": "org",
         "fields": {"legacy_id": "qyid", "org_name": "qymc", "uscc": "tyshxydm",
                    "org_code": "zzjgdm", "legal_rep_id_number": "fddbr"}},
    ]}
    with open(os.path.join(out, "sources.json"), "w") as f:
        json.dump(sources, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
