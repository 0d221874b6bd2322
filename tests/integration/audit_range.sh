#!/usr/bin/env bash
# `authctl audit verify` over several files (one per host) and over a time range
# (--from/--to), with the keyed checkpoints, on logs written here in the writer's
# format (three days of lines, a checkpoint closing each day, tagged with each host's
# audit.key) so that the lines have times days apart:
#
#  - both hosts' files in one run: one report line each, exit 0; host B damaged: its
#    line invalid, host A's valid, exit 1;
#  - a range: which lines it holds and the window checked (from the checkpoint before it
#    to the one after it);
#  - a line edited outside the range: the range verifies (exit 0), the whole file and a
#    range holding it do not; a line edited inside the range: "edited";
#  - a line inside edited and the chain computed again after it (no key): the checkpoint
#    after the range no longer verifies: "rewritten";
#  - a missing checkpoint: the one closing the range removed and the chain renumbered
#    and rehashed: "rewritten" at the next one; the last one removed: "truncated" (its
#    copy in audit.log.checkpoint); lines after the last checkpoint: a warning, exit 3
#    with --strict; a checkpoint of a key not given: "unknown_key";
#  - a malformed --from, --head with a range: exit 2.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp audit_range

# gen DIR [EXTRA]: DIR/audit.log (+ .checkpoint) and DIR/audit.key: three days, four
# lines a day and a checkpoint at 23:00 closing each; EXTRA lines after the last one.
gen() {
  mkdir -p "$1"
  "$PY" - "$1" "${2:-0}" <<'EOF'
import hashlib, hmac, json, os, sys
d, extra = sys.argv[1], int(sys.argv[2])
key = os.urandom(32)
with open(os.path.join(d, "audit.key"), "w") as f:
    f.write(key.hex() + "\n")
os.chmod(os.path.join(d, "audit.key"), 0o600)
kid = hmac.new(key, b"yihao-audit-kid/1", hashlib.sha256).hexdigest()[:16]
lines, prev, cp = [], "0" * 64, None
def add(obj):
    global prev
    obj["prev"] = prev
    t = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    lines.append(t)
    prev = hashlib.sha256(t.encode()).hexdigest()
    return t
for day in (1, 2, 3):
    for h in (8, 10, 12, 14):
        add({"seq": len(lines) + 1, "ts": "2026-01-%02dT%02d:00:00.000Z" % (day, h),
             "event": "user.lock", "actor": "operator:root", "n": "d%dh%d" % (day, h)})
    ts = "2026-01-%02dT23:00:00.000Z" % day
    seq = len(lines) + 1
    msg = "yihao-audit-checkpoint/1\nseq=%d\nts=%s\nprev=%s\n" % (seq, ts, prev)
    cp = add({"seq": seq, "ts": ts, "event": "audit.checkpoint", "actor": "system", "kid": kid,
              "mac": hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()})
for i in range(extra):
    add({"seq": len(lines) + 1, "ts": "2026-01-04T0%d:00:00.000Z" % i, "event": "user.lock",
         "actor": "operator:root", "n": "late%d" % i})
open(os.path.join(d, "audit.log"), "w").write("\n".join(lines) + "\n")
open(os.path.join(d, "audit.log.checkpoint"), "w").write(cp + "\n")
EOF
}

# edit FILE N: line N's "n" changed in place (the chain breaks at it).
edit() { sed -i "$2s/\"n\":\"/\"n\":\"X/" "$1"; }
# rechain FILE [DEL]: line DEL removed (0: none), then every seq renumbered and every
# prev computed again: what someone without the key can do.
rechain() {
  "$PY" - "$1" "${2:-0}" <<'EOF'
import hashlib, json, sys
p, dele = sys.argv[1], int(sys.argv[2])
src = [l for i, l in enumerate(open(p).read().splitlines(), 1) if i != dele]
out, prev = [], "0" * 64
for i, l in enumerate(src, 1):
    o = json.loads(l)
    o["seq"], o["prev"] = i, prev
    t = json.dumps(o, separators=(",", ":"), ensure_ascii=False)
    out.append(t)
    prev = hashlib.sha256(t.encode()).hexdigest()
open(p, "w").write("\n".join(out) + "\n")
EOF
}
# verify ARGS...: authctl audit verify; stdout in $TMP/out, stderr in $TMP/err, RC.
verify() { "$AUTHCTL" audit verify "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; }
# field N EXPR: EXPR over the Nth report line (o).
field() { "$PY" -c 'import json,sys;o=json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])-1]);print(eval(sys.argv[3]))' "$TMP/out" "$1" "$2" 2>/dev/null; }
check() { if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3' ($(cat "$TMP/out" "$TMP/err" | head -c 600))"; fi; }

A=$TMP/a B=$TMP/b
gen "$A"; gen "$B"
DAY2=(--from 2026-01-02 --to 2026-01-02)

# ---- two hosts
verify "$A/audit.log" "$B/audit.log" --key "$A/audit.key" --key "$B/audit.key"
check "two files: exit 0, one report each, all checkpoints checked" \
  "$RC|$(wc -l <"$TMP/out")|$(field 1 'o["file"].endswith("/a/audit.log"), o["valid"], o["checked"]')|$(field 2 'o["file"].endswith("/b/audit.log"), o["valid"], o["checked"]')" \
  "0|2|(True, True, 3)|(True, True, 3)"
cp -r "$B" "$TMP/b2"; edit "$TMP/b2/audit.log" 7
verify "$A/audit.log" "$TMP/b2/audit.log" --key "$A/audit.key" --key "$TMP/b2/audit.key"
check "two files, host B edited: exit 1, A valid, B edited at line 7" \
  "$RC|$(field 1 'o["valid"]')|$(field 2 'o["valid"], o["damage"], o["bad_line"]')" "1|True|(False, 'edited', 7)"

# ---- a range
verify "$A/audit.log" --key "$A/audit.key" "${DAY2[@]}"
check "day 2: lines 6-10 (the 4 lines and its checkpoint), checked from line 5 (day 1's checkpoint) to 10" \
  "$RC|$(field 1 'o["valid"], o["range"]["first_line"], o["range"]["last_line"], o["range"]["checked_from"], o["range"]["checked_to"]')" \
  "0|(True, 6, 10, 5, 10)"
verify "$A/audit.log" --key "$A/audit.key" --from 2026-01-02T10 --to 2026-01-02T12:00
check "a range by the hour: lines 7-8, checked 5-10" \
  "$RC|$(field 1 'o["range"]["first_line"], o["range"]["last_line"], o["range"]["checked_from"], o["range"]["checked_to"]')" \
  "0|(7, 8, 5, 10)"

# ---- edited outside the range, and inside
cp -r "$A" "$TMP/out1"; edit "$TMP/out1/audit.log" 2
verify "$TMP/out1/audit.log" --key "$A/audit.key" "${DAY2[@]}"
check "a line of day 1 edited: day 2 still verifies" "$RC|$(field 1 'o["valid"]')" "0|True"
verify "$TMP/out1/audit.log" --key "$A/audit.key"
check "the whole file does not" "$RC|$(field 1 'o["damage"], o["bad_line"]')" "1|('edited', 2)"
verify "$TMP/out1/audit.log" --key "$A/audit.key" --from 2026-01-01 --to 2026-01-01
check "nor day 1" "$RC|$(field 1 'o["damage"]')" "1|edited"
cp -r "$A" "$TMP/in1"; edit "$TMP/in1/audit.log" 8
verify "$TMP/in1/audit.log" --key "$A/audit.key" "${DAY2[@]}"
check "a line of day 2 edited: day 2 fails at it" "$RC|$(field 1 'o["damage"], o["bad_line"]')" "1|('edited', 8)"
verify "$TMP/in1/audit.log" --key "$A/audit.key" --from 2026-01-03
check "day 3 on still verifies" "$RC" 0
cp -r "$A" "$TMP/in2"; edit "$TMP/in2/audit.log" 8; rechain "$TMP/in2/audit.log"
verify "$TMP/in2/audit.log" --key "$A/audit.key" "${DAY2[@]}"
check "a line of day 2 edited and the chain computed again: the checkpoint closing day 2 fails" \
  "$RC|$(field 1 'o["damage"], o["bad_line"]')" "1|('rewritten', 10)"

# ---- a missing checkpoint
cp -r "$A" "$TMP/cp1"; rechain "$TMP/cp1/audit.log" 10
verify "$TMP/cp1/audit.log" --key "$A/audit.key" "${DAY2[@]}"
check "day 2's checkpoint removed, the chain renumbered: rewritten at day 3's" \
  "$RC|$(field 1 'o["damage"], o["bad_line"]')" "1|('rewritten', 14)"
cp -r "$A" "$TMP/cp2"; rechain "$TMP/cp2/audit.log" 15
verify "$TMP/cp2/audit.log" --key "$A/audit.key" --from 2026-01-03
check "the last checkpoint removed: truncated (its copy)" "$RC|$(field 1 'o["damage"]')" "1|truncated"
gen "$TMP/late" 3
verify "$TMP/late/audit.log" --key "$TMP/late/audit.key" --from 2026-01-04 --strict
check "lines after the last checkpoint: unproven (exit 3), warned" "$RC|$(field 1 'o["valid"], len(o["warnings"])')" "3|(True, 1)"
grep -q "not followed by a verified checkpoint" "$TMP/err" && ok "the warning says so" || fail "warning: $(cat "$TMP/err")"
verify "$A/audit.log" --key "$B/audit.key" "${DAY2[@]}"
check "another host's key: unknown_key at the checkpoint before the range" \
  "$RC|$(field 1 'o["damage"], o["bad_line"]')" "1|('unknown_key', 5)"

# ---- bad input
verify "$A/audit.log" --from 2026-1-2
check "a malformed --from: exit 2" "$RC" 2
grep -q -- "--from and --to" "$TMP/err" && ok "the message says the form" || fail "message: $(cat "$TMP/err")"
verify "$A/audit.log" --from 2026-01-02 --head "1:$(printf '%064d' 0)"
check "--head with a range: exit 2" "$RC" 2
verify "$A/audit.log" "$TMP/nonexistent/audit.log" --key "$A/audit.key"
check "a missing file among two: exit 2, the other reported" "$RC|$(field 1 'o["valid"]')" "2|True"

if ((FAILS)); then
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "audit_range: all checks passed"
