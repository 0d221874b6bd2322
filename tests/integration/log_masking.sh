#!/usr/bin/env bash
# ID numbers and phone numbers never reach the audit trail or authd's log in clear, in
# whatever spelling the login lookup accepts, against a real authd driven by curl:
#
#  - failed logins (POST /login, the real form) with an ID number and a phone number
#    written with spaces, dashes, full-width digits, a +86 country code;
#  - the same spellings in a request path (the access log line) and given to
#    authctl user check-password (its audit line);
#  - then no line of audit.log or of authd's log holds 11 digits of those numbers in a
#    row once folded as the lookup folds (full-width digits to ASCII, spaces and dashes
#    dropped), and the audit trail records them masked (110101********0011,
#    138****8000).
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
make_tmp logmask
PID=

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
IDN=110101199003070011
PHONE=13800138000
SHAPES=(
  '110101 19900307 0011'
  '110101-19900307-0011'
  '１１０１０１１９９００３０７００１１'
  '１１０１０１　１９９００３０７　００１１'
  '110101–19900307–0011'
  '+86 138 0013 8000'
  '138-0013-8000'
  '１３８－００１３－８０００'
  '+86 (138) 0013.8000'
)

# leaks FILE...: prints each 11-digit window of IDN or PHONE found in FILEs after
# folding (full-width to ASCII; spaces, dashes, NBSP and the like dropped, and the '?'
# the access log shows for a byte it does not print), with where.
leaks() {
  "$PY" - "$IDN" "$PHONE" "$@" <<'EOF'
import sys, unicodedata
secrets, files = sys.argv[1:3], sys.argv[3:]
drop = set("?" " \t\r\v\f\u00a0\u1680\u2028\u2029\u202f\u205f\u2060\u3000\ufeff-\u2212\ufe58\ufe63()."
           "\u200b\u200c\u200d") | {chr(c) for c in range(0x2000, 0x200b)} | {chr(c) for c in range(0x2010, 0x2016)}
def fold(s):
    out = []
    for ch in s:
        if 0xff01 <= ord(ch) <= 0xff5e:
            ch = chr(ord(ch) - 0xfee0)
        if ch in drop:
            continue
        out.append(ch)
    return "".join(out)
windows = {s[i:i + 11] for s in secrets for i in range(len(s) - 10)}
found = 0
for f in files:
    for no, line in enumerate(open(f, encoding="utf-8", errors="replace"), 1):
        folded = fold(line)
        for w in windows:
            if w in folded:
                print(f"{f}:{no}: {w}: {line.strip()[:200]}")
                found += 1
                break
sys.exit(1 if found else 0)
EOF
}

start_authd

# ---- failed logins with every spelling
n0=$(audit_count login.failure)
for shape in "${SHAPES[@]}"; do
  req a GET /login
  tok=$(form_value csrf)
  req a POST /login --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "username=$shape" --data-urlencode "password=not the password"
  [[ $STATUS == 200 ]] || fail "login with '$shape': $STATUS"
done
[[ $(($(audit_count login.failure) - n0)) == "${#SHAPES[@]}" ]] &&
  ok "${#SHAPES[@]} failed logins audited" || fail "login.failure lines: $(($(audit_count login.failure) - n0))"
# ---- the same in request paths (the access log) and through authctl (its audit line)
for shape in '110101-19900307-0011' '138-0013-8000' '+86-138-0013-8000'; do
  req - GET "/login/$shape"
  printf 'wrong\n' | "$AUTHCTL" -d "$S" user check-password "$shape" --password-stdin \
    >/dev/null 2>>"$TMP/ctl.log"
done
# paths with spaces, NBSP, U+3000 (the access log shows such bytes as '?': the number
# must be masked before that, while its separators still join its digits)
for shape in '110101%2019900307%200011' '110101%C2%A019900307%C2%A00011' \
    '%2B86%E3%80%80138%E3%80%800013%E3%80%808000'; do
  req - GET "/login/$shape"
done

# ---- nothing in clear
if out=$(leaks "$S/audit.log"); then
  ok "audit.log: no 11 digits of the ID number or the phone in a row, in any spelling"
else
  fail "audit.log holds the number in clear:"; echo "$out" | head -10
fi
if out=$(leaks "$TMP/authd.log"); then
  ok "authd log: no 11 digits of the ID number or the phone in a row, in any spelling"
else
  fail "authd log holds the number in clear:"; echo "$out" | head -10
fi
grep -q 'path=/login/110101\*\*\*\*\*\*\*\*0011 status=' "$TMP/authd.log" &&
  ok "access log: the path's ID number masked in folded form" ||
  fail "access log: no masked path: $(grep 'path=/login/1' "$TMP/authd.log" | head -2)"
[[ $(audit_count login.failure '"login":"110101********0011"') == 5 ]] &&
  ok "audit: the ID number spellings recorded as 110101********0011" ||
  fail "audit: $(audit_count login.failure '"login":"110101********0011"') ID number lines masked as 110101********0011"
[[ $(audit_count login.failure '"login":"138****8000"') == 4 ]] &&
  ok "audit: the phone spellings recorded as 138****8000" ||
  fail "audit: $(audit_count login.failure '"login":"138****8000"') phone lines masked as 138****8000"
[[ $(audit_count login.failure '"via":"authctl"' '"identifier":"138****8000"') == 2 ]] &&
  ok "authctl check-password: the identifier masked" ||
  fail "authctl check-password lines: $(grep -F '"via":"authctl"' "$S/audit.log" | head -3)"

kill -0 "$PID" 2>/dev/null && ok "authd still running" || fail "authd died"
"$AUTHCTL" audit verify "$S/audit.log" >/dev/null 2>&1 && ok "audit chain intact" || fail "audit verify"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
if ((FAILS)); then
  show_logs
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "log_masking: all checks passed"
