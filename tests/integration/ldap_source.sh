#!/usr/bin/env bash
# A department's own LDAP directory as a login source (ldap_source.NAME.*), against a
# throwaway slapd (tests/integration/slapd.sh) holding a department tree of
# inetOrgPerson staff entries whose employeeNumber is the resident ID number. authd
# reaches slapd through a small counting TCP relay, so that the test knows how many
# connections (each login is one: search, then bind) reached the directory.
#
#  - authd -t and authctl -c refuse a bad block with file:line (a missing placeholder,
#    a wrong scheme, an unknown option);
#  - the block lists a URI where nothing listens first: the second one serves;
#  - a staff member logs in as "dept\zhang" with the department password: the staff
#    relation of the block's agency appears (`authctl staff list`, unit from ou and
#    position from title), the staff login policy sends the session to the TOTP step,
#    and after it the service-hall counter opens and names the unit, and the account
#    page shows how the session was opened (amr pwd + ldap);
#  - a unit changed in the directory: the next login moves the relation to it;
#  - StartTLS with the server's CA file logs in; with another CA it is refused (503);
#  - a wrong password and an unknown user answer the same page;
#  - filter injection ("*)(uid=*", "zhan*") finds nobody;
#  - repeated wrong passwords lock in Yihao, and then not one more connection reaches
#    slapd;
#  - slapd stopped: a page that says the directory cannot be reached (503), audited,
#    while a local password login works;
#  - a SIGHUP that removes the block makes DEPT\user an ordinary login again;
#  - the department password appears in no log of authd and not in its audit log.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
need_authd
if slapd_missing; then echo "SKIP: slapd is not installed"; exit 77; fi
make_tmp ldap-source
PID= RPID=
PIDS_TO_STOP="PID RPID SPID"
trap 'cleanup; slapd_stop "$TMP/ldap" 2>/dev/null' EXIT

PORT=$(free_port)
RPORT=$(free_port)
DEADPORT=$(free_port)           # nothing listens: the first URI fails, the second serves
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
GOV=11350100003000014R
STAFF_ID=$(id_number 11010119800101123)
STAFF_LOCAL_PW='Local password 2026!'
DEPT_PW='Dept-Secret-Zhang-7731'
OTHER_ID=$(id_number 11010119850505123)
OTHER_PW='Other password 2026!'
SVC_PW='search-account-pw'
UNIT=综合受理窗口

check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
b64() { printf '%s' "$1" | base64 -w0; }
conns() { cat "$TMP/conns" 2>/dev/null || echo 0; }

# login_to JAR USER PASSWORD NEXT: the login form with next NEXT; STATUS... of the POST.
login_to() {
  local tok
  req "$1" GET "/login?next=$(enc "$4")"
  tok=$(form_value csrf)
  req "$1" POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=$4" \
    --data-urlencode "username=$2" --data-urlencode "password=$3"
}

# ---- slapd with a department tree, behind a counting relay
slapd_start "$TMP/ldap" || die "slapd did not start"
# A department's usual rules: passwords only for binding, entries readable by accounts.
ldapmodify -Q -Y EXTERNAL -H "$SLAPD_LDAPI" >"$TMP/acl.log" 2>&1 <<LDIF || die "acl: $(cat "$TMP/acl.log")"
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {1}to attrs=userPassword by anonymous auth by * none
olcAccess: {2}to * by users read by * none
LDIF
# StartTLS with a certificate for 127.0.0.1, and another CA that did not sign it.
for n in ca other; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/$n.key" -out "$TMP/$n.pem" -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >"$TMP/openssl.log" 2>&1 ||
    die "openssl: $(cat "$TMP/openssl.log")"
done
ldapmodify -Q -Y EXTERNAL -H "$SLAPD_LDAPI" >"$TMP/tls.log" 2>&1 <<LDIF || die "tls: $(cat "$TMP/tls.log")"
dn: cn=config
changetype: modify
replace: olcTLSCACertificateFile
olcTLSCACertificateFile: $TMP/ca.pem
-
replace: olcTLSCertificateFile
olcTLSCertificateFile: $TMP/ca.pem
-
replace: olcTLSCertificateKeyFile
olcTLSCertificateKeyFile: $TMP/ca.key
LDIF
ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" >"$TMP/ldapadd.log" 2>&1 <<LDIF || die "ldapadd: $(cat "$TMP/ldapadd.log")"
dn: $SLAPD_SUFFIX
objectClass: dcObject
objectClass: organization
dc: yihao
o: yihao

dn: ou=dept,$SLAPD_SUFFIX
objectClass: organizationalUnit
ou: dept

dn: cn=reader,ou=dept,$SLAPD_SUFFIX
objectClass: inetOrgPerson
cn: reader
sn: reader
userPassword: $SVC_PW

dn: uid=zhang,ou=dept,$SLAPD_SUFFIX
objectClass: inetOrgPerson
uid: zhang
cn:: $(b64 张伟)
sn:: $(b64 张)
ou:: $(b64 "$UNIT")
title:: $(b64 科员)
employeeNumber: $STAFF_ID
userPassword: $DEPT_PW

dn: uid=zhao,ou=dept,$SLAPD_SUFFIX
objectClass: inetOrgPerson
uid: zhao
cn: zhao
sn: zhao
employeeNumber: $(id_number 11010119700101999)
userPassword: zhao-dept-pw
LDIF

cat >"$TMP/relay.py" <<'EOF'
import asyncio, sys
lport, tport, countfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
n = 0
async def pipe(r, w):
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            w.write(b)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(cr, cw):
    global n
    n += 1
    open(countfile, "w").write(str(n))
    try:
        sr, sw = await asyncio.open_connection("127.0.0.1", tport)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", lport)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
EOF
"$PY" "$TMP/relay.py" "$RPORT" "$SLAPD_PORT" "$TMP/conns" 2>"$TMP/relay.log" &
RPID=$!
# a server that accepts and then never says a byte (a hung ldaps:// endpoint)
SILENT=$(free_port)
cat >"$TMP/silent.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
EOF
"$PY" "$TMP/silent.py" "$SILENT" 2>"$TMP/silent.log" &
SPID=$!

# ---- the configuration: good and bad blocks
FILTER='(&(objectClass=inetOrgPerson)(uid={user}))'
conf() {
  cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
log.level = debug
login.max_failures = 3
login.max_failures_per_address = 100
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
ldap_source.dept.uri = ldap://127.0.0.1:$DEADPORT ldap://127.0.0.1:$RPORT
ldap_source.dept.bind_dn = cn=reader,ou=dept,$SLAPD_SUFFIX
ldap_source.dept.bind_password = $SVC_PW
ldap_source.dept.base = ou=dept,$SLAPD_SUFFIX
ldap_source.dept.filter = ${1:-$FILTER}
ldap_source.dept.attr_id_number = employeeNumber
ldap_source.dept.attr_unit = ou
ldap_source.dept.attr_role = title
ldap_source.dept.network_timeout = 2s
ldap_source.dept.timeout = 3s
ldap_source.dept.org = $GOV
${2:-}
ldap_source.tls.uri = ldap://127.0.0.1:$RPORT
ldap_source.tls.starttls = yes
ldap_source.tls.ca_file = $TMP/ca.pem
ldap_source.tls.bind_dn = cn=reader,ou=dept,$SLAPD_SUFFIX
ldap_source.tls.bind_password = $SVC_PW
ldap_source.tls.base = ou=dept,$SLAPD_SUFFIX
ldap_source.tls.org = $GOV
ldap_source.badca.uri = ldap://127.0.0.1:$RPORT
ldap_source.badca.starttls = yes
ldap_source.badca.ca_file = $TMP/other.pem
ldap_source.badca.base = ou=dept,$SLAPD_SUFFIX
ldap_source.badca.org = $GOV
ldap_source.hang.uri = ldaps://127.0.0.1:$SILENT
ldap_source.hang.base = ou=dept,$SLAPD_SUFFIX
ldap_source.hang.network_timeout = 1s
ldap_source.hang.timeout = 2s
ldap_source.hang.org = $GOV
ldap_source.hangthen.uri = ldaps://127.0.0.1:$SILENT ldap://127.0.0.1:$RPORT
ldap_source.hangthen.bind_dn = cn=reader,ou=dept,$SLAPD_SUFFIX
ldap_source.hangthen.bind_password = $SVC_PW
ldap_source.hangthen.base = ou=dept,$SLAPD_SUFFIX
ldap_source.hangthen.network_timeout = 1s
ldap_source.hangthen.timeout = 2s
ldap_source.hangthen.org = $GOV
CONF
}
conf '(uid=zhang)'
expect_error "authd -t: a filter without {user}" "authd.conf:13: ldap_source.dept.filter: must hold \{user\}" \
  "$AUTHD" -t -c "$CONF"
expect_error "authctl -c: a filter without {user}" "authd.conf:13: ldap_source.dept.filter" \
  "$AUTHCTL" -c "$CONF" user list
conf "" "ldap_source.dept.colour = blue"
expect_error "authd -t: an unknown option in a block" "authd.conf:20: unknown option 'ldap_source.dept.colour'" \
  "$AUTHD" -t -c "$CONF"
conf "" "ldap_source.hr.uri = http://127.0.0.1:1"
expect_error "authd -t: a URI that is not ldap://" "authd.conf:20: ldap_source.hr.uri: each URI" \
  "$AUTHD" -t -c "$CONF"
conf
"$AUTHD" -t -c "$CONF" >"$TMP/t.log" 2>&1 && ok "authd -t accepts the block" ||
  fail "authd -t: $(cat "$TMP/t.log")"

# ---- the directory: the agency, the staff member (local password too), another person
ctl_or_die org add --uscc "$GOV" --name 某市政务服务中心
printf '%s\n' "$STAFF_LOCAL_PW" | ctl_or_die user add --id-number "$STAFF_ID" --name 张伟 --password-stdin
printf '%s\n' "$OTHER_PW" | ctl_or_die user add --id-number "$OTHER_ID" --name 路人甲 --password-stdin
ctl_or_die user verify "$STAFF_ID" --loa 2 --by registry --evidence "registry check"
STAFF_UID=$(ctl user show "$STAFF_ID" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["uid"])')
start_authd -c "$CONF"

req - GET /login
grep -q '部门代号\\账号' "$TMP/body" && ok "the login form tells staff to type DEPARTMENT\\account" ||
  fail "no department account hint on the login form"

# TOTP enrolled while not yet staff (a staff session needs the second factor).
login_to s "$STAFF_ID" "$STAFF_LOCAL_PW" /account
[[ $STATUS == 303 && $LOCATION == /account ]] || die "local login: $STATUS '$LOCATION'"
enrol s staff || die "TOTP enrolment"
check "not staff before the department login" "$(ctl staff list --org "$GOV" | "$PY" -c 'import json,sys;print(len(json.load(sys.stdin)))')" 0

# ---- the department login
c0=$(conns)
login_to d 'dept\zhang' "$DEPT_PW" /counter
[[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] &&
  ok "dept\\zhang with the department password: logged in, to the staff TOTP step" ||
  fail "department login: $STATUS '$LOCATION' $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body")"
check "one connection to the directory for the login" "$(conns)" "$((c0 + 1))"
ctl staff list --org "$GOV" >"$TMP/staff.json"
"$PY" - "$TMP/staff.json" "$UNIT" <<'EOF' && ok "the staff relation: the agency, unit from ou, position from title" || fail "staff list: $(cat "$TMP/staff.json")"
import json, sys
a = json.load(open(sys.argv[1]))
assert len(a) == 1, a
s = json.dumps(a[0], ensure_ascii=False)
assert sys.argv[2] in s and "科员" in s, s
EOF
check "login.success audited with method ldap" \
  "$(audit_count login.success "\"actor\":\"user:$STAFF_UID\"" '"method":"ldap"' '"source":"dept"')" 1
totp_step d staff
[[ $STATUS == 303 && $LOCATION == /counter ]] && ok "TOTP step: to /counter" ||
  fail "TOTP step: $STATUS '$LOCATION'"
req d GET /counter
check "the counter opens for the department's staff member" "$STATUS" 200
grep -q "$UNIT" "$TMP/body" && ok "the counter page names the unit from the directory" ||
  fail "the counter page does not name the unit"
req d GET /account
check "the account page after the step-up" "$STATUS" 200
grep -q 部门账号 "$TMP/body" && ok "the account page says the session came from the department account (amr ldap)" ||
  fail "the account page does not show amr ldap"

# A second login refreshes nothing: still one relation.
login_to d2 'dept\zhang' "$DEPT_PW" /counter
[[ $STATUS == 303 ]] || fail "second department login: $STATUS"
check "a second login keeps one staff relation" "$(ctl staff list --org "$GOV" | "$PY" -c 'import json,sys;print(len(json.load(sys.stdin)))')" 1

# The department moves zhang to another unit: the next login refreshes the relation.
ldapmodify -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" >"$TMP/mod.log" 2>&1 <<LDIF || fail "ldapmodify: $(cat "$TMP/mod.log")"
dn: uid=zhang,ou=dept,$SLAPD_SUFFIX
changetype: modify
replace: ou
ou: Records
LDIF
login_to d3 'dept\zhang' "$DEPT_PW" /counter
[[ $STATUS == 303 ]] || fail "login after the move: $STATUS"
ctl staff list --org "$GOV" >"$TMP/staff.json"
"$PY" - "$TMP/staff.json" "$UNIT" <<'EOF' && ok "after the move: one relation, in the new unit" || fail "staff list after the move: $(cat "$TMP/staff.json")"
import json, sys
a = json.load(open(sys.argv[1]))
assert len(a) == 1, a
s = json.dumps(a[0], ensure_ascii=False)
assert "Records" in s and sys.argv[2] not in s, s
EOF

# ---- StartTLS: the right CA logs in, another CA is refused before any password is sent
login_to t1 'tls\zhang' "$DEPT_PW" /counter
[[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] && ok "StartTLS with the server's CA: logged in" ||
  fail "StartTLS login: $STATUS '$LOCATION'"
login_to t2 'badca\zhang' "$DEPT_PW" /counter
check "StartTLS with a CA that did not sign the server's certificate: refused (503)" "$STATUS" 503
grep -q 'ldap_source badca: .*TLS\|ldap_source badca: connect' "$TMP/authd.log" &&
  ok "the log says why (TLS)" || fail "no TLS cause in the log: $(grep 'ldap_source badca' "$TMP/authd.log")"
UNAVAIL=1

# ---- an ldaps:// server that accepts and then says nothing: the TLS handshake is bounded
# by the block's timeouts (503), so hung department servers cannot take the workers
t0=$(date +%s%N)
login_to h 'hang\zhang' "$DEPT_PW" /account
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $STATUS == 503 ]] && ((ms < 9000)) &&
  ok "a hung ldaps:// handshake: 503 after $ms ms (timeouts 1 s + 2 s)" ||
  fail "hung ldaps:// handshake: $STATUS after $ms ms"
UNAVAIL=$((UNAVAIL + 1))
# the hung server first in a list, a good one second: the first's time runs out and the
# second, with time of its own, logs in
t0=$(date +%s%N)
login_to h2 'hangthen\zhang' "$DEPT_PW" /counter
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $STATUS == 303 && $LOCATION == /login/totp\?* ]] && ((ms < 9000)) &&
  ok "a hung ldaps:// server first in the list: the next URI logs in ($ms ms)" ||
  fail "failover past a hung server: $STATUS '$LOCATION' after $ms ms"

# ---- wrong password and unknown user: the same page
login_to w 'dept\zhang' 'wrong password 1' /account
check "wrong department password: the form again" "$STATUS" 200
grep -o 'class="alert[^"]*"[^<]*' "$TMP/body" >"$TMP/alert.wrong"
login_to u 'dept\nobody' 'whatever password' /account
check "unknown department user: the form again" "$STATUS" 200
grep -o 'class="alert[^"]*"[^<]*' "$TMP/body" >"$TMP/alert.unknown"
[[ -s $TMP/alert.wrong ]] && cmp -s "$TMP/alert.wrong" "$TMP/alert.unknown" &&
  ok "wrong password and unknown user: the same words" || fail "the pages differ: $(cat "$TMP/alert.wrong") / $(cat "$TMP/alert.unknown")"
# zhao exists but no Yihao person has that ID number: the same page again.
login_to z 'dept\zhao' 'zhao-dept-pw' /account
grep -o 'class="alert[^"]*"[^<]*' "$TMP/body" >"$TMP/alert.noperson"
[[ $STATUS == 200 ]] && cmp -s "$TMP/alert.wrong" "$TMP/alert.noperson" &&
  ok "a directory entry with no Yihao person: the same page" || fail "no person: $STATUS"

# ---- filter injection finds nobody
login_to i 'dept\*)(uid=*' "$DEPT_PW" /account
check "username '*)(uid=*': refused" "$STATUS" 200
login_to i 'dept\zhan*' "$DEPT_PW" /account
check "username 'zhan*' with zhang's password: refused (no wildcard)" "$STATUS" 200
check "injection attempts: no session" "$(jar_value i yh_sid)" ""

# ---- lockout in Yihao, then nothing reaches slapd
login_to l 'dept\zhang' 'wrong password 2' /account
login_to l 'dept\zhang' 'wrong password 3' /account
check "the third wrong password locks" "$STATUS" 429
c1=$(conns)
for i in 1 2 3; do login_to l 'dept\zhang' "$DEPT_PW" /account; done
check "locked: the right password too is refused" "$STATUS" 429
check "locked: no connection reached slapd" "$(conns)" "$c1"
check "login.lockout audited" "$(audit_count login.lockout '"scope":"account"')" 1
# The server matches " zhang " to the same entry: the lock is the entry's (its person's),
# not the spelling's, so another spelling gets no fresh guesses.
login_to l2 'dept\ zhang ' "$DEPT_PW" /account
check "locked: another spelling of the same entry is refused too, right password and all" \
  "$STATUS" 429
check "... and no session" "$(jar_value l2 yh_sid)" ""

# ---- slapd stopped
slapd_stop "$TMP/ldap"
login_to x 'dept\zhao' 'zhao-dept-pw' /account
check "slapd down: 503" "$STATUS" 503
grep -q '部门账号目录暂时无法连接' "$TMP/body" && ok "slapd down: the page says the directory cannot be reached" ||
  fail "slapd down: $(grep -o 'class="alert[^<]*' "$TMP/body")"
check "slapd down: audited" "$(audit_count login.failure '"reason":"ldap_unavailable"')" "$((UNAVAIL + 1))"
login_to o "$OTHER_ID" "$OTHER_PW" /account
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "slapd down: a local password login works" ||
  fail "local login with slapd down: $STATUS '$LOCATION'"

# ---- a SIGHUP without the block: DEPT\user is an ordinary (unknown) login again
sed -i '/^ldap_source\./d' "$CONF"
kill -HUP "$PID"
for _ in $(seq 1 100); do grep -q 'ldap_source blocks changed (0 now)' "$TMP/authd.log" && break; sleep 0.05; done
grep -q 'ldap_source blocks changed (0 now)' "$TMP/authd.log" && ok "SIGHUP: the removed block is noticed" ||
  fail "SIGHUP: no note of the removed block"
login_to x 'dept\zhao' 'zhao-dept-pw' /account
check "block removed: an ordinary failed login, not the directory page" "$STATUS" 200

# ---- no password in the logs
check_stop_authd
for f in "$TMP/authd.log" "$S/audit.log"; do
  ! grep -qF -e "$DEPT_PW" -e "$SVC_PW" -e 'wrong password' -e zhao-dept-pw "$f" &&
    ok "no password in $(basename "$f")" || fail "a password in $f"
done
no_errors_in "errors in authd's log" "$TMP/authd.log"
no_sanitizer_in "sanitizer reports in authd's log" "$TMP/authd.log"
finish "ldap_source: every check passed"
