#!/usr/bin/env bash
# The service-hall counter (/counter) against a real authd driven by curl (cookie jars as
# browsers), with a government agency, a staff member (real-name verified, TOTP enrolled
# before `authctl staff add`) and a citizen:
#
#  - the staff member's password alone is not a login (to /login/totp, no /counter);
#    a session from before the staff relation (LoA 2) is sent to the step-up too;
#    after the TOTP code the session is LoA 3 and /counter answers 200;
#  - a person who is not staff gets 403; no session: to the login page;
#  - a search by ID number shows the citizen masked (neither the full ID number nor the
#    full name on the page) and their account status in Chinese words;
#  - an in-person check whose re-typed ID number differs, or with a missing or forged
#    CSRF token, or of the staff member themselves, is refused with nothing written; the right one raises the citizen to
#    LoA 4 (method counter, the staff member's uid, the evidence without the ID number)
#    and the page says so in a notice (role status), not in the error box;
#  - the citizen's next password + TOTP login gives an app an ID token with acr
#    urn:yihao:loa:4 (a password alone: loa:2, and acr_values loa:4 leads to the TOTP
#    step-up);
#  - a lock needs the ID number typed again from the document (a uid alone, or another
#    number, is refused); a lock at the citizen's request ends their sessions and
#    refuses their next login;
#  - a deregistered account is shown without forms, and verify and lock refuse it (400,
#    not a server error);
#  - counter.search/verify/lock are audited with the staff member as actor and no ID
#    number in clear, refusals (a number that does not match, a deregistered account)
#    too, and `authctl audit verify` passes.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp counter
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
GOV=11350100003000014R            # 11: a government agency
STAFF_ID=$(id_number 11010119800101123)
STAFF_PW='Staff password 2026!'
CIT_ID=$(id_number 35010219900202345)
CIT_NAME=林美华
CIT_PW='Citizen password 2026!'
OTHER_ID=$(id_number 11010119850505123)
OTHER_PW='Other password 2026!'
GONE_ID=$(id_number 44030119700707123)   # deregistered before the counter sees them

check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
db() { sqlite3 "$S/directory.db" "$1"; }
person_field() { db "select $2 from person where uid = '$1'"; }

# login_to JAR USER PASSWORD NEXT: the login form with next NEXT; STATUS... of the POST.
login_to() {
  local tok
  req "$1" GET "/login?next=$("$PY" -c 'import sys,urllib.parse as u;print(u.quote(sys.argv[1],safe=""))' "$4")"
  tok=$(form_value csrf)
  req "$1" POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=$4" \
    --data-urlencode "username=$2" --data-urlencode "password=$3"
}

# refused_verify NAME DOC ID_NUMBER NOTE: the staff session's verify form for the citizen
# with these fields must answer 400.
refused_verify() {
  counter_post t /counter/verify --data-urlencode "uid=$CIT_UID" --data-urlencode "doc=$2" \
    --data-urlencode "id_number=$3" --data-urlencode "note=$4"
  check "$1" "$STATUS" 400
}

# id_token_acr JAR SCOPE: the acr of the ID token app1 gets with JAR's session ("" when
# the flow fails).
id_token_acr() {
  authorize_code "$1" "$2" || return 0
  curl -s -o "$TMP/tok.json" -d grant_type=authorization_code -d client_id=app1 \
    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$BASE/token"
  jwt_claim "$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("id_token",""))' \
    "$TMP/tok.json" 2>/dev/null)" acr
}

# counter_post JAR PATH ARGS...: a counter form POST with the token of the last counter page.
counter_post() {
  local jar=$1 path=$2
  shift 2
  req "$jar" POST "$path" --data-urlencode "csrf=$CTOK" "$@"
}

start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile --name "App One"
printf '%s\n' "$STAFF_PW" | ctl_or_die user add --id-number "$STAFF_ID" --name 陈建国 \
  --password-stdin
printf '%s\n' "$CIT_PW" | ctl_or_die user add --id-number "$CIT_ID" --name "$CIT_NAME" \
  --password-stdin
printf '%s\n' "$OTHER_PW" | ctl_or_die user add --id-number "$OTHER_ID" --name 路人甲 \
  --password-stdin
printf '%s\n' "$OTHER_PW" | ctl_or_die user add --id-number "$GONE_ID" --name 王注销 \
  --password-stdin
ctl_or_die user verify "$STAFF_ID" --loa 2 --by registry --evidence "registry check"
ctl_or_die user verify "$CIT_ID" --loa 2 --by registry --evidence "registry check"
ctl_or_die org add --uscc "$GOV" --name 某市政务服务中心
STAFF_UID=$(ctl user show "$STAFF_ID" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
GOV_UID=$(ctl org show "$GOV" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
CIT_UID=$(ctl user show "$CIT_ID" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
GONE_UID=$(ctl user show "$GONE_ID" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
[[ -n $STAFF_UID && -n $CIT_UID && -n $GOV_UID && -n $GONE_UID ]] || die "no uids from authctl user show"
ctl_or_die user deregister "$GONE_ID"
start_authd

# ---- no session; not staff
req - GET /counter
[[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "/counter without a session: to /login" ||
  fail "/counter without a session: $STATUS '$LOCATION'"
login_to o "$OTHER_ID" "$OTHER_PW" /account
[[ $STATUS == 303 ]] || fail "login of a person who is not staff: $STATUS '$LOCATION'"
req o GET /counter
check "/counter for a person who is not staff: 403" "$STATUS" 403

# ---- the staff member: TOTP enrolled before the staff relation, then staff add
login_to s "$STAFF_ID" "$STAFF_PW" /account
[[ $STATUS == 303 && $LOCATION == /account ]] || die "staff login before staff add: $STATUS '$LOCATION'"
enrol s staff || die "staff TOTP enrolment"
ctl_or_die staff add --id-number "$STAFF_ID" --org "$GOV" --unit 综合受理窗口
req s GET /counter
[[ $STATUS == 302 && $LOCATION == /login/totp\?* ]] &&
  ok "a staff session at LoA 2 (from before staff add): /counter sends it to the step-up" ||
  fail "staff session at LoA 2: /counter $STATUS '$LOCATION'"

# ---- staff login: the password alone is not enough
login_to t "$STAFF_ID" "$STAFF_PW" /counter
[[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] &&
  ok "staff password login: to /login/totp" || fail "staff password login: $STATUS '$LOCATION'"
TOTP_AT=$LOCATION
req t GET /counter
[[ $STATUS == 302 && $LOCATION == /login/totp\?* ]] &&
  ok "staff session after the password only: /counter to the step-up" ||
  fail "staff session after the password only: /counter $STATUS '$LOCATION'"
req t GET /account
[[ $STATUS != 200 ]] && ok "staff session after the password only: no account page ($STATUS)" ||
  fail "staff session after the password only: /account 200"
LOCATION=$TOTP_AT
totp_step t staff
[[ $STATUS == 303 && $LOCATION == /counter ]] && ok "staff TOTP step: to /counter" ||
  fail "staff TOTP step: $STATUS '$LOCATION'"
check "staff session LoA 3 (login.stepup audited)" \
  "$(audit_count login.stepup "\"actor\":\"user:$STAFF_UID\"" '"loa":3')" 1
req t GET /counter
check "/counter after password + TOTP" "$STATUS" 200
CTOK=$(form_value csrf)
[[ -n $CTOK ]] || fail "no CSRF token on the counter page"
grep -q 综合受理窗口 "$TMP/body" && ok "the counter page names the unit" ||
  fail "the counter page does not name the unit"

# ---- search
counter_post t /counter/search --data-urlencode "id_number=$CIT_ID"
check "search by ID number" "$STATUS" 200
CUID=$(form_value uid)
check "the search finds the citizen" "$CUID" "$CIT_UID"
! grep -qF "$CIT_ID" "$TMP/body" && ok "the full ID number is not on the page" ||
  fail "the full ID number is on the result page"
! grep -qF "$CIT_NAME" "$TMP/body" && ok "the full name is not on the page" ||
  fail "the full name is on the result page"
grep -qF "${CIT_ID:0:6}" "$TMP/body" && ok "the masked ID number is on the page" ||
  fail "no masked ID number on the page"
grep -q '账号状态</span>：正常</li>' "$TMP/body" && ok "the account status in words of the page's language (正常)" ||
  fail "account status: $(grep -o '账号状态</span>[^<]*' "$TMP/body")"
counter_post t /counter/search --data-urlencode "id_number=$(id_number 11010119990909000)"
[[ $STATUS == 200 ]] && ok "search for nobody: 200" || fail "search for nobody: $STATUS"
counter_post t /counter/search --data-urlencode "id_number=not-an-id"
check "search with a malformed ID number" "$STATUS" 400

# ---- verify: refusals write nothing
n_loa=$(db "select count(*) from loa_event")
refused_verify "verify with a re-typed ID number of someone else" id_card "$OTHER_ID" "photo matches"
refused_verify "verify with a mistyped ID number" id_card "${CIT_ID:0:17}0" "photo matches"
refused_verify "verify with an unknown document" passport "$CIT_ID" "photo matches"
refused_verify "verify with a note over 500 bytes" id_card "$CIT_ID" "$(printf 'x%.0s' $(seq 1 501))"
req t POST /counter/verify --data-urlencode "uid=$CIT_UID" --data-urlencode doc=id_card \
  --data-urlencode "id_number=$CIT_ID"
check "verify without a CSRF token" "$STATUS" 400
# the token with its last character changed (A, or B when it already ends in A)
forged=${CTOK%?}A; [[ $forged == "$CTOK" ]] && forged=${CTOK%?}B
req t POST /counter/verify --data-urlencode "csrf=$forged" --data-urlencode "uid=$CIT_UID" \
  --data-urlencode doc=id_card --data-urlencode "id_number=$CIT_ID"
check "verify with a forged CSRF token" "$STATUS" 400
req o GET /account
OTOK=$(form_value csrf)
req t POST /counter/verify --data-urlencode "csrf=$OTOK" --data-urlencode "uid=$CIT_UID" \
  --data-urlencode doc=id_card --data-urlencode "id_number=$CIT_ID"
check "verify with another session's token" "$STATUS" 400
req o POST /counter/verify --data-urlencode "csrf=$OTOK" --data-urlencode "uid=$CIT_UID" \
  --data-urlencode doc=id_card --data-urlencode "id_number=$CIT_ID"
check "verify by a person who is not staff" "$STATUS" 403
req t POST /counter/lock --data-urlencode "uid=$CIT_UID" --data-urlencode "id_number=$CIT_ID"
check "lock without a CSRF token" "$STATUS" 400
counter_post t /counter/verify --data-urlencode "uid=$STAFF_UID" --data-urlencode doc=id_card \
  --data-urlencode "id_number=$STAFF_ID" --data-urlencode "note=my own card"
check "a staff member cannot verify themselves" "$STATUS" 400
check "the staff member still at LoA 2" "$(person_field "$STAFF_UID" loa)" 2
check "nothing written by refused verifications" "$(db "select count(*) from loa_event")" "$n_loa"
check "the citizen still at LoA 2" "$(person_field "$CIT_UID" loa)" 2
check "the citizen still active" "$(person_field "$CIT_UID" status)" active

# ---- the citizen's TOTP, enrolled while at LoA 2 (their session stays below 4)
login_to c "$CIT_ID" "$CIT_PW" /account
[[ $STATUS == 303 && $LOCATION == /account ]] || fail "citizen login: $STATUS '$LOCATION'"
enrol c cit || die "citizen TOTP enrolment"

# ---- verify in person
counter_post t /counter/verify --data-urlencode "uid=$CIT_UID" --data-urlencode doc=id_card \
  --data-urlencode "id_number=$CIT_ID" --data-urlencode "note=photo matches the holder"
check "verify in person" "$STATUS" 200
grep -q '<p class="notice" role="status">已记录现场核验' "$TMP/body" && ! grep -q 'role="alert"' "$TMP/body" &&
  ok "verify in person: the page says it was recorded in a notice, not in an error box" ||
  fail "verify in person: no notice, or an alert: $(grep -oE 'class="(notice|alert)"[^<]*' "$TMP/body")"
check "the citizen at LoA 4" "$(person_field "$CIT_UID" loa)" 4
ev=$(db "select method || '|' || verifier || '|' || evidence from loa_event where person_uid =
  '$CIT_UID' and loa = 4")
[[ $ev == "counter|user:$STAFF_UID|doc=id_card; number="*"; seen=photo matches the holder" ]] &&
  ok "LoA history: method counter, the staff member, the evidence" ||
  fail "LoA history: '$ev'"
[[ $ev != *"$CIT_ID"* ]] && ok "no ID number in clear in the evidence" ||
  fail "the evidence holds the ID number"

# ---- the citizen's next password + TOTP login: acr urn:yihao:loa:4
login_to d "$CIT_ID" "$CIT_PW" /account
[[ $STATUS == 303 && $LOCATION == /account ]] || fail "citizen login after verify: $STATUS '$LOCATION'"
LOCATION="/login/totp?next=%2Faccount&loa=4"
totp_step d cit
[[ $STATUS == 303 && $LOCATION == /account ]] || fail "citizen TOTP step: $STATUS '$LOCATION'"
check "ID token acr after password + TOTP of a person verified in person" \
  "$(id_token_acr d "openid%20profile")" urn:yihao:loa:4
login_to e "$CIT_ID" "$CIT_PW" /account
check "ID token acr after the password alone" "$(id_token_acr e openid)" urn:yihao:loa:2
req e GET "/authorize?response_type=code&client_id=app1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid&state=s4&nonce=n4&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&acr_values=urn%3Ayihao%3Aloa%3A4"
[[ $STATUS == 302 && $LOCATION == /login/totp\?* && $(qparam "http://x$LOCATION" loa) == 4 ]] &&
  ok "acr_values loa:4 on a password session: the TOTP step-up to LoA 4" ||
  fail "acr_values loa:4 on a password session: $STATUS '$LOCATION'"

# ---- lock at the citizen's request
req d GET /account
check "the citizen's session before the lock" "$STATUS" 200
counter_post t /counter/lock --data-urlencode "uid=$CIT_UID"
check "lock by the uid alone (no ID number typed from the document)" "$STATUS" 400
counter_post t /counter/lock --data-urlencode "uid=$CIT_UID" --data-urlencode "id_number=$OTHER_ID"
check "lock with someone else's ID number typed again" "$STATUS" 400
grep -q '再次输入的身份证号码与查询到的账号不符' "$TMP/body" && ok "lock refused: the page says the number does not match" ||
  fail "lock refused: $(grep -oE 'class="alert"[^<]*<[^<]*' "$TMP/body")"
check "the citizen still active after refused locks" "$(person_field "$CIT_UID" status)" active
counter_post t /counter/lock --data-urlencode "uid=$CIT_UID" --data-urlencode "id_number=$CIT_ID"
check "lock" "$STATUS" 200
grep -q '<p class="notice" role="status">账号已锁定' "$TMP/body" && ! grep -q 'role="alert"' "$TMP/body" &&
  ok "lock: the page says so in a notice" ||
  fail "lock: no notice, or an alert: $(grep -oE 'class="(notice|alert)"[^<]*' "$TMP/body")"
grep -q '账号状态</span>：已锁定</li>' "$TMP/body" && ok "lock: the page shows the account as 已锁定" ||
  fail "status after lock: $(grep -o '账号状态</span>[^<]*' "$TMP/body")"
check "the citizen locked" "$(person_field "$CIT_UID" status)" locked
req d GET /account
[[ $STATUS == 302 || $STATUS == 303 ]] && ok "the citizen's session ended by the lock ($STATUS)" ||
  fail "the citizen's session after the lock: $STATUS"
login_to f "$CIT_ID" "$CIT_PW" /account
[[ $STATUS != 303 ]] && ok "the locked citizen's login refused ($STATUS)" ||
  fail "the locked citizen logged in: $STATUS '$LOCATION'"
counter_post t /counter/lock --data-urlencode "uid=$STAFF_UID" --data-urlencode "id_number=$STAFF_ID"
check "a staff member cannot lock themselves" "$STATUS" 400

# ---- a deregistered account: shown without forms, verify and lock refused (not a 500)
counter_post t /counter/search --data-urlencode "id_number=$GONE_ID"
check "search for a deregistered account" "$STATUS" 200
grep -q '账号状态</span>：已注销</li>' "$TMP/body" && ! grep -q 'action="/counter/lock"' "$TMP/body" &&
  ! grep -q 'action="/counter/verify"' "$TMP/body" && grep -q '该账号已注销' "$TMP/body" &&
  ok "a deregistered account: shown as 已注销, without the verify and lock forms" ||
  fail "deregistered account page: $(grep -o '账号状态</span>[^<]*' "$TMP/body")"
counter_post t /counter/verify --data-urlencode "uid=$GONE_UID" --data-urlencode doc=id_card \
  --data-urlencode "id_number=$GONE_ID"
check "verify of a deregistered account" "$STATUS" 400
grep -q 'role="alert"' "$TMP/body" && grep -q '该账号已注销' "$TMP/body" &&
  ok "verify refused: the page says the account is deregistered" ||
  fail "verify of a deregistered account: $(grep -oE 'class="alert"[^<]*' "$TMP/body")"
counter_post t /counter/lock --data-urlencode "uid=$GONE_UID" --data-urlencode "id_number=$GONE_ID"
check "lock of a deregistered account" "$STATUS" 400
check "the deregistered account unchanged" "$(person_field "$GONE_UID" status)|$(person_field "$GONE_UID" loa)" \
  "deregistered|1"

# ---- a new password login in the staff member's browser is a new login: its level
# (waiting for the TOTP step), not the LoA 3 the session had from the earlier TOTP
login_to t "$STAFF_ID" "$STAFF_PW" /counter
[[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] || fail "staff password login again: $STATUS '$LOCATION'"
req t GET /counter
[[ $STATUS == 302 && $LOCATION == /login/totp\?* ]] &&
  ok "a password login again: the session waits for the TOTP step, not at the earlier LoA 3" ||
  fail "staff session after a password login again: /counter $STATUS '$LOCATION'"

# ---- the audit trail
check "counter.search audited with the staff member as actor" \
  "$(audit_count counter.search "\"actor\":\"user:$STAFF_UID\"" "\"unit\":\"综合受理窗口\"" \
  "\"org\":\"$GOV_UID\"")" 4
check "counter.verify audited" "$(audit_count counter.verify "\"actor\":\"user:$STAFF_UID\"" \
  "\"person\":\"$CIT_UID\"" '"applied"')" 1
check "counter.lock audited" "$(audit_count counter.lock "\"actor\":\"user:$STAFF_UID\"" \
  "\"person\":\"$CIT_UID\"" '"sessions_ended"')" 1
check "refused verifications (ID number typed again not matching) audited" \
  "$(audit_count counter.verify "\"person\":\"$CIT_UID\"" '"refused":"id_number_mismatch"')" 2
check "refused locks (no or another ID number) audited" \
  "$(audit_count counter.lock "\"person\":\"$CIT_UID\"" '"refused":"id_number_mismatch"')" 2
check "verify and lock of the deregistered account audited as refused" \
  "$(audit_count counter.verify "\"person\":\"$GONE_UID\"" '"refused":"deregistered"')|$(audit_count \
  counter.lock "\"person\":\"$GONE_UID\"" '"refused":"deregistered"')" "1|1"
for idn in "$CIT_ID" "$STAFF_ID" "$OTHER_ID" "$GONE_ID"; do
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
echo "counter: all checks passed"
