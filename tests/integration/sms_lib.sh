# Helpers of the scripts about SMS codes (sms_login.sh, sms_register.sh, sms_gateway.sh),
# sourced after lib.sh. OUT is the file driver's file (sms.file) where one is used.

# sms_post JAR ACTION PHONE [CODE]: the form of /login/sms as a browser fills it (GET,
# then POST with its csrf); STATUS, BODY... of the POST.
sms_post() {
  local tok
  req "$1" GET '/login/sms?next=%2Faccount'
  tok=$(form_value csrf)
  req "$1" POST /login/sms --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "action=$2" --data-urlencode "phone=$3" --data-urlencode "code=${4:-}"
}

# lines PHONE: messages written to OUT for PHONE so far.
lines() {
  if [[ -f $OUT ]]; then grep -c "\"phone\":\"$1\"" "$OUT" || true; else echo 0; fi
}

# last_code PHONE N: the code of the last message to PHONE in OUT, once there are N
# (waits up to 5 s: a login's message leaves from the worker pool).
last_code() {
  local _
  for _ in $(seq 1 100); do
    (($(lines "$1") >= $2)) && break
    sleep 0.05
  done
  grep "\"phone\":\"$1\"" "$OUT" 2>/dev/null | tail -1 | grep -oE '[0-9]{6}' | tail -1
}

# reg_post JAR ACTION ID PHONE PASSWORD [CODE]: the registration form as a browser fills
# it (GET /register, then POST): ACTION send_code asks for a code, "" registers.
reg_post() {
  local tok
  req "$1" GET '/register?next=%2Faccount'
  tok=$(form_value csrf)
  reg_consent
  req "$1" POST /register --data-urlencode "csrf=$tok" --data-urlencode "next=/account" \
    --data-urlencode "action=$2" --data-urlencode "name=注册人" \
    --data-urlencode "id_number=$3" --data-urlencode "phone=$4" \
    --data-urlencode "password=$5" --data-urlencode "password2=$5" \
    --data-urlencode "sms_code=${6:-}" "${REG_CONSENT[@]}"
}

# sms_compare WHAT KNOWN_FILE UNKNOWN_FILE [KNOWN_LABEL UNKNOWN_LABEL]: prints the median
# times (ms, one a line in each file) of requests about something registered and about
# something unknown; fails the check when one median is over 3 times the other, both
# taken as at least 10 ms (loopback times of a few ms swing with the disk's fsyncs).
sms_compare() {
  local out k u v kl=${4:-known phone} ul=${5:-unknown phone}
  out=$("$PY" - "$2" "$3" <<'EOF'
import statistics, sys
k = statistics.median(float(x) for x in open(sys.argv[1]))
u = statistics.median(float(x) for x in open(sys.argv[2]))
lo, hi = max(min(k, u), 10.0), max(k, u)
print(f"{k:.2f} {u:.2f} {'ok' if hi <= 3 * lo else 'bad'}")
EOF
)
  read -r k u v <<<"$out"
  echo "timing: $1: $kl median ${k} ms, $ul median ${u} ms"
  [[ $v == ok ]] && ok "$1: $kl and $ul take alike" || fail "$1: $kl ${k} ms vs $ul ${u} ms"
}
