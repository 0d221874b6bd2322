#!/usr/bin/env bash
# The app registry shared through the LDAP directory is one LDAP value, and an LDAP
# server refuses a message past its sockbuf_max_incoming_auth (slapd: 4 MiB by default;
# 128 KiB here to keep the test small): authd and authctl keep the registry under
# directory.ldap_value_max (64 KiB here). Two nodes on one slapd: apps with many long
# redirect URIs are added through node 1 until `authctl client add` refuses one, naming
# the option; the refused add changes nothing, and node 2 has every app node 1 has (no
# silent divergence). Then a registry grown past the limit behind authd's back (authctl
# with a larger limit on node 1's state directory) is not sent to the directory: node 1
# logs an error naming the size and the option, and node 2 keeps the last shared one.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
need_authd
slapd_missing && { echo "FAIL: slapd or ldap-utils not installed (apt-get install slapd ldap-utils)"; exit 1; }

make_tmp regsize
SLAPD_PID= PID= PID1= PID2=
PIDS_TO_STOP="PID PID1 PID2 SLAPD_PID"
LOGS="authd1 authd2 slapd/slapd"
HTTP_MAX_TIME=15
CB=http://127.0.0.1:9/cb
VALUE_MAX=65536

slapd_start "$TMP/slapd" || die "slapd did not start"
ldapmodify -Q -Y EXTERNAL -H "$SLAPD_LDAPI" >"$TMP/sockbuf.log" 2>&1 <<LDIF ||
dn: cn=config
changetype: modify
replace: olcSockbufMaxIncomingAuth
olcSockbufMaxIncomingAuth: 131072
LDIF
  die "cannot lower slapd's sockbuf_max_incoming_auth: $(cat "$TMP/sockbuf.log")"

declare -A PORTS
# conf N [VALUE_MAX]: node N's configuration.
conf() {
  cat >"$TMP/authd$1${2:+big}.conf" <<CONF
state_dir = $TMP/state$1
http.listen = 127.0.0.1:${PORTS[$1]}
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
directory.backend = ldap
directory.ldap_uris = $SLAPD_URI
directory.ldap_base = $SLAPD_SUFFIX
directory.ldap_bind_dn = $SLAPD_ADMIN_DN
directory.ldap_password = $SLAPD_ADMIN_PW
directory.ldap_timeout = 2
directory.ldap_value_max = ${2:-$VALUE_MAX}
issuer = http://127.0.0.1:${PORTS[1]}
CONF
}
for n in 1 2; do PORTS[$n]=$(free_port); conf "$n"; done
conf 1 1048576
node_start() {
  PORT=${PORTS[$1]} AUTHD_LOG=$TMP/authd$1.log start_authd -c "$TMP/authd$1.conf"
  printf -v "PID$1" '%s' "$PID"
  PID=
}
known_at() {   # known_at N CLIENT: /authorize at node N does not refuse CLIENT
  BASE=http://127.0.0.1:${PORTS[$1]}
  req - GET "/authorize?response_type=code&client_id=$2&redirect_uri=$(enc "$CB")&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
  [[ $STATUS == 302 && $LOCATION != *error=* ]]
}

"$AUTHCTL" -c "$TMP/authd1.conf" directory init >/dev/null 2>"$TMP/init.err" ||
  die "directory init: $(cat "$TMP/init.err")"
node_start 1
mkdir -m 0700 "$TMP/state2"
for f in vault.key subject.key; do install -m 0600 "$TMP/state1/$f" "$TMP/state2/$f"; done
node_start 2

# big_app CONF ID: a public app with 16 redirect URIs of about 1000 bytes (~16 KiB).
big_app() {
  local -a uris=("$CB") i
  for i in $(seq 2 16); do uris+=("https://app.example/$2/$i/$(printf 'x%.0s' $(seq 1 960))"); done
  "$AUTHCTL" -c "$1" client add "$2" --public --redirect-uri "${uris[@]}" --scope openid \
    >"$TMP/add.out" 2>"$TMP/add.err"
}
last= refused=
for i in $(seq 1 10); do
  sum=$(sha256sum <"$TMP/state1/clients.json" 2>/dev/null)
  if big_app "$TMP/authd1.conf" "big$i"; then last=big$i; continue; fi
  refused=big$i
  break
done
size=$(stat -c %s "$TMP/state1/clients.json")
[[ -n $refused && -n $last && $size -le $VALUE_MAX ]] &&
  ok "authctl client add refuses $refused: the registry would pass directory.ldap_value_max ($size bytes kept)" ||
  fail "no refusal below the limit: last added $last, refused '$refused', $size bytes"
grep -q 'directory.ldap_value_max' "$TMP/add.err" && ok "the refusal names the option: $(head -c 200 "$TMP/add.err")" ||
  fail "authctl's refusal: $(cat "$TMP/add.err")"
[[ $(sha256sum <"$TMP/state1/clients.json") == "$sum" ]] && ok "the refused add left clients.json as it was" ||
  fail "the refused add changed clients.json"
seen=
for _ in $(seq 1 100); do known_at 2 "$last" && { seen=1; break; }; sleep 0.1; done
[[ -n $seen ]] && ok "node 2 has $last, the last app node 1 took: the two agree" ||
  fail "node 2 does not have $last: the nodes diverge"
known_at 2 "$refused" && fail "node 2 knows the refused $refused"
grep -qi 'cannot write the registry\|cannot share the registry' "$TMP/authd1.log" &&
  fail "node 1 failed to share a registry under the limit: $(grep -i 'registry' "$TMP/authd1.log" | tail -2)"

# ---- grown past the limit behind authd's back: not sent, logged, node 2 unchanged
big_app "$TMP/authd1big.conf" "$refused" || fail "authctl with the larger limit: $(cat "$TMP/add.err")"
for i in 101 102 103 104 105 106; do big_app "$TMP/authd1big.conf" "big$i" || break; done
size=$(stat -c %s "$TMP/state1/clients.json")
for _ in $(seq 1 50); do grep -q 'cannot share the registry' "$TMP/authd1.log" && break; sleep 0.1; done
grep -q "cannot share the registry: .*it takes [0-9]* bytes, more than directory.ldap_value_max ($VALUE_MAX)" "$TMP/authd1.log" &&
  ok "node 1 logs that the registry ($size bytes now) is not shared, naming the option" ||
  fail "node 1's log: $(grep -i 'registry' "$TMP/authd1.log" | tail -3)"
sleep 1.5
known_at 2 "$refused" && fail "node 2 got a registry past the limit"
known_at 2 "$last" && ok "node 2 keeps the last shared registry" || fail "node 2 lost $last"
[[ $(grep -c 'cannot share the registry' "$TMP/authd1.log") == 1 ]] &&
  ok "the error is logged once, not every second" ||
  fail "the error is logged $(grep -c 'cannot share the registry' "$TMP/authd1.log") times"

for n in 1 2; do
  p=PID$n
  PID=${!p}; stop_authd || fail "node $n exited with an error"; printf -v "$p" '%s' ""
done
no_sanitizer_in "a sanitizer report from authd or authctl" "$TMP"/authd?.log "$TMP/add.err"
finish "ldap_registry_size: all checks passed"
