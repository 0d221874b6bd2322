#!/usr/bin/env bash
# What one single sign-on session costs in Redis: for each build directory given (default
# $YH_BUILD, else build), starts its own redis-server on a free loopback port, fills the
# store with COUNT sessions through that build's session library
# (tests/bench/redis_session_fill: sess_create and one sess_add_client each, with 4 and
# then 1 session per user) and prints
#   - used_memory after minus before (INFO memory), per session: what Redis really holds;
#   - per key kind (the letters after the prefix: s session, x/z expiry index, ui/v/u
#     user index), the number of keys, their encoding (OBJECT ENCODING of one) and the
#     sum of MEMORY USAGE over every key of the kind, per session;
#   - the floor, read back from the same Redis in the same Lua pass: the bytes of what
#     the sessions hold, per kind and in all, per session (each key's name, its hash
#     fields and values, set members, a sorted set's members and 8 bytes per score, a
#     string's value, 8 bytes for a key's expiry time), and used_memory per session over
#     it: what Redis's objects, tables and encodings add to the data itself ("overhead").
# Give two builds (an older one first) to see before and after side by side: each later
# build's total is also printed as a ratio of the first one's, measured in the same run.
#
# Usage: tests/bench/redis_session_bytes.sh [BUILD_DIR...]
# Environment: BENCH_SESSIONS [100000], BENCH_PER_USER ["4 1"] (sessions per user, one
# run each), BENCH_BASELINE (a git revision of this repository, e.g. main: built first
# in a temporary folder, with git archive and meson, and measured as the first build),
# BENCH_REDIS_ARGS (more redis-server options, e.g. "--zset-max-listpack-entries 1024")
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
COUNT=${BENCH_SESSIONS:-100000}
PERS=${BENCH_PER_USER:-4 1}
PREFIX=yh:
(($# > 0)) || set -- "${YH_BUILD:-$SRC/build}"

die() { echo "redis_session_bytes: $*" >&2; exit 1; }
for tool in redis-server redis-cli python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

TMP=$(mktemp -d /tmp/redis-bytes.XXXXXX)
BASE_DIR= BASE_REV=
RPID=
cleanup() {
	[[ -n $RPID ]] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The sum of MEMORY USAGE (every key exact: SAMPLES 0), the key count, one key's encoding
# and the data bytes (see data_bytes) per kind, in one server-side pass.
read -r -d '' KINDS_LUA <<'LUA' || true
local function data_bytes(k)
  local t, b = redis.call('TYPE', k)['ok'], #k
  if t == 'string' then
    b = b + redis.call('STRLEN', k)
  else
    local items, per = {}, 0
    if t == 'hash' then items = redis.call('HGETALL', k)
    elseif t == 'zset' then items, per = redis.call('ZRANGE', k, 0, -1), 8
    elseif t == 'set' then items = redis.call('SMEMBERS', k)
    elseif t == 'list' then items = redis.call('LRANGE', k, 0, -1)
    else return redis.error_reply('no data count for type ' .. t) end
    for _, v in ipairs(items) do b = b + #v + per end
  end
  if redis.call('PTTL', k) >= 0 then b = b + 8 end
  return b
end
local sum, n, enc, data, order = {}, {}, {}, {}, {}
local plen = #ARGV[1]
for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do
  local rest = string.sub(k, plen + 1)
  local kind = string.match(rest, '^([^:]*):') or rest
  if not sum[kind] then
    sum[kind], n[kind], data[kind] = 0, 0, 0
    enc[kind] = redis.call('OBJECT', 'ENCODING', k)
    order[#order + 1] = kind
  end
  sum[kind] = sum[kind] + redis.call('MEMORY', 'USAGE', k, 'SAMPLES', 0)
  data[kind] = data[kind] + data_bytes(k)
  n[kind] = n[kind] + 1
end
local out = {}
for _, kind in ipairs(order) do
  out[#out + 1] = kind .. ' ' .. n[kind] .. ' ' .. enc[kind] .. ' ' .. sum[kind] .. ' ' ..
    data[kind]
end
return out
LUA

declare -A TOTAL   # "PER BUILD" -> used_memory growth per session

# Builds BENCH_BASELINE's fill tool in $TMP/base (the revision's own sources).
build_baseline() {
	BASE_REV=$(git -C "$SRC" rev-parse --short "$BENCH_BASELINE^{commit}") ||
		die "no revision $BENCH_BASELINE"
	mkdir "$TMP/base"
	git -C "$SRC" archive "$BASE_REV" | tar -x -C "$TMP/base"
	echo "== building $BENCH_BASELINE ($BASE_REV) in $TMP/base for the baseline"
	meson setup "$TMP/base/build" "$TMP/base" >"$TMP/base.log" 2>&1 &&
		ninja -C "$TMP/base/build" tests/bench/redis_session_fill >>"$TMP/base.log" 2>&1 ||
		{ tail -20 "$TMP/base.log" >&2; die "the baseline does not build"; }
	BASE_DIR=$TMP/base/build
}

measure() {  # measure BUILD PER_USER
	local build=$1 PER=$2 prog=$1/tests/bench/redis_session_fill port before after rev data=0
	[[ -x $prog ]] || die "$prog not built"
	port=$(free_port)
	redis-server --save "" --appendonly no --bind 127.0.0.1 --port "$port" \
		--daemonize no --dir "$TMP" ${BENCH_REDIS_ARGS:-} >"$TMP/redis.log" 2>&1 &
	RPID=$!
	for _ in $(seq 1 100); do
		[[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break
		sleep 0.05
	done
	before=$(redis-cli -p "$port" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
	"$prog" "$port" "$PREFIX" "$COUNT" "$PER" >/dev/null || die "$prog failed"
	after=$(redis-cli -p "$port" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
	if [[ $build == "$BASE_DIR" ]]; then
		rev="$BENCH_BASELINE $BASE_REV"
	else
		rev=$(git -C "$build/.." log -1 --format=%h 2>/dev/null || echo '?')
	fi
	echo "== $build ($rev): $COUNT sessions, $PER per user"
	printf '  %-6s %8s  %-10s %-28s %s\n' kind keys encoding "MEMORY USAGE bytes/session" \
		"data bytes/session"
	redis-cli -p "$port" eval "$KINDS_LUA" 0 "$PREFIX" >"$TMP/kinds" ||
		die "the count of keys and data failed"
	while read -r kind n enc sum bytes; do
		[[ $bytes =~ ^[0-9]+$ ]] || die "the count of keys and data failed: $kind $n $enc"
		printf '  %-6s %8d  %-10s %-28d %d\n' "$kind:" "$n" "$enc" $((sum / COUNT)) \
			$((bytes / COUNT))
		data=$((data + bytes))
	done <"$TMP/kinds"
	TOTAL["$PER $build"]=$(((after - before) / COUNT))
	echo "  total (INFO used_memory delta / sessions): ${TOTAL["$PER $build"]} bytes/session"
	echo "  data (key names, fields, values, 8 B per score and expiry time / sessions):" \
		"$((data / COUNT)) bytes/session"
	echo "  overhead (total / data): ${TOTAL["$PER $build"]} / $((data / COUNT)) =" \
		"$(python3 -c "print('%.2f' % ($((after - before)) / $data))")"
	kill "$RPID"
	wait "$RPID" 2>/dev/null || true
	RPID=
}

if [[ -n ${BENCH_BASELINE:-} ]]; then
	build_baseline
	set -- "$BASE_DIR" "$@"
fi
for per in $PERS; do
	for b in "$@"; do
		measure "$b" "$per"
	done
	for b in "${@:2}"; do
		echo "== $per per user: $b against $1: ${TOTAL["$per $b"]} / ${TOTAL["$per $1"]}" \
			"bytes/session = $(python3 -c "print('%.3f' % (${TOTAL["$per $b"]} / ${TOTAL["$per $1"]}))")"
	done
done
