#!/usr/bin/env bash
# Apps declared in the configuration (clients.file): authd -t checks the file and its
# secret files; authd serves those apps beside authctl's, with secrets read from 0600
# files and never written to the state directory; edits are picked up without a restart
# (a changed secret file on SIGHUP); authctl lists them and refuses to change them.
set -u
: "${YH_BUILD:?}"
AUTHD=$YH_BUILD/authd/authd
A=$YH_BUILD/authctl/authctl
. "$(dirname "$0")/lib.sh"
make_tmp apps
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ETC=$TMP/etc
mkdir -p "$ETC/secrets"
SECRET1=svc-secret-from-configuration-management-0001
SECRET2=svc-secret-after-rotation-by-the-operator-0002
SECRET3=a-second-service-declared-while-running-00003

cat >"$ETC/authd.conf" <<CONF
state_dir = $TMP/state
http.listen = 127.0.0.1:$PORT
clients.file = apps.json
CONF
printf '%s\n' "$SECRET1" >"$ETC/secrets/svc"
chmod 600 "$ETC/secrets/svc"
write_apps() {  # write_apps CLIENT_JSON... : replaced atomically, as an editor would
  { echo '{"format": "yihao-clients/1", "clients": ['
    local sep=
    for c in "$@"; do printf '%s%s\n' "$sep" "$c"; sep=,; done
    echo ']}'; } >"$ETC/apps.tmp"
  mv "$ETC/apps.tmp" "$ETC/apps.json"
}
PORTAL='{"client_id": "portal", "name": "市民门户", "auth": "none", "redirect_uris": ["https://portal.example.gov.cn/cb"], "scopes": ["openid", "profile"], "grants": ["authorization_code", "refresh_token"], "min_loa": 1}'
SVC='{"client_id": "svc", "auth": "client_secret", "secret_file": "secrets/svc", "redirect_uris": [], "scopes": ["openid"], "grants": ["client_credentials"], "min_loa": 1}'
SVC2='{"client_id": "svc2", "auth": "client_secret", "secret_file": "secrets/svc2", "redirect_uris": [], "scopes": ["openid"], "grants": ["client_credentials"], "min_loa": 1}'
write_apps "$PORTAL" "$SVC"

# authd -t: the apps file is part of the configuration.
"$AUTHD" -t -c "$ETC/authd.conf" >"$TMP/out" 2>&1 && grep -q "configuration ok" "$TMP/out" \
  && ok "authd -t accepts the apps file" || fail "authd -t: $(cat "$TMP/out")"
write_apps "$PORTAL" "${SVC/\"min_loa\": 1/\"min_loa\": 7}"
"$AUTHD" -t -c "$ETC/authd.conf" >"$TMP/out" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q 'apps.json:3: client 1 "svc": min_loa' "$TMP/out" \
  && ok "authd -t: bad app names file:line, exit 1" || fail "authd -t bad app: exit $rc: $(cat "$TMP/out")"
write_apps "$PORTAL" "$SVC"
chmod 644 "$ETC/secrets/svc"
"$AUTHD" -t -c "$ETC/authd.conf" >"$TMP/out" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q 'secret_file' "$TMP/out" \
  && ok "authd -t: a readable secret file is refused" || fail "authd -t 0644 secret: exit $rc: $(cat "$TMP/out")"
chmod 600 "$ETC/secrets/svc"
[[ -e $TMP/state ]] && fail "authd -t created state" || ok "authd -t wrote nothing"

start_authd -c "$ETC/authd.conf"

cc() {  # cc ID SECRET: prints the HTTP status of a client_credentials grant
  curl -s -o "$TMP/tok" -w '%{http_code}' -u "$1:$2" -d grant_type=client_credentials "$BASE/token"
}
[[ $(cc svc "$SECRET1") == 200 ]] && jq -e '.access_token' "$TMP/tok" >/dev/null \
  && ok "config app svc: client_credentials with its secret file" || fail "svc grant: $(cat "$TMP/tok")"
[[ $(cc svc "${SECRET1}x") == 401 ]] && [[ $(jq -r .error "$TMP/tok") == invalid_client ]] \
  && ok "wrong secret: 401 invalid_client" || fail "wrong secret: $(cat "$TMP/tok")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/authorize?response_type=code&client_id=portal&redirect_uri=https%3A%2F%2Fportal.example.gov.cn%2Fcb&scope=openid&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
[[ $code == 200 || $code == 302 ]] && ok "config app portal: /authorize answers $code (login)" || fail "portal authorize: $code"
if grep -rqF -e "$SECRET1" "$TMP/state"; then fail "secret written to the state directory"; else ok "secret not in the state directory"; fi

# authctl sees the config's apps and leaves them alone.
"$A" -c "$ETC/authd.conf" client list >"$TMP/list" 2>"$TMP/err" || fail "client list: $(cat "$TMP/err")"
[[ $(jq -r 'select(.client_id=="svc") | .source' "$TMP/list") == clients.file ]] \
  && ok "authctl client list: svc from clients.file" || fail "list: $(cat "$TMP/list")"
[[ $(jq -r 'select(.client_id=="portal") | .file' "$TMP/list") == "$ETC/apps.json:2" ]] \
  && ok "list names the file and line" || fail "list file: $(jq -c . "$TMP/list")"
"$A" -c "$ETC/authd.conf" client remove svc >/dev/null 2>"$TMP/err"
rc=$?
[[ $rc -ne 0 ]] && grep -q "clients.file" "$TMP/err" && ok "authctl client remove refuses a config app" || fail "remove: exit $rc: $(cat "$TMP/err")"
"$A" -c "$ETC/authd.conf" client add svc --public --redirect-uri https://x.example/cb >/dev/null 2>"$TMP/err"
rc=$?
[[ $rc -ne 0 ]] && grep -q "declared in" "$TMP/err" && ok "authctl client add refuses a config app's id" || fail "add dup: exit $rc: $(cat "$TMP/err")"
"$A" -c "$ETC/authd.conf" client add mine --public --redirect-uri https://mine.example/cb >/dev/null 2>"$TMP/err" \
  && ok "authctl adds its own app beside them" || fail "add mine: $(cat "$TMP/err")"

# A new app in the file is served without a restart (checked at most once a second).
printf '%s\n' "$SECRET3" >"$ETC/secrets/svc2"
chmod 600 "$ETC/secrets/svc2"
write_apps "$PORTAL" "$SVC" "$SVC2"
got=
for _ in $(seq 1 40); do
  [[ $(cc svc2 "$SECRET3") == 200 ]] && { got=1; break; }
  sleep 0.1
done
[[ -n $got ]] && ok "app added to the file: served without a restart" || fail "svc2 never served: $(tail -3 "$TMP/authd.log")"
curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" >/dev/null

# A broken edit keeps the last good apps and is logged with file:line.
write_apps "$PORTAL" "$SVC" "${SVC2/secrets\/svc2/secrets\/missing}"
sleep 1.2
[[ $(cc svc "$SECRET1") == 200 ]] && [[ $(cc svc2 "$SECRET3") == 200 ]] \
  && ok "a broken edit keeps the last good apps" || fail "after broken edit: $(cat "$TMP/tok")"
grep -q 'apps.json:4: client 2 \\"svc2\\": secret_file' "$TMP/authd.log" \
  && ok "the broken edit is logged with file:line" || fail "log: $(grep -i apps.json "$TMP/authd.log" | tail -2)"

# Removing an app from the file ends its grants.
write_apps "$PORTAL" "$SVC"
for _ in $(seq 1 40); do
  [[ $(cc svc2 "$SECRET3") == 401 ]] && break
  sleep 0.1
done
[[ $(cc svc2 "$SECRET3") == 401 ]] && ok "app removed from the file: refused" || fail "svc2 still served"

# Rotating a secret file: picked up on SIGHUP.
printf '%s\n' "$SECRET2" >"$ETC/secrets/svc"
kill -HUP "$PID"
for _ in $(seq 1 40); do
  [[ $(cc svc "$SECRET2") == 200 ]] && break
  sleep 0.1
done
[[ $(cc svc "$SECRET2") == 200 ]] && ok "rotated secret works after SIGHUP" || fail "new secret refused: $(cat "$TMP/tok")"
[[ $(cc svc "$SECRET1") == 401 ]] && ok "old secret refused after rotation" || fail "old secret still works"
kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"

stop_authd
finish "all apps_config checks passed"
