#!/usr/bin/env bash
# A QR-code login is never a way to move an enterprise certificate's login to another
# device. A browser logs in with the enterprise certificate of pki.sh (the session is the
# organization's, LoA 4) and gets the mobile app an access token with scope qr_login
# through the code flow; that token's scan of another browser's QR code is refused with
# 403 access_denied saying to log in there with the certificate, audited as qr.refused,
# the request is refused so that the browser's page says why, and no session is opened;
# its confirm is refused as well, and its scan of a request a person already scanned
# changes nothing. A person's token still logs the browser in. An organization's session
# cannot approve a device either: /device sends it to log in as a person.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
need_authd
make_tmp qrorg
PID=

pki_setup
pki_crl "$P" ia ia "$(pki_serial "$P" pv)" || die "openssl ca -gencrl failed"
cat >"$TMP/authd.conf" <<EOF
state_dir = $S
http.listen = 127.0.0.1:$PORT
log.format = text
password.argon2_t_cost = 1
password.argon2_m_cost_kib = 1024
cert.ca.a.roots = $P/ra.pem
cert.ca.a.intermediates = $P/ia.pem
cert.ca.a.crl = $P/ia.crl
EOF
CB=http://127.0.0.1:9/cb
PASSWORD='Zhao-Yi-2026!pw'
start_authd -c "$TMP/authd.conf"
stop_authd || die "authd did not stop cleanly"
ctl_or_die client add mobile --public --redirect-uri "$CB" --scope openid qr_login
ctl_or_die org add --uscc "$PKI_USCC" --name 示例科技有限公司
printf '%s\n' "$PASSWORD" | ctl_or_die user add --id-number "$(id_number 11010119940714123)" \
  --name 赵一 --phone 13812340011 --username zhaoyi --password-stdin
start_authd -c "$TMP/authd.conf"

# The enterprise certificate's session, and the app's token from it.
pki_login ea
[[ $STATUS == 303 && -n $(jar_value b yh_sid) ]] || die "enterprise certificate login: $STATUS"
id_token b mobile "openid%20qr_login" || die "no app token for the organization's session"
ORG_AT=$AT
[[ $(jwt_claim "$ORG_AT" acr) == urn:yihao:loa:4 && $(jwt_claim "$ORG_AT" scope) == *qr_login* ]] &&
  ok "the organization's session gives the app a qr_login token at LoA 4" ||
  fail "org token: acr $(jwt_claim "$ORG_AT" acr) scope $(jwt_claim "$ORG_AT" scope)"

# Its scan of another browser's QR code: refused, audited, the request refused.
qr_new v
QRPAGE=$LOCATION
req v GET "$QRPAGE"
[[ $STATUS == 200 && $BODY == *'<svg'* ]] || fail "QR page: $STATUS"
qr_app scan "$ORG_AT" "$T"
[[ $STATUS == 403 && $ERR == access_denied && $(jget error_description) == *"organization's session"*certificate* &&
   $(header Cache-Control) == *no-store* ]] &&
  ok "scan with the organization's token: 403 access_denied, saying to use the certificate" ||
  fail "org scan: $STATUS $BODY"
(($(audit_count qr.refused '"reason":"organization_session"' '"client_id":"mobile"' '"browser_ip":"127.0.0.1"') == 1)) &&
  (($(audit_count qr.scan) == 0)) &&
  ok "audit: qr.refused with the reason, no qr.scan" || fail "audit: $(grep '"qr\.' "$S/audit.log" | tail -2)"
grep -q "refused: the token is an organization's session" "$TMP/authd.log" &&
  ok "authd's log says why" || fail "no log line for the refusal"
qr_app confirm "$ORG_AT" "$T"
[[ $STATUS == 403 && $ERR == access_denied ]] && ok "confirm with the organization's token: 403 access_denied" ||
  fail "org confirm: $STATUS $BODY"
req v GET "$QRPAGE"
[[ $STATUS == 403 && $BODY == *单位数字证书的登录不能通过扫码转到其他设备* && -z $(jar_value v yh_sid) ]] &&
  ok "the browser's QR page: refused, saying to log in with the certificate, no session" ||
  fail "browser after the org scan: $STATUS $(jar_value v yh_sid)"
req v GET "$QRPAGE" -H 'Accept-Language: en'
[[ $STATUS == 403 && -z $(jar_value v yh_sid) ]] || fail "browser again: $STATUS"
(($(audit_count login.success '"method":"qr"') == 0)) && ok "no QR login happened" ||
  fail "a QR login: $(grep '"method":"qr"' "$S/audit.log")"

# A person's token still logs a browser in; the organization's scan of the request the
# person scanned changes nothing.
login_form p zhaoyi "$PASSWORD"
[[ $STATUS == 303 ]] || die "person login: $STATUS"
id_token p mobile "openid%20qr_login" || die "no app token for the person"
PERSON_AT=$AT
qr_new w
QRPAGE=$LOCATION
qr_app scan "$PERSON_AT" "$T"
[[ $STATUS == 200 && $(jget status) == scanned ]] && ok "the person's token scans" || fail "person scan: $STATUS $BODY"
qr_app scan "$ORG_AT" "$T"
[[ $STATUS == 403 && $ERR == access_denied ]] && ok "the organization's scan of a scanned request: refused" ||
  fail "org scan of scanned: $STATUS $BODY"
qr_app confirm "$PERSON_AT" "$T"
[[ $STATUS == 200 && $(jget status) == confirmed ]] && ok "the person confirms" || fail "person confirm: $STATUS $BODY"
req w GET "$QRPAGE"
[[ $STATUS == 303 && $LOCATION == /account && -n $(jar_value w yh_sid) ]] &&
  ok "the person's browser is logged in" || fail "person claim: $STATUS '$LOCATION'"
req w GET /account
[[ $STATUS == 200 && $BODY == *赵一* ]] && ok "as the person" || fail "account: $STATUS"
(($(audit_count login.success '"method":"qr"') == 1)) && ok "one QR login, the person's" ||
  fail "QR logins: $(audit_count login.success '"method":"qr"')"

# The device flow: the organization's session is not offered the approval.
req b GET /device
[[ $STATUS == 302 && $LOCATION == /login* ]] && ok "/device with the organization's session: sent to log in" ||
  fail "org /device: $STATUS '$LOCATION'"

no_errors_in "errors in authd's log" "$TMP/authd.log"
check_stop_authd
no_sanitizer_in "sanitizer reports in the authd log:" "$TMP/authd.log"
finish "qr_org: all checks passed"
