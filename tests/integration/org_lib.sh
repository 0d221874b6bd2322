# Helpers of the scripts that act for an organization through OIDC (org_oidc.sh,
# org_lifecycle.sh), sourced after lib.sh. The script sets APP and SECRET (a
# confidential app with scope org whose redirect URI is CB=http://127.0.0.1:9/cb).

jget() {
  "$PY" -c 'import sys,json;v=json.load(open(sys.argv[1])).get(sys.argv[2],"");print(v)' "$TMP/body" "$1" 2>/dev/null
}
# jwt_org JWT EXPR: EXPR over the payload's yh_org (o; None when absent).
jwt_org() {
  "$PY" -c 'import sys,json,base64;p=sys.argv[1].split(".")[1];p+="="*(-len(p)%4);o=json.loads(base64.urlsafe_b64decode(p)).get("yh_org");print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
# body_org EXPR: EXPR over the last JSON body's yh_org.
body_org() {
  "$PY" -c 'import sys,json;o=json.load(open(sys.argv[1])).get("yh_org");print(eval(sys.argv[2]))' "$TMP/body" "$1" 2>/dev/null
}
# hidden_args: the hidden inputs of the last page as --data-urlencode arguments, one a line.
hidden_args() {
  "$PY" -c '
import sys,re,html
for n,v in re.findall(r"<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">", open(sys.argv[1]).read()):
    print("%s=%s" % (html.unescape(n), html.unescape(v)))' "$TMP/body"
}
# to_page JAR [EXTRA]: GET /authorize for APP asking openid profile org (consenting when
# asked); the last response is what /authorize finally answered. Sets STATE, VERIFIER.
to_page() {
  authorize_visit "$1" "client_id=$APP&scope=openid%20profile%20org${2:-}"
  STATE=$AZ_STATE
}
# choose JAR ORG [CSRF]: posts the page's form back with org=ORG (and another csrf).
choose() {
  local -a args=()
  local line
  while IFS= read -r line; do
    [[ -n ${3:-} && $line == csrf=* ]] && line="csrf=$3"
    args+=(--data-urlencode "$line")
  done < <(hidden_args)
  req "$1" POST /authorize "${args[@]}" --data-urlencode "org=$2"
}
# redeem: the code in LOCATION at /token for APP; sets AT, IDT, RT.
redeem() {
  AT= IDT= RT=
  [[ $STATUS == 302 && $LOCATION == "$CB?"* && $(qparam "$LOCATION" state) == "$STATE" ]] ||
    { fail "no code: $STATUS '$LOCATION'"; return 1; }
  req - POST /token -H "Authorization: $(basic "$APP" "$SECRET")" \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$(qparam "$LOCATION" code)" \
    --data-urlencode "redirect_uri=$CB" --data-urlencode "code_verifier=$VERIFIER"
  AT=$(jget access_token) IDT=$(jget id_token) RT=$(jget refresh_token)
  [[ $STATUS == 200 && -n $AT && -n $IDT && -n $RT ]] || { fail "/token: $STATUS $BODY"; return 1; }
}

