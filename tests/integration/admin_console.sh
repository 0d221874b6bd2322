#!/usr/bin/env bash
# The operators' console (/admin) against a real authd driven by curl (cookie jars as
# browsers), with the review cases idmerge opens (admin_setup.sh):
#
#  - access: no session goes to the login page; a citizen, and staff without console
#    permissions (even at LoA 3), get 403 on every /admin page; an operator's session at
#    LoA 2 (from before the permissions) is sent to the TOTP step-up, and after password
#    + TOTP (LoA 3) the console answers; staff with the audit permission alone get 403 on
#    the review pages and on a decision (nothing written); authctl staff role refuses an
#    unknown permission and staff list shows the permissions;
#  - the queue: the open cases counted by reason, filtered by reason, audited;
#  - a case beside its evidence: ID numbers and phones masked, audited (who looked at
#    which case); a malformed case id is 400, an unknown one 404;
#  - CSRF: a decision without a token, with a forged one or another session's is 400,
#    nothing decided;
#  - bad input: no note, a merge without keep among several candidates, a keep that is
#    not a candidate, a case decided already, an undo of an open case: a clear message,
#    nothing half-applied;
#  - separate, merge (the legacy account linked to the candidate) and its undo, reject:
#    the directory as authctl review leaves it, with the operator as decided_by, and
#    review.resolve / review.undo audited with the operator as actor and by; an
#    organizations' case merged (the record to keep named), undone, separated, rejected;
#  - people: search by ID number, phone and name (masked list, audited with the uids
#    found; a name folded traditional to simplified, by its beginning or a part, never
#    by one character, audited with the folded query), a person's page (LoA history, password and TOTP, legacy links), the reveal
#    of the full ID number (CSRF, audited), lock (sessions end), unlock, end sessions,
#    never the operator themselves; 403 without the people permission;
#  - organizations: by credit code and name, an organization's legal representative
#    (masked), agent and staff; audited; 403 without the orgs permission;
#  - apps: register (the secret shown once works), an id taken 409, a plain-http URI or an
#    unknown scope 400 with nothing registered, rotate (the old secret refused), disable
#    (CSRF; /token then invalid_client) and enable again, audited;
#  - audit: search by event, person and date range, a malformed filter 400, the export
#    as JSON lines of the log's own lines, the chain check (every checkpoint's tag
#    through keyd) of the whole file and of a range of dates; each audited; 403 without
#    the audit permission;
#  - the pages in English with ?lang=en; no ID number in clear in the audit log, and
#    `authctl audit verify` passes.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 not installed"; exit 1; }
export CI=true
make_tmp admin_console
PID=
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
. "$(dirname "$0")/admin_setup.sh"
NR_ID=$(id_number 11010119850505123)      # staff without console permissions
NR_PW='Staff password 2026!'
AU_ID=$(id_number 11010119870707123)      # staff with the audit permission only
AU_PW='Auditor password 2026!'
for who in NR AU; do
  idv=${who}_ID pwv=${who}_PW
  printf '%s\n' "${!pwv}" | ctl_or_die user add --id-number "${!idv}" --name 工作人员 --password-stdin
  ctl_or_die user verify "${!idv}" --loa 2 --by registry --evidence "registry check"
done

check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
state_of() { sqlite3 "$DB" "select state from review_case where id = '$1'"; }
# admin_post JAR PATH ARGS...: a console form POST with the token of the last case page.
admin_post() {
  local jar=$1 path=$2
  shift 2
  req "$jar" POST "$path" --data-urlencode "csrf=$ATOK" "$@"
}
# staff_login JAR ID PW WHO NEXT: password + TOTP (seed WHO) to NEXT; STATUS... of the TOTP.
staff_login() {
  login_to "$1" "$2" "$3" "$5"
  [[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] || fail "$1: staff password login: $STATUS '$LOCATION'"
  totp_step "$1" "$4"
}

start_authd -c "$CFG"

# ---- no session; a citizen
req - GET /admin
[[ $STATUS == 302 && $LOCATION == "/login?next=%2Fadmin" ]] && ok "/admin without a session: to /login" ||
  fail "/admin without a session: $STATUS '$LOCATION'"
req - GET "/admin/review/case?id=$C_SEP"
[[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "a case without a session: to /login" ||
  fail "a case without a session: $STATUS"
login_to c "$CIT_ID" "$CIT_PW" /account
[[ $STATUS == 303 ]] || fail "citizen login: $STATUS '$LOCATION'"
for p in /admin /admin/review "/admin/review/case?id=$C_SEP"; do
  req c GET "$p"
  check "a citizen: GET $p" "$STATUS" 403
done
grep -q 运维管理台仅供 "$TMP/body" && ok "the 403 page says who the console is for" ||
  fail "the 403 page: $(grep -o '<main>.*' "$TMP/body" | head -c 300)"
req c GET /account
CTOK_CIT=$(form_value csrf)
req c POST /admin/review/resolve --data-urlencode "csrf=$CTOK_CIT" --data-urlencode "case=$C_SEP" \
  --data-urlencode decision=separate --data-urlencode note=x
check "a citizen's decision" "$STATUS" 403

# ---- the operator: TOTP enrolled, then staff add --admin-role
login_to o "$OP_ID" "$OP_PW" /account
[[ $STATUS == 303 && $LOCATION == /account ]] || die "operator login before staff add: $STATUS '$LOCATION'"
enrol o op || die "operator TOTP enrolment"
expect_error "staff role with an unknown permission" "permissions are review, people" \
  "$AUTHCTL" -d "$S" staff role --id-number "$OP_ID" --org "$GOV" --admin-role review,root
expect_error "staff role of a person who is not staff" "not current staff" \
  "$AUTHCTL" -d "$S" staff role --id-number "$OP_ID" --org "$GOV" --admin-role review
ctl_or_die staff add --id-number "$OP_ID" --org "$GOV" --unit 数据管理科 --admin-role review,people,apps
ctl staff list --org "$GOV" | grep -q '"admin_role": *"review people apps"' &&
  check "staff.console audited" "$(audit_count staff.console "\"person\":\"$OP_UID\"" \
  '"perms":"review people apps"')" 1 || fail "staff list: $(ctl staff list --org "$GOV")"
req o GET /admin
[[ $STATUS == 302 && $LOCATION == /login/totp\?* ]] &&
  ok "an operator's session at LoA 2: /admin sends it to the step-up" ||
  fail "operator session at LoA 2: /admin $STATUS '$LOCATION'"
staff_login a "$OP_ID" "$OP_PW" op /admin
[[ $STATUS == 303 && $LOCATION == /admin ]] && ok "operator password + TOTP: to /admin" ||
  fail "operator TOTP step: $STATUS '$LOCATION'"
req a GET /admin
check "/admin after password + TOTP" "$STATUS" 200
grep -q 'href="/admin/review"' "$TMP/body" && grep -q 数据管理科 "$TMP/body" &&
  grep -q 'review people apps' "$TMP/body" && ok "the console names the unit, the permissions, the review part" ||
  fail "the console home: $(grep -o '<main>.*' "$TMP/body" | head -c 400)"
req a GET "/admin?lang=en"
grep -q "Operators&#39; console\|Operators' console" "$TMP/body" && ok "the console in English (?lang=en)" ||
  fail "no English title"
req a GET "/admin?lang=zh-CN"

# ---- staff without permissions; staff with the audit permission only
login_to n "$NR_ID" "$NR_PW" /account
enrol n nr || die "staff TOTP enrolment"
ctl_or_die staff add --id-number "$NR_ID" --org "$GOV" --unit 综合受理窗口
staff_login n2 "$NR_ID" "$NR_PW" nr /account
for p in /admin /admin/review "/admin/review/case?id=$C_SEP"; do
  req n2 GET "$p"
  check "staff without console permissions at LoA 3: GET $p" "$STATUS" 403
done
login_to u "$AU_ID" "$AU_PW" /account
enrol u au || die "auditor TOTP enrolment"
ctl_or_die staff add --id-number "$AU_ID" --org "$GOV" --unit 审计科
ctl_or_die staff role --id-number "$AU_ID" --org "$GOV" --admin-role audit
staff_login u2 "$AU_ID" "$AU_PW" au /admin
req u2 GET /admin
check "staff with the audit permission: /admin" "$STATUS" 200
! grep -q 'href="/admin/review"' "$TMP/body" && ok "no review link without the review permission" ||
  fail "a review link for an auditor"
req u2 GET /admin/review
check "staff with the audit permission only: the queue" "$STATUS" 403
grep -q 没有管理台这一部分的权限 "$TMP/body" && ok "the 403 page says the part is not theirs" ||
  fail "the part's 403 page"
req u2 POST /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=separate \
  --data-urlencode note=x
check "a decision by staff without the review permission" "$STATUS" 403
check "nothing decided by them" "$(state_of "$C_SEP")" open

# ---- the queue
req a GET /admin/review
check "the queue" "$STATUS" 200
for c in "$C_MERGE" "$C_SEP" "$C_REJ"; do
  grep -q "href=\"/admin/review/case?id=$c\"" "$TMP/body" || fail "the queue lacks $c"
done
grep -q '<a href="/admin/review">全部</a> (3)' "$TMP/body" &&
  grep -q '>ambiguous_match</a> (1)' "$TMP/body" && ok "the queue: three cases, counted by reason" ||
  fail "queue counts: $(grep -o '<li>.*</li>' "$TMP/body" | head -5)"
req a GET /admin/review?reason=ambiguous_match
grep -q "case?id=$C_SEP\"" "$TMP/body" && ! grep -q "case?id=$C_MERGE\"" "$TMP/body" &&
  ok "the queue filtered by reason" || fail "the reason filter"
check "the queue views audited" "$(audit_count admin.review.list "\"actor\":\"user:$OP_UID\"")" 2
req a GET '/admin/review?reason=%ff%e7%8e'
[[ $STATUS == 200 ]] && grep -q "case?id=$C_MERGE\"" "$TMP/body" &&
  ok "a reason that is not UTF-8 filters nothing (200, not a server error)" ||
  fail "reason not UTF-8: $STATUS"

# ---- a case
req a GET "/admin/review/case?id=$C_MERGE"
check "a case" "$STATUS" 200
ATOK=$(form_value csrf)
[[ -n $ATOK ]] || fail "no CSRF token on the case page"
! grep -qF "$X" "$TMP/body" && ! grep -qF "$BROKEN" "$TMP/body" && ! grep -q 13911112222 "$TMP/body" &&
  grep -qF "${X:0:6}" "$TMP/body" && grep -q 's_b/B1' "$TMP/body" && grep -q 'bad_checksum' "$TMP/body" &&
  ok "the case beside its evidence: records, candidate, ID numbers and phones masked" ||
  fail "the case page: $(grep -o '<main>.*' "$TMP/body" | head -c 600)"
check "the case view audited (who looked at which case)" \
  "$(audit_count admin.review.view "\"actor\":\"user:$OP_UID\"" "\"case\":\"$C_MERGE\"" '"unit":"数据管理科"')" 1
req a GET "/admin/review/case?id=nonsense"
check "a malformed case id" "$STATUS" 400
req a GET "/admin/review/case?id=rc00000000_00000000"
check "an unknown case" "$STATUS" 404

# ---- CSRF
req a POST /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=separate \
  --data-urlencode note=x
check "a decision without a CSRF token" "$STATUS" 400
forged=${ATOK%?}A; [[ $forged == "$ATOK" ]] && forged=${ATOK%?}B
req a POST /admin/review/resolve --data-urlencode "csrf=$forged" --data-urlencode "case=$C_SEP" \
  --data-urlencode decision=separate --data-urlencode note=x
check "a decision with a forged CSRF token" "$STATUS" 400
req a POST /admin/review/resolve --data-urlencode "csrf=$CTOK_CIT" --data-urlencode "case=$C_SEP" \
  --data-urlencode decision=separate --data-urlencode note=x
check "a decision with another session's token" "$STATUS" 400
check "nothing decided without a good token" "$(state_of "$C_SEP")" open

# ---- bad input
admin_post a /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=separate
check "a decision without a note" "$STATUS" 400
grep -q 'role="alert">请选择决定并填写说明' "$TMP/body" && ok "no note: the page says what is missing" ||
  fail "no note: $(grep -o 'role="alert">[^<]*' "$TMP/body")"
admin_post a /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=maybe \
  --data-urlencode note=x
check "an unknown decision" "$STATUS" 400
admin_post a /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=merge \
  --data-urlencode note=x
check "a merge among several candidates without keep" "$STATUS" 400
grep -q '2 candidates: name the one' "$TMP/body" && ok "without keep: the page says which choice is missing" ||
  fail "without keep: $(grep -o '<p class="note">[^<]*' "$TMP/body")"
admin_post a /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=merge \
  --data-urlencode keep=0123456789abcdef0123456789abcdef --data-urlencode note=x
check "a keep that is not a candidate" "$STATUS" 400
admin_post a /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=reject \
  --data-binary 'note=ok%ff'
check "a note that is not UTF-8 text" "$STATUS" 400
admin_post a /admin/review/undo --data-urlencode "case=$C_SEP"
check "an undo of an open case" "$STATUS" 409
grep -q 'role="alert">该记录尚未作出决定' "$TMP/body" && ok "undo of an open case: a clear message" ||
  fail "undo of an open case: $(grep -o 'role="alert">[^<]*' "$TMP/body")"
check "the refused decisions changed nothing" \
  "$(sqlite3 "$DB" "select count(*) from review_case where state = 'open'")" 3
check "no decision audited yet" "$(audit_count review.resolve)" 0

# ---- separate; decided twice
admin_post a /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=separate \
  --data-urlencode "note=two different 王芳"
check "separate" "$STATUS" 200
grep -q '<p class="notice" role="status">已记录决定' "$TMP/body" && ! grep -q 'role="alert"' "$TMP/body" &&
  ok "separate: a notice, no alert" || fail "separate: $(grep -oE 'class="(notice|alert)"[^<]*' "$TMP/body")"
check "separate in the directory, decided by the operator" \
  "$(sqlite3 "$DB" "select state || '|' || decided_by || '|' || note from review_case where id = '$C_SEP'")" \
  "separate|user:$OP_UID|two different 王芳"
check "review.resolve audited as authctl's, the operator as actor and by" \
  "$(audit_count review.resolve "\"actor\":\"user:$OP_UID\"" "\"case\":\"$C_SEP\"" '"decision":"separate"' \
  "\"by\":\"user:$OP_UID\"" '"note":"two different 王芳"')" 1
admin_post a /admin/review/resolve --data-urlencode "case=$C_SEP" --data-urlencode decision=reject \
  --data-urlencode note=again
check "a case decided already" "$STATUS" 409
grep -q 'role="alert">该记录已经作出决定' "$TMP/body" && ok "decided already: a clear message" ||
  fail "decided already: $(grep -o 'role="alert">[^<]*' "$TMP/body")"
check "still separate, one decision audited" "$(state_of "$C_SEP")|$(audit_count review.resolve "$C_SEP")" "separate|1"

# ---- merge, and undo
b1_links() { sqlite3 "$DB" "select count(*) from legacy_link where source = 's_b' and legacy_id = 'B1'"; }
UID_X=$(sqlite3 "$DB" "select owner_uid from legacy_link where source = 's_a' and legacy_id = 'A1'")
admin_post a /admin/review/resolve --data-urlencode "case=$C_MERGE" --data-urlencode decision=merge \
  --data-urlencode keep= --data-urlencode "note=陳明 is 陈明"
check "merge (the only candidate)" "$STATUS" 200
check "merge: B1 linked to A1's person" "$(b1_links)|$(sqlite3 "$DB" "select merged_uid from review_case where id = '$C_MERGE'")" \
  "1|$UID_X"
check "merge audited with the merged person" "$(audit_count review.resolve "\"case\":\"$C_MERGE\"" \
  '"decision":"merge"' "\"merged_uid\":\"$UID_X\"" "\"actor\":\"user:$OP_UID\"")" 1
grep -q 'action="/admin/review/undo"' "$TMP/body" && ok "a decided case offers the undo" || fail "no undo form"
admin_post a /admin/review/undo --data-urlencode "case=$C_MERGE" --data-binary 'note=%ff%fe'
check "an undo with a note that is not UTF-8 text: refused, nothing undone, nothing audited" \
  "$STATUS|$(state_of "$C_MERGE")|$(b1_links)|$(audit_count review.undo)" "400|merged|1|0"
admin_post a /admin/review/undo --data-urlencode "case=$C_MERGE" --data-urlencode "note=wrong button"
check "undo" "$STATUS" 200
grep -q '<p class="notice" role="status">已撤销决定' "$TMP/body" && ok "undo: a notice" || fail "undo: no notice"
check "undo: the case open, no link" "$(state_of "$C_MERGE")|$(b1_links)" "open|0"
check "review.undo audited" "$(audit_count review.undo "\"case\":\"$C_MERGE\"" '"decision":"merge"' \
  "\"actor\":\"user:$OP_UID\"" '"note":"wrong button"')" 1

# ---- reject, in English
admin_post a "/admin/review/resolve?lang=en" --data-urlencode "case=$C_REJ" --data-urlencode decision=reject \
  --data-urlencode "note=test rows"
check "reject" "$STATUS" 200
grep -q 'The decision was recorded' "$TMP/body" && ok "reject: the notice in English" || fail "reject: no English notice"
check "rejected" "$(state_of "$C_REJ")" rejected
req a GET "/admin?lang=zh-CN"

# ---- organizations' cases: an organizations' source merged and imported into the same
# directory (a run of its own) opens a credit-code conflict (two records) and two code mismatches.
U5A=$(credit_code 91 310115 MA5N6M7L) U5B=$(credit_code 92 310115 MA5N6M7L)
U6=$(credit_code 91 370202 MA9R8T7U) OCX=$(org_code 5A7C9E1G)
U8=$(credit_code 91 110105 MA1B2C3D) OCY=$(org_code 6B8D0F2H)
cat >"$TMP/src/orgs.json" <<'JSON'
{"sources": [
 {"name": "sc", "file": "sc.jsonl", "format": "jsonl", "kind": "org",
  "fields": {"legacy_id": "lid", "org_name": "name", "uscc": "us", "org_code": "oc"}}
]}
JSON
cat >"$TMP/src/sc.jsonl" <<JSON
{"lid": "O1", "name": "五号集团", "us": "$U5A", "oc": ""}
{"lid": "O2", "name": "五号集团有限公司", "us": "$U5B", "oc": ""}
{"lid": "O3", "name": "六号公司", "us": "$U6", "oc": "$OCX"}
{"lid": "O4", "name": "测试单位", "us": "$U8", "oc": "$OCY"}
JSON
"$IDMERGE" run --sources "$TMP/src/orgs.json" --out "$TMP/merged2" --today 20260101 \
  >"$TMP/run2.log" 2>&1 || { cat "$TMP/run2.log"; die "idmerge run with organizations"; }
"$IDMERGE" import --in "$TMP/merged2" -c "$CFG" >"$TMP/import2.log" 2>&1 ||
  { cat "$TMP/import2.log"; die "idmerge import with organizations"; }
case_with() { sqlite3 "$DB" "select case_id from review_member where legacy_id = '$1'"; }
C_ORG=$(case_with O1) C_ORG_SEP=$(case_with O3) C_ORG_REJ=$(case_with O4)
[[ -n $C_ORG && -n $C_ORG_SEP && -n $C_ORG_REJ ]] || die "no organizations' cases: $(cat "$TMP/import2.log")"
org_links() { sqlite3 "$DB" "select count(*) from legacy_link where source = 'sc' and owner_uid = '$1'"; }
req a GET "/admin/review/case?id=$C_ORG"
ATOK=$(form_value csrf)
grep -q 'value="sc/O1"' "$TMP/body" && grep -q 'value="sc/O2"' "$TMP/body" &&
  ok "an organizations' case offers its records to keep" || fail "org case page: no keep choices"
admin_post a /admin/review/resolve --data-urlencode "case=$C_ORG" --data-urlencode decision=merge \
  --data-urlencode note=x
check "an organizations' merge without keep" "$STATUS" 400
admin_post a /admin/review/resolve --data-urlencode "case=$C_ORG" --data-urlencode decision=merge \
  --data-urlencode keep=sc/O1 --data-urlencode "note=一家单位"
ORG5=$(sqlite3 "$DB" "select uid from org where uscc = '$U5A'")
[[ $STATUS == 200 && -n $ORG5 && $(org_links "$ORG5") == 2 ]] &&
  ok "organizations' merge in the console: one organization, both accounts linked" ||
  fail "org merge: $STATUS, org '$ORG5'"
check "the organizations' merge audited" "$(audit_count review.resolve "\"case\":\"$C_ORG\"" \
  '"decision":"merge"' "\"merged_uid\":\"$ORG5\"" "\"actor\":\"user:$OP_UID\"")" 1
admin_post a /admin/review/undo --data-urlencode "case=$C_ORG" --data-urlencode "note=check the licence"
check "the organizations' merge undone" \
  "$STATUS|$(state_of "$C_ORG")|$(sqlite3 "$DB" "select count(*) from org where uscc = '$U5A'")|$(org_links "$ORG5")" \
  "200|open|0|0"
check "its undo audited" "$(audit_count review.undo "\"case\":\"$C_ORG\"" "\"actor\":\"user:$OP_UID\"")" 1
admin_post a /admin/review/resolve --data-urlencode "case=$C_ORG_SEP" --data-urlencode decision=separate \
  --data-urlencode "note=two organizations"
admin_post a /admin/review/resolve --data-urlencode "case=$C_ORG_REJ" --data-urlencode decision=reject \
  --data-urlencode "note=test row"
check "an organizations' case separated and one rejected in the console" \
  "$(state_of "$C_ORG_SEP")|$(state_of "$C_ORG_REJ")|$(audit_count review.resolve "\"case\":\"$C_ORG_REJ\"" '"decision":"reject"')" \
  "separate|rejected|1"

# ---- people
req u2 GET /admin/people
check "staff without the people permission: the people page" "$STATUS" 403
req a GET /admin/people
check "the people page" "$STATUS" 200
ATOK=$(form_value csrf)
admin_post a /admin/people/search --data-urlencode by=id_number --data-urlencode "q=$CIT_ID"
check "search by ID number" "$STATUS" 200
grep -q "href=\"/admin/people/person?uid=$CIT_UID\"" "$TMP/body" && ! grep -qF "$CIT_ID" "$TMP/body" &&
  ! grep -qF "$CIT_NAME" "$TMP/body" && grep -qF "${CIT_ID:0:6}" "$TMP/body" &&
  ok "search by ID number: the citizen, name and ID number masked" ||
  fail "search by ID number: $(grep -o '<ul class="claims">.*' "$TMP/body" | head -c 400)"
check "the search audited with whom it found, not the number" \
  "$(audit_count admin.people.search "\"actor\":\"user:$OP_UID\"" '"by":"id_number"' "\"persons\":[\"$CIT_UID\"]")" 1
admin_post a /admin/people/search --data-urlencode by=phone --data-urlencode "q=139 0000 1111"
grep -q "person?uid=$CIT_UID\"" "$TMP/body" && ok "search by phone" || fail "search by phone"
admin_post a /admin/people/search --data-urlencode by=name --data-urlencode "q=$CIT_NAME"
grep -q "person?uid=$CIT_UID\"" "$TMP/body" && ! grep -qF "$CIT_NAME" "$TMP/body" &&
  ok "search by name: found, the name masked in the list" || fail "search by name"
admin_post a /admin/people/search --data-urlencode by=name --data-urlencode "q=无此人"
grep -q 没有找到人员 "$TMP/body" && ok "search for nobody: says so" || fail "search for nobody"
# Name search folds traditional to simplified, and matches the beginning or any part.
admin_post a /admin/people/search --data-urlencode by=name --data-urlencode "q=陳明"
[[ $STATUS == 200 ]] && grep -q "person?uid=$UID_X\"" "$TMP/body" && ! grep -qF 陈明 "$TMP/body" &&
  ! grep -qF 陳明 "$TMP/body" && grep -qF 陈* "$TMP/body" &&
  ok "search by a traditional name: the simplified 陈明 found, masked" ||
  fail "search 陳明: $STATUS $(grep -o '<ul class="claims">.*' "$TMP/body" | head -c 400)"
check "the name search audited with the folded query and whom it found" \
  "$(audit_count admin.people.search "\"actor\":\"user:$OP_UID\"" '"by":"name"' '"query":"陈明"' "\"persons\":[\"$UID_X\"]")" 1
admin_post a /admin/people/search --data-urlencode by=name --data-urlencode "q=美華"
grep -q "person?uid=$CIT_UID\"" "$TMP/body" && ! grep -qF "$CIT_NAME" "$TMP/body" &&
  ok "search by a part of the name (美華 in 林美华)" || fail "search by a part of the name"
admin_post a /admin/people/search --data-urlencode by=name --data-urlencode "q= 林 "
[[ $STATUS == 400 ]] && grep -q 至少输入两个字 "$TMP/body" && ! grep -q "person?uid=" "$TMP/body" &&
  ok "a one-character name search: refused (400), nobody listed" ||
  fail "one-character search: $STATUS"
check "the refused name search audited too" \
  "$(audit_count admin.people.search '"by":"name"' '"query":"林"' '"persons":[]')" 1
admin_post a /admin/people/search --data-urlencode by=name
check "a name search without a query" "$STATUS" 400
admin_post a /admin/people/search --data-urlencode by=name --data-urlencode "q=$(printf '林%.0s' {1..100})"
[[ $STATUS == 400 ]] && grep -q 查询内容无效 "$TMP/body" && ok "a name query over 256 bytes: 400, invalid" ||
  fail "long name query: $STATUS"
admin_post a /admin/people/search --data-urlencode by=id_number --data-urlencode "q=not-an-id"
check "search with a malformed ID number" "$STATUS" 400
admin_post a /admin/people/search --data-urlencode by=secret --data-urlencode "q=x"
check "search by an unknown key" "$STATUS" 400
req a GET "/admin/people/person?uid=$CIT_UID"
check "a person's page" "$STATUS" 200
! grep -qF "$CIT_ID" "$TMP/body" && grep -q 'registry check' "$TMP/body" &&
  grep -q '<span class="claim">动态口令</span>：否' "$TMP/body" &&
  grep -q '<span class="claim">登录密码</span>：是' "$TMP/body" &&
  ok "a person's page: masked, LoA history, TOTP no, password yes" ||
  fail "person page: $(grep -o '<main>.*' "$TMP/body" | head -c 800)"
check "the person view audited" "$(audit_count admin.people.view "\"person\":\"$CIT_UID\"")" 1
req a GET "/admin/people/person?uid=$UID_X"
grep -q 's_a/<span class="addr">A1</span> chen_a' "$TMP/body" && ok "a person's legacy links" ||
  fail "legacy links: $(grep -o 's_a/[^<]*<[^<]*' "$TMP/body")"
req a GET "/admin/people/person?uid=0123456789abcdef0123456789abcdef"
check "an unknown person" "$STATUS" 404
req a POST /admin/people/reveal --data-urlencode "uid=$CIT_UID"
check "reveal without a CSRF token" "$STATUS" 400
check "no reveal audited" "$(audit_count admin.people.reveal)" 0
admin_post a /admin/people/reveal --data-urlencode "uid=$CIT_UID"
check "reveal" "$STATUS" 200
grep -qF "$CIT_ID" "$TMP/body" && ok "reveal: the full ID number on the page" || fail "reveal: no full ID number"
check "reveal audited: who saw whose ID number" \
  "$(audit_count admin.people.reveal "\"actor\":\"user:$OP_UID\"" "\"person\":\"$CIT_UID\"")" 1
req c GET /account
check "the citizen's session before the lock" "$STATUS" 200
admin_post a /admin/people/lock --data-urlencode "uid=$OP_UID"
check "an operator cannot lock themselves" "$STATUS" 400
admin_post a /admin/people/lock --data-urlencode "uid=$CIT_UID"
check "lock" "$STATUS" 200
grep -q '<p class="notice" role="status">账号已锁定' "$TMP/body" && ok "lock: a notice" || fail "lock: no notice"
check "the citizen locked" "$(sqlite3 "$DB" "select status from person where uid = '$CIT_UID'")" locked
req c GET /account
[[ $STATUS == 302 || $STATUS == 303 ]] && ok "the lock ended the citizen's session ($STATUS)" ||
  fail "the citizen's session after the lock: $STATUS"
check "user.lock audited" "$(audit_count user.lock "\"actor\":\"user:$OP_UID\"" "\"person\":\"$CIT_UID\"" \
  '"sessions_ended":1')" 1
admin_post a /admin/people/unlock --data-urlencode "uid=$CIT_UID"
check "unlock" "$STATUS" 200
check "the citizen active again" "$(sqlite3 "$DB" "select status from person where uid = '$CIT_UID'")" active
check "user.unlock audited" "$(audit_count user.unlock "\"person\":\"$CIT_UID\"")" 1
login_to c2 "$CIT_ID" "$CIT_PW" /account
[[ $STATUS == 303 ]] || fail "citizen login after the unlock: $STATUS"
admin_post a /admin/people/logout --data-urlencode "uid=$CIT_UID"
check "end the sessions" "$STATUS" 200
req c2 GET /account
[[ $STATUS == 302 || $STATUS == 303 ]] && ok "the citizen's session ended by the operator" ||
  fail "the citizen's session after the end: $STATUS"
check "user.logout audited" "$(audit_count user.logout "\"person\":\"$CIT_UID\"" '"sessions_ended":1')" 1
# a deregistered person's status is final: lock and unlock say so (400, not a server error)
GONE_ID=$(id_number 44030119700707123)
printf '%s\n' "$CIT_PW" | ctl_or_die user add --id-number "$GONE_ID" --name 王注销 --password-stdin
GONE_UID=$(ctl user show "$GONE_ID" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
ctl_or_die user deregister "$GONE_ID"
for act in lock unlock; do
  admin_post a "/admin/people/$act" --data-urlencode "uid=$GONE_UID"
  [[ $STATUS == 400 ]] && grep -q '该账号已注销' "$TMP/body" &&
    ok "$act of a deregistered person: 400, the page says why" || fail "$act of a deregistered person: $STATUS"
done
check "the deregistered person unchanged" \
  "$(sqlite3 "$DB" "select status from person where uid = '$GONE_UID'")" deregistered

# ---- organizations
req a GET /admin/orgs
check "organizations without the orgs permission" "$STATUS" 403
ctl_or_die staff role --id-number "$OP_ID" --org "$GOV" --admin-role review,people,orgs,apps
ctl_or_die org change "$GOV" --legal-rep "$CIT_ID"
ctl_or_die org agent add "$GOV" --id-number "$OP_ID" --registry-unavailable-ok
GOV_UID=$(ctl org show "$GOV" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
req a GET "/admin/orgs?by=uscc&q=$GOV"
check "organization search by credit code" "$STATUS" 200
grep -q "href=\"/admin/orgs/org?uid=$GOV_UID\"" "$TMP/body" && ok "found by credit code" || fail "not found by credit code"
req a GET "/admin/orgs?by=name&q=$(enc 某市政务服务中心)"
grep -q "org?uid=$GOV_UID\"" "$TMP/body" && ok "found by name" || fail "not found by name"
req a GET "/admin/orgs?by=secret&q=x"
check "organization search by an unknown key" "$STATUS" 400
check "organization searches audited" "$(audit_count admin.orgs.search "\"actor\":\"user:$OP_UID\"" \
  "\"orgs\":[\"$GOV_UID\"]")" 2
req a GET "/admin/orgs/org?uid=$GOV_UID"
check "an organization's page" "$STATUS" 200
grep -q "$CIT_UID" "$TMP/body" && ! grep -qF "$CIT_NAME" "$TMP/body" && grep -q 'agent · ' "$TMP/body" &&
  grep -q 'staff · .* · 数据管理科' "$TMP/body" &&
  ok "an organization's page: the legal representative masked, the agent, the staff" ||
  fail "organization page: $(grep -o '<main.*' "$TMP/body" | head -c 300)"
check "the organization view audited" "$(audit_count admin.orgs.view "\"org\":\"$GOV_UID\"")" 1
req a GET "/admin/orgs/org?uid=0123456789abcdef0123456789abcdef"
check "an unknown organization" "$STATUS" 404

# ---- apps
req u2 GET /admin/apps
check "apps without the apps permission" "$STATUS" 403
req a GET /admin/apps
check "the apps page" "$STATUS" 200
ATOK=$(form_value csrf)
secret_on_page() { grep -oE '<code class="secret">[^<]+' "$TMP/body" | sed 's/.*>//'; }
check_secret() { printf '%s' "$2" | "$AUTHCTL" -d "$S" client check-secret "$1" >/dev/null 2>&1; }
admin_post a /admin/apps/add --data-urlencode client_id=console_app --data-urlencode "name=控制台应用" \
  --data-urlencode "redirect_uris=http://127.0.0.1:9/cb" --data-urlencode "scopes=openid profile" \
  --data-urlencode kind=confidential
check "register an app" "$STATUS" 200
SECRET1=$(secret_on_page)
[[ -n $SECRET1 ]] && check_secret console_app "$SECRET1" && ok "register: the secret shown once works" ||
  fail "register: secret '$SECRET1': $(grep -oE 'role="(status|alert)">[^<]*' "$TMP/body")"
ctl client show console_app | grep -q '"redirect_uris": *\[ *"http://127.0.0.1:9/cb"' &&
  ok "the app in the registry as authctl sees it" || fail "client show: $(ctl client show console_app)"
admin_post a /admin/apps/add --data-urlencode client_id=console_app --data-urlencode "redirect_uris=http://127.0.0.1:9/cb" \
  --data-urlencode "scopes=openid" --data-urlencode kind=public
check "register an id taken" "$STATUS" 409
admin_post a /admin/apps/add --data-urlencode client_id=bad_app --data-urlencode "redirect_uris=http://example.com/cb" \
  --data-urlencode "scopes=openid" --data-urlencode kind=confidential
check "register with a plain-http redirect URI" "$STATUS" 400
grep -q 'role="alert">应用未注册' "$TMP/body" && ok "a refused registration: the page says why" ||
  fail "refused registration: $(grep -oE 'role="alert">[^<]*' "$TMP/body")"
admin_post a /admin/apps/add --data-urlencode client_id=bad_app --data-urlencode "redirect_uris=http://127.0.0.1:9/cb" \
  --data-urlencode "scopes=openid everything" --data-urlencode kind=confidential
check "register with an unknown scope" "$STATUS" 400
ctl client show bad_app >/dev/null && fail "a refused app was registered" || ok "the refused app is not registered"
admin_post a /admin/apps/rotate --data-urlencode client_id=console_app
check "rotate the secret" "$STATUS" 200
SECRET2=$(secret_on_page)
[[ -n $SECRET2 && $SECRET2 != "$SECRET1" ]] && check_secret console_app "$SECRET2" &&
  ! check_secret console_app "$SECRET1" && ok "rotate: the new secret works, the old one no longer" ||
  fail "rotate"
admin_post a /admin/apps/rotate --data-urlencode client_id=no_such_app
check "rotate an unknown app" "$STATUS" 404
req a POST /admin/apps/disable --data-urlencode client_id=console_app
check "disable without a CSRF token" "$STATUS" 400
ctl client show console_app | grep -q '"disabled": *false' && ok "nothing disabled without a token" ||
  fail "disabled without a token"
admin_post a /admin/apps/disable --data-urlencode client_id=console_app
check "disable an app" "$STATUS" 200
grep -q '<p class="notice" role="status">应用已停用' "$TMP/body" && grep -q 'action="/admin/apps/enable"' "$TMP/body" &&
  ok "disable: a notice, the app marked and offered enable" ||
  fail "disable: $(grep -oE 'role="(status|alert)">[^<]*' "$TMP/body")"
ctl client show console_app | grep -q '"disabled": *true' && ok "disabled in the registry" ||
  fail "client show after disable: $(ctl client show console_app)"
curl -s -o "$TMP/cc.json" -w '%{http_code}' -u "console_app:$SECRET2" -d grant_type=authorization_code \
  -d code=x -d redirect_uri=http://127.0.0.1:9/cb "$BASE/token" >"$TMP/cc.code"
check "a disabled app at /token" "$(cat "$TMP/cc.code")|$(grep -o '"error":"[a-z_]*"' "$TMP/cc.json")" \
  '401|"error":"invalid_client"'
admin_post a /admin/apps/disable --data-urlencode client_id=no_such_app
check "disable an unknown app" "$STATUS" 404
admin_post a /admin/apps/enable --data-urlencode client_id=console_app
check "enable it again" "$STATUS" 200
ctl client show console_app | grep -q '"disabled": *false' && ok "enabled in the registry" ||
  fail "client show after enable"
check "disable and enable audited" "$(audit_count admin.apps.disable "\"actor\":\"user:$OP_UID\"" \
  '"client_id":"console_app"')|$(audit_count admin.apps.enable '"client_id":"console_app"')" "1|1"
check "apps audited" "$(audit_count admin.apps.add "\"actor\":\"user:$OP_UID\"" '"client_id":"console_app"')|$(audit_count \
  admin.apps.rotate '"client_id":"console_app"')" "1|1"
check "the registration's redirect URIs and scopes in its audit line" "$(audit_count admin.apps.add \
  '"client_id":"console_app"' '"redirect_uris":["http://127.0.0.1:9/cb"]' '"scopes":"openid profile"')" 1
grep -qF "$SECRET1" "$S/audit.log" "$TMP/authd.log" && fail "a secret in the logs" || ok "no secret in the logs"

# ---- the audit log (the auditor: permission audit only)
AU_UID=$(uid_of "$AU_ID")
req a GET /admin/audit
check "the audit part without the audit permission" "$STATUS" 403
n_res=$(audit_count review.resolve)
req u2 GET "/admin/audit?event=review.resolve"
check "audit search by event" "$STATUS" 200
grep -q "<h2>查询结果 ($n_res)</h2>" "$TMP/body" &&
  [[ $(grep -c '<strong>review.resolve</strong>' "$TMP/body") == "$n_res" ]] &&
  ! grep -q '<strong>user.lock</strong>' "$TMP/body" && ok "audit search by event: the $n_res decisions only" ||
  fail "audit search by event: $(grep -o '<h2>查询结果[^<]*' "$TMP/body")"
ATOK=$(form_value csrf)
req u2 GET "/admin/audit?person=$CIT_UID&event=admin.people.reveal"
grep -q '<h2>查询结果 (1)</h2>' "$TMP/body" && ok "audit search by person and event: who revealed the citizen's number" ||
  fail "audit search by person: $(grep -o '<h2>查询结果[^<]*' "$TMP/body")"
req u2 GET "/admin/audit?from=2999-01-01"
grep -q '<h2>查询结果 (0)</h2>' "$TMP/body" && ok "audit search by time: nothing after 2999-01-01" ||
  fail "audit search by time"
# The day of a line as its own time stamp gives it (UTC), so that a run across midnight
# asks for the day its lines carry rather than the clock's day.
line_day() { grep -m1 -F "$1" "$S/audit.log" | grep -oE '"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}' | cut -c7-; }
LOCK_DAY=$(line_day '"event":"user.lock"')
req u2 GET "/admin/audit?from=$LOCK_DAY&to=$LOCK_DAY&event=user.lock"
grep -q '<h2>查询结果 (1)</h2>' "$TMP/body" && ok "audit search by the lock's day ($LOCK_DAY)" ||
  fail "audit search by the lock's day '$LOCK_DAY': $(grep -o '<h2>查询结果[^<]*' "$TMP/body")"
req u2 GET "/admin/audit?from=2026-13"
check "a malformed date" "$STATUS" 400
req u2 GET "/admin/audit?person=nobody"
check "a malformed person" "$STATUS" 400
req u2 GET "/admin/audit/export?event=review.resolve"
check "export" "$STATUS" 200
[[ $(header Content-Type) == application/x-ndjson* && $(grep -c . "$TMP/body") == "$n_res" ]] &&
  "$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]; assert all(json.loads(l)["event"] == "review.resolve" for l in open(sys.argv[1]))' "$TMP/body" &&
  grep -qF "$(grep -F '"event":"review.resolve"' "$S/audit.log" | head -1)" "$TMP/body" &&
  ok "export: JSON lines, the log's own lines" || fail "export: $(header Content-Type) $(head -c 300 "$TMP/body")"
req u2 POST /admin/audit/verify
check "verify without a CSRF token" "$STATUS" 400
req u2 POST /admin/audit/verify --data-urlencode "csrf=$ATOK"
check "verify" "$STATUS" 200
grep -q '<p class="notice" role="status">日志链完整' "$TMP/body" && ok "verify: the chain is intact" ||
  fail "verify: $(grep -oE 'role="(status|alert)">[^<]*' "$TMP/body")"
grep -qE 'checkpoints=([1-9][0-9]*) checked=\1' "$TMP/body" && ok "verify: every checkpoint's tag checked through keyd" ||
  fail "verify detail: $(grep -o 'class="note addr">[^<]*' "$TMP/body")"
FIRST_DAY=$(line_day '"seq":1,')
req u2 POST /admin/audit/verify --data-urlencode "csrf=$ATOK" --data-urlencode "from=$FIRST_DAY" \
  --data-urlencode "to=$FIRST_DAY"
check "verify the first line's day" "$STATUS" 200
grep -q '<p class="notice" role="status">日志链完整' "$TMP/body" && grep -qE 'checked=[1-9][0-9]* range=1-[0-9]+ checked_lines=1-' "$TMP/body" &&
  ok "verify this range: intact, its lines and checkpoints checked" ||
  fail "verify range: $(grep -oE 'role="(status|alert)">[^<]*|class="note addr">[^<]*' "$TMP/body")"
req u2 POST /admin/audit/verify --data-urlencode "csrf=$ATOK" --data-urlencode "from=2999-01-01"
grep -q 'range=0-0' "$TMP/body" && grep -q 'no line of the file is in the range' "$TMP/body" &&
  ok "verify a range with no lines: says so" || fail "empty range: $(grep -o 'class="note addr">[^<]*' "$TMP/body")"
req u2 POST /admin/audit/verify --data-urlencode "csrf=$ATOK" --data-urlencode "from=yesterday"
check "verify a malformed range" "$STATUS" 400
check "the audit part audited" "$(audit_count admin.audit.search "\"actor\":\"user:$AU_UID\"")|$(audit_count \
  admin.audit.export "\"actor\":\"user:$AU_UID\"")|$(audit_count admin.audit.verify "\"actor\":\"user:$AU_UID\"" \
  '"damage":"intact"')|$(audit_count admin.audit.verify "\"from\":\"$FIRST_DAY\"")" "4|1|3|1"

# ---- the audit trail
for idn in "$X" "$BROKEN" "$OP_ID" "$CIT_ID"; do
  grep -qF "$idn" "$S/audit.log" && fail "an ID number in clear in the audit log" ||
    ok "ID number ${idn:0:6}… not in clear in the audit log"
done

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
expect_rc 0 "authctl audit verify" "$AUTHCTL" -d "$S" audit verify "$S/audit.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "admin_console: all checks passed"
