#!/usr/bin/env bash
# Attacks on the OIDC provider, each with a check (tests/node/oidc_rp.mjs "attacks"):
# redirect URI mismatch (no redirect), open redirect on logout, code replay (and the
# refresh token it issued revoked), missing or wrong PKCE verifier, redirect_uri
# substitution at /token, refresh-token reuse (the family revoked), missing and wrong CSRF
# token, login CSRF, session fixation, prompt=none without a session (login_required),
# lockout after 5 failures (in the audit trail), the ID number claim never released to an
# app without the permission (and released to one with it, so the check can fail),
# logout with another person's or another session's ID token (confirmation asked, the
# session lives on; the session's own token still logs out at once), prompt=login and
# max_age with a yh_reauth marker written by hand or made for another session (to the
# login page; a real login gives a fresh auth_time), refresh-token reuse (the family's
# access tokens refused at userinfo and introspection), and a code presented by another
# client (answered like an unknown code, still good for its own client).
# The setup (authd, apps, users) is oidc_rp.sh's.
exec bash "$(dirname "${BASH_SOURCE[0]}")/oidc_rp.sh" attacks
