#!/usr/bin/env bash
# SIGHUP reloads authd's configuration file: a changed reloadable option takes effect
# over HTTP (login.max_failures: an identifier is locked after fewer failures; log.level:
# a debug line appears), a changed immutable one (http.listen) is logged as needing a
# restart and not applied (authd still listens where it did), and a broken file changes
# nothing (the same limits, the same log level) and is logged with its file:line.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp config-reload

PORT=$(free_port)
PORT2=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
LOG=$TMP/authd.log

# conf MAX_FAILURES LEVEL LISTEN_PORT [EXTRA LINE]: writes the configuration file.
conf() {
  cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$3
log.format = text
log.level = $2
login.max_failures = $1
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
${4:-}
CONF
}

# failures ID N: N wrong passwords for the identifier ID; prints their statuses.
failures() {
  local i out=
  for i in $(seq 1 "$2"); do
    login_form "f$1" "$1" "wrong password $i"
    out="$out $STATUS"
  done
  echo "${out# }"
}

# bad_token: a /userinfo call with a malformed access token (logged at debug level).
bad_token() { curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer not.a.token' "$BASE/userinfo"; }

# since MARK: the log after line MARK.
since() { tail -n +"$(($1 + 1))" "$LOG"; }

conf 5 info "$PORT"
start_authd -c "$CONF"

# ---- before: five failures lock an identifier; no debug lines
[[ $(failures nobody-1 2) == "200 200" ]] && ok "before: 2 failures do not lock" ||
  fail "before: $(failures nobody-1 0)"
mark=$(wc -l <"$LOG")
[[ $(bad_token) == 401 ]] || fail "bad token not refused"
since "$mark" | grep -q 'access token refused' && fail "a debug line at log.level = info"

# ---- a reload: two reloadable options and an immutable one changed
conf 2 debug "$PORT2"
mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
since "$mark" >"$TMP/hup1.log"
grep -q 'SIGHUP: login.max_failures = 2 (was 5)' "$TMP/hup1.log" &&
  ok "log: login.max_failures applied" || fail "log: $(cat "$TMP/hup1.log")"
grep -q 'SIGHUP: log.level = debug (was info)' "$TMP/hup1.log" &&
  ok "log: log.level applied" || fail "log: $(cat "$TMP/hup1.log")"
grep -q "SIGHUP: http.listen = 127.0.0.1:$PORT2 in the configuration file needs a restart: not applied (still 127.0.0.1:$PORT)" "$TMP/hup1.log" &&
  ok "log: http.listen needs a restart" || fail "log: $(cat "$TMP/hup1.log")"
grep -q 'SIGHUP: configuration reloaded: 2 options applied, 1 waiting for a restart' "$TMP/hup1.log" &&
  ok "log: summary" || fail "log: $(cat "$TMP/hup1.log")"
grep -q 'SIGHUP: key ring and clients reloaded' "$TMP/hup1.log" &&
  ok "the key ring and the clients still reload" || fail "log: $(cat "$TMP/hup1.log")"

# login.max_failures = 2: the second failure locks (429)
[[ $(failures nobody-2 2) == "200 429" ]] && ok "after: the 2nd failure locks the identifier" ||
  fail "after: login.max_failures not applied"
# log.level = debug: the refused token is logged now
mark=$(wc -l <"$LOG")
[[ $(bad_token) == 401 ]] || fail "bad token not refused"
since "$mark" | grep -q 'access token refused' && ok "after: debug lines logged" ||
  fail "log.level not applied: $(since "$mark")"
# http.listen: still the old port, nothing on the new one
check_healthz "still listening on the old port"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT2/healthz")
[[ $code == 000 ]] && ok "nothing listens on the new port" || fail "port $PORT2 answered $code"

# ---- a broken file: nothing changes, file:line logged
conf 0 warn "$PORT"
line=$(grep -n '^login.max_failures' "$CONF" | cut -d: -f1)
mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
since "$mark" >"$TMP/hup2.log"
grep -q "SIGHUP: configuration not reloaded (everything stays as it was): $CONF:$line: login.max_failures: expected a number in 1..1000" "$TMP/hup2.log" &&
  ok "log: broken file named with file:line" || fail "log: $(cat "$TMP/hup2.log")"
grep -q 'SIGHUP: log.level\|SIGHUP: login.max_failures =\|configuration reloaded' "$TMP/hup2.log" &&
  fail "a broken file applied something: $(cat "$TMP/hup2.log")"
[[ $(failures nobody-3 2) == "200 429" ]] && ok "broken file: login.max_failures still 2" ||
  fail "broken file changed login.max_failures"
mark=$(wc -l <"$LOG")
[[ $(bad_token) == 401 ]] || fail "bad token not refused"
since "$mark" | grep -q 'access token refused' && ok "broken file: still logging debug lines" ||
  fail "broken file changed log.level"

# A line that is not "key = value" is named by its line as well.
conf 2 debug "$PORT" "just words"
line=$(grep -n '^just words' "$CONF" | cut -d: -f1)
mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
since "$mark" | grep -q "configuration not reloaded (everything stays as it was): $CONF:$line: expected 'key = value'" &&
  ok "log: a malformed line named with file:line" || fail "log: $(since "$mark")"

# Repaired: the next SIGHUP reloads (the listen address back as it runs: nothing waits).
conf 3 info "$PORT"
mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
since "$mark" | grep -q 'SIGHUP: configuration reloaded: 2 options applied, 0 waiting for a restart' &&
  ok "repaired file reloads" || fail "log: $(since "$mark")"

check_stop_authd
no_sanitizer_in "sanitizer report in authd's log" "$LOG"
if ((FAILS)); then show_logs; echo "$FAILS check(s) failed"; exit 1; fi
echo "config_reload: all checks passed"
