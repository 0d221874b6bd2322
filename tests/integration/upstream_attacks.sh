#!/usr/bin/env bash
# What a hostile or broken OpenID Connect upstream sends, and what the city does with it
# (docs/federation.md): a stand-in provider (oidc_stub.py) forges the ID token of each
# case, and every one ends on a page for the person, a login.failure audit line naming
# the reason, and no session: a nonce of another login, a token for another audience,
# from another issuer, signed by a key not in the upstream's JWKS (after the one JWKS
# refetch an unknown kid earns), alg none, expired, an ID number failing its check
# digit, and a subject already linked to one person coming back with another person's ID
# number (also audited as upstream.conflict), a person whose account is locked. A good
# token logs in at the mapped level;
# an acr the mapping does not know gets loa, however high it sounds. A staff member's
# upstream login waits for the TOTP step, and is refused under login.staff_methods =
# cert, where a session already waiting is not lifted either.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd

make_tmp upattacks
PID= SPID= LPID=
PIDS_TO_STOP="PID SPID LPID"
LOGS="authd stub"
PORT=$(free_port)
SP=$(free_port)
LP=$(free_port)
S=$TMP/state
BASE=http://127.0.0.1:$PORT
STUB=http://127.0.0.1:$SP
ID=$(id_number 11010519491231002)
OTHER=$(id_number 11010519500101003)
if [[ ${ID:17:1} == 0 ]]; then BADID=${ID:0:17}1; else BADID=${ID:0:17}0; fi

printf 'ok\n' >"$TMP/mode"
: >"$TMP/requests"
"$PY" "$(dirname "$0")/oidc_stub.py" "$SP" "$TMP/mode" "$TMP/requests" "$ID" "$BADID" \
  "$OTHER" city 2>>"$TMP/stub.log" &
SPID=$!
wait_ready "$STUB/.well-known/openid-configuration" "$SPID" || die "the stand-in did not start"

cat >"$TMP/authd.conf" <<EOC
state_dir = $S
http.listen = 127.0.0.1:$PORT
upstream.prov.kind = oidc
upstream.prov.display_name = 省平台
upstream.prov.issuer = $STUB
upstream.prov.client_id = city
upstream.prov.client_secret = s3cret
upstream.prov.algs = ES256
upstream.prov.map.id_number = yh_id_number
upstream.prov.map.name = name
upstream.prov.loa = 1
upstream.prov.acr_map = urn:prov:l3=2
upstream.prov.map.user_type = user_type
upstream.prov.map.uscc = uscc
upstream.late.kind = oidc
upstream.late.display_name = 晚到平台
upstream.late.issuer = http://127.0.0.1:$LP
upstream.late.client_id = city
upstream.late.client_secret = s3cret
upstream.late.map.id_number = yh_id_number
EOC
mkdir -p "$S"
"$AUTHD" -c "$TMP/authd.conf" 2>>"$TMP/authd.log" &
PID=$!
wait_ready "$BASE/healthz" "$PID" || die "authd did not start"
T0=$(date +%s)
printf '%s\n' 'Chang Cheng 1987!' | ctl user add --id-number "$ID" --name 王小明 \
  --password-stdin >/dev/null || die "user add"
printf '%s\n' 'Chang Cheng 1987!' | ctl user add --id-number "$OTHER" --name 李四 \
  --password-stdin >/dev/null || die "user add other"

# round MODE: a login through the stand-in answering MODE, in a fresh browser; STATUS,
# LOCATION and BODY of the city's callback.
round() {
  printf '%s\n' "$1" >"$TMP/mode"
  rm -f "$TMP/b.jar"
  req b GET "/login/upstream/prov?next=%2Faccount"
  [[ $STATUS == 303 && $LOCATION == "$STUB/authorize?"* ]] ||
    { fail "$1: no redirect upstream: $STATUS '$LOCATION'"; return 1; }
  fetch "$LOCATION"
  [[ $STATUS == 302 && $LOCATION == "$BASE/login/upstream/prov/callback?"* ]] ||
    { fail "$1: the stand-in did not send the browser back: $STATUS"; return 1; }
  req b GET "$LOCATION"
}

# refused MODE REASON WHAT: round MODE ends on a 403 page, with no session and a
# login.failure line with REASON.
refused() {
  local before
  before=$(audit_count login.failure "\"reason\":\"$2\"")
  round "$1" || return
  if [[ $STATUS == 403 && $CTYPE == text/html* && -z $(jar_value b yh_sid) &&
        $(audit_count login.failure "\"reason\":\"$2\"") -gt $before ]]; then
    ok "$3"
  else
    fail "$3: $STATUS, yh_sid '$(jar_value b yh_sid)', audit $(audit_count login.failure "\"reason\":\"$2\"")"
  fi
}

round ok
[[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value b yh_sid) ]] &&
  ok "a good token logs in" || fail "good token: $STATUS '$LOCATION'"
[[ $(audit_count login.success '"method":"fed"' '"loa":2' '"acr":"urn:prov:l3"') == 1 ]] &&
  ok "at the level acr_map gives its acr" || fail "success line: $(grep login.success "$S/audit.log")"

refused nonce token "a nonce of another login is refused"
refused aud token "a token for another audience is refused"
refused iss token "a token from another issuer is refused"
# a back-channel logout for an upstream not yet reached: 503 (the upstream retries it),
# not 400 (which would tell it the logout failed for good)
fetch "$BASE/login/upstream/late/backchannel-logout" -X POST --data-urlencode "logout_token=a.b.c"
[[ $STATUS == 503 ]] && ok "a logout token while the upstream's keys are out of reach: 503" ||
  fail "logout token before discovery: $STATUS $BODY"
# an upstream down at start: no button; once it answers, a login page starts a retry
# (at most every 10 s) and the button comes
req b GET '/login?next=%2Faccount'
! grep -q '/login/upstream/late' "$TMP/body" && grep -q '/login/upstream/prov' "$TMP/body" &&
  ok "an upstream down at start has no button" || fail "button of the late upstream"
"$PY" "$(dirname "$0")/oidc_stub.py" "$LP" "$TMP/mode" "$TMP/late-requests" "$ID" "$BADID" \
  "$OTHER" city 2>>"$TMP/stub.log" &
LPID=$!
wait_ready "http://127.0.0.1:$LP/jwks" "$LPID" || die "the late stand-in did not start"
# the JWKS was fetched at start: a refetch waits FED_OIDC_JWKS_RETRY_S (10 s) after it
while (( $(date +%s) - T0 < 12 )); do sleep 0.5; done
for _ in $(seq 1 100); do
  req b GET '/login?next=%2Faccount'
  grep -q '/login/upstream/late' "$TMP/body" && break
  sleep 0.1
done
grep -q '使用 晚到平台 登录' "$TMP/body" && ok "its button comes once its discovery works" ||
  fail "no button for the late upstream after it came up"
JW=$(grep -c '"path": "/jwks"' "$TMP/requests")
refused key token "a token signed by a key not in the JWKS is refused"
[[ $(grep -c '"path": "/jwks"' "$TMP/requests") == $((JW + 1)) ]] &&
  ok "an unknown kid refetches the JWKS once" || fail "JWKS fetches: $JW -> $(grep -c '"path": "/jwks"' "$TMP/requests")"
refused key token "a second unknown kid at once is refused without a refetch"
[[ $(grep -c '"path": "/jwks"' "$TMP/requests") == $((JW + 1)) ]] &&
  ok "the JWKS refetch is rate-limited" || fail "JWKS refetched again"
refused none token "alg none is refused"
refused expired token "an expired token is refused"
refused badid bad_id_number "an ID number failing its check digit is refused"
refused conflict conflict "a linked subject with another person's ID number is refused"
[[ $(audit_count upstream.conflict '"sub":"u1"') == 1 ]] && ok "the conflict is audited" ||
  fail "no upstream.conflict line"
grep -q '"detail":"signed by a key not in the upstream' "$S/audit.log" &&
  ok "the audit line says why a token was refused" || fail "no detail in the audit line"

ctl user lock "$ID" >/dev/null || fail "user lock"
refused ok inactive "a locked person does not log in through the upstream"
ctl user unlock "$ID" >/dev/null || fail "user unlock"

round acr
[[ $STATUS == 303 && $(audit_count login.success '"method":"fed"' '"loa":1' '"acr":"urn:prov:l9"') == 1 ]] &&
  ok "an acr not in acr_map gets loa, not more" || fail "unmapped acr: $STATUS"

# ---- a legal-person login lands acting for the organization (yh_org)
ENT=91350100123456788Q
CB=http://127.0.0.1:9/cb
ctl org add --uscc "$ENT" --name 星海贸易有限公司 --legal-rep "$ID" >/dev/null || fail "org add"
ctl client add orgapp --public --redirect-uri "$CB" --scope openid org >/dev/null ||
  fail "client add orgapp"
for _ in $(seq 1 40); do   # authd picks the new app up
  req - GET "/authorize?client_id=orgapp&response_type=code&redirect_uri=$(enc "$CB")&scope=openid"
  [[ $STATUS == 302 ]] && break
  sleep 0.1
done
VERIFIER=$(openssl rand -hex 32)
CH=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')
AZ="/authorize?response_type=code&client_id=orgapp&scope=openid%20org&redirect_uri=$(enc "$CB")&state=s1&nonce=n1&code_challenge=$CH&code_challenge_method=S256"
printf 'org\n' >"$TMP/mode"
rm -f "$TMP/b.jar"
req b GET "/login/upstream/prov?next=$(enc "$AZ")"
fetch "$LOCATION"
req b GET "$LOCATION"
[[ $STATUS == 303 && $LOCATION == /authorize\?*"org_hint=$ENT"* ]] &&
  ok "a legal-person login resumes /authorize with its credit code as org_hint" ||
  fail "legal person: $STATUS '$LOCATION'"
req b GET "$LOCATION"
if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
  consent_allow b
  req b GET "$LOCATION"
fi
CODE=$(qparam "$LOCATION" code)
curl -s -o "$TMP/tok.json" -d grant_type=authorization_code -d client_id=orgapp \
  --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
  --data-urlencode "code_verifier=$VERIFIER" "$BASE/token"
IDT=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("id_token",""))' "$TMP/tok.json" 2>/dev/null)
[[ $(jwt_claim "$IDT" yh_org) == *"$ENT"* ]] && ok "the app's token acts for the organization (yh_org)" ||
  fail "no yh_org: $(jwt_claim "$IDT" yh_org) $(cat "$TMP/tok.json" | head -c 200)"
refused badorg bad_uscc "a legal-person login with a bad credit code is refused"

# ---- the upstream's back-channel logout naming only its session (sid, no sub): every
# local session opened through that upstream session ends, not only the first
round ok
cp "$TMP/b.jar" "$TMP/b1.jar"
round ok
req b1 GET /account
s1=$STATUS
req b GET /account
[[ $s1 == 200 && $STATUS == 200 ]] || fail "two sessions through the upstream session ps1: $s1 $STATUS"
fetch "$STUB/logout-token?sid=ps1"
LT=$BODY
fetch "$BASE/login/upstream/prov/backchannel-logout" -X POST --data-urlencode "logout_token=$LT"
# (the earlier rounds' sessions came through ps1 too: at least these two end)
ended=$(grep -F '"event":"logout.upstream"' "$S/audit.log" | grep -F '"sid":"ps1"' | tail -1 |
  grep -oE '"ended":[0-9]+' | cut -d: -f2)
[[ $STATUS == 200 && ${ended:-0} -ge 2 ]] &&
  ok "a logout naming only the upstream session: 200, every local session of it ended ($ended)" ||
  fail "sid-only logout: $STATUS $(grep logout.upstream "$S/audit.log" | tail -1)"
req b1 GET /account
s1=$STATUS
req b GET /account
[[ $s1 == 30[23] && $STATUS == 30[23] ]] && ok "... and neither browser is logged in" ||
  fail "after the sid-only logout: $s1 $STATUS"
# the same logout token again ends nothing, not even a session opened since
round ok
fetch "$BASE/login/upstream/prov/backchannel-logout" -X POST --data-urlencode "logout_token=$LT"
[[ $STATUS == 200 && $(audit_count logout.upstream '"result":"replayed"' '"sid":"ps1"') == 1 ]] &&
  ok "a logout token sent again: 200, audited as replayed" ||
  fail "replayed logout token: $STATUS $(grep logout.upstream "$S/audit.log" | tail -1)"
req b GET /account
[[ $STATUS == 200 ]] && ok "... and the session opened since the first is not ended" ||
  fail "session after a replayed logout token: $STATUS"
# a subject over 255 bytes is no subject (cut, two would be one person)
refused long token "a subject longer than 255 bytes is refused"

# ---- staff: the second factor after an upstream login, as after a password; with
# login.staff_methods = cert the upstream login is refused, and a session already waiting
# for the second factor is not lifted by a TOTP code
round ok
[[ $STATUS == 303 ]] || fail "login before the TOTP enrolment: $STATUS"
enrol b me || fail "TOTP enrolment"
GOV=11350100003000014R
ctl user verify "$ID" --loa 2 --by registry --evidence "registry check" >/dev/null ||
  fail "user verify"
ctl org add --uscc "$GOV" --name 某市政务服务中心 >/dev/null || fail "org add (agency)"
ctl staff add --id-number "$ID" --org "$GOV" --unit 数据管理科 >/dev/null || fail "staff add"
round ok
[[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] &&
  ok "a staff member's upstream login waits for the TOTP step" ||
  fail "staff upstream login: $STATUS '$LOCATION'"
cp "$TMP/b.jar" "$TMP/w.jar"
printf 'login.staff_methods = cert\n' >>"$TMP/authd.conf"
hup_and_wait "$(wc -l <"$TMP/authd.log")"
req w GET "/login/totp?next=%2Faccount"
[[ $STATUS == 403 && $BODY == *须使用数字证书* ]] &&
  ok "staff_methods = cert: a session waiting for the TOTP step is not lifted" ||
  fail "waiting staff session under cert: $STATUS"
refused ok staff_certificate_required "staff_methods = cert: a staff member's upstream login is refused"
grep -q '须使用数字证书' "$TMP/body" && ok "the refusal says staff must use their certificate" ||
  fail "refusal page: $(grep -o '<p[^>]*>[^<]*' "$TMP/body" | head -3)"

kill -0 "$PID" 2>/dev/null && ok "authd still runs" || fail "authd died"
if ((FAILS)); then show_logs; echo "$FAILS check(s) failed"; exit 1; fi
echo "all checks passed"
