#!/usr/bin/env bash
# The certificate login through the real authd, over the test PKI of pki.sh: a browser
# gets a challenge from /login/cert/challenge, signs it with openssl as USBKey
# middleware would (SM2 over SM3 with the default distinguishing ID, ECDSA and RSA over
# SHA-256) and posts /login/cert. Logins for SM2, ECDSA and RSA persons (LoA 4 in the
# audit line); refusals, each with its page and its audit reason: a replayed challenge,
# another browser's challenge, a bad signature, an unknown CA, a certificate its CA's CRL
# lists, a path needing a
# cross-certificate that is not configured, an expired certificate, a wrong key usage,
# a deregistered person's certificate; a CA added with authctl ca add and taken on
# SIGHUP (and dropped after ca remove); a CA's revocation policy while no CRL or OCSP
# is consulted (fail closed refuses, fail open accepts and audits); the login page
# offers 数字证书登录; login.staff_methods = cert refuses a staff member's password.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
need_authd
make_tmp certlogin
PID=

pki_setup
pki_crl "$P" ia ia "$(pki_serial "$P" pv)" || die "openssl ca -gencrl failed"
# CA a without the cross-certificate: B's persons have no path.
cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.crl = $P/ia.crl
cert.ca.r.roots = $P/rr.pem
cert.ca.r.intermediates = $P/ir.pem
cert.ca.r.revocation = crl
cert.ca.r.fail = open
cert.ca.r.profile = r
cert.profile.r.id_number = san:1.2.156.10260.4.1.1; subject:CN ~ ([0-9]{17}[0-9X])\$
login.staff_methods = cert
EOF
CB=http://127.0.0.1:9/cb
start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add app1 --public --redirect-uri "$CB" --scope openid
# The enterprise of ea's credit code, and an app with scope org for a real relying party.
ctl_or_die org add --uscc "$PKI_USCC" --name 示例科技有限公司
RPSECRET=$(openssl rand -hex 16)
ctl_or_die client add orgrp --secret "$RPSECRET" --redirect-uri "$CB" --scope openid profile org
ctl_or_die client add orgper --secret "$RPSECRET" --redirect-uri "$CB" --scope openid profile org \
  --require-person
for id in "$PKI_ID_A" "$PKI_ID_R" "$PKI_ID_N" "$PKI_ID_B"; do
  pki_holder "$id"
done
# pa's holder is staff of a government agency: certificate only.
GOV=11350100003000014R
ctl_or_die user verify "$PKI_ID_A" --loa 2 --by registry --evidence "registry check"
ctl_or_die org add --uscc "$GOV" --name 某市政务服务中心
ctl_or_die staff add --id-number "$PKI_ID_A" --org "$GOV" --unit 综合受理窗口
start_authd -c "$TMP/authd.conf"

# challenge JAR: CH and CSRF of a new challenge for the browser JAR (its form first).
challenge() {
  req "$1" GET '/login/cert?next=%2Faccount'
  req "$1" GET /login/cert/challenge
  CH=$(node -e "process.stdout.write(JSON.parse(process.argv[1]).challenge || '')" "$BODY")
  CSRF=$(node -e "process.stdout.write(JSON.parse(process.argv[1]).csrf || '')" "$BODY")
  [[ $STATUS == 200 && ${#CH} == 43 && $BODY == *'"expires_in": 120'* || $BODY == *'"expires_in":120'* ]] ||
    fail "challenge: $STATUS $BODY"
}

# sign NAME TEXT: base64 of NAME.key's signature of TEXT (SM2 keys with the default ID).
sign() {
  printf '%s' "$2" >"$TMP/msg"
  if openssl pkey -in "$P/$1.key" -noout -text 2>/dev/null | grep -q 'ASN1 OID: SM2'; then
    openssl dgst -sm3 -sign "$P/$1.key" -sigopt distid:1234567812345678 "$TMP/msg"
  else
    openssl dgst -sha256 -sign "$P/$1.key" "$TMP/msg"
  fi | base64 -w0
}

# post JAR NAME CHALLENGE SIGNATURE [curl args]: POST /login/cert with NAME.pem.
post() {
  req "$1" POST /login/cert --data-urlencode "csrf=$CSRF" --data-urlencode "next=/account" \
    --data-urlencode "challenge=$3" --data-urlencode "cert@$P/$2.pem" \
    --data-urlencode "signature=$4" "${@:5}"
}

# login_ok NAME: a fresh browser logs in with NAME's certificate.
login_ok() {
  rm -f "$TMP/b.jar"
  challenge b
  post b "$1" "$CH" "$(sign "$1" "$CH")"
  if [[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value b yh_sid) ]]; then
    ok "$1 logs in"
  else
    fail "$1: $STATUS $LOCATION $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body" | head -2)"
  fi
}

req a GET /login
[[ $BODY == *'href="/login/cert'*'数字证书登录'* ]] && ok "the login page offers 数字证书登录" ||
  fail "the login page has no certificate link"

# login.staff_methods = cert: the staff member's right password is refused, saying why;
# a citizen's password still logs in.
login_form s "$PKI_ID_A" 'Cert person 2026!'
pki_refused "a staff member's password" 403 "须使用数字证书" staff_certificate_required
[[ -z $(jar_value s yh_sid) ]] || fail "the refused staff password left a session"
login_form s "$PKI_ID_R" 'Cert person 2026!'
[[ $STATUS == 303 && $LOCATION == /account ]] && ok "a citizen's password still logs in" ||
  fail "citizen password: $STATUS $LOCATION"
login_ok pa     # SM2 under CA a's intermediate, ID number in the extension (staff)
login_ok pr     # ECDSA P-256 under RSA root and P-384 intermediate, ID number in the SAN
login_ok pn     # RSA, ID number in the CN by the CA's pattern
# What an app sees of a certificate session: acr LoA 4, amr hwk and x509.
if id_token b app1; then
  [[ $(jwt_claim "$IDT" acr) == urn:yihao:loa:4 && $(jwt_claim "$IDT" amr) == *hwk*x509* ]] &&
    ok "the ID token says acr loa:4, amr hwk x509" ||
    fail "ID token: acr $(jwt_claim "$IDT" acr) amr $(jwt_claim "$IDT" amr)"
fi
(($(audit_count login.success '"method":"cert"' '"ca":"a"' '"revocation":"good"' '"revocation_source":"crl:') == 1)) &&
  ok "CA a's login audited with its CRL as the revocation source" ||
  fail "CA a's login.success: $(grep '"ca":"a"' "$S/audit.log" | head -2)"
(($(audit_count login.success '"method":"cert"' '"ca":"r"' '"revocation":"unknown_accepted"') == 2)) &&
  ok "CA r's logins audited as accepted with an unknown revocation status (fail open)" ||
  fail "CA r's login.success lines: $(grep '"ca":"r"' "$S/audit.log" | head -2)"
(($(audit_count login.success '"method":"cert"' '"loa":4') == 3)) &&
  ok "three certificate logins at LoA 4 audited" ||
  fail "login.success lines: $(grep -c '"method":"cert"' "$S/audit.log")"

# A challenge is used once.
rm -f "$TMP/b.jar"
challenge b
SIG=$(sign pa "$CH")
post b pa "$CH" "$SIG"
[[ $STATUS == 303 ]] || fail "first use: $STATUS"
post b pa "$CH" "$SIG"
pki_refused "a replayed challenge" 400 "已经使用过" challenge_replayed

# Another browser's challenge.
rm -f "$TMP/b.jar" "$TMP/c.jar"
challenge c
CH_C=$CH
challenge b
post b pa "$CH_C" "$(sign pa "$CH_C")"
pki_refused "another browser's challenge" 400 "不是为本浏览器签发的" challenge_unknown

# A signature by another key, or over another text.
challenge b
post b pa "$CH" "$(sign ea "$CH")"
pki_refused "a signature by another key" 403 "签名值验证失败" bad_signature
challenge b
post b pr "$CH" "$(sign pr "${CH}x")"
pki_refused "a signature over another text" 403 "签名值验证失败" bad_signature

# Certificates the trust refuses.
for c in "unknown:不是由本站信任的证书机构签发的:unknown_ca" "pv:已被吊销:revoked" \
  "pb:不是由本站信任的证书机构签发的:unknown_ca" "old:已过期:expired" \
  "ku:不能用于登录:key_usage"; do
  IFS=: read -r name text reason <<<"$c"
  challenge b
  post b "$name" "$CH" "$(sign "$name" "$CH")"
  pki_refused "$name" 403 "$text" "$reason"
done

# An enterprise certificate logs in as its organization: openid-client (tests/node/
# cert_rp.mjs) gets acr loa:4, amr hwk x509, the organization's sub and yh_org (role
# cert_holder) in the ID token and from /userinfo, with no consent or choice page.
login_ok ea
req b GET /account
[[ $STATUS == 200 && $BODY == *'单位证书登录没有个人账户页面'* ]] &&
  ok "the enterprise session's account page says whom it acts for" ||
  fail "enterprise /account: $STATUS"
# Every page under /account with the enterprise's session: the same page, never an
# error (the POSTs with a CSRF token of the person's form kind, which the session has not).
for route in "GET /account/totp" "GET /account/phone" "POST /account/phone" \
  "POST /account/session/end" "POST /account/session/end-others" "POST /account/session/end-all" \
  "POST /account/app/revoke" "POST /account/cert/unbind" "POST /account/totp/new" \
  "POST /account/totp/confirm" "POST /account/totp/remove" "POST /account/password" \
  "POST /account/org/agent/add" "POST /account/org/agent/end"; do
  read -r method path <<<"$route"
  if [[ $method == GET ]]; then req b GET "$path"; else req b POST "$path" --data-urlencode csrf=x; fi
  [[ ($STATUS == 200 || $STATUS == 403) && $BODY == *'单位证书登录没有个人账户页面'* ]] &&
    ok "$route with the enterprise session: the page saying whom it acts for ($STATUS)" ||
    fail "$route with the enterprise session: $STATUS $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body" | head -1)"
done
req b GET /account
[[ $STATUS == 200 && -n $(jar_value b yh_sid) ]] || fail "the enterprise session ended on the way: $STATUS"
# The organization's session has no personal account: no page of the account room
# (the phone form, which would give it the room's CSRF token) and no change (a TOTP
# enrolment, a password, a phone) is made for the organization's uid.
req b GET /account/phone
ACSRF=$(form_value csrf)
[[ $STATUS == 200 && $BODY == *'单位证书登录没有个人账户页面'* && -z $ACSRF ]] &&
  ok "the enterprise session gets no account form (/account/phone)" ||
  fail "enterprise /account/phone: $STATUS"
req b GET /account/totp
[[ $STATUS == 200 && $BODY == *'单位证书登录没有个人账户页面'* ]] &&
  ok "the enterprise session gets no TOTP page" || fail "enterprise /account/totp: $STATUS"
for path in /account/totp/new /account/password /account/phone /account/session/end-all; do
  req b POST "$path" --data-urlencode "csrf=${ACSRF:-x}"
  [[ $STATUS == 403 && $BODY == *'单位证书登录没有个人账户页面'* ]] &&
    ok "the enterprise session may not POST $path" || fail "enterprise POST $path: $STATUS"
done
[[ $(sqlite3 "$S/directory.db" 'SELECT count(*) FROM totp') == 0 ]] &&
  ok "no TOTP recorded for the organization" || fail "a TOTP was recorded by the enterprise session"
(($(audit_count login.success '"method":"cert"' '"holder":"organization"') == 1)) &&
  ok "the enterprise login audited as the organization's" ||
  fail "enterprise login.success: $(grep '"holder"' "$S/audit.log" | tail -1)"
[[ -d $YH_SRCDIR/tests/node/node_modules/openid-client ]] ||
  die "tests/node/node_modules lacks openid-client (npm ci in tests/node)"
# rp_start CLIENT: a fresh request of the RP as CLIENT (its path in RPURL).
rp_start() {
  RPURL=$(cd "$YH_SRCDIR/tests/node" && timeout 60 node cert_rp.mjs start "$TMP/rp.json" \
    "$BASE" "$1" "$RPSECRET" "$CB" "openid profile org") || { fail "RP start: $RPURL"; return 1; }
  RPURL=${RPURL#"$BASE"}
}
# rp_finish JAR: consents when the last answer asks, then the answer must be the code at
# CB, which the RP redeems (its claims and userinfo in RP).
rp_finish() {
  RP=
  if [[ $STATUS == 302 && $LOCATION == /consent\?* ]]; then
    consent_allow "$1"
    req "$1" GET "$LOCATION"
  fi
  [[ $STATUS == 302 && $LOCATION == "$CB?"* ]] || { fail "RP request: $STATUS $LOCATION"; return 1; }
  RP=$(cd "$YH_SRCDIR/tests/node" && timeout 60 node cert_rp.mjs finish "$TMP/rp.json" \
    "$LOCATION" 2>&1) || { fail "RP callback: $RP"; return 1; }
}
# rp_login JAR [consent]: the RP's request (app orgrp) through JAR's session (consenting
# when asked with "consent"); RP holds the RP's answer.
rp_login() {
  rp_start orgrp || return 1
  req "$1" GET "$RPURL"
  [[ ${2:-} == consent || $STATUS != 302 || $LOCATION != /consent\?* ]] ||
    { fail "a consent page for the organization's session"; return 1; }
  rp_finish "$1"
}
# rp_claim WHERE PATH: a member of the RP's claims or userinfo ("yh_org.role").
rp_claim() {
  "$PY" -c 'import sys,json;v=json.loads(sys.argv[1])[sys.argv[2]]
for k in sys.argv[3].split("."): v=v.get(k,"") if isinstance(v,dict) else ""
print(v if not isinstance(v,list) else " ".join(v))' "$RP" "$1" "$2"
}
if rp_login b; then
  [[ $(rp_claim claims acr) == urn:yihao:loa:4 && $(rp_claim claims amr) == "hwk x509" ]] &&
    ok "openid-client: the enterprise certificate gives acr loa:4, amr hwk x509" ||
    fail "enterprise acr/amr: $RP"
  [[ $(rp_claim claims yh_org.uscc) == "$PKI_USCC" && $(rp_claim claims yh_org.role) == cert_holder &&
    $(rp_claim claims yh_org.name) == 示例科技有限公司 ]] &&
    ok "openid-client: the ID token's yh_org names the enterprise, role cert_holder" ||
    fail "enterprise yh_org: $RP"
  [[ $(rp_claim userinfo yh_org.uscc) == "$PKI_USCC" && $(rp_claim userinfo yh_org.role) == cert_holder &&
    $(rp_claim userinfo sub) == "$(rp_claim claims sub)" && -z $(rp_claim claims name) ]] &&
    ok "openid-client: /userinfo gives the same sub and yh_org, and no person's claims" ||
    fail "enterprise userinfo: $RP"
  ORG_SUB=$(rp_claim claims sub)
fi
# The sub is the organization's pairwise subject, not a person's: a person's login to
# the same app gets another.
login_ok pa
if rp_login b consent; then
  [[ -n $ORG_SUB && $(rp_claim claims sub) != "$ORG_SUB" && -z $(rp_claim claims yh_org.role) ]] &&
    ok "a person's certificate gets the person's sub and no yh_org" ||
    fail "person after enterprise: $RP"
fi
# An app registered --require-person: after the enterprise certificate the person at the
# keyboard logs in as well, and the app gets the person's sub with the same yh_org.
login_ok ea
rp_start orgper
req b GET "$RPURL"
[[ $STATUS == 302 && $LOCATION == /login\?*force=1* && $LOCATION == *yh_certorg* ]] &&
  ok "--require-person: the enterprise session is sent to log the person in" ||
  fail "--require-person detour: $STATUS $LOCATION"
through_login b "$PKI_ID_R" 'Cert person 2026!'
LINKED=$LOCATION
[[ $STATUS == 303 && $LINKED == /authorize\?* ]] || fail "person login: $STATUS $LINKED"
req b GET "$LINKED"
if rp_finish b; then
  [[ $(rp_claim claims yh_org.uscc) == "$PKI_USCC" && $(rp_claim claims yh_org.role) == cert_holder &&
    -n $(rp_claim claims sub) && $(rp_claim claims sub) != "$ORG_SUB" &&
    $(rp_claim claims name) == 持证人 && $(rp_claim userinfo yh_org.role) == cert_holder ]] &&
    ok "--require-person: the person's sub and name with the enterprise's yh_org" ||
    fail "--require-person claims: $RP"
fi
# The link is good once, and only in its browser.
req b GET "$LINKED"
[[ $STATUS == 302 && $(qparam "$LOCATION" error) == access_denied ]] &&
  ok "--require-person: the link used again is access_denied" ||
  fail "link replayed: $STATUS $LOCATION"
login_ok ea
req b GET "$RPURL"
through_login b "$PKI_ID_R" 'Cert person 2026!'
LINKED=$LOCATION
rm -f "$TMP/c.jar"
login_form c "$PKI_ID_R" 'Cert person 2026!'
req c GET "$LINKED"
[[ $STATUS == 302 && $(qparam "$LOCATION" error) == access_denied ]] &&
  ok "--require-person: another browser cannot use the link" ||
  fail "link in another browser: $STATUS $LOCATION"

# A deregistered organization's certificate logs in nobody.
ctl_or_die org deregister "$PKI_USCC"
challenge b
post b ea "$CH" "$(sign ea "$CH")"
pki_refused "a deregistered enterprise" 403 "未找到与该证书身份对应的账号" account_inactive

# A person who left: pn's account deregistered.
ctl_or_die user deregister "$PKI_ID_N"
challenge b
post b pn "$CH" "$(sign pn "$CH")"
pki_refused "a deregistered person" 403 "未找到与该证书身份对应的账号" account_inactive

# A CA added with authctl ca add is trusted after SIGHUP, and no longer after its
# removal and another SIGHUP.
ctl_or_die -c "$TMP/authd.conf" ca add u --roots "$P/ru.pem"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
# Its default policy (crl, fail closed) refuses while no CRL is consulted: the path to
# the new root was built (not unknown_ca).
challenge b
post b unknown "$CH" "$(sign unknown "$CH")"
pki_refused "unknown under CA u (fail closed)" 403 "暂时无法确认该证书是否已被吊销" revocation_unknown
ctl_or_die -c "$TMP/authd.conf" ca remove u
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
challenge b
post b unknown "$CH" "$(sign unknown "$CH")"
pki_refused "unknown after ca remove" 403 "不是由本站信任的证书机构签发的" unknown_ca

# A person's certificate is bound on its first login (issuer, serial, key): audited,
# listed on the account page, and a certificate of the same issuer and serial with
# another key is refused until the person unbinds the first.
(($(audit_count login.success '"method":"cert"' '"binding":"new"') >= 3 &&
  $(audit_count login.success '"method":"cert"' '"binding":"known"') >= 1)) &&
  ok "certificates bound on first use, found bound afterwards (audited)" ||
  fail "binding in login.success: $(grep -o '"binding":"[a-z_]*"' "$S/audit.log" | sort | uniq -c)"
[[ $(grep '"holder":"organization"' "$S/audit.log" | grep -c '"binding":"none"') -ge 1 ]] &&
  ok "an enterprise certificate's login binds nothing" || fail "enterprise binding"
serial_of() { pki_serial "$P" "$1" | sed 's/^0*//'; }
login_ok pa
req b GET /account
[[ $STATUS == 200 && $BODY == *'已绑定的数字证书'* && $BODY == *"$(serial_of pa)"* ]] &&
  ok "the account page lists pa's certificate" ||
  fail "account page certificates: $STATUS $(grep -o 'id="certs".*' "$TMP/body" | head -c 400)"
# pa2: pa's issuer and serial over another key.
pki_key "$P/pa2.key" sm2
openssl req -new -config "$P/req.cnf" -key "$P/pa2.key" "${PKI_SM2[@]}" \
  -subj "/CN=Zhang San/O=CA A" -out "$P/pa2.csr" 2>/dev/null &&
  openssl x509 -req -in "$P/pa2.csr" -CA "$P/ia.pem" -CAkey "$P/ia.key" \
    -set_serial "0x$(pki_serial "$P" pa)" "${PKI_SM2[@]}" -vfyopt distid:1234567812345678 \
    -days 825 -extfile "$P/pa.ext" -extensions x -out "$P/pa2.pem" 2>/dev/null ||
  die "openssl: pa2"
challenge b
post b pa2 "$CH" "$(sign pa2 "$CH")"
pki_refused "pa's serial with another key" 403 "密钥不一致" certificate_key_changed
# Unbinding: CSRF-checked, audited; then pa2's key is bound by its login, and pa's is
# the one refused.
login_ok pa
req b GET /account
CID=$(form_value id)
[[ ${#CID} == 64 ]] || fail "no binding id on the account page"
req b POST /account/cert/unbind --data-urlencode "id=$CID" --data-urlencode "csrf=bad"
[[ $STATUS == 400 ]] && (($(audit_count cert.unbind) == 0)) &&
  ok "unbinding without the page's CSRF token is refused" || fail "unbind without csrf: $STATUS"
req b GET /account
req b POST /account/cert/unbind --data-urlencode "id=$CID" --data-urlencode "csrf=$(form_value csrf)"
[[ $STATUS == 303 && $LOCATION == '/account?done=cert-unbound' ]] &&
  (($(audit_count cert.unbind "\"id\":\"$CID\"") == 1)) &&
  ok "the account page unbinds the certificate (audited)" ||
  fail "unbind: $STATUS $LOCATION"
req b GET "$LOCATION"
[[ $BODY == *'已解除该证书的绑定'* && $BODY != *"$CID"* ]] && ok "the binding is gone" ||
  fail "after unbind: $(grep -o 'id="certs".*' "$TMP/body" | head -c 300)"
req b POST /account/cert/unbind --data-urlencode "id=$CID" --data-urlencode "csrf=$(form_value csrf)"
[[ $STATUS == 400 ]] && ok "unbinding a certificate not bound is a bad request" ||
  fail "unbind again: $STATUS"
login_ok pa2
challenge b
post b pa "$CH" "$(sign pa "$CH")"
pki_refused "pa after pa2's key was bound" 403 "密钥不一致" certificate_key_changed

# Mutual TLS at a proxy: cert.proxy_header, believed only from http.trusted_proxies, the
# certificate verified again by authd.
esc() { "$PY" -c 'import sys,urllib.parse as u;print(u.quote(open(sys.argv[1]).read(),safe=""))' "$1"; }
# tls_post JAR NAME [curl args]: the certificate form's TLS button, the proxy forwarding
# NAME's certificate (none with NAME "-").
tls_post() {
  local -a h=()
  [[ $2 == - ]] || h=(-H "X-SSL-Client-Cert: $(esc "$P/$2.pem")")
  rm -f "$TMP/$1.jar"
  req "$1" GET '/login/cert?next=%2Faccount'
  req "$1" POST /login/cert/tls --data-urlencode "csrf=$(form_value csrf)" \
    --data-urlencode "next=/account" "${h[@]}" "${@:3}"
}
cp "$TMP/authd.conf" "$TMP/authd.conf.orig"
printf 'cert.proxy_header = X-SSL-Client-Cert\nhttp.trusted_proxies = 10.9.9.9\n' >>"$TMP/authd.conf"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
req t GET /login/cert
[[ $BODY == *'action="/login/cert/tls"'* ]] && ok "the certificate page offers the proxy's certificate" ||
  fail "no TLS button"
tls_post t pr
pki_refused "a proxy header from an untrusted address" 403 "不是经本站信任的代理" proxy_untrusted
[[ -z $(jar_value t yh_sid) ]] || fail "an untrusted proxy header opened a session"
cp "$TMP/authd.conf.orig" "$TMP/authd.conf"
# CA a now with the cross-certificate B-by-A: B's person has a path (no CRL of B's
# intermediate is published, so CA a's fail = open lets it in, audited).
printf 'cert.proxy_header = X-SSL-Client-Cert\nhttp.trusted_proxies = 127.0.0.1\ncert.ca.a.cross_certs = %s\ncert.ca.a.fail = open\n' \
  "$P/cross.pem" >>"$TMP/authd.conf"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"
tls_post t pr
[[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value t yh_sid) ]] &&
  (($(audit_count login.success '"flow":"proxy_tls"' '"loa":4') == 1)) &&
  ok "the trusted proxy's certificate logs pr in at LoA 4" ||
  fail "proxy login: $STATUS $LOCATION $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body" | head -1)"
# The other good certificates through the proxy too: SM2 (pa2; pn and the enterprise
# are deregistered by now) and B's ECDSA person over the cross-certificate (pb); pb by
# challenge as well.
for n in pa2 pb; do
  rm -f "$TMP/t.jar"
  tls_post t "$n"
  [[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value t yh_sid) ]] &&
    ok "the trusted proxy's certificate logs $n in" ||
    fail "proxy login $n: $STATUS $LOCATION $(grep -o 'class="alert[^<]*<[^<]*' "$TMP/body" | head -1)"
done
(($(audit_count login.success '"flow":"proxy_tls"' '"loa":4') == 3)) &&
  ok "the three proxy logins audited at LoA 4" ||
  fail "proxy logins audited: $(audit_count login.success '"flow":"proxy_tls"' '"loa":4')"
login_ok pb
tls_post t pv
pki_refused "a revoked certificate through the proxy (checked again)" 403 "已被吊销" revoked
tls_post t unknown
pki_refused "an unknown CA's certificate through the proxy" 403 "不是由本站信任的证书机构签发的" unknown_ca
tls_post t -
pki_refused "no certificate forwarded" 400 "未收到浏览器出示的证书" no_client_certificate
rm -f "$TMP/t.jar"
req t GET '/login/cert?next=%2Faccount'
req t POST /login/cert/tls --data-urlencode "csrf=$(form_value csrf)" -H 'X-SSL-Client-Cert: %ZZ'
pki_refused "a header that does not decode" 400 "" bad_input
# The header twice (a client's own header the proxy added to instead of replacing it),
# and one header holding two certificates: neither is taken.
tls_post t pr -H "X-SSL-Client-Cert: $(esc "$P/pv.pem")"
pki_refused "the proxy header twice" 400 "" proxy_header_repeated
[[ -z $(jar_value t yh_sid) ]] || fail "a repeated proxy header opened a session"
cat "$P/pr.pem" "$P/pv.pem" >"$TMP/two.pem"
tls_post t - -H "X-SSL-Client-Cert: $(esc "$TMP/two.pem")"
pki_refused "two certificates in the proxy header" 400 "" bad_input
[[ -z $(jar_value t yh_sid) ]] || fail "a proxy header with two certificates opened a session"
cp "$TMP/authd.conf.orig" "$TMP/authd.conf"
mark=$(wc -l <"$TMP/authd.log")
hup_and_wait "$mark"

# No browser session: no challenge.
req - GET /login/cert/challenge
[[ $STATUS == 400 && $BODY == *invalid_request* ]] && ok "no challenge without the browser's cookie" ||
  fail "challenge without a cookie: $STATUS $BODY"

check_stop_authd
no_errors_in "authd logged errors" "$TMP/authd.log"
no_sanitizer_in "sanitizer report" "$TMP/authd.log"
finish "cert_login: all checks passed"
