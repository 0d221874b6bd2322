# The state the operators' console tests start from (sourced after lib.sh by
# admin_console.sh and admin_browser.sh): two legacy sources merged and imported by
# idmerge, which opens three review cases (C_MERGE: id_contradiction, one candidate;
# C_SEP: ambiguous_match, two candidates; C_REJ: name_conflict); a government agency
# (GOV); an operator (OP_*), to be given the console permissions by the test; and a
# citizen (CIT_*, real-name verified, with a phone). Needs TMP, S, PORT,
# BASE; sets CFG (the configuration file), DB, the ids and passwords, and the uids.
IDMERGE=$YH_BUILD/migration-tools/idmerge/idmerge
[[ -x $IDMERGE ]] || die "idmerge not built at $IDMERGE"
CFG=$TMP/authd.conf
DB=$S/directory.db
GOV=11350100003000014R            # 11: a government agency
OP_ID=$(id_number 11010119800101123)
OP_PW='Operator password 2026!'
CIT_ID=$(id_number 35010219900202345)
CIT_NAME=林美华
CIT_PW='Citizen password 2026!'
X=$(id_number 11010519850101101)          # 陈明, in s_a (A1)
W=$(id_number 51010419900909003)          # 刘洋 in s_a, 王强 in s_b: a name conflict
P1=$(id_number 32010219700101001)         # 王芳 (A2)
P2=$(id_number 32010219800202002)         # another 王芳 (A3), the same phone
BROKEN=$(id_number 44052419800101001)     # B1's number: a bad check character
BROKEN=${BROKEN:0:17}$([[ ${BROKEN:17} == 0 ]] && echo 1 || echo 0)

mkdir -p "$TMP/src"
cat >"$TMP/src/sources.json" <<JSON
{"sources": [
 {"name": "s_a", "file": "s_a.jsonl", "format": "jsonl", "kind": "person", "trust": 2,
  "fields": {"legacy_id": "lid", "name": "name", "id_number": "sfz", "phone": "tel",
             "username": "user"}},
 {"name": "s_b", "file": "s_b.jsonl", "format": "jsonl", "kind": "person",
  "fields": {"legacy_id": "lid", "name": "name", "id_number": "sfz", "phone": "tel",
             "username": "user"}}
]}
JSON
cat >"$TMP/src/s_a.jsonl" <<JSON
{"lid": "A1", "name": "陈明", "sfz": "$X", "tel": "13911112222", "user": "chen_a"}
{"lid": "A2", "name": "王芳", "sfz": "$P1", "tel": "13722223333", "user": "wang_a2"}
{"lid": "A3", "name": "王芳", "sfz": "$P2", "tel": "13722223333", "user": "wang_a3"}
{"lid": "A4", "name": "刘洋", "sfz": "$W", "tel": "13655556666", "user": "liu_a"}
JSON
cat >"$TMP/src/s_b.jsonl" <<JSON
{"lid": "B1", "name": "陳明", "sfz": "$BROKEN", "tel": "13911112222", "user": "chen_b"}
{"lid": "B2", "name": "王芳", "sfz": "", "tel": "13722223333", "user": "wang_b"}
{"lid": "B3", "name": "王强", "sfz": "$W", "tel": "13655556666", "user": "wang_q"}
JSON
cat >"$CFG" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 256
CONF
"$IDMERGE" run --sources "$TMP/src/sources.json" --out "$TMP/merged" --today 20260101 \
  >"$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; die "idmerge run"; }
"$IDMERGE" import --in "$TMP/merged" -c "$CFG" >"$TMP/import.log" 2>&1 ||
  { cat "$TMP/import.log"; die "idmerge import"; }
case_of() { sqlite3 "$DB" "select id from review_case where reason = '$1'"; }
C_MERGE=$(case_of id_contradiction) C_SEP=$(case_of ambiguous_match) C_REJ=$(case_of name_conflict)
[[ -n $C_MERGE && -n $C_SEP && -n $C_REJ ]] || die "idmerge opened no three cases: $(cat "$TMP/import.log")"

printf '%s\n' "$OP_PW" | ctl_or_die user add --id-number "$OP_ID" --name 陈建国 --password-stdin
printf '%s\n' "$CIT_PW" | ctl_or_die user add --id-number "$CIT_ID" --name "$CIT_NAME" \
  --phone 13900001111 --password-stdin
ctl_or_die user verify "$OP_ID" --loa 2 --by registry --evidence "registry check"
ctl_or_die user verify "$CIT_ID" --loa 2 --by registry --evidence "registry check"
ctl_or_die org add --uscc "$GOV" --name 某市政务服务中心
uid_of() { ctl user show "$1" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])'; }
OP_UID=$(uid_of "$OP_ID")
CIT_UID=$(uid_of "$CIT_ID")
[[ -n $OP_UID && -n $CIT_UID ]] || die "no uids from authctl user show"

# login_to JAR USER PASSWORD NEXT: the login form with next NEXT; STATUS... of the POST.
login_to() {
  local tok
  req "$1" GET "/login?next=$(enc "$4")"
  tok=$(form_value csrf)
  req "$1" POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=$4" \
    --data-urlencode "username=$2" --data-urlencode "password=$3"
}
