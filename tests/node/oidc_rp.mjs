// A real relying party against authd, with node's openid-client (v5) and jose.
//
//   node oidc_rp.mjs genkey DIR        writes DIR/pub.jwks.json and DIR/priv.jwks.json
//                                      (an ES256 key for a private_key_jwt client)
//   node oidc_rp.mjs rp CONFIG.json    the end-to-end flow (tests/integration/oidc_rp.sh)
//   node oidc_rp.mjs attacks CONFIG.json  the attack cases (tests/integration/oidc_attacks.sh)
//   node oidc_rp.mjs par CONFIG.json   pushed authorization requests with app1 and, when
//                                      the config has one, the public app "pub"
//                                      (tests/integration/oidc_par.sh)
//
// CONFIG: {"issuer", "user": {"username","password"}, "lockuser": {...},
//          "otheruser": {...},
//          "apps": {"app1": {"client_id","client_secret","redirect_uri","post_logout",
//                            "bcl_port"}, "app2": {..., "jwks_file"}, "app3": {...}},
//          "audit_file"}
// The login is driven over plain HTTP like a browser without JavaScript: a cookie jar,
// redirects followed by hand, the login and consent forms submitted with their hidden
// fields (the CSRF token found with name="csrf" value="..."). The flow stops at the 302
// whose Location is the app's redirect URI and hands that URL to client.callback.
// Prints "ok: ..." per check and "FAIL: ..." per failure; exits 1 on any failure.
import fs from 'node:fs';
import http from 'node:http';
import { Issuer, generators, custom, errors } from 'openid-client';
import * as jose from 'jose';

let fails = 0;
const ok = (m) => console.log(`ok: ${m}`);
const fail = (m) => { console.log(`FAIL: ${m}`); fails++; };
const check = (cond, m, detail = '') => (cond ? ok(m) : fail(detail ? `${m}: ${detail}` : m));

custom.setHttpOptionsDefaults({ timeout: 15000 });

// ---- a browser without JavaScript ------------------------------------------------------

class Browser {
  constructor(origin) {
    this.origin = new URL(origin).origin;
    this.jar = new Map();
    this.pages = [];        // paths of the HTML pages seen (login, consent, ...)
  }

  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(res) {
    const list = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
    for (const c of list) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) ||
        attrs.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now());
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(url, { method = 'GET', form } = {}) {
    const u = new URL(url);
    const headers = { 'accept-language': 'zh-CN' };
    if (u.origin === this.origin && this.jar.size) headers.cookie = this.cookieHeader();
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    if (u.origin === this.origin) this.keep(res);
    const text = await res.text();
    return { status: res.status, location: res.headers.get('location'), text, headers: res.headers };
  }
}

const unescapeHtml = (s) => s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (m, e) => {
  const k = e.toLowerCase();
  if (k === 'amp') return '&';
  if (k === 'lt') return '<';
  if (k === 'gt') return '>';
  if (k === 'quot') return '"';
  if (k === 'apos') return "'";
  if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
  return String.fromCodePoint(parseInt(k.slice(1), 10));
});

// The form posting to action: its hidden inputs as an object, or null.
function formFields(html, action) {
  const re = /<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html)) !== null) {
    if (unescapeHtml(m[1]) !== action) continue;
    const fields = {};
    const inp = /<input\b([^>]*)>/gi;
    let i;
    while ((i = inp.exec(m[2])) !== null) {
      const name = /\bname="([^"]*)"/i.exec(i[1]);
      const value = /\bvalue="([^"]*)"/i.exec(i[1]);
      const type = /\btype="([^"]*)"/i.exec(i[1]);
      if (name && (!type || type[1].toLowerCase() === 'hidden')) {
        fields[unescapeHtml(name[1])] = value ? unescapeHtml(value[1]) : '';
      }
    }
    return fields;
  }
  return null;
}

const csrfOf = (html) => {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  return m ? unescapeHtml(m[1]) : null;
};

// Follows the flow from url until a redirect to stopPrefix. Logs in with user when the
// login form appears (user null: a login form is a failure), allows consent. Returns
// {url, sawLogin, sawConsent} or throws with what it saw.
async function drive(browser, url, stopPrefix, user) {
  let sawLogin = false;
  let sawConsent = false;
  let res = await browser.request(url);
  for (let hops = 0; hops < 20; hops++) {
    if (res.status >= 300 && res.status < 400 && res.location) {
      const next = new URL(res.location, url).href;
      if (next.startsWith(stopPrefix)) return { url: next, sawLogin, sawConsent };
      url = next;
      res = await browser.request(url);
      continue;
    }
    if (res.status !== 200) {
      throw new Error(`${url}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
    }
    const login = formFields(res.text, '/login');
    const consent = formFields(res.text, '/consent');
    if (login) {
      if (!user) throw new Error(`${url}: a login form where none was expected`);
      sawLogin = true;
      browser.pages.push('login');
      url = new URL('/login', url).href;
      res = await browser.request(url, {
        method: 'POST',
        form: { ...login, username: user.username, password: user.password },
      });
      continue;
    }
    if (consent) {
      sawConsent = true;
      browser.pages.push('consent');
      url = new URL('/consent', url).href;
      res = await browser.request(url, { method: 'POST', form: { ...consent, action: 'allow' } });
      continue;
    }
    throw new Error(`${url}: unexpected page: ${res.text.replace(/\s+/g, ' ').slice(0, 400)}`);
  }
  throw new Error('too many hops');
}

// ---- back-channel logout receivers -------------------------------------------------------

function receiver(port) {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ method: req.method, type: req.headers['content-type'] || '', body });
      res.writeHead(200, { 'cache-control': 'no-store' });
      res.end();
    });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, got }));
  });
}

async function waitFor(pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

async function checkLogoutToken(name, rcv, issuer, clientId, sid, jwks) {
  const arrived = await waitFor(() => rcv.got.length > 0, 15000);
  if (!arrived) return fail(`${name}: no back-channel logout request arrived`);
  const req = rcv.got[0];
  check(req.method === 'POST' && req.type.startsWith('application/x-www-form-urlencoded'),
    `${name}: logout token POSTed as a form`, `${req.method} ${req.type}`);
  const token = new URLSearchParams(req.body).get('logout_token');
  if (!token) return fail(`${name}: no logout_token in the body`);
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: issuer.issuer, audience: clientId, typ: 'logout+jwt', maxTokenAge: '5m',
    });
    check(payload.events &&
      typeof payload.events['http://schemas.openid.net/event/backchannel-logout'] === 'object',
    `${name}: logout token has the back-channel logout event`);
    check(payload.nonce === undefined, `${name}: logout token carries no nonce`);
    check(typeof payload.jti === 'string' && payload.jti.length > 0, `${name}: logout token has a jti`);
    check(payload.sid === sid, `${name}: logout token names the session (sid)`, `${payload.sid} vs ${sid}`);
    check(typeof protectedHeader.kid === 'string', `${name}: logout token has a kid`);
  } catch (e) {
    fail(`${name}: logout token does not verify with jose: ${e.message}`);
  }
}

// ---- clients -----------------------------------------------------------------------------

function makeClient(issuer, app, method) {
  const alg = (issuer.id_token_signing_alg_values_supported || ['ES256'])[0];
  const meta = {
    client_id: app.client_id,
    redirect_uris: [app.redirect_uri],
    response_types: ['code'],
    id_token_signed_response_alg: alg,
    token_endpoint_auth_method: method,
  };
  if (app.post_logout) meta.post_logout_redirect_uris = [app.post_logout];
  if (method.startsWith('client_secret')) meta.client_secret = app.client_secret;
  let jwks;
  if (method === 'private_key_jwt') {
    jwks = JSON.parse(fs.readFileSync(app.jwks_file, 'utf8'));
    meta.token_endpoint_auth_signing_alg = jwks.keys[0].alg || 'ES256';
  }
  return new issuer.Client(meta, jwks);
}

function authRequest(client, app, scope, extra = {}) {
  const verifier = generators.codeVerifier();
  const state = generators.state();
  const nonce = generators.nonce();
  const url = client.authorizationUrl({
    scope, state, nonce,
    redirect_uri: app.redirect_uri,
    code_challenge: generators.codeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, verifier, state, nonce };
}

async function codeFlow(browser, client, app, scope, user, extra = {}) {
  const a = authRequest(client, app, scope, extra);
  const d = await drive(browser, a.url, app.redirect_uri, user);
  const params = client.callbackParams(d.url);
  const tokens = await client.callback(app.redirect_uri, params,
    { code_verifier: a.verifier, state: a.state, nonce: a.nonce, response_type: 'code' });
  return { tokens, drive: d, params, auth: a };
}

const expectOAuthError = async (p, code, m) => {
  try {
    await p;
    fail(`${m}: succeeded`);
  } catch (e) {
    const got = e instanceof errors.OPError ? e.error : e.message;
    check(got === code, m, `got ${got}`);
  }
};

// ---- the end-to-end relying party ---------------------------------------------------------

async function rp(cfg) {
  const { app1, app2 } = cfg.apps;
  const r1 = await receiver(app1.bcl_port);
  const r2 = await receiver(app2.bcl_port);
  try {
    const issuer = await Issuer.discover(cfg.issuer);
    check(issuer.issuer === cfg.issuer, 'discovery: issuer', issuer.issuer);
    check(Array.isArray(issuer.code_challenge_methods_supported) &&
      issuer.code_challenge_methods_supported.includes('S256'), 'discovery: S256 advertised');
    const jwks = jose.createRemoteJWKSet(new URL(issuer.jwks_uri));
    const c1 = makeClient(issuer, app1, 'client_secret_basic');
    const c2 = makeClient(issuer, app2, 'private_key_jwt');
    const browser = new Browser(cfg.issuer);

    // app1: log in by POSTing the real form, code flow with PKCE
    const f1 = await codeFlow(browser, c1, app1, 'openid profile phone', cfg.user);
    check(f1.drive.sawLogin, 'app1: the login form was shown and submitted');
    check(f1.params.iss === issuer.issuer, 'app1: the authorization response carries iss');
    const t1 = f1.tokens;
    const claims1 = t1.claims();    // openid-client validated signature, iss, aud, nonce, at_hash
    ok('app1: ID token validated by openid-client');
    check(/^urn:yihao:loa:[1-4]$/.test(claims1.acr || ''), 'app1: acr', claims1.acr);
    check(Array.isArray(claims1.amr) && claims1.amr.includes('pwd'), 'app1: amr has pwd',
      JSON.stringify(claims1.amr));
    check(Number.isInteger(claims1.auth_time) && Math.abs(claims1.auth_time - Date.now() / 1000) < 300,
      'app1: auth_time is now');
    check(typeof claims1.sid === 'string' && claims1.sid.length > 0, 'app1: sid');
    check(typeof t1.refresh_token === 'string', 'app1: refresh token issued');
    check(t1.token_type.toLowerCase() === 'bearer', 'app1: token_type Bearer');
    // the access token is an RFC 9068 JWT that verifies against /jwks
    try {
      const { protectedHeader, payload } = await jose.jwtVerify(t1.access_token, jwks,
        { issuer: issuer.issuer, typ: 'at+jwt' });
      check(protectedHeader.typ === 'at+jwt' && payload.client_id === app1.client_id,
        'app1: access token is at+jwt for app1');
    } catch (e) {
      fail(`app1: access token does not verify: ${e.message}`);
    }

    // userinfo
    const ui = await c1.userinfo(t1);
    check(ui.sub === claims1.sub, 'userinfo: sub matches the ID token');
    check(typeof ui.name === 'string' && ui.name.length > 0, 'userinfo: name');
    check(typeof ui.phone_number === 'string' && !ui.phone_number.includes('*'),
      'userinfo: phone_number unmasked with scope phone', ui.phone_number);
    check(ui.yh_id_number === undefined, 'userinfo: no ID number for app1');

    // refresh (rotation)
    const t1b = await c1.refresh(t1);
    check(t1b.refresh_token && t1b.refresh_token !== t1.refresh_token, 'refresh: rotated refresh token');
    check(t1b.claims().sub === claims1.sub, 'refresh: new ID token for the same sub');

    // introspection and revocation
    const in1 = await c1.introspect(t1b.access_token, 'access_token');
    check(in1.active === true && in1.client_id === app1.client_id && in1.sub === claims1.sub,
      'introspect: access token active', JSON.stringify(in1));
    const in2 = await c1.introspect(t1b.refresh_token, 'refresh_token');
    check(in2.active === true, 'introspect: refresh token active');
    const in3 = await c1.introspect(t1.refresh_token, 'refresh_token');
    check(in3.active === false, 'introspect: the rotated refresh token is inactive');
    await c1.revoke(t1b.access_token, 'access_token');
    const in4 = await c1.introspect(t1b.access_token, 'access_token');
    check(in4.active === false, 'revoke: the access token is inactive afterwards');
    await expectOAuthError(c1.userinfo(t1b.access_token), 'invalid_token',
      'revoke: userinfo refuses the revoked access token');
    const t1c = await c1.refresh(t1b);     // the refresh token still works
    ok('refresh after revoking the access token');

    // app2 (private_key_jwt): single sign-on, no password
    const f2 = await codeFlow(browser, c2, app2, 'openid profile', null);
    check(!f2.drive.sawLogin, 'app2: code obtained without a password (SSO)');
    const claims2 = f2.tokens.claims();
    ok('app2: ID token validated by openid-client (private_key_jwt at the token endpoint)');
    check(claims2.sid === claims1.sid, 'app2: the same session (sid)');
    check(claims2.sub !== claims1.sub, 'app2: a different pairwise sub than app1');
    const ui2 = await c2.userinfo(f2.tokens);
    check(ui2.sub === claims2.sub, 'app2: userinfo');

    // RP-initiated logout through app1; back-channel logout to both apps
    const endUrl = c1.endSessionUrl({
      id_token_hint: t1c.id_token || t1.id_token,
      post_logout_redirect_uri: app1.post_logout,
      state: 'bye-1',
    });
    let res = await browser.request(endUrl);
    for (let i = 0; i < 3 && res.status === 200; i++) {
      const f = formFields(res.text, '/logout');
      if (!f) break;
      res = await browser.request(new URL('/logout', cfg.issuer).href, { method: 'POST', form: f });
    }
    check(res.status >= 300 && res.status < 400 && res.location &&
      res.location.startsWith(app1.post_logout) && res.location.includes('state=bye-1'),
    'logout: back to the registered post-logout URI with state', `${res.status} ${res.location}`);
    await checkLogoutToken('app1', r1, issuer, app1.client_id, claims1.sid, jwks);
    await checkLogoutToken('app2', r2, issuer, app2.client_id, claims2.sid, jwks);

    // the logout takes effect at once
    await expectOAuthError(c2.userinfo(f2.tokens.access_token), 'invalid_token',
      'after logout: app2 access token refused at userinfo');
    await expectOAuthError(c1.refresh(t1c), 'invalid_grant',
      'after logout: app1 refresh token (bound to the session) refused');
    const f3 = authRequest(c1, app1, 'openid', { prompt: 'none' });
    const d3 = await drive(browser, f3.url, app1.redirect_uri, null);
    check(new URL(d3.url).searchParams.get('error') === 'login_required',
      'after logout: prompt=none gives login_required', d3.url);
  } finally {
    r1.server.close();
    r2.server.close();
  }
}

// ---- attacks ---------------------------------------------------------------------------------

async function tokenPost(issuer, form, auth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth[0])}:${encodeURIComponent(auth[1])}`).toString('base64')}`;
  const res = await fetch(issuer.token_endpoint, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  let json = {};
  try { json = await res.json(); } catch { /* not JSON */ }
  return { status: res.status, json };
}

// Runs the flow up to the redirect and returns the code (no token request).
async function getCode(browser, client, app, scope, user, extra = {}) {
  const a = authRequest(client, app, scope, extra);
  const d = await drive(browser, a.url, app.redirect_uri, user);
  const code = new URL(d.url).searchParams.get('code');
  if (!code) throw new Error(`no code in ${d.url}`);
  return { code, ...a };
}

async function loginAttempt(browser, origin, user, password, { csrf } = {}) {
  const page = await browser.request(new URL('/login', origin).href);
  const fields = formFields(page.text, '/login') || {};
  const form = { ...fields, username: user, password };
  if (csrf === null) delete form.csrf;
  else if (csrf !== undefined) form.csrf = csrf;
  return browser.request(new URL('/login', origin).href, { method: 'POST', form });
}

async function attacks(cfg) {
  const { app1, app3 } = cfg.apps;
  const issuer = await Issuer.discover(cfg.issuer);
  const c1 = makeClient(issuer, app1, 'client_secret_basic');
  const auth1 = [app1.client_id, app1.client_secret];
  const origin = cfg.issuer;

  // 1. redirect URI mismatch: an error page, never a redirect
  {
    const b = new Browser(origin);
    const a = authRequest(c1, { ...app1, redirect_uri: 'http://127.0.0.1:1/evil' }, 'openid');
    const res = await b.request(a.url);
    check(!(res.status >= 300 && res.status < 400), 'redirect_uri mismatch: no redirect',
      `${res.status} ${res.location}`);
    check(res.status >= 400, 'redirect_uri mismatch: an error page', `${res.status}`);
    const a2 = authRequest(c1, { ...app1, redirect_uri: `${app1.redirect_uri}/x` }, 'openid');
    const res2 = await b.request(a2.url);
    check(!res2.location, 'redirect_uri with an extra path: no redirect', `${res2.status} ${res2.location}`);
  }

  // 2. open redirect on logout
  {
    const b = new Browser(origin);
    const u = new URL(issuer.end_session_endpoint);
    u.searchParams.set('client_id', app1.client_id);
    u.searchParams.set('post_logout_redirect_uri', 'https://evil.example/phish');
    const res = await b.request(u.href);
    check(!(res.location || '').includes('evil.example'), 'logout: unregistered post_logout_redirect_uri not followed',
      `${res.status} ${res.location}`);
    const u2 = new URL(issuer.end_session_endpoint);
    u2.searchParams.set('post_logout_redirect_uri', app1.post_logout);
    const res2 = await b.request(u2.href);
    check(!res2.location, 'logout: a post_logout_redirect_uri without client_id or id_token_hint is not followed',
      `${res2.status} ${res2.location}`);
  }

  // 3. prompt=none without a session -> login_required
  {
    const b = new Browser(origin);
    const a = authRequest(c1, app1, 'openid', { prompt: 'none' });
    const res = await b.request(a.url);
    const loc = res.location ? new URL(res.location, origin) : null;
    check(loc && loc.href.startsWith(app1.redirect_uri) &&
      loc.searchParams.get('error') === 'login_required' && loc.searchParams.get('state') === a.state,
    'prompt=none without a session: login_required with state', `${res.status} ${res.location}`);
  }

  // 4. missing and wrong CSRF token; login CSRF (a token from another browser)
  {
    const b = new Browser(origin);
    const r1 = await loginAttempt(b, origin, cfg.user.username, cfg.user.password, { csrf: null });
    check(r1.status === 400 && !b.jar.has('yh_sid'), 'login without csrf: 400, no session', `${r1.status}`);
    const r2 = await loginAttempt(b, origin, cfg.user.username, cfg.user.password, { csrf: 'AAAA' + 'B'.repeat(39) });
    check(r2.status === 400 && !b.jar.has('yh_sid'), 'login with a wrong csrf: 400, no session', `${r2.status}`);
    const attacker = new Browser(origin);
    const page = await attacker.request(new URL('/login', origin).href);
    const stolen = csrfOf(page.text);
    const r3 = await loginAttempt(b, origin, cfg.user.username, cfg.user.password, { csrf: stolen });
    check(r3.status === 400 && !b.jar.has('yh_sid'), 'login CSRF: another browser\'s token refused', `${r3.status}`);
  }

  // one logged-in browser for the rest
  const b = new Browser(origin);
  b.jar.set('yh_sid', 'attacker-chosen-session-id-AAAAAAAAAAAAAAAAAAAA');

  // 5. code replay revokes what the code gave
  {
    const g = await getCode(b, c1, app1, 'openid profile', cfg.user);
    check(b.jar.get('yh_sid') !== 'attacker-chosen-session-id-AAAAAAAAAAAAAAAAAAAA',
      'session fixation: a planted session id is replaced at login');
    const form = { grant_type: 'authorization_code', code: g.code, redirect_uri: app1.redirect_uri, code_verifier: g.verifier };
    const first = await tokenPost(issuer, form, auth1);
    check(first.status === 200 && first.json.refresh_token, 'code: first redemption', JSON.stringify(first.json));
    const again = await tokenPost(issuer, form, auth1);
    check(again.status === 400 && again.json.error === 'invalid_grant', 'code replay: invalid_grant', JSON.stringify(again.json));
    const rt = await tokenPost(issuer, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token }, auth1);
    check(rt.json.error === 'invalid_grant', 'code replay: the refresh token it issued is revoked', JSON.stringify(rt.json));
  }

  // 6. session fixation: a new login rotates the session id; the old one is dead
  {
    const before = b.jar.get('yh_sid');
    await getCode(b, c1, app1, 'openid', cfg.user, { prompt: 'login' });
    const after = b.jar.get('yh_sid');
    check(before && after && before !== after, 'session fixation: the session id rotates on re-login');
    const old = new Browser(origin);
    old.jar.set('yh_sid', before);
    const a = authRequest(c1, app1, 'openid', { prompt: 'none' });
    const res = await old.request(a.url);
    check(res.location && new URL(res.location).searchParams.get('error') === 'login_required',
      'session fixation: the old session id no longer works', `${res.location}`);
  }

  // 7. PKCE: missing and wrong verifier
  {
    const g = await getCode(b, c1, app1, 'openid', null);
    const r = await tokenPost(issuer, { grant_type: 'authorization_code', code: g.code, redirect_uri: app1.redirect_uri }, auth1);
    check(r.status === 400 && r.json.error === 'invalid_grant', 'PKCE: missing code_verifier refused', JSON.stringify(r.json));
    const g2 = await getCode(b, c1, app1, 'openid', null);
    const r2 = await tokenPost(issuer, { grant_type: 'authorization_code', code: g2.code, redirect_uri: app1.redirect_uri,
      code_verifier: generators.codeVerifier() }, auth1);
    check(r2.status === 400 && r2.json.error === 'invalid_grant', 'PKCE: wrong code_verifier refused', JSON.stringify(r2.json));
    const g3 = await getCode(b, c1, app1, 'openid', null);
    const r3 = await tokenPost(issuer, { grant_type: 'authorization_code', code: g3.code,
      redirect_uri: `${app1.redirect_uri}x`, code_verifier: g3.verifier }, auth1);
    check(r3.json.error === 'invalid_grant', 'token: redirect_uri must equal the code\'s', JSON.stringify(r3.json));
  }

  // 8. refresh-token reuse revokes the family
  {
    const g = await getCode(b, c1, app1, 'openid', null);
    const t = await tokenPost(issuer, { grant_type: 'authorization_code', code: g.code, redirect_uri: app1.redirect_uri, code_verifier: g.verifier }, auth1);
    const r1 = await tokenPost(issuer, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token }, auth1);
    check(r1.status === 200, 'refresh: first use', JSON.stringify(r1.json));
    const reuse = await tokenPost(issuer, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token }, auth1);
    check(reuse.json.error === 'invalid_grant', 'refresh reuse: invalid_grant', JSON.stringify(reuse.json));
    const cur = await tokenPost(issuer, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token }, auth1);
    check(cur.json.error === 'invalid_grant', 'refresh reuse: the current token of the family is revoked too', JSON.stringify(cur.json));
  }

  // 9. the ID number claim: never to an app without the permission; to one with it
  {
    const g = await getCode(b, c1, app1, 'openid profile yh_id_number', null);
    const t = await tokenPost(issuer, { grant_type: 'authorization_code', code: g.code, redirect_uri: app1.redirect_uri, code_verifier: g.verifier }, auth1);
    const idt = t.json.id_token ? jose.decodeJwt(t.json.id_token) : {};
    check(t.status === 200 && idt.yh_id_number === undefined, 'ID number: not in app1\'s ID token', JSON.stringify(idt));
    const ui = await c1.userinfo(t.json.access_token);
    check(ui.yh_id_number === undefined && !JSON.stringify(ui).match(/\d{17}[\dX]/),
      'ID number: not in app1\'s userinfo', JSON.stringify(ui));
    if (app3) {
      const c3 = makeClient(issuer, app3, 'client_secret_basic');
      const f = await codeFlow(b, c3, app3, 'openid profile yh_id_number', null);
      const ui3 = await c3.userinfo(f.tokens);
      check(typeof ui3.yh_id_number === 'string' && ui3.yh_id_number.length === 18,
        'ID number: released to the permitted app after consent', JSON.stringify(ui3));
    }
  }

  // 10. lockout after 5 failures (another user)
  {
    const lb = new Browser(origin);
    for (let i = 0; i < 5; i++) {
      const r = await loginAttempt(lb, origin, cfg.lockuser.username, 'wrong-password-' + i);
      if (lb.jar.has('yh_sid')) { fail('lockout: a wrong password logged in'); break; }
      if (r.status >= 500) fail(`lockout: failure ${i + 1} gave HTTP ${r.status}`);
    }
    const good = await loginAttempt(lb, origin, cfg.lockuser.username, cfg.lockuser.password);
    check(!lb.jar.has('yh_sid') && !(good.status >= 300 && good.status < 400),
      'lockout: the right password is refused after 5 failures', `${good.status} ${good.location}`);
    if (cfg.audit_file) {
      const audit = fs.readFileSync(cfg.audit_file, 'utf8');
      check(audit.includes('"login.lockout"'), 'lockout: recorded in the audit trail');
      check(audit.includes('"token.replay"'), 'replays: recorded in the audit trail');
    }
  }

  // 11. logout with an ID token of another person or another session: asks first
  {
    const victim = new Browser(origin);
    const mine = await codeFlow(victim, c1, app1, 'openid', cfg.user);
    const attacker = new Browser(origin);
    const theirs = await codeFlow(attacker, c1, app1, 'openid', cfg.otheruser);
    const elsewhere = await codeFlow(new Browser(origin), c1, app1, 'openid', cfg.user);
    const cases = [
      ['another person\'s ID token', theirs.tokens.id_token],
      ['the same person\'s ID token from another session', elsewhere.tokens.id_token],
    ];
    for (const [what, hint] of cases) {
      const res = await victim.request(endSession(issuer, hint, app1.post_logout));
      const form = res.status === 200 ? formFields(res.text, '/logout') : null;
      check(form && form.confirm === '1', `logout with ${what}: the confirmation page`,
        `${res.status} ${res.location}`);
      check(await sessionAlive(victim, c1, app1), `logout with ${what}: the session lives on`);
    }
    // confirming ends it, and the hint still names the app to go back to
    const res = await victim.request(endSession(issuer, theirs.tokens.id_token, app1.post_logout));
    const form = formFields(res.text, '/logout') || {};
    const done = await victim.request(new URL('/logout', origin).href, { method: 'POST', form });
    check(done.status === 302 && (done.location || '').startsWith(app1.post_logout),
      'logout confirmed: back to the app the hint names', `${done.status} ${done.location}`);
    check(!(await sessionAlive(victim, c1, app1)), 'logout confirmed: the session ended');
    // the attacker's own token still logs the attacker out at once
    const own = await attacker.request(endSession(issuer, theirs.tokens.id_token, app1.post_logout));
    check(own.status === 302 && (own.location || '').startsWith(app1.post_logout),
      'logout with the session\'s own ID token: no confirmation', `${own.status} ${own.location}`);
    check(!(await sessionAlive(attacker, c1, app1)), 'logout with the own ID token: the session ended');
    check(mine.tokens.id_token !== theirs.tokens.id_token, 'logout: two distinct ID tokens');
  }

  // 12. prompt=login and max_age: the re-authentication marker cannot come from the URL
  {
    const v = new Browser(origin);
    await getCode(v, c1, app1, 'openid', cfg.user);
    await new Promise((r) => setTimeout(r, 2100));
    const forged = String(Math.floor(Date.now() / 1000) - 300);
    for (const extra of [{ max_age: '1' }, { prompt: 'login' }]) {
      const what = Object.entries(extra).map(([k, x]) => `${k}=${x}`).join('');
      const a = authRequest(c1, app1, 'openid', { ...extra, yh_reauth: forged });
      const res = await v.request(a.url);
      check(res.status === 302 && (res.location || '').startsWith('/login?'),
        `${what} with a yh_reauth of the attacker's choosing: to the login page`,
        `${res.status} ${res.location}`);
      const t0 = Math.floor(Date.now() / 1000);
      const f = await codeFlow(v, c1, app1, 'openid', cfg.user, extra);
      const c = f.tokens.claims();
      check(f.drive.sawLogin && c.auth_time >= t0, `${what}: a real login gives a fresh auth_time`,
        `sawLogin ${f.drive.sawLogin}, auth_time ${c.auth_time} < ${t0}`);
    }
    // the marker /authorize made for one session is no good in another
    const a = authRequest(c1, app1, 'openid', { prompt: 'login' });
    const first = await v.request(a.url);
    const next = first.location ? new URL(first.location, origin).searchParams.get('next') : null;
    const w = new Browser(origin);
    await getCode(w, c1, app1, 'openid', cfg.user);
    const replay = next ? await w.request(new URL(next, origin).href) : { status: 0 };
    check(next && replay.status === 302 && (replay.location || '').startsWith('/login?'),
      'prompt=login: a marker made for another session is refused', `${replay.status} ${replay.location}`);
  }

  // 13. refresh-token reuse also kills the family's access tokens
  {
    const g = await getCode(b, c1, app1, 'openid', null);
    const t = await tokenPost(issuer, { grant_type: 'authorization_code', code: g.code, redirect_uri: app1.redirect_uri, code_verifier: g.verifier }, auth1);
    const r1 = await tokenPost(issuer, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token }, auth1);
    const ats = [['the code\'s access token', t.json.access_token], ['the refreshed access token', r1.json.access_token]];
    for (const [what, at] of ats) {
      check((await userinfo(issuer, at)) === 200, `refresh reuse: before it, userinfo takes ${what}`);
    }
    await tokenPost(issuer, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token }, auth1);
    for (const [what, at] of ats) {
      const st = await userinfo(issuer, at);
      check(st === 401, `refresh reuse: userinfo refuses ${what}`, `${st}`);
      const i = await introspect(issuer, at, auth1);
      check(i.active === false, `refresh reuse: ${what} is inactive at introspection`, JSON.stringify(i));
    }
  }

  // 14. a code presented by another client: nothing learnt, nothing burnt
  if (app3) {
    const auth3 = [app3.client_id, app3.client_secret];
    const g = await getCode(b, c1, app1, 'openid', null);
    const form = { grant_type: 'authorization_code', code: g.code, redirect_uri: app1.redirect_uri, code_verifier: g.verifier };
    const unknown = await tokenPost(issuer, { ...form, code: generators.codeVerifier() }, auth3);
    const wrong = await tokenPost(issuer, form, auth3);
    check(wrong.status === 400 && JSON.stringify(wrong.json) === JSON.stringify(unknown.json),
      'code at another client: the answer to an unknown code', `${JSON.stringify(wrong.json)} vs ${JSON.stringify(unknown.json)}`);
    const right = await tokenPost(issuer, form, auth1);
    check(right.status === 200 && right.json.access_token, 'code at another client: still good for its own client',
      JSON.stringify(right.json));
    const late = await tokenPost(issuer, form, auth3);
    check(JSON.stringify(late.json) === JSON.stringify(unknown.json),
      'a used code at another client: the answer to an unknown code', JSON.stringify(late.json));
    check((await userinfo(issuer, right.json.access_token)) === 200,
      'a used code at another client: revokes nothing');
  }
}

// The end-session URL with an id_token_hint and a post-logout URI.
function endSession(issuer, hint, uri) {
  const u = new URL(issuer.end_session_endpoint);
  u.searchParams.set('id_token_hint', hint);
  u.searchParams.set('post_logout_redirect_uri', uri);
  return u.href;
}

// True when prompt=none still gets app a code in browser b.
async function sessionAlive(b, client, app) {
  const a = authRequest(client, app, 'openid', { prompt: 'none' });
  const res = await b.request(a.url);
  return !!(res.location && new URL(res.location).searchParams.get('code'));
}

// The HTTP status /userinfo answers for an access token.
async function userinfo(issuer, at) {
  const res = await fetch(issuer.userinfo_endpoint, { headers: { authorization: `Bearer ${at}` } });
  await res.text();
  return res.status;
}

// What /introspect says about a token.
async function introspect(issuer, token, auth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}` };
  const res = await fetch(issuer.introspection_endpoint, { method: 'POST', headers, body: new URLSearchParams({ token }).toString() });
  return res.json();
}

// ---- main -----------------------------------------------------------------------------------

// ---- pushed authorization requests (RFC 9126) --------------------------------------------

// app pushes its request with client.pushedAuthorizationRequest, the browser goes to
// /authorize with the request_uri alone, and the code is redeemed.
async function parFlow(issuer, browser, app, method, user) {
  const client = makeClient(issuer, app, method);
  const verifier = generators.codeVerifier();
  const state = generators.state();
  const nonce = generators.nonce();
  const pushed = await client.pushedAuthorizationRequest({
    scope: 'openid profile', state, nonce, redirect_uri: app.redirect_uri,
    code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
    login_hint: user.username,
  });
  check(/^urn:ietf:params:oauth:request_uri:/.test(pushed.request_uri) &&
    pushed.expires_in > 0, `${app.client_id}: pushed (${method})`, JSON.stringify(pushed));
  const url = client.authorizationUrl({ request_uri: pushed.request_uri });
  const d = await drive(browser, url, app.redirect_uri, user);
  check(!d.url.includes(encodeURIComponent(user.username)), `${app.client_id}: no login_hint in the redirect`);
  const params = client.callbackParams(d.url);
  const tokens = await client.callback(app.redirect_uri, params,
    { code_verifier: verifier, state, nonce, response_type: 'code' });
  check(typeof tokens.access_token === 'string' && tokens.claims().nonce === nonce,
    `${app.client_id}: code redeemed, ID token validated`);
}

async function par(cfg) {
  const issuer = await Issuer.discover(cfg.issuer);
  check(issuer.pushed_authorization_request_endpoint === `${cfg.issuer}/par`,
    'discovery: pushed_authorization_request_endpoint',
    issuer.pushed_authorization_request_endpoint);
  const browser = new Browser(cfg.issuer);
  await parFlow(issuer, browser, cfg.apps.app1, 'client_secret_basic', cfg.user);
  if (cfg.apps.pub) await parFlow(issuer, browser, cfg.apps.pub, 'none', cfg.user);
}

async function genkey(dir) {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const kid = 'rp-' + Date.now().toString(36);
  const pub = { ...(await jose.exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const priv = { ...(await jose.exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  fs.writeFileSync(`${dir}/pub.jwks.json`, JSON.stringify({ keys: [pub] }));
  fs.writeFileSync(`${dir}/priv.jwks.json`, JSON.stringify({ keys: [priv] }), { mode: 0o600 });
}

const [mode, arg] = process.argv.slice(2);
try {
  if (mode === 'genkey') await genkey(arg);
  else if (mode === 'rp') await rp(JSON.parse(fs.readFileSync(arg, 'utf8')));
  else if (mode === 'attacks') await attacks(JSON.parse(fs.readFileSync(arg, 'utf8')));
  else if (mode === 'par') await par(JSON.parse(fs.readFileSync(arg, 'utf8')));
  else { console.error('usage: oidc_rp.mjs genkey DIR | rp CONFIG | attacks CONFIG | par CONFIG'); process.exit(2); }
} catch (e) {
  fail(`${mode}: ${e.stack || e}`);
}
process.exit(fails ? 1 : 0);
