#!/usr/bin/env bash
# Attacks on the OIDC provider, each with a check (tests/node/oidc_rp.mjs "attacks"):
# redirect URI mismatch (no redirect), open redirect on logout, code replay (and the
# refresh token it issued revoked), missing or wrong PKCE verifier, redirect_uri
# substitution at /token, refresh-token reuse (the family revoked), missing and wrong CSRF
# token, login CSRF, session fixation, prompt=none without a session (login_required),
# lockout after 5 failures (in the audit trail), the ID number claim never released to an
# app without the permission (and released to one with it, so the check can fail).
# The setup (authd, apps, users) is oidc_rp.sh's.
exec bash "$(dirname "${BASH_SOURCE[0]}")/oidc_rp.sh" attacks
