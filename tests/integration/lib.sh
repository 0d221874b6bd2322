# The harness the integration scripts share (after Redis' tests/support/util.tcl): check
# counting, a temporary directory and pids cleaned up at exit, free loopback ports,
# starting and stopping authd, HTTP requests as a browser, small parsers and a
# back-channel logout receiver. Sourced, never run, and not a test (meson.build does not
# list it):
#
#   . "$(dirname "$0")/lib.sh"
#
# Sourcing it sets FAILS=0, PY, CURLX=(), PIDS_TO_STOP=PID, LOGS=authd and
# HTTP_MAX_TIME=30, installs cleanup as the EXIT trap and makes INT and TERM exit 1 (so
# cleanup runs). A script then calls make_tmp first: most helpers keep their files in
# $TMP. Every server binds 127.0.0.1 only and is stopped by its pid. The helpers also
# hold under `set -euo pipefail` (the idmerge scripts), except those that count checks.
# Each script keeps its own closing lines (or calls finish).

# ---- checks

FAILS=0

# ok MSG: prints "ok: MSG".
ok() { echo "ok: $*"; }

# fail MSG: prints "FAIL: MSG" and counts it in FAILS.
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# show_logs: the last 25 lines of each $TMP/NAME.log for NAME in LOGS (default "authd").
LOGS=authd
show_logs() {
  local f
  for f in $LOGS; do
    [[ -f $TMP/$f.log ]] && { echo "--- $f log (tail) ---"; tail -25 "$TMP/$f.log"; }
  done
  return 0
}

# die MSG: prints "FAIL: MSG" and the logs (show_logs), exits 1.
die() { echo "FAIL: $*"; show_logs; exit 1; }

# finish PASSED [PREFIX]: the closing lines of a script without logs to show: with
# failures "PREFIX<FAILS> check(s) failed" and exit 1, else PASSED and exit 0.
finish() {
  if ((FAILS)); then
    echo "${2:-}$FAILS check(s) failed"
    exit 1
  fi
  echo "$1"
  exit 0
}

# ---- the programs

# need_authd: AUTHD and AUTHCTL of the build YH_BUILD, which it makes absolute (for the
# scripts that hand paths to node or another cwd); FAIL and exit 1 when one is not built.
need_authd() {
  YH_BUILD=$(cd "${YH_BUILD:?}" && pwd) || exit 1
  AUTHD=$YH_BUILD/authd/authd
  AUTHCTL=$YH_BUILD/authctl/authctl
  [[ -x $AUTHD && -x $AUTHCTL ]] || { echo "FAIL: authd/authctl not built in $YH_BUILD"; exit 1; }
}

# need_idmerge: after need_authd, sets IDMERGE and checks it and python3 (its fixtures'
# helpers) are there.
need_idmerge() {
  command -v "$PY" >/dev/null || { echo "FAIL: python3 not installed"; exit 1; }
  IDMERGE=$YH_BUILD/migration-tools/idmerge/idmerge
  [[ -x $IDMERGE ]] || { echo "FAIL: idmerge not built at $IDMERGE"; exit 1; }
}

# need_browser MODULE...: the browser tests' tools, or FAIL and exit 1 (no silent
# skip): Debian's /usr/bin/chromium, node, and playwright-core and each MODULE in
# YH_SRCDIR/tests/node/node_modules (made absolute).
need_browser() {
  local m
  YH_SRCDIR=$(cd "${YH_SRCDIR:?}" && pwd) || exit 1
  [[ -x /usr/bin/chromium ]] || { echo "FAIL: /usr/bin/chromium missing (apt-get install chromium)"; exit 1; }
  command -v node >/dev/null || { echo "FAIL: node not installed"; exit 1; }
  for m in playwright-core "$@"; do
    [[ -d $YH_SRCDIR/tests/node/node_modules/$m ]] ||
      { echo "FAIL: tests/node/node_modules lacks $m (npm ci in tests/node)"; exit 1; }
  done
}

# run_node SCRIPT ARGS...: node SCRIPT ARGS... in YH_SRCDIR/tests/node, for at most 240
# s, in the background so that cleanup can stop it by its pid (NODEPID: list it in
# PIDS_TO_STOP). Returns node's exit status.
run_node() {
  local rc=0
  (cd "$YH_SRCDIR/tests/node" && exec timeout -k 5 240 node "$@") &
  NODEPID=$!
  wait "$NODEPID" || rc=$?
  NODEPID=
  return "$rc"
}

# apache_conf_head DIR PORT LOGLEVEL MODULE RUNAS: the start of an httpd.conf for Debian's
# Apache run by a test from DIR on 127.0.0.1:PORT (prefork, CGI, its errors in
# TMP/apache.log), loading MODULE (e.g. auth_cas, from MODS) and running as RUNAS ("" or
# User/Group lines); the caller appends its own directives.
apache_conf_head() {
  cat <<CONF
ServerRoot "$1"
ServerName 127.0.0.1
Listen 127.0.0.1:$2
PidFile "$1/run/httpd.pid"
DefaultRuntimeDir "$1/run"
Mutex file:$1/run default
ErrorLog "$TMP/apache.log"
LogLevel $3
LoadModule mpm_prefork_module $MODS/mod_mpm_prefork.so
LoadModule authn_core_module $MODS/mod_authn_core.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_user_module $MODS/mod_authz_user.so
LoadModule cgi_module $MODS/mod_cgi.so
LoadModule ${4}_module $MODS/mod_$4.so
StartServers 2
$5
CONF
}

# ---- the temporary directory and the processes

# make_tmp [NAME]: a fresh directory in TMP (/tmp/yh-NAME-XXXXXX, or mktemp's default),
# removed by cleanup.
make_tmp() {
  if (($#)); then TMP=$(mktemp -d "/tmp/yh-$1-XXXXXX"); else TMP=$(mktemp -d); fi ||
    { echo "FAIL: mktemp"; exit 1; }
}

# stop_pid PID: KILL and reap, if it still runs (PID may be empty).
stop_pid() {
  if [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; then
    kill -KILL "$1"
    wait "$1" 2>/dev/null || true
  fi
}

# cleanup: the EXIT trap. stop_pid on the pid in each variable named in PIDS_TO_STOP
# (default "PID"; a script with more processes lists them all), then removes TMP.
PIDS_TO_STOP=PID
cleanup() {
  local v
  for v in $PIDS_TO_STOP; do stop_pid "${!v:-}"; done
  if [[ -n ${TMP:-} ]]; then rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The system python3 when there is one: a version manager's shim costs a second per call
# and another uid may not be able to run it. "python3" when there is none, so that a
# call fails visibly; a script that cannot do without checks for it.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3) || PY=python3

# free_port: prints a free TCP port on 127.0.0.1, never one it printed before in this
# run (they are kept in $TMP/.used-ports, so that $(free_port) remembers them too).
free_port() {
  local p
  while :; do
    p=$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    grep -qx -- "$p" "${TMP:?}/.used-ports" 2>/dev/null || break
  done
  echo "$p" >>"$TMP/.used-ports"
  echo "$p"
}

# wait_ready URL [PID [curl args...]]: polls URL (2 s per try, with CURLX and the curl
# args) every 0.05 s, at most 300 times. Returns 0 once it answers, 1 when PID has exited
# or the time is up.
wait_ready() {
  local url=$1 pid=${2:-} _
  shift $(($# < 2 ? $# : 2))
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 2 "${CURLX[@]}" "$@" "$url" && return 0
    [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# start_authd [ARGS...]: runs "$AUTHD" ARGS... in the background (without ARGS:
# -d "$S" -l 127.0.0.1:$PORT), stderr appended to AUTHD_LOG (default $TMP/authd.log);
# sets PID and waits for SCHEME://127.0.0.1:$PORT/healthz (SCHEME default http, CURLX
# for the CA). When authd does not answer: die.
start_authd() {
  local log=${AUTHD_LOG:-$TMP/authd.log}
  (($#)) || set -- -d "$S" -l "127.0.0.1:$PORT"
  "$AUTHD" "$@" 2>>"$log" &
  PID=$!
  wait_ready "${SCHEME:-http}://127.0.0.1:$PORT/healthz" "$PID" ||
    die "authd did not start (its log: $log)"
}

# start_authd_socket: start_authd, then waits for the control socket SOCK (it comes
# just after the HTTP server).
start_authd_socket() {
  start_authd
  for _ in $(seq 1 100); do
    [[ -S $SOCK ]] && return 0
    sleep 0.02
  done
  die "authd serves HTTP but made no control socket $SOCK"
}


# hup_and_wait MARK: sends SIGHUP to PID and waits for the summary line authd logs after
# line MARK of AUTHD_LOG (default $TMP/authd.log); fails and returns 1 when none comes.
hup_and_wait() {
  local from=$1 log=${AUTHD_LOG:-$TMP/authd.log}
  kill -HUP "$PID"
  for _ in $(seq 1 100); do
    tail -n +"$((from + 1))" "$log" | grep -q 'SIGHUP: \(key ring and clients reloaded\|only the\|nothing\)' && return 0
    sleep 0.05
  done
  fail "no SIGHUP summary in the log"
  return 1
}

# stop_authd: SIGTERM to PID and waits for it; clears PID; returns authd's exit status.
stop_authd() {
  local rc=0
  kill -TERM "$PID"
  wait "$PID" || rc=$?
  PID=
  return "$rc"
}

# check_stop_authd: stop_authd as a check: "authd: exit 0 on SIGTERM", or a failure.
check_stop_authd() {
  local rc=0
  stop_authd || rc=$?
  [[ $rc -eq 0 ]] && ok "authd: exit 0 on SIGTERM" || fail "authd exited $rc"
}

# no_errors_in MSG FILE...: fail MSG, with the first 20 such lines, when a FILE has an
# error line (JSON "level":"error" or text ": error:").
no_errors_in() {
  local msg=$1
  shift
  if grep -qE '"level":"error"|: error:' "$@"; then
    fail "$msg"; grep -hE '"level":"error"|: error:' "$@" | head -20
  fi
}

# no_sanitizer_in MSG FILE...: fail MSG, with the reports (first 40 lines), when a FILE
# has an ASan/UBSan report.
no_sanitizer_in() {
  local msg=$1
  shift
  if grep -qE 'Sanitizer|runtime error:' "$@"; then
    fail "$msg"; grep -hE -A5 'Sanitizer|runtime error:' "$@" | head -40
  fi
}

# ---- commands

# ctl ARGS...: authctl on the state directory S; its stderr appended to $TMP/ctl.log.
ctl() { "$AUTHCTL" -d "$S" "$@" 2>>"$TMP/ctl.log"; }

# ctl_or_die ARGS...: authctl on S, all its output to $TMP/ctl.log; a failure ends the
# script (set-up steps).
ctl_or_die() {
  "$AUTHCTL" -d "$S" "$@" >>"$TMP/ctl.log" 2>&1 || { echo "FAIL: authctl $*"; cat "$TMP/ctl.log"; exit 1; }
}

# expect_error NAME REGEX CMD...: CMD (stdin /dev/null) must exit non-zero but not by a
# signal or timeout (20 s), and print exactly one line on stderr, matching REGEX. Output
# in $TMP/out and $TMP/err.
expect_error() {
  local name=$1 re=$2 rc lines
  shift 2
  timeout 20 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  rc=$?
  lines=$(grep -c '' "$TMP/err")
  if ((rc == 0)); then
    fail "$name: exit 0 (expected an error)"
  elif ((rc >= 124)); then
    fail "$name: exit $rc (timeout or crash)"
  elif [[ $lines -ne 1 ]]; then
    fail "$name: $lines lines on stderr (expected 1): $(head -5 "$TMP/err")"
  elif ! grep -qE -- "$re" "$TMP/err"; then
    fail "$name: message does not match /$re/: $(cat "$TMP/err")"
  else
    ok "$name (exit $rc): $(cat "$TMP/err")"
  fi
}

# expect_rc WANT DESCRIPTION CMD...: CMD must exit WANT. Output in $TMP/out and $TMP/err.
expect_rc() {
  local want=$1 what=$2 rc
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if [[ $rc -eq $want ]]; then ok "$what"; else fail "$what: exit $rc, want $want: $(cat "$TMP/err")"; fi
}

# ---- HTTP

CURLX=()          # extra curl arguments for every request (the CA with TLS)
HTTP_MAX_TIME=30  # seconds one request may take

# fetch URL [curl args...]: one request (no -X: pass it in the args). The body in
# $TMP/body, the headers in $TMP/headers; sets STATUS ("000" when nothing answered),
# BODY, HEADERS (the headers file), LOCATION and CTYPE (Content-Type).
fetch() {
  local url=$1
  shift
  STATUS=$(curl -s --max-time "$HTTP_MAX_TIME" -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
    "${CURLX[@]}" "$@" "$url") || true
  BODY=$(cat "$TMP/body" 2>/dev/null) || true
  HEADERS=$TMP/headers
  LOCATION=$(header Location)
  CTYPE=$(header Content-Type)
}

# check_healthz MSG: GET /healthz on 127.0.0.1:$PORT must answer 200 within 5 s: prints
# "ok: MSG", or fails with the status it got.
check_healthz() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${CURLX[@]}" \
    "${SCHEME:-http}://127.0.0.1:$PORT/healthz")
  [[ $code == 200 ]] && ok "$1" || fail "$1: /healthz answered $code"
}

# verify_unit UNIT AUTHD WHAT: systemd-analyze verify on UNIT (a check named WHAT). It
# checks that each Exec*= program exists and is executable on this host (--root would
# need a whole system under it: sysinit.target, /bin/kill), so it reads a copy of UNIT
# whose ExecStartPre= and ExecStart= run AUTHD (an installed or extracted binary) in
# place of the path the unit names, nothing else changed.
verify_unit() {
  local unit=$1 authd=$2 what=$3 named out
  named=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
  mkdir -p "$TMP/verify"
  sed -e "s|^\(ExecStart\(Pre\)\?=\)$named |\1$authd |" "$unit" >"$TMP/verify/authd.service"
  if [[ -z $named || $(diff "$unit" "$TMP/verify/authd.service" | grep -c '^>') -ne 2 ]]; then
    fail "$what: ExecStartPre= and ExecStart= do not both run '$named'"
  elif out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$TMP/verify/authd.service" 2>&1) &&
     ! grep -qi 'unknown\|invalid\|failed\|not executable' <<<"$out"; then
    ok "$what"
  else
    fail "$what: $out"
  fi
}

# req JAR METHOD PATH|URL [curl args...]: fetch as a browser with the cookie jar
# $TMP/JAR.jar (JAR "-": no jar; pass cookies with -H Cookie:). A PATH is on BASE.
req() {
  local jar=$1 method=$2 url=$3
  local -a cj=()
  shift 3
  [[ $url == http://* || $url == https://* ]] || url=$BASE$url
  [[ $jar == - ]] || cj=(-b "$TMP/$jar.jar" -c "$TMP/$jar.jar")
  fetch "$url" -X "$method" "${cj[@]}" "$@"
}

# register_form JAR NAME ID_NUMBER PHONE PASSWORD: the registration form as a browser
# fills it (the privacy notice agreed to, the ID number consented to); STATUS, BODY...
# of the POST (200 with 注册申请已提交 when it was taken).
register_form() {
  local tok ver
  req "$1" GET /register
  tok=$(form_value csrf)
  ver=$(form_value notice_version)
  req "$1" POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "name=$2" --data-urlencode "id_number=$3" \
    --data-urlencode "phone=$4" --data-urlencode "password=$5" \
    --data-urlencode "password2=$5" --data-urlencode "agree=yes" \
    --data-urlencode "notice_version=$ver" --data-urlencode "consent_id_number=yes"
}

# login_form JAR USER PASSWORD: the login form as a browser fills it: GET /login
# (next=/account), then POST it with its csrf token; STATUS, LOCATION... of the POST.
login_form() {
  local tok
  req "$1" GET '/login?next=%2Faccount'
  tok=$(form_value csrf)
  req "$1" POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "username=$2" --data-urlencode "password=$3"
}

# follow_form JAR PATH [curl args...]: GET the page the last answer sent the browser to
# (LOCATION), then POST PATH with that page's csrf and next and the curl args (more
# fields); STATUS, LOCATION... of the POST.
follow_form() {
  local jar=$1 path=$2 tok next
  shift 2
  req "$jar" GET "$LOCATION"
  tok=$(form_value csrf)
  next=$(form_value next)
  req "$jar" POST "$path" --data-urlencode "csrf=$tok" --data-urlencode "next=$next" "$@"
}

# through_login JAR USER PASSWORD: the login form the last answer sent the browser to
# (LOCATION), filled with its own next; STATUS, LOCATION... of the POST.
through_login() {
  follow_form "$1" /login --data-urlencode "username=$2" --data-urlencode "password=$3"
}

# header NAME: the value of response header NAME of the last fetch ("" when absent).
header() {
  { grep -i "^$1: " "$TMP/headers" 2>/dev/null || true; } | tr -d '\r' | sed 's/^[^:]*: //'
}

# cookie_line NAME: the Set-Cookie line for NAME of the last fetch; cookie_value NAME:
# the value it sets ("" when none).
cookie_line() {
  { grep -i "^Set-Cookie: $1=" "$TMP/headers" 2>/dev/null || true; } | head -1 | tr -d '\r'
}
cookie_value() { cookie_line "$1" | sed -E "s/^[^:]*: $1=([^;]*).*/\1/"; }

# jar_value JAR NAME: the value of cookie NAME in $TMP/JAR.jar.
jar_value() { awk -v n="$2" '$6 == n { v = $7 } END { print v }' "$TMP/$1.jar"; }

# form_value NAME: the value of the first input NAME in the last body (&amp; decoded).
form_value() {
  { grep -oE "name=\"$1\" value=\"[^\"]+\"" "$TMP/body" 2>/dev/null || true; } | head -1 |
    sed -E 's/.*value="([^"]+)"/\1/' | sed 's/&amp;/\&/g'
}

# authorize_visit JAR PARAMS: GET /authorize with JAR's session for PARAMS (client_id,
# scope, ...: a query string) plus response_type=code, redirect http://127.0.0.1:9/cb, a
# fresh state (AZ_STATE) and PKCE S256 (VERIFIER), consenting when asked. STATUS and
# LOCATION are what /authorize finally answered; returns 1 (after fail) when the consent
# did not lead back to /authorize.
authorize_visit() {
  local jar=$1 challenge
  VERIFIER=$(openssl rand -hex 32)
  challenge=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A |
    tr '+/' '-_' | tr -d '=')
  AZ_STATE=$(openssl rand -hex 8)
  req "$jar" GET "/authorize?response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=$AZ_STATE&code_challenge=$challenge&code_challenge_method=S256&$2"
  if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
    consent_allow "$jar"
    [[ $STATUS == 30[23] && $LOCATION == /authorize\?* ]] || { fail "consent: $STATUS '$LOCATION'"; return 1; }
    req "$jar" GET "$LOCATION"
  fi
}

# consent_allow JAR: the consent page the last answer sent the browser to (LOCATION),
# allowed with its own csrf and next; STATUS, LOCATION... of the POST.
consent_allow() {
  follow_form "$1" /consent --data-urlencode "action=allow"
}

# authorize_code JAR SCOPE [CLIENT]: authorize_visit for CLIENT (default the public app
# app1) asking SCOPE (url-encoded) with a nonce; sets CODE and VERIFIER; fails and returns
# 1 when no code comes back to CB.
authorize_code() {
  local jar=$1 scope=$2 client=${3:-app1} nonce
  nonce=n$(openssl rand -hex 8)
  CODE=
  authorize_visit "$jar" "client_id=$client&scope=$scope&nonce=$nonce" || return 1
  if [[ $STATUS == 302 && $LOCATION == "$CB?"* && $(qparam "$LOCATION" state) == "$AZ_STATE" ]]; then
    CODE=$(qparam "$LOCATION" code)
  fi
  [[ -n $CODE ]] || { fail "/authorize gave no code: $STATUS '$LOCATION'"; return 1; }
}

# id_token JAR CLIENT [SCOPE]: a code for CLIENT (a public app redirecting to CB) with
# JAR's session asking SCOPE (url-encoded, default openid), redeemed at BASE/token with
# PKCE; sets IDT and AT (fails and returns 1 without).
id_token() {
  IDT= AT=
  authorize_code "$1" "${3:-openid}" "$2" || return 1
  curl -s -o "$TMP/tok.json" -d grant_type=authorization_code -d "client_id=$2" \
    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$BASE/token"
  IDT=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("id_token",""))' "$TMP/tok.json" 2>/dev/null)
  AT=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("access_token",""))' "$TMP/tok.json" 2>/dev/null)
  [[ -n $IDT && -n $AT ]] || { fail "$2: no tokens: $(cat "$TMP/tok.json")"; return 1; }
}

# qr_new JAR: the login page's QR button in JAR (next=/account); T the request's token,
# STATUS, LOCATION... of the POST.
qr_new() {
  req "$1" GET '/login?next=%2Faccount'
  [[ $BODY == *'action="/login/qr"'* ]] || fail "the login page has no QR button"
  req "$1" POST /login/qr --data-urlencode "csrf=$(form_value csrf)" --data-urlencode next=/account
  T=$(qparam "$BASE$LOCATION" t)
}

# qr_app STEP TOKEN T: POST /qr/STEP (scan, confirm, deny) as the mobile app with the
# access token TOKEN; STATUS, BODY... and ERR (the error member).
qr_app() {
  fetch "$BASE/qr/$1" -X POST -H "Authorization: Bearer $2" --data-urlencode "t=$3"
  ERR=$(jget error)
}

# ---- parsers and data

# qparam URL NAME: the query parameter NAME of URL ("" when absent).
qparam() {
  "$PY" -c 'import sys,urllib.parse as u;q=u.parse_qs(u.urlsplit(sys.argv[1]).query);print(q.get(sys.argv[2],[""])[0])' "$1" "$2"
}

# jwt_part JWT 0|1 KEY: a member of the (unverified) header or payload ("" when absent);
# jwt_claim JWT KEY: a member of the payload.
jwt_part() {
  "$PY" -c 'import sys,json,base64;p=sys.argv[1].split(".")[int(sys.argv[2])];p+="="*(-len(p)%4);print(json.loads(base64.urlsafe_b64decode(p)).get(sys.argv[3],""))' "$1" "$2" "$3" 2>/dev/null
}
jwt_claim() { jwt_part "$1" 1 "$2"; }

# audit_count EVENT [TEXT...]: how many lines of $S/audit.log record EVENT and contain
# every TEXT.
audit_count() {
  local lines t
  lines=$(grep -F "\"event\":\"$1\"" "$S/audit.log" || true)
  shift
  for t in "$@"; do lines=$(printf '%s\n' "$lines" | grep -F -- "$t" || true); done
  if [[ -z $lines ]]; then echo 0; else printf '%s\n' "$lines" | wc -l; fi
}

# reg_consent: REG_CONSENT, the privacy part of the registration form last fetched
# ($TMP/body) as a person fills it: both boxes ticked, the notice version shown. Pass
# "${REG_CONSENT[@]}" to the POST.
reg_consent() {
  REG_CONSENT=(--data-urlencode "agree=yes" --data-urlencode "consent_id_number=yes"
    --data-urlencode "notice_version=$(form_value notice_version)")
}

# basic ID SECRET: the Authorization header value for client_secret_basic.
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | openssl base64 -A)"; }
# jget KEY: a top-level value of the last JSON body ("" when absent; true/false as such).
jget() {
  "$PY" -c 'import sys,json;v=json.load(open(sys.argv[1])).get(sys.argv[2],"");print(json.dumps(v) if isinstance(v,bool) else v)' "$TMP/body" "$1" 2>/dev/null
}

# enc TEXT: TEXT percent-encoded for a query parameter.
enc() { "$PY" -c 'import sys,urllib.parse as u;print(u.quote(sys.argv[1],safe=""))' "$1"; }
# xml_text TAG: the text of the first <cas:TAG> of the last body ("" when none).
xml_text() {
  "$PY" - "$TMP/body" "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = {"cas": "http://www.yale.edu/tp/cas"}
try:
    e = ET.parse(sys.argv[1]).getroot().find(".//cas:" + sys.argv[2], ns)
    print("" if e is None else (e.text or ""))
except ET.ParseError as x:
    print("PARSE-ERROR %s" % x)
EOF
}

# id_number DIGITS17: a valid resident ID number (GB 11643 check character) from 17 digits.
id_number() {
  "$PY" - "$1" <<'EOF'
import sys
d = sys.argv[1]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(d + "10X98765432"[sum(int(a) * b for a, b in zip(d, w)) % 11])
EOF
}

# org_code OC8: the organization code (GB 11714) of the 8 characters OC8, its check
# character appended. credit_code TYPE REGION OC8: the unified social credit code
# (GB 32100) of registration type TYPE (2 characters), region REGION (6 digits) and
# that organization code, its check character appended.
org_code() {
  "$PY" - "$1" <<'EOF'
import sys
AL = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
s8 = sys.argv[1]
c = 11 - sum(AL.index(ch) * x for ch, x in zip(s8, [3, 7, 9, 10, 5, 8, 4, 2])) % 11
print(s8 + ("X" if c == 10 else "0" if c == 11 else str(c)))
EOF
}
credit_code() {
  local oc
  oc=$(org_code "$3")
  "$PY" - "$1$2$oc" <<'EOF'
import sys
UA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
s = sys.argv[1]
c = (31 - sum(UA.index(ch) * pow(3, i, 31) for i, ch in enumerate(s)) % 31) % 31
print(s + UA[c])
EOF
}

# ---- TOTP: enrolment on the account page, codes, the step-up form

# fresh_code WHO: a TOTP code for the seed kept in $TMP/WHO.seed at a step the server has
# not seen used for that person (the current one, or the next one inside the window;
# waits for the clock when even that was used).
fresh_code() {
  "$PY" - "$TMP/$1.seed" "$TMP/$1.step" <<'EOF'
import base64, hashlib, hmac, os, struct, sys, time
seed_s = open(sys.argv[1]).read().replace(" ", "").strip()
seed = base64.b32decode(seed_s + "=" * (-len(seed_s) % 8))
last = int(open(sys.argv[2]).read()) if os.path.exists(sys.argv[2]) else -1
step = max(int(time.time()) // 30, last + 1)
while step > int(time.time()) // 30 + 1:
    time.sleep(0.5)
open(sys.argv[2], "w").write(str(step))
h = hmac.new(seed, struct.pack(">Q", step), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
EOF
}

# enrol JAR WHO: TOTP enrolment on the account page of JAR's session, confirmed with a
# code; the seed kept for fresh_code WHO.
enrol() {
  local tok
  req "$1" GET /account
  tok=$(form_value csrf)
  req "$1" POST /account/totp/new --data-urlencode "csrf=$tok"
  [[ $STATUS == 303 ]] || { fail "$1: /account/totp/new $STATUS"; return 1; }
  req "$1" GET /account/totp
  tok=$(form_value csrf)
  grep -oE '<code class="secret">[^<]+' "$TMP/body" | sed 's/.*>//' >"$TMP/$2.seed"
  [[ -s $TMP/$2.seed ]] || { fail "$1: no TOTP secret on /account/totp"; return 1; }
  req "$1" POST /account/totp/confirm --data-urlencode "csrf=$tok" \
    --data-urlencode "code=$(fresh_code "$2")"
  [[ $STATUS == 303 && $LOCATION == "/account?done=totp" ]] ||
    { fail "$1: TOTP confirm $STATUS '$LOCATION'"; return 1; }
}

# totp_step JAR WHO: the TOTP form at LOCATION, filled with fresh_code WHO; STATUS... of
# the POST.
totp_step() {
  local tok next loa
  req "$1" GET "$LOCATION"
  tok=$(form_value csrf)
  next=$(form_value next)
  loa=$(form_value loa)
  req "$1" POST /login/totp --data-urlencode "csrf=$tok" --data-urlencode "next=$next" \
    --data-urlencode "loa=$loa" --data-urlencode "code=$(fresh_code "$2")"
}

# ---- a back-channel logout receiver

# start_receiver PORT FILE: a python3 stdlib HTTP server on 127.0.0.1:PORT that appends
# each POST body as one line to FILE (emptied first) and answers GET with 204; its log
# $TMP/receiver.log. Sets RPID (list it in PIDS_TO_STOP); dies when it does not answer.
start_receiver() {
  cat >"$TMP/receiver.py" <<'EOF'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 65536)).decode("ascii", "replace")
        with open(out, "a") as f:
            f.write(body.replace("\n", " ") + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
  : >"$2"
  "$PY" "$TMP/receiver.py" "$1" "$2" >>"$TMP/receiver.log" 2>&1 &
  RPID=$!
  wait_ready "http://127.0.0.1:$1/" "$RPID" || die "the receiver did not start"
}

# wait_bodies N: waits (bounded) until the receiver (start_receiver) has written N
# bodies to $TMP/bodies.txt.
wait_bodies() {
  for _ in $(seq 1 300); do
    [[ $(wc -l <"$TMP/bodies.txt") -ge $1 ]] && return 0
    sleep 0.05
  done
  return 1
}

# ---- one pass over the endpoints that use every key

# oidc_round_setup ID_NUMBER PASSWORD SVC_SECRET: what oidc_round needs, registered with
# authctl on S while authd runs: the public app app1 (redirect CB), the confidential app
# svc (client_credentials) and a person with a phone number; then waits until authd has
# picked the apps up (svc gets a token). Ends the script when a step fails.
oidc_round_setup() {
  local i
  ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid profile phone
  ctl_or_die client add svc --secret "$3" --grant client_credentials
  printf '%s\n' "$2" | ctl_or_die user add --id-number "$1" --name 王小明 --phone 13812345678 \
    --password-stdin
  for i in $(seq 1 40); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -u "svc:$3" -d grant_type=client_credentials \
      "$BASE/token") == 200 ]] && return 0
    sleep 0.1
  done
  die "authd did not pick up the app svc"
}

# oidc_round JAR USER PASSWORD SVC_SECRET: a client_credentials grant for the
# confidential app svc (client secret hash, a signature), the login form (CSRF MAC, vault
# blind index, the failed-login counter name of an unknown identifier), /authorize for
# the public app app1 (consent, re-authentication marker), the code redeemed (pairwise
# sub, ID and access token signatures, sealed user reference) and /userinfo (the user
# reference opened, the vault opening the phone number). Needs BASE, CB, and app1 and svc
# registered; fails (and returns 1) when a step does not answer as it should.
oidc_round() {
  local jar=$1 user=$2 pw=$3 secret=$4 at code
  code=$(curl -s -o "$TMP/cc.json" -w '%{http_code}' -u "svc:$secret" \
    -d grant_type=client_credentials "$BASE/token")
  [[ $code == 200 ]] || { fail "client_credentials: $code $(cat "$TMP/cc.json")"; return 1; }
  login_form "$jar" "no-such-$user" "$pw"
  [[ $STATUS == 200 ]] || { fail "an unknown identifier: $STATUS"; return 1; }
  login_form "$jar" "$user" "$pw"
  [[ $STATUS == 303 ]] || { fail "login: $STATUS '$LOCATION'"; return 1; }
  authorize_code "$jar" "openid%20profile%20phone" || return 1
  code=$(curl -s -o "$TMP/tok.json" -w '%{http_code}' -d grant_type=authorization_code \
    -d client_id=app1 --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "code_verifier=$VERIFIER" "$BASE/token")
  at=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1])).get("access_token",""))' \
    "$TMP/tok.json" 2>/dev/null)
  [[ $code == 200 && -n $at ]] || { fail "code redeemed: $code $(cat "$TMP/tok.json")"; return 1; }
  code=$(curl -s -o "$TMP/ui.json" -w '%{http_code}' -H "Authorization: Bearer $at" \
    "$BASE/userinfo")
  [[ $code == 200 ]] && grep -q phone_number "$TMP/ui.json" ||
    { fail "userinfo: $code $(cat "$TMP/ui.json")"; return 1; }
}
