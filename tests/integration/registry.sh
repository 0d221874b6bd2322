#!/usr/bin/env bash
# Real-name checks against the population and legal-person registries, with a stub
# registry (registry_stub.py) on a free loopback port: self-registration at LoA 2 on a
# match, refused with the form and no account on a mismatch, at LoA 1 and queued when the
# registry times out, answers 500 or garbage; `authctl registry retry` raising the queued
# persons once the registry matches; `authctl user verify --registry`; `authctl org add`
# and `org agent add` with match, mismatch and unavailable (refused, then accepted with
# --registry-unavailable-ok); a "registry.check" audit line per call with ID numbers
# masked; the credentials never in a log; bad registry options refused at start.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp registry
PIDS_TO_STOP="PID RPID"

PORT=$(free_port)
RP=$(free_port)
BASE="http://127.0.0.1:$PORT"
S="$TMP/state"
CONF="$TMP/authd.conf"
TOKEN="tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ORGPW="orgpw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
LOGS="authd registry"

umask 077
printf '%s\n' "$TOKEN" >"$TMP/person.token"
printf 'yihao:%s\n' "$ORGPW" >"$TMP/org.cred"
echo match >"$TMP/mode"
: >"$TMP/requests"
cat >"$CONF" <<EOC
state_dir = $S
registry.person.url = http://127.0.0.1:$RP/person
registry.person.timeout = 1
registry.person.auth = bearer
registry.person.credentials_file = $TMP/person.token
registry.person.match_field = data.result
registry.person.match_value = 一致
registry.person.mismatch_value = 不一致|库中无此号
registry.person.detail_field = data.message
registry.org.url = http://127.0.0.1:$RP/org
registry.org.timeout = 1
registry.org.auth = basic
registry.org.credentials_file = $TMP/org.cred
registry.org.match_field = data.result
EOC

"$PY" "$(dirname "$0")/registry_stub.py" "$RP" "$TMP/mode" "$TMP/requests" \
  >>"$TMP/registry.log" 2>&1 &
RPID=$!
wait_ready "http://127.0.0.1:$RP/" "$RPID" || die "the stub registry did not start"

start_authd -c "$CONF" -l "127.0.0.1:$PORT"

rctl() { "$AUTHCTL" -c "$CONF" "$@" 2>>"$TMP/ctl.log"; }
mode() { echo "$1" >"$TMP/mode"; }

# register JAR NAME ID: the registration form as a browser fills it.
register() {
  local tok
  req "$1" GET /register
  tok=$(form_value csrf)
  reg_consent
  req "$1" POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "name=$2" --data-urlencode "id_number=$3" \
    --data-urlencode "phone=13900139000" --data-urlencode "password=registry pw 1" \
    --data-urlencode "password2=registry pw 1" "${REG_CONSENT[@]}"
}
# loa_of ID: the person's LoA and method as authctl shows them ("none" when absent).
loa_of() {
  rctl user show "$1" >"$TMP/show" || { echo none; return; }
  "$PY" -c 'import json,sys;j=json.load(open(sys.argv[1]));print(j["loa"],j["loa_method"])' "$TMP/show"
}
queued() { if [[ -s $S/registry-queue ]]; then grep -c '' "$S/registry-queue"; else echo 0; fi; }

# ---- a match: LoA 2, on the account page too
ID_M=$(id_number 11010119900101001)
register a 王五 "$ID_M"
[[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "match: registered" ||
  fail "match: $STATUS"
[[ $(loa_of "$ID_M") == "2 registry" ]] && ok "match: LoA 2 by the registry" ||
  fail "match: $(loa_of "$ID_M")"
tail -1 "$TMP/requests" >"$TMP/last"
"$PY" - "$TMP/last" "$ID_M" "$TOKEN" <<'EOF' && ok "request: JSON name and id_number, bearer token" || fail "request: $(cat "$TMP/last")"
import json, sys
r = json.load(open(sys.argv[1]))
b = json.loads(r["body"])
assert r["path"] == "/person" and b == {"name": "王五", "id_number": sys.argv[2]}, r
assert r["auth"] == "Bearer " + sys.argv[3], r["auth"]
assert r["ctype"].startswith("application/json"), r
EOF
req a GET /login
tok=$(form_value csrf)
req a POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
  --data-urlencode "username=$ID_M" --data-urlencode "password=registry pw 1"
req a GET /account
[[ $STATUS == 200 && $BODY == *'registry:person'* ]] && ok "account page: verified by the registry" ||
  fail "account page: $STATUS"

# ---- a mismatch: the form again, no account
mode mismatch
ID_X=$(id_number 11010119900101002)
register b 赵六 "$ID_X"
[[ $STATUS == 403 && $BODY == *'未通过人口库实名核验'* && $BODY != *'注册申请已提交'* ]] &&
  ok "mismatch: refused with words" || fail "mismatch: $STATUS"
[[ $BODY != *'已注册'* && $BODY != *'存在'* ]] && ok "mismatch: no word about accounts" ||
  fail "mismatch page speaks of accounts"
[[ $(loa_of "$ID_X") == none ]] && ok "mismatch: no account" || fail "mismatch: an account"

# ---- unavailable: LoA 1 and queued, for each way of being unavailable
n=3
for m in timeout 500 garbage; do
  mode "$m"
  ID=$(id_number 1101011990010100$n)
  eval "ID_$n=$ID"
  t0=$(date +%s)
  register c$n 孙七 "$ID"
  t1=$(date +%s)
  [[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "$m: registered" ||
    fail "$m: $STATUS"
  [[ $(loa_of "$ID") == "1 self" ]] && ok "$m: LoA 1" || fail "$m: $(loa_of "$ID")"
  ((t1 - t0 < 4)) && ok "$m: answered in $((t1 - t0)) s" || fail "$m: took $((t1 - t0)) s"
  n=$((n + 1))
done
[[ $(queued) == 3 ]] && ok "three persons queued" || fail "queue: $(queued)"
# while one registration waits on a slow registry, another request is served
mode timeout
register d 周八 "$(id_number 11010119900101009)" &
BG=$!
sleep 0.3
t0=$(date +%s%N)
fetch "$BASE/login"
t1=$(date +%s%N)
wait "$BG"
(((t1 - t0) / 1000000 < 900)) && ok "a page is served while the registry is slow" ||
  fail "GET /login took $(((t1 - t0) / 1000000)) ms"

# ---- retry: the registry matches again
mode match
rctl registry retry >"$TMP/retry" || fail "registry retry: $(tail -2 "$TMP/ctl.log")"
"$PY" -c 'import json,sys;j=json.load(open(sys.argv[1]));assert j["queued"]==4 and j["matched"]==4 and j["still_queued"]==0, j' \
  "$TMP/retry" && ok "retry: $(cat "$TMP/retry")" || fail "retry: $(cat "$TMP/retry")"
[[ $(loa_of "$ID_3") == "2 registry" && $(loa_of "$ID_5") == "2 registry" ]] &&
  ok "retry: raised to LoA 2" || fail "retry: $(loa_of "$ID_3")"
[[ $(queued) == 0 ]] && ok "retry: the queue is empty" || fail "queue: $(queued)"
# a mismatch at retry takes the person off the queue; unavailable keeps them
mode 500
register e 吴九 "$(id_number 11010119900101010)"
register f 郑十 "$(id_number 11010119900101011)"
rctl registry retry >"$TMP/retry"
grep -q '"unavailable":2' "$TMP/retry" && [[ $(queued) == 2 ]] &&
  ok "retry, unavailable: still queued" || fail "retry unavailable: $(cat "$TMP/retry")"
mode mismatch
rctl registry retry >"$TMP/retry"
grep -q '"mismatched":2' "$TMP/retry" && [[ $(queued) == 0 ]] &&
  ok "retry, mismatch: off the queue" || fail "retry mismatch: $(cat "$TMP/retry")"
[[ $(loa_of "$(id_number 11010119900101010)") == "1 self" ]] && ok "retry, mismatch: LoA 1" ||
  fail "retry mismatch raised"

# ---- user verify --registry
ID_V=$(id_number 11010119900101012)
printf 'operator pw 1\n' | "$AUTHCTL" -c "$CONF" user add --id-number "$ID_V" --name 钱十一 \
  --password-stdin >/dev/null 2>>"$TMP/ctl.log" || fail "user add"
mode 500
expect_rc 2 "user verify --registry, unavailable: exit 2" "$AUTHCTL" -c "$CONF" user verify --registry "$ID_V"
mode mismatch
expect_rc 1 "user verify --registry, mismatch: exit 1" "$AUTHCTL" -c "$CONF" user verify --registry "$ID_V"
mode match
expect_rc 0 "user verify --registry, match: exit 0" "$AUTHCTL" -c "$CONF" user verify --registry "$ID_V"
grep -q '"registry":"match","loa":2' "$TMP/out" && ok "user verify --registry: LoA 2" ||
  fail "user verify: $(cat "$TMP/out")"
expect_error "user verify --registry without -c" 'registry.person.url is not configured' \
  "$AUTHCTL" -d "$S" user verify --registry "$ID_V"

# ---- organizations
ENT=91350100123456788Q
ENT2=933501002345678942
for c in "$ENT" "$ENT2"; do
  "$AUTHCTL" id check "$c" >/dev/null 2>&1 || die "test credit code $c is not valid"
done
mode match
org=$(rctl org add --uscc "$ENT" --name 某某有限公司 --legal-rep "$ID_V") &&
  ok "org add, match: $org" || fail "org add match: $(tail -1 "$TMP/ctl.log")"
tail -1 "$TMP/requests" >"$TMP/last"
"$PY" - "$TMP/last" "$ENT" "$ID_V" "$ORGPW" <<'EOF' && ok "org request: uscc, name, legal representative, basic auth" || fail "org request: $(cat "$TMP/last")"
import base64, json, sys
r = json.load(open(sys.argv[1]))
b = json.loads(r["body"])
assert r["path"] == "/org", r
assert b == {"uscc": sys.argv[2], "name": "某某有限公司", "legal_rep_name": "钱十一",
             "legal_rep_id_number": sys.argv[3]}, b
assert r["auth"] == "Basic " + base64.b64encode(("yihao:" + sys.argv[4]).encode()).decode(), r
EOF
mode mismatch
expect_rc 1 "org add, mismatch: exit 1" "$AUTHCTL" -c "$CONF" org add --uscc "$ENT2" --name 另一公司
grep -q 'does not confirm' "$TMP/err" && ok "org add, mismatch: says why" || fail "org add mismatch: $(cat "$TMP/err")"
rctl org show "$ENT2" >/dev/null 2>&1 && fail "org add, mismatch: written" ||
  ok "org add, mismatch: nothing written"
mode 500
expect_error "org add, unavailable: refused" 'unavailable.*--registry-unavailable-ok' \
  "$AUTHCTL" -c "$CONF" org add --uscc "$ENT2" --name 另一公司
rctl org show "$ENT2" >/dev/null 2>&1 && fail "org add, unavailable: written" ||
  ok "org add, unavailable: nothing written"
expect_rc 0 "org add --registry-unavailable-ok: added" "$AUTHCTL" -c "$CONF" org add \
  --uscc "$ENT2" --name 另一公司 --registry-unavailable-ok
# agent add: the organization as the directory has it is checked again
mode garbage
expect_error "agent add, unavailable: refused" 'unavailable' \
  "$AUTHCTL" -c "$CONF" org agent add "$ENT" --id-number "$ID_M"
mode mismatch
expect_rc 1 "agent add, mismatch: exit 1" "$AUTHCTL" -c "$CONF" org agent add "$ENT" --id-number "$ID_M"
[[ $(rctl org agent list "$ENT") == '[]' ]] && ok "agent add, mismatch: nothing granted" ||
  fail "agent granted on a mismatch"
mode match
expect_rc 0 "agent add, match: granted" "$AUTHCTL" -c "$CONF" org agent add "$ENT" --id-number "$ID_M"

# ---- the audit trail and the logs
for r in match mismatch unavailable; do
  c=$(audit_count registry.check "\"result\":\"$r\"")
  ((c > 0)) && ok "audit: $c registry.check $r" || fail "audit: no registry.check $r"
done
c=$(audit_count registry.check '"registry":"org"')
((c >= 6)) && ok "audit: $c checks of the legal-person registry" || fail "audit org: $c"
grep -F '"event":"registry.check"' "$S/audit.log" | grep -q 'latency_ms' &&
  ok "audit: latency recorded" || fail "audit: no latency"
leaks=0
for id in "$ID_M" "$ID_X" "$ID_3" "$ID_V"; do
  grep -qF "$id" "$S/audit.log" "$TMP/authd.log" "$TMP/ctl.log" && leaks=1
done
((leaks == 0)) && ok "no ID number unmasked in the audit log or the logs" ||
  fail "an ID number in clear"
grep -q "${ID_X:0:6}\*" "$S/audit.log" && ok "audit: the mismatched ID number masked" ||
  fail "audit: no masked ID number"
if grep -rqF -e "$TOKEN" -e "$ORGPW" "$S/audit.log" "$TMP/authd.log" "$TMP/ctl.log"; then
  fail "registry credentials in a log"
else
  ok "registry credentials in no log"
fi
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null && ok "audit chain intact" ||
  fail "audit verify"

# ---- /metrics
fetch "$BASE/metrics"
grep -q 'yh_registry_call_seconds_count{registry="person",result="match"}' "$TMP/body" &&
  ok "metrics: registry call histogram" || fail "metrics: no histogram"

check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "a sanitizer report" "$TMP/authd.log" "$TMP/ctl.log"

# ---- bad options are refused at start, naming the option
chmod 644 "$TMP/person.token"
expect_error "credentials file 0644: refused" 'registry.person.credentials_file.*mode 0644' \
  "$AUTHD" -c "$CONF" -l "127.0.0.1:$PORT"
chmod 600 "$TMP/person.token"
sed "s|^registry.org.url = .*|registry.org.url = ftp://127.0.0.1/x|" "$CONF" >"$TMP/bad.conf"
expect_error "bad URL: refused" 'bad.conf:[0-9]+: registry.org.url' "$AUTHD" -c "$TMP/bad.conf" \
  -l "127.0.0.1:$PORT"
sed "s|^registry.org.credentials_file = .*|registry.org.credentials_file = $TMP/none|" "$CONF" >"$TMP/bad.conf"
expect_error "missing credentials file: refused" 'registry.org.credentials_file.*No such file' \
  "$AUTHD" -c "$TMP/bad.conf" -l "127.0.0.1:$PORT"

if ((FAILS)); then show_logs; echo "$FAILS check(s) failed"; exit 1; fi
echo "registry: all checks passed"
