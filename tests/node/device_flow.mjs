// A kiosk with node's openid-client (v5): the device authorization grant (RFC 8628)
// against authd, while the person approves elsewhere (tests/integration/device_flow.sh,
// over HTTP with curl).
//
//   node device_flow.mjs ISSUER CLIENT_ID DIR
//
// Discovers the issuer, asks /device_authorization (client.deviceAuthorization, a public
// client), writes the user code and verification_uri_complete to DIR/user_code (one
// line each, renamed into place when complete), then polls (handle.poll: it waits the
// interval, follows slow_down and authorization_pending, and validates the ID token) and
// writes the token response with the ID token's claims to DIR/tokens.json. Prints "ok:"
// or "FAIL:" lines; exits 1 on failure.
import fs from 'node:fs';
import { Issuer, custom } from 'openid-client';

custom.setHttpOptionsDefaults({ timeout: 15000 });

const [issuerUrl, clientId, dir] = process.argv.slice(2);
let fails = 0;
const ok = (m) => console.log(`ok: ${m}`);
const fail = (m) => { console.log(`FAIL: ${m}`); fails++; };

try {
  const issuer = await Issuer.discover(issuerUrl);
  if (issuer.metadata.device_authorization_endpoint !== `${issuerUrl}/device_authorization`)
    fail(`discovery: device_authorization_endpoint ${issuer.metadata.device_authorization_endpoint}`);
  const client = new issuer.Client({
    client_id: clientId, token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'ES256',
  });
  const handle = await client.deviceAuthorization({ scope: 'openid profile' });
  if (/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(handle.user_code))
    ok(`openid-client: device authorization answered, user code ${handle.user_code}`);
  else
    fail(`openid-client: user code ${handle.user_code}`);
  fs.writeFileSync(`${dir}/user_code.tmp`, `${handle.user_code}\n${handle.verification_uri_complete}\n`);
  fs.renameSync(`${dir}/user_code.tmp`, `${dir}/user_code`);
  const tokens = await handle.poll();
  const claims = tokens.claims();
  fs.writeFileSync(`${dir}/tokens.json`, JSON.stringify({ ...tokens, claims }));
  if (claims.aud === clientId && typeof claims.sub === 'string' && tokens.access_token)
    ok('openid-client: polled until approved; the ID token validates (aud, iss, signature)');
  else
    fail(`openid-client: tokens ${JSON.stringify(tokens)}`);
} catch (e) {
  fail(`openid-client: ${e.name}: ${e.message} ${e.error ?? ''} ${e.error_description ?? ''}`);
}
process.exit(fails ? 1 : 0);
