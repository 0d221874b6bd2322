// A relying party with openid-client (v5) for a login the test drives with curl
// (tests/integration/cert_login.sh): two steps sharing a state file.
//
//   node cert_rp.mjs start STATE.json ISSUER CLIENT_ID SECRET REDIRECT_URI SCOPE
//       writes the request's state, nonce and PKCE verifier to STATE.json and prints
//       the authorization URL
//   node cert_rp.mjs finish STATE.json CALLBACK_URL
//       redeems the code of CALLBACK_URL (openid-client checks the state, the ID token's
//       signature, issuer, audience and nonce, and PKCE), asks /userinfo, and prints
//       {"claims": the ID token's claims, "userinfo": ...}; exits 1 on an error
import fs from 'node:fs';
import { Issuer, generators, custom } from 'openid-client';

custom.setHttpOptionsDefaults({ timeout: 15000 });

async function client(st) {
  const issuer = await Issuer.discover(st.issuer);
  return new issuer.Client({
    client_id: st.client_id,
    client_secret: st.secret,
    redirect_uris: [st.redirect_uri],
    response_types: ['code'],
    id_token_signed_response_alg: (issuer.id_token_signing_alg_values_supported || ['ES256'])[0],
    token_endpoint_auth_method: 'client_secret_basic',
  });
}

async function main([mode, file, ...a]) {
  if (mode === 'start') {
    const [issuer, clientId, secret, redirectUri, scope] = a;
    const st = { issuer, client_id: clientId, secret, redirect_uri: redirectUri,
      state: generators.state(), nonce: generators.nonce(), verifier: generators.codeVerifier() };
    const c = await client(st);
    fs.writeFileSync(file, JSON.stringify(st));
    console.log(c.authorizationUrl({ scope, state: st.state, nonce: st.nonce,
      redirect_uri: redirectUri, code_challenge: generators.codeChallenge(st.verifier),
      code_challenge_method: 'S256' }));
    return;
  }
  if (mode === 'finish') {
    const st = JSON.parse(fs.readFileSync(file, 'utf8'));
    const c = await client(st);
    const tokens = await c.callback(st.redirect_uri, c.callbackParams(a[0]),
      { state: st.state, nonce: st.nonce, code_verifier: st.verifier, response_type: 'code' });
    const userinfo = await c.userinfo(tokens);
    console.log(JSON.stringify({ claims: tokens.claims(), userinfo }));
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`cert_rp: ${e.error || ''} ${e.error_description || e.message}`);
  process.exit(1);
});
