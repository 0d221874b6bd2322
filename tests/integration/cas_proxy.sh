#!/usr/bin/env bash
# CAS proxying and method=POST on a real authd, the apps' servers played by curl and
# the proxy callback by a python3 https server on 127.0.0.1 whose certificate comes
# from a test CA made here with openssl (authd trusts it through cas.proxy_ca_file):
#
#  - a service ticket validated with a registered https pgtUrl: the callback gets
#    pgtIou and pgtId, the answer carries the same PGTIOU-...; /cas/proxy turns the PGT
#    into PT-... for a service whose app accepts proxy tickets; the PT validates at
#    /cas/proxyValidate and /cas/p3/proxyValidate (format=JSON too) with the chain in
#    <cas:proxies>, once; /cas/serviceValidate refuses a PT (INVALID_TICKET);
#  - a proxied app passing its own pgtUrl: a chain of two, most recent first;
#  - no PGT (validation still a success, no <cas:proxyGrantingTicket>) for an http://
#    pgtUrl, an unregistered one (also one that only extends a registered one), and a
#    callback answering 500 or signed by a CA authd does not trust; each refusal
#    audited as cas.pgt with its reason;
#  - /cas/proxy errors: INVALID_REQUEST, INVALID_TICKET (unknown PGT), INVALID_SERVICE
#    (unregistered target), UNAUTHORIZED_SERVICE (an app that does not accept proxies);
#  - after /cas/logout the PGT gives nothing (INVALID_TICKET);
#  - method=POST: a page whose form POSTs the ticket to the exact service URL, with its
#    one script allowed by hash in the page's CSP; an unknown method: a 400 page;
#  - no ticket value in authd's log or the audit trail.
set -u
: "${YH_BUILD:?}" "${YH_SRCDIR:?}"
. "$(dirname "$0")/lib.sh"
need_authd
command -v "$PY" >/dev/null || { echo "FAIL: python3 not installed"; exit 1; }
command -v openssl >/dev/null || { echo "FAIL: openssl not installed"; exit 1; }

make_tmp casproxy
PID=
CBPID=
BADPID=
PIDS_TO_STOP="PID CBPID BADPID"
LOGS="authd ctl callback"
S=$TMP/state
PORT=$(free_port)
CBPORT=$(free_port)
BADPORT=$(free_port)
BASE=http://127.0.0.1:$PORT
CB=https://127.0.0.1:$CBPORT
ID=$(id_number 11010119900307123)
PW='Cas Proxy 2026!'
SVC_P=http://127.0.0.1:9/portal          # app "portal": proxies
SVC_B=http://127.0.0.1:9/backend         # app "backend": accepts PTs, proxies too
SVC_C=http://127.0.0.1:9/backend2        # app "backend2": accepts PTs
SVC_N=http://127.0.0.1:9/noproxy         # app "noproxy": takes service tickets only

# ---- a test CA, the callback's certificate, and one from a CA authd does not trust
mkcert() {  # mkcert NAME: NAME-ca.pem and NAME.pem/NAME.key for 127.0.0.1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=yihao test CA $1" -keyout "$TMP/$1-ca.key" -out "$TMP/$1-ca.pem" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$TMP/$1.key" -out "$TMP/$1.csr" 2>/dev/null &&
  printf 'subjectAltName=IP:127.0.0.1\n' >"$TMP/$1.ext" &&
  openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/$1-ca.pem" -CAkey "$TMP/$1-ca.key" \
    -CAcreateserial -days 2 -extfile "$TMP/$1.ext" -out "$TMP/$1.pem" 2>/dev/null
}
mkcert cb || die "openssl: the callback's certificate"
mkcert bad || die "openssl: the untrusted certificate"

# ---- the proxy callback: GET /cb... appends "PATH pgtIou pgtId" to FILE; /cb500 answers
# 500, the others 200 (a GET without the parameters too, as phpCAS's callback does)
cat >"$TMP/callback.py" <<'EOF'
import http.server, ssl, sys, urllib.parse as u
port, cert, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        p = u.urlsplit(self.path)
        q = u.parse_qs(p.query)
        if "pgtId" in q:
            with open(out, "a") as f:
                f.write("%s %s %s\n" % (p.path, q.get("pgtIou", ["-"])[0], q["pgtId"][0]))
        self.send_response(500 if p.path == "/cb500" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
: >"$TMP/cb.txt"
: >"$TMP/bad.txt"
"$PY" "$TMP/callback.py" "$CBPORT" "$TMP/cb.pem" "$TMP/cb.key" "$TMP/cb.txt" >>"$TMP/callback.log" 2>&1 &
CBPID=$!
"$PY" "$TMP/callback.py" "$BADPORT" "$TMP/bad.pem" "$TMP/bad.key" "$TMP/bad.txt" >>"$TMP/callback.log" 2>&1 &
BADPID=$!
wait_ready "$CB/" "$CBPID" --cacert "$TMP/cb-ca.pem" || die "the callback server did not start"
wait_ready "https://127.0.0.1:$BADPORT/" "$BADPID" --cacert "$TMP/bad-ca.pem" ||
  die "the second callback server did not start"

{ echo "state_dir = $S"
  echo "http.listen = 127.0.0.1:$PORT"
  echo "cas.proxy_ca_file = $TMP/cb-ca.pem"; } >"$TMP/authd.conf"
start_authd -c "$TMP/authd.conf"
ctl_or_die client add portal --cas-service "$SVC_P" --scope openid profile \
  --cas-proxy-callback "$CB/cb" "$CB/cb500" "https://127.0.0.1:$BADPORT/cb"
ctl_or_die client add backend --cas-service "$SVC_B" --cas-accept-proxy --scope openid profile \
  --cas-proxy-callback "$CB/cb2"
ctl_or_die client add backend2 --cas-service "$SVC_C" --cas-accept-proxy --scope openid profile
ctl_or_die client add noproxy --cas-service "$SVC_N"
printf '%s\n' "$PW" | ctl_or_die user add --id-number "$ID" --name 王小明 --password-stdin
expect_error "authctl: an http proxy callback" "must be https" "$AUTHCTL" -d "$S" client add x1 \
  --cas-service "$SVC_N/x" --cas-proxy-callback "http://127.0.0.1:$CBPORT/cb"
sleep 1.2   # the registry is re-read at most once a second

# fail_code: the code of the last body's authenticationFailure or proxyFailure.
fail_code() {
  "$PY" - "$TMP/body" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
for t in ("authenticationFailure", "proxyFailure"):
    e = r.find(".//{http://www.yale.edu/tp/cas}" + t)
    if e is not None:
        print(e.get("code", "")); break
else:
    print("")
PYEOF
}
# proxies: the <cas:proxy> texts of the last body, space-separated, in order.
proxies() {
  "$PY" - "$TMP/body" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
print(" ".join(e.text for e in r.iter("{http://www.yale.edu/tp/cas}proxy")))
PYEOF
}
# validate PATH SERVICE TICKET [more query]
validate() { fetch "$BASE$1?service=$(enc "$2")&ticket=$(enc "$3")${4:-}"; }
# proxy PGT TARGET: /cas/proxy; PT gets the proxy ticket ("" when none).
proxy() {
  fetch "$BASE/cas/proxy?pgt=$(enc "$1")&targetService=$(enc "$2")"
  PT=$(xml_text proxyTicket)
}
# cb_pgt IOU: the pgtId the callback got with pgtIou IOU ("" when none).
cb_pgt() { awk -v i="$1" '$2 == i { print $3 }' "$TMP/cb.txt" | tail -1; }
# st SERVICE: a service ticket for SERVICE on browser b1's session, in TICKET.
st() {
  req b1 GET "/cas/login?service=$(enc "$1")"
  TICKET=
  [[ $STATUS == 302 && $LOCATION == "$1?ticket=ST-"* ]] && TICKET=${LOCATION##*ticket=}
}

# ---- log in, a ticket for the portal
req b1 GET "/cas/login?service=$(enc "$SVC_P")"
through_login b1 "$ID" "$PW"
req b1 GET "$LOCATION"
T1=${LOCATION##*ticket=}
[[ $T1 == ST-* ]] && ok "a service ticket for the portal" || fail "login: $STATUS '$LOCATION'"

# ---- ST validated with pgtUrl: the callback and the IOU
validate /cas/serviceValidate "$SVC_P" "$T1" "&pgtUrl=$(enc "$CB/cb")"
IOU=$(xml_text proxyGrantingTicket)
USER_P=$(xml_text user)
[[ -n $USER_P && $IOU =~ ^PGTIOU-[0-9a-f]{64}$ ]] && ok "serviceValidate with pgtUrl: PGTIOU in the answer" ||
  fail "no PGTIOU: $BODY"
PGT=$(cb_pgt "$IOU")
[[ $PGT =~ ^PGT-[0-9a-f]{64}$ ]] && ok "the callback got pgtId and the same pgtIou" ||
  fail "callback: $(cat "$TMP/cb.txt")"
[[ $(proxies) == "" ]] && ok "a service ticket: no <cas:proxies>" || fail "proxies on an ST: $BODY"

# ---- /cas/proxy and the proxy ticket
proxy "$PGT" "$SVC_B"
[[ $STATUS == 200 && $PT =~ ^PT-[0-9a-f]{64}$ && $CTYPE == application/xml* ]] &&
  ok "/cas/proxy: a proxy ticket" || fail "/cas/proxy: $STATUS $BODY"
validate /cas/proxyValidate "$SVC_B" "$PT"
USER_B=$(xml_text user)
[[ -n $USER_B && $USER_B != "$USER_P" && $(proxies) == "$CB/cb" ]] &&
  ok "proxyValidate: the backend's own subject, proxies = the portal's callback" || fail "proxyValidate: $BODY"
grep -q "cas:attributes" "$TMP/body" && fail "2.0 proxyValidate carries attributes" || ok "2.0: no attributes"
validate /cas/proxyValidate "$SVC_B" "$PT"
[[ $(fail_code) == INVALID_TICKET ]] && ok "PT replay: INVALID_TICKET" || fail "PT replay: $BODY"
proxy "$PGT" "$SVC_B"
validate /cas/serviceValidate "$SVC_B" "$PT"
[[ $(fail_code) == INVALID_TICKET ]] && ok "serviceValidate refuses a PT: INVALID_TICKET" || fail "PT at serviceValidate: $BODY"
validate /cas/proxyValidate "$SVC_B" "$PT"
[[ $(fail_code) == INVALID_TICKET ]] && ok "...and the PT is used up by it" || fail "PT after serviceValidate: $BODY"
proxy "$PGT" "$SVC_B"
validate /cas/proxyValidate "${SVC_B}x" "$PT"
[[ $(fail_code) == INVALID_SERVICE ]] && ok "a PT for another service: INVALID_SERVICE" || fail "PT service: $BODY"
proxy "$PGT" "$SVC_B"
validate /cas/p3/proxyValidate "$SVC_B" "$PT" "&format=JSON"
"$PY" - "$TMP/body" "$CB/cb" "$USER_B" <<'PYEOF' && ok "p3/proxyValidate JSON: proxies, attributes" || fail "JSON: $BODY"
import json, sys
s = json.load(open(sys.argv[1]))["serviceResponse"]["authenticationSuccess"]
assert s["user"] == sys.argv[3], s
assert s["proxies"] == [sys.argv[2]], s
assert s["attributes"]["name"] == "王小明", s
assert "proxyGrantingTicket" not in s, s
PYEOF

# ---- a chain: the backend proxies on to backend2
proxy "$PGT" "$SVC_B"
validate /cas/p3/proxyValidate "$SVC_B" "$PT" "&pgtUrl=$(enc "$CB/cb2")"
IOU2=$(xml_text proxyGrantingTicket)
PGT2=$(cb_pgt "$IOU2")
[[ $IOU2 == PGTIOU-* && $PGT2 == PGT-* && $(xml_text name) == 王小明 ]] &&
  ok "p3/proxyValidate with pgtUrl: a second PGT, attributes" || fail "chain PGT: $BODY"
proxy "$PGT2" "$SVC_C"
validate /cas/p3/proxyValidate "$SVC_C" "$PT"
[[ -n $(xml_text user) && $(proxies) == "$CB/cb2 $CB/cb" ]] &&
  ok "a chain of two, most recent first" || fail "chain: $(proxies) $BODY"

# ---- no PGT: the validation succeeds without one
nocb() {  # nocb PGTURL LABEL
  st "$SVC_P"
  validate /cas/serviceValidate "$SVC_P" "$TICKET" "&pgtUrl=$(enc "$1")"
  [[ -n $(xml_text user) && -z $(xml_text proxyGrantingTicket) ]] &&
    ok "$2: a success without a PGT" || fail "$2: $BODY"
}
n0=$(wc -l <"$TMP/cb.txt")
nocb "http://127.0.0.1:$CBPORT/cb" "an http:// pgtUrl"
nocb "$CB/unregistered" "an unregistered pgtUrl"
nocb "$CB/cb/x" "a pgtUrl extending a registered one"
nocb "$CB/cb?x=1" "a pgtUrl with a query added"
[[ $(wc -l <"$TMP/cb.txt") == "$n0" ]] && ok "no callback made for those" || fail "callback made: $(cat "$TMP/cb.txt")"
nocb "$CB/cb500" "a callback answering 500"
C500=$(awk '$1 == "/cb500" { print $3 }' "$TMP/cb.txt")
[[ $C500 == PGT-* ]] && ok "the 500 callback was called" || fail "500 callback: $(cat "$TMP/cb.txt")"
proxy "$C500" "$SVC_B"
[[ $(fail_code) == INVALID_TICKET ]] && ok "the PGT a failed callback got is not usable" || fail "500 PGT: $BODY"
nocb "https://127.0.0.1:$BADPORT/cb" "a callback whose certificate authd does not trust"
[[ ! -s $TMP/bad.txt ]] && ok "the untrusted server got no ticket" || fail "untrusted got: $(cat "$TMP/bad.txt")"
sleep 0.3
[[ $(audit_count cas.pgt '"result":"refused"' 'not https') == 1 &&
   $(audit_count cas.pgt '"result":"refused"' 'not a proxy callback registered') == 3 &&
   $(audit_count cas.pgt '"result":"refused"' 'HTTP 500') == 1 &&
   $(audit_count cas.pgt '"result":"refused"' 'the callback failed') == 1 &&
   $(audit_count cas.pgt '"result":"issued"') == 2 ]] &&
  ok "audit: cas.pgt issued and refused, with reasons" || fail "audit cas.pgt: $(grep cas.pgt "$S/audit.log")"
grep -q "no proxy-granting ticket for app portal: pgtUrl is not https" "$TMP/authd.log" &&
  ok "the log says why" || fail "log: $(grep -i proxy "$TMP/authd.log" | head -3)"

# ---- /cas/proxy errors
fetch "$BASE/cas/proxy?pgt=$(enc "$PGT")"
[[ $(fail_code) == INVALID_REQUEST ]] && ok "/cas/proxy without targetService: INVALID_REQUEST" || fail "$BODY"
fetch "$BASE/cas/proxy?pgt=$(enc "$PGT")&pgt=x&targetService=$(enc "$SVC_B")"
[[ $(fail_code) == INVALID_REQUEST ]] && ok "/cas/proxy with a repeated pgt: INVALID_REQUEST" || fail "$BODY"
proxy "PGT-$(printf '%064d' 0)" "$SVC_B"
[[ $(fail_code) == INVALID_TICKET && -z $PT ]] && ok "an unknown PGT: INVALID_TICKET" || fail "$BODY"
proxy "${PT:-PT-x}" "$SVC_B"
[[ $(fail_code) == INVALID_TICKET ]] && ok "a PT as PGT: INVALID_TICKET" || fail "$BODY"
proxy "$PGT" "http://127.0.0.1:9/unregistered"
[[ $(fail_code) == INVALID_SERVICE && -z $PT ]] && ok "an unregistered target: INVALID_SERVICE" || fail "$BODY"
proxy "$PGT" "$SVC_N"
[[ $(fail_code) == UNAUTHORIZED_SERVICE && -z $PT ]] &&
  ok "a target whose app does not accept proxies: UNAUTHORIZED_SERVICE" || fail "$BODY"
fetch "$BASE/cas/proxy?pgt=$(enc "$PGT")&targetService=$(enc "$SVC_B")&format=JSON"
"$PY" -c 'import json,sys; t=json.load(open(sys.argv[1]))["serviceResponse"]["proxySuccess"]["proxyTicket"]; assert t.startswith("PT-")' \
  "$TMP/body" && ok "/cas/proxy format=JSON" || fail "proxy JSON: $BODY"
[[ $(audit_count cas.proxy '"result":"success"' '"target_client":"backend"') -ge 5 &&
   $(audit_count cas.proxy UNAUTHORIZED_SERVICE) == 1 ]] &&
  ok "audit: cas.proxy lines" || fail "audit cas.proxy: $(grep cas.proxy "$S/audit.log" | head -3)"

# ---- method=POST
req b1 GET "/cas/login?service=$(enc "$SVC_P")&method=POST"
"$PY" - "$TMP/body" "$SVC_P" "$(header Content-Security-Policy)" <<'PYEOF' >"$TMP/post.txt" &&
import base64, hashlib, html.parser, sys
body, svc, csp = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
class P(html.parser.HTMLParser):
    forms, inputs, scripts, buttons, cur = [], [], [], 0, None
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "form": self.forms.append(a)
        if tag == "input": self.inputs.append(a)
        if tag == "button": self.buttons += 1
        self.cur = tag
    def handle_data(self, d):
        if self.cur == "script": self.scripts.append(d)
    def handle_endtag(self, tag): self.cur = None
p = P(); p.feed(body)
f = [x for x in p.forms if x.get("method") == "post" and x.get("action") == svc]
assert len(f) == 1, p.forms
t = [x["value"] for x in p.inputs if x.get("name") == "ticket" and x.get("type") == "hidden"]
assert len(t) == 1 and t[0].startswith("ST-"), p.inputs
assert p.buttons >= 1
assert len(p.scripts) == 1 and f[0]["id"] in p.scripts[0] and "submit()" in p.scripts[0]
h = base64.b64encode(hashlib.sha256(p.scripts[0].encode()).digest()).decode()
assert "script-src 'sha256-%s'" % h in csp, csp
print(t[0])
PYEOF
  ok "method=POST: a form posting the ticket to the exact service, its script allowed by hash" ||
  fail "method=POST page: $(cat "$TMP/post.txt") $BODY"
[[ $STATUS == 200 && -z $LOCATION ]] && ok "method=POST: 200, no redirect" || fail "POST: $STATUS '$LOCATION'"
validate /cas/serviceValidate "$SVC_P" "$(tail -1 "$TMP/post.txt")"
[[ $(xml_text user) == "$USER_P" ]] && ok "the posted ticket validates" || fail "posted ticket: $BODY"
req b3 GET "/cas/login?service=$(enc "$SVC_P")&method=POST"
through_login b3 "$ID" "$PW"
req b3 GET "$LOCATION"
[[ $STATUS == 200 ]] && grep -q 'name="ticket" value="ST-' "$TMP/body" &&
  ok "method=POST survives the detour through the login form" || fail "POST after login: $STATUS '$LOCATION'"
req b1 GET "/cas/login?service=$(enc "$SVC_P")&method=HEADER"
[[ $STATUS == 400 && -z $LOCATION ]] && ok "method=HEADER: a 400 page" || fail "HEADER: $STATUS '$LOCATION'"
req b1 GET "/cas/login?service=$(enc "$SVC_P")&method=GET"
[[ $STATUS == 302 && $LOCATION == "$SVC_P?ticket=ST-"* ]] && ok "method=GET: the redirect" || fail "GET: $STATUS"
req b1 GET "/login?next=%2Faccount"
has_script=$(header Content-Security-Policy | grep -c script-src || true)
[[ $has_script == 0 ]] && ok "other pages still run no script" || fail "CSP: $(header Content-Security-Policy)"

# ---- logout ends the PGT
proxy "$PGT" "$SVC_B"
[[ -n $PT ]] && ok "the PGT works before logout" || fail "before logout: $BODY"
req b1 GET "/cas/logout"
proxy "$PGT" "$SVC_B"
[[ $(fail_code) == INVALID_TICKET && -z $PT ]] && ok "after /cas/logout the PGT gives nothing" || fail "after logout: $BODY"
proxy "$PGT2" "$SVC_C"
[[ $(fail_code) == INVALID_TICKET ]] && ok "...nor the chained one" || fail "chained after logout: $BODY"

# ---- no ticket value in the log or the audit trail
for v in "$PGT" "$PGT2" "$C500" "$IOU"; do
  grep -qF -- "${v#*-}" "$TMP/authd.log" "$S/audit.log" && fail "a ticket value in a log: ${v%%-*}"
done
ok "no ticket value in authd's log or the audit trail"

check_healthz "authd still answers"
no_errors_in "no errors in authd's log" "$TMP/authd.log"
finish "cas_proxy: all checks passed"
