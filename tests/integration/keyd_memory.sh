#!/usr/bin/env bash
# The HTTP process holds no key. After oidc_round (lib.sh: a client_credentials grant,
# the login form, /authorize, the code redeemed, /userinfo) a python3 script (root: it
# reads /proc/PID/maps and /proc/PID/mem) searches every readable mapping of authd's
# HTTP process for the bytes of every key:
#   - from the key files: vault.key's enc and idx keys, subject.key, client-secret.key,
#     audit.key (each raw, and as the hex text the file holds);
#   - derived in keyd: the CSRF, re-authentication, login-name and user-reference keys
#     (HMAC-SHA256(subject key, label), computed here the same way);
#   - the ring (ES256, RS256 and SM2 keys by default): the EC private scalar or the RSA
#     private exponent of every keys/*.pem (openssl pkey -text), big-endian and as
#     OpenSSL's BIGNUM holds it (little-endian), and the base64 lines of the PEM files.
# None may be found. Controls, so that a pass means something: the same search in
# keyd's memory finds them (root may read it although keyd is not dumpable), and so does
# the search in the HTTP process of authd started with keys.in_process = yes.
set -u
: "${YH_BUILD:?}"
. "$(dirname "$0")/lib.sh"
need_authd
[[ $(id -u) == 0 ]] || { echo "FAIL: reading another process's memory needs root"; exit 1; }

make_tmp keyd-memory
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
S=$TMP/state
CB=http://127.0.0.1:9/cb
ID=11010519491231002X
PW='Key Memory 2026!'
SECRET=svc-secret-for-the-key-memory-test-000000001

# needles: every key's bytes, as "name hex-of-the-bytes" lines in $TMP/needles.
needles() {
  "$PY" - "$S" >"$TMP/needles" <<'EOF'
import glob, hashlib, hmac, os, re, subprocess, sys
state = sys.argv[1]
out = []
def key_lines(path):
    return [l.strip() for l in open(path) if re.fullmatch(r"[0-9a-fA-F]{64}", l.strip())
            or re.match(r"^(enc|idx) [0-9a-f]{64}$", l.strip())]
for name in ("vault.key", "subject.key", "client-secret.key", "audit.key"):
    for i, line in enumerate(key_lines(os.path.join(state, name))):
        h = line.split()[-1].lower()
        out.append(("%s[%d]" % (name, i), bytes.fromhex(h)))
        out.append(("%s[%d] as hex" % (name, i), h.encode()))
subject = bytes.fromhex(key_lines(os.path.join(state, "subject.key"))[0])
for label in ("yihao/csrf/v1", "yihao/reauth/v1", "yihao/login-name/v1", "yihao-uref/1"):
    out.append(("key derived for " + label, hmac.new(subject, label.encode(), hashlib.sha256).digest()))
for pem in sorted(glob.glob(os.path.join(state, "keys", "*.pem"))):
    kid = os.path.basename(pem)[:8]
    text = subprocess.run(["openssl", "pkey", "-in", pem, "-noout", "-text"], check=True,
                          capture_output=True, text=True).stdout
    m = re.search(r"priv:\s*((?:[0-9a-f]{2}:?\s*)+)pub:", text)
    if m:    # ES256, SM2: the private scalar
        what = "private scalar"
        priv = bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(1)))
        priv = priv[-32:] if len(priv) > 32 else priv     # a leading 00 pads the scalar
    else:    # RS256: the private exponent
        what = "RSA private exponent"
        m = re.search(r"privateExponent:\s*((?:[0-9a-f]{2}:?\s*)+)prime1:", text)
        priv = bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(1))).lstrip(b"\0")
    out.append(("ring key %s %s" % (kid, what), priv))
    # OpenSSL keeps it as a BIGNUM: 64-bit words, least significant first
    out.append(("ring key %s %s as a BIGNUM" % (kid, what), priv[::-1]))
    for i, line in enumerate(l for l in open(pem) if not l.startswith("-----")):
        if len(line.strip()) >= 40:
            out.append(("ring key %s PEM line %d" % (kid, i), line.strip().encode()))
for name, b in out:
    print(name.replace(" ", "_"), b.hex())
EOF
}

# scan PID: prints the needles found in the process's readable memory, one per line.
scan() {
  "$PY" - "$1" "$TMP/needles" <<'EOF'
import sys
pid, path = sys.argv[1], sys.argv[2]
needles = [(l.split()[0], bytes.fromhex(l.split()[1])) for l in open(path)]
found = set()
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if "r" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
            continue
        if hi - lo > (1 << 30):          # sanitizer shadow and reservations: no data
            continue
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except (OSError, ValueError):
            continue
        for name, n in needles:
            if name not in found and data.find(n) >= 0:
                found.add(name)
for name, _ in needles:
    if name in found:
        print(name)
EOF
}

# ---- authd with keyd
start_authd
KEYD=$(cat "/proc/$PID/task/$PID/children" | tr -d ' ')
[[ -n $KEYD ]] || die "authd $PID has no keyd child"
oidc_round_setup "$ID" "$PW" "$SECRET"
oidc_round jar "$ID" "$PW" "$SECRET" && ok "login, token grants and userinfo"
needles
total=$(wc -l <"$TMP/needles")
((total >= 16)) && ok "$total needles from the key files, the derived keys and the ring" ||
  fail "only $total needles"

scan "$PID" >"$TMP/http.found"
if [[ -s $TMP/http.found ]]; then
  fail "key bytes in the HTTP process's memory: $(tr '\n' ' ' <"$TMP/http.found")"
else
  ok "none of the $total needles in the HTTP process's memory"
fi
scan "$KEYD" >"$TMP/keyd.found"
for want in vault.key subject.key client-secret.key audit.key key_derived_for_yihao/csrf/v1 \
    private_scalar RSA_private_exponent; do
  grep -q -- "$want" "$TMP/keyd.found" && ok "control: keyd's memory holds $want" ||
    fail "control: $want not found in keyd's memory (the search is broken)"
done
check_stop_authd

# ---- the control: keys in the HTTP process
printf 'keys.in_process = yes\n' >"$TMP/inproc.conf"
start_authd -c "$TMP/inproc.conf" -d "$S" -l "127.0.0.1:$PORT"
oidc_round jar2 "$ID" "$PW" "$SECRET" || true
scan "$PID" >"$TMP/inproc.found"
for want in vault.key subject.key audit.key key_derived_for_yihao/csrf/v1 private_scalar \
    RSA_private_exponent; do
  grep -q -- "$want" "$TMP/inproc.found" &&
    ok "control: with keys.in_process the HTTP process holds $want" ||
    fail "control: keys.in_process, $want not found (the search is broken)"
done
check_stop_authd
finish "all keyd_memory checks passed"
