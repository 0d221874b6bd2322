-- wrk script for tests/bench/bench_oidc.sh: POST /token grant_type=client_credentials.
-- The client authenticates with client_secret_basic: the Authorization header is given
-- on wrk's command line (-H). Every response should be 200; wrk counts the others as
-- "Non-2xx or 3xx responses".
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
