#!/usr/bin/env bash
# Every LDAP search of a login and of the token grants that follow it is answered from
# slapd's equality indexes: authd on the LDAP directory, on a slapd (slapd.sh, the shipped
# schema and yihao-index.ldif) that runs with debug level trace, so that back-mdb logs
# "<= mdb_equality_candidates: (ATTR) not indexed" for any equality it has to test on
# every entry. Then password logins by ID number, by phone, by username and by an unknown
# identifier (the legacy usernames are searched last), the authorization code flow for a
# confidential app with openid profile phone, the code redeemed, the refresh token grant
# and /userinfo; and the log must name no attribute.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
need_authd
need_idmerge
slapd_missing && { echo "FAIL: slapd or ldap-utils not installed (apt-get install slapd ldap-utils)"; exit 1; }
make_tmp ldapidx
PIDS_TO_STOP="PID SLAPD_PID"
S=$TMP/state
mkdir -p "$S"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
CB=http://127.0.0.1:9/cb

SLAPD_DEBUG=trace slapd_start "$TMP/slapd" || die "slapd did not start"
CONF=$TMP/authd.conf
cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
directory.backend = ldap
directory.ldap_uris = $SLAPD_URI
directory.ldap_base = $SLAPD_SUFFIX
directory.ldap_bind_dn = $SLAPD_ADMIN_DN
directory.ldap_password = $SLAPD_ADMIN_PW
CONF
"$AUTHCTL" -c "$CONF" directory init >/dev/null 2>"$TMP/init.err" ||
  die "directory init: $(cat "$TMP/init.err")"
ctlc() { "$AUTHCTL" -c "$CONF" "$@" >>"$TMP/ctl.log" 2>&1 || die "authctl $*: $(tail -2 "$TMP/ctl.log")"; }
SECRET=$(openssl rand -hex 24)
ctlc client add web --secret "$SECRET" --redirect-uri "$CB" --scope openid profile phone offline_access
ID1=$(id_number 11010119850101003)
PHONE=13700137011
printf '%s\n' 'ldap pass 1' | ctlc user add --id-number "$ID1" --name 王五 --phone "$PHONE" \
  --username wangwu --password-stdin
# back-mdb skips the indexes of a search whose scope holds only a few entries: enough
# persons that every search below goes through them
for i in $(seq 1 40); do
  printf '%s\n' "other pass $i" | ctlc user add --id-number "$(id_number "$(printf '11010119900101%03d' "$i")")" \
    --name "测试$i" --password-stdin
done
# The legacy accounts of tests/fixtures/idmerge/import merged in by idmerge import: it
# looks each legacy account up by its source and id before it links it to its person.
FIX=$(cd "${YH_SRCDIR:-.}/tests/fixtures/idmerge/import" && pwd)
"$IDMERGE" run --sources "$FIX/sources.json" --out "$TMP/merged" --today 20260101 \
  >"$TMP/merge.log" 2>&1 || die "idmerge run: $(tail -5 "$TMP/merge.log")"
mark=$(wc -l <"$TMP/slapd/debug.log")
"$IDMERGE" import --in "$TMP/merged" -c "$CONF" >"$TMP/import.log" 2>&1 ||
  die "idmerge import: $(tail -5 "$TMP/import.log")"
tail -n +"$((mark + 1))" "$TMP/slapd/debug.log" >"$TMP/import-trace.log"
IFS=$'\t' read -r LEG_USER LEG_PW <<<"$("$PY" -c '
import json, sys
p = [p for p in json.load(open(sys.argv[1])) if p["scheme"] == "md5-hex"][0]
print(p["username"] + "\t" + p["password"])' "$FIX/expected.json")"

start_authd -c "$CONF"
jfield() { "$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get(sys.argv[2],""))' "$1" "$2" 2>/dev/null; }
mark=$(wc -l <"$TMP/slapd/debug.log")

for who in "$ID1" "$PHONE" wangwu; do
  login_form "j-$who" "$who" 'ldap pass 1'
  [[ $STATUS == 303 ]] && ok "login by $who" || fail "login by $who: $STATUS"
done
login_form legacy "$LEG_USER" "$LEG_PW"
[[ $STATUS == 303 ]] && ok "login by a legacy username with its legacy hash (rehashed)" ||
  fail "legacy login: $STATUS"
login_form junk no-such-name 'ldap pass 1'
[[ $STATUS == 200 ]] && ok "an unknown identifier is refused" || fail "unknown identifier: $STATUS"

if authorize_code "j-$ID1" "openid%20profile%20phone%20offline_access" web; then
  curl -s -o "$TMP/tok.json" -u "web:$SECRET" -d grant_type=authorization_code \
    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$BASE/token"
  RT=$(jfield "$TMP/tok.json" refresh_token)
  AT=$(jfield "$TMP/tok.json" access_token)
  [[ -n $RT && -n $AT ]] && ok "code redeemed (access and refresh token)" ||
    fail "code: $(cat "$TMP/tok.json")"
  curl -s -o "$TMP/rt.json" -u "web:$SECRET" -d grant_type=refresh_token \
    --data-urlencode "refresh_token=$RT" "$BASE/token"
  [[ -n $(jfield "$TMP/rt.json" id_token) ]] && ok "refresh grant with an ID token" ||
    fail "refresh: $(cat "$TMP/rt.json")"
  code=$(curl -s -o "$TMP/ui.json" -w '%{http_code}' -H "Authorization: Bearer $AT" "$BASE/userinfo")
  [[ $code == 200 ]] && ok "userinfo" || fail "userinfo: $code $(cat "$TMP/ui.json")"
fi

sleep 0.2
tail -n +"$((mark + 1))" "$TMP/slapd/debug.log" >"$TMP/during.log"
grep -q 'mdb_equality_candidates' "$TMP/during.log" &&
  ok "slapd's trace shows the searches' index look-ups" ||
  fail "no mdb_equality_candidates line in slapd's trace: the check would see nothing"
# An equality is answered from an index when slapd reads its keys ("<= mdb_equality_
# candidates: id=N" after "=> mdb_equality_candidates (ATTR)"); an unindexed one goes on
# to the next step straight away (OpenLDAP 2.5 logs "not indexed" for some of these, not
# for all: the keys read are what tells). A search is flagged when it tests an unindexed
# equality and no indexed one but objectClass gave its candidates, i.e. slapd reads every
# entry of the class. An unindexed term beside an indexed one only narrows what the
# index gave (yhPhoneVerified beside yhPhoneIndex, yhClientId beside yhOwner): fine.
unindexed() {
  awk '
  function close_search(t) {
    if (t in unidx && !(t in idx)) bad[unidx[t]] = 1
    delete unidx[t]; delete idx[t]
  }
  function settle(t) {
    if (!(t in pend)) return
    if (pend[t] != "objectClass") unidx[t] = unidx[t] pend[t] " "
    delete pend[t]
  }
  { t = $2 }
  / search_candidates: base=/ { settle(t); close_search(t); next }
  /=> mdb_equality_candidates \(/ {
    settle(t)
    a = $0; sub(/.*\(/, "", a); sub(/\).*/, "", a); pend[t] = a; next }
  /<= mdb_equality_candidates: id=/ {
    if ((t in pend) && pend[t] != "objectClass") idx[t] = 1
    delete pend[t]; next }
  /key_read|mdb_index_read/ { next }
  /mdb_search_candidates:/ { settle(t); close_search(t); next }
  { settle(t) }
  END { for (a in bad) printf "%s ", a }' "$1"
}
bad=$(unindexed "$TMP/during.log")
[[ -z $bad ]] && ok "every equality of the logins and grants is indexed" ||
  fail "slapd read every entry of a class for a search on: $bad"
grep -q 'mdb_equality_candidates' "$TMP/import-trace.log" ||
  fail "no mdb_equality_candidates line in slapd's trace of the import"
bad=$(unindexed "$TMP/import-trace.log")
[[ -z $bad ]] && ok "every equality of idmerge import is indexed" ||
  fail "idmerge import: slapd read every entry of a class for a search on: $bad"


check_stop_authd
slapd_stop
finish "ldap_indexed: all checks passed"
