#!/usr/bin/env bash
# A real relying party against a real authd: node's openid-client runs discovery, the code
# flow with PKCE (logging in by POSTing the real login form, CSRF token included),
# validates the ID token, refreshes, calls userinfo, introspection and revocation; a
# second app (private_key_jwt) gets a code without a password (SSO); RP-initiated logout
# makes authd deliver back-channel logout tokens to both apps' receivers, which verify
# them with jose against /jwks. The node side is tests/node/oidc_rp.mjs.
#
#   oidc_rp.sh            the flow above
#   oidc_rp.sh attacks    the attack cases instead (tests/integration/oidc_attacks.sh)
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
MODE=${1:-rp}
AUTHD=$YH_BUILD/authd/authd
AUTHCTL=$YH_BUILD/authd/authctl
RP=$YH_SRCDIR/tests/node/oidc_rp.mjs
command -v node >/dev/null || { echo "FAIL: node not installed (./run deps installs it)"; exit 1; }
[[ -d $YH_SRCDIR/tests/node/node_modules/openid-client ]] ||
  { echo "FAIL: tests/node/node_modules/openid-client missing (npm ci in tests/node)"; exit 1; }
[[ -x $AUTHD && -x $AUTHCTL ]] || { echo "FAIL: authd/authctl not built in $YH_BUILD"; exit 1; }

TMP=$(mktemp -d /tmp/yh-oidc-XXXXXX)
PID=
cleanup() {
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID"; wait "$PID" 2>/dev/null; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
# A valid resident ID number (GB 11643 check character) from 17 digits.
id_number() {
  python3 - "$1" <<'EOF'
import sys
d = sys.argv[1]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(d + "10X98765432"[sum(int(a) * b for a, b in zip(d, w)) % 11])
EOF
}

PORT=$(free_port)
BCL1=$(free_port)
BCL2=$(free_port)
ISSUER=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9           # nothing listens: the flow stops at the redirect
SECRET1=$(openssl rand -hex 24)
SECRET3=$(openssl rand -hex 24)
PASSWORD='Zhang-San-2026!pw'
LOCKPW='Li-Si-2026!pw-ok'

start_authd() {
  "$AUTHD" -d "$S" -l "127.0.0.1:$PORT" 2>>"$TMP/authd.log" &
  PID=$!
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$ISSUER/healthz" && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: authd did not start; its log:"; cat "$TMP/authd.log"; exit 1
}
stop_authd() {
  kill -TERM "$PID"
  wait "$PID"
  local rc=$?
  PID=
  return $rc
}

# The first start creates the state (directory, vault key, subject key, signing keys);
# the apps and users are added while it is stopped.
start_authd
stop_authd || { echo "FAIL: authd did not stop cleanly"; cat "$TMP/authd.log"; exit 1; }

ctl() { "$AUTHCTL" -d "$S" "$@" >>"$TMP/ctl.log" 2>&1 || { echo "FAIL: authctl $*"; cat "$TMP/ctl.log"; exit 1; }; }

node "$RP" genkey "$TMP" || { echo "FAIL: genkey"; exit 1; }
ctl client add app1 --redirect-uri "$CB/cb1" --secret "$SECRET1" \
  --post-logout-redirect-uri "$CB/bye1" --backchannel-logout-uri "http://127.0.0.1:$BCL1/bcl" \
  --scope openid profile phone offline_access --name "App One"
ctl client add app2 --redirect-uri "$CB/cb2" --jwks-file "$TMP/pub.jwks.json" \
  --post-logout-redirect-uri "$CB/bye2" --backchannel-logout-uri "http://127.0.0.1:$BCL2/bcl" \
  --scope openid profile --name "App Two"
ctl client add app3 --redirect-uri "$CB/cb3" --secret "$SECRET3" \
  --scope openid profile --allow-id-number --name "App Three"
printf '%s\n' "$PASSWORD" | ctl user add --id-number "$(id_number 11010119900307123)" \
  --name 张三 --phone 13812345678 --username zhangsan --password-stdin
printf '%s\n' "$LOCKPW" | ctl user add --id-number "$(id_number 11010119850612456)" \
  --name 李四 --phone 13987654321 --username lisi --password-stdin

start_authd
curl -sf -o /dev/null "$ISSUER/.well-known/openid-configuration" ||
  { echo "FAIL: authd does not serve discovery; its log:"; cat "$TMP/authd.log"; exit 1; }

cat >"$TMP/config.json" <<EOF
{
  "issuer": "$ISSUER",
  "audit_file": "$S/audit.log",
  "user": {"username": "zhangsan", "password": "$PASSWORD"},
  "lockuser": {"username": "lisi", "password": "$LOCKPW"},
  "apps": {
    "app1": {"client_id": "app1", "client_secret": "$SECRET1", "redirect_uri": "$CB/cb1",
             "post_logout": "$CB/bye1", "bcl_port": $BCL1},
    "app2": {"client_id": "app2", "redirect_uri": "$CB/cb2", "post_logout": "$CB/bye2",
             "bcl_port": $BCL2, "jwks_file": "$TMP/priv.jwks.json"},
    "app3": {"client_id": "app3", "client_secret": "$SECRET3", "redirect_uri": "$CB/cb3"}
  }
}
EOF

timeout 240 node "$RP" "$MODE" "$TMP/config.json"
rc=$?
[[ $rc -eq 0 ]] && ok "node $MODE" || fail "node $MODE exited $rc"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
if grep -qE '"level":"error"|: error:' "$TMP/authd.log"; then
  fail "authd logged errors:"; grep -E '"level":"error"|: error:' "$TMP/authd.log" | head -20
fi
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
grep -qF "$PASSWORD" "$S/audit.log" "$TMP/authd.log" && fail "a password reached a log" || ok "no password in the logs"
grep -qF "$SECRET1" "$S/audit.log" "$TMP/authd.log" && fail "a client secret reached a log" || ok "no client secret in the logs"

stop_authd
rc=$?
[[ $rc -eq 0 ]] && ok "authd: exit 0 on SIGTERM" || fail "authd exited $rc"
if grep -qE 'Sanitizer|runtime error:' "$TMP/authd.log"; then
  fail "sanitizer reports in the authd log:"; grep -E -A5 'Sanitizer|runtime error:' "$TMP/authd.log" | head -40
fi
if [[ $fails -ne 0 ]]; then
  echo "--- authd log (tail) ---"
  tail -40 "$TMP/authd.log"
  exit 1
fi
exit 0
