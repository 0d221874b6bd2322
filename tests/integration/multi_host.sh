#!/usr/bin/env bash
# Two authd with two state directories (standing for two hosts, nothing shared on disk)
# on two slapd providers in multi-provider replication (every node lists both URIs) and
# one redis-server (sessions), one issuer: the vault key, the subject key and the
# client-secret key copied from the first to the second (what an operator does once,
# docs/operations.md "Running on several hosts"); a person registered through node 1
# logs in at node 2; an app registered through node 1 (authctl, writing node 1's
# clients.json) reaches node 2 through the directory without a restart and works there;
# a session made on node 1 gets a code at node 2 without a login (single sign-on); each
# node keeps its own signing keys, both publish one JWKS listing all of them, node 1's
# access token is accepted by node 2's userinfo and an app's token from node 1 is active
# at node 2's introspection; removed on node 1, the app is refused by node 2 too; a node
# started later gets the registry from the directory at once, and one restarted gets the
# changes made meanwhile; a public key written straight into ou=meta without the tag
# only the nodes can make (they hold the subject key, the LDAP server does not) is
# refused by every node, logged, and a token signed by it is refused; /logout at node 2
# acts on node 1's ID token as id_token_hint and refuses an altered one. Then one slapd is stopped mid-run: logins go on through the
# other, a person registers meanwhile; the stopped one started again catches up (that
# person's entry is on it), and with the other stopped the new person logs in.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
need_authd
REDIS=$(command -v redis-server) || { echo "FAIL: redis-server not installed"; exit 1; }
slapd_missing && { echo "FAIL: slapd or ldap-utils not installed (apt-get install slapd ldap-utils)"; exit 1; }

make_tmp multihost
SLAPD_PID= PID= PID1= PID2= PID3= RPID= SA= SB=
PIDS_TO_STOP="PID PID1 PID2 PID3 SLAPD_PID SA SB RPID"
LOGS="authd1 authd2 authd3 slapdA/slapd slapdB/slapd redis"
HTTP_MAX_TIME=15
CB=http://127.0.0.1:9/cb
NOTICE=$TMP/notice.txt
printf '%s\n' '个人信息处理规则（测试）' >"$NOTICE"

# ---- two providers replicating each other
PA=$(free_port)
PB=$(free_port)
SLAPD_SERVER_ID=1 SLAPD_PEERS=ldap://127.0.0.1:$PB slapd_start "$TMP/slapdA" "$PA" ||
  die "slapd A did not start"
SA=$SLAPD_PID URI_A=$SLAPD_URI
SLAPD_SERVER_ID=2 SLAPD_PEERS=ldap://127.0.0.1:$PA slapd_start "$TMP/slapdB" "$PB" ||
  die "slapd B did not start"
SB=$SLAPD_PID URI_B=$SLAPD_URI
SLAPD_PID=
lcount() {  # lcount URI FILTER: how many entries under the suffix match
  ldapsearch -x -LLL -o ldif-wrap=no -H "$1" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
    -b "$SLAPD_SUFFIX" "$2" dn 2>/dev/null | grep -c '^dn:'
}
RPORT=$(free_port)
"$REDIS" --save "" --appendonly no --bind 127.0.0.1 --port "$RPORT" --daemonize no \
  --dir "$TMP" >>"$TMP/redis.log" 2>&1 &
RPID=$!
for _ in $(seq 1 200); do
  [[ $(redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null) == PONG ]] && break
  sleep 0.05
done

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
directory.ldap_uris = $URI_A $URI_B
directory.ldap_base = $SLAPD_SUFFIX
directory.ldap_bind_dn = $SLAPD_ADMIN_DN
directory.ldap_password = $SLAPD_ADMIN_PW
directory.ldap_timeout = 2
issuer = http://127.0.0.1:${PORTS[1]}
session.backend = redis
session.redis_host = 127.0.0.1
session.redis_port = $RPORT
session.redis_prefix = yhmh:
CONF
}
declare -A PORTS
for n in 1 2 3; do PORTS[$n]=$(free_port); done
for n in 1 2 3; do conf "$n"; done
# node N: start it (its log authdN.log); sets PIDN.
node_start() {
  PORT=${PORTS[$1]} AUTHD_LOG=$TMP/authd$1.log start_authd -c "$TMP/authd$1.conf"
  printf -v "PID$1" '%s' "$PID"
  PID=
}
at() { BASE=http://127.0.0.1:${PORTS[$1]}; }

"$AUTHCTL" -c "$TMP/authd1.conf" directory init >/dev/null 2>"$TMP/init.err" ||
  die "directory init: $(cat "$TMP/init.err")"
for _ in $(seq 1 100); do [[ $(lcount "$URI_B" '(ou=persons)') == 1 ]] && break; sleep 0.1; done
[[ $(lcount "$URI_B" '(ou=persons)') == 1 ]] && ok "the base entries made on slapd A are on slapd B" ||
  fail "replication A -> B: no ou=persons on B"
node_start 1
# A resource server's confidential app, registered on node 1 before node 2 exists (it
# makes the client-secret key).
RS_SECRET=$(openssl rand -hex 24)
"$AUTHCTL" -c "$TMP/authd1.conf" client add rs --secret "$RS_SECRET" --grant client_credentials \
  >>"$TMP/ctl.log" 2>&1 || die "authctl client add rs: $(tail -2 "$TMP/ctl.log")"
# The secrets that must be the same on every node: the vault key (sealing and blind
# indexes), the subject key (pairwise subjects) and the client-secret key, copied as
# files. Each node makes its own signing keys and publishes the public ones through the
# directory.
mkdir -m 0700 "$TMP/state2" "$TMP/state3"
for n in 2 3; do
  for f in vault.key subject.key client-secret.key; do
    install -m 0600 "$TMP/state1/$f" "$TMP/state$n/$f"
  done
done
node_start 2

# ---- a person registered on node 1 logs in on node 2
at 1
ID1=$(id_number 11010119850101004)
register_form a 赵六 "$ID1" 13700137021 'multi host 1'
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
BYE=http://127.0.0.1:9/bye
"$AUTHCTL" -c "$TMP/authd1.conf" client add app1 --public --redirect-uri "$CB" --scope openid profile \
  --post-logout-redirect-uri "$BYE" \
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

# ---- single sign-on across the nodes, a token of node 1 at node 2, one JWKS
at 1
login_form sso "$ID1" 'multi host 1'
[[ $STATUS == 303 ]] || fail "login on node 1: $STATUS"
at 2
authorize_code sso openid app1 && ok "a session made on node 1 gets a code at node 2 without a login"
at 1
id_token sso app1 || fail "tokens from node 1"
at 2
fetch "$BASE/userinfo" -H "Authorization: Bearer $AT"
[[ $STATUS == 200 && $BODY == *'"sub"'* ]] && ok "node 2's userinfo accepts node 1's access token" ||
  fail "userinfo at node 2 with node 1's token: $STATUS $BODY"
at 1
req - POST /token -H "Authorization: $(basic rs "$RS_SECRET")" -d grant_type=client_credentials
RS_AT=$(jget access_token)
[[ -n $RS_AT ]] || fail "client_credentials at node 1: $STATUS $BODY"
at 2
req - POST /introspect -H "Authorization: $(basic rs "$RS_SECRET")" --data-urlencode "token=$RS_AT"
[[ $STATUS == 200 && $BODY == *'"active":true'* ]] &&
  ok "node 2 introspects an access token node 1 signed: active (the client secret checks out there too)" ||
  fail "introspection at node 2: $STATUS $BODY"
kids() { "$PY" -c 'import sys,json;print(" ".join(sorted(k["kid"] for k in json.loads(sys.argv[1])["keys"])))' "$1"; }
for _ in $(seq 1 50); do
  at 1; fetch "$BASE/jwks"; j1=$(kids "$BODY")
  at 2; fetch "$BASE/jwks"; j2=$(kids "$BODY")
  [[ -n $j1 && $j1 == "$j2" ]] && break
  sleep 0.1
done
own1=$(find "$TMP/state1/keys" -name '*.pem' | wc -l)
own2=$(find "$TMP/state2/keys" -name '*.pem' | wc -l)
[[ -n $j1 && $j1 == "$j2" && $(wc -w <<<"$j1") == $((own1 + own2)) ]] &&
  ok "both nodes publish one JWKS: the keys of both ($own1 + $own2)" ||
  fail "the JWKS differ or miss keys: node 1 '$j1', node 2 '$j2'"
cmp -s <(ls "$TMP/state1/keys") <(ls "$TMP/state2/keys") &&
  fail "the two nodes hold the same key files" || ok "each node holds its own private keys"

# ---- a key written into ou=meta by someone who can write the directory but lacks the
# subject key (the LDAP server's administrator, a stolen bind password): not trusted.
# forge jwks KEYFILE KID: makes an EC P-256 key, prints its JWKS; forge sign KEYFILE KID
# TOKEN: TOKEN's header and claims signed by that key under KID.
forge() {
  "$PY" - "$@" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
unb64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
mode, path, kid = sys.argv[1:4]
if mode == "jwks":
    k = ec.generate_private_key(ec.SECP256R1())
    open(path, "wb").write(k.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    n = k.public_key().public_numbers()
    print(json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
        "alg": "ES256", "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}]}))
else:
    k = serialization.load_pem_private_key(open(path, "rb").read(), None)
    head, body = sys.argv[4].split(".")[:2]
    h = json.loads(unb64(head)); h["alg"] = "ES256"; h["kid"] = kid
    si = b64(json.dumps(h, separators=(",", ":")).encode()) + "." + body
    r, s = decode_dss_signature(k.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
    print(si + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big")))
PY
}
EVIL_JWKS=$(forge jwks "$TMP/evil.pem" evil-kid) || die "cannot make the attacker's key"
meta_add() {  # meta_add NAME VALUE: a shared document written straight into slapd A
  ldapadd -x -H "$URI_A" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" >>"$TMP/ldapadd.log" 2>&1 <<LDIF
dn: yhKey=shared.$1,ou=meta,$SLAPD_SUFFIX
objectClass: yhSetting
yhKey: shared.$1
yhValue: $2
LDIF
}
now=$(date +%s)
meta_add jwks_0badc0de0badc0de "{\"at\":$now,\"jwks\":$EVIL_JWKS}" ||
  fail "ldapadd of an untagged key document: $(tail -2 "$TMP/ldapadd.log")"
meta_add jwks_0badc0de0badc0df "{\"at\":$now,\"jwks\":$EVIL_JWKS,\"mac\":\"$(openssl rand -hex 32)\"}" ||
  fail "ldapadd of a wrongly tagged key document: $(tail -2 "$TMP/ldapadd.log")"
for _ in $(seq 1 50); do
  grep -q 'jwks_0badc0de0badc0df.*refused' "$TMP/authd2.log" && break
  at 2; fetch "$BASE/jwks"; [[ $BODY == *evil-kid* ]] && break
  sleep 0.1
done
sleep 1.5   # another round on each node
for n in 1 2; do
  at "$n"; fetch "$BASE/jwks"
  [[ $STATUS == 200 && $BODY != *evil-kid* ]] &&
    ok "node $n does not publish a key written into the directory without the installation's tag" ||
    fail "node $n publishes the attacker's key: $BODY"
  grep -q 'node 0badc0de0badc0de) are refused: their tag is missing' "$TMP/authd$n.log" &&
    grep -q 'node 0badc0de0badc0df) are refused: their tag is wrong' "$TMP/authd$n.log" &&
    ok "node $n logs both documents as refused, naming the node" ||
    fail "node $n's log does not name the refused documents"
done
EVIL_AT=$(forge sign "$TMP/evil.pem" evil-kid "$AT")
EVIL_RS_AT=$(forge sign "$TMP/evil.pem" evil-kid "$RS_AT")
at 2
fetch "$BASE/userinfo" -H "Authorization: Bearer $EVIL_AT"
[[ $STATUS == 401 ]] && ok "node 2's userinfo refuses an access token signed by the attacker's key" ||
  fail "userinfo at node 2 with the attacker's token: $STATUS $BODY"
req - POST /introspect -H "Authorization: $(basic rs "$RS_SECRET")" --data-urlencode "token=$EVIL_RS_AT"
[[ $STATUS == 200 && $BODY == *'"active":false'* ]] &&
  ok "node 2's introspection: a token signed by the attacker's key is not active" ||
  fail "introspection at node 2 of the attacker's token: $STATUS $BODY"
fetch "$BASE/userinfo" -H "Authorization: Bearer $AT"
[[ $STATUS == 200 ]] && ok "node 1's real access token is still accepted by node 2" ||
  fail "userinfo at node 2 with node 1's token after the forged documents: $STATUS $BODY"
for d in jwks_0badc0de0badc0de jwks_0badc0de0badc0df; do
  ldapdelete -x -H "$URI_A" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
    "yhKey=shared.$d,ou=meta,$SLAPD_SUFFIX" >>"$TMP/ldapadd.log" 2>&1
done

# ---- RP-initiated logout at node 2 with node 1's ID token as the hint: an altered hint
# is not acted on (an error page, no redirect, the session goes on); the real one ends
# the session and sends the browser back to the app.
BAD_IDT=$("$PY" -c '
import base64, json, sys
h, p, s = sys.argv[1].split(".")
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
c["sub"] = "x" + c["sub"]
print(h + "." + base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode() + "." + s)' "$IDT")
at 2
for jar in sso -; do
  req "$jar" GET "/logout?id_token_hint=$BAD_IDT&client_id=app1&post_logout_redirect_uri=$(enc "$BYE")&state=lo1"
  [[ $STATUS == 400 && -z $LOCATION && $BODY == *'身份令牌未通过校验'* ]] &&
    ok "node 2's /logout refuses an altered id_token_hint ($([[ $jar == - ]] && echo "no" || echo "a") session cookie): 400 page, no redirect" ||
    fail "/logout at node 2 with an altered hint ($jar): $STATUS '$LOCATION'"
done
grep -q 'logout: id_token_hint refused' "$TMP/authd2.log" && ok "node 2 logs the refused hint" ||
  fail "node 2 does not log the refused hint"
authorize_code sso openid app1 && ok "the session goes on after the altered hint"
req sso GET "/logout?id_token_hint=$IDT&post_logout_redirect_uri=$(enc "$BYE")&state=lo2"
[[ $STATUS == 302 && $LOCATION == "$BYE?state=lo2" ]] &&
  ok "node 2's /logout acts on node 1's id_token_hint: back to the app's registered URI" ||
  fail "/logout at node 2 with node 1's hint: $STATUS '$LOCATION' $BODY"
req sso GET "/authorize?response_type=code&client_id=app1&redirect_uri=$(enc "$CB")&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
[[ $STATUS == 302 && $LOCATION != "$CB"* ]] && ok "that session is over (the next /authorize asks for a login)" ||
  fail "the session survived the logout: $STATUS '$LOCATION'"

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
  [[ $(ldapsearch -x -LLL -o ldif-wrap=no -H "$URI_A" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
    -b "ou=meta,$SLAPD_SUFFIX" '(yhKey=shared.apps)' yhValue 2>/dev/null) == *app2* ]] && break
  sleep 0.1
done
node_start 1
known_at 1 app2 && ok "node 1, restarted, knows app2 registered through node 2 meanwhile" ||
  fail "node 1 does not know app2: $STATUS $LOCATION"
known_at 1 app1 && fail "node 1 serves app1 again after its removal"

# ---- slapd A stopped mid-run: logins go on through B; a person registers meanwhile
slapd_stop "$TMP/slapdA"; SA=
at 2
login_form k1 "$ID1" 'multi host 1'
[[ $STATUS == 303 ]] && ok "slapd A down: a login through node 2 goes to slapd B" ||
  fail "login with slapd A down: $STATUS"
at 1
ID2=$(id_number 11010119850101005)
register_form r2 钱七 "$ID2" 13700137022 'multi host 2'
[[ $STATUS == 200 ]] && ok "slapd A down: a person registers through node 1" ||
  fail "register with slapd A down: $STATUS"
[[ $(lcount "$URI_B" '(objectClass=yhPerson)') == 2 ]] || fail "slapd B does not hold 2 persons"

# ---- slapd A back: it catches up; with B stopped the new person logs in through A
slapd_run "$TMP/slapdA" || die "slapd A did not start again"
SA=$SLAPD_PID
SLAPD_PID=
for _ in $(seq 1 100); do [[ $(lcount "$URI_A" '(objectClass=yhPerson)') == 2 ]] && break; sleep 0.1; done
[[ $(lcount "$URI_A" '(objectClass=yhPerson)') == 2 ]] &&
  ok "slapd A, started again, caught up: the person registered while it was down is on it" ||
  fail "slapd A did not catch up: $(lcount "$URI_A" '(objectClass=yhPerson)') persons"
slapd_stop "$TMP/slapdB"; SB=
at 2
login_form k2 "$ID2" 'multi host 2'
[[ $STATUS == 303 ]] && ok "slapd B down: the person registered meanwhile logs in through slapd A" ||
  fail "login of the new person through slapd A: $STATUS"

for n in 1 2 3; do
  p=PID$n
  [[ -n ${!p} ]] || continue
  PID=${!p}; stop_authd || fail "node $n exited with an error"; printf -v "$p" '%s' ""
done
no_sanitizer_in "a sanitizer report from authd or authctl" "$TMP"/authd?.log "$TMP/ctl.log"
finish "multi_host: all checks passed"
