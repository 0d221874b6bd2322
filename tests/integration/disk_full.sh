#!/usr/bin/env bash
# authd with its state directory on a full disk: a small tmpfs filled to the last block
# while authd runs. What it answered as done must be on disk, nothing else:
#  - full: a registration through the real form (CSRF cookie and token) is answered 503
#    with a page saying nothing could be saved (Chinese by default, English on asking),
#    and no person is left behind; every one answered as registered is kept;
#    /readyz is 503 naming the directory and the audit checks, "no space left"; the token
#    endpoint answers 503 {"error":"temporarily_unavailable"} once the audit line of a
#    token cannot be written (every token it issued has its line), for a refresh too;
#    authctl user add
#    fails saying the disk is full; authd's log says "disk full", not "input/output
#    error";
#  - space back: /readyz 200, authctl user add works (the directory is not left
#    locked by a transaction that never ended), registration and tokens work again, and
#    the refresh token presented in the refresh answered 503 still refreshes (it was not
#    consumed: its reuse would have revoked the family, with a token.replay line);
#  - after SIGTERM: every person answered as registered or added is in the directory
#    (sqlite3 count and authctl user show), the audit log has no "created" line for a
#    person who is not there, and its chain is intact and covered by checkpoints.
# Needs root (mount); skipped (77) with the reason when a tmpfs cannot be mounted.
set -u
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp diskfull
HTTP_MAX_TIME=20

MNT=$TMP/mnt
S=$MNT/state
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=8m,mode=0700 yh-diskfull "$MNT" 2>"$TMP/mount.err"; then
  echo "SKIP: cannot mount a tmpfs for the state directory: $(cat "$TMP/mount.err")"
  exit 77
fi
# The EXIT trap: authd first (it holds files on the mount), then the mount, then TMP.
disk_cleanup() {
  local v
  for v in $PIDS_TO_STOP; do stop_pid "${!v:-}"; done
  if mountpoint -q "$MNT"; then umount "$MNT" 2>/dev/null || umount -l "$MNT"; fi
  cleanup
}
trap disk_cleanup EXIT
command -v sqlite3 >/dev/null || die "the sqlite3 command is missing (see docs/dependencies.md)"

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"

# A confidential app for client_credentials, registered before authd starts.
ctl client add svc --grant client_credentials >"$TMP/svc.json" || die "client add"
SECRET=$("$PY" -c 'import json,sys;print(json.load(open(sys.argv[1]))["client_secret"])' "$TMP/svc.json")
# An app with refresh tokens, for a person's code flow.
CB=http://127.0.0.1:9/cb
SECRET1=app-one-secret-0123456789abcdef-0123
ctl client add app1 --secret "$SECRET1" --redirect-uri "$CB" --scope openid profile \
  --grant authorization_code refresh_token >/dev/null || die "client add app1"
start_authd

# register JAR ID [curl args]: the form as a browser sends it (GET for the CSRF cookie and
# token, then POST).
register() {
  local jar=$1 id=$2 tok
  shift 2
  req "$jar" GET /register "$@"
  tok=$(form_value csrf)
  reg_consent
  req "$jar" POST /register "$@" --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "name=王五" --data-urlencode "id_number=$id" \
    --data-urlencode "phone=13900139000" --data-urlencode "password=Full Disk $id" \
    --data-urlencode "password2=Full Disk $id" "${REG_CONSENT[@]}"
}
DONE_ZH='注册申请已提交'
NOT_SAVED_ZH='系统暂时无法保存数据'
NOT_SAVED_EN='cannot save anything'
CREATED=()       # ID numbers answered as registered
NOT_CREATED=()   # ID numbers answered 503
SEQ=100
next_id() { SEQ=$((SEQ + 1)); ID=$(id_number "11010119900101$SEQ"); }

# json_field KEY: member KEY of the JSON object in BODY ("" when absent or not JSON).
json_field() {
  "$PY" -c 'import json,sys;print(json.loads(sys.argv[1]).get(sys.argv[2],""))' "$BODY" "$1" 2>/dev/null
}

# token: a client_credentials grant; sets STATUS and BODY; TOKENS_OK gets the jti of a 200.
TOKENS_OK=()
token() {
  fetch "$BASE/token" -u "svc:$SECRET" -d grant_type=client_credentials
  if [[ $STATUS == 200 ]]; then
    TOKENS_OK+=("$(jwt_claim "$(json_field access_token)" jti)")
  fi
}

# refresh RT: a refresh_token grant of app1; sets STATUS and BODY, and RT to the new
# refresh token of a 200.
refresh() {
  req - POST /token -H "Authorization: $(basic app1 "$SECRET1")" \
    --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$1"
  [[ $STATUS == 200 ]] && RT=$(jget refresh_token)
}

# ---- before: everything works
next_id
register a "$ID"
[[ $STATUS == 200 && $BODY == *"$DONE_ZH"* ]] && ok "registration before the disk fills" ||
  die "registration before the disk fills: $STATUS"
CREATED+=("$ID")
login_form rt "$ID" "Full Disk $ID"
[[ $STATUS == 303 ]] || die "login before the disk fills: $STATUS '$LOCATION'"
authorize_code rt "openid%20profile" app1 || die "no code for app1"
req - POST /token -H "Authorization: $(basic app1 "$SECRET1")" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER"
RT=$(jget refresh_token)
[[ $STATUS == 200 && -n $RT ]] || die "code flow before the disk fills: $STATUS $BODY"
refresh "$RT"
[[ $STATUS == 200 ]] && ok "refresh before the disk fills" || die "refresh before: $STATUS $BODY"
token
[[ $STATUS == 200 ]] && ok "client_credentials token before" || die "token before: $STATUS $BODY"
fetch "$BASE/readyz"
[[ $STATUS == 200 ]] && ok "/readyz 200 before" || die "/readyz before: $STATUS $BODY"

# ---- fill the file system to the last block
dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null
AVAIL=$(df --output=avail -B1 "$MNT" | tail -1 | tr -d ' ')
[[ $AVAIL -lt 4096 ]] && ok "tmpfs full ($AVAIL bytes free)" || die "the tmpfs did not fill: $AVAIL bytes free"

# Registrations: the first commit needs a block. At most a few may still fit; each one
# answered as registered must be kept, and the first refusal is a 503 page.
GOT503=0
for _ in 1 2 3 4 5; do
  next_id
  register b "$ID"
  if [[ $STATUS == 200 && $BODY == *"$DONE_ZH"* ]]; then
    CREATED+=("$ID")
  elif [[ $STATUS == 503 ]]; then
    NOT_CREATED+=("$ID")
    GOT503=1
    break
  else
    fail "registration on a full disk: $STATUS (want 503 or a kept registration)"
    break
  fi
done
if ((GOT503)); then
  ok "registration on a full disk: 503 (after ${#CREATED[@]} kept in all)"
  [[ $BODY == *'<html lang="zh-CN">'* && $BODY == *"$NOT_SAVED_ZH"* ]] &&
    ok "the 503 page says in Chinese that nothing could be saved" ||
    fail "503 page words: $(grep -o '<p[^>]*role="alert"[^<]*' "$TMP/body" | head -1)"
  [[ $BODY != *"$DONE_ZH"* ]] || fail "the 503 page claims the registration"
else
  fail "no registration refused on a full disk"
fi
next_id
register c "$ID" -H 'Accept-Language: en'
if [[ $STATUS == 503 && $BODY == *'<html lang="en">'* && $BODY == *"$NOT_SAVED_EN"* ]]; then
  ok "in English on asking: 503 'cannot save anything'"
  NOT_CREATED+=("$ID")
else
  fail "English registration on a full disk: $STATUS"
  [[ $STATUS == 200 ]] && CREATED+=("$ID")
fi

fetch "$BASE/readyz"
CHECK=$(json_field check)
FAILED=$("$PY" -c 'import json,sys;print(" ".join(json.loads(sys.argv[1]).get("failed",[])))' "$BODY" 2>/dev/null)
[[ $STATUS == 503 && ($CHECK == directory || $CHECK == audit) && $BODY == *'no space left'* ]] &&
  ok "/readyz 503 on a full disk: $BODY" || fail "/readyz on a full disk: $STATUS $BODY"
[[ $FAILED == 'directory audit' ]] && ok "/readyz names both the directory and the audit log" ||
  fail "/readyz failed checks: '$FAILED'"

# Tokens: the audit line of each is on disk before the answer. The last block of the
# audit log may hold a few more lines; then 503 temporarily_unavailable.
GOT503=0
for _ in $(seq 1 60); do
  token
  [[ $STATUS == 200 ]] && continue
  [[ $STATUS == 503 && $(json_field error) == temporarily_unavailable ]] && GOT503=1 ||
    fail "token on a full disk: $STATUS $BODY"
  break
done
((GOT503)) && ok "token endpoint on a full disk: 503 temporarily_unavailable (after ${#TOKENS_OK[@]} tokens in all)" ||
  fail "token endpoint never refused on a full disk"
# A refresh: 503 too; RT stays the token presented in it.
for _ in $(seq 1 20); do
  refresh "$RT"
  [[ $STATUS == 200 ]] || break
done
[[ $STATUS == 503 && $(json_field error) == temporarily_unavailable ]] &&
  ok "refresh on a full disk: 503 temporarily_unavailable" || fail "refresh on a full disk: $STATUS $BODY"

# A login (its audit line cannot be written now): a 503 page, or a login on the record.
req d GET /login
TOK=$(form_value csrf)
req d POST /login --data-urlencode "csrf=$TOK" --data-urlencode "next=/account" \
  --data-urlencode "username=${CREATED[0]}" --data-urlencode "password=Full Disk ${CREATED[0]}"
LOGIN_STATUS=$STATUS
[[ $STATUS == 503 && $BODY == *"$NOT_SAVED_ZH"* ]] || [[ $STATUS == 303 ]] &&
  ok "login on a full disk: $STATUS" || fail "login on a full disk: $STATUS"

OUT=$(timeout 30 "$AUTHCTL" -d "$S" user add --id-number "$(id_number 11010119800101001)" \
  --name 赵六 2>&1)
RC=$?
[[ $RC -ne 0 && $OUT == *'disk full'* ]] && ok "authctl user add on a full disk: $OUT" ||
  fail "authctl user add on a full disk: exit $RC: $OUT"

grep -q 'disk full' "$TMP/authd.log" && ok "authd's log says disk full" ||
  fail "authd's log does not say disk full"
grep -q 'input/output error' "$TMP/authd.log" && fail "authd's log says input/output error"

# ---- space back
rm -f "$MNT/filler"
fetch "$BASE/readyz"
[[ $STATUS == 200 ]] && ok "/readyz 200 once space is back" || fail "/readyz after: $STATUS $BODY"
ADDED_ID=$(id_number 11010119800101002)
OUT=$(timeout 30 "$AUTHCTL" -d "$S" user add --id-number "$ADDED_ID" --name 赵六 2>&1)
RC=$?
[[ $RC -eq 0 ]] && ok "authctl user add once space is back" ||
  fail "authctl user add after: exit $RC: $OUT"
[[ $OUT != *'locked'* ]] || fail "the directory is still locked: $OUT"
next_id
register e "$ID"
[[ $STATUS == 200 && $BODY == *"$DONE_ZH"* ]] && { ok "registration once space is back"; CREATED+=("$ID"); } ||
  fail "registration after: $STATUS"
token
[[ $STATUS == 200 ]] && ok "token once space is back" || fail "token after: $STATUS $BODY"
refresh "$RT"
[[ $STATUS == 200 ]] && ok "the refresh token answered 503 refreshes once space is back" ||
  fail "the refresh token answered 503 was consumed: $STATUS $BODY"
refresh "$RT"
[[ $STATUS == 200 ]] && ok "and so does its successor" || fail "its successor: $STATUS $BODY"
req e GET /login
TOK=$(form_value csrf)
req e POST /login --data-urlencode "csrf=$TOK" --data-urlencode "next=/account" \
  --data-urlencode "username=$ID" --data-urlencode "password=Full Disk $ID"
[[ $STATUS == 303 ]] && ok "the new account logs in" || fail "login after: $STATUS"

check_stop_authd

# ---- what is on disk
N=$(sqlite3 "$S/directory.db" 'select count(*) from person' 2>&1)
WANT=$((${#CREATED[@]} + 1))
[[ $N == "$WANT" ]] && ok "$N persons in the directory: every one answered as added" ||
  fail "persons in the directory: $N, want $WANT (${#CREATED[@]} registered + 1 added)"
BEFORE=$FAILS
for id in "${CREATED[@]}" "$ADDED_ID"; do
  "$AUTHCTL" -d "$S" user show "$id" >/dev/null 2>>"$TMP/ctl.log" ||
    fail "answered as added but not in the directory: $id"
done
for id in "${NOT_CREATED[@]}"; do
  "$AUTHCTL" -d "$S" user show "$id" >/dev/null 2>&1 &&
    fail "answered 503 but in the directory: $id"
done
((FAILS == BEFORE)) && ok "each person answered as added is there, none answered 503 is"
CREATED_LINES=0
for uid in $(grep -F '"event":"register"' "$S/audit.log" | grep -F '"result":"created"' |
    sed -E 's/.*"actor":"user:([0-9a-f]+)".*/\1/'); do
  CREATED_LINES=$((CREATED_LINES + 1))
  "$AUTHCTL" -d "$S" user show "$uid" >/dev/null 2>&1 ||
    fail "the audit log says user $uid was created, the directory does not have it"
done
[[ $CREATED_LINES == "${#CREATED[@]}" ]] && ok "$CREATED_LINES register/created audit lines" ||
  fail "register/created audit lines: $CREATED_LINES, want ${#CREATED[@]}"
BEFORE=$FAILS
for jti in "${TOKENS_OK[@]}"; do
  grep -qF "\"jti\":\"$jti\"" "$S/audit.log" || fail "token $jti issued without its audit line"
done
((FAILS == BEFORE)) && ok "each token issued has its audit line (${#TOKENS_OK[@]})"
grep -qF '"event":"token.replay"' "$S/audit.log" &&
  fail "a token.replay line: the refresh after the 503 counted as a reuse"
if [[ $LOGIN_STATUS == 303 ]]; then
  [[ $(audit_count login.success) -ge 1 ]] || fail "a login on a full disk without its line"
fi
# --strict: every line covered by a checkpoint that verifies with the key (audit.key
# beside the log), none of them cut with a batch that could not be written
VERIFY=$("$AUTHCTL" audit verify "$S/audit.log" --strict 2>&1)
[[ $? -eq 0 && $VERIFY == *'"checkpoints":'[1-9]* ]] && ok "audit chain intact, checkpoints verified: $VERIFY" ||
  fail "audit verify --strict: $VERIFY"
no_sanitizer_in "sanitizer report in authd's log" "$TMP/authd.log"

if ((FAILS)); then
  echo "$FAILS check(s) failed"
  show_logs
  exit 1
fi
echo "all disk-full checks passed"
