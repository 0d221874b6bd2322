#!/usr/bin/env bash
# Two authd with two state directories (standing for two hosts, nothing shared on disk)
# on one LDAP directory: the vault and subject keys copied from the first to the second
# (what an operator does once); a person registered through node 1 logs in at node 2;
# an app registered through node 1 (authctl, writing node 1's clients.json) reaches node
# 2 through the directory without a restart and works there; removed on node 1, node 2
# refuses it too; a node started later gets the registry from the directory at once.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
need_authd
slapd_missing && { echo "FAIL: slapd or ldap-utils not installed (apt-get install slapd ldap-utils)"; exit 1; }

make_tmp multihost
SLAPD_PID= PID= PID1= PID2= PID3=
PIDS_TO_STOP="PID PID1 PID2 PID3 SLAPD_PID"
LOGS="authd1 authd2 authd3 slapd/slapd"
HTTP_MAX_TIME=15
CB=http://127.0.0.1:9/cb
NOTICE=$TMP/notice.txt
printf '%s\n' '个人信息处理规则（测试）' >"$NOTICE"

slapd_start "$TMP/slapd" || die "slapd did not start"

# conf N: node N's configuration (its own state directory and port).
conf() {
  cat >"$TMP/authd$1.conf" <<CONF
state_dir = $TMP/state$1
http.listen = 127.0.0.1:${PORTS[$1]}
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
registration.privacy_notice_file = $NOTICE
registration.privacy_notice_version = 1
directory.backend = ldap
directory.ldap_uris = $SLAPD_URI
directory.ldap_base = $SLAPD_SUFFIX
directory.ldap_bind_dn = $SLAPD_ADMIN_DN
directory.ldap_password = $SLAPD_ADMIN_PW
directory.ldap_timeout = 2
CONF
}
declare -A PORTS
for n in 1 2 3; do PORTS[$n]=$(free_port); conf "$n"; done
# node N: start it (its log authdN.log); sets PIDN.
node_start() {
  PORT=${PORTS[$1]} AUTHD_LOG=$TMP/authd$1.log start_authd -c "$TMP/authd$1.conf"
  printf -v "PID$1" '%s' "$PID"
  PID=
}
at() { BASE=http://127.0.0.1:${PORTS[$1]}; }

"$AUTHCTL" -c "$TMP/authd1.conf" directory init >/dev/null 2>"$TMP/init.err" ||
  die "directory init: $(cat "$TMP/init.err")"
node_start 1
# The secrets that must be the same on every node: the vault key (sealing and blind
# indexes) and the subject key (pairwise subjects), copied as the files.
mkdir -m 0700 "$TMP/state2" "$TMP/state3"
for f in vault.key subject.key; do
  install -m 0600 "$TMP/state1/$f" "$TMP/state2/$f"
  install -m 0600 "$TMP/state1/$f" "$TMP/state3/$f"
done
node_start 2

# ---- a person registered on node 1 logs in on node 2
at 1
ID1=$(id_number 11010119850101004)
req a GET /register
tok=$(form_value csrf)
ver=$(form_value notice_version)
req a POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
  --data-urlencode "name=赵六" --data-urlencode "id_number=$ID1" \
  --data-urlencode "phone=13700137021" --data-urlencode "password=multi host 1" \
  --data-urlencode "password2=multi host 1" --data-urlencode "agree=yes" \
  --data-urlencode "notice_version=$ver" --data-urlencode "consent_id_number=yes"
[[ $STATUS == 200 ]] && ok "registered through node 1" || fail "register on node 1: $STATUS"
at 2
login_form b "$ID1" 'multi host 1'
[[ $STATUS == 303 ]] && ok "that person logs in through node 2" || fail "login on node 2: $STATUS"

# ---- an app registered on node 1 reaches node 2 without a restart
known_at() {   # known_at N CLIENT: /authorize at node N does not refuse CLIENT
  at "$1"
  req - GET "/authorize?response_type=code&client_id=$2&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
  [[ $STATUS == 302 && $LOCATION != *error=* ]]
}
known_at 2 app1 && fail "node 2 knows app1 before it is registered"
"$AUTHCTL" -c "$TMP/authd1.conf" client add app1 --public --redirect-uri "$CB" --scope openid profile \
  >>"$TMP/ctl.log" 2>&1 || die "authctl client add on node 1: $(tail -2 "$TMP/ctl.log")"
t0=$(date +%s%N)
seen=
for _ in $(seq 1 100); do known_at 2 app1 && { seen=1; break; }; sleep 0.1; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ -n $seen ]] && ok "app1 registered through node 1 is known to node 2 after ${ms} ms, no restart" ||
  fail "node 2 does not know app1 (last: $STATUS $LOCATION)"
kill -0 "$PID2" 2>/dev/null && ok "node 2 was not restarted" || fail "node 2 is gone"
at 2
id_token b app1 && ok "node 2 runs the code flow for app1 (session made on node 2)"
[[ -s $TMP/state2/clients.json ]] && grep -q '"app1"' "$TMP/state2/clients.json" &&
  ok "node 2 keeps the registry in its own state directory" || fail "node 2's clients.json"

# ---- a node started later has the registry at once
node_start 3
known_at 3 app1 && ok "node 3, started later, knows app1 from its first request" ||
  fail "node 3 does not know app1: $STATUS $LOCATION"

# ---- removed on node 1: refused on node 2
"$AUTHCTL" -c "$TMP/authd1.conf" client remove app1 >>"$TMP/ctl.log" 2>&1 ||
  fail "authctl client remove on node 1: $(tail -2 "$TMP/ctl.log")"
gone=
for _ in $(seq 1 100); do known_at 2 app1 || { gone=1; break; }; sleep 0.1; done
[[ -n $gone ]] && ok "app1 removed through node 1 is refused by node 2" ||
  fail "node 2 still serves app1 after its removal"

# ---- a change made on node 2 while node 1 is stopped reaches node 1 when it starts
PID=$PID1; stop_authd; PID1=
"$AUTHCTL" -c "$TMP/authd2.conf" client add app2 --public --redirect-uri "$CB" --scope openid \
  >>"$TMP/ctl.log" 2>&1 || fail "authctl client add on node 2: $(tail -2 "$TMP/ctl.log")"
for _ in $(seq 1 50); do
  [[ $(ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
    -b "ou=meta,$SLAPD_SUFFIX" '(yhKey=shared.apps)' yhValue 2>/dev/null) == *app2* ]] && break
  sleep 0.1
done
node_start 1
known_at 1 app2 && ok "node 1, restarted, knows app2 registered through node 2 meanwhile" ||
  fail "node 1 does not know app2: $STATUS $LOCATION"
known_at 1 app1 && fail "node 1 serves app1 again after its removal"

for n in 1 2 3; do
  p=PID$n
  [[ -n ${!p} ]] || continue
  PID=${!p}; stop_authd || fail "node $n exited with an error"; printf -v "$p" '%s' ""
done
no_sanitizer_in "a sanitizer report from authd or authctl" "$TMP"/authd?.log "$TMP/ctl.log"
finish "multi_host: all checks passed"
