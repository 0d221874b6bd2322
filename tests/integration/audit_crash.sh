#!/usr/bin/env bash
# A token is answered only once its audit line is in the log, also when authd dies in
# the middle of a batch: 32 clients run client_credentials grants on kept-alive
# connections, each writing down the jti of every 200 it received the moment it arrives;
# authd is killed with SIGKILL while grants are in flight (lines queued, batches being
# written and flushed), four times over on the same log. After each kill every jti a
# client was answered must be on a token.issue line of the audit log and the log's
# chain must be intact (authctl audit verify); authd must start again on it and go on
# issuing. Then the same load is stopped with SIGTERM instead, five times over: the
# clients' kept-alive connections use up the drain's time, so the HTTP server is freed
# while grants still come in and responses are held for their batch; authd must exit 0
# (no abort, no held request resumed after the server was freed), with the same checks
# on the log. Each grant's access token is signed in one of keyd's batches while its
# line waits for the disk; the metrics must show batches of more than one.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp auditcrash
S=$TMP/state
mkdir -p "$S"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

ctl client add svc --grant client_credentials >"$TMP/svc.json" || die "client add"
SECRET=$("$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))["client_secret"])' "$TMP/svc.json")
start_authd

# The load: CLIENTS threads, each on its own kept-alive connection, until authd goes;
# every jti answered 200 is appended to $TMP/answered as soon as the response is read.
cat >"$TMP/load.py" <<'PYEOF'
import base64, http.client, json, sys, threading
port, secret, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
auth = "Basic " + base64.b64encode(("svc:" + secret).encode()).decode()
lock = threading.Lock()
f = open(out, "a", buffering=1)
counts = [0]
def jti(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["jti"]
def run():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            c.request("POST", "/token", "grant_type=client_credentials",
                {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            body = r.read()
            if r.status == 200:
                j = jti(json.loads(body)["access_token"])
                with lock:
                    f.write(j + "\n")
                    counts[0] += 1
    except Exception:
        return
ts = [threading.Thread(target=run) for _ in range(32)]
for t in ts: t.start()
for t in ts: t.join()
print(counts[0])
PYEOF
# round K [SIG]: load, SIG (KILL by default) once grants flow (a few hundred answered,
# while they still are), then the checks on the log as it was left; with TERM, authd
# must also exit 0.
PIDS_TO_STOP="PID LOAD"
# The access tokens of grants in flight together are signed in keyd's batches: fewer
# round trips to keyd than signatures.
check_batches() {
  local m b s
  m=$(curl -s "$BASE/metrics")
  b=$(awk '$1 == "yh_keyd_sign_batches_total" { print $2 }' <<<"$m")
  s=$(awk '$1 == "yh_keyd_batched_signatures_total" { print $2 }' <<<"$m")
  [[ -n $b && -n $s ]] && ((s >= 300 && b < s)) &&
    ok "32 clients' access tokens signed in batches ($s signatures in $b round trips to keyd)" ||
    fail "keyd's signing batches: '$b' round trips for '$s' signatures"
}
round() {
  local k=$1 sig=${2:-KILL} n missing rc=0
  : >"$TMP/answered"
  "$PY" "$TMP/load.py" "$PORT" "$SECRET" "$TMP/answered" >"$TMP/load.out" 2>&1 &
  LOAD=$!
  for _ in $(seq 1 200); do
    [[ -s $TMP/answered ]] && (($(wc -l <"$TMP/answered") >= 300)) && break
    sleep 0.05
  done
  ((k == 1)) && check_batches
  kill "-$sig" "$PID"
  wait "$PID" 2>/dev/null || rc=$?
  PID=
  if [[ $sig == TERM ]]; then
    [[ $rc == 0 ]] && ok "round $k: authd exits 0 on SIGTERM under load" ||
      fail "round $k: authd exited $rc on SIGTERM under load"
  fi
  wait "$LOAD" 2>/dev/null
  LOAD=
  n=$(sort -u "$TMP/answered" | wc -l)
  ((n >= 300)) && ok "round $k: $n grants answered 200 before authd was killed" ||
    fail "round $k: only $n grants answered before the kill (load: $(cat "$TMP/load.out"))"
  grep -F '"event":"token.issue"' "$S/audit.log" | grep -oE '"jti":"[^"]+"' |
    sed -E 's/"jti":"([^"]+)"/\1/' | sort -u >"$TMP/audited"
  sort -u "$TMP/answered" >"$TMP/answered.sorted"
  missing=$(comm -23 "$TMP/answered.sorted" "$TMP/audited" | wc -l)
  [[ $missing == 0 ]] && ok "round $k: every answered grant is in the audit log" ||
    fail "round $k: $missing of $n answered grants have no audit line, e.g. $(comm -23 "$TMP/answered.sorted" "$TMP/audited" | head -3 | tr '\n' ' ')"
  ctl audit verify "$S/audit.log" >"$TMP/verify.out" 2>&1 && ok "round $k: audit chain intact after SIG$sig" ||
    fail "round $k: audit verify after SIG$sig: $(tail -5 "$TMP/verify.out")"
}
round 1
for k in 2 3 4; do
  start_authd
  round "$k"
done

for k in 5 6 7 8 9; do
  start_authd
  round "$k" TERM
done

start_authd
fetch "$BASE/token" -u "svc:$SECRET" -d grant_type=client_credentials
[[ $STATUS == 200 ]] && ok "authd starts again on the log and issues" || fail "token after restart: $STATUS"
check_stop_authd
ctl audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact after restart" || fail "audit verify after restart"
finish "audit_crash: all checks passed"
