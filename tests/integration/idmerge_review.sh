#!/usr/bin/env bash
# The review queue of idmerge's uncertain records, end to end:
#
#  - idmerge run + import of two small sources (made here) opens three review cases: a
#    record whose name (traditional 陳明) and phone point to one person whose ID number
#    its own contradicts (id_contradiction), one whose name and phone point to two
#    persons (ambiguous_match), and two records under one number with different names
#    (name_conflict); importing again opens none twice;
#  - authctl review list (text and --json, --reason) and show (ID numbers masked; shown
#    with --unmask, which is audited);
#  - resolve by merge: the person logs in with both legacy passwords over HTTP, and an
#    OIDC app registered for each source sees that source's old id; before any login an
#    undo restores both (no link, no second password, the case open); the name conflict
#    merged into one new person (--keep names the record) and undone again;
#  - separate and reject; a rerun of idmerge run + import keeps every decision;
#  - bad input: a case resolved already, an unknown case, a malformed case id, a bad
#    decision, a merge without --keep among several candidates, a --keep that is not a
#    candidate, a missing --by, an undo of an open case, an undo after a login, a record
#    in two cases at import: one clear error line each, non-zero exit.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
need_idmerge
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 not installed"; exit 1; }
export CI=true

make_tmp review
LOGS="authd ctl"
S=$TMP/state
DB=$S/directory.db
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
CB=http://127.0.0.1:9/cb

X=$(id_number 11010519850101101)          # 陈明, in s_a (A1)
W=$(id_number 51010419900909003)          # 刘洋 in s_a, 王强 in s_b: a name conflict
P1=$(id_number 32010219700101001)         # 王芳 (A2)
P2=$(id_number 32010219800202002)         # another 王芳 (A3), the same phone
# B1's number: a bad check character, and not one typo away from X: it contradicts X.
BROKEN=$(id_number 44052419800101001)
BROKEN=${BROKEN:0:17}$([[ ${BROKEN:17} == 0 ]] && echo 1 || echo 0)
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
PW_A=pw-chen-a PW_B='密码-chen-b' PW_F=pw-wang-b PW_Q=pw-wang-q

mkdir -p "$TMP/src"
cat >"$TMP/src/sources.json" <<EOF
{"sources": [
 {"name": "s_a", "file": "s_a.jsonl", "format": "jsonl", "kind": "person", "trust": 2,
  "fields": {"legacy_id": "lid", "name": "name", "id_number": "sfz", "phone": "tel",
             "username": "user", "password_hash": "hash"}, "password_scheme": "md5-hex"},
 {"name": "s_b", "file": "s_b.jsonl", "format": "jsonl", "kind": "person",
  "fields": {"legacy_id": "lid", "name": "name", "id_number": "sfz", "phone": "tel",
             "username": "user", "password_hash": "hash"}, "password_scheme": "md5-hex"}
]}
EOF
cat >"$TMP/src/s_a.jsonl" <<EOF
{"lid": "A1", "name": "陈明", "sfz": "$X", "tel": "13911112222", "user": "chen_a", "hash": "$(md5 "$PW_A")"}
{"lid": "A2", "name": "王芳", "sfz": "$P1", "tel": "13722223333", "user": "wang_a2", "hash": ""}
{"lid": "A3", "name": "王芳", "sfz": "$P2", "tel": "13722223333", "user": "wang_a3", "hash": ""}
{"lid": "A4", "name": "刘洋", "sfz": "$W", "tel": "13655556666", "user": "liu_a", "hash": ""}
EOF
cat >"$TMP/src/s_b.jsonl" <<EOF
{"lid": "B1", "name": "陳明", "sfz": "$BROKEN", "tel": "13911112222", "user": "chen_b", "hash": "$(md5 "$PW_B")"}
{"lid": "B2", "name": "王芳", "sfz": "", "tel": "13722223333", "user": "wang_b", "hash": "$(md5 "$PW_F")"}
{"lid": "B3", "name": "王强", "sfz": "$W", "tel": "13655556666", "user": "wang_q", "hash": "$(md5 "$PW_Q")"}
EOF
cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
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
grep -q 'review cases: 3 opened, 0 already' "$TMP/import.log" &&
  ok "import opens three review cases" || fail "import: $(cat "$TMP/import.log")"
"$IDMERGE" import --in "$TMP/merged" -c "$TMP/authd.conf" >"$TMP/import2.log" 2>&1 &&
  grep -q 'review cases: 0 opened, 3 already' "$TMP/import2.log" &&
  [[ $(sqlite3 "$DB" 'select count(*) from review_case') == 3 ]] &&
  ok "importing twice opens no case twice" || fail "second import: $(cat "$TMP/import2.log")"

# ---- list and show
ctl review list --json >"$TMP/list.json" || fail "review list --json"
"$PY" - "$TMP/list.json" >"$TMP/cases" <<'EOF' || fail "list --json: $(cat "$TMP/list.json")"
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert o["case"] and o["reason"] and o["records"], o
    print(o["reason"], o["case"], ",".join(r["source"] + "/" + r["legacy_id"] for r in o["records"]))
EOF
case_of() { awk -v r="$1" '$1 == r { print $2 }' "$TMP/cases"; }
C_MERGE=$(case_of id_contradiction) C_SEP=$(case_of ambiguous_match) C_REJ=$(case_of name_conflict)
[[ -n $C_MERGE && -n $C_SEP && -n $C_REJ && $(wc -l <"$TMP/cases") == 3 ]] &&
  grep -q "name_conflict $C_REJ s_a/A4,s_b/B3" "$TMP/cases" &&
  ok "review list --json: case, reason, records for each case" || fail "cases: $(cat "$TMP/cases")"
ctl review list >"$TMP/list.txt" && grep -q "^$C_MERGE  id_contradiction .* s_b/B1$" "$TMP/list.txt" &&
  ok "review list (text)" || fail "list: $(cat "$TMP/list.txt")"
[[ $(ctl review list --json --reason ambiguous_match | grep -c .) == 1 ]] &&
  ok "review list --reason" || fail "list --reason"
[[ $(ctl review list --json --limit 1 | grep -c .) == 1 ]] && ok "review list --limit" ||
  fail "list --limit"
ctl review show "$C_MERGE" >"$TMP/show.json" || fail "review show"
! grep -q "$X" "$TMP/show.json" && ! grep -q "$BROKEN" "$TMP/show.json" &&
  ! grep -q "$(md5 "$PW_B")" "$TMP/show.json" &&
  "$PY" - "$TMP/show.json" <<'EOF' && ok "show: the evidence, ID numbers masked, no hash" || fail "show: $(cat "$TMP/show.json")"
import json, sys
o = json.load(open(sys.argv[1]))
r = o["records"][0]
assert r["source"] == "s_b" and r["legacy_password"] is True and r["id_problem"] == "bad_checksum", r
assert "*" in r["id_number"] and "*" in r["phone"], r
c = o["candidates"][0]
assert "*" in c["id_number"] and c["has_account"] is True and c["accounts"] == ["s_a/A1"], c
e = o["evidence"][0]
assert e["name"] == "folded" and e["trad_simp"] is True and e["phone"] == "same", e
assert e["birth_date"] == "different" and "name" in e["matching_keys"], e
assert o["why"] and o["state"] == "open" and o["undoable"] is False, o
EOF
ctl review show "$C_MERGE" --unmask >"$TMP/show2.json" && grep -q "$X" "$TMP/show2.json" &&
  grep -q "$BROKEN" "$TMP/show2.json" && [[ $(audit_count review.unmask "$C_MERGE") == 1 ]] &&
  ok "show --unmask: the ID numbers, audited" || fail "show --unmask: $(cat "$TMP/show2.json")"

# ---- bad input
A="$AUTHCTL -d $S"
expect_error "unknown case" "no review case rc00000000_00000000" \
  $A review resolve rc00000000_00000000 --decision separate --by alice --note x
expect_error "malformed case id" "'xyz' is not a case id" \
  $A review resolve xyz --decision separate --by alice --note x
expect_error "bad decision" "--decision must be merge, separate or reject" \
  $A review resolve "$C_SEP" --decision maybe --by alice --note x
expect_error "merge among several candidates without --keep" "2 candidates: name the one" \
  $A review resolve "$C_SEP" --decision merge --by alice --note x
expect_error "--keep that is not a candidate" "not a candidate of this case" \
  $A review resolve "$C_SEP" --decision merge --keep 0123456789abcdef0123456789abcdef --by alice --note x
expect_error "merge of a name conflict without --keep" "--keep must name the record" \
  $A review resolve "$C_REJ" --decision merge --by alice --note x
expect_error "missing --by" "--by is required" $A review resolve "$C_SEP" --decision separate --note x
expect_error "undo of an open case" "is open: there is no decision to undo" \
  $A review undo "$C_SEP" --by alice
[[ $(sqlite3 "$DB" "select count(*) from review_case where state = 'open'") == 3 ]] &&
  ok "the refused decisions changed nothing" || fail "states changed"

check_pw() { printf '%s' "$2" | "$AUTHCTL" -c "$TMP/authd.conf" user check-password "$1" --password-stdin >/dev/null 2>&1; }
b1_links() { sqlite3 "$DB" "select count(*) from legacy_link where source = 's_b' and legacy_id = 'B1'"; }

# ---- merge, and undo before any login
ctl review resolve "$C_MERGE" --decision merge --by alice --note "one person: 陳明 is 陈明" >"$TMP/res.json" ||
  fail "resolve merge: $(tail -1 "$TMP/ctl.log")"
UID_X=$(sqlite3 "$DB" "select owner_uid from legacy_link where source = 's_a' and legacy_id = 'A1'")
grep -q "\"merged_uid\":\"$UID_X\"" "$TMP/res.json" && [[ $(b1_links) == 1 ]] &&
  [[ $(audit_count review.resolve "$C_MERGE" '"decision":"merge"' '"by":"alice"') == 1 ]] &&
  ok "merge: B1 linked to A1's person, audited" || fail "merge: $(cat "$TMP/res.json")"
check_pw "$X" "$PW_A" && check_pw "$X" "$PW_B" && check_pw chen_b "$PW_B" &&
  ok "after the merge both legacy passwords check" || fail "check-password after the merge"
expect_error "resolving a resolved case" "is resolved already" \
  $A review resolve "$C_MERGE" --decision separate --by bob --note x
ctl review undo "$C_MERGE" --by alice --note "wrong button" >/dev/null || fail "undo"
[[ $(b1_links) == 0 ]] && ! check_pw "$X" "$PW_B" && check_pw "$X" "$PW_A" &&
  [[ $(sqlite3 "$DB" "select state from review_case where id = '$C_MERGE'") == open ]] &&
  [[ $(audit_count review.undo "$C_MERGE") == 1 ]] &&
  ok "undo restores both: no link, no second password, the case open, audited" ||
  fail "after undo: links $(b1_links)"
ctl review resolve "$C_MERGE" --decision merge --by alice --note "one person" >/dev/null ||
  fail "merge again"

# ---- a name conflict merged into one new person, undone
w_persons() { sqlite3 "$DB" "select count(*) from person where uid = (select owner_uid from legacy_link where source = 's_b' and legacy_id = 'B3')"; }
ctl review resolve "$C_REJ" --decision merge --keep s_a/A4 --by bob --note "王强 is a typo" >/dev/null &&
  [[ $(w_persons) == 1 ]] && check_pw "$W" "$PW_Q" &&
  [[ $(sqlite3 "$DB" "select count(*) from legacy_link where legacy_id in ('A4', 'B3')") == 2 ]] &&
  ok "name conflict merged: one person under the number, both accounts, B3's password" ||
  fail "name conflict merge: $(tail -1 "$TMP/ctl.log")"
ctl review undo "$C_REJ" --by bob >/dev/null &&
  [[ $(sqlite3 "$DB" "select count(*) from legacy_link where legacy_id in ('A4', 'B3')") == 0 ]] &&
  ! check_pw "$W" "$PW_Q" && ok "its undo removes the person it made" || fail "undo of the new person"

# ---- separate and reject
ctl review resolve "$C_SEP" --decision separate --by bob --note "two different 王芳" >/dev/null ||
  fail "separate"
ctl review resolve "$C_REJ" --decision reject --by bob --note "test rows" >/dev/null || fail "reject"
[[ $(ctl review list | grep -c .) == 0 ]] && [[ $(ctl review list --state all | grep -c .) == 3 ]] &&
  ok "no case left open" || fail "open cases: $(ctl review list)"

# ---- a rerun keeps the decisions
merge_and_import
grep -q 'review cases: 0 opened, 3 already' "$TMP/import.log" && [[ $(ctl review list | grep -c .) == 0 ]] &&
  [[ $(sqlite3 "$DB" "select state from review_case where id = '$C_SEP'") == separate ]] &&
  [[ $(sqlite3 "$DB" "select count(*) from legacy_link where source = 's_b' and legacy_id = 'B2'") == 0 ]] &&
  [[ $(b1_links) == 1 ]] &&
  ok "rerun: the separated case does not return, the merged one stays merged" ||
  fail "rerun: $(cat "$TMP/import.log"); $(ctl review list --state all)"
# A record in two cases: an extra review line puts B1 in another group.
cp -r "$TMP/merged" "$TMP/twice"
head -1 "$TMP/twice/review.jsonl" | "$PY" -c '
import json, sys
o = json.loads(sys.stdin.readline())
o.update(source="s_b", legacy_id="B1", group="0" * 32)
print(json.dumps(o, ensure_ascii=False))' >>"$TMP/twice/review.jsonl"
"$IDMERGE" import --in "$TMP/twice" -c "$TMP/authd.conf" >"$TMP/twice.log" 2>&1
rc=$?
((rc == 1)) && grep -q "a record of it is in case $C_MERGE already" "$TMP/twice.log" &&
  [[ $(sqlite3 "$DB" 'select count(*) from review_case') == 3 ]] &&
  ok "a record in two cases: refused at import, naming the case (exit 1)" ||
  fail "record in two cases: exit $rc: $(cat "$TMP/twice.log")"

# ---- over HTTP: both legacy passwords, each app its source's old id
ctl_or_die client add app_a --public --redirect-uri "$CB" --scope openid --legacy-source s_a
ctl_or_die client add app_b --public --redirect-uri "$CB" --scope openid --legacy-source s_b
start_authd -c "$TMP/authd.conf"
login_form a "$X" "$PW_A"
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "HTTP login: ID number and s_a's password" ||
  fail "login with s_a's password: $STATUS '$LOCATION'"
login_form b "$X" "$PW_B"
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "HTTP login: ID number and s_b's password" ||
  fail "login with s_b's password: $STATUS '$LOCATION'"
login_form c chen_b "$PW_B"
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "HTTP login: s_b's username and password" ||
  fail "login chen_b: $STATUS '$LOCATION'"
login_form d "$X" wrong-password
[[ $STATUS != 303 ]] && ok "a wrong password still fails" || fail "wrong password logged in"
id_token a app_a && [[ $(jwt_claim "$IDT" yh_legacy_id) == A1 ]] &&
  ok "the s_a app sees the old s_a id (A1)" || fail "app_a: $(jwt_claim "$IDT" yh_legacy_id)"
id_token b app_b && [[ $(jwt_claim "$IDT" yh_legacy_id) == B1 && $(jwt_claim "$IDT" yh_legacy_username) == chen_b ]] &&
  ok "the s_b app sees the old s_b id (B1)" || fail "app_b: $(jwt_claim "$IDT" yh_legacy_id)"
expect_error "undo after a login used the merge" "can no longer be undone" \
  $A review undo "$C_MERGE" --by alice
[[ $(b1_links) == 1 ]] && ok "the merge stays" || fail "the merge was undone"
ctl review undo "$C_SEP" --by bob --note "check again" >/dev/null &&
  [[ $(ctl review list --json | grep -c "$C_SEP") == 1 ]] && ok "undo of a separation reopens the case" ||
  fail "undo separate"

finish "idmerge_review: all checks passed"
