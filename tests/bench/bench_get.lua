-- wrk script for tests/bench/bench_oidc.sh: a plain GET of the URL (a static document such
-- as the discovery document). Every response should be 200; wrk counts the others as
-- "Non-2xx or 3xx responses".
wrk.method = "GET"
