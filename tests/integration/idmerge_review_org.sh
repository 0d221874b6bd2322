#!/usr/bin/env bash
# Organizations' review cases (idmerge's uscc_conflict and org_code_mismatch), decided
# with authctl review:
#
#  - idmerge run + import of a small organizations' source opens four cases: two
#    records under one organization code with two credit codes (uscc_conflict), and
#    three records whose credit code and organization code disagree (org_code_mismatch);
#  - merge of the credit-code conflict needs --keep (the record whose code and name the
#    organization keeps); it makes one organization under the uid idmerge gives the
#    code, both legacy accounts linked to it, the kept record's password its own and the
#    other's a legacy password; audited; undo removes the organization, the links and
#    the passwords and reopens the case (audited); merged again, an undo is refused once
#    the organization holds a relation;
#  - a mismatch merged without --keep (one record): an organization under the credit
#    code; one rejected, one separated;
#  - a rerun of idmerge run + import brings no case back and keeps the merges.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_idmerge
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 not installed"; exit 1; }
export CI=true

make_tmp review_org
LOGS="ctl"
S=$TMP/state
DB=$S/directory.db
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
U5A=$(credit_code 91 310115 MA5N6M7L) U5B=$(credit_code 92 310115 MA5N6M7L)
U6=$(credit_code 91 370202 MA9R8T7U) OCX=$(org_code 5A7C9E1G)
U8=$(credit_code 91 110105 MA1B2C3D) OCY=$(org_code 6B8D0F2H)
U9=$(credit_code 91 440300 MA4E5F6G) OCZ=$(org_code 7C9E1G3J)
[[ -n $OCZ ]] || die "no codes"
PW_1=pw-org-five PW_2='密码-org-five-b'

mkdir -p "$TMP/src"
cat >"$TMP/src/sources.json" <<EOF
{"sources": [
 {"name": "sc", "file": "sc.jsonl", "format": "jsonl", "kind": "org", "trust": 1,
  "fields": {"legacy_id": "lid", "org_name": "name", "uscc": "us", "org_code": "oc",
             "username": "user", "password_hash": "hash"}, "password_scheme": "md5-hex"}
]}
EOF
cat >"$TMP/src/sc.jsonl" <<EOF
{"lid": "O1", "name": "五号集团", "us": "$U5A", "oc": "", "user": "five_a", "hash": "$(md5 "$PW_1")"}
{"lid": "O2", "name": "五号集团有限公司", "us": "$U5B", "oc": "", "user": "five_b", "hash": "$(md5 "$PW_2")"}
{"lid": "O3", "name": "六号公司", "us": "$U6", "oc": "$OCX", "user": "six", "hash": ""}
{"lid": "O4", "name": "测试单位", "us": "$U8", "oc": "$OCY", "user": "", "hash": ""}
{"lid": "O5", "name": "九号公司", "us": "$U9", "oc": "$OCZ", "user": "", "hash": ""}
EOF
cat >"$TMP/authd.conf" <<EOF
state_dir = $S
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 256
EOF
merge_and_import() {
  "$IDMERGE" run --sources "$TMP/src/sources.json" --out "$TMP/merged" --today 20260101 \
    >"$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; die "idmerge run"; }
  "$IDMERGE" import --in "$TMP/merged" -c "$TMP/authd.conf" >"$TMP/import.log" 2>&1 ||
    { cat "$TMP/import.log"; die "idmerge import"; }
}
merge_and_import
grep -q 'review cases: 4 opened, 0 already' "$TMP/import.log" &&
  ok "import opens four organizations' cases" || fail "import: $(cat "$TMP/import.log")"
case_with() { sqlite3 "$DB" "select case_id from review_member where legacy_id = '$1'"; }
C_UC=$(case_with O1) C_M1=$(case_with O3) C_REJ=$(case_with O4) C_SEP=$(case_with O5)
[[ -n $C_UC && $C_UC == "$(case_with O2)" && -n $C_M1 && -n $C_REJ && -n $C_SEP ]] &&
  [[ $(sqlite3 "$DB" "select reason from review_case where id = '$C_UC'") == uscc_conflict ]] &&
  [[ $(sqlite3 "$DB" "select reason from review_case where id = '$C_M1'") == org_code_mismatch ]] &&
  ok "the credit-code conflict is one case, each mismatch its own" ||
  fail "cases: $(sqlite3 "$DB" 'select * from review_member')"

A="$AUTHCTL -d $S"
orgs() { sqlite3 "$DB" "select count(*) from org"; }
owner_of() { sqlite3 "$DB" "select owner_uid from legacy_link where source = 'sc' and legacy_id = '$1'"; }
check_pw() { printf '%s' "$2" | "$AUTHCTL" -c "$TMP/authd.conf" user check-password "$1" --password-stdin >/dev/null 2>&1; }
expect_error "an organizations' merge without --keep among two records" "--keep must name the record" \
  $A review resolve "$C_UC" --decision merge --by alice --note x
expect_error "--keep naming no record of the case" "--keep must name the record" \
  $A review resolve "$C_UC" --decision merge --keep sc/O3 --by alice --note x
[[ $(orgs) == 0 && $(sqlite3 "$DB" "select count(*) from review_case where state = 'open'") == 4 ]] &&
  ok "the refused merges changed nothing" || fail "refused merges wrote"

# ---- the credit-code conflict merged, undone, merged again
ctl review resolve "$C_UC" --decision merge --keep sc/O1 --by alice --note "一家单位, 两个代码" >"$TMP/res.json" ||
  fail "merge: $(tail -1 "$TMP/ctl.log")"
ORG=$(sqlite3 "$DB" "select uid from org where uscc = '$U5A'")
[[ -n $ORG && $(orgs) == 1 && $(owner_of O1) == "$ORG" && $(owner_of O2) == "$ORG" ]] &&
  [[ $(sqlite3 "$DB" "select name from org where uid = '$ORG'") == 五号集团 ]] &&
  grep -q "\"merged_uid\":\"$ORG\"" "$TMP/res.json" &&
  [[ $(sqlite3 "$DB" "select merged_uid from review_case where id = '$C_UC'") == "$ORG" ]] &&
  ok "merge: one organization with the kept code and name, both accounts linked" ||
  fail "merge: $(cat "$TMP/res.json"); orgs $(sqlite3 "$DB" 'select uid, uscc, name from org')"
[[ $(sqlite3 "$DB" "select count(*) from credential where owner_uid = '$ORG'") == 1 ]] &&
  [[ $(sqlite3 "$DB" "select legacy_id from legacy_cred where owner_uid = '$ORG'") == O2 ]] &&
  ok "the kept record's password is the organization's own, the other a legacy one" ||
  fail "passwords: $(sqlite3 "$DB" "select * from legacy_cred")"
IMPORTED_UID=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["legacy_id"] == "O1": print(o["group"])' "$TMP/merged/review.jsonl")
[[ $ORG == "$IMPORTED_UID" ]] && ok "the organization has the uid idmerge gives its code" ||
  fail "uid $ORG, idmerge's $IMPORTED_UID"
[[ $(audit_count review.resolve "$C_UC" '"decision":"merge"' "\"merged_uid\":\"$ORG\"" '"by":"alice"') == 1 ]] &&
  ok "the merge is audited" || fail "no review.resolve line"
expect_error "resolving the merged case again" "is resolved already" \
  $A review resolve "$C_UC" --decision reject --by bob --note x
ctl review undo "$C_UC" --by alice --note "wrong" >/dev/null || fail "undo: $(tail -1 "$TMP/ctl.log")"
[[ $(orgs) == 0 && -z $(owner_of O1) && -z $(owner_of O2) ]] &&
  [[ $(sqlite3 "$DB" "select count(*) from legacy_cred") == 0 && $(sqlite3 "$DB" "select count(*) from credential") == 0 ]] &&
  [[ $(sqlite3 "$DB" "select state from review_case where id = '$C_UC'") == open ]] &&
  [[ $(audit_count review.undo "$C_UC") == 1 ]] &&
  ok "undo: the organization, its links and passwords gone, the case open, audited" ||
  fail "after undo: orgs $(orgs), owner $(owner_of O1)"
ctl review resolve "$C_UC" --decision merge --keep sc/O2 --by alice --note "the individual business" >/dev/null ||
  fail "merge again"
ORG=$(sqlite3 "$DB" "select uid from org where uscc = '$U5B'")
[[ -n $ORG && $(owner_of O1) == "$ORG" ]] && ok "merged again keeping the other record" ||
  fail "second merge: $(sqlite3 "$DB" 'select uid, uscc from org')"
REP=$(id_number 11010519850101101)
ctl_or_die user add --id-number "$REP" --name 陈明
ctl_or_die org change "$U5B" --legal-rep "$REP"
expect_error "undo once the organization holds a relation" "can no longer be undone" \
  $A review undo "$C_UC" --by alice
[[ $(owner_of O1) == "$ORG" && $(orgs) == 1 ]] && ok "the merge stays" || fail "undone"

# ---- the mismatches: merged (one record, no --keep), rejected, separated
ctl review resolve "$C_M1" --decision merge --by bob --note "credit code checked" >/dev/null ||
  fail "mismatch merge: $(tail -1 "$TMP/ctl.log")"
[[ $(sqlite3 "$DB" "select org_code from org where uscc = '$U6'") == "${U6:8:9}" ]] &&
  [[ $(owner_of O3) == "$(sqlite3 "$DB" "select uid from org where uscc = '$U6'")" ]] &&
  ok "a mismatch merged: the organization under its credit code, the account linked" ||
  fail "mismatch merge: $(sqlite3 "$DB" 'select uscc, org_code from org')"
ctl review resolve "$C_REJ" --decision reject --by bob --note "test row" >/dev/null || fail "reject"
ctl review resolve "$C_SEP" --decision separate --by bob --note "not the same" >/dev/null || fail "separate"
[[ $(audit_count review.resolve "$C_REJ" '"decision":"reject"') == 1 ]] &&
  [[ $(audit_count review.resolve "$C_SEP" '"decision":"separate"') == 1 ]] &&
  [[ -z $(owner_of O4) && -z $(owner_of O5) && $(orgs) == 2 ]] &&
  ok "reject and separate: audited, the records stay out" || fail "reject/separate"

# ---- a rerun keeps every decision
merge_and_import
grep -q 'review cases: 0 opened, 4 already' "$TMP/import.log" && [[ $(ctl review list | grep -c .) == 0 ]] &&
  [[ $(orgs) == 2 && $(owner_of O1) == "$ORG" && -z $(owner_of O5) ]] &&
  ok "rerun: no case returns, the merges stay" ||
  fail "rerun: $(cat "$TMP/import.log"); $(ctl review list)"

finish "idmerge_review_org: all checks passed"
