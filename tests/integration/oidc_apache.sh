#!/usr/bin/env bash
# Apache httpd with mod_auth_openidc (Debian's libapache2-mod-auth-openidc: cjose, which
# has no SM2) in front of a CGI page, against a real authd whose ring holds ES256, RS256
# and SM2 keys (keys.algs by default, so /jwks publishes all three), driven by curl as a
# browser: a protected URL goes through authd's /authorize, the login form and the
# consent page back to mod_auth_openidc, which redeems the code, verifies the ID token
# with /jwks and lets the CGI see REMOTE_USER = the pairwise subject. Once for an app
# registered without an algorithm (ES256) and once for one registered with
# --id-token-alg RS256, both with the configuration docs/integration.md shows. The SM2
# keys in /jwks must not disturb either.
#
# Each apache is the test's own (ServerRoot, PidFile, runtime directory and port under
# the test's directory; User/Group www-data when run as root), stopped by its pid.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
MODS=/usr/lib/apache2/modules
[[ -x $APACHE && -f $MODS/mod_auth_openidc.so ]] ||
  { echo "FAIL: apache2 and libapache2-mod-auth-openidc are not installed"; exit 1; }

make_tmp oidcapache
chmod 711 "$TMP"
PID= APID=
PIDS_TO_STOP="PID APID"
LOGS="authd ctl apache"
S=$TMP/state
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ID=$(id_number 11010119900307123)
PW='Oidc Apache 2026!'

stop_apache() {
  if [[ -n $APID ]] && kill -0 "$APID" 2>/dev/null; then
    kill -TERM "$APID"
    for _ in $(seq 50); do kill -0 "$APID" 2>/dev/null || break; sleep 0.1; done
  fi
  APID=
}
trap 'stop_apache; cleanup' EXIT

start_authd
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$ID" --name 王小明 --password-stdin
curl -sf "$BASE/jwks" | jq -e '[.keys[].alg] | index("SM2") != null' >/dev/null &&
  ok "/jwks publishes SM2 keys beside the others" || fail "no SM2 key in /jwks"

# start_apache CLIENT SECRET: an apache on a fresh port AP for CLIENT.
start_apache() {
  local w=$TMP/apache-$1 runas=
  APORT=$(free_port)
  AP=http://127.0.0.1:$APORT
  mkdir -p "$w/run" "$w/htdocs/protected"
  printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\nprintf "REMOTE_USER=%%s\\n" "$REMOTE_USER"\n' \
    >"$w/htdocs/protected/who.cgi"
  chmod 755 "$w/htdocs/protected/who.cgi"
  if [[ $(id -u) == 0 ]]; then runas="User www-data
Group www-data"; fi
  chmod -R a+rX "$w"
  apache_conf_head "$w" "$APORT" "info auth_openidc:info" auth_openidc "$runas" >"$w/httpd.conf"
  cat >>"$w/httpd.conf" <<CONF
DocumentRoot "$w/htdocs"
OIDCProviderMetadataURL $BASE/.well-known/openid-configuration
OIDCClientID $1
OIDCClientSecret "$2"
OIDCRedirectURI $AP/protected/redirect_uri
OIDCCryptoPassphrase "$(openssl rand -hex 24)"
OIDCScope "openid profile"
OIDCPKCEMethod S256
OIDCRemoteUserClaim sub
OIDCSessionType server-cache
OIDCCacheType shm
<Directory "$w/htdocs">
  Options +ExecCGI
  SetHandler cgi-script
  Require all granted
</Directory>
<Location "/protected">
  AuthType openid-connect
  Require valid-user
</Location>
CONF
  "$APACHE" -f "$w/httpd.conf" -t >>"$TMP/apache.log" 2>&1 || die "apache: the configuration: $(tail -5 "$TMP/apache.log")"
  setsid "$APACHE" -f "$w/httpd.conf" -DFOREGROUND >>"$TMP/apache.log" 2>&1 &
  APID=$!
  wait_ready "$AP/" "$APID" || die "apache did not start"
}

# visit JAR: GET $AP/protected/who.cgi as a browser, through authd's login form and
# consent page and back; STATUS and BODY of the last answer.
visit() {
  local url=$AP/protected/who.cgi hops=0
  while ((hops < 20)); do
    hops=$((hops + 1))
    req "$1" GET "$url"
    if [[ $STATUS == 302 && $LOCATION == /login\?* ]]; then
      through_login "$1" "$ID" "$PW"
    elif [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
      consent_allow "$1"
    fi
    [[ $STATUS == 30[23] ]] || return 0
    case $LOCATION in
      http://*) url=$LOCATION ;;
      /*) [[ $url == "$AP"* ]] && url=$AP$LOCATION || url=$BASE$LOCATION ;;
      *) return 0 ;;
    esac
  done
}

# one_app NAME ALG [--id-token-alg ALG]: register NAME, start its apache, log in through it
one_app() {
  local name=$1 alg=$2 secret user
  shift 2
  secret=$(openssl rand -hex 24)
  start_apache "$name" "$secret"
  ctl_or_die client add "$name" --secret "$secret" --redirect-uri "$AP/protected/redirect_uri" \
    --scope openid profile "$@"
  sleep 1.2   # the registry is re-read at most once a second
  : >"$TMP/$name.jar"
  visit "$name"
  user=$(sed -n 's/^REMOTE_USER=//p' "$TMP/body")
  [[ $STATUS == 200 && ${#user} == 43 ]] &&
    ok "$name ($alg): mod_auth_openidc verified the ID token; REMOTE_USER is a pairwise subject" ||
    fail "$name ($alg): $STATUS '$LOCATION' $(head -c 300 "$TMP/body") $(grep -i 'error\|oidc_' "$TMP/apache.log" | tail -5)"
  stop_apache
}

one_app esapp ES256
one_app rsapp RS256 --id-token-alg RS256

kill -0 "$PID" 2>/dev/null && ok "authd still runs" || fail "authd exited"
no_errors_in "no errors in authd's log" "$TMP/authd.log"
finish "oidc_apache: all checks passed"
