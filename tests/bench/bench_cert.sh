#!/usr/bin/env bash
# bench_cert.sh: builds the test PKI (tests/integration/pki.sh) with a CRL of 100,000
# serials for CA a's intermediate and runs cert_verify_bench over it (certificate-login
# verifications per second beside raw OpenSSL chain verification, and login latencies
# while the CRL is taken again and again). YH_BUILD: the build directory.
set -u
: "${YH_BUILD:?}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/pki.sh"
tmp=$(mktemp -d /tmp/bench_cert.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pki_build "$tmp" || { echo "bench_cert.sh: openssl could not build the PKI" >&2; exit 1; }
PKI_CRL_EXTRA=100000 pki_crl "$tmp" ia ia ||
  { echo "bench_cert.sh: openssl ca -gencrl failed" >&2; exit 1; }
mkdir -p "$tmp/crl" && cp "$tmp/ia.crl" "$tmp/crl/a.crl"
"$YH_BUILD/tests/bench/cert_verify_bench" "$tmp"
