#!/usr/bin/env bash
# Only keyd opens key files. authd runs under `strace -f -e trace=open,openat,openat2`
# from a fresh state directory: first start (keyd makes the keys), an app with a secret
# (authctl makes client-secret.key; keyd reads it), a person, then oidc_round (lib.sh:
# a client_credentials grant, the login form, /authorize, the code redeemed, /userinfo)
# and a SIGHUP (keyd re-reads the ring). Every open of the vault key, subject.key,
# client-secret.key, audit.key or a private key of the ring (keys/*.pem), temporary
# files of their creation included, must come from a thread of keyd's process, never
# from the HTTP process; keyd must have opened each of them (the check is not vacuous),
# and the HTTP process must show in the trace (it opens directory.db). As a control,
# authd with keys.in_process = yes on the same state: the same check must then find the
# HTTP process opening them (so the check can fail). Last, keyd's signals: SIGTERM to
# keyd alone is ignored, and keyd killed stops authd with status 2 and a log line; keyd
# stopped (SIGSTOP) for less than keys.answer_timeout only delays a grant, for longer it
# stops authd with status 2 and a line naming the option; a SIGHUP while another process
# holds the ring's lock (a rotation) leaves the ring as it was, with a line saying why,
# and does not stop authd.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v strace >/dev/null || { echo "FAIL: strace is not installed (./run deps)"; exit 1; }

make_tmp keyd-files
SPID= PID=
PIDS_TO_STOP="SPID PID"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb
ID=11010519491231002X
PW='Key Files 2026!'
SECRET=svc-secret-for-the-key-files-test-0000000001

# traced NAME [CONFIG LINES...]: authd under strace, its opens in $TMP/NAME.trace; sets
# SPID (strace), PID (authd) and KEYD (keyd's pid, "" without one).
traced() {
  local name=$1
  shift
  printf '%s\n' "$@" >"$TMP/$name.conf"
  strace -f -qq -e trace=open,openat,openat2 -o "$TMP/$name.trace" \
    "$AUTHD" -c "$TMP/$name.conf" -d "$S" -l "127.0.0.1:$PORT" 2>>"$TMP/authd.log" &
  SPID=$!
  wait_ready "$BASE/healthz" "$SPID" || die "authd did not start under strace"
  PID=$(cat "/proc/$SPID/task/$SPID/children" | tr -d ' ')
  KEYD=$(cat "/proc/$PID/task/$PID/children" 2>/dev/null | tr -d ' ')
}
# threads_of PID...: the thread ids of the processes, one per line.
threads_of() { local p; for p in "$@"; do ls "/proc/$p/task"; done; }
# stop_traced: SIGTERM to authd, then waits for strace.
stop_traced() {
  kill -TERM "$PID"
  wait "$SPID" || true
  SPID= PID=
}
# key_opens TRACE TIDS_FILE: one line per open of a key file: "keyd|http TID PATH".
key_opens() {
  "$PY" - "$1" "$2" "$S" <<'EOF'
import os, re, sys
trace, tids, state = sys.argv[1:4]
keyd = set(open(tids).read().split())
keyfile = re.compile(r"^(vault\.key|subject\.key|client-secret\.key|audit\.key)")
for line in open(trace):
    m = re.match(r'^(\d+)\s+(open|openat|openat2)\((?:[^,]*, )?"([^"]*)"', line)
    if m is None:
        m = re.match(r'^(\d+)\s+(open)\("([^"]*)"', line)
    if m is None:
        continue
    tid, path = m.group(1), m.group(3)
    d, base = os.path.split(path)
    if (d == state and keyfile.match(base)) or (d == state + "/keys" and ".pem" in base):
        print("keyd" if tid in keyd else "http", tid, path)
EOF
}

# ---- with keyd
traced keyd
[[ -n $KEYD ]] && ok "authd forked keyd (pid $KEYD)" || die "no keyd child of authd $PID"
oidc_round_setup "$ID" "$PW" "$SECRET"
oidc_round jar "$ID" "$PW" "$SECRET" && ok "login, token grants and userinfo work under strace"
hup_and_wait "$(wc -l <"$TMP/authd.log")"
threads_of "$KEYD" >"$TMP/keyd.tids"
http_tids=$(threads_of "$PID" | wc -l)
stop_traced

key_opens "$TMP/keyd.trace" "$TMP/keyd.tids" >"$TMP/keyd.opens"
if grep -q '^http' "$TMP/keyd.opens"; then
  fail "the HTTP process opened key files: $(grep '^http' "$TMP/keyd.opens" | head -5)"
else
  ok "no key file opened by the HTTP process ($http_tids threads)"
fi
for f in vault.key subject.key client-secret.key audit.key; do
  grep -q "^keyd [0-9]* $S/$f\$" "$TMP/keyd.opens" && ok "keyd opened $f" ||
    fail "keyd never opened $f: the check would be vacuous"
done
n=$(grep -c "^keyd [0-9]* $S/keys/[A-Za-z0-9_-]*\.pem\$" "$TMP/keyd.opens" || true)
((n >= 4)) && ok "keyd opened the ring's private keys ($n opens: at start and on SIGHUP)" ||
  fail "keyd opened the ring's keys $n times (want the start and the reload)"
grep -E "^[0-9]+ +open(at)?\(.*\"$S/directory\.db\"" "$TMP/keyd.trace" |
  grep -qv "^$KEYD " && ok "the trace shows the HTTP process (directory.db)" ||
  fail "the HTTP process does not show in the trace"

# ---- the control: keys in the HTTP process
traced inproc "keys.in_process = yes"
[[ -z $KEYD ]] && ok "keys.in_process: no keyd" || fail "keys.in_process: a child $KEYD"
curl -s -o /dev/null -u "svc:$SECRET" -d grant_type=client_credentials "$BASE/token"
: >"$TMP/none.tids"
stop_traced
key_opens "$TMP/inproc.trace" "$TMP/none.tids" >"$TMP/inproc.opens"
for f in vault.key subject.key client-secret.key audit.key; do
  grep -q "^http [0-9]* $S/$f\$" "$TMP/inproc.opens" &&
    ok "control: the check sees the HTTP process open $f when the keys are in process" ||
    fail "control: the check misses $f opened by the HTTP process"
done
no_errors_in "authd logged errors" "$TMP/authd.log"

# ---- keyd's signals: a stop signal to keyd alone is ignored; keyd killed stops authd
start_authd
KEYD=$(cat "/proc/$PID/task/$PID/children" | tr -d ' ')
kill -TERM "$KEYD"
sleep 0.3
[[ $(curl -s -o /dev/null -w '%{http_code}' -u "svc:$SECRET" -d grant_type=client_credentials \
  "$BASE/token") == 200 ]] && ok "keyd ignores SIGTERM (authd stops it); grants still signed" ||
  fail "after SIGTERM to keyd no grant"
mark=$(wc -l <"$TMP/authd.log")
kill -KILL "$KEYD"
rc=0
for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
wait "$PID" || rc=$?
PID=
[[ $rc == 2 ]] && ok "keyd killed: authd exits 2" || fail "keyd killed: authd exit $rc"
tail -n +"$((mark + 1))" "$TMP/authd.log" | grep -q "key holder keyd (pid $KEYD) exited" &&
  ok "authd logs that keyd exited" || fail "no log line about keyd: $(tail -3 "$TMP/authd.log")"

# ---- keyd stuck: a stop shorter than keys.answer_timeout only delays the answer; a
# longer one stops authd with status 2 and a line naming the option (not a wait for
# ever), and keyd, stopped, goes with it
printf '%s\n' "keys.answer_timeout = 2s" >"$TMP/late.conf"
start_authd -c "$TMP/late.conf" -d "$S" -l "127.0.0.1:$PORT"
KEYD=$(cat "/proc/$PID/task/$PID/children" | tr -d ' ')
grant() { curl -s -o /dev/null -w '%{http_code}' --max-time 12 -u "svc:$SECRET" \
  -d grant_type=client_credentials "$BASE/token"; }
[[ $(grant) == 200 ]] || fail "no grant before keyd was stopped"
kill -STOP "$KEYD"
(sleep 1; kill -CONT "$KEYD") &
[[ $(grant) == 200 ]] && ok "keyd stopped for 1 s (keys.answer_timeout = 2s): the grant is answered" ||
  fail "keyd stopped for 1 s: no grant"
wait $!
# A SIGHUP while a key rotation holds the ring's lock (authctl may make RSA keys for
# seconds): keyd waits half a second for it, answers "not reloaded", and the service
# stays; once the lock is free the next SIGHUP reloads.
flock -x "$S/keys/keyring.lock" sleep 4 &
LOCKER=$!
sleep 0.3
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark" &&
  tail -n +"$((mark + 1))" "$TMP/authd.log" | grep -q 'key ring not reloaded.*keyring.lock: held by another process' &&
  ok "SIGHUP during a rotation's lock: the ring is not reloaded, and the log says why" ||
  fail "SIGHUP during a rotation's lock: $(tail -n +"$((mark + 1))" "$TMP/authd.log" | tail -2)"
sleep 2.5   # past keys.answer_timeout: the reload is not still waiting in keyd
kill -0 "$PID" 2>/dev/null && [[ $(grant) == 200 ]] &&
  ok "authd still serves grants past keys.answer_timeout" || fail "authd stopped after a SIGHUP during a rotation"
wait "$LOCKER"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark" &&
  tail -n +"$((mark + 1))" "$TMP/authd.log" | grep -q 'SIGHUP: key ring and clients reloaded' &&
  ok "the lock released: SIGHUP reloads the ring" || fail "no reload once the lock was released"
mark=$(wc -l <"$TMP/authd.log")
kill -STOP "$KEYD"
t0=$(date +%s%N)
code=$(grant)
rc=0
for _ in $(seq 1 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$PID" 2>/dev/null && kill -KILL "$PID"   # still waiting: the check below fails
wait "$PID" || rc=$?
PID=
ms=$((($(date +%s%N) - t0) / 1000000))
[[ $code != 200 ]] || fail "keyd stopped: a grant was answered 200"
[[ $rc == 2 ]] && ((ms >= 1900 && ms < 10000)) &&
  ok "keyd stopped: authd exits 2 after $ms ms (keys.answer_timeout = 2s)" ||
  fail "keyd stopped: authd exit $rc after $ms ms"
tail -n +"$((mark + 1))" "$TMP/authd.log" |
  grep -q "key holder keyd (pid $KEYD) did not take or answer a request within 2 s (keys.answer_timeout)" &&
  ok "authd logs that keyd is stuck, naming keys.answer_timeout" ||
  fail "no log line about a stuck keyd: $(tail -3 "$TMP/authd.log")"
for _ in $(seq 1 100); do kill -0 "$KEYD" 2>/dev/null || break; sleep 0.05; done
kill -0 "$KEYD" 2>/dev/null && { fail "the stopped keyd outlived authd"; kill -KILL "$KEYD"; } ||
  ok "the stopped keyd ended with authd"
finish "all keyd_files checks passed"
