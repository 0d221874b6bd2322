#!/usr/bin/env bash
# authd on the LDAP directory (directory.backend = ldap), on a throwaway slapd
# (slapd.sh) with the shipped schema: `authctl directory init` makes the base entries
# (twice: nothing changes); a person registers over HTTP, logs in and gets tokens; the
# server holds the ID number and phone sealed (neither appears in clear in a dump). The
# LDAP server stopped: /readyz 503 naming the directory, a login 503; started again, the
# service comes back by itself. `authctl directory copy` from LDAP to a SQLite file and
# back into a fresh LDAP base, each twice (idempotent, counts checked): the person, their
# password and their consent survive the round trip.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
need_authd
slapd_missing && { echo "FAIL: slapd or ldap-utils not installed (apt-get install slapd ldap-utils)"; exit 1; }

make_tmp ldapdir
SLAPD_PID= PID=
PIDS_TO_STOP="PID SLAPD_PID"
LOGS="authd slapd/slapd"
HTTP_MAX_TIME=15
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb
NOTICE=$TMP/notice.txt
printf '%s\n' '个人信息处理规则（测试）' >"$NOTICE"

slapd_start "$TMP/slapd" || die "slapd did not start"

# conf FILE BASE: authd's configuration on the LDAP directory under BASE.
conf() {
  cat >"$1" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
registration.privacy_notice_file = $NOTICE
registration.privacy_notice_version = 1
directory.backend = ldap
directory.ldap_uris = ldap://127.0.0.1:1 $SLAPD_URI
directory.ldap_base = $2
directory.ldap_bind_dn = $SLAPD_ADMIN_DN
directory.ldap_password = $SLAPD_ADMIN_PW
directory.ldap_timeout = 2
CONF
}
CONF=$TMP/authd.conf
conf "$CONF" "$SLAPD_SUFFIX"
lsearch() { ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" "$@"; }

# a bind DN without its password (an empty simple bind is an anonymous one): refused
grep -v '^directory.ldap_password' "$CONF" >"$TMP/nopw.conf"
expect_error "a bind DN without a password is refused" \
  "directory.ldap_bind_dn needs directory.ldap_password" "$AUTHCTL" -c "$TMP/nopw.conf" directory init

# ---- init, twice
out=$("$AUTHCTL" -c "$CONF" directory init 2>"$TMP/init.err") || die "directory init: $(cat "$TMP/init.err")"
[[ $out == *'"backend":"ldap"'* ]] && ok "directory init on ldap: $out" || fail "init: $out"
n1=$(lsearch -b "$SLAPD_SUFFIX" '(objectClass=*)' dn | grep -c '^dn:')
"$AUTHCTL" -c "$CONF" directory init >/dev/null 2>>"$TMP/init.err" || fail "directory init again: $(cat "$TMP/init.err")"
n2=$(lsearch -b "$SLAPD_SUFFIX" '(objectClass=*)' dn | grep -c '^dn:')
[[ $n1 -ge 7 && $n1 == "$n2" ]] && ok "init made the base and its branches ($n1 entries); again: nothing new" ||
  fail "entries after init: $n1, then $n2"

"$AUTHCTL" -c "$CONF" client add app1 --public --redirect-uri "$CB" --scope openid profile \
  >>"$TMP/ctl.log" 2>&1 || die "authctl client add: $(tail -2 "$TMP/ctl.log")"
start_authd -c "$CONF"
fetch "$BASE/readyz"
[[ $STATUS == 200 ]] && ok "/readyz 200 on the ldap directory" || fail "/readyz: $STATUS $BODY"

# ---- register, log in, tokens
ID1=$(id_number 11010119850101003)
PHONE=13700137011
register_form a 王五 "$ID1" "$PHONE" 'ldap pass 1'
[[ $STATUS == 200 && $BODY == *'注册申请已提交'* ]] && ok "registered over HTTP" || fail "register: $STATUS"
lsearch -b "ou=persons,$SLAPD_SUFFIX" '(objectClass=yhPerson)' >"$TMP/persons.ldif"
[[ $(grep -c '^yhIdIndex:' "$TMP/persons.ldif") == 1 && $(grep -c '^yhSealedPhone:' "$TMP/persons.ldif") == 1 ]] &&
  ok "one person entry in LDAP with its blind index and sealed phone" || fail "person entries: $(cat "$TMP/persons.ldif")"
lsearch -b "$SLAPD_SUFFIX" >"$TMP/dump.ldif"
if grep -qF -e "$ID1" -e "$PHONE" -e "${ID1:0:17}" "$TMP/dump.ldif"; then
  fail "the ID number or phone is in clear on the LDAP server"
else ok "neither the ID number nor the phone is on the LDAP server in clear"; fi
login_form a "$ID1" 'ldap pass 1'
[[ $STATUS == 303 ]] && ok "login with the registered password" || fail "login: $STATUS"
id_token a app1 && ok "authorization code and token grant on the ldap directory"
[[ $(lsearch -b "ou=consents,$SLAPD_SUFFIX" '(objectClass=yhConsent)' yhScope | grep -c '^yhScope: openid') == 1 ]] &&
  ok "the app consent is an LDAP entry" || fail "no consent entry"
UID1=$("$AUTHCTL" -c "$CONF" user show "$ID1" | "$PY" -c 'import sys,json;print(json.load(sys.stdin)["uid"])')
[[ -n $UID1 ]] || fail "authctl -c user show on the ldap directory"

# ---- the LDAP server down, then back
slapd_stop
fetch "$BASE/readyz"
[[ $STATUS == 503 && $BODY == *directory* ]] && ok "LDAP down: /readyz 503 naming the directory" ||
  fail "/readyz with LDAP down: $STATUS $BODY"
login_form b "$ID1" 'ldap pass 1'
[[ $STATUS == 503 ]] && ok "LDAP down: a login answers 503" || fail "login with LDAP down: $STATUS"
kill -0 "$PID" 2>/dev/null && ok "authd still runs" || fail "authd died"
slapd_run "$TMP/slapd" || die "slapd did not start again"
for _ in $(seq 1 100); do fetch "$BASE/readyz"; [[ $STATUS == 200 ]] && break; sleep 0.1; done
[[ $STATUS == 200 ]] && ok "LDAP back: /readyz 200 without a restart" || fail "/readyz after: $STATUS $BODY"
login_form c "$ID1" 'ldap pass 1'
[[ $STATUS == 303 ]] && ok "LDAP back: login works" || fail "login after: $STATUS"
stop_authd

# ---- an organization with its legal representative, copied along
ENT=91350100123456788Q
"$AUTHCTL" -c "$CONF" org add --uscc "$ENT" --name 搬迁有限公司 --legal-rep "$ID1" \
  --registry-unavailable-ok >>"$TMP/ctl.log" 2>&1 || fail "org add on ldap: $(tail -2 "$TMP/ctl.log")"

# ---- copy to SQLite and back, each twice
DB=$TMP/copy.db
copy() { "$AUTHCTL" -c "$1" directory copy --from "$2" --to "$3" 2>>"$TMP/copy.err"; }
member() { "$PY" -c 'import sys,json;print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
out=$(copy "$CONF" ldap "sqlite:$DB") || fail "copy to sqlite: $(cat "$TMP/copy.err")"
[[ $(member persons_added <<<"$out") == 1 && $(member target_persons <<<"$out") == 1 &&
   $(member passwords <<<"$out") == 1 && $(member consents <<<"$out") == 1 &&
   $(member organizations_added <<<"$out") == 1 && $(member relations <<<"$out") == 1 ]] &&
  ok "ldap -> sqlite: $out" || fail "ldap -> sqlite: $out"
out=$(copy "$CONF" ldap "sqlite:$DB") || fail "copy to sqlite again: $(cat "$TMP/copy.err")"
[[ $(member persons_added <<<"$out") == 0 && $(member persons_already_there <<<"$out") == 1 &&
   $(member target_persons <<<"$out") == 1 && $(member organizations_added <<<"$out") == 0 ]] &&
  ok "again: nothing added, counts match" ||
  fail "ldap -> sqlite again: $out"
[[ $(sqlite3 "$DB" 'SELECT count(*) FROM person') == 1 && $(sqlite3 "$DB" "SELECT uid FROM person") == "$UID1" ]] &&
  ok "the SQLite file holds the person under the same uid" || fail "sqlite rows"
CONF2=$TMP/authd2.conf
conf "$CONF2" "ou=second,$SLAPD_SUFFIX"
out=$(copy "$CONF2" "sqlite:$DB" ldap) || fail "copy to a fresh ldap base: $(cat "$TMP/copy.err")"
[[ $(member persons_added <<<"$out") == 1 && $(member target_persons <<<"$out") == 1 &&
   $(member organizations_added <<<"$out") == 1 ]] &&
  ok "sqlite -> fresh ldap base: $out" || fail "sqlite -> ldap: $out"
out=$(copy "$CONF2" "sqlite:$DB" ldap) || fail "copy to ldap again: $(cat "$TMP/copy.err")"
[[ $(member persons_added <<<"$out") == 0 && $(member target_persons <<<"$out") == 1 ]] &&
  ok "again: nothing added" || fail "sqlite -> ldap again: $out"
[[ $("$AUTHCTL" -c "$CONF2" user show "$ID1" 2>/dev/null | member uid) == "$UID1" ]] &&
  ok "the round trip keeps the uid" || fail "user show on the copy"
[[ $("$AUTHCTL" -c "$CONF2" org show "$ENT" 2>/dev/null) == *搬迁有限公司* ]] &&
  ok "the round trip keeps the organization" || fail "org show on the copy"
printf '%s\n' 'ldap pass 1' | "$AUTHCTL" -c "$CONF2" user check-password "$ID1" --password-stdin \
  >/dev/null 2>&1 && ok "the round trip keeps the password" || fail "check-password on the copy"
copy "$CONF" "sqlite:$DB" "sqlite:$TMP/x.db" >/dev/null && fail "copy between two files accepted"
[[ $(audit_count directory.copy) -ge 4 ]] && ok "each copy is in the audit trail" ||
  fail "audit: $(audit_count directory.copy) directory.copy lines"
no_sanitizer_in "a sanitizer report from authd or authctl" "$TMP/authd.log" "$TMP/copy.err" \
  "$TMP/init.err" "$TMP/ctl.log"
finish "ldap_directory: all checks passed"
