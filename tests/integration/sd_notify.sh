#!/usr/bin/env bash
# authd and its service manager (config/authd.service.in is Type=notify with WatchdogSec=):
# a datagram socket stands in for systemd's NOTIFY_SOCKET, with WATCHDOG_USEC set as
# systemd sets it. authd must say READY=1 only once it serves (its /healthz answers by
# then), ping WATCHDOG=1 at about half the interval, say RELOADING=1 then READY=1 around
# a SIGHUP, and STOPPING=1 on SIGTERM; with the key holder killed it stops pinging and
# exits. Without NOTIFY_SOCKET nothing changes (every other test runs that way). Then
# systemd-analyze verifies the unit file, with its binaries pointed at this build.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp sdnotify
PORT=$(free_port)
S=$TMP/state
SOCK=$TMP/notify.sock
MSGS=$TMP/notify.log
RPID=
PIDS_TO_STOP="PID RPID"

cat >"$TMP/notify.py" <<'PY'
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(path + ".ready", "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        data = s.recv(4096).decode("utf-8", "replace")
        for line in data.split("\n"):
            if line:
                f.write("%.3f %s\n" % (time.monotonic(), line))
PY
: >"$MSGS"
"$PY" "$TMP/notify.py" "$SOCK" "$MSGS" &
RPID=$!
for _ in $(seq 1 50); do [[ -e $SOCK.ready ]] && break; sleep 0.1; done
[[ -e $SOCK.ready ]] || die "the notify socket did not come up"

# wait_for LINE [SECONDS]: until a line of MSGS is exactly "... LINE" (after an optional
# mark of lines already there, MARK).
wait_for() {
  local i
  for i in $(seq 1 $((${2:-5} * 10))); do
    tail -n +"$((${MARK:-0} + 1))" "$MSGS" | grep -q " $1\$" && return 0
    sleep 0.1
  done
  return 1
}

# ---- start: READY=1 once it serves, STATUS says where
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=400000 start_authd -d "$S" -l "127.0.0.1:$PORT"
MARK=0
wait_for 'READY=1' && ok "READY=1 sent" || fail "no READY=1: $(cat "$MSGS")"
grep -q " STATUS=serving on 127.0.0.1:$PORT, issuer http://127.0.0.1:$PORT\$" "$MSGS" &&
  ok "STATUS names the address and the issuer" || fail "STATUS: $(grep STATUS "$MSGS")"
first_ready=$(grep -m1 -n ' READY=1$' "$MSGS" | cut -d: -f1)
first_wd=$(grep -m1 -n ' WATCHDOG=1$' "$MSGS" | cut -d: -f1)
[[ -z $first_wd || $first_wd -gt $first_ready ]] &&
  ok "no WATCHDOG=1 before READY=1" || fail "WATCHDOG=1 came before READY=1"

# ---- the watchdog: about every 200 ms (half of 400 ms)
sleep 1.5
n=$(grep -c ' WATCHDOG=1$' "$MSGS")
((n >= 4 && n <= 12)) && ok "WATCHDOG=1 sent $n times in about 1.5 s (every ~200 ms)" ||
  fail "WATCHDOG=1 sent $n times in about 1.5 s"

# ---- SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1
MARK=$(wc -l <"$MSGS")
kill -HUP "$PID"
wait_for 'READY=1' && tail -n +"$((MARK + 1))" "$MSGS" | grep -B3 ' READY=1$' | grep -q ' RELOADING=1$' &&
  ok "SIGHUP: RELOADING=1 then READY=1" ||
  fail "SIGHUP: $(tail -n +"$((MARK + 1))" "$MSGS" | grep -v WATCHDOG | head -5)"
tail -n +"$((MARK + 1))" "$MSGS" | grep -q ' MONOTONIC_USEC=[0-9]\+$' &&
  ok "RELOADING=1 carries MONOTONIC_USEC" || fail "no MONOTONIC_USEC with RELOADING=1"
check_healthz "authd serves after the reload"

# ---- SIGTERM: STOPPING=1
MARK=$(wc -l <"$MSGS")
check_stop_authd
wait_for 'STOPPING=1' 2 && ok "SIGTERM: STOPPING=1" || fail "no STOPPING=1 on SIGTERM"

# ---- keyd killed: no more pings, authd exits (systemd would restart it)
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=400000 start_authd -d "$S" -l "127.0.0.1:$PORT"
KPID=$(pgrep -P "$PID" | head -1)
[[ -n $KPID ]] || die "no keyd child of authd $PID"
kill -KILL "$KPID"
for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
  fail "authd still runs 5 s after keyd was killed"
else
  wait "$PID"; rc=$?
  ((rc == 2)) && ok "keyd killed: authd exits with status 2" || fail "keyd killed: authd exit $rc"
fi
PID=
grep -q 'key holder keyd' "$TMP/authd.log" && ok "the log says keyd exited" ||
  fail "no line about keyd in the log"

# ---- without NOTIFY_SOCKET: nothing sent, nothing logged about it
MARK=$(wc -l <"$MSGS")
start_authd -d "$S" -l "127.0.0.1:$PORT"
sleep 0.5
[[ $(wc -l <"$MSGS") -eq $MARK ]] && ok "without NOTIFY_SOCKET nothing is sent" ||
  fail "sent without NOTIFY_SOCKET: $(tail -n +"$((MARK + 1))" "$MSGS" | head -3)"
check_stop_authd
grep -q 'cannot notify' "$TMP/authd.log" && fail "authd warned about the notify socket" ||
  ok "no warning about the notify socket"

# ---- the unit file, verified by systemd with the binaries of this build
if command -v systemd-analyze >/dev/null; then
  verify_unit "$YH_BUILD/config/authd.service" "$AUTHD" \
    "systemd-analyze verify accepts the unit made from config/authd.service.in"
else
  fail "systemd-analyze missing (Debian's systemd package has it)"
fi

finish "all sd_notify checks passed"
