#!/usr/bin/env bash
# Refresh grants and the audit flush. A refresh_token grant is answered only once its
# token.issue line is on disk and its token rotated, and the HTTP thread does not sleep
# through the flush meanwhile: with a single HTTP thread (http.threads = 1) and 16
# clients refreshing at once, the audit writer must still get several refresh lines
# into one fdatasync (yh_audit_flushes_total against the token.issue lines written),
# which a thread that waited for each line's flush could never give. Every access token
# answered is on a token.issue line of the log, also when authd is killed (SIGKILL) or
# stopped (SIGTERM, then exit 0) in the middle of the load; the chain is intact
# (authctl audit verify) and authd starts again on the log.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp auditrefresh
S=$TMP/state
mkdir -p "$S"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
CB=http://127.0.0.1:9/cb
SECRET1=app-one-secret-0123456789abcdef-0123
N=16
PIDS_TO_STOP="PID LOAD"

ctl client add app1 --secret "$SECRET1" --redirect-uri "$CB" --scope openid profile \
  --grant authorization_code refresh_token >/dev/null || die "client add app1"
ID1=$(id_number 11010119900101201)
PW1='Refresh Batch 2026'
printf '%s\n' "$PW1" | ctl user add --id-number "$ID1" --name 王小明 --password-stdin >/dev/null ||
  die "user add"
printf 'http.threads = 1\n' >"$TMP/authd.conf"
start_authd -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$PORT"

# new_rts: N refresh tokens in $TMP/rts, each of its own family: one login, N code
# flows (the memory session store ends with the process: again after each start).
new_rts() {
  rm -f "$TMP/u.jar"
  login_form u "$ID1" "$PW1"
  [[ $STATUS == 303 ]] || die "login: $STATUS '$LOCATION'"
  : >"$TMP/rts"
  for _ in $(seq 1 "$N"); do
    authorize_code u "openid%20profile" app1 || die "no code for app1"
    req - POST /token -H "Authorization: $(basic app1 "$SECRET1")" \
      --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
      --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER"
    [[ $STATUS == 200 ]] || die "code redemption: $STATUS $BODY"
    jget refresh_token >>"$TMP/rts"
  done
  (($(sort -u "$TMP/rts" | wc -l) == N)) || die "expected $N refresh tokens"
}
new_rts

# The load: one thread per refresh token, each refreshing its own chain on a kept-alive
# connection for SECONDS (or until authd goes), writing down the jti of every access
# token answered the moment it arrives; the chains' last tokens go back to the file.
cat >"$TMP/load.py" <<'PYEOF'
import base64, http.client, json, sys, threading, time, urllib.parse
port, secret, rts, out, secs = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
auth = "Basic " + base64.b64encode(("app1:" + secret).encode()).decode()
lock = threading.Lock()
f = open(out, "a", buffering=1)
bad = []
end = time.time() + secs
def jti(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["jti"]
last = [l.strip() for l in open(rts)]
def run(i):
    rt = last[i]
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.time() < end:
            c.request("POST", "/token", urllib.parse.urlencode(
                {"grant_type": "refresh_token", "refresh_token": rt}),
                {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            body = json.loads(r.read())
            if r.status != 200:
                with lock:
                    bad.append("%d %s" % (r.status, body))
                return
            rt = last[i] = body["refresh_token"]
            with lock:
                f.write(jti(body["access_token"]) + "\n")
    except Exception:
        return
ts = [threading.Thread(target=run, args=(i,)) for i in range(len(last))]
for t in ts: t.start()
for t in ts: t.join()
open(rts, "w").write("\n".join(last) + "\n")
print(" ".join(bad[:3]) if bad else "ok")
PYEOF
flushes() { curl -s "$BASE/metrics" | awk '$1 == "yh_audit_flushes_total" { print $2 }'; }
issue_lines() { grep -c '"event":"token.issue"' "$S/audit.log"; }
# answered_audited: every jti in $TMP/answered is on a token.issue line.
answered_audited() {
  grep -F '"event":"token.issue"' "$S/audit.log" | grep -oE '"jti":"[^"]+"' |
    sed -E 's/"jti":"([^"]+)"/\1/' | sort -u >"$TMP/audited"
  sort -u "$TMP/answered" | comm -23 - "$TMP/audited" | wc -l
}

f0=$(flushes) l0=$(issue_lines)
: >"$TMP/answered"
"$PY" "$TMP/load.py" "$PORT" "$SECRET1" "$TMP/rts" "$TMP/answered" 3 >"$TMP/load.out" 2>&1
f1=$(flushes) l1=$(issue_lines)
[[ $(cat "$TMP/load.out") == ok ]] && ok "16 chains refreshed for 3 s, every answer 200" ||
  fail "refresh load: $(cat "$TMP/load.out")"
n=$(wc -l <"$TMP/answered")
((n >= 50)) || fail "only $n refresh grants answered in 3 s"
[[ -n $f0 && -n $f1 ]] || die "no yh_audit_flushes_total in /metrics"
lines=$((l1 - l0)) fl=$((f1 - f0))
((lines > fl)) && ok "one HTTP thread: $lines refresh lines in $fl flushes (the thread does not wait for each)" ||
  fail "one HTTP thread: $lines refresh lines took $fl flushes: each grant held the thread through its flush"
[[ $(answered_audited) == 0 ]] && ok "every refresh answered has its token.issue line" ||
  fail "$(answered_audited) refresh grants answered without a token.issue line"

# killed SIG: the load, SIG once a hundred grants were answered (while they still are),
# then the log against the answers. With TERM authd must also exit 0: refresh grants
# whose line is queued when it stops are settled and their requests let go (or
# dropped) before the HTTP server is freed.
killed() {
  local sig=$1 rc=0 n
  : >"$TMP/answered"
  "$PY" "$TMP/load.py" "$PORT" "$SECRET1" "$TMP/rts" "$TMP/answered" 30 >"$TMP/load.out" 2>&1 &
  LOAD=$!
  for _ in $(seq 1 200); do
    [[ -s $TMP/answered ]] && (($(wc -l <"$TMP/answered") >= 100)) && break
    sleep 0.05
  done
  kill "-$sig" "$PID"
  wait "$PID" 2>/dev/null || rc=$?
  PID=
  wait "$LOAD" 2>/dev/null
  LOAD=
  if [[ $sig == TERM ]]; then
    [[ $rc == 0 ]] && ok "authd exits 0 on SIGTERM under refresh load" ||
      fail "authd exited $rc on SIGTERM under refresh load"
  fi
  n=$(sort -u "$TMP/answered" | wc -l)
  ((n >= 100)) && ok "$n refresh grants answered before SIG$sig" ||
    fail "only $n refresh grants answered before SIG$sig ($(cat "$TMP/load.out"))"
  [[ $(answered_audited) == 0 ]] && ok "after SIG$sig: every refresh answered has its token.issue line" ||
    fail "after SIG$sig: $(answered_audited) refresh grants answered without a token.issue line"
  ctl audit verify "$S/audit.log" >"$TMP/verify.out" 2>&1 && ok "audit chain intact after SIG$sig" ||
    fail "audit verify after SIG$sig: $(tail -5 "$TMP/verify.out")"
}
killed KILL
start_authd -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$PORT"
new_rts
killed TERM
start_authd -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$PORT"
check_stop_authd
ctl audit verify "$S/audit.log" >/dev/null 2>&1 && ok "authd starts again on the log" ||
  fail "audit verify after restart"
finish "audit_refresh: all checks passed"
