#!/usr/bin/env bash
# Operator actions through authctl land on the hash-chained audit trail, with ID numbers
# masked, and `authctl audit verify` detects an edited, removed or reordered line.
set -u
ctl=${YH_BUILD:?}/authd/authctl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }

st=$tmp/state
printf 'correct horse battery\n' |
  "$ctl" -d "$st" user add --id-number 11010519491231002X --name 张三 --phone 13812345678 \
    --password-stdin > "$tmp/uid" || bad "user add"
uid=$(cat "$tmp/uid")
"$ctl" -d "$st" user lock "$uid" > /dev/null || bad "user lock"
"$ctl" -d "$st" user unlock "$uid" > /dev/null || bad "user unlock"
"$ctl" -d "$st" user verify "$uid" --loa 2 --by staff01 --evidence "registry 11010519491231002X" \
  > /dev/null || bad "user verify"
printf 'wrong\n' | "$ctl" -d "$st" user check-password 11010519491231002X --password-stdin \
  > /dev/null 2>&1
log=$st/audit.log
[[ -f $log ]] || { bad "audit.log exists"; exit 1; }
[[ $(stat -c %a "$log") == 600 ]] && ok "audit.log is 0600" || bad "audit.log mode"
n=$(wc -l < "$log")
[[ $n -eq 5 ]] && ok "5 events recorded" || bad "expected 5 events, got $n"
for ev in user.add user.lock user.unlock user.verify login.failure; do
  grep -q "\"event\":\"$ev\"" "$log" && ok "event $ev" || bad "event $ev missing"
done
grep -q '11010519491231002X' "$log" && bad "plaintext ID number in the audit log" || ok "ID number masked"
grep -q '13812345678' "$log" && bad "plaintext phone in the audit log" || ok "no plaintext phone"
grep -q '"actor":"operator:' "$log" && ok "actor recorded" || bad "actor missing"

out=$("$ctl" audit verify "$log") && [[ $out == *'"valid":true'* ]] && ok "intact log verifies" ||
  bad "intact log: $out"
head=$(printf '%s' "$out" | sed -E 's/.*"head":"([0-9a-f]{64})".*/\1/')

cp "$log" "$tmp/edited"; sed -i '2s/user.lock/user.LOCK/' "$tmp/edited"
"$ctl" audit verify "$tmp/edited" > "$tmp/o" && bad "edited line accepted" ||
  { grep -q '"bad_line":2' "$tmp/o" && ok "edit detected at the edited line" || bad "edit: $(cat "$tmp/o")"; }
cp "$log" "$tmp/removed"; sed -i '3d' "$tmp/removed"
"$ctl" audit verify "$tmp/removed" > /dev/null && bad "removed line accepted" || ok "removal detected"
{ sed -n 1p "$log"; sed -n 3p "$log"; sed -n 2p "$log"; sed -n '4,$p' "$log"; } > "$tmp/reordered"
"$ctl" audit verify "$tmp/reordered" > /dev/null && bad "reordered lines accepted" || ok "reorder detected"
head -n 4 "$log" > "$tmp/truncated"
"$ctl" audit verify "$tmp/truncated" --head "$head" > /dev/null && bad "truncation accepted" ||
  ok "truncated tail detected with --head"
"$ctl" audit verify "$tmp/nonexistent" > /dev/null 2>&1; rc=$?
[[ $rc -eq 2 ]] && ok "missing file: exit 2" || bad "missing file: exit $rc"

echo "$fails failure(s)"
[[ $fails -eq 0 ]]
