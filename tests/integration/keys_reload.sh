#!/usr/bin/env bash
# A running authd reloads its signing key ring on SIGHUP: `authctl keys rotate` on the
# state's key directory changes nothing until the signal; after it, /jwks publishes the
# fresh next key before that key signs, tokens are signed by the promoted key while the
# retiring one stays in /jwks (old tokens keep verifying), and a broken ring on SIGHUP
# (a truncated keyring.json, a missing key file) leaves the previous keys serving and is
# logged as a failure, never as a reload.
set -u
: "${YH_BUILD:?}"
AUTHD=$YH_BUILD/authd/authd
A=$YH_BUILD/authctl/authctl
. "$(dirname "$0")/lib.sh"
make_tmp keys-reload
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
K=$S/keys  # authd keeps its ring in STATE_DIR/keys (keys.dir unset)
LOG=$TMP/authd.log
SECRET=svc-secret-for-the-key-reload-test-000000001

start_authd  # -d "$S" -l 127.0.0.1:$PORT, its log in $LOG

# jwks_kids: the kids /jwks publishes, sorted, one line. token_kid FILE: the kid in the
# header of the access token in a /token answer.
jwks_kids() { curl -sf "$BASE/jwks" | jq -r '[.keys[].kid] | sort | join(" ")'; }
token_kid() { jwt_part "$(jq -r .access_token "$1")" 0 kid; }
cc() {  # cc OUT: a client_credentials grant into OUT; prints the HTTP status
  curl -s -o "$1" -w '%{http_code}' -u "svc:$SECRET" -d grant_type=client_credentials "$BASE/token"
}
ring_kid() { "$A" keys list --dir "$K" | awk -v s="$1" '$1 == s && $2 == "ES256" { print $3; exit }'; }
has() { [[ " $1 " == *" $2 "* ]]; }

# An app to ask for tokens; the running authd picks the registry change up by itself.
"$A" -d "$S" client add svc --secret "$SECRET" --grant client_credentials >/dev/null 2>"$TMP/err" ||
  fail "client add: $(cat "$TMP/err")"
for _ in $(seq 1 40); do
  [[ $(cc "$TMP/tok0") == 200 ]] && break
  sleep 0.1
done
[[ $(cc "$TMP/tok0") == 200 ]] || { echo "FAIL: no token: $(cat "$TMP/tok0")"; cat "$LOG"; exit 1; }

# The first start made an active and a next key; /jwks publishes both, the active signs.
active0=$(ring_kid active); next0=$(ring_kid next)
jwks0=$(jwks_kids)
kid0=$(token_kid "$TMP/tok0")
[[ -n $active0 && -n $next0 ]] && ok "ring has an active and a next key" || fail "keys list: $("$A" keys list --dir "$K")"
has "$jwks0" "$active0" && has "$jwks0" "$next0" && ok "/jwks publishes active and next" || fail "/jwks: $jwks0"
[[ $kid0 == "$active0" ]] && ok "tokens signed by the active key" || fail "token kid $kid0, active $active0"

# Rotation on disk: the running authd keeps its snapshot until SIGHUP.
"$A" keys rotate --dir "$K" >/dev/null 2>"$TMP/err" || fail "keys rotate: $(cat "$TMP/err")"
next1=$(ring_kid next)
[[ $(ring_kid active) == "$next0" && -n $next1 && $next1 != "$next0" ]] && ok "rotate: next promoted, a fresh next" ||
  fail "after rotate: $("$A" keys list --dir "$K")"
[[ $(jwks_kids) == "$jwks0" ]] && ok "before SIGHUP /jwks is unchanged" || fail "/jwks changed without SIGHUP: $(jwks_kids)"
cc "$TMP/tok" >/dev/null
[[ $(token_kid "$TMP/tok") == "$active0" ]] && ok "before SIGHUP the old active key still signs" || fail "kid $(token_kid "$TMP/tok")"

mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
tail -n +"$((mark + 1))" "$LOG" | grep -q 'SIGHUP: key ring and clients reloaded' &&
  ok "log: key ring and clients reloaded" || fail "log: $(tail -n +"$((mark + 1))" "$LOG")"
jwks1=$(jwks_kids)
has "$jwks1" "$next1" && ok "after SIGHUP /jwks publishes the fresh next key" || fail "/jwks lacks $next1: $jwks1"
has "$jwks1" "$next0" && has "$jwks1" "$active0" && ok "/jwks keeps the promoted and the retiring key" || fail "/jwks: $jwks1"
[[ $(cc "$TMP/tok1") == 200 ]] || fail "grant after SIGHUP: $(cat "$TMP/tok1")"
kid1=$(token_kid "$TMP/tok1")
[[ $kid1 == "$next0" ]] && ok "tokens now signed by the promoted key" || fail "token kid $kid1, want $next0"
[[ $kid1 != "$next1" ]] && ok "the fresh next key does not sign yet" || fail "next key signs"
curl -sf "$BASE/jwks" >"$TMP/jwks1.json"
"$A" jwt verify --jwks "$TMP/jwks1.json" --iss "$BASE" < <(jq -r .access_token "$TMP/tok0") >/dev/null 2>"$TMP/err" &&
  ok "a token of the retiring key verifies against /jwks" || fail "old token: $(cat "$TMP/err")"

# A second rotation: the key published one SIGHUP earlier starts signing.
"$A" keys rotate --dir "$K" >/dev/null 2>"$TMP/err" || fail "second rotate: $(cat "$TMP/err")"
next2=$(ring_kid next)
hup_and_wait "$(wc -l <"$LOG")"
jwks2=$(jwks_kids)
cc "$TMP/tok2" >/dev/null
kid2=$(token_kid "$TMP/tok2")
[[ $kid2 == "$next1" ]] && ok "the key published before signs after the next rotation" || fail "kid $kid2, want $next1"
has "$jwks2" "$next2" && has "$jwks2" "$next1" && has "$jwks2" "$next0" && has "$jwks2" "$active0" &&
  ok "/jwks: new next, active and both retiring keys" || fail "/jwks after second rotation: $jwks2"

# A broken ring on SIGHUP: the previous keys keep serving, the failure is logged as such.
broken() {  # broken WHAT PATTERN: after SIGHUP with a broken ring
  local what=$1 pattern=$2 mark
  mark=$(wc -l <"$LOG")
  hup_and_wait "$mark"
  tail -n +"$((mark + 1))" "$LOG" >"$TMP/hup.log"
  grep -q "SIGHUP: key ring not reloaded (the previous keys stay): .*$pattern" "$TMP/hup.log" &&
    ok "$what: logged as not reloaded" || fail "$what: log: $(cat "$TMP/hup.log")"
  grep -q 'key ring and clients reloaded' "$TMP/hup.log" && fail "$what: log claims a reload" ||
    ok "$what: no claim of a reload"
  grep -q 'SIGHUP: only the clients reloaded' "$TMP/hup.log" && ok "$what: summary names what did reload" ||
    fail "$what: summary: $(cat "$TMP/hup.log")"
  [[ $(jwks_kids) == "$jwks2" ]] && ok "$what: /jwks unchanged" || fail "$what: /jwks now $(jwks_kids)"
  [[ $(cc "$TMP/tokb") == 200 && $(token_kid "$TMP/tokb") == "$next1" ]] &&
    ok "$what: tokens still signed by $next1" || fail "$what: grant: $(cat "$TMP/tokb")"
  kill -0 "$PID" 2>/dev/null && ok "$what: authd still running" || fail "$what: authd died"
}
# A third rotation on disk that the broken states must not let through.
"$A" keys rotate --dir "$K" >/dev/null 2>"$TMP/err" || fail "third rotate: $(cat "$TMP/err")"
active3=$(ring_kid active); next3=$(ring_kid next)
cp "$K/keyring.json" "$TMP/keyring.good"
head -c 40 "$K/keyring.json" >"$K/keyring.tmp" && mv "$K/keyring.tmp" "$K/keyring.json"
broken "truncated keyring.json" 'keyring\.json'
cp "$TMP/keyring.good" "$K/keyring.json"
mv "$K/$active3.pem" "$TMP/active.pem"
broken "missing key file" "$active3\.pem: missing"
mv "$TMP/active.pem" "$K/$active3.pem"

# Repaired: the next SIGHUP loads the ring, the third rotation included.
mark=$(wc -l <"$LOG")
hup_and_wait "$mark"
tail -n +"$((mark + 1))" "$LOG" | grep -q 'SIGHUP: key ring and clients reloaded' &&
  ok "repaired ring: log says reloaded" || fail "log after repair: $(tail -n +"$((mark + 1))" "$LOG")"
jwks3=$(jwks_kids)
[[ $(cc "$TMP/tok3") == 200 && $(token_kid "$TMP/tok3") == "$active3" ]] && has "$jwks3" "$next3" &&
  has "$jwks3" "$next1" && ok "repaired ring serves the third rotation" || fail "after repair: $jwks3 $(cat "$TMP/tok3")"

rc=0
stop_authd || rc=$?
[[ $rc -eq 0 ]] && ok "authd stopped cleanly" || fail "authd exit $rc"
finish "all keys_reload checks passed"
