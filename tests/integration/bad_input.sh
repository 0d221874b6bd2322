#!/usr/bin/env bash
# Bad input gives ONE clear error line and a non-zero exit, never a crash: malformed
# configuration files (file:line named), `authd -t` on good and bad files, a bad listen
# address, a busy port, a missing vault key file next to an existing directory, an
# unwritable state directory; the same for authctl where it applies (authctl checks
# authd's file as authd does: a typo is an error for both). And the directory's file
# removed under a running authd: /readyz answers 503 with a JSON body.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${YH_BUILD:-build}
AUTHD=$BUILD/authd/authd
AUTHCTL=$BUILD/authctl/authctl
make_tmp

[[ -x $AUTHD ]] || { echo "FAIL: $AUTHD not built"; exit 1; }
cd "$TMP" || exit 1

# --- configuration files
printf '# a good file\nstate_dir = st\nhttp.listen = 127.0.0.1:8080\nlog.format = text\n' >good.conf
printf '# comment\nstate_dir = st\n\nno_such.option = 1\n' >unknown.conf
printf 'state_dir = st\nhttp.max_body = lots\n' >badvalue.conf
printf 'state_dir = st\nhttp.max_body = 10\n' >range.conf
printf 'state_dir = st\nlog.format = xml\n' >badenum.conf
printf 'state_dir = st\nthis line has no equals sign\n' >noeq.conf
printf 'state_dir = st\n\n\nhttp.listen = localhost\n' >badlisten.conf
printf 'state_dir = st\nissuer = https://idp.example.gov.cn/\n' >badissuer.conf
printf 'state_dir = st\nhttp.trusted_proxies = 10.0.0.0/8, not-an-ip\n' >badproxy.conf
printf 'state_dir = st\nhttp.threads = 2\nhttp.threads = 3\n' >twice.conf

out=$("$AUTHD" -t -c good.conf 2>&1)
rc=$?
[[ $rc -eq 0 && $out == "configuration ok" ]] && ok "authd -t good file" ||
  fail "authd -t good file: exit $rc, output: $out"
out=$("$AUTHD" -t 2>&1)
rc=$?
[[ $rc -eq 0 && $out == "configuration ok" ]] && ok "authd -t embedded defaults" ||
  fail "authd -t embedded defaults: exit $rc, output: $out"
[[ ! -e st ]] || fail "authd -t created the state directory"

expect_error "-t unknown key" '^authd: .*unknown\.conf:4: unknown option .no_such\.option.' \
  "$AUTHD" -t -c unknown.conf
expect_error "unknown key (no -t)" 'unknown\.conf:4: unknown option' "$AUTHD" -c unknown.conf
expect_error "-t bad value" 'badvalue\.conf:2: http\.max_body: expected a number' \
  "$AUTHD" -t -c badvalue.conf
expect_error "value out of range" 'range\.conf:2: http\.max_body: expected a number in 1024\.\.' \
  "$AUTHD" -c range.conf
expect_error "bad enum" "badenum\\.conf:2: log\\.format: 'xml' is not one of" "$AUTHD" -t -c badenum.conf
expect_error "no '='" "noeq\\.conf:2: expected 'key = value'" "$AUTHD" -t -c noeq.conf
expect_error "bad listen in file" 'badlisten\.conf:4: http\.listen: expected ADDR:PORT' \
  "$AUTHD" -t -c badlisten.conf
expect_error "bad issuer" "badissuer\\.conf:2: issuer: must not end with '/'" \
  "$AUTHD" -t -c badissuer.conf
expect_error "bad proxy" "badproxy\\.conf:2: http\\.trusted_proxies: 'not-an-ip'" \
  "$AUTHD" -t -c badproxy.conf
expect_error "option twice" "twice\\.conf:3: option 'http\\.threads' given twice" \
  "$AUTHD" -t -c twice.conf
expect_error "missing config file" 'nonexistent\.conf: cannot read config file' \
  "$AUTHD" -t -c nonexistent.conf
expect_error "bad -l" '^authd: .*command line: http\.listen: expected ADDR:PORT' \
  "$AUTHD" -d st -l 127.0.0.1
expect_error "unknown flag" "^authd: unknown or incomplete option '-z'" "$AUTHD" -z
[[ ! -e st ]] || fail "a configuration error created the state directory"

# --- runtime: a foreign address, a busy port
PORT=$(free_port)
expect_error "address not on this host" 'cannot listen on 192\.0\.2\.1:[0-9]+: ' \
  "$AUTHD" -d st -l "192.0.2.1:$PORT"

start_authd -d "$TMP/state" -l "127.0.0.1:$PORT"
expect_error "busy port" "cannot listen on 127\\.0\\.0\\.1:$PORT: Address already in use" \
  "$AUTHD" -d "$TMP/other" -l "127.0.0.1:$PORT"

# --- the directory's file removed under a running authd (an operator's rm or mv, a
# restore that swaps the file, a lost mount): SQLite would go on writing to the orphaned
# file, so /readyz must say 503 with a JSON body, and recover when the file is back.
readyz() {  # prints "STATUS CONTENT-TYPE" and leaves the body in $TMP/ready.json
  curl -s -o "$TMP/ready.json" -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT/readyz"
}
db=$(ls "$TMP/state"/*.db 2>/dev/null | head -1)
[[ $(readyz) == "200 application/json"* ]] && ok "/readyz 200 with the directory in place" ||
  fail "/readyz before: $(readyz) $(cat "$TMP/ready.json")"
if [[ -n $db ]] && mv "$db" "$db.away"; then
  got=$(readyz)
  if [[ $got == "503 application/json"* ]] &&
    jq -e '.status == "unavailable" and .check == "directory" and
      (.reason | test("directory \\(sqlite\\): the database file is gone"))' "$TMP/ready.json" >/dev/null; then
    ok "/readyz 503 JSON when the directory file is gone: $(cat "$TMP/ready.json")"
  else
    fail "/readyz with the file gone: $got $(cat "$TMP/ready.json")"
  fi
  grep -qF "$TMP" "$TMP/ready.json" && fail "/readyz shows a file path" || ok "/readyz shows no path"
  grep -q 'not ready: directory' "$TMP/authd.log" && ok "logged: not ready" || fail "no log line"
  mv "$db.away" "$db"
  [[ $(readyz) == "200 "* ]] && ok "/readyz 200 again with the file back" ||
    fail "/readyz after restore: $(readyz) $(cat "$TMP/ready.json")"
else
  fail "no directory database in $TMP/state"
fi
stop_authd

# --- a missing key file next to an existing directory
key=$TMP/state/vault.key
[[ -f $key ]] || key=
db=$(ls "$TMP/state"/*.db 2>/dev/null | head -1)
if [[ -z $key || -z $db ]]; then
  fail "authd did not create a key file and a directory database in the state dir"
else
  mv "$key" "$TMP/key.bak"
  expect_error "missing key file" "$(basename "$key")" \
    "$AUTHD" -d "$TMP/state" -l "127.0.0.1:$(free_port)"
  [[ ! -e $key ]] && ok "no new key was made" || fail "authd made a new key file"
  if [[ -x $AUTHCTL ]]; then
    expect_error "authctl: missing key file" "$(basename "$key")" \
      "$AUTHCTL" -d "$TMP/state" user list
  fi
  mv "$TMP/key.bak" "$key"
fi
# The pairwise-subject key: never silently replaced next to an existing directory.
if [[ -f $TMP/state/subject.key ]]; then
  mv "$TMP/state/subject.key" "$TMP/subject.bak"
  expect_error "missing subject key" 'subject\.key is missing but the directory exists' \
    "$AUTHD" -d "$TMP/state" -l "127.0.0.1:$(free_port)"
  [[ ! -e $TMP/state/subject.key ]] && ok "no new subject key was made" ||
    fail "authd made a new subject key"
  mv "$TMP/subject.bak" "$TMP/state/subject.key"
else
  fail "authd did not create subject.key"
fi

# --- an unwritable state directory. Tests run as root, where mode bits do not stop
# writes: put the state directory under a regular file instead.
touch "$TMP/plainfile"
expect_error "unwritable state dir" 'plainfile' \
  "$AUTHD" -d "$TMP/plainfile/state" -l "127.0.0.1:$(free_port)"
if [[ -x $AUTHCTL ]]; then
  expect_error "authctl: unwritable state dir" 'plainfile' \
    "$AUTHCTL" -d "$TMP/plainfile/state" user list
  printf 'state_dir = st\nvault.no_such = 1\n' >ctlbad.conf
  expect_error "authctl: malformed config" 'ctlbad\.conf:2: unknown option' \
    "$AUTHCTL" -c ctlbad.conf user list
  # authctl reads authd's file as authd does: a typo in an undotted key, an unknown key
  # of authd's own sections and a bad authd value are errors for both, while authd's
  # options (which authctl does not use) are accepted.
  printf '# authd and authctl share this file\nstat_dir = %s/state\n' "$TMP" >typo.conf
  expect_error "authd: typo in an undotted key" "typo\\.conf:2: unknown option .stat_dir." \
    "$AUTHD" -t -c typo.conf
  expect_error "authctl: typo in an undotted key" "typo\\.conf:2: unknown option .stat_dir." \
    "$AUTHCTL" -c typo.conf user list
  expect_error "authctl client list: typo too" "typo\\.conf:2: unknown option" \
    "$AUTHCTL" -c typo.conf client list
  printf 'state_dir = %s/state\nhttp.max_bdoy = 1\n' "$TMP" >typo2.conf
  expect_error "authctl: unknown key in authd's section" "typo2\\.conf:2: unknown option .http\\.max_bdoy." \
    "$AUTHCTL" -c typo2.conf user list
  printf 'state_dir = %s/state\nhttp.max_body = lots\n' "$TMP" >typo3.conf
  expect_error "authctl: bad value of an authd option" 'typo3\.conf:2: http\.max_body: expected a number' \
    "$AUTHCTL" -c typo3.conf user list
  printf 'state_dir = %s/state\nhttp.listen = 127.0.0.1:0\nissuer = https://id.example.gov.cn\nlog.format = text\nkeys.alg = ES256\nsession.backend = memory\n' \
    "$TMP" >shared.conf
  if "$AUTHD" -t -c shared.conf >/dev/null 2>"$TMP/err" &&
    "$AUTHCTL" -c shared.conf user list >/dev/null 2>"$TMP/err"; then
    ok "authctl accepts authd's options in the shared file"
  else
    fail "shared file: $(cat "$TMP/err")"
  fi
  "$AUTHCTL" -c typo.conf -d "$TMP/state" user list >/dev/null 2>&1 &&
    fail "authctl: -d does not excuse a typo in the file" || ok "authctl: -d does not excuse a typo"
fi
if [[ $(id -u) -ne 0 ]]; then
  mkdir -p "$TMP/ro" && chmod 500 "$TMP/ro"
  expect_error "read-only state dir (non-root)" 'not writable|Permission denied' \
    "$AUTHD" -d "$TMP/ro/state" -l "127.0.0.1:$(free_port)"
  chmod 700 "$TMP/ro"
fi

# --- TLS files: unreadable, not PEM, a key that does not match the certificate
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout key.pem -out cert.pem -subj /CN=127.0.0.1 2>/dev/null
  openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out other.pem 2>/dev/null
  echo 'not a certificate' >junk.pem
  chmod 600 key.pem other.pem
  tls_conf() { printf 'state_dir = st\ntls.cert_file = %s\ntls.key_file = %s\n' "$1" "$2" >"$3"; }
  tls_conf cert.pem missing.pem tls1.conf
  tls_conf junk.pem key.pem tls2.conf
  tls_conf cert.pem other.pem tls3.conf
  P=$(free_port)
  expect_error "TLS key file missing" 'tls\.key_file .*missing\.pem: cannot read' \
    "$AUTHD" -c tls1.conf -l "127.0.0.1:$P"
  expect_error "TLS cert not PEM" 'tls\.cert_file .*junk\.pem: no PEM certificate' \
    "$AUTHD" -c tls2.conf -l "127.0.0.1:$P"
  expect_error "TLS key does not match" 'tls\.key_file .*other\.pem does not match' \
    "$AUTHD" -c tls3.conf -l "127.0.0.1:$P"
fi

finish "bad_input: all checks passed" "bad_input: "
