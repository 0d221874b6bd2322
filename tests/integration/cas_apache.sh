#!/usr/bin/env bash
# Apache httpd with mod_auth_cas (Debian's libapache2-mod-auth-cas) in front of two
# CGI apps, against a real authd over its native TLS, driven by curl as a browser:
#
#  - a protected URL goes to authd's /cas/login, the login form, back to apache with a
#    ticket that mod_auth_cas validates over https (/cas/p3/serviceValidate, the test CA)
#    and the CGI sees REMOTE_USER = the pairwise subject and the CAS attributes (name);
#  - a second CAS app (another registered service prefix) gets in without a password,
#    and so does an OIDC app (/authorize gives a code without the login form); the other
#    way round too: a login at authd, a code, then a CAS app without a password;
#  - /cas/logout reaches both apache apps by single logout (mod_auth_cas answers the
#    LogoutRequest, the delivery is recorded as delivered) and mod_auth_cas then refuses
#    its own session cookie: the next request goes back to /cas/login.
#
# The test starts its own apache (its own ServerRoot, PidFile, runtime directory and
# port under the test's directory; User/Group www-data when run as root) and stops it by
# its pid; the system's apache is never touched.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v "$PY" >/dev/null || { echo "FAIL: python3 not installed"; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: the openssl command is not installed"; exit 1; }
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
MODS=/usr/lib/apache2/modules
[[ -x $APACHE && -f $MODS/mod_auth_cas.so ]] ||
  { echo "FAIL: apache2 and libapache2-mod-auth-cas are not installed"; exit 1; }

make_tmp casapache
chmod 711 "$TMP"
PID=
APID=
PIDS_TO_STOP="PID APID"
LOGS="authd ctl apache"
S=$TMP/state
PORT=$(free_port)
APORT=$(free_port)
BASE=https://127.0.0.1:$PORT
AP=http://127.0.0.1:$APORT
CB=http://127.0.0.1:9/cb
ID=$(id_number 11010119900307123)
PW='Cas Apache 2026!'

# apache stops gracefully (its children with it) before lib.sh's cleanup
stop_apache() {
  if [[ -n $APID ]] && kill -0 "$APID" 2>/dev/null; then
    kill -TERM "$APID"
    for _ in $(seq 50); do kill -0 "$APID" 2>/dev/null || break; sleep 0.1; done
  fi
}
trap 'stop_apache; cleanup' EXIT

# ---- a test CA and authd's certificate for 127.0.0.1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -subj "/CN=yihao test CA" 2>/dev/null || die "openssl CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
  -out "$TMP/srv.csr" -subj /CN=127.0.0.1 2>/dev/null || die "openssl csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
  -days 2 -extfile "$TMP/ext" -out "$TMP/cert.pem" 2>/dev/null || die "openssl sign"
chmod 600 "$TMP/key.pem" "$TMP/ca.key"
chmod 644 "$TMP/ca.pem"
CURLX=(--cacert "$TMP/ca.pem")
SCHEME=https

{ echo "state_dir = $S"
  echo "http.listen = 127.0.0.1:$PORT"
  echo "issuer = $BASE"
  echo "tls.cert_file = $TMP/cert.pem"
  echo "tls.key_file = $TMP/key.pem"; } >"$TMP/authd.conf"
start_authd -c "$TMP/authd.conf"
ctl_or_die client add appa --cas-service-prefix "$AP/a/" --scope openid profile --name "CAS A"
ctl_or_die client add appb --cas-service-prefix "$AP/b/" --scope openid profile --name "CAS B"
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$ID" --name 王小明 --password-stdin

# ---- apache
W=$TMP/apache
mkdir -p "$W/run" "$W/cas" "$W/htdocs/a" "$W/htdocs/b"
cat >"$W/htdocs/who.cgi" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\n\n'
printf 'REMOTE_USER=%s\n' "$REMOTE_USER"
env | grep '^HTTP_CAS' | sort
EOF
chmod 755 "$W/htdocs/who.cgi"
cp "$W/htdocs/who.cgi" "$W/htdocs/a/who.cgi"
cp "$W/htdocs/who.cgi" "$W/htdocs/b/who.cgi"
RUNAS=
if [[ $(id -u) == 0 ]]; then
  RUNAS="User www-data
Group www-data"
  chown -R www-data:www-data "$W/cas"
fi
chmod -R a+rX "$W"
apache_conf_head "$W" "$APORT" "info auth_cas:debug" auth_cas "$RUNAS" >"$W/httpd.conf"
cat >>"$W/httpd.conf" <<EOF
DocumentRoot "$W/htdocs"
CASLoginURL $BASE/cas/login
CASValidateURL $BASE/cas/p3/serviceValidate
CASValidateSAML Off
CASCertificatePath $TMP/ca.pem
CASCookiePath $W/cas/
CASSSOEnabled On
CASDebug On
<Directory "$W/htdocs">
  Options +ExecCGI
  SetHandler cgi-script
  Require all granted
</Directory>
<Location "/a/">
  AuthType CAS
  CASAuthNHeader CAS-User
  Require valid-user
</Location>
<Location "/b/">
  AuthType CAS
  CASAuthNHeader CAS-User
  Require valid-user
</Location>
EOF
"$APACHE" -f "$W/httpd.conf" -t >>"$TMP/apache.log" 2>&1 || die "apache: the configuration: $(cat "$TMP/apache.log")"
# its own session: apache stops its children with a signal to its process group
setsid "$APACHE" -f "$W/httpd.conf" -DFOREGROUND >>"$TMP/apache.log" 2>&1 &
APID=$!
CURLX=(--cacert "$TMP/ca.pem")
wait_ready "$AP/who.cgi" "$APID" || die "apache did not start"
sleep 1.2   # the registry is re-read at most once a second

# app JAR PATH: GET the apache app as a browser: follows redirects within apache and to
# authd's /cas/login and back, stopping at authd's /login (STATUS 302 to /login) or at
# the CGI's page (STATUS 200). HOPS counts the requests.
app() {
  local url=$AP$2
  HOPS=0
  while ((HOPS < 10)); do
    req "$1" GET "$url"
    HOPS=$((HOPS + 1))
    [[ $STATUS == 30[23] ]] || return 0
    [[ $LOCATION == /login\?* ]] && return 0
    case $LOCATION in
      http://*|https://*) url=$LOCATION ;;
      /cas/*) url=$BASE$LOCATION ;;
      /*) url=$AP$LOCATION ;;
      *) return 0 ;;
    esac
  done
}
remote_user() { sed -n 's/^REMOTE_USER=//p' "$TMP/body"; }

# ---- CAS app A: the login form once
app a /a/who.cgi
[[ $STATUS == 302 && $LOCATION == /login\?next=%2Fcas%2Flogin* ]] &&
  ok "apache app A: to authd's /cas/login, then the login form" || fail "app A: $STATUS '$LOCATION' $BODY"
through_login a "$ID" "$PW"
[[ $STATUS == 303 && $LOCATION == /cas/login\?* ]] && ok "login: back to /cas/login" || fail "login: $STATUS '$LOCATION'"
req a GET "$LOCATION"
[[ $STATUS == 302 && $LOCATION == "$AP/a/who.cgi?ticket=ST-"* ]] && ok "a ticket for app A" ||
  fail "ticket: $STATUS '$LOCATION'"
app a "${LOCATION#"$AP"}"
USER_A=$(remote_user)
[[ $STATUS == 200 && ${#USER_A} == 43 ]] && ok "mod_auth_cas validated: REMOTE_USER is a pairwise subject ($USER_A)" ||
  fail "app A page: $STATUS '$LOCATION' $BODY $(tail -5 "$TMP/apache.log")"
grep -qx "HTTP_CAS_USER=$USER_A" "$TMP/body" && ok "CASAuthNHeader: the user in CAS-User" ||
  fail "CAS-User header: $BODY"
grep -qx "HTTP_CAS_NAME=王小明" "$TMP/body" && ok "the CAS attribute name in CAS_name" ||
  fail "attributes: $BODY"
app a /a/who.cgi
[[ $STATUS == 200 && $HOPS == 1 && $(remote_user) == "$USER_A" ]] && ok "app A: its own session cookie after that" ||
  fail "app A again: $STATUS $HOPS"

# ---- CAS app B and an OIDC app: single sign-on
app a /b/who.cgi
USER_B=$(remote_user)
[[ $STATUS == 200 && ${#USER_B} == 43 && $USER_B != "$USER_A" ]] &&
  ok "app B: in without a password, its own subject" || fail "app B: $STATUS '$LOCATION' $BODY"
authorize_code a openid app1 && ok "OIDC app: a code without the login form" || true

# ---- the other way: a login at authd and a code first, then a CAS app
login_form c "$ID" "$PW"
[[ $STATUS == 303 ]] || fail "login at authd: $STATUS"
authorize_code c openid app1 && ok "OIDC first: a code" || true
app c /b/who.cgi
[[ $STATUS == 200 && $(remote_user) == "$USER_B" ]] && ok "then CAS app B without a password" ||
  fail "OIDC then CAS: $STATUS '$LOCATION' $BODY"

# ---- /cas/logout: single logout reaches apache
req a GET /cas/logout
[[ $STATUS == 200 ]] && ok "/cas/logout: the logged-out page" || fail "/cas/logout: $STATUS"
# one delivery per ticket the session issued: wait until their number settles
prev=-1
for _ in $(seq 50); do
  n=$(audit_count logout.delivery '"protocol":"cas"')
  [[ $n -ge 2 && $n == "$prev" ]] && break
  prev=$n
  sleep 0.2
done
[[ $(audit_count logout.delivery '"protocol":"cas"' '"status":"delivered"' '"client":"appa"') -ge 1 &&
  $(audit_count logout.delivery '"protocol":"cas"' '"status":"delivered"' '"client":"appb"') -ge 1 &&
  $(audit_count logout.delivery '"protocol":"cas"' '"status":"delivered"') == "$n" ]] &&
  ok "single logout delivered to both apache apps ($n tickets)" ||
  fail "SLO deliveries: $(grep logout.delivery "$S/audit.log") $(tail -5 "$TMP/apache.log")"
app a /a/who.cgi
[[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "app A refuses its old session: back to the login" ||
  fail "app A after SLO: $STATUS '$LOCATION' $BODY"
app a /b/who.cgi
[[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "app B too" || fail "app B after SLO: $STATUS '$LOCATION' $BODY"
app c /b/who.cgi
[[ $STATUS == 200 && $(remote_user) == "$USER_B" ]] && ok "the other browser's session is untouched" ||
  fail "browser c: $STATUS '$LOCATION'"

kill -0 "$APID" 2>/dev/null && ok "apache still runs" || fail "apache exited"
check_healthz "authd still answers"
no_errors_in "no errors in authd's log" "$TMP/authd.log"
finish "cas_apache: all checks passed"
