#!/usr/bin/env bash
# Operator actions through authctl land on the hash-chained audit trail, with ID numbers
# masked; authd tags checkpoints into it (at start, by its timer, at stop; authctl with
# the key after each of its lines); and `authctl audit verify` names each kind of damage
# with its own message: a line edited in place, lines removed in the middle or moved, a
# line edited and the chain computed again after it (which the chain alone cannot see),
# lines cut from the end, the last line edited. Lines no checkpoint covers yet, and a log
# without checkpoints, verify with a warning (exit 3 with --strict).
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp audit

S=$TMP/state
PORT=$(free_port)
log=$S/audit.log
conf=$TMP/authd.conf
printf 'state_dir = %s\naudit.checkpoint_interval = 1s\n' "$S" >"$conf"

# verify ARGS...: authctl audit verify; output in $TMP/out and $TMP/err, exit status in RC.
verify() { "$AUTHCTL" "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; }

# damaged NAME KIND LINE REGEX ARGS...: verify ARGS must exit 1 with "damage":KIND,
# "bad_line":LINE and a reason matching REGEX.
damaged() {
  local name=$1 kind=$2 line=$3 re=$4
  shift 4
  verify "$@"
  if [[ $RC -ne 1 ]]; then
    fail "$name: exit $RC (want 1): $(cat "$TMP/out" "$TMP/err")"
  elif ! grep -q "\"damage\":\"$kind\"" "$TMP/out" || ! grep -q "\"bad_line\":$line," "$TMP/out"; then
    fail "$name: want $kind at line $line: $(cat "$TMP/out")"
  elif ! grep -qE -- "$re" "$TMP/out"; then
    fail "$name: reason does not match /$re/: $(cat "$TMP/out")"
  else
    ok "$name: $(sed -E 's/.*"reason":"([^"]*)".*/\1/' "$TMP/out")"
  fi
}

# copy_log NAME: the log and its checkpoint copy in $TMP/NAME/; prints the log's path.
copy_log() {
  mkdir -p "$TMP/$1"
  cp "$log" "$TMP/$1/audit.log"
  cp "$log.checkpoint" "$TMP/$1/audit.log.checkpoint"
  echo "$TMP/$1/audit.log"
}

# line_of REGEX FILE [AFTER]: the number of the first line after line AFTER matching REGEX.
line_of() { awk -v re="$1" -v after="${3:-0}" 'NR > after && $0 ~ re { print NR; exit }' "$2"; }

# ---- authctl alone (authd never ran: no key, so no checkpoints yet, as in an old log)
printf 'correct horse battery\n' |
  ctl user add --id-number 11010519491231002X --name 张三 --phone 13812345678 \
    --password-stdin >"$TMP/uid" || fail "user add"
uid=$(cat "$TMP/uid")
ctl user lock "$uid" >/dev/null || fail "user lock"
ctl user unlock "$uid" >/dev/null || fail "user unlock"
ctl user verify "$uid" --loa 2 --by staff01 --evidence "registry 11010519491231002X" \
  >/dev/null || fail "user verify"
printf 'wrong\n' | ctl user check-password 11010519491231002X --password-stdin >/dev/null
[[ -f $log ]] || die "audit.log exists"
[[ $(stat -c %a "$log") == 600 ]] && ok "audit.log is 0600" || fail "audit.log mode"
n=$(wc -l <"$log")
[[ $n -eq 5 ]] && ok "5 events recorded" || fail "expected 5 events, got $n"
for ev in user.add user.lock user.unlock user.verify login.failure; do
  grep -q "\"event\":\"$ev\"" "$log" && ok "event $ev" || fail "event $ev missing"
done
grep -q '11010519491231002X' "$log" && fail "plaintext ID number in the audit log" || ok "ID number masked"
grep -q '13812345678' "$log" && fail "plaintext phone in the audit log" || ok "no plaintext phone"
grep -q '"actor":"operator:' "$log" && ok "actor recorded" || fail "actor missing"
cp "$log" "$TMP/old.log"
verify audit verify "$TMP/old.log"
[[ $RC -eq 0 ]] && grep -q '"valid":true' "$TMP/out" && grep -q 'warning: no checkpoints' "$TMP/err" &&
  ok "a log without checkpoints verifies, with a warning that it has none" ||
  fail "log without checkpoints: exit $RC: $(cat "$TMP/out" "$TMP/err")"
verify audit verify "$TMP/old.log" --strict
[[ $RC -eq 3 ]] && ok "--strict: a log without checkpoints exits 3" || fail "--strict without checkpoints: exit $RC"

# ---- authd: makes the key, covers authctl's lines at start, its own by the timer
start_authd -c "$conf" -l "127.0.0.1:$PORT"
[[ -f $S/audit.key && $(stat -c %a "$S/audit.key") == 600 ]] && ok "authd made audit.key (0600)" ||
  fail "audit.key missing or not 0600"
[[ $(line_of audit.checkpoint "$log") == 6 ]] && ok "authd's start covers the 5 lines before it (checkpoint at line 6)" ||
  fail "no checkpoint at line 6: $(tail -1 "$log")"
ctl user lock "$uid" >/dev/null || fail "user lock with authd"
at=$(line_of '"event":"user.lock"' "$log" 6)
sed -n "$((at + 1))p" "$log" | grep -q '"event":"audit.checkpoint"' &&
  ok "authctl's line is followed by its checkpoint, in the same write" ||
  fail "no checkpoint after authctl's line $at: $(sed -n "$((at + 1))p" "$log")"
ctl user unlock "$uid" >/dev/null || fail "user unlock with authd"
ctl user logout "$uid" >/dev/null || fail "user logout"
tail -1 "$log" | grep -q '"event":"session.end"' || fail "authd's session.end is not the last line"
for _ in $(seq 1 60); do
  tail -1 "$log" | grep -q '"event":"audit.checkpoint"' && break
  sleep 0.05
done
tail -1 "$log" | grep -q '"event":"audit.checkpoint"' &&
  ok "authd's timer covers its own line within audit.checkpoint_interval" ||
  fail "no timed checkpoint after authd's line: $(tail -1 "$log")"
check_stop_authd
cmp -s <(tail -1 "$log") "$log.checkpoint" && ok "audit.log.checkpoint holds the last checkpoint" ||
  fail "audit.log.checkpoint differs from the last line"

verify -c "$conf" audit verify "$log"
[[ $RC -eq 0 ]] && grep -q '"valid":true' "$TMP/out" && grep -q '"warnings":\[\]' "$TMP/out" &&
  ok "intact log verifies with authd's key (-c), no warning" ||
  fail "intact log: exit $RC: $(cat "$TMP/out" "$TMP/err")"
cps=$(grep -c '"event":"audit.checkpoint"' "$log")
grep -q "\"checkpoints\":$cps,\"checked\":$cps," "$TMP/out" && ok "all $cps checkpoints checked" ||
  fail "checkpoints: $(cat "$TMP/out")"
verify -d "$S" audit verify "$log" --strict
[[ $RC -eq 0 ]] && ok "--strict: everything covered, exit 0" || fail "--strict on an intact log: exit $RC"
head=$(sed -E 's/.*"head":"([0-9a-f]{64})".*/\1/' "$TMP/out")
lines=$(sed -E 's/.*"lines":([0-9]+).*/\1/' "$TMP/out")

# ---- each kind of damage, on a copy (the key comes from -d)
f=$(copy_log edited); sed -i '2s/user.lock/user.LOCK/' "$f"
damaged "a line edited in place" edited 2 'line 2 was edited' -d "$S" audit verify "$f"
f=$(copy_log removed); sed -i '3d' "$f"
damaged "a line removed in the middle" gap 3 'line 3 was removed' -d "$S" audit verify "$f"
f=$(copy_log reordered)
{ sed -n 1p "$log"; sed -n 3p "$log"; sed -n 2p "$log"; sed -n '4,$p' "$log"; } >"$f"
damaged "lines moved" order 2 'line 2 is out of place' -d "$S" audit verify "$f"

# The forgery: a line after the first checkpoint edited, every later prev computed again,
# and the checkpoint copy made to match. Today's chain check alone passes it.
f=$(copy_log rewritten)
first=$(line_of audit.checkpoint "$f")
target=$((first + 1))
nextcp=$(line_of audit.checkpoint "$f" "$target")
"$PY" - "$f" "$target" <<'PY' || fail "re-chainer"
import hashlib, re, sys
path, target = sys.argv[1], int(sys.argv[2])
lines = open(path, "rb").read().split(b"\n")[:-1]
lines[target - 1] = lines[target - 1].replace(b'"actor":"operator:', b'"actor":"operatoR:')
for i in range(target, len(lines)):
    h = hashlib.sha256(lines[i - 1]).hexdigest().encode()
    lines[i] = re.sub(rb'"prev":"[0-9a-f]{64}"}$', b'"prev":"' + h + b'"}', lines[i])
open(path, "wb").write(b"\n".join(lines) + b"\n")
open(path + ".checkpoint", "wb").write(lines[-1] + b"\n")
PY
grep -q 'operatoR:' "$f" || fail "the re-chainer edited nothing"
verify audit verify "$f"
[[ $RC -eq 0 ]] && grep -q 'checkpoints not checked' "$TMP/err" &&
  ok "without the key the re-chained log passes the chain, with a warning that checkpoints were not checked" ||
  fail "re-chained log without a key: exit $RC: $(cat "$TMP/out" "$TMP/err")"
damaged "a line edited and the chain computed again after it" rewritten "$nextcp" \
  "the chain was rewritten between line $first and line $nextcp" -d "$S" audit verify "$f"
damaged "the same with the key named by --key" rewritten "$nextcp" "rewritten between" \
  audit verify "$f" --key "$S/audit.key"

f=$(copy_log truncated); head -n -2 "$f" >"$f.tmp" && mv "$f.tmp" "$f"
damaged "lines removed from the end (the checkpoint copy)" truncated $((lines - 1)) \
  "lines removed from the end: the last checkpoint .* is line $lines, but the file ends at line $((lines - 2))" \
  -d "$S" audit verify "$f"
rm "$f.checkpoint"
damaged "lines removed from the end (--head LINE:HASH)" truncated $((lines - 1)) \
  "lines removed from the end: the recorded head is line $lines" \
  -d "$S" audit verify "$f" --head "$lines:$head"
damaged "a bare --head that is not in the file" head_not_found $((lines - 2)) \
  "the line it names was edited, or lines were removed" -d "$S" audit verify "$f" --head "$head"

# A line no checkpoint covers (authctl cannot use the key: recorded all the same, with a
# warning), then that last line edited.
chmod 644 "$S/audit.key"
"$AUTHCTL" -d "$S" user lock "$uid" >/dev/null 2>"$TMP/err" && grep -q 'warning: .*audit.key.*waits for' "$TMP/err" &&
  ok "a key authctl cannot use: the action is recorded, with a warning" ||
  fail "user lock with an unsafe key: $(cat "$TMP/err")"
chmod 600 "$S/audit.key"
verify -d "$S" audit verify "$log"
[[ $RC -eq 0 ]] && grep -q "1 line after the last checkpoint (line $lines) is not covered" "$TMP/err" &&
  ok "an uncovered last line: valid, with a warning naming how many" ||
  fail "uncovered line: exit $RC: $(cat "$TMP/out" "$TMP/err")"
verify -d "$S" audit verify "$log" --strict
[[ $RC -eq 3 ]] && ok "--strict: an uncovered line exits 3" || fail "--strict with an uncovered line: exit $RC"
head2=$(sed -E 's/.*"head":"([0-9a-f]{64})".*/\1/' "$TMP/out")
last=$((lines + 1))
f=$(copy_log lastedit); sed -i "${last}s/user.lock/user.LOCK/" "$f"
damaged "the last line edited (not \"removed from the end\")" last_line_edited "$last" \
  "the last line \\(line $last\\) was edited" -d "$S" audit verify "$f" --head "$last:$head2"
grep -q 'removed' "$TMP/out" && fail "the last line edited is described as a removal: $(cat "$TMP/out")"

# A key that did not make the checkpoints; errors that prevent checking.
"$PY" -c 'import os; print(os.urandom(32).hex())' >"$TMP/other.key" && chmod 600 "$TMP/other.key"
damaged "checkpoints made with another key" unknown_key 6 "made with key [0-9a-f]{16}, which is not among" \
  audit verify "$log" --key "$TMP/other.key"
chmod 644 "$TMP/other.key"
expect_rc 2 "a key file readable by others: exit 2" "$AUTHCTL" audit verify "$log" --key "$TMP/other.key"
expect_rc 2 "a missing key file: exit 2" "$AUTHCTL" audit verify "$log" --key "$TMP/none.key"
expect_rc 2 "a missing log: exit 2" "$AUTHCTL" audit verify "$TMP/nonexistent"
expect_rc 2 "a malformed --head: exit 2" "$AUTHCTL" audit verify "$log" --head 12:xyz
no_errors_in "authd logged an error" "$TMP/authd.log"
no_sanitizer_in "a sanitizer report" "$TMP/authd.log" "$TMP/ctl.log" "$TMP/err"

if ((FAILS)); then
  echo "$FAILS check(s) failed"
  show_logs
  exit 1
fi
echo "all audit checks passed"
