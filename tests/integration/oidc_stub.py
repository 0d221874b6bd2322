# A stand-in OpenID Connect provider for tests/integration/upstream_attacks.sh: it
# forges the ID tokens a hostile or broken upstream would send. Its issuer is
# http://127.0.0.1:PORT; discovery, a JWKS of one ES256 key (kid k1), /authorize (which
# remembers the nonce and sends the browser straight back with code = the mode of
# MODE_FILE and the iss parameter) and /token, whose ID token the code's mode shapes:
#   ok          a good token: sub u1, yh_id_number ID (valid), acr urn:prov:l3
#   nonce       another nonce
#   aud         for another client
#   iss         from another issuer
#   key         signed by a key not in the JWKS (kid k2)
#   none        alg none, no signature
#   badid       an ID number whose check digit is wrong
#   expired     exp an hour ago
#   conflict    sub u1 with another (valid) ID number
#   acr         acr urn:prov:l9 (not in the city's acr_map)
#   org         a legal-person login: user_type org, uscc 91350100123456788Q
#   badorg      the same with a credit code failing its check character
#   long        a sub of 300 bytes (over what a subject may be)
# GET /logout-token?sid=S[&sub=U] answers a back-channel logout token of this provider
# (typ logout+jwt, signed with k1) naming the upstream session S (and the subject U).
# Requests are appended to LOG_FILE. Usage: oidc_stub.py PORT MODE_FILE LOG_FILE ID BADID
# OTHERID CLIENT_ID
import base64, json, sys, time, urllib.parse
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from stub_http import StubHandler, serve

port = int(sys.argv[1])
ID, BADID, OTHERID, CLIENT = sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
ISS = "http://127.0.0.1:%d" % port
K1 = ec.generate_private_key(ec.SECP256R1())
K2 = ec.generate_private_key(ec.SECP256R1())
NONCES = {}


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwk(key, kid):
    n = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}


def sign(claims, key, kid, alg="ES256", typ="JWT"):
    head = b64(json.dumps({"alg": alg, "kid": kid, "typ": typ}).encode())
    body = b64(json.dumps(claims).encode())
    if alg == "none":
        return head + "." + body + "."
    r, s = decode_dss_signature(key.sign((head + "." + body).encode(), ec.ECDSA(hashes.SHA256())))
    return head + "." + body + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def id_token(mode, nonce):
    now = int(time.time())
    c = {"iss": ISS, "sub": "u1", "aud": CLIENT, "iat": now, "exp": now + 300, "nonce": nonce,
         "yh_id_number": ID, "name": "王小明", "acr": "urn:prov:l3", "sid": "ps1"}
    key, kid, alg = K1, "k1", "ES256"
    if mode == "nonce":
        c["nonce"] = "another"
    elif mode == "aud":
        c["aud"] = "another-client"
    elif mode == "iss":
        c["iss"] = "http://127.0.0.1:9"
    elif mode == "key":
        key, kid = K2, "k2"
    elif mode == "none":
        alg = "none"
    elif mode == "badid":
        c["yh_id_number"] = BADID
    elif mode == "expired":
        c["iat"], c["exp"] = now - 7200, now - 3600
    elif mode == "conflict":
        c["yh_id_number"] = OTHERID
    elif mode == "acr":
        c["acr"] = "urn:prov:l9"
    elif mode == "org":
        c["user_type"], c["uscc"] = "org", "91350100123456788Q"
    elif mode == "badorg":
        c["user_type"], c["uscc"] = "org", "91350100123456788A"
    elif mode == "long":
        c["sub"] = "x" * 300
    return sign(c, key, kid, alg)


def logout_token(q):
    now = int(time.time())
    c = {"iss": ISS, "aud": CLIENT, "iat": now, "exp": now + 120,
         "jti": b64(time.time_ns().to_bytes(8, "big")), "sid": q.get("sid", ""),
         "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    if "sub" in q:
        c["sub"] = q["sub"]
    return sign(c, K1, "k1", typ="logout+jwt")


class H(StubHandler):
    def do_GET(self):
        mode = self.take_request()
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/.well-known/openid-configuration":
            self.answer(200, json.dumps({
                "issuer": ISS, "authorization_endpoint": ISS + "/authorize",
                "token_endpoint": ISS + "/token", "jwks_uri": ISS + "/jwks",
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": True}).encode())
        elif u.path == "/logout-token":
            self.answer(200, logout_token(q).encode())
        elif u.path == "/jwks":
            self.answer(200, json.dumps({"keys": [jwk(K1, "k1")]}).encode())
        elif u.path == "/authorize":
            NONCES[mode] = q.get("nonce", "")
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"code": mode, "state": q.get("state", ""), "iss": ISS})
            self.send_response(302)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.answer(404, b"{}")

    def do_POST(self):
        self.take_request()
        with open(sys.argv[3]) as f:
            last = f.readlines()[-1]
        form = dict(urllib.parse.parse_qsl(json.loads(last)["body"]))
        code = form.get("code", "")
        tok = id_token(code, NONCES.get(code, ""))
        self.answer(200, json.dumps({"access_token": "at-" + code, "token_type": "Bearer",
                                     "expires_in": 300, "id_token": tok}).encode())


serve(H)
