#!/usr/bin/env bash
# idmerge end to end on the dirty fixtures (tests/fixtures/idmerge, made by
# make_fixtures.py): every record reaches the destination expected.json names, exactly
# once; no identity holds two different valid ID numbers (checked against an independent
# reading of the source files); every reject reason appears; outputs are 0600, masked
# and byte-identical across runs and partition counts under one uid key; --dry-run
# writes only the report. Uids: a run makes OUT/uid.key (0600) and reuses it; every uid
# is HMAC-SHA256 under that key (recomputed here with python's hmac) and none is the
# one the public key of earlier versions gives; that public key is refused as a key.
set -euo pipefail

BUILD=${YH_BUILD:-build}
SRC=${YH_SRCDIR:-.}
IDMERGE=$BUILD/migration-tools/idmerge/idmerge
FIX=$(cd "$SRC/tests/fixtures/idmerge" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export CI=true

fail() { echo "FAIL: $*" >&2; exit 1; }

[[ -x $IDMERGE ]] || fail "idmerge not built at $IDMERGE"

run() { "$IDMERGE" run --sources "$FIX/sources.json" --today 20260101 "$@"; }

run --out "$TMP/a" >"$TMP/a.log" 2>&1 || { cat "$TMP/a.log"; fail "idmerge run"; }
KEY=$TMP/a/uid.key
[[ -f $KEY && $(stat -c %a "$KEY") == 600 && $(stat -c %s "$KEY") == 65 ]] ||
	fail "the run made no 0600 uid.key of 64 hex digits: $(ls -l "$TMP/a")"
grep -qxE '[0-9a-f]{64}' "$KEY" || fail "uid.key is not one line of 64 hex digits"
cp "$TMP/a/identities.jsonl" "$TMP/a1.jsonl"
run --out "$TMP/a" >/dev/null 2>&1 || fail "rerun into the same directory"
cmp -s "$TMP/a/identities.jsonl" "$TMP/a1.jsonl" || fail "a rerun did not reuse OUT/uid.key"
run --out "$TMP/b" --uid-key "$KEY" >/dev/null 2>&1 || fail "second run"
[[ ! -e $TMP/b/uid.key ]] || fail "a run given --uid-key made a key of its own"
run --out "$TMP/p1" --partitions 1 --uid-key "$KEY" >/dev/null 2>&1 || fail "run with 1 partition"
run --out "$TMP/p7" --partitions 7 --uid-key "$KEY" >/dev/null 2>&1 || fail "run with 7 partitions"

# Determinism under one key: byte-identical outputs.
for f in identities.jsonl rejects.jsonl review.jsonl report.json report.html; do
	cmp -s "$TMP/a/$f" "$TMP/b/$f" || fail "$f differs between two runs"
	mode=$(stat -c %a "$TMP/a/$f")
	[[ $mode == 600 ]] || fail "$f has mode $mode, want 600"
done
# Another output directory makes another key: the same decisions under other uids.
run --out "$TMP/c" >/dev/null 2>&1 || fail "run into a second directory"
! cmp -s "$KEY" "$TMP/c/uid.key" || fail "two output directories got the same uid key"
! cmp -s "$TMP/a/identities.jsonl" "$TMP/c/identities.jsonl" || fail "another key gave the same uids"
cmp -s "$TMP/a/report.json" "$TMP/c/report.json" || fail "another key changed the decisions"

# The public key of earlier versions, or a key file others may read, is refused (exit 2).
printf '%s' 'yihao/idmerge/uid/v1' >"$TMP/public.key"
chmod 600 "$TMP/public.key"
head -c 32 /dev/urandom >"$TMP/open.key"
chmod 644 "$TMP/open.key"
for k in public open; do
	set +e
	run --out "$TMP/k_$k" --uid-key "$TMP/$k.key" >"$TMP/k_$k.log" 2>&1
	rc=$?
	set -e
	[[ $rc == 2 ]] && grep -qF "$TMP/$k.key" "$TMP/k_$k.log" ||
		fail "--uid-key $k.key: exit $rc: $(cat "$TMP/k_$k.log")"
	[[ ! -e $TMP/k_$k ]] || fail "--uid-key $k.key: the refused run left $(ls -A "$TMP/k_$k")"
done
# Partitioning changes the order of lines, never the decisions.
for f in identities.jsonl rejects.jsonl review.jsonl; do
	cmp -s <(sort "$TMP/a/$f") <(sort "$TMP/p1/$f") || fail "$f differs with 1 partition"
	cmp -s <(sort "$TMP/a/$f") <(sort "$TMP/p7/$f") || fail "$f differs with 7 partitions"
done
cmp -s "$TMP/a/report.json" "$TMP/p7/report.json" || fail "report differs with 7 partitions"
[[ -z $(find "$TMP/a" -name '.idmerge-tmp-*') ]] || fail "temporary directory left behind"

# --dry-run writes only the report.
run --out "$TMP/dry" --dry-run >/dev/null 2>&1 || fail "dry run"
[[ $(cd "$TMP/dry" && ls -A | sort | tr '\n' ' ') == "report.html report.json " ]] ||
	fail "dry run wrote: $(ls -A "$TMP/dry")"
grep -q '"dry_run": true' "$TMP/dry/report.json" || fail "dry-run report does not say so"

# A sources file naming a missing column: one clear error, exit 2, before any output.
sed 's/"sjhm"/"shoujihaoma"/' "$FIX/sources.json" >"$TMP/bad_sources.json"
for f in shebao.csv gjj.csv jiaoyu.jsonl minzheng.ldif shichang.csv; do ln -s "$FIX/$f" "$TMP/$f"; done
set +e
"$IDMERGE" run --sources "$TMP/bad_sources.json" --out "$TMP/bad" >"$TMP/bad.log" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] || fail "missing column: exit $rc, want 2"
grep -q shoujihaoma "$TMP/bad.log" || fail "missing column not named: $(cat "$TMP/bad.log")"
[[ ! -e $TMP/bad/identities.jsonl ]] || fail "outputs written despite a bad sources file"

# A mapped JSONL key or LDIF attribute that no record holds (a misspelt mapping): one
# clear error naming the source, the field and the key, exit 2, and no output file, even
# though the CSV sources before it were read already.
badkey() { # badkey NAME SOURCE FIELD KEY: a sources file with one field remapped
	python3 - "$FIX/sources.json" "$TMP/$1.json" "$2" "$3" "$4" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for src in s["sources"]:
    if src["name"] == sys.argv[3]:
        src["fields"][sys.argv[4]] = sys.argv[5]
json.dump(s, open(sys.argv[2], "w"), ensure_ascii=False)
PY
}
expect_badkey() { # expect_badkey NAME OUTDIR WANT...: exit 2, each WANT in the message
	local name=$1 out=$2 rc
	shift 2
	set +e
	"$IDMERGE" run --sources "$TMP/$name.json" --out "$out" --today 20260101 >"$TMP/$name.log" 2>&1
	rc=$?
	set -e
	[[ $rc == 2 ]] || fail "$name: exit $rc, want 2: $(cat "$TMP/$name.log")"
	for want in "$@"; do
		grep -qF -- "$want" "$TMP/$name.log" || fail "$name: message lacks '$want': $(cat "$TMP/$name.log")"
	done
}
badkey badkey_jsonl jiaoyu id_number sfz_hao
expect_badkey badkey_jsonl "$TMP/badkey_jsonl" 'source "jiaoyu"' 'jiaoyu.jsonl' \
	'key "sfz_hao" (field id_number) never appears in any of its'
[[ ! -e $TMP/badkey_jsonl ]] || fail "a failed run left its output directory: $(ls -A "$TMP/badkey_jsonl")"
badkey badkey_ldif minzheng phone telephoneNumber
mkdir "$TMP/badkey_ldif"   # an output directory that exists already is left as it was
expect_badkey badkey_ldif "$TMP/badkey_ldif" 'source "minzheng"' 'minzheng.ldif' \
	'attribute "telephoneNumber" (field phone) never appears'
[[ -z $(ls -A "$TMP/badkey_ldif") ]] || fail "a failed run wrote: $(ls -A "$TMP/badkey_ldif")"
# A failed rerun into the output directory of a good run leaves that run's five files
# exactly as they were (and no temporary directory); the next good run replaces them.
run --out "$TMP/rerun" >/dev/null 2>&1 || fail "idmerge run (rerun base)"
sum_outputs() { (cd "$TMP/rerun" && sha256sum identities.jsonl rejects.jsonl review.jsonl \
	report.json report.html uid.key); }
before=$(sum_outputs)
expect_badkey badkey_jsonl "$TMP/rerun" 'key "sfz_hao" (field id_number)'
[[ $(sum_outputs) == "$before" ]] || fail "a failed rerun changed the previous run's outputs"
[[ $(ls -A "$TMP/rerun" | wc -l) == 6 ]] || fail "a failed rerun left files: $(ls -A "$TMP/rerun")"
run --out "$TMP/rerun" >/dev/null 2>&1 || fail "idmerge run (rerun after a failure)"
[[ $(sum_outputs) == "$before" ]] || fail "the same input after a failed run gave other outputs"
for f in identities.jsonl rejects.jsonl review.jsonl report.json report.html; do
	[[ $(stat -c %a "$TMP/rerun/$f") == 600 ]] || fail "$f is not 0600 after a rerun"
done
set +e
"$IDMERGE" run --sources "$TMP/badkey_jsonl.json" --read-only >"$TMP/badkey_ro.log" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] && grep -qF 'key "sfz_hao" (field id_number)' "$TMP/badkey_ro.log" ||
	fail "--read-only with a missing key: exit $rc: $(cat "$TMP/badkey_ro.log")"

# The progress line (phase, percent, records/s, ETA) is drawn on a terminal (script(1)
# gives idmerge a pty) and never when CI=true or when stderr is not a terminal.
command -v script >/dev/null || fail "script (util-linux) is needed for the progress test"
prog_cmd="$(printf '%q ' "$IDMERGE" run --sources "$FIX/sources.json" --today 20260101 --out "$TMP/prog")"
env -u CI script -qec "$prog_cmd" /dev/null >"$TMP/prog_tty.log" 2>&1 ||
	fail "idmerge on a terminal: $(cat "$TMP/prog_tty.log")"
grep -qF '[1/5 read + cleanse]' "$TMP/prog_tty.log" && grep -qF '[5/5 merge organizations]' \
	"$TMP/prog_tty.log" && grep -q 'ETA [0-9]*:[0-9][0-9]' "$TMP/prog_tty.log" ||
	fail "no progress line on a terminal: $(cat -v "$TMP/prog_tty.log")"
CI=true script -qec "$prog_cmd" /dev/null >"$TMP/prog_ci.log" 2>&1 || fail "idmerge with CI=true"
env -u CI script -qec "$prog_cmd 2>$(printf '%q' "$TMP/prog_err.log")" /dev/null \
	>"$TMP/prog_pipe.log" 2>&1 || fail "idmerge with stderr to a file"
for f in prog_ci prog_pipe prog_err; do
	! grep -qE 'ETA|read \+ cleanse' "$TMP/$f.log" || fail "$f: a progress line: $(cat -v "$TMP/$f.log")"
done
grep -q 'records: .* merged into' "$TMP/prog_ci.log" && grep -q 'records: .* merged into' \
	"$TMP/prog_pipe.log" && grep -q 'records/s, peak RSS' "$TMP/prog_err.log" ||
	fail "the runs without a progress line did not run"

python3 - "$FIX" "$TMP/a" <<'PY'
import base64, csv, hashlib, hmac, io, json, re, sys
fix, out = sys.argv[1], sys.argv[2]
errors = []
def err(m): errors.append(m)

exp = json.load(open(f"{fix}/expected.json"))
srcs = json.load(open(f"{fix}/sources.json"))["sources"]
idents = [json.loads(l) for l in open(f"{out}/identities.jsonl", encoding="utf-8")]
rejects = [json.loads(l) for l in open(f"{out}/rejects.jsonl", encoding="utf-8")]
review = [json.loads(l) for l in open(f"{out}/review.jsonl", encoding="utf-8")]
report = json.load(open(f"{out}/report.json"))

# --- where every record went: exactly one place ---
where = {}
def place(src, lid, what):
    if (src, lid) in where:
        err(f"{src}/{lid} appears twice: {where[(src, lid)]} and {what}")
    where[(src, lid)] = what
for o in idents:
    key = o.get("id_number") or o.get("org_code")
    for a in o["accounts"]:
        place(a["source"], a["legacy_id"], ("identity", key))
for r in rejects:
    place(r["source"], r["legacy_id"], ("reject", r["reason"]))
for r in review:
    place(r["source"], r["legacy_id"], ("review", r["reason"]))
want = {(s, l): tuple(v) for s, recs in exp["records"].items() for l, v in recs.items()}
for k, v in sorted(want.items()):
    if where.get(k) != v:
        err(f"{k[0]}/{k[1]}: got {where.get(k)}, want {v}")
for k in sorted(set(where) - set(want)):
    err(f"unexpected record {k}")
for s in report["sources"]:
    n = sum(1 for k in want if k[0] == s["name"])
    if s["read"] != n or s["read"] != s["accounts"] + s["rejects"] + s["review"]:
        err(f"report counts for {s['name']}: {s}, expected {n} records")

# --- an independent reading of the sources: valid ID numbers per record ---
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def check(s17): return "10X98765432"[sum(int(a) * b for a, b in zip(s17, W)) % 11]
def canon(v):
    if v is None: return None
    v = "".join(chr(ord(c) - 0xFEE0) if "！" <= c <= "～" else c for c in str(v))
    v = re.sub(r"[\s\u3000'\-]", "", v).upper()
    if re.fullmatch(r"\d{15}", v):
        v = v[:6] + "19" + v[6:]
        v += check(v)
    if not re.fullmatch(r"\d{17}[\dX]", v) or check(v[:17]) != v[17]: return None
    if len(set(v)) == 1: return None
    y, m, d = int(v[6:10]), int(v[10:12]), int(v[12:14])
    import datetime
    try: dt = datetime.date(y, m, d)
    except ValueError: return None
    if dt > datetime.date(2026, 1, 1): return None
    return v
def rows(s):
    raw = open(f"{fix}/{s['file']}", "rb").read().decode({"GBK": "gbk", "GB18030": "gb18030"}.get(s.get("encoding", "UTF-8"), "utf-8"))
    if s["format"] == "csv":
        for r in csv.DictReader(io.StringIO(raw, newline=""), delimiter=s.get("delimiter", ",")):
            yield r
    elif s["format"] == "jsonl":
        for l in raw.splitlines():
            if l.strip(): yield json.loads(l)
    else:
        for block in raw.split("\n\n"):
            rec = {}
            for l in block.splitlines():
                if l.startswith("version:") or l.startswith("dn:"): continue
                k, _, v = l.partition(":")
                rec[k] = base64.b64decode(v[2:]).decode() if v.startswith(": ") else v.strip()
            if rec: yield rec
valid = {}
for s in srcs:
    f = s["fields"]
    for r in rows(s):
        lid = r.get(f["legacy_id"])
        if s["kind"] == "person":
            valid[(s["name"], str(lid))] = canon(r.get(f["id_number"]))
seen_ids = {}
for o in idents:
    if o["kind"] != "person": continue
    held = {valid.get((a["source"], a["legacy_id"])) for a in o["accounts"]} - {None}
    if len(held) > 1:
        err(f"identity {o['uid']} holds several valid ID numbers: {sorted(held)}")
    if held and held != {o["id_number"]}:
        err(f"identity {o['uid']} is {o['id_number']} but its accounts say {held}")
    if o["id_number"] in seen_ids:
        err(f"two identities for one ID number {o['id_number']}")
    seen_ids[o["id_number"]] = o["uid"]
    if not re.fullmatch(r"[0-9a-f]{32}", o["uid"]): err(f"bad uid {o['uid']}")

# --- every reject reason; values masked ---
for reason in ["bad_checksum", "scientific_notation", "placeholder", "missing_id", "bad_length",
               "bad_birthdate", "future_birthdate", "bad_charset", "bad_region", "unreadable"]:
    if not any(r["reason"] == reason for r in rejects): err(f"no reject with reason {reason}")
    if report["reasons"]["rejects"].get(reason, 0) != sum(r["reason"] == reason for r in rejects):
        err(f"report count for {reason} disagrees with rejects.jsonl")
for r in rejects:
    v = r["value"] or ""
    if r["reason"] != "placeholder" and re.search(r"\d{8}", v):
        err(f"unmasked value in rejects: {r}")
for reason in ["name_conflict", "ambiguous_match", "id_contradiction", "uscc_conflict", "org_code_mismatch"]:
    if not any(r["reason"] == reason for r in review): err(f"no review with reason {reason}")

# --- merge facts ---
by_key = {(o.get("id_number") or o.get("org_code")): o for o in idents}
for oc, rep in exp["legal_rep"].items():
    got = by_key[oc]["legal_rep_uid"]
    want_uid = by_key[rep]["uid"] if rep else None
    if got != want_uid: err(f"legal_rep_uid of {oc}: {got}, want {want_uid}")
for oc, u in exp["uscc"].items():
    if by_key[oc]["uscc"] != u: err(f"uscc of {oc}: {by_key[oc]['uscc']}, want {u}")
for k, src in exp["credential_source"].items():
    c = by_key[k]["credential"]
    if not c or c["source"] != src: err(f"credential of {k}: {c}, want from {src}")
for k, st in exp["status"].items():
    if by_key[k]["status"] != st: err(f"status of {k}: {by_key[k]['status']}, want {st}")
for lid, n in exp["review_candidates"].items():
    r = [x for x in review if x["legacy_id"] == lid][0]
    if len(r["candidates"]) != n or not all(c in {o["uid"] for o in idents} for c in r["candidates"]):
        err(f"review {lid} candidates {r['candidates']}, want {n} existing uids")

# --- uids: HMAC-SHA256 under OUT/uid.key, never under the public key ---
key = bytes.fromhex(open(f"{out}/uid.key").read().strip())
def uid(k, kind, canon): return hmac.new(k, f"{kind}:{canon}".encode(), hashlib.sha256).hexdigest()[:32]
for o in idents:
    kind, canon = ("p", o["id_number"]) if o["kind"] == "person" else ("o", o["org_code"])
    if o["uid"] != uid(key, kind, canon): err(f"uid {o['uid']} is not HMAC(uid.key, {kind}:...)")
    if o["uid"] == uid(b"yihao/idmerge/uid/v1", kind, canon): err(f"uid {o['uid']} made with the public key")

html = open(f"{out}/report.html", encoding="utf-8").read()
if "<svg" not in html or "<script" in html.lower() or re.search(r"(src|href)\s*=", html, re.I):
    err("report.html must hold an inline SVG and nothing external or scripted")
if "拒绝" not in html or "rejected" not in html: err("report.html lacks its labels")

if errors:
    print("\n".join(errors)); sys.exit(1)
print(f"ok: {len(want)} records, {len(idents)} identities, {len(rejects)} rejects, {len(review)} review")
PY
echo "idmerge_fixtures: ok"
