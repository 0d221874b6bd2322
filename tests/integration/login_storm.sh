#!/usr/bin/env bash
# A burst of password logins larger than the workers can hash within workers.max_wait:
# the logins that would wait longer get 503 at once, a page with Retry-After, instead of
# queuing for seconds; the others log in; a client_credentials grant during the burst
# is answered (token requests never queue behind password hashing); after the burst a
# login works again. One worker, a wait bound of 1 s and a slow argon2id cost make the
# burst deterministic: twenty logins at once, each hash a few hundred ms.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd

make_tmp login-storm
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CONF=$TMP/authd.conf
N=20
USER_ID=$(id_number 11010519491231002)
PW='Login storm password 2026!'
SECRET=a-service-secret-for-the-login-storm-0001

cat >"$CONF" <<CONF
state_dir = $S
http.listen = 127.0.0.1:$PORT
workers.threads = 1
workers.max_wait = 1s
password.argon2_m_cost_kib = 65536
password.argon2_t_cost = 4
CONF
ctlc() { "$AUTHCTL" -c "$CONF" "$@" 2>>"$TMP/ctl.log"; }
printf '%s\n' "$PW" | ctlc user add --id-number "$USER_ID" --name 排队甲 --password-stdin \
  >/dev/null || die "user add: $(tail -3 "$TMP/ctl.log")"
printf '%s\n' "$SECRET" | ctlc client add svc --secret-stdin --grant client_credentials \
  --scope openid >/dev/null || die "client add: $(tail -3 "$TMP/ctl.log")"
start_authd -c "$CONF"

# One login first: the workers learn how long a hash takes.
login_form warm "$USER_ID" "$PW"
[[ $STATUS == 303 ]] || die "the first login: $STATUS"

# Twenty browsers, each with its login page and csrf token, post at the same moment.
for i in $(seq 1 $N); do
  req "b$i" GET '/login?next=%2Faccount'
  form_value csrf >"$TMP/csrf$i"
done
CURLS=()
for i in $(seq 1 $N); do
  curl -s --max-time 60 -o "$TMP/body$i" -D "$TMP/head$i" \
    -w '%{http_code} %{time_total}\n' -b "$TMP/b$i.jar" -c "$TMP/b$i.jar" \
    --data-urlencode "csrf=$(cat "$TMP/csrf$i")" --data-urlencode "next=/account" \
    --data-urlencode "username=$USER_ID" --data-urlencode "password=$PW" \
    "$BASE/login" >"$TMP/res$i" &
  CURLS+=($!)
done
# A token request in the middle of the burst.
sleep 0.2
CC=$(curl -s --max-time 30 -o "$TMP/cc" -w '%{http_code} %{time_total}' -u "svc:$SECRET" \
  -d grant_type=client_credentials "$BASE/token") || true
wait "${CURLS[@]}"

ok303=0 busy=0 other=0 busy_time= ok_time=
for i in $(seq 1 $N); do
  read -r code t <"$TMP/res$i"
  case $code in
    303) ok303=$((ok303 + 1)); ok_time+=" $t" ;;
    503)
      busy=$((busy + 1)); busy_time+=" $t"
      ra=$( { grep -i '^Retry-After: ' "$TMP/head$i" || true; } | tr -d '\r' | sed 's/^[^:]*: //')
      if [[ ! $ra =~ ^[1-9][0-9]*$ ]]; then
        fail "a refused login has no Retry-After in seconds (got '$ra')"
      fi
      grep -qi '^Content-Type: text/html' "$TMP/head$i" ||
        fail "a refused login is not a page for a person"
      ;;
    *) other=$((other + 1)); fail "a login in the burst answered $code" ;;
  esac
done
echo "burst of $N logins: $ok303 logged in (s:$ok_time), $busy refused with 503 (s:$busy_time)"
((busy >= 1)) && ok "logins beyond the wait bound are refused with 503 and Retry-After" ||
  fail "no login of the burst was refused: the queue let them all wait"
((ok303 >= 1)) && ok "the logins within the bound are answered" || fail "no login of the burst got through"
read -r cc_code cc_time <<<"$CC"
[[ $cc_code == 200 ]] && ok "a client_credentials grant during the burst: 200 in ${cc_time}s" ||
  fail "client_credentials during the burst: $CC"

# After the burst the queue drains and a login works again.
sleep 1
login_form after "$USER_ID" "$PW"
[[ $STATUS == 303 ]] && ok "a login after the burst works" || fail "a login after the burst: $STATUS"

finish "login_storm: all checks passed"
