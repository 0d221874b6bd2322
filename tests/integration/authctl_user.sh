#!/usr/bin/env bash
# authctl user add|show|list|phone|lock|unlock|deregister|verify|check-password|purge through
# the real binary on a temporary state directory: ID numbers and phones shown masked, never
# stored in clear; an operator's phone verified unless they say no, an unverified phone
# no identifier; legacy hashes upgraded at the first good password; bad input gives
# one clear error line and a non-zero exit.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${YH_BUILD:-build}
AUTHCTL=$BUILD/authctl/authctl
make_tmp

# json FILE EXPR: evaluates a python expression over the JSON value j read from FILE.
json() {
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# check NAME ACTUAL EXPECTED
check() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}

[[ -x $AUTHCTL ]] || { echo "FAIL: $AUTHCTL not built"; exit 1; }
ST=$TMP/state
# Replaces lib.sh's ctl: authctl's stderr stays with the caller (checks read it).
ctl() { "$AUTHCTL" -d "$ST" "$@"; }

ID1=11010519491231002X
ID2=440524188001010014
# --- add
uid1=$(printf 'S3cret-pass\n' | ctl user add --id-number 11010519491231002x --name 张三 \
  --phone '+86 138-0013-8000' --email zs@example.cn --username zhangsan --password-stdin)
rc=$?
[[ $rc -eq 0 && $uid1 =~ ^[0-9a-f]{32}$ ]] && ok "add prints a uid" || fail "add: rc=$rc out=$uid1"
uid2=$(printf 'other' | ctl user add --id-number 440524800101001 --name 李四 --password-stdin)
[[ $uid2 =~ ^[0-9a-f]{32}$ ]] && ok "add a 15-digit ID number" || fail "add 15-digit: $uid2"
perm=$(stat -c %a "$ST")
check "state dir is 0700" "$perm" 700
for f in "$ST"/directory.db "$ST"/vault.key; do
  check "$(basename "$f") is 0600" "$(stat -c %a "$f")" 600
done

expect_error "duplicate ID number" 'already exists' \
  "$AUTHCTL" -d "$ST" user add --id-number "$ID1" --name 张三
expect_error "invalid ID number" '^authctl: invalid ID number: bad_checksum$' \
  "$AUTHCTL" -d "$ST" user add --id-number 110105194912310021 --name x
expect_error "invalid phone" 'invalid phone number' \
  "$AUTHCTL" -d "$ST" user add --id-number 110101199003070011 --name x --phone 12
expect_error "numeric username" 'username' \
  "$AUTHCTL" -d "$ST" user add --id-number 110101199003070011 --name x --username 12345
expect_error "missing --name" 'required' "$AUTHCTL" -d "$ST" user add --id-number "$ID1"
expect_error "unknown option" "unknown option '--nmae'" \
  "$AUTHCTL" -d "$ST" user add --id-number "$ID1" --nmae x
expect_error "no state given" 'pass -d STATE_DIR or -c FILE' "$AUTHCTL" user list

# --- nothing personal in clear at rest (db and any WAL)
if cat "$ST"/directory.db* | grep -aq -e "$ID1" -e 13800138000 -e "${ID2:0:17}"; then
  fail "a plaintext ID number or phone is in the directory files"
else
  ok "no plaintext ID number or phone in the directory files"
fi
cat "$ST"/directory.db* | grep -aq zhangsan && ok "(the username is visible: the scan works)" ||
  fail "the scan does not see a plaintext username either"

# --- show (by uid, ID number, phone, username), masked
for who in "$uid1" "$ID1" 13800138000 zhangsan; do
  ctl user show "$who" >"$TMP/show.json" || fail "show $who: exit $?"
  check "show $who finds the user" "$(json "$TMP/show.json" 'j["uid"]')" "$uid1"
done
check "show masks the ID number" "$(json "$TMP/show.json" 'j["id_number"]')" "110105********002X"
check "show masks the phone" "$(json "$TMP/show.json" 'j["phone"]')" "138****8000"
grep -q -e "$ID1" -e 13800138000 "$TMP/show.json" && fail "show leaks the ID number or phone" ||
  ok "show output has no full ID number or phone"
check "show name" "$(json "$TMP/show.json" 'j["name"]')" "张三"
check "show status" "$(json "$TMP/show.json" 'j["status"]')" "active"
check "show loa" "$(json "$TMP/show.json" 'j["loa"]')" "1"
check "show password scheme" "$(json "$TMP/show.json" 'j["password_scheme"]')" "argon2id"
expect_error "show unknown user" 'no such user' "$AUTHCTL" -d "$ST" user show nobody

# --- phone verification: an operator's phone is verified unless they say no
check "show: the operator's phone is verified" "$(json "$TMP/show.json" 'j["phone_verified"]')" True
check "show: no phone, no verification" \
  "$(ctl user show "$uid2" | python3 -c 'import json,sys;print(json.load(sys.stdin)["phone_verified"])')" None
uid4=$(ctl user add --id-number 110101199003070038 --name 赵六 --phone 13900139000 \
  --phone-verified no)
check "add --phone-verified no" \
  "$(ctl user show "$uid4" | python3 -c 'import json,sys;print(json.load(sys.stdin)["phone_verified"])')" False
expect_error "an unverified phone is no identifier" 'no such user' \
  "$AUTHCTL" -d "$ST" user show 13900139000
ctl user phone "$uid4" --phone-verified yes >"$TMP/ph.json" || fail "user phone: exit $?"
check "user phone --phone-verified yes" "$(json "$TMP/ph.json" 'j["phone_verified"]')" True
check "the verified phone finds the user" \
  "$(ctl user show 139-0013-9000 | python3 -c 'import json,sys;print(json.load(sys.stdin)["uid"])')" "$uid4"
ctl user phone "$uid4" --phone 13700137000 --phone-verified no >"$TMP/ph.json" ||
  fail "user phone --phone: exit $?"
check "user phone --phone sets the number" "$(json "$TMP/ph.json" 'j["phone"]')" "137****7000"
check "user phone --phone ... no" "$(json "$TMP/ph.json" 'j["phone_verified"]')" False
expect_error "--phone-verified needs yes or no" 'yes or no' \
  "$AUTHCTL" -d "$ST" user phone "$uid4" --phone-verified maybe
expect_error "--phone-verified without --phone at add" 'goes with --phone' \
  "$AUTHCTL" -d "$ST" user add --id-number 110101199003070054 --name x --phone-verified no
expect_error "user phone without a change" 'give --phone' "$AUTHCTL" -d "$ST" user phone "$uid4"
ctl user deregister "$uid4" >/dev/null || fail "deregister $uid4"

# --- list
ctl user list >"$TMP/list.jsonl" || fail "list: exit $?"
check "list has 3 users" "$(grep -c '' "$TMP/list.jsonl")" 3
grep -q -e "$ID1" -e "$ID2" "$TMP/list.jsonl" && fail "list leaks an ID number" ||
  ok "list masks ID numbers"
check "list --limit 1 --offset 1" "$(ctl user list --limit 1 --offset 1 | grep -c uid)" 1
expect_error "list bad limit" 'limit' "$AUTHCTL" -d "$ST" user list --limit 0

# --- check-password, lock, unlock
out=$(printf 'S3cret-pass\n' | ctl user check-password "$ID1" --password-stdin)
check "check-password ok" "$out" '{"ok":true,"rehashed":false}'
out=$(printf 'S3cret-pass' | ctl user check-password zhangsan --password-stdin)
check "check-password by username" "$out" '{"ok":true,"rehashed":false}'
printf 'wrong\n' | ctl user check-password "$ID1" --password-stdin >/dev/null 2>"$TMP/e1"
rc1=$?
printf 'wrong\n' | ctl user check-password 110101199003070011 --password-stdin >/dev/null 2>"$TMP/e2"
rc2=$?
check "wrong password exits 1" "$rc1" 1
check "unknown user exits 1" "$rc2" 1
if cmp -s "$TMP/e1" "$TMP/e2"; then ok "same words for unknown user and wrong password: $(cat "$TMP/e1")"
else fail "messages differ: '$(cat "$TMP/e1")' vs '$(cat "$TMP/e2")'"; fi

out=$(ctl user lock zhangsan)
check "lock" "$(echo "$out" | python3 -c 'import json,sys;print(json.load(sys.stdin)["status"])')" locked
out=$(printf 'S3cret-pass' | ctl user check-password zhangsan --password-stdin)
rc=$?
check "locked user cannot log in (exit)" "$rc" 1
check "locked user answer" "$out" '{"ok":false,"status":"locked","rehashed":false}'
ctl user unlock "$uid1" >/dev/null
check "unlock" "$(ctl user show "$uid1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["status"])')" active

# --- verify (LoA)
ctl user verify "$ID1" --loa 4 --by staff-007 --evidence '身份证原件核验' >"$TMP/v.json" ||
  fail "verify: exit $?"
check "verify applied" "$(json "$TMP/v.json" 'j["applied"]')" True
ctl user show "$ID1" >"$TMP/show.json"
check "LoA 4 recorded" "$(json "$TMP/show.json" 'j["loa"]')" 4
check "LoA method" "$(json "$TMP/show.json" 'j["loa_method"]')" counter
check "LoA by" "$(json "$TMP/show.json" 'j["loa_by"]')" staff-007
check "LoA evidence" "$(json "$TMP/show.json" 'j["loa_evidence"]')" "身份证原件核验"
ctl user verify "$ID1" --loa 2 --by registry --evidence ref-1 >"$TMP/v.json"
check "a lower verification does not lower the LoA" "$(json "$TMP/v.json" 'j["loa"]')" 4
expect_error "verify --loa 3" 'loa must be 2' \
  "$AUTHCTL" -d "$ST" user verify "$ID1" --loa 3 --by x --evidence y
expect_error "verify without evidence" 'required' \
  "$AUTHCTL" -d "$ST" user verify "$ID1" --loa 2 --by x

# --- deregister
ctl user deregister "$uid2" >/dev/null || fail "deregister: exit $?"
check "deregistered" "$(ctl user show "$uid2" | python3 -c 'import json,sys;print(json.load(sys.stdin)["status"])')" deregistered
expect_error "unlock a deregistered user" 'deregistered' "$AUTHCTL" -d "$ST" user unlock "$uid2"

# --- bad state
mv "$ST/vault.key" "$TMP/vault.key.bak"
expect_error "missing key file" 'vault\.key.*missing' "$AUTHCTL" -d "$ST" user list
expect_error "missing key file (add)" 'vault\.key.*missing' \
  "$AUTHCTL" -d "$ST" user add --id-number 110101199003070011 --name x
[[ -e $ST/vault.key ]] && fail "a new key file was created" || ok "no new key file was created"
mv "$TMP/vault.key.bak" "$ST/vault.key"
touch "$TMP/plainfile"
expect_error "unwritable state dir" 'plainfile' \
  "$AUTHCTL" -d "$TMP/plainfile/state" user add --id-number 110101199003070011 --name x
expect_error "missing state dir" 'does not exist|No such file' "$AUTHCTL" -d "$TMP/nothing" user list
printf 'state_dir = %s\nvault.cipher = des\n' "$ST" >"$TMP/bad.conf"
expect_error "malformed config" "bad\\.conf:2: vault\\.cipher: 'des' is not one of" \
  "$AUTHCTL" -c "$TMP/bad.conf" user list

# --- -c FILE: the identity options of a shared file, authd-only sections ignored
printf 'state_dir = state\nhttp.listen = 127.0.0.1:1\nvault.cipher = aes-256-gcm\n' >"$TMP/ok.conf"
check "-c FILE finds the same state" "$("$AUTHCTL" -c "$TMP/ok.conf" user list | grep -c uid)" 3

# --- a legacy hash is upgraded at the first good password (needs python3 + sqlite3 module)
if python3 -c 'import sqlite3' 2>/dev/null; then
  uid3=$(ctl user add --id-number 110101199003070011 --name 王五 --username wangwu)
  python3 - "$ST/directory.db" "$uid3" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE credential SET scheme='md5-hex', hash=?, salt=NULL WHERE owner_uid=?",
           (hashlib.md5(b"legacy-pw").hexdigest(), sys.argv[2]))
if db.total_changes == 0:
    db.execute("INSERT INTO credential (owner_uid, scheme, hash, salt, updated) VALUES (?, 'md5-hex', ?, NULL, 0)",
               (sys.argv[2], hashlib.md5(b"legacy-pw").hexdigest()))
db.commit()
EOF
  out=$(printf 'legacy-pw' | ctl user check-password wangwu --password-stdin)
  check "legacy md5 password accepted and rehashed" "$out" '{"ok":true,"rehashed":true}'
  check "scheme is now argon2id" "$(ctl user show wangwu | python3 -c 'import json,sys;print(json.load(sys.stdin)["password_scheme"])')" argon2id
  out=$(printf 'legacy-pw' | ctl user check-password wangwu --password-stdin)
  check "second login: no rehash" "$out" '{"ok":true,"rehashed":false}'
else
  echo "skip: python3 sqlite3 module missing (legacy rehash check)"
fi

# --- a deregistered user is a tombstone: the ID number stays taken, with the answer any
# taken ID number gets, until `user purge` erases the user past the retention period
ID2_15=440524800101001
"$AUTHCTL" -d "$ST" user add --id-number "$ID1" --name x 2>"$TMP/dup_active" && fail "dup active"
"$AUTHCTL" -d "$ST" user add --id-number "$ID2_15" --name x 2>"$TMP/dup_tomb" &&
  fail "a deregistered user's ID number was registered again"
check "a deregistered user's ID number: the same refusal as any taken one" \
  "$(cat "$TMP/dup_tomb")" "$(cat "$TMP/dup_active")"
expect_error "purge without --older-than" 'older-than DAYS is required' \
  "$AUTHCTL" -d "$ST" user purge
for bad in 0 -3 abc 1.5 ''; do
  expect_error "purge --older-than '$bad'" 'whole number of days from 1' \
    "$AUTHCTL" -d "$ST" user purge --older-than "$bad"
done
ctl user purge --older-than 1 >"$TMP/purge0.json" || fail "purge today: exit $?"
check "purge --older-than 1 right after deregistering erases nobody" \
  "$(json "$TMP/purge0.json" '(j["count"], j["uids"], j["dry_run"])')" "(0, [], False)"
# Age uid2's deregistration by two days, as if it had happened then: the directory
# records the time in person.deregistered (schema 9), and this is the only way to move
# it short of waiting. uid4, deregistered today too, is left as it is.
sqlite3 "$ST/directory.db" "UPDATE person SET deregistered = deregistered - 2 * 86400
  WHERE uid = '$uid2'" || fail "aging the deregistration"
ctl user purge --older-than 1 --dry-run >"$TMP/purge1.json" || fail "purge --dry-run: exit $?"
check "purge --dry-run lists the user deregistered two days ago" \
  "$(json "$TMP/purge1.json" '(j["count"], j["uids"], j["dry_run"])')" "(1, ['$uid2'], True)"
check "and erases nothing" "$(ctl user show "$uid2" | python3 -c \
  'import json,sys;print(json.load(sys.stdin)["status"])')" deregistered
ctl user purge --older-than 3 >"$TMP/purge3.json" || fail "purge --older-than 3: exit $?"
check "purge --older-than 3 erases nobody" "$(json "$TMP/purge3.json" 'j["count"]')" 0
ctl user purge --older-than 1 >"$TMP/purge2.json" || fail "purge: exit $?"
check "purge --older-than 1 erases that user only" \
  "$(json "$TMP/purge2.json" '(j["count"], j["uids"], j["dry_run"])')" "(1, ['$uid2'], False)"
expect_error "the purged user is gone" 'no such user' "$AUTHCTL" -d "$ST" user show "$uid2"
expect_error "also by ID number" 'no such user' "$AUTHCTL" -d "$ST" user show "$ID2_15"
check "nothing of the purged user is left in the directory" "$(sqlite3 "$ST/directory.db" \
  "SELECT (SELECT count(*) FROM entity WHERE uid = '$uid2') +
          (SELECT count(*) FROM person WHERE uid = '$uid2' OR name = '李四') +
          (SELECT count(*) FROM credential WHERE owner_uid = '$uid2')")" 0
check "the other deregistered user is kept" "$(ctl user show "$uid4" | python3 -c \
  'import json,sys;print(json.load(sys.stdin)["status"])')" deregistered
grep '"event":"user.purge"' "$ST/audit.log" >"$TMP/purge_audit" || fail "no user.purge audit line"
check "one user.purge audit line" "$(grep -c '' "$TMP/purge_audit")" 1
check "it names the uid and the deregistration date" "$(python3 -c '
import json, sys
e = json.loads(open(sys.argv[1]).readline())
print(e.get("uid") == sys.argv[2], len(e.get("deregistered", "")) == 10)' \
  "$TMP/purge_audit" "$uid2")" "True True"
grep -q -e "$ID2_15" -e "${ID2_15:0:6}" -e 李四 "$TMP/purge_audit" &&
  fail "the user.purge audit line holds the ID number or the name" ||
  ok "the user.purge audit line has no ID number or name"
ctl audit verify "$ST/audit.log" >"$TMP/verify.out" 2>&1 && ok "audit verify after the purge" ||
  fail "audit verify: $(cat "$TMP/verify.out")"
uid2b=$(ctl user add --id-number "$ID2_15" --name 李四) ||
  fail "the purged user's ID number cannot be registered again"
[[ $uid2b =~ ^[0-9a-f]{32}$ && $uid2b != "$uid2" ]] &&
  ok "the ID number is registered again, under a new uid" || fail "re-add: '$uid2b'"

# --- the command line other users see (/proc/PID/cmdline, ps) shows ID numbers masked:
# authctl waits on a pipe for the password while its command line is read
mkfifo "$TMP/pw"
"$AUTHCTL" -d "$ST" user check-password "$ID1" --password-stdin < "$TMP/pw" > /dev/null 2>&1 &
cpid=$!
exec 7> "$TMP/pw"
shown=""
for _ in $(seq 50); do
  shown=$(tr '\0' ' ' < /proc/$cpid/cmdline 2>/dev/null)
  [[ $shown == *'*'* ]] && break          # masked once main has started
  sleep 0.1
done
[[ $shown == *"110105********002X"* && $shown != *"$ID1"* ]] &&
  ok "the ID number in authctl's command line is masked for ps" ||
  fail "cmdline: '$shown'"
printf 'S3cret-pass\n' >&7
exec 7>&-
wait $cpid
check "and the command still used the whole ID number" "$?" 0

finish "authctl_user: all checks passed" "authctl_user: "
