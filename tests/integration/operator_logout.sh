#!/usr/bin/env bash
# An operator ends a person's sessions through authd's control socket (authd/control/control.h):
# a person logs in through the real /login form (curl with a cookie jar), a public app
# (PKCE S256) gets a code so the session records it; `authctl user logout UID` ends the
# session (ended 1), authd POSTs a logout token to the app's back-channel receiver (a
# small python3 stdlib server; the token verified by `authctl jwt verify --kind logout`
# against /jwks, typ logout+jwt, sid the session's), the cookie no longer opens /account,
# and the audit trail has the operator's session.end. `user lock` ends a fresh session the
# same way, and revokes the person's offline refresh family too (a refresh and
# introspection of its tokens fail, as they do for a person locked in the directory
# behind authd's back). The socket is 0600, another uid is refused (by the file mode, and by the
# SO_PEERCRED check once the mode is loosened: needs root and setpriv, else skipped), a
# stale socket is removed at start, a second authd on the same state directory leaves
# the live socket alone, and with authd stopped the socket is gone and `user logout`
# says there are no live sessions (exit 0).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
# lib.sh's PY: the system python3 when there is one (nobody must be able to run it).
command -v "$PY" >/dev/null || { echo "FAIL: python3 not installed"; exit 1; }

make_tmp oplogout
PID= PID2= RPID=
PIDS_TO_STOP="PID PID2 RPID"
LOGS="authd authd2 receiver ctl"
HTTP_MAX_TIME=15

PORT=$(free_port)
RPORT=$(free_port)
ISSUER=http://127.0.0.1:$PORT
BASE=$ISSUER
S=$TMP/state
SOCK=$S/authd.sock
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
ID=11010519491231002X
PW='Operator Logout 2026!'

# ---- the back-channel receiver: each POST body one line of bodies.txt
start_receiver "$RPORT" "$TMP/bodies.txt"
: >"$TMP/authd2.log"

# ---- authd
# ---- HTTP as a browser: one cookie jar, "jar" (lib.sh's req jar METHOD PATH)
# jget differs from two_nodes.sh's: a missing key prints nothing, null prints "null".
jget() {  # jget JSON KEY: a top-level value (null prints "null")
  "$PY" -c 'import sys,json;v=json.loads(sys.argv[1])[sys.argv[2]];print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2" 2>/dev/null
}
# control REQUEST_JSON: one request on the control socket; prints the answer line.
control() {
  "$PY" - "$SOCK" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect: " + e.strerror)
    sys.exit(0)
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
EOF
}

# login: the real form (GET /login?next=/account, csrf, POST); the session in the jar.
login() {
  rm -f "$TMP/jar.jar"
  req jar GET '/login?next=%2Faccount'
  local tok
  tok=$(form_value csrf)
  [[ $STATUS == 200 && -n $tok ]] || { fail "GET /login: $STATUS, csrf '$tok'"; return 1; }
  req jar POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "username=$ID" --data-urlencode "password=$PW"
  [[ $STATUS == 303 && $LOCATION == /account* ]] || { fail "POST /login: $STATUS '$LOCATION'"; return 1; }
  SID_COOKIE=$(jar_value jar yh_sid)
  [[ -n $SID_COOKIE ]] || { fail "no yh_sid cookie after login"; return 1; }
}
# code: /authorize for the public app with PKCE S256 and the session (consent on the
# first time); ends with CODE set, so the session records app1.
code() { authorize_code jar "openid%20profile"; }
# offline: a code for the confidential app "off" with offline_access, redeemed; sets RT
# and AT (an offline refresh family outlives the session).
offline() {
  authorize_code jar "openid%20profile%20offline_access" off || return 1
  curl -s --max-time 10 -o "$TMP/off.json" -u "off:$OFFSECRET" -d grant_type=authorization_code \
    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$BASE/token"
  RT=$(jget "$(cat "$TMP/off.json")" refresh_token)
  AT=$(jget "$(cat "$TMP/off.json")" access_token)
  [[ -n $RT && $RT != null && -n $AT ]] || { fail "no offline tokens: $(cat "$TMP/off.json")"; return 1; }
}
# refresh_off SCOPE: a refresh of RT by "off" asking SCOPE; prints STATUS and error.
refresh_off() {
  local st
  st=$(curl -s --max-time 10 -o "$TMP/ref.json" -w '%{http_code}' -u "off:$OFFSECRET" \
    -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" --data-urlencode "scope=$1" \
    "$BASE/token")
  echo "$st $(jget "$(cat "$TMP/ref.json")" error)"
}
# active TOKEN: what /introspect says of TOKEN to "off" (true or false).
active() {
  curl -s --max-time 10 -u "off:$OFFSECRET" --data-urlencode "token=$1" "$BASE/introspect" |
    "$PY" -c 'import sys,json;print(str(json.load(sys.stdin)["active"]).lower())' 2>/dev/null
}
# account_with COOKIE: STATUS/LOCATION of GET /account with only that session cookie.
account_with() { req - GET /account -H "Cookie: yh_sid=$1"; }
# check_token N SID: the Nth body is a logout token for app1 about session SID.
check_token() {
  local body tok claims
  body=$(sed -n "${1}p" "$TMP/bodies.txt")
  tok=$(qparam "http://x/?$body" logout_token)
  [[ -n $tok ]] || { fail "body $1 has no logout_token: '$body'"; return 1; }
  [[ $(jwt_part "$tok" 0 typ) == logout+jwt ]] || fail "logout token $1: typ '$(jwt_part "$tok" 0 typ)'"
  curl -s --max-time 10 "$ISSUER/jwks" >"$TMP/jwks.json"
  if claims=$(printf '%s' "$tok" | "$AUTHCTL" jwt verify --jwks "$TMP/jwks.json" --kind logout \
      --iss "$ISSUER" --aud app1 2>>"$TMP/ctl.log"); then
    ok "logout token $1 verifies against /jwks (kind logout, iss, aud app1)"
  else
    fail "logout token $1 does not verify: $(tail -1 "$TMP/ctl.log")"
  fi
  [[ $(jget "$claims" sid) == "$2" ]] && ok "logout token $1 names the session (sid)" ||
    fail "logout token $1: sid '$(jget "$claims" sid)', the session's '$2'"
}
# session_sid UID: the sid of the person's only session, from list_sessions; checks it
# recorded app1.
session_sid() {
  local a
  a=$(control "{\"cmd\":\"list_sessions\",\"uid\":\"$1\"}")
  "$PY" -c '
import json,sys
a = json.loads(sys.argv[1])
s = a["sessions"]
assert a["ok"] and len(s) == 1 and s[0]["clients"] == ["app1"], a
print(s[0]["sid"])' "$a" 2>/dev/null || { fail "list_sessions: $a"; return 1; }
}

# ---- set-up: the state (first start creates it), the app, the person
start_authd_socket
stop_authd || die "authd did not stop cleanly"
[[ ! -e $SOCK ]] && ok "the socket is removed at exit" || fail "the socket is left after exit"
ctl client add app1 --public --redirect-uri "$CB" --scope openid profile \
  --backchannel-logout-uri "http://127.0.0.1:$RPORT/bcl" --name "App One" >>"$TMP/ctl.log" ||
  die "authctl client add"
USER_ID=$(printf '%s\n' "$PW" | ctl user add --id-number "$ID" --name 王小明 --password-stdin) ||
  die "authctl user add"
OFFSECRET=$(openssl rand -hex 16)
ctl client add off --secret "$OFFSECRET" --redirect-uri "$CB" --scope openid profile offline_access \
  --name "Offline App" >>"$TMP/ctl.log" || die "authctl client add off"

# A stale socket (its process gone) does not stop authd.
"$PY" -c 'import socket,sys;s=socket.socket(socket.AF_UNIX);s.bind(sys.argv[1])' "$SOCK"
[[ -S $SOCK ]] || die "could not make a stale socket"
start_authd_socket
[[ $(control '{"cmd":"ping"}') == *'"ok":true'* ]] && ok "a stale socket is replaced; ping answers" ||
  fail "ping after a stale socket: $(control '{"cmd":"ping"}')"
grep -q "removed the stale socket" "$TMP/authd.log" && ok "the stale socket was noticed" ||
  fail "no log line about the stale socket"
mode=$(stat -c %a "$SOCK")
[[ $mode == 600 ]] && ok "the socket is mode 600" || fail "the socket is mode $mode"
[[ $(stat -c %a "$S") == 700 ]] && ok "the state directory is 700" ||
  fail "the state directory is $(stat -c %a "$S")"

# ---- user logout
login && code || die "no session with app1"
SID1=$(session_sid "$USER_ID") || die "no session listed"
account_with "$SID_COOKIE"
[[ $STATUS == 200 ]] || fail "/account with the session: $STATUS (expected 200)"
out=$(ctl user logout "$USER_ID")
rc=$?
[[ $rc == 0 && $(jget "$out" uid) == "$USER_ID" && $(jget "$out" ended) == 1 ]] &&
  ok "user logout: $out" || fail "user logout: exit $rc, '$out'"
wait_bodies 1 && ok "the app's receiver got a POST" || fail "no back-channel logout POST"
check_token 1 "$SID1"
account_with "$SID_COOKIE"
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "the ended session's cookie goes to /login" ||
  fail "/account with the ended session: $STATUS '$LOCATION'"
out=$(ctl user logout "$USER_ID")
[[ $(jget "$out" ended) == 0 ]] && ok "a second logout ends nothing" || fail "second logout: '$out'"
grep '"event":"session.end"' "$S/audit.log" | grep "\"actor\":\"operator:uid$(id -u)\"" |
  grep '"by":"operator"' | grep -q "\"uid\":\"$USER_ID\".*\"count\":1" &&
  ok "audit: session.end by the operator" || fail "no operator session.end in the audit log"

# ---- user lock ends a fresh session the same way
login && code || die "no second session"
SID2=$(session_sid "$USER_ID") || die "no second session listed"
[[ $SID2 != "$SID1" ]] || fail "the new session has the old sid"
offline || die "no offline tokens"
[[ $(active "$RT") == true && $(active "$AT") == true ]] || fail "offline tokens not active before the lock"
out=$(ctl user lock "$USER_ID")
rc=$?
[[ $rc == 0 && $(jget "$out" status) == locked && $(jget "$out" sessions_ended) == 1 ]] &&
  ok "user lock: $out" || fail "user lock: exit $rc, '$out'"
wait_bodies 2 && ok "the receiver got a second POST" || fail "no back-channel logout after lock"
check_token 2 "$SID2"
account_with "$SID_COOKIE"
[[ $STATUS == 30[23] && $LOCATION == /login* ]] && ok "the locked person's session is gone" ||
  fail "/account after lock: $STATUS '$LOCATION'"
grep '"event":"user.lock"' "$S/audit.log" | grep -q "\"uid\":\"$USER_ID\"" &&
  ok "audit: user.lock kept" || fail "no user.lock in the audit log"
grep '"event":"session.end"' "$S/audit.log" | grep -q '"reason":"lock".*"families":1' &&
  ok "audit: session.end for the lock, with the refresh family it revoked" ||
  fail "no session.end with reason lock and families 1"
# the offline family outlives sessions, not a lock: refreshes (whatever the scope) and
# introspection end with it
[[ $(refresh_off "offline_access profile") == "400 invalid_grant" ]] &&
  ok "after the lock the offline refresh token is refused (without openid too)" ||
  fail "refresh after the lock: $(cat "$TMP/ref.json")"
[[ $(active "$RT") == false && $(active "$AT") == false ]] &&
  ok "after the lock introspection says the offline tokens are not active" ||
  fail "introspection after the lock: RT $(active "$RT"), AT $(active "$AT")"
ctl user unlock "$USER_ID" >/dev/null || fail "user unlock"
# a status changed in the directory without authd hearing of it (another node, an LDAP
# source, an edit): a refresh asks the directory each time, and refuses
login && offline || die "no offline tokens after the unlock"
sqlite3 "$S/directory.db" "update person set status = 'locked' where uid = '$USER_ID'" ||
  fail "sqlite3 update"
[[ $(active "$RT") == false ]] && ok "a refresh token of a person locked in the directory: not active" ||
  fail "introspection of a locked person's refresh token: $(active "$RT")"
[[ $(refresh_off "offline_access") == "400 invalid_grant" ]] &&
  ok "a refresh for a person locked in the directory is refused" ||
  fail "refresh of a person locked in the directory: $(cat "$TMP/ref.json")"
ctl user unlock "$USER_ID" >/dev/null || fail "user unlock after the directory lock"
[[ $(refresh_off "offline_access") == "400 invalid_grant" ]] &&
  ok "... and its family stays revoked after an unlock" ||
  fail "refresh after unlock: $(cat "$TMP/ref.json")"
ctl user logout "$USER_ID" >/dev/null || fail "user logout after the directory lock"

# ---- bad requests get a JSON error, not a crash
a=$(control '{"cmd":"end_sessions","uid":"../../etc"}')
[[ $a == *'"ok":false'* ]] && ok "a bad uid is refused" || fail "bad uid: $a"
a=$(control 'not json')
[[ $a == *'"ok":false'* ]] && ok "a non-JSON line is refused" || fail "non-JSON: $a"
a=$(control "{\"cmd\":\"ping\",\"pad\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}")
[[ $a == *'too long'* ]] && ok "an over-long line is refused" || fail "over-long line: $a"

# ---- another uid
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null &&
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" -c pass 2>/dev/null; then
  as_nobody() {
    # as_nobody [DELAY]: ping as nobody, sending the line DELAY seconds after connecting.
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" - "$SOCK" "${1:-0}" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect: " + (e.strerror or str(e)))
    sys.exit(0)
time.sleep(float(sys.argv[2]))
s.sendall(b'{"cmd":"ping"}\n')
print(s.recv(4096).decode().strip())
EOF
  }
  a=$(as_nobody)
  [[ $a == *'ermission denied'* && $a != *'"ok":true'* ]] && ok "nobody cannot use the socket ($a)" ||
    fail "nobody: '$a'"
  # Loosened modes: the SO_PEERCRED check alone must refuse.
  chmod o+x "$TMP" "$S"
  chmod 666 "$SOCK"
  a=$(as_nobody)
  # The refusal is answered before the request line is read; a peer still sending
  # after it must get the answer, not a reset connection.
  b=$(as_nobody 0.3 2>&1)
  chmod 600 "$SOCK"
  chmod o-x "$TMP" "$S"
  [[ $a == '{"ok":false,"error":"permission denied"}' ]] && ok "the peer uid check refuses nobody" ||
    fail "peer uid check: '$a'"
  [[ $b == '{"ok":false,"error":"permission denied"}' ]] &&
    ok "a refused peer that sends late still reads the refusal" || fail "late sender: '$b'"
else
  echo "SKIP: another uid (needs root, setpriv and a python3 that nobody can run)"
fi

# ---- a second authd on the same state directory leaves the live socket alone
P2=$(free_port)
ino=$(stat -c %i "$SOCK")
"$AUTHD" -d "$S" -l "127.0.0.1:$P2" 2>>"$TMP/authd2.log" &
PID2=$!
wait_ready "http://127.0.0.1:$P2/healthz" "$PID2"
kill -0 "$PID2" 2>/dev/null && ok "a second authd starts beside the first" ||
  fail "the second authd did not start: $(tail -3 "$TMP/authd2.log")"
kill -TERM "$PID2"
wait "$PID2"
PID2=
[[ -S $SOCK && $(stat -c %i "$SOCK") == "$ino" ]] && ok "the first authd's socket is untouched" ||
  fail "the second authd replaced or removed the first's socket"
[[ $(control "{\"cmd\":\"list_sessions\",\"uid\":\"$USER_ID\"}") == '{"ok":true,"sessions":[]}' ]] &&
  ok "the first authd still answers" || fail "the first authd no longer answers"

# ---- authd stopped: no socket; logout says so and succeeds; lock reports null
kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
check_stop_authd
[[ ! -e $SOCK ]] && ok "the socket is removed at exit" || fail "the socket is left after exit"
out=$("$AUTHCTL" -d "$S" user logout "$USER_ID" 2>"$TMP/err")
rc=$?
[[ $rc == 0 && $(jget "$out" ended) == 0 ]] && grep -q "not running" "$TMP/err" &&
  ok "logout without authd: ended 0, '$(cat "$TMP/err")'" || fail "logout without authd: $rc '$out' '$(cat "$TMP/err")'"
out=$("$AUTHCTL" -d "$S" user lock "$USER_ID" 2>"$TMP/err")
rc=$?
[[ $rc == 0 && $(jget "$out" sessions_ended) == null && $(jget "$out" status) == locked ]] &&
  ok "lock without authd: sessions_ended null" || fail "lock without authd: $rc '$out' '$(cat "$TMP/err")'"

no_errors_in "authd logged errors:" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports:" "$TMP/authd.log" "$TMP/authd2.log" "$TMP/ctl.log"
if [[ $FAILS -ne 0 ]]; then
  show_logs
  exit 1
fi
exit 0
