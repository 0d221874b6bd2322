#!/usr/bin/env bash
# The HTTP process runs as another uid than keyd (`user`). authd started as root with
# `user = 4242:4242` (a uid without a passwd entry) on a fresh state directory:
#   - /proc: the HTTP process has uid and gid 4242 (real, effective, saved, fs), no
#     supplementary groups, no capabilities and no_new_privs; keyd has uid 0;
#   - the layout: the state directory root:4242 1770, the key files root 0600 and keys/
#     root 0700, the files the HTTP process writes (directory.db and its -wal/-shm,
#     audit.log and its checkpoint copy, authd.sock, clients.json and clients.lock)
#     4242's; uid 4242 cannot read a key file (setpriv ... cat: Permission denied), nor
#     rename one, nor add a file to keys/;
#   - a full flow: authctl (root, -c) adds an app with a secret, a public app and a
#     person while authd runs; oidc_round (lib.sh: a client_credentials grant, the login
#     form, /authorize, the code redeemed, /userinfo); `authctl user logout` through the
#     control socket; `authctl audit verify`;
#   - authd still writes after authctl wrote as root: registrations over HTTP before
#     and after `authctl user add`, and after a restart over what a crashed root tool
#     leaves (root-owned empty directory.db-wal/-shm, a root-owned checkpoint copy),
#     which authd gives back to 4242 at start; authctl alone on a fresh directory
#     leaves nothing of root's where authd writes;
#   - keyd refuses a key it does not own: vault.key, subject.key or a ring key replaced
#     by a copy owned by 4242, or keys/ given to 4242, stops authd at start (exit 2,
#     one error line naming the file); a ring key replaced while authd runs is refused
#     at SIGHUP (the previous keys stay);
#   - idmerge import as root, into the running state and into a fresh directory that
#     authd then starts on;
#   - SIGHUP re-reads the configuration file as the account: a root-only file is refused
#     with a line naming it, a root:4242 0640 one is applied;
#   - `authd -t` as root checks the configuration as the account.
# Needs root (authd must start as root to switch): skipped (exit 77) otherwise.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
if [[ $(id -u) != 0 ]]; then
  echo "SKIP: not root: authd switches its HTTP process to another uid only when started as root"
  exit 77
fi
command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) is not installed"; exit 1; }
IDMERGE=$YH_BUILD/migration-tools/idmerge/idmerge
: "${YH_SRCDIR:?}"

make_tmp keyd-uid
chmod 711 "$TMP"          # the account must get through to the state directory
U=4242
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb
ID=11010519491231002X
PW='Uid Split 2026!'
SECRET=svc-secret-for-the-uid-split-test-00000000001
CONF=$TMP/authd.conf
printf '%s\n' "user = $U:$U" "state_dir = $S" "http.listen = 127.0.0.1:$PORT" >"$CONF"

# authctl with the configuration, so that it knows `user` (lib.sh's use -d).
ctl() { "$AUTHCTL" -c "$CONF" "$@" 2>>"$TMP/ctl.log"; }
ctl_or_die() {
  "$AUTHCTL" -c "$CONF" "$@" >>"$TMP/ctl.log" 2>&1 || { echo "FAIL: authctl $*"; cat "$TMP/ctl.log"; exit 1; }
}
as_user() { setpriv --reuid=$U --regid=$U --clear-groups "$@"; }
# owner PATH: "user:group mode" of PATH (numeric ids, octal mode).
owner() { stat -c '%u:%g %a' "$1"; }
# expect_owner PATH WANT: the owner and mode of PATH must be WANT.
expect_owner() {
  local got
  got=$(owner "$1" 2>&1)
  [[ $got == "$2" ]] && ok "${1#$S/}: $2" || fail "${1#$S/}: $got (want $2)"
}
# status_field PID FIELD: the values of FIELD in /proc/PID/status.
status_field() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
keyd_pid() { tr -d ' ' <"/proc/$PID/task/$PID/children"; }

# register JAR ID: the registration form as a browser sends it; then the person must be
# in the directory.
register() {
  local jar=$1 id=$2 tok
  req "$jar" GET /register
  tok=$(form_value csrf)
  reg_consent
  req "$jar" POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "name=王五" --data-urlencode "id_number=$id" \
    --data-urlencode "phone=13900139000" --data-urlencode "password=Uid Split $id" \
    --data-urlencode "password2=Uid Split $id" "${REG_CONSENT[@]}"
  if [[ $STATUS == 200 ]] && ctl user show "$id" >/dev/null; then
    ok "registration of $id over HTTP is in the directory"
  else
    fail "registration of $id: $STATUS $(printf '%s' "$BODY" | head -c 300)"
  fi
}
# refused WHAT FILE-REGEX: authd must refuse to start: exit 2, one error line naming it.
refused() {
  local rc=0
  timeout 20 "$AUTHD" -c "$CONF" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
  if [[ $rc == 2 ]] && [[ $(grep -c '' "$TMP/err") == 1 ]] && grep -qE -- "$2" "$TMP/err"; then
    ok "$1: authd refuses to start: $(cat "$TMP/err")"
  else
    fail "$1: exit $rc, stderr: $(cat "$TMP/err")"
  fi
}

# ---- authd -t as root
"$AUTHD" -t -c "$CONF" >"$TMP/out" 2>&1 && ok "authd -t: $(cat "$TMP/out")" ||
  fail "authd -t: $(cat "$TMP/out")"

# ---- a fresh state directory
start_authd -c "$CONF"
KEYD=$(keyd_pid)
[[ $(status_field "$PID" Uid) == "$U $U $U $U" && $(status_field "$PID" Gid) == "$U $U $U $U" ]] &&
  ok "the HTTP process runs as uid/gid $U" ||
  fail "the HTTP process: Uid $(status_field "$PID" Uid), Gid $(status_field "$PID" Gid)"
[[ -z $(status_field "$PID" Groups) ]] && ok "the HTTP process has no supplementary groups" ||
  fail "the HTTP process has groups $(status_field "$PID" Groups)"
[[ $(status_field "$PID" CapEff) == 0000000000000000 && $(status_field "$PID" CapPrm) == 0000000000000000 ]] &&
  ok "the HTTP process has no capabilities" ||
  fail "the HTTP process: CapEff $(status_field "$PID" CapEff), CapPrm $(status_field "$PID" CapPrm)"
[[ $(status_field "$PID" NoNewPrivs) == 1 ]] && ok "the HTTP process has no_new_privs" ||
  fail "the HTTP process: NoNewPrivs $(status_field "$PID" NoNewPrivs)"
[[ -n $KEYD && $(status_field "$KEYD" Uid) == "0 0 0 0" ]] && ok "keyd (pid $KEYD) runs as uid 0" ||
  fail "keyd '$KEYD': Uid $(status_field "${KEYD:-0}" Uid 2>&1)"
# The process series read /proc/self after the switch (a process that changed its uid
# is not dumpable, and its /proc entries become root's; its own stay readable to it).
m=$(curl -s "$BASE/metrics")
grep -qE '^process_open_fds [1-9][0-9]*$' <<<"$m" &&
  grep -qE '^process_resident_memory_bytes [1-9][0-9]*$' <<<"$m" &&
  ok "after the switch /metrics still has process_open_fds and process_resident_memory_bytes" ||
  fail "process series after the switch: $(grep -E '^process_' <<<"$m" | tr '\n' ' ')"

oidc_round_setup "$ID" "$PW" "$SECRET"
expect_owner "$S" "0:$U 1770"
for f in vault.key subject.key audit.key client-secret.key; do expect_owner "$S/$f" "0:0 600"; done
expect_owner "$S/keys" "0:0 700"
for f in "$S"/keys/*.pem; do expect_owner "$f" "0:0 600"; done
for f in directory.db directory.db-wal directory.db-shm audit.log audit.log.checkpoint authd.sock \
  clients.json clients.lock; do
  expect_owner "$S/$f" "$U:$U 600"
done
for f in vault.key subject.key audit.key client-secret.key "keys/$(ls "$S/keys" | grep -m1 '\.pem$')"; do
  if as_user cat "$S/$f" >/dev/null 2>"$TMP/err"; then
    fail "uid $U read $f"
  else
    grep -q "Permission denied" "$TMP/err" && ok "uid $U cannot read $f: $(cat "$TMP/err")" ||
      fail "uid $U reading $f: $(cat "$TMP/err")"
  fi
done
as_user mv "$S/vault.key" "$S/vault.moved" 2>"$TMP/err" && fail "uid $U renamed vault.key" ||
  ok "uid $U cannot rename vault.key (sticky directory): $(cat "$TMP/err")"
as_user touch "$S/keys/extra.pem" 2>"$TMP/err" && fail "uid $U made a file in keys/" ||
  ok "uid $U cannot add a file to keys/: $(cat "$TMP/err")"
as_user cat "$S/clients.json" >/dev/null && ok "uid $U reads clients.json (its own)" ||
  fail "uid $U cannot read clients.json"

# ---- the full flow
oidc_round jar "$ID" "$PW" "$SECRET" &&
  ok "client_credentials, login, /authorize, code, /userinfo work with the uid split"
USER_ID=$(ctl user show "$ID" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
out=$(ctl user logout "$USER_ID") && ok "authctl user logout through authd.sock: $out" ||
  fail "authctl user logout: $out $(tail -2 "$TMP/ctl.log")"

# ---- authd writes after authctl wrote as root
register r1 "$(id_number 11010119900101101)"
printf '%s\n' "Second 2026 pw!" | ctl user add --id-number "$(id_number 11010119900101102)" \
  --name 李四 --password-stdin >/dev/null && ok "authctl user add as root while authd runs" ||
  fail "authctl user add: $(tail -2 "$TMP/ctl.log")"
register r2 "$(id_number 11010119900101103)"
"$IDMERGE" run --sources "$YH_SRCDIR/tests/fixtures/idmerge/import/sources.json" \
  --out "$TMP/mig" --today 20260101 >/dev/null 2>&1 || fail "idmerge run"
"$IDMERGE" import --in "$TMP/mig" -c "$CONF" >"$TMP/imp.log" 2>&1 &&
  ok "idmerge import as root while authd runs: $(tail -1 "$TMP/imp.log")" ||
  fail "idmerge import: $(cat "$TMP/imp.log")"
register r2b "$(id_number 11010119900101106)"
"$AUTHCTL" -c "$CONF" audit verify "$S/audit.log" >"$TMP/out" 2>&1 &&
  ok "authctl audit verify: $(tail -1 "$TMP/out")" || fail "audit verify: $(cat "$TMP/out")"
left=$(find "$S" -user 0 ! -name '*.key' ! -path "$S/keys*" ! -path "$S")
[[ -z $left ]] && ok "nothing of root's but the keys" ||
  fail "root-owned files where authd writes: $left"

# ---- restart over what a root tool that crashed leaves
check_stop_authd
printf '%s\n' "Third 2026 pw!!" | ctl user add --id-number "$(id_number 11010119900101104)" \
  --name 张三 --password-stdin >/dev/null && ok "authctl user add as root, authd stopped" ||
  fail "authctl user add (authd stopped): $(tail -2 "$TMP/ctl.log")"
rm -f "$S/directory.db-wal" "$S/directory.db-shm"
: >"$S/directory.db-wal"
: >"$S/directory.db-shm"
chown 0:0 "$S/directory.db-wal" "$S/directory.db-shm" "$S/audit.log.checkpoint"
mark=$(wc -l <"$TMP/authd.log")
start_authd -c "$CONF"
tail -n +"$((mark + 1))" "$TMP/authd.log" | grep -q 'gave 3 file(s) of the state to uid 4242' &&
  ok "authd gave the root-owned -wal, -shm and checkpoint copy back at start" ||
  fail "no log line of the files given back: $(tail -n +"$((mark + 1))" "$TMP/authd.log" | head -5)"
for f in directory.db-wal directory.db-shm audit.log.checkpoint; do expect_owner "$S/$f" "$U:$U 600"; done
register r3 "$(id_number 11010119900101105)"
ctl user show "$(id_number 11010119900101104)" >/dev/null && ok "the person added while stopped is there" ||
  fail "the person added while authd was stopped is missing"

# ---- SIGHUP re-reads the configuration file as the account
echo "login.max_failures = 7" >>"$CONF"
chown 0:0 "$CONF"; chmod 600 "$CONF"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
tail -n +"$((mark + 1))" "$TMP/authd.log" | grep 'configuration not reloaded' | grep -qF "$CONF" &&
  ok "SIGHUP: a configuration file the account cannot read is refused, naming the file" ||
  fail "SIGHUP over a root-only configuration: $(tail -n +"$((mark + 1))" "$TMP/authd.log" | head -5)"
chown 0:$U "$CONF"; chmod 640 "$CONF"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
tail -n +"$((mark + 1))" "$TMP/authd.log" | grep -q 'SIGHUP: login.max_failures = 7 (was 5)' &&
  ok "SIGHUP: the configuration file readable by the account's group is applied" ||
  fail "SIGHUP over a root:$U 0640 configuration: $(tail -n +"$((mark + 1))" "$TMP/authd.log" | head -5)"

# ---- keyd refuses a ring key replaced while authd runs (at SIGHUP)
PEM=$S/keys/$(ls "$S/keys" | grep -m1 '\.pem$')
cp -p "$PEM" "$TMP/ring.bak"
install -o $U -g $U -m 600 "$TMP/ring.bak" "$PEM"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
tail -n +"$((mark + 1))" "$TMP/authd.log" | grep 'key ring not reloaded' | grep -qF "$PEM: owned by uid $U" &&
  ok "SIGHUP: keyd refuses the ring key owned by $U, the previous keys stay" ||
  fail "SIGHUP over a ring key of uid $U: $(tail -n +"$((mark + 1))" "$TMP/authd.log" | head -5)"
check_healthz "authd still serves after the refused reload"
check_stop_authd
refused "a ring key owned by $U" "$PEM: owned by uid $U, not by uid 0"
install -o 0 -g 0 -m 600 "$TMP/ring.bak" "$PEM"

# ---- keyd refuses key files it does not own
for f in vault.key subject.key; do
  cp -p "$S/$f" "$TMP/$f.bak"
  install -o $U -g $U -m 600 "$TMP/$f.bak" "$S/$f"
  refused "$f owned by $U" "$S/$f: owned by uid $U, not by uid 0"
  install -o 0 -g 0 -m 600 "$TMP/$f.bak" "$S/$f"
done
chown $U:$U "$S/keys"
refused "keys/ owned by $U" "$S/keys: key directory owned by uid $U"
chown 0:0 "$S/keys"
start_authd -c "$CONF"
oidc_round jar2 "$ID" "$PW" "$SECRET" && ok "the restored keys serve again"
check_stop_authd

# ---- authctl alone on a fresh state directory (authd never ran there)
S2=$TMP/state2
printf '%s\n' "user = $U:$U" "state_dir = $S2" "http.listen = 127.0.0.1:$PORT" >"$TMP/fresh.conf"
printf '%s\n' "$PW" | "$AUTHCTL" -c "$TMP/fresh.conf" user add --id-number "$ID" --name 王小明 \
  --password-stdin >/dev/null 2>>"$TMP/ctl.log" && ok "authctl user add as root on a fresh directory" ||
  fail "authctl user add (fresh): $(tail -2 "$TMP/ctl.log")"
expect_owner "$S2" "0:$U 1770"
expect_owner "$S2/directory.db" "$U:$U 600"
expect_owner "$S2/audit.log" "$U:$U 600"
expect_owner "$S2/vault.key" "0:0 600"

# ---- idmerge import (root) into a fresh state directory, then authd on it
S3=$TMP/state3
printf '%s\n' "user = $U:$U" "state_dir = $S3" "http.listen = 127.0.0.1:$PORT" >"$TMP/mig.conf"
"$IDMERGE" import --in "$TMP/mig" -c "$TMP/mig.conf" >"$TMP/imp.log" 2>&1 &&
  ok "idmerge import as root into a fresh directory" || fail "idmerge import (fresh): $(cat "$TMP/imp.log")"
expect_owner "$S3/directory.db" "0:0 600"    # idmerge does not know `user`: authd fixes it
mark=$(wc -l <"$TMP/authd.log")
start_authd -c "$TMP/mig.conf"
expect_owner "$S3" "0:$U 1770"
expect_owner "$S3/directory.db" "$U:$U 600"
CONF=$TMP/mig.conf
register r4 "$(id_number 11010119900101107)"
check_stop_authd

no_errors_in "authd logged errors besides the refusals" \
  <(grep -v -e 'key ring not reloaded' -e 'configuration not reloaded' "$TMP/authd.log")
finish "all keyd_uid checks passed"
