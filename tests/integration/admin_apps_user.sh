#!/usr/bin/env bash
# The console's Apps page when authd's HTTP process runs as another account (`user =
# 4242:4242`, authd started as root): the registry is the account's, so the console's
# writes succeed, and authctl run as root with -c writes it without taking it back:
#
#  - an install from before (clients.json root:4242 0640, clients.lock root 0600, as
#    authctl wrote them then): authd gives both to the account at start;
#  - an operator (password + TOTP, permission apps) registers an app (its secret, shown
#    once, works), rotates its secret, disables and enables it: each 200, each in
#    clients.json, which stays 4242:4242 0600 and clients.lock too;
#  - authctl -c as root adds an app while authd runs: the file stays the account's and
#    the console then registers another app (no root-owned file in the way);
#  - the HTTP process still cannot read a key file; authctl audit verify passes.
# Needs root (authd must start as root to switch): skipped (exit 77) otherwise.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
if [[ $(id -u) != 0 ]]; then
  echo "SKIP: not root: authd switches its HTTP process to another uid only when started as root"
  exit 77
fi
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 not installed"; exit 1; }
command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) is not installed"; exit 1; }
export CI=true
make_tmp admin_apps_user
chmod 711 "$TMP"          # the account must get through to the state directory
U=4242
PID=
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
. "$(dirname "$0")/admin_setup.sh"
echo "user = $U:$U" >>"$CFG"

# authctl with the configuration, so that it knows `user` (lib.sh's use -d).
ctl() { "$AUTHCTL" -c "$CFG" "$@" 2>>"$TMP/ctl.log"; }
ctl_or_die() {
  "$AUTHCTL" -c "$CFG" "$@" >>"$TMP/ctl.log" 2>&1 || { echo "FAIL: authctl $*"; cat "$TMP/ctl.log"; exit 1; }
}
check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
owner() { stat -c '%u:%g %a' "$1"; }
registry_owned() {
  check "$1: clients.json the account's" "$(owner "$S/clients.json")" "$U:$U 600"
  check "$1: clients.lock the account's" "$(owner "$S/clients.lock")" "$U:$U 600"
}
admin_post() {
  local path=$1
  shift
  req a POST "$path" --data-urlencode "csrf=$ATOK" "$@"
}
secret_on_page() { grep -oE '<code class="secret">[^<]+' "$TMP/body" | sed 's/.*>//'; }
check_secret() { printf '%s' "$2" | "$AUTHCTL" -c "$CFG" client check-secret "$1" >/dev/null 2>&1; }
register() {
  admin_post /admin/apps/add --data-urlencode "client_id=$1" --data-urlencode "redirect_uris=http://127.0.0.1:9/cb" \
    --data-urlencode "scopes=openid profile" --data-urlencode kind=confidential
}

# ---- the layout an earlier authctl left: root's registry, read through the group
"$AUTHCTL" -d "$S" client add old_app --public --redirect-uri http://127.0.0.1:9/cb >>"$TMP/ctl.log" 2>&1 ||
  die "authctl client add old_app"
chown 0:$U "$S/clients.json" && chmod 640 "$S/clients.json"
chown 0:0 "$S/clients.lock" && chmod 600 "$S/clients.lock"
start_authd -c "$CFG"
registry_owned "at start"
[[ $(awk '$1 == "Uid:" { print $2 }' "/proc/$PID/status") == "$U" ]] || die "authd's HTTP process is not uid $U"

# ---- the operator
login_to o "$OP_ID" "$OP_PW" /account
[[ $STATUS == 303 ]] || die "operator login: $STATUS '$LOCATION'"
enrol o op || die "operator TOTP enrolment"
ctl_or_die staff add --id-number "$OP_ID" --org "$GOV" --unit 数据管理科 --admin-role apps
login_to a "$OP_ID" "$OP_PW" /admin/apps
[[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] || die "operator password step: $STATUS '$LOCATION'"
totp_step a op
[[ $STATUS == 303 ]] || die "operator TOTP step: $STATUS '$LOCATION'"
req a GET /admin/apps
check "the apps page as uid $U" "$STATUS" 200
ATOK=$(form_value csrf)

# ---- the console writes
register console_app
check "register an app" "$STATUS" 200
SECRET1=$(secret_on_page)
[[ -n $SECRET1 ]] && check_secret console_app "$SECRET1" && ok "register: the secret shown once works" ||
  fail "register: $(grep -oE 'role="(status|alert)">[^<]*|class="note addr">[^<]*' "$TMP/body")"
admin_post /admin/apps/rotate --data-urlencode client_id=console_app
check "rotate the secret" "$STATUS" 200
SECRET2=$(secret_on_page)
[[ -n $SECRET2 && $SECRET2 != "$SECRET1" ]] && check_secret console_app "$SECRET2" &&
  ok "rotate: the new secret works" || fail "rotate: $(grep -oE 'class="note addr">[^<]*' "$TMP/body")"
admin_post /admin/apps/disable --data-urlencode client_id=console_app
check "disable" "$STATUS" 200
ctl client show console_app | grep -q '"disabled": *true' && ok "disabled in clients.json" || fail "not disabled"
admin_post /admin/apps/enable --data-urlencode client_id=console_app
check "enable" "$STATUS" 200
registry_owned "after the console's writes"

# ---- authctl as root while authd runs, then the console again
ctl_or_die client add ctl_app --public --redirect-uri http://127.0.0.1:9/cb
registry_owned "after authctl -c as root"
sleep 1.2
register console_app2
check "register after authctl wrote" "$STATUS" 200
ctl client show ctl_app >/dev/null && ctl client show console_app2 >/dev/null && ctl client show old_app >/dev/null &&
  ok "every app in the registry" || fail "apps missing: $(ctl client list | cut -c1-60)"
setpriv --reuid=$U --regid=$U --clear-groups cat "$S/client-secret.key" >/dev/null 2>&1 &&
  fail "uid $U read client-secret.key" || ok "uid $U still cannot read client-secret.key"
check "the console's app writes audited" "$(audit_count admin.apps.add)|$(audit_count admin.apps.rotate)|$(audit_count \
  admin.apps.disable)|$(audit_count admin.apps.enable)" "2|1|1|1"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
no_errors_in "authd logged errors:" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
expect_rc 0 "authctl audit verify" "$AUTHCTL" -c "$CFG" audit verify "$S/audit.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "admin_apps_user: all checks passed"
