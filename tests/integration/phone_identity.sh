#!/usr/bin/env bash
# A phone number is a login identifier only once verified, against a real authd driven
# by curl (cookie jars as browsers):
#
#  - an operator adds the owner of 13800138000 (authctl: verified); someone registers a
#    second account through the form with the owner's number in another spelling;
#  - the owner still logs in with the number (not refused as ambiguous), the registrant
#    does not (the same words as a wrong password), and logs in with the ID number;
#  - an app with the phone scope receives the registrant's number with
#    phone_number_verified false (ID token and /userinfo), the owner's with true;
#  - a lone self-registered number is no identifier until an operator vouches for it
#    (authctl user phone USER --phone-verified yes), then it is.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp phone
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ISSUER=$BASE
S=$TMP/state
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
OWNER_ID=$(id_number 11010119800101123)
OWNER_PW='Owner of the phone 1!'
COPIER_ID=$(id_number 11010119910202234)
COPIER_PW='Copied a phone 2026!'
LONE_ID=$(id_number 11010119920303345)
LONE_PW='Lone self signup 2026!'

# register JAR ID PHONE PASSWORD: the registration form.
register() {
  local tok
  req "$1" GET '/register?next=%2Faccount'
  tok=$(form_value csrf)
  reg_consent
  req "$1" POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "name=注册人" --data-urlencode "id_number=$2" \
    --data-urlencode "phone=$3" --data-urlencode "password=$4" --data-urlencode "password2=$4" \
    "${REG_CONSENT[@]}"
}
logged_in() { [[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value "$1" yh_sid) ]]; }
# phone_claims JAR: a code for app1 with scope openid phone, redeemed; sets IDT_PHONE,
# IDT_VERIFIED (from the ID token), UI_PHONE, UI_VERIFIED (from /userinfo).
phone_claims() {
  local at
  IDT_PHONE= IDT_VERIFIED= UI_PHONE= UI_VERIFIED=
  authorize_code "$1" "openid%20phone" || return 1
  curl -s --max-time 30 -o "$TMP/tok.json" -d grant_type=authorization_code -d client_id=app1 \
    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$ISSUER/token"
  IDT=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("id_token",""))' "$TMP/tok.json")
  at=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("access_token",""))' "$TMP/tok.json")
  [[ -n $IDT && -n $at ]] || { fail "/token: $(cat "$TMP/tok.json")"; return 1; }
  IDT_PHONE=$(jwt_claim "$IDT" phone_number)
  IDT_VERIFIED=$(jwt_claim "$IDT" phone_number_verified)
  curl -s --max-time 30 -o "$TMP/ui.json" -H "Authorization: Bearer $at" "$ISSUER/userinfo"
  UI_PHONE=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("phone_number",""))' "$TMP/ui.json")
  UI_VERIFIED=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("phone_number_verified",""))' "$TMP/ui.json")
}

start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile phone \
  --name "App One"
printf '%s\n' "$OWNER_PW" | ctl_or_die user add --id-number "$OWNER_ID" --name 机主 \
  --phone 13800138000 --password-stdin
start_authd

# ---- someone registers with the owner's number
register r "$COPIER_ID" '+86 138 0013 8000' "$COPIER_PW"
[[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "registration with the owner's number accepted" ||
  fail "registration: $STATUS"

# ---- the owner's login by phone keeps working
login_form o 13800138000 "$OWNER_PW"
logged_in o && ok "the owner logs in with the phone after the copy" ||
  fail "the owner's phone login: $STATUS '$LOCATION'$( [[ $BODY == *'账号或密码不正确'* ]] && echo ' (refused)')"
[[ $(audit_count login.failure '"reason":"ambiguous"') == 0 ]] &&
  ok "no login refused as ambiguous" || fail "a login was refused as ambiguous"

# ---- the registrant: not by the copied phone, by the ID number
login_form c 13800138000 "$COPIER_PW"
[[ $STATUS == 200 && $BODY == *'账号或密码不正确'* && -z $(jar_value c yh_sid) ]] &&
  ok "the copied (unverified) phone does not log the registrant in" ||
  fail "the registrant's phone login: $STATUS '$LOCATION'"
login_form c "$COPIER_ID" "$COPIER_PW"
logged_in c && ok "the registrant logs in with the ID number" || fail "registrant login: $STATUS"

# ---- what an app with the phone scope receives
if phone_claims c; then
  [[ $IDT_PHONE == 13800138000 && $IDT_VERIFIED == False ]] &&
    ok "ID token: the registrant's phone_number with phone_number_verified false" ||
    fail "ID token: phone_number '$IDT_PHONE' phone_number_verified '$IDT_VERIFIED'"
  [[ $UI_PHONE == 13800138000 && $UI_VERIFIED == False ]] &&
    ok "userinfo: the registrant's phone_number with phone_number_verified false" ||
    fail "userinfo: $(cat "$TMP/ui.json")"
fi
if phone_claims o; then
  [[ $IDT_PHONE == 13800138000 && $IDT_VERIFIED == True && $UI_VERIFIED == True ]] &&
    ok "the owner's phone_number comes with phone_number_verified true" ||
    fail "owner: ID token '$IDT_PHONE' '$IDT_VERIFIED', userinfo $(cat "$TMP/ui.json")"
fi
curl -s "$ISSUER/.well-known/openid-configuration" | grep -q '"phone_number_verified"' &&
  ok "discovery lists phone_number_verified" || fail "discovery lacks phone_number_verified"

# ---- a lone self-registered number: an identifier once an operator vouches for it
register l "$LONE_ID" 13900139000 "$LONE_PW"
[[ $STATUS == 200 ]] || fail "registration 2: $STATUS"
login_form l 13900139000 "$LONE_PW"
[[ $STATUS == 200 && -z $(jar_value l yh_sid) ]] && ok "a self-registered phone does not log in" ||
  fail "unverified lone phone: $STATUS '$LOCATION'"
ctl user show "$LONE_ID" >"$TMP/show.json" || fail "authctl user show"
grep -q '"phone_verified":false' "$TMP/show.json" && ok "authctl user show: phone_verified false" ||
  fail "authctl user show: $(cat "$TMP/show.json")"
ctl user phone "$LONE_ID" --phone-verified yes >/dev/null || fail "authctl user phone"
login_form l 13900139000 "$LONE_PW"
logged_in l && ok "after authctl user phone --phone-verified yes the phone logs in" ||
  fail "verified lone phone: $STATUS '$LOCATION'"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "phone_identity: all checks passed"
