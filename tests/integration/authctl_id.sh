#!/usr/bin/env bash
# authctl id check through the real binary: one JSON object per value (checked field by
# field with node), the exit codes (0 all valid, 1 any invalid, 2 usage), values from
# stdin with '-'.
set -u
. "$(dirname "$0")/lib.sh"
BUILD=${YH_BUILD:-build}
AUTHCTL=$BUILD/authctl/authctl
make_tmp

if [[ ! -x $AUTHCTL ]]; then
  echo "FAIL: $AUTHCTL not built"
  exit 1
fi

# run NAME WANT_RC ARGS...: runs authctl id check with ARGS, output in $TMP/out.
run() {
  local name=$1 want=$2 rc
  shift 2
  timeout 20 "$AUTHCTL" id "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  rc=$?
  if ((rc != want)); then
    fail "$name: exit $rc, want $want: $(head -3 "$TMP/out" "$TMP/err")"
    return 1
  fi
  return 0
}

# expect_json NAME LINE_NO JS_CONDITION: line LINE_NO (1-based) of $TMP/out parses as
# JSON (exactly the listed keys when the condition says so) and satisfies the condition
# over the object o.
expect_json() {
  local name=$1 line=$2 cond=$3 text
  text=$(sed -n "${line}p" "$TMP/out")
  if node -e '
    const o = JSON.parse(process.argv[1]);
    const ok = (function (o) { return eval(process.argv[2]); })(o);
    process.exit(ok ? 0 : 1);
  ' "$text" "$cond" 2>"$TMP/nodeerr"; then
    ok "$name"
  else
    fail "$name: line $line = $text; wanted $cond $(cat "$TMP/nodeerr")"
  fi
}

KEYS_RES='["input","valid","kind","canonical","reason","birth_date","sex"]'
KEYS_USCC='["input","valid","kind","canonical","reason","org_code"]'
KEYS_BASE='["input","valid","kind","canonical","reason"]'

# 1. Valid values of each kind: exit 0, every field.
if run "valid values" 0 check 110101900307001 11010519491231002X 440524188001010014 \
    91350100M000100Y43 12345678-8 "'1101 0519 4912 3100 2x" "９１３５０１００Ｍ０００１００Ｙ４３"; then
  ok "valid values exit 0"
  [[ $(grep -c '' "$TMP/out") -eq 7 ]] && ok "one line per value" || fail "line count: $(cat "$TMP/out")"
  expect_json "15-digit upgrade" 1 "JSON.stringify(Object.keys(o)) === '$KEYS_RES' &&
    o.input === '110101900307001' && o.valid === true && o.kind === 'resident_id' &&
    o.canonical === '110101199003070011' && o.reason === null &&
    o.birth_date === '1990-03-07' && o.sex === 'M'"
  expect_json "GB 11643 example 1" 2 "o.valid && o.canonical === '11010519491231002X' &&
    o.birth_date === '1949-12-31' && o.sex === 'F'"
  expect_json "GB 11643 example 2" 3 "o.valid && o.birth_date === '1880-01-01' && o.sex === 'M'"
  expect_json "GB 32100 example" 4 "JSON.stringify(Object.keys(o)) === '$KEYS_USCC' &&
    o.valid && o.kind === 'uscc' && o.canonical === '91350100M000100Y43' &&
    o.org_code === 'M000100Y4' && o.reason === null"
  expect_json "organization code" 5 "JSON.stringify(Object.keys(o)) === '$KEYS_BASE' &&
    o.valid && o.kind === 'org_code' && o.canonical === '123456788'"
  expect_json "folded input" 6 "o.valid && o.input === \"'1101 0519 4912 3100 2x\" &&
    o.canonical === '11010519491231002X'"
  expect_json "full-width input" 7 "o.valid && o.kind === 'uscc' &&
    o.input === '９１３５０１００Ｍ０００１００Ｙ４３' && o.canonical === '91350100M000100Y43'"
fi

# 2. Invalid values: exit 1, the reason for each, canonical null, no extra fields.
if run "invalid values" 1 check 110105194912310021 110105194902300020 110105209901010020 \
    200105194912310021 1101051949123100 11010519491231002A 91350100M000100Y44 \
    95350100M000100Y4N 91350100M000100Y56 1.10105E+17 12345678-9 " - "; then
  ok "invalid values exit 1"
  i=0
  for want in "resident_id bad_checksum" "resident_id bad_birthdate" \
      "resident_id future_birthdate" "resident_id bad_region" "null bad_length" \
      "resident_id bad_charset" "uscc bad_checksum" "uscc bad_registration" "uscc bad_org_code" \
      "resident_id scientific_notation" "org_code bad_checksum" "null empty"; do
    i=$((i + 1))
    kind=${want% *}
    reason=${want#* }
    [[ $kind == null ]] && kjs=null || kjs="'$kind'"
    expect_json "invalid #$i: $reason" "$i" "JSON.stringify(Object.keys(o)) === '$KEYS_BASE' &&
      o.valid === false && o.kind === $kjs && o.canonical === null && o.reason === '$reason'"
  done
fi

# 3. One invalid value among valid ones still exits 1.
if run "mixed" 1 check 11010519491231002X 11010519491231002Y; then
  ok "mixed values exit 1"
  expect_json "mixed: first valid" 1 "o.valid === true"
  expect_json "mixed: second invalid" 2 "o.valid === false"
fi

# 4. Values from stdin: blank lines skipped, CRLF accepted.
printf '440524188001010014\r\n\n91350100M000100Y43\n' |
  timeout 20 "$AUTHCTL" id check - >"$TMP/out" 2>"$TMP/err"
rc=$?
if ((rc == 0)) && [[ $(grep -c '' "$TMP/out") -eq 2 ]]; then
  ok "stdin values exit 0"
  expect_json "stdin line 1" 1 "o.valid && o.input === '440524188001010014'"
  expect_json "stdin line 2" 2 "o.valid && o.kind === 'uscc'"
else
  fail "stdin: exit $rc: $(cat "$TMP/out" "$TMP/err")"
fi
printf '110105194912310021\n' | timeout 20 "$AUTHCTL" id check - >"$TMP/out" 2>&1
rc=$?
((rc == 1)) && ok "stdin invalid exit 1" || fail "stdin invalid: exit $rc"

# 5. Bytes that are not UTF-8 still give a JSON line.
if run "not UTF-8" 1 check "$(printf '1101\xff')"; then
  expect_json "not UTF-8: JSON with U+FFFD" 1 "o.valid === false &&
    o.input === '1101\ufffd' && o.reason === 'bad_charset'"
fi

# 6. Usage errors: exit 2 and one line on stderr.
for args in "" "check" "verify 11010519491231002X"; do
  # shellcheck disable=SC2086
  timeout 20 "$AUTHCTL" id $args >"$TMP/out" 2>"$TMP/err" </dev/null
  rc=$?
  if ((rc == 2)) && [[ $(grep -c '' "$TMP/err") -eq 1 && ! -s $TMP/out ]]; then
    ok "usage error 'id $args' exit 2"
  else
    fail "usage error 'id $args': exit $rc, stderr: $(cat "$TMP/err")"
  fi
done

finish "all authctl id checks passed"
