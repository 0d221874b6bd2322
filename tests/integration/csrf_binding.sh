#!/usr/bin/env bash
# CSRF tokens of forms shown in a session are bound to that session, against a real
# authd driven by curl (cookie jars as browsers):
#
#  - an attacker logs in to their own account and takes the account page's token and
#    their yh_csrf cookie; with the victim's session cookie, the attacker's yh_csrf cookie
#    (planted) and that token, an account-page action (/account/totp/new, then
#    /account/session/end-others) is refused with 400 and changes nothing;
#  - the victim's own page works (303), so the check can fail;
#  - after the victim logs in again (the session id rotates) a token of the old session
#    is refused and the new page's token works;
#  - the consent form and the logout confirmation take the session's token only;
#  - the login form keeps its pre-session binding: a token of another browser's cookie
#    is refused there too.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp csrfbind
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
VICTIM_ID=$(id_number 11010119850505123)
VICTIM_PW='Victim password 2026!'
ATTACKER_ID=$(id_number 11010119860606234)
ATTACKER_PW='Attacker password 2026!'

# login JAR USER PASSWORD: lib.sh's login_form, which must succeed.
login() {
  login_form "$@"
  [[ $STATUS == 303 && $LOCATION == /account ]] || fail "login $2: $STATUS '$LOCATION'"
}
totp_rows() { "$PY" - "$S/directory.db" <<'EOF'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM totp").fetchone()[0])
EOF
}

start_authd
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile --name "App One"
printf '%s\n' "$VICTIM_PW" | ctl_or_die user add --id-number "$VICTIM_ID" --name 受害人 \
  --password-stdin
printf '%s\n' "$ATTACKER_PW" | ctl_or_die user add --id-number "$ATTACKER_ID" --name 攻击者 \
  --password-stdin
start_authd

# ---- the attacker's own page: a token and the yh_csrf cookie it was made for
login a "$ATTACKER_ID" "$ATTACKER_PW"
req a GET /account
ATOK=$(form_value csrf)
ACOOKIE=$(jar_value a yh_csrf)
[[ $STATUS == 200 && -n $ATOK && -n $ACOOKIE ]] || die "attacker's account page: $STATUS, token '$ATOK', cookie '$ACOOKIE'"

# ---- the victim's session, then the attack
login v "$VICTIM_ID" "$VICTIM_PW"
VSID=$(jar_value v yh_sid)
[[ -n $VSID ]] || die "no victim session"
T0=$(totp_rows)
req - POST /account/totp/new -H "Cookie: yh_sid=$VSID; yh_csrf=$ACOOKIE" \
  --data-urlencode "csrf=$ATOK"
[[ $STATUS == 400 ]] && ok "victim session + planted cookie and token: /account/totp/new 400" ||
  fail "victim session + planted cookie and token: /account/totp/new $STATUS '$LOCATION'"
[[ $(totp_rows) == "$T0" ]] && ok "no TOTP enrolment was started for the victim" ||
  fail "the attack started a TOTP enrolment"
req - POST /account/session/end-others -H "Cookie: yh_sid=$VSID; yh_csrf=$ACOOKIE" \
  --data-urlencode "csrf=$ATOK"
[[ $STATUS == 400 ]] && ok "victim session + planted cookie and token: end-others 400" ||
  fail "end-others with the attacker's token: $STATUS"
req - POST /account/totp/new -H "Cookie: yh_sid=$VSID" --data-urlencode "csrf=$ATOK"
[[ $STATUS == 400 ]] && ok "the attacker's token without the cookie: 400" ||
  fail "the attacker's token alone: $STATUS"

# ---- the victim's own form works
req v GET /account
VTOK=$(form_value csrf)
req v POST /account/totp/new --data-urlencode "csrf=$VTOK"
[[ $STATUS == 303 ]] && ok "the victim's own token: /account/totp/new 303" ||
  fail "the victim's own token: $STATUS"
# ---- after a new login (the session id rotates) the old session's token is dead
login v "$VICTIM_ID" "$VICTIM_PW"
[[ $(jar_value v yh_sid) != "$VSID" ]] || fail "the session id did not rotate"
req v POST /account/session/end-others --data-urlencode "csrf=$VTOK"
[[ $STATUS == 400 ]] && ok "a token of the session before the login: 400" ||
  fail "the rotated session accepted the old token: $STATUS"
req v GET /account
req v POST /account/session/end-others --data-urlencode "csrf=$(form_value csrf)"
[[ $STATUS == 303 ]] && ok "the new session's token: 303" || fail "the new session's token: $STATUS"

# ---- consent: the attacker's consent token is no good in the victim's session
authz="/authorize?response_type=code&client_id=app1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20profile&state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
req a GET "$authz"
[[ $STATUS == 302 && $LOCATION == /consent\?* ]] || fail "attacker /authorize: $STATUS '$LOCATION'"
req a GET "$LOCATION"
CTOK=$(form_value csrf)
CNEXT=$(form_value next)
req - POST /consent -H "Cookie: yh_sid=$(jar_value v yh_sid); yh_csrf=$ACOOKIE" \
  --data-urlencode "csrf=$CTOK" --data-urlencode "next=$CNEXT" --data-urlencode "action=allow"
[[ $STATUS == 400 ]] && ok "consent with the attacker's token in the victim's session: 400" ||
  fail "consent with the attacker's token: $STATUS '$LOCATION'"
req a POST /consent --data-urlencode "csrf=$CTOK" --data-urlencode "next=$CNEXT" \
  --data-urlencode "action=allow"
[[ $STATUS == 303 && $LOCATION == /authorize\?* ]] && ok "consent with its own session's token: 303" ||
  fail "the attacker's own consent: $STATUS '$LOCATION'"

# ---- the logout confirmation
req a GET '/logout?client_id=app1'
ALTOK=$(form_value csrf)
req v GET '/logout?client_id=app1'
LTOK=$(form_value csrf)
[[ $STATUS == 200 && -n $LTOK && -n $ALTOK ]] || fail "logout confirmation page: $STATUS"
req - POST /logout -H "Cookie: yh_sid=$(jar_value v yh_sid); yh_csrf=$ACOOKIE" \
  --data-urlencode "csrf=$ALTOK" --data-urlencode confirm=1 --data-urlencode client_id=app1
[[ $STATUS == 400 ]] && ok "logout with the attacker's token in the victim's session: 400" ||
  fail "logout with the attacker's token: $STATUS"
req v GET /account
[[ $STATUS == 200 ]] || fail "the victim's session did not survive the refused logout: $STATUS"
req v POST /logout --data-urlencode "csrf=$LTOK" --data-urlencode confirm=1 \
  --data-urlencode client_id=app1
[[ $STATUS == 200 ]] && ok "logout with the session's own token" || fail "logout: $STATUS"
req v GET /account
[[ $STATUS == 30[23] ]] && ok "logged out" || fail "still logged in after logout: $STATUS"

# ---- the login form keeps its pre-session binding
req x GET /login
XTOK=$(form_value csrf)
req y POST /login --data-urlencode "csrf=$XTOK" --data-urlencode "username=$VICTIM_ID" \
  --data-urlencode "password=$VICTIM_PW"
[[ $STATUS == 400 ]] && ok "login with another browser's token: 400" || fail "login CSRF: $STATUS"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "csrf_binding: all checks passed"
