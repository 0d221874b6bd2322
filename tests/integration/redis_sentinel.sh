#!/usr/bin/env bash
# authd on Redis Sentinel through a failover: one master, one replica and three
# sentinels (redis-server --sentinel, their own config files in $TMP, quorum 2, short
# down-after-milliseconds and failover-timeout), authd configured with
# session.redis_sentinels and session.redis_master (checked by authd -t first, and a
# half-configured file refused with its file and line). A person logs in; a bounded load
# of GET /account (it reads and touches the session) runs while the master is killed
# with SIGKILL; the sentinels promote the replica and authd follows: the script reports
# how many requests failed (503 while there is no master is expected), checks that
# nothing answered other than 200 or 503 and that authd never stopped answering, that
# the session made before the failover and a login made after it work, and that authd
# heard the sentinel's +switch-master and logged the new master.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
REDIS=$(command -v redis-server) || { echo "FAIL: redis-server not installed"; exit 1; }

make_tmp sentinel
PID= MPID= RPID= S1PID= S2PID= S3PID= LPID=
PIDS_TO_STOP="LPID PID MPID RPID S1PID S2PID S3PID"
LOGS="authd master replica sentinel1 sentinel2 sentinel3"
HTTP_MAX_TIME=10

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
MPORT=$(free_port)
RPORT=$(free_port)
SPORTS=("$(free_port)" "$(free_port)" "$(free_port)")
S=$TMP/state
ID=11010519491231002X
PW='Chang Cheng 1987!'
NAME=yhmaster

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }
wait_pong() {  # wait_pong PORT PID
  for _ in $(seq 1 200); do
    [[ $(cli "$1" ping) == PONG ]] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# ---- master, replica, three sentinels
mkdir -p "$TMP/m" "$TMP/r"
"$REDIS" --save "" --appendonly no --bind 127.0.0.1 --port "$MPORT" --dir "$TMP/m" \
  >>"$TMP/master.log" 2>&1 &
MPID=$!
wait_pong "$MPORT" "$MPID" || die "the master did not start"
"$REDIS" --save "" --appendonly no --bind 127.0.0.1 --port "$RPORT" --dir "$TMP/r" \
  --replicaof 127.0.0.1 "$MPORT" >>"$TMP/replica.log" 2>&1 &
RPID=$!
wait_pong "$RPORT" "$RPID" || die "the replica did not start"
for _ in $(seq 1 200); do
  cli "$RPORT" info replication | grep -q '^master_link_status:up' && break
  sleep 0.05
done
cli "$RPORT" info replication | grep -q '^master_link_status:up' || die "the replica does not sync"
for i in 1 2 3; do
  cat >"$TMP/sentinel$i.conf" <<CONF
port ${SPORTS[i - 1]}
bind 127.0.0.1
dir $TMP
sentinel monitor $NAME 127.0.0.1 $MPORT 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 4000
sentinel parallel-syncs $NAME 1
CONF
  "$REDIS" "$TMP/sentinel$i.conf" --sentinel >>"$TMP/sentinel$i.log" 2>&1 &
  eval "S${i}PID=$!"
done
wait_pong "${SPORTS[0]}" "$S1PID" && wait_pong "${SPORTS[1]}" "$S2PID" &&
  wait_pong "${SPORTS[2]}" "$S3PID" || die "a sentinel did not start"
# each sentinel knows the replica and the two others (hello messages every 2 s)
for _ in $(seq 1 300); do
  n=0
  for p in "${SPORTS[@]}"; do
    m=$(cli "$p" sentinel master "$NAME" | tr -d '\r')
    [[ $(grep -A1 -x num-slaves <<<"$m" | tail -1) == 1 &&
       $(grep -A1 -x num-other-sentinels <<<"$m" | tail -1) == 2 ]] && n=$((n + 1))
  done
  ((n == 3)) && break
  sleep 0.1
done
((n == 3)) && ok "three sentinels watch the master and its replica" ||
  die "the sentinels did not find each other and the replica in 30 s"

# ---- authd on the sentinels
SENTINELS="127.0.0.1:${SPORTS[0]}, 127.0.0.1:${SPORTS[1]},127.0.0.1:${SPORTS[2]}"
cat >"$TMP/half.conf" <<EOF2
issuer = $BASE
session.backend = redis

session.redis_sentinels = $SENTINELS
EOF2
out=$("$AUTHD" -c "$TMP/half.conf" -d "$S" -t 2>&1)
[[ $? != 0 && $out == *"$TMP/half.conf:4: session.redis_sentinels: set without session.redis_master"* ]] &&
  ok "authd -t refuses sentinels without a master name, with file and line" ||
  fail "authd -t on a half sentinel config: $out"
cat >"$TMP/authd.conf" <<EOF2
issuer = $BASE
session.backend = redis
session.redis_sentinels = $SENTINELS
session.redis_master = $NAME
session.redis_prefix = yhs:
EOF2
"$AUTHD" -c "$TMP/authd.conf" -d "$S" -t >>"$TMP/authd.log" 2>&1 && ok "authd -t accepts the sentinel config" ||
  die "authd -t refuses the sentinel config"
start_authd -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$PORT"
kill -TERM "$PID"; wait "$PID" 2>/dev/null; PID=
printf '%s\n' "$PW" | "$AUTHCTL" -d "$S" user add --id-number "$ID" --name 王小明 \
  --phone 13800138000 --password-stdin >>"$TMP/ctl.log" 2>&1 || die "authctl user add: $(cat "$TMP/ctl.log")"
start_authd -c "$TMP/authd.conf" -d "$S" -l "127.0.0.1:$PORT"
grep -q "names 127.0.0.1:$MPORT as master $NAME" "$TMP/authd.log" &&
  ok "authd found the master through a sentinel" || fail "no master address in authd's log"

login_form jar "$ID" "$PW"
[[ $STATUS == 303 && $LOCATION == /account ]] || die "login before the failover: $STATUS '$LOCATION'"
req jar GET /account
[[ $STATUS == 200 ]] && ok "a session before the failover: /account 200" || die "/account: $STATUS"
# the session reached the replica before the master dies
for _ in $(seq 1 100); do
  [[ $(cli "$RPORT" --scan --pattern 'yhs:s:*' | head -1) != "" ]] && break
  sleep 0.05
done

# ---- the load: GET /account with the session, one status per line; stopped by a file
load() {
  while [[ ! -e $TMP/stop-load ]]; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 -b "$TMP/jar.jar" "$BASE/account"
  done >>"$TMP/codes"
}
load &
LPID=$!
sleep 1
T0=$(date +%s%N)
kill -KILL "$MPID"; wait "$MPID" 2>/dev/null; MPID=
# the sentinels promote the replica (bounded)
for _ in $(seq 1 300); do
  [[ $(cli "${SPORTS[0]}" sentinel get-master-addr-by-name "$NAME" | tail -1) == "$RPORT" ]] && break
  sleep 0.1
done
[[ $(cli "${SPORTS[0]}" sentinel get-master-addr-by-name "$NAME" | tail -1) == "$RPORT" ]] &&
  ok "the sentinels promoted the replica ($(( ($(date +%s%N) - T0) / 1000000 )) ms after the kill)" ||
  die "no failover within 30 s"
# authd follows: /account answers 200 again within a few seconds
for _ in $(seq 1 100); do
  [[ $(tail -1 "$TMP/codes") == 200 ]] && break
  sleep 0.1
done
T1=$(date +%s%N)
# the load goes on a little: at least 2 s and 5 more requests (bounded: 10 s)
N1=$(wc -l <"$TMP/codes")
sleep 2
for _ in $(seq 1 80); do
  (($(wc -l <"$TMP/codes") >= N1 + 5)) && break
  sleep 0.1
done
touch "$TMP/stop-load"
wait "$LPID"; LPID=

TOTAL=$(wc -l <"$TMP/codes")
GOOD=$(grep -cx 200 "$TMP/codes")
UNAV=$(grep -cx 503 "$TMP/codes")
OTHER=$((TOTAL - GOOD - UNAV))
echo "load: $TOTAL requests, $((TOTAL - GOOD)) failed ($UNAV answered 503, $OTHER other);" \
  "service back $(( (T1 - T0) / 1000000 )) ms after the kill"
((OTHER == 0)) && ok "every request answered 200 or 503 (no reset, no other error)" ||
  fail "answers other than 200/503: $(grep -vx -e 200 -e 503 "$TMP/codes" | sort | uniq -c | tr '\n' ' ')"
[[ $(tail -1 "$TMP/codes") == 200 ]] && ok "authd follows the new master: the old session works (200)" ||
  fail "after the failover /account still gives $(tail -1 "$TMP/codes")"
[[ $(tail -5 "$TMP/codes" | sort -u) == 200 ]] &&
  ok "the load succeeds again after the failover (its last 5 requests: 200)" ||
  fail "the last requests: $(tail -5 "$TMP/codes" | tr '\n' ' ')"
kill -0 "$PID" 2>/dev/null && ok "authd still runs" || fail "authd died"

# a new login and session after the failover
login_form jar2 "$ID" "$PW"
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "a login after the failover: 303 /account" ||
  fail "login after the failover: $STATUS '$LOCATION'"
req jar2 GET /account
[[ $STATUS == 200 ]] && ok "the new session works: /account 200" || fail "new session /account: $STATUS"
[[ -n $(cli "$RPORT" --scan --pattern 'yhs:s:*' | head -1) &&
   -n $(cli "$RPORT" --scan --pattern 'yhs:ui:*' | head -1) ]] &&
  ok "the new master holds the sessions" || fail "no session on the new master"
grep -q "names 127.0.0.1:$RPORT as master $NAME" "$TMP/authd.log" &&
  ok "authd logged the new master" || fail "no new master address in authd's log"
grep -q "sentinel reports a failover: $NAME 127.0.0.1 $MPORT 127.0.0.1 $RPORT" "$TMP/authd.log" &&
  ok "authd heard +switch-master from its sentinel" || fail "no +switch-master in authd's log"
raw_ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/readyz")
[[ $raw_ready == 200 ]] && ok "/readyz 200 after the failover" || fail "/readyz $raw_ready"

kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
((rc == 0)) && ok "authd stops cleanly" || fail "authd exit status $rc"
no_sanitizer_in "sanitizer report in authd's log" "$TMP/authd.log"
finish "redis_sentinel: all checks passed" "redis_sentinel: "
