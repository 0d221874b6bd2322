// Redeems one authorization code with node's openid-client (v5) as an app that expects
// its ID tokens signed with one algorithm, so the library itself checks the ID token:
// discovery, the token request (client_secret_basic), the signature against the
// discovered jwks_uri, the header alg against the app's id_token_signed_response_alg,
// iss, aud, exp, nonce, at_hash (tests/integration/keys_per_app.sh).
//
//   node id_token.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI ALG CALLBACK_URL \
//        CODE_VERIFIER STATE NONCE
//
// CALLBACK_URL is where authd redirected the browser (REDIRECT_URI?code=...&state=...).
// Prints {"alg":..., "sub":...} of the validated ID token and exits 0; on any failure
// prints the library's message and exits 1.
import { Issuer, custom } from 'openid-client';

custom.setHttpOptionsDefaults({ timeout: 15000 });

const [issuerUrl, clientId, secret, redirectUri, alg, callbackUrl, verifier, state, nonce] =
  process.argv.slice(2);

try {
  const issuer = await Issuer.discover(issuerUrl);
  const client = new issuer.Client({
    client_id: clientId,
    client_secret: secret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    id_token_signed_response_alg: alg,
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const params = client.callbackParams(callbackUrl);
  const tokens = await client.callback(redirectUri, params,
    { code_verifier: verifier, state, nonce, response_type: 'code' });
  const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url'));
  console.log(JSON.stringify({ alg: header.alg, sub: tokens.claims().sub }));
} catch (e) {
  console.log(`openid-client: ${e.message}`);
  process.exit(1);
}
