#!/usr/bin/env bash
# The CAS server of a real authd, driven by curl as a browser and as the apps' servers,
# checked against the XML and JSON of the validation endpoints:
#
#  - /cas/login with a service no app registered (also one that only shares a prefix's
#    characters, a repeated service) is an error page, never a redirect; gateway=true
#    without a session goes back to the service without a ticket;
#  - without a session /cas/login goes through the login form and back, and ends at
#    the service with ticket=ST-...; with the session, another service (another app) gets
#    its ticket without a password (single sign-on), and a service with its own query
#    gets "&ticket=";
#  - /cas/serviceValidate answers the pairwise subject (each app its own), /cas/p3/
#    serviceValidate with the attributes (name, loa; the ID number only for the app
#    allowed it), format=JSON the same as JSON, /cas/validate "yes\nUSER\n" / "no\n";
#  - a ticket is good once (a replay is INVALID_TICKET), a ticket of service A presented
#    with service B is INVALID_SERVICE and is used up by it, a ticket past
#    cas.ticket_lifetime (3 s here) is INVALID_TICKET, a missing parameter is
#    INVALID_REQUEST;
#  - renew=true with a session asks for the password again (force=1), then issues a
#    ticket that validates with renew=true; a single-sign-on ticket validated with
#    renew=true is INVALID_TICKET; renew=true without a session: one login, then the
#    ticket; a marker made without a session in another browser counts for nothing;
#    renew where another person logs in takes one login;
#  - every validation is in the audit trail as cas.validate;
#  - /cas/logout ends the session (the cookie opens nothing after) and goes to the service
#    when an app registers it, else shows the logged-out page; single logout: each
#    service the session got a ticket for (validated or not) receives a POST
#    logoutRequest=<samlp:LogoutRequest> whose SessionIndex is that ticket (a python3
#    receiver), recorded as logout.delivery with protocol "cas"; an operator's
#    `authctl user logout` sends it too.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v "$PY" >/dev/null || { echo "FAIL: python3 not installed"; exit 1; }

make_tmp cas
PID=
PIDS_TO_STOP="PID RPID"
LOGS="authd ctl receiver"
S=$TMP/state
PORT=$(free_port)
RPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
ID=$(id_number 11010119900307123)
PW='Cas Protocol 2026!'
SVC_A=http://127.0.0.1:9/app/            # under the prefix of app "legacy"
SVC_B=http://127.0.0.1:9/other           # the exact service of app "other"
SVC_ID=http://127.0.0.1:9/idapp          # app "idapp", allowed the ID number

{ echo "state_dir = $S"
  echo "http.listen = 127.0.0.1:$PORT"
  echo "cas.ticket_lifetime = 3s"; } >"$TMP/authd.conf"
start_authd -c "$TMP/authd.conf"
ctl_or_die client add legacy --cas-service-prefix "$SVC_A"
ctl_or_die client add other --cas-service "$SVC_B"
ctl_or_die client add idapp --cas-service "$SVC_ID" --scope openid profile yh_id_number \
  --allow-id-number
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$ID" --name 王小明 --password-stdin
sleep 1.2   # the registry is re-read at most once a second

# fail_code: the code of the last body's authenticationFailure ("" when none).
fail_code() {
  "$PY" - "$TMP/body" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
e = ET.parse(sys.argv[1]).getroot().find(".//{http://www.yale.edu/tp/cas}authenticationFailure")
print("" if e is None else e.get("code", ""))
PYEOF
}
# validate PATH SERVICE TICKET [more query]: GET PATH?service=..&ticket=.. as an app.
validate() { fetch "$BASE$1?service=$(enc "$2")&ticket=$(enc "$3")${4:-}"; }

# cas_login JAR SERVICE [more query]: /cas/login; TICKET gets the ticket of a redirect to
# SERVICE ("" when none).
cas_login() {
  req "$1" GET "/cas/login?service=$(enc "$2")${3:-}"
  TICKET=
  if [[ $STATUS == 302 && $LOCATION == "$2"[?\&]ticket=ST-* ]]; then TICKET=${LOCATION##*ticket=}; fi
}

# ---- services no app registered: a page, never a redirect
for bad in "http://127.0.0.1:9/app-other" "http://127.0.0.1:9/app" "http://127.0.0.1:9/app/../x" \
    "http://evil@127.0.0.1:9/app/" "http://127.0.0.1:99/app/" "https://127.0.0.1:9/app/"; do
  req b1 GET "/cas/login?service=$(enc "$bad")"
  [[ $STATUS == 400 && -z $LOCATION ]] && ok "unregistered service $bad: page 400" ||
    fail "unregistered service $bad: $STATUS '$LOCATION'"
done
req b1 GET "/cas/login?service=$(enc "$SVC_A")&service=$(enc "$SVC_A")"
[[ $STATUS == 400 && -z $LOCATION ]] && ok "a repeated service: page 400" || fail "repeated: $STATUS"

# ---- gateway without a session: back to the service, no ticket
cas_login b1 "$SVC_A" "&gateway=true"
[[ $STATUS == 302 && $LOCATION == "$SVC_A" ]] && ok "gateway without a session: to the service, no ticket" ||
  fail "gateway: $STATUS '$LOCATION'"

# ---- no session: the login form and back
cas_login b1 "$SVC_A"
[[ $STATUS == 302 && $LOCATION == /login\?next=%2Fcas%2Flogin%3Fservice%3D* ]] &&
  ok "no session: to /login with next=/cas/login?..." || fail "no session: $STATUS '$LOCATION'"
through_login b1 "$ID" "$PW"
[[ $STATUS == 303 && $LOCATION == /cas/login\?* ]] && ok "login: back to /cas/login" ||
  fail "login: $STATUS '$LOCATION'"
req b1 GET "$LOCATION"
T1=
[[ $STATUS == 302 && $LOCATION == "$SVC_A?ticket=ST-"* ]] && T1=${LOCATION##*ticket=}
[[ ${#T1} == 67 && $T1 =~ ^ST-[A-Za-z0-9-]+$ ]] && ok "a ticket ST-... for the service, in the CAS alphabet" || fail "no ticket: $STATUS '$LOCATION'"

# ---- 2.0 validation, once
validate /cas/serviceValidate "$SVC_A" "$T1"
USER_A=$(xml_text user)
[[ $STATUS == 200 && ${#USER_A} == 43 && $CTYPE == application/xml* ]] &&
  ok "serviceValidate: the user is a pairwise subject ($USER_A)" || fail "serviceValidate: $STATUS $BODY"
grep -q "cas:attributes" "$TMP/body" && fail "2.0 answer carries attributes" || ok "2.0: no attributes"
validate /cas/serviceValidate "$SVC_A" "$T1"
[[ $(fail_code) == INVALID_TICKET ]] && ok "replay: INVALID_TICKET" || fail "replay: $BODY"

# ---- single sign-on: another app without a password; each app its own subject
cas_login b1 "$SVC_B"
[[ -n $TICKET ]] && ok "SSO: a ticket for another app without a password" || fail "SSO: $STATUS '$LOCATION'"
validate /cas/p3/serviceValidate "$SVC_B" "$TICKET"
USER_B=$(xml_text user)
[[ -n $USER_B && $USER_B != "$USER_A" ]] && ok "pairwise: another subject for another app" ||
  fail "pairwise: '$USER_B' vs '$USER_A' $BODY"
[[ $(xml_text name) == 王小明 && $(xml_text loa) == urn:yihao:loa:* && $(xml_text sub) == "$USER_B" ]] &&
  ok "3.0 attributes: name, loa, sub" || fail "3.0 attributes: $BODY"
[[ -z $(xml_text yh_id_number) ]] && ok "no ID number for an app not allowed it" || fail "ID number leaked: $BODY"
[[ $(xml_text isFromNewLogin) == false ]] && ok "isFromNewLogin false on single sign-on" || fail "isFromNewLogin: $BODY"

cas_login b1 "$SVC_ID"
validate /cas/p3/serviceValidate "$SVC_ID" "$TICKET"
[[ $(xml_text yh_id_number) == "$ID" ]] && ok "the ID number for the app allowed it" || fail "idapp: $BODY"

# ---- the service's own query: "&ticket=", and the ticket bound to the whole string
SVC_Q="${SVC_A}page.php?a=1&b=%22x%22"
cas_login b1 "$SVC_Q"
[[ -n $TICKET && $LOCATION == "$SVC_Q&ticket=ST-"* ]] && ok "a service with a query: &ticket=" ||
  fail "query service: $STATUS '$LOCATION'"
validate /cas/serviceValidate "${SVC_A}page.php?a=1" "$TICKET"
[[ $(fail_code) == INVALID_SERVICE ]] && ok "the same page, another query: INVALID_SERVICE" || fail "query mismatch: $BODY"

# ---- a ticket of A validated for B: INVALID_SERVICE, and used up
cas_login b1 "$SVC_A"
validate /cas/serviceValidate "$SVC_B" "$TICKET"
[[ $(fail_code) == INVALID_SERVICE ]] && ok "ticket of A at B: INVALID_SERVICE" || fail "A at B: $BODY"
validate /cas/serviceValidate "$SVC_A" "$TICKET"
[[ $(fail_code) == INVALID_TICKET ]] && ok "then at A: INVALID_TICKET (used up)" || fail "A after B: $BODY"

# ---- expiry
cas_login b1 "$SVC_A"
sleep 4
validate /cas/serviceValidate "$SVC_A" "$TICKET"
[[ $(fail_code) == INVALID_TICKET ]] && ok "past cas.ticket_lifetime: INVALID_TICKET" || fail "expired: $BODY"

# ---- missing parameters, bad tickets
fetch "$BASE/cas/serviceValidate?service=$(enc "$SVC_A")"
[[ $(fail_code) == INVALID_REQUEST ]] && ok "no ticket: INVALID_REQUEST" || fail "no ticket: $BODY"
validate /cas/serviceValidate "$SVC_A" "ST-<&>\"'"
[[ $(fail_code) == INVALID_TICKET ]] && ok "a malformed ticket: INVALID_TICKET" || fail "malformed: $BODY"

# ---- 1.0 and JSON
cas_login b1 "$SVC_A"
validate /cas/validate "$SVC_A" "$TICKET"
[[ $BODY == "yes"$'\n'"$USER_A" ]] && ok "1.0: yes and the user" || fail "1.0: '$BODY'"
validate /cas/validate "$SVC_A" "$TICKET"
[[ $BODY == "no" ]] && ok "1.0 replay: no" || fail "1.0 replay: '$BODY'"
cas_login b1 "$SVC_A"
validate /cas/p3/serviceValidate "$SVC_A" "$TICKET" "&format=JSON"
got=$("$PY" -c 'import sys,json;s=json.load(open(sys.argv[1]))["serviceResponse"]["authenticationSuccess"];print(s["user"], s["attributes"]["name"])' "$TMP/body" 2>&1)
[[ $got == "$USER_A 王小明" ]] && ok "format=JSON: user and attributes" || fail "JSON: $got $BODY"
validate /cas/serviceValidate "$SVC_A" "$TICKET" "&format=JSON"
got=$("$PY" -c 'import sys,json;print(json.load(open(sys.argv[1]))["serviceResponse"]["authenticationFailure"]["code"])' "$TMP/body" 2>&1)
[[ $got == INVALID_TICKET ]] && ok "format=JSON failure: INVALID_TICKET" || fail "JSON failure: $got"

# ---- renew
cas_login b1 "$SVC_A"
validate /cas/serviceValidate "$SVC_A" "$TICKET" "&renew=true"
[[ $(fail_code) == INVALID_TICKET ]] && ok "an SSO ticket validated with renew=true: INVALID_TICKET" ||
  fail "renew validation of an SSO ticket: $BODY"
cas_login b1 "$SVC_A" "&renew=true"
[[ $STATUS == 302 && $LOCATION == /login\?* && $LOCATION == *force=1* ]] &&
  ok "renew with a session: the password again (force=1)" || fail "renew: $STATUS '$LOCATION'"
through_login b1 "$ID" "$PW"
[[ $STATUS == 303 && $LOCATION == /cas/login\?*renew=true*yh_reauth=* ]] && ok "renew login: back with the marker" ||
  fail "renew login: $STATUS '$LOCATION'"
RENEW_NEXT=$BASE$LOCATION
req b1 GET "$LOCATION"
TICKET=
[[ $STATUS == 302 && $LOCATION == "$SVC_A?ticket=ST-"* ]] && TICKET=${LOCATION##*ticket=}
validate /cas/p3/serviceValidate "$SVC_A" "$TICKET" "&renew=true"
[[ $(xml_text user) == "$USER_A" && $(xml_text isFromNewLogin) == true ]] &&
  ok "renew: a ticket from the new login validates with renew=true" || fail "renew ticket: $BODY"
# a marker is for its request: carried over to another service it counts for nothing
mark=$(qparam "$RENEW_NEXT" yh_reauth)
cas_login b1 "$SVC_B" "&renew=true&yh_reauth=$(enc "$mark")"
[[ $STATUS == 302 && $LOCATION == /login\?*force=1* ]] &&
  ok "renew for another service with the first one's marker: the password again" ||
  fail "marker carried over: $STATUS '$LOCATION'"

# ---- gateway with a session: a ticket
cas_login b1 "$SVC_A" "&gateway=true"
[[ -n $TICKET ]] && ok "gateway with a session: a ticket" || fail "gateway with a session: $STATUS '$LOCATION'"

# ---- logout and single logout
start_receiver "$RPORT" "$TMP/slo.txt"
SVC_S1=http://127.0.0.1:$RPORT/slo/one
SVC_S2=http://127.0.0.1:$RPORT/slo2
ctl_or_die client add slo1 --cas-service-prefix "http://127.0.0.1:$RPORT/slo/"
ctl_or_die client add slo2 --cas-service "$SVC_S2"
ID2=$(id_number 11010119851111123)
UID2=$(printf '%s\n' "$PW" | ctl user add --id-number "$ID2" --name 李四 --password-stdin) ||
  die "user add"
sleep 1.2
# slo_index N: the SessionIndex of the Nth body the receiver got (after its XML checks).
slo_index() {
  "$PY" - "$TMP/slo.txt" "$1" <<'PYEOF'
import sys, urllib.parse as u, xml.etree.ElementTree as ET
line = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]) - 1]
q = u.parse_qs(line, strict_parsing=True)
assert list(q) == ["logoutRequest"] and len(q["logoutRequest"]) == 1, q
r = ET.fromstring(q["logoutRequest"][0])
P = "{urn:oasis:names:tc:SAML:2.0:protocol}"
A = "{urn:oasis:names:tc:SAML:2.0:assertion}"
assert r.tag == P + "LogoutRequest" and r.get("Version") == "2.0", r.tag
assert r.get("ID") and r.get("IssueInstant", "").endswith("Z"), r.attrib
assert r.find(A + "NameID").text == "@NOT_USED@"
print(r.find(P + "SessionIndex").text)
PYEOF
}
# slo_wait N: waits up to 10 s until the receiver has N bodies.
slo_wait() {
  local i
  for i in $(seq 100); do [[ $(wc -l <"$TMP/slo.txt") -ge $1 ]] && return 0; sleep 0.1; done
  return 1
}
cas_login b2 "$SVC_S1"
through_login b2 "$ID" "$PW"
req b2 GET "$LOCATION"
S1T=${LOCATION##*ticket=}
validate /cas/serviceValidate "$SVC_S1" "$S1T"
[[ -n $(xml_text user) ]] && ok "slo1: ticket validated" || fail "slo1 validate: $BODY"
cas_login b2 "$SVC_S2"
S2T=$TICKET                       # never validated: single logout names it all the same
[[ -n $S2T ]] && ok "slo2: a ticket by single sign-on" || fail "slo2: $STATUS '$LOCATION'"
[[ $(wc -l <"$TMP/slo.txt") == 0 ]] && ok "nothing sent before logout" || fail "early SLO: $(cat "$TMP/slo.txt")"
req b2 GET "/cas/logout?service=$(enc "$SVC_S2")"
[[ $STATUS == 302 && $LOCATION == "$SVC_S2" ]] && ok "/cas/logout: to the registered service" ||
  fail "/cas/logout: $STATUS '$LOCATION'"
slo_wait 2 && ok "single logout: two LogoutRequests" || fail "single logout: $(cat "$TMP/slo.txt")"
got="$(slo_index 1) $(slo_index 2)"
[[ $got == "$S1T $S2T" || $got == "$S2T $S1T" ]] && ok "SessionIndex: each ticket the session issued" ||
  fail "SessionIndex: '$got' want $S1T $S2T"
sleep 0.3
[[ $(audit_count logout.delivery '"protocol":"cas"' '"status":"delivered"') == 2 ]] &&
  ok "audit: two CAS deliveries" || fail "audit: $(grep logout.delivery "$S/audit.log")"
[[ $(audit_count logout '"client":"slo2"') == 1 ]] && ok "audit: the logout line names the app" ||
  fail "audit logout: $(grep '"event":"logout"' "$S/audit.log")"
cas_login b2 "$SVC_S1"
[[ $STATUS == 302 && $LOCATION == /login\?* ]] && ok "after /cas/logout: the cookie opens nothing" ||
  fail "after logout: $STATUS '$LOCATION'"
req b2 GET "/cas/logout?service=$(enc "http://127.0.0.1:9/unregistered")"
[[ $STATUS == 200 && -z $LOCATION ]] && ok "/cas/logout with an unregistered service: a page" ||
  fail "unregistered logout: $STATUS '$LOCATION'"
req b2 GET "/cas/logout?service=a&service=b"
[[ $STATUS == 400 ]] && ok "/cas/logout with a repeated service: 400" || fail "repeated: $STATUS"
# an operator's logout sends it too
cas_login b3 "$SVC_S1"
through_login b3 "$ID2" "$PW"
req b3 GET "$LOCATION"
S3T=${LOCATION##*ticket=}
[[ $S3T == ST-* ]] && ok "second person: a ticket" || fail "b3: $STATUS '$LOCATION'"
ctl user logout "$UID2" >/dev/null || fail "authctl user logout"
slo_wait 3 && [[ $(slo_index 3) == "$S3T" ]] && ok "authctl user logout: single logout too" ||
  fail "operator SLO: $(cat "$TMP/slo.txt")"

# ---- renew and markers made without a session (last: new sessions of the person)
# a marker made without a session in another browser (someone's own, b9), passed to a
# browser that logged in since (b2): bound to b9's cookie, it counts for nothing in b2
cas_login b9 "$SVC_B" "&renew=true"
mark=$(qparam "$BASE$(qparam "$BASE$LOCATION" next)" yh_reauth)
[[ $mark == *.* ]] || fail "no marker in the detour without a session: '$LOCATION'"
login_form b2 "$ID" "$PW"
[[ $STATUS == 303 ]] || fail "b2 login: $STATUS"
cas_login b2 "$SVC_B" "&renew=true&yh_reauth=$(enc "$mark")"
[[ -z $TICKET && $STATUS == 302 && $LOCATION == /login\?*force=1* ]] &&
  ok "renew with another browser's marker made without a session: the password again" ||
  fail "another browser's marker honoured: $STATUS '$LOCATION'"
# ... and in the browser it was made in, the login it leads to is the renewal
cas_login b9 "$SVC_B" "&renew=true"
through_login b9 "$ID" "$PW"
req b9 GET "$LOCATION"
[[ $STATUS == 302 && $LOCATION == "$SVC_B?ticket=ST-"* ]] &&
  ok "renew without a session: one login, then the ticket" || fail "renew without a session: $STATUS '$LOCATION'"
# ... and renew where another person takes the login page (a counter's browser): one
# login, the new person's ticket, from a new login
cas_login b9 "$SVC_A" "&renew=true"
[[ $STATUS == 302 && $LOCATION == /login\?*force=1* ]] || fail "renew in b9: $STATUS '$LOCATION'"
through_login b9 "$ID2" "$PW"
req b9 GET "$LOCATION"
TICKET=
[[ $STATUS == 302 && $LOCATION == "$SVC_A?ticket=ST-"* ]] && TICKET=${LOCATION##*ticket=}
validate /cas/p3/serviceValidate "$SVC_A" "$TICKET" "&renew=true"
[[ -n $TICKET && -n $(xml_text user) && $(xml_text user) != "$USER_A" && $(xml_text name) == 李四 &&
  $(xml_text isFromNewLogin) == true ]] &&
  ok "renew where another person logs in: one login, then that person's ticket" ||
  fail "renew with a change of person: $STATUS '$LOCATION' $BODY"

# ---- the audit trail
n=$(audit_count cas.validate)
[[ $n -ge 15 && $(audit_count cas.validate INVALID_SERVICE) -ge 2 && $(audit_count cas.validate '"result":"success"') -ge 6 ]] &&
  ok "audit: $n cas.validate lines" || fail "audit: $n lines"

check_healthz "authd still answers"
no_errors_in "no errors in authd's log" "$TMP/authd.log"
finish "cas_protocol: all checks passed"
