#!/usr/bin/env bash
# An operator ends a person's sessions through authd's control socket (authd/control.h):
# a person logs in through the real /login form (curl with a cookie jar), a public app
# (PKCE S256) gets a code so the session records it; `authctl user logout UID` ends the
# session (ended 1), authd POSTs a logout token to the app's back-channel receiver (a
# small python3 stdlib server; the token verified by `authctl jwt verify --kind logout`
# against /jwks, typ logout+jwt, sid the session's), the cookie no longer opens /account,
# and the audit trail has the operator's session.end. `user lock` ends a fresh session the
# same way. The socket is 0600, another uid is refused (by the file mode, and by the
# SO_PEERCRED check once the mode is loosened: needs root and setpriv, else skipped), a
# stale socket is removed at start, a second authd on the same state directory leaves
# the live socket alone, and with authd stopped the socket is gone and `user logout`
# says there are no live sessions (exit 0).
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
YH_BUILD=$(cd "$YH_BUILD" && pwd) || exit 1
AUTHD=$YH_BUILD/authd/authd
AUTHCTL=$YH_BUILD/authd/authctl
[[ -x $AUTHD && -x $AUTHCTL ]] || { echo "FAIL: authd/authctl not built in $YH_BUILD"; exit 1; }
# The system python3 when there is one: a version manager's shim costs a second per call
# and another uid may not be able to run it.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3) || { echo "FAIL: python3 not installed"; exit 1; }

TMP=$(mktemp -d /tmp/yh-oplogout-XXXXXX)
PID= PID2= RPID=
stop_pid() {  # stop_pid PID: KILL and reap, if it still runs
  if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then kill -KILL "$1"; wait "$1" 2>/dev/null; fi
}
cleanup() {
  stop_pid "$PID"
  stop_pid "$PID2"
  stop_pid "$RPID"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
die() { echo "FAIL: $*"; show_logs; exit 1; }
show_logs() {
  for f in authd authd2 receiver ctl; do
    [[ -f $TMP/$f.log ]] && { echo "--- $f log (tail) ---"; tail -25 "$TMP/$f.log"; }
  done
}

free_port() {
  "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
PORT=$(free_port)
RPORT=$(free_port)
while [[ $RPORT == "$PORT" ]]; do RPORT=$(free_port); done
ISSUER=http://127.0.0.1:$PORT
S=$TMP/state
SOCK=$S/authd.sock
CB=http://127.0.0.1:9/cb          # nothing listens: the flow stops at the redirect
ID=11010519491231002X
PW='Operator Logout 2026!'

# ---- the back-channel receiver: appends each POST body as one line to bodies.txt
cat >"$TMP/receiver.py" <<'EOF'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 65536)).decode("ascii", "replace")
        with open(out, "a") as f:
            f.write(body.replace("\n", " ") + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
"$PY" "$TMP/receiver.py" "$RPORT" "$TMP/bodies.txt" >>"$TMP/receiver.log" 2>&1 &
RPID=$!
for _ in $(seq 1 200); do
  curl -s -o /dev/null "http://127.0.0.1:$RPORT/" && break
  sleep 0.05
done
curl -s -o /dev/null "http://127.0.0.1:$RPORT/" || die "the receiver did not start"
: >"$TMP/bodies.txt"
: >"$TMP/authd2.log"

# ---- authd
start_authd() {
  "$AUTHD" -d "$S" -l "127.0.0.1:$PORT" 2>>"$TMP/authd.log" &
  PID=$!
  for _ in $(seq 1 300); do
    if curl -s -o /dev/null --max-time 2 "$ISSUER/healthz"; then
      # The control socket comes just after the HTTP server.
      for _ in $(seq 1 100); do
        [[ -S $SOCK ]] && return 0
        sleep 0.02
      done
      die "authd serves HTTP but made no control socket $SOCK"
    fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  die "authd did not start"
}
stop_authd() {
  kill -TERM "$PID"
  wait "$PID"
  local rc=$?
  PID=
  return $rc
}
ctl() { "$AUTHCTL" -d "$S" "$@" 2>>"$TMP/ctl.log"; }

# ---- HTTP as a browser (one cookie jar)
# req METHOD PATH [curl args...]: STATUS, LOCATION, body in $TMP/body
req() {
  local method=$1 path=$2
  shift 2
  STATUS=$(curl -s --max-time 15 -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$method" \
    -b "$TMP/jar" -c "$TMP/jar" "$@" "$ISSUER$path")
  LOCATION=$(grep -i '^Location: ' "$TMP/headers" | tr -d '\r' | sed 's/^[Ll]ocation: //')
}
form_value() {  # form_value NAME: the value of the hidden input NAME in the last body
  grep -oE "name=\"$1\" value=\"[^\"]+\"" "$TMP/body" | head -1 | sed -E 's/.*value="([^"]+)"/\1/' |
    sed 's/&amp;/\&/g'
}
qparam() {  # qparam URL NAME
  "$PY" -c 'import sys,urllib.parse as u;q=u.parse_qs(u.urlsplit(sys.argv[1]).query);print(q.get(sys.argv[2],[""])[0])' "$1" "$2"
}
jget() {  # jget JSON KEY: a top-level value (null prints "null")
  "$PY" -c 'import sys,json;v=json.loads(sys.argv[1])[sys.argv[2]];print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2" 2>/dev/null
}
jwt_part() {  # jwt_part JWT 0|1 KEY: a member of the (unverified) header or payload
  "$PY" -c 'import sys,json,base64;p=sys.argv[1].split(".")[int(sys.argv[2])];p+="="*(-len(p)%4);print(json.loads(base64.urlsafe_b64decode(p)).get(sys.argv[3],""))' "$1" "$2" "$3" 2>/dev/null
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
  rm -f "$TMP/jar"
  req GET '/login?next=%2Faccount'
  local tok
  tok=$(form_value csrf)
  [[ $STATUS == 200 && -n $tok ]] || { fail "GET /login: $STATUS, csrf '$tok'"; return 1; }
  req POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "username=$ID" --data-urlencode "password=$PW"
  [[ $STATUS == 303 && $LOCATION == /account* ]] || { fail "POST /login: $STATUS '$LOCATION'"; return 1; }
  SID_COOKIE=$(awk '$6 == "yh_sid" { v = $7 } END { print v }' "$TMP/jar")
  [[ -n $SID_COOKIE ]] || { fail "no yh_sid cookie after login"; return 1; }
}
# code: /authorize for the public app with PKCE S256 and the session (consent on the
# first time); ends with CODE set, so the session records app1.
code() {
  local verifier challenge state next tok
  verifier=$(openssl rand -hex 32)
  challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | openssl base64 -A |
    tr '+/' '-_' | tr -d '=')
  state=$(openssl rand -hex 8)
  CODE=
  req GET "/authorize?response_type=code&client_id=app1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20profile&state=$state&nonce=n$state&code_challenge=$challenge&code_challenge_method=S256"
  if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
    req GET "$LOCATION"
    tok=$(form_value csrf)
    next=$(form_value next)
    req POST /consent --data-urlencode "csrf=$tok" --data-urlencode "next=$next" \
      --data-urlencode "action=allow"
    [[ $STATUS == 30[23] && $LOCATION == /authorize\?* ]] || { fail "consent: $STATUS '$LOCATION'"; return 1; }
    req GET "$LOCATION"
  fi
  if [[ $STATUS == 302 && $LOCATION == "$CB?"* && $(qparam "$LOCATION" state) == "$state" ]]; then
    CODE=$(qparam "$LOCATION" code)
  fi
  [[ -n $CODE ]] || { fail "/authorize gave no code: $STATUS '$LOCATION'"; return 1; }
}
# account_with COOKIE: STATUS/LOCATION of GET /account with only that session cookie.
account_with() {
  STATUS=$(curl -s --max-time 15 -o /dev/null -D "$TMP/headers" -w '%{http_code}' \
    -H "Cookie: yh_sid=$1" "$ISSUER/account")
  LOCATION=$(grep -i '^Location: ' "$TMP/headers" | tr -d '\r' | sed 's/^[Ll]ocation: //')
}
# wait_bodies N: waits (bounded) until the receiver has N bodies.
wait_bodies() {
  for _ in $(seq 1 300); do
    [[ $(wc -l <"$TMP/bodies.txt") -ge $1 ]] && return 0
    sleep 0.05
  done
  return 1
}
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
start_authd
stop_authd || die "authd did not stop cleanly"
[[ ! -e $SOCK ]] && ok "the socket is removed at exit" || fail "the socket is left after exit"
ctl client add app1 --public --redirect-uri "$CB" --scope openid profile \
  --backchannel-logout-uri "http://127.0.0.1:$RPORT/bcl" --name "App One" >>"$TMP/ctl.log" ||
  die "authctl client add"
USER_ID=$(printf '%s\n' "$PW" | ctl user add --id-number "$ID" --name 王小明 --password-stdin) ||
  die "authctl user add"

# A stale socket (its process gone) does not stop authd.
"$PY" -c 'import socket,sys;s=socket.socket(socket.AF_UNIX);s.bind(sys.argv[1])' "$SOCK"
[[ -S $SOCK ]] || die "could not make a stale socket"
start_authd
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
grep '"event":"session.end"' "$S/audit.log" | grep -q '"reason":"lock"' &&
  ok "audit: session.end for the lock" || fail "no session.end with reason lock"
ctl user unlock "$USER_ID" >/dev/null || fail "user unlock"

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
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect: " + (e.strerror or str(e)))
    sys.exit(0)
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
  chmod 600 "$SOCK"
  chmod o-x "$TMP" "$S"
  [[ $a == '{"ok":false,"error":"permission denied"}' ]] && ok "the peer uid check refuses nobody" ||
    fail "peer uid check: '$a'"
else
  echo "SKIP: another uid (needs root, setpriv and a python3 that nobody can run)"
fi

# ---- a second authd on the same state directory leaves the live socket alone
P2=$(free_port)
while [[ $P2 == "$PORT" || $P2 == "$RPORT" ]]; do P2=$(free_port); done
ino=$(stat -c %i "$SOCK")
"$AUTHD" -d "$S" -l "127.0.0.1:$P2" 2>>"$TMP/authd2.log" &
PID2=$!
for _ in $(seq 1 300); do
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$P2/healthz" && break
  kill -0 "$PID2" 2>/dev/null || break
  sleep 0.05
done
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
stop_authd
rc=$?
[[ $rc -eq 0 ]] && ok "authd: exit 0 on SIGTERM" || fail "authd exited $rc"
[[ ! -e $SOCK ]] && ok "the socket is removed at exit" || fail "the socket is left after exit"
out=$("$AUTHCTL" -d "$S" user logout "$USER_ID" 2>"$TMP/err")
rc=$?
[[ $rc == 0 && $(jget "$out" ended) == 0 ]] && grep -q "not running" "$TMP/err" &&
  ok "logout without authd: ended 0, '$(cat "$TMP/err")'" || fail "logout without authd: $rc '$out' '$(cat "$TMP/err")'"
out=$("$AUTHCTL" -d "$S" user lock "$USER_ID" 2>"$TMP/err")
rc=$?
[[ $rc == 0 && $(jget "$out" sessions_ended) == null && $(jget "$out" status) == locked ]] &&
  ok "lock without authd: sessions_ended null" || fail "lock without authd: $rc '$out' '$(cat "$TMP/err")'"

if grep -qE '"level":"error"|: error:' "$TMP/authd.log"; then
  fail "authd logged errors:"; grep -E '"level":"error"|: error:' "$TMP/authd.log" | head -20
fi
if grep -qE 'Sanitizer|runtime error:' "$TMP/authd.log" "$TMP/authd2.log" "$TMP/ctl.log"; then
  fail "sanitizer reports:"; grep -hE -A5 'Sanitizer|runtime error:' "$TMP/authd.log" "$TMP/authd2.log" "$TMP/ctl.log" | head -40
fi
if [[ $fails -ne 0 ]]; then
  show_logs
  exit 1
fi
exit 0
