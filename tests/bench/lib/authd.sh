# shellcheck shell=bash
# Shared by the benchmarks that start their own authd (tests/bench/bench_oidc.sh,
# tests/bench/peer/bench_peer.sh);
# sourced, never run. Expects AUTHD and AUTHCTL (the binaries), TMP (a private temp dir) and
# a die function. Everything listens on 127.0.0.1 only.

# bench_free_port: a free TCP port on 127.0.0.1.
bench_free_port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# bench_id_number DIGITS17: a valid resident ID number (GB 11643 check character).
bench_id_number() {
	python3 - "$1" <<'PYEOF'
import sys
d = sys.argv[1]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(d + "10X98765432"[sum(int(a) * b for a, b in zip(d, w)) % 11])
PYEOF
}

# bench_to_ms WRK_TIME: wrk's "9.63ms" / "812.00us" / "1.20s" in milliseconds.
bench_to_ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
		else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# bench_wait_up URL PID LOG WHAT: waits up to 10 s for URL to answer 2xx while PID lives;
# dies with the log's tail otherwise.
bench_wait_up() {
	for _ in $(seq 1 200); do
		curl -sf -o /dev/null "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	curl -sf -o /dev/null "$1" || { tail -20 "$3" >&2; die "$4 did not start"; }
}

# bench_authd_start CONF STATE PORT: starts authd in the background (log in
# $TMP/authd.log), sets AUTHD_PID, waits for /healthz.
bench_authd_start() {
	"$AUTHD" -c "$1" -d "$2" -l "127.0.0.1:$3" 2>"$TMP/authd.log" &
	AUTHD_PID=$!
	bench_wait_up "http://127.0.0.1:$3/healthz" "$AUTHD_PID" "$TMP/authd.log" authd
}

# bench_authctl CONF STATE ARGS...: one authctl command; dies with its output on failure.
bench_authctl() {
	local conf=$1 state=$2
	shift 2
	"$AUTHCTL" -c "$conf" -d "$state" "$@" >>"$TMP/ctl.log" 2>&1 ||
		{ cat "$TMP/ctl.log" >&2; die "authctl $*"; }
}

# bench_authd_apps CONF STATE ISSUER CALLBACK: registers the two bench apps, bench-svc
# (client_credentials) and bench-web (code flow, openid profile), with fresh secrets in
# SVC_SECRET and WEB_SECRET, and waits until authd has picked them up (clients.json is
# reread within a second): a client_credentials grant must succeed.
bench_authd_apps() {
	local code=
	SVC_SECRET=$(openssl rand -hex 24)
	WEB_SECRET=$(openssl rand -hex 24)
	bench_authctl "$1" "$2" client add bench-svc --redirect-uri "$4" --secret "$SVC_SECRET" \
		--grant client_credentials --name "Bench service"
	bench_authctl "$1" "$2" client add bench-web --redirect-uri "$4" --secret "$WEB_SECRET" \
		--scope openid profile --name "Bench web app"
	for _ in $(seq 1 50); do
		code=$(curl -s -o "$TMP/cc.json" -w '%{http_code}' -u "bench-svc:$SVC_SECRET" \
			-d grant_type=client_credentials "$3/token") || true
		[[ $code == 200 ]] && return 0
		sleep 0.1
	done
	die "client_credentials refused: HTTP $code $(cat "$TMP/cc.json")"
}

# bench_flows_cfg FILE ISSUER OUT CLIENT SECRET CALLBACK USERS SESSIONS REFRESH CONCURRENCY
# SECONDS [GRACE]: writes FILE, the configuration of bench_oidc_flows.mjs (USERS: the
# JSON objects {"username","password"} joined by commas; REFRESH: refresh tokens that
# prepare mints into OUT/refresh.txt; GRACE default 2).
bench_flows_cfg() {
	cat >"$1" <<CFG
{"issuer": "$2", "out": "$3", "client_id": "$4", "client_secret": "$5",
 "redirect_uri": "$6", "users": [$7], "sessions": $8,
 "refresh_tokens": $9, "concurrency": ${10}, "seconds": ${11}, "grace": ${12:-2}}
CFG
}

# bench_wrk_figures WRK_OUTPUT: "RATE P50_MS P99_MS NOTE" of a wrk --latency run (NOTE,
# possibly empty and with spaces: non-2xx/3xx answers, socket errors, and the refresh
# errors bench_oidc_refresh.lua counts).
bench_wrk_figures() {
	local out=$1 rps p50 p99 bad note= re st
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	p50=$(bench_to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	p99=$(bench_to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	if grep -q 'Socket errors' "$out"; then note="$(grep 'Socket errors' "$out" | sed 's/^ *//')"; fi
	if [[ -n $bad ]]; then note="$bad non-200 answers! $note"; fi
	if grep -q '^refresh_errors' "$out"; then
		read -r _ re _ st <<<"$(grep '^refresh_errors' "$out")"
		((re + st == 0)) || note="$re refresh errors, $st starved chains! $note"
	fi
	echo "$rps $p50 $p99 $note"
}
