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
. "$(dirname "$0")/lib.sh"
need_authd
MODE=${1:-rp}
RP=$YH_SRCDIR/tests/node/oidc_rp.mjs
command -v node >/dev/null || { echo "FAIL: node not installed (./run deps installs it)"; exit 1; }
[[ -d $YH_SRCDIR/tests/node/node_modules/openid-client ]] ||
  { echo "FAIL: tests/node/node_modules/openid-client missing (npm ci in tests/node)"; exit 1; }

make_tmp oidc
PID=

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
OTHERPW='Wang-Wu-2026!pw'

# The first start creates the state (directory, vault key, subject key, signing keys);
# the apps and users are added while it is stopped.
start_authd
stop_authd || die "authd did not stop cleanly"

node "$RP" genkey "$TMP" || { echo "FAIL: genkey"; exit 1; }
ctl_or_die client add app1 --redirect-uri "$CB/cb1" --secret "$SECRET1" \
  --post-logout-redirect-uri "$CB/bye1" --backchannel-logout-uri "http://127.0.0.1:$BCL1/bcl" \
  --scope openid profile phone offline_access --name "App One"
ctl_or_die client add app2 --redirect-uri "$CB/cb2" --jwks-file "$TMP/pub.jwks.json" \
  --post-logout-redirect-uri "$CB/bye2" --backchannel-logout-uri "http://127.0.0.1:$BCL2/bcl" \
  --scope openid profile --name "App Two"
ctl_or_die client add app3 --redirect-uri "$CB/cb3" --secret "$SECRET3" \
  --scope openid profile --allow-id-number --name "App Three"
printf '%s\n' "$PASSWORD" | ctl_or_die user add --id-number "$(id_number 11010119900307123)" \
  --name 张三 --phone 13812345678 --username zhangsan --password-stdin
printf '%s\n' "$LOCKPW" | ctl_or_die user add --id-number "$(id_number 11010119850612456)" \
  --name 李四 --phone 13987654321 --username lisi --password-stdin
printf '%s\n' "$OTHERPW" | ctl_or_die user add --id-number "$(id_number 11010119920815789)" \
  --name 王五 --phone 13611112222 --username wangwu --password-stdin

start_authd
curl -sf -o /dev/null "$ISSUER/.well-known/openid-configuration" ||
  { echo "FAIL: authd does not serve discovery; its log:"; cat "$TMP/authd.log"; exit 1; }

cat >"$TMP/config.json" <<EOF
{
  "issuer": "$ISSUER",
  "audit_file": "$S/audit.log",
  "user": {"username": "zhangsan", "password": "$PASSWORD"},
  "lockuser": {"username": "lisi", "password": "$LOCKPW"},
  "otheruser": {"username": "wangwu", "password": "$OTHERPW"},
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
no_errors_in "authd logged errors:" "$TMP/authd.log"
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
grep -qF "$PASSWORD" "$S/audit.log" "$TMP/authd.log" && fail "a password reached a log" || ok "no password in the logs"
grep -qF "$SECRET1" "$S/audit.log" "$TMP/authd.log" && fail "a client secret reached a log" || ok "no client secret in the logs"

check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if [[ $FAILS -ne 0 ]]; then
  echo "--- authd log (tail) ---"
  tail -40 "$TMP/authd.log"
  exit 1
fi
exit 0
