// A relying party for the browser scenarios (counter.mjs, org_agents.mjs): one
// confidential app of authd driven by openid-client (v5), served by this process on
// http://127.0.0.1:<port>, registered with the redirect URI <origin>/cb and the
// back-channel logout URI <origin>/bcl (client_secret_basic, PKCE S256).
//
//   const rp = await startRp({ issuer, port, client_id, client_secret });
//   const { url, state } = rp.authorizationUrl('openid profile', { acr_values: ... });
//   ... the browser goes to url and ends on <origin>/cb ...
//   const got = await rp.result(state);   // {claims, userinfo, tokens} or {error}
//   const lt = await rp.logoutToken((claims) => claims.sid === sid);
//   await rp.close();
//
// runWithRp(cfg, scenario) runs a whole browser scenario with the app; signIn(b, rp, who,
// ...) drives a person's browser (checks.mjs personPage) through one sign-in to the app:
// login, TOTP step-up, consent and the organization choice page as they come.
//
// /cb redeems the code (state, nonce and PKCE checked by openid-client), asks /userinfo
// and answers a small page (#claims, or #error); /bcl verifies the logout token with jose
// (signature, issuer, audience, typ logout+jwt, the back-channel event, a sid, no nonce)
// and keeps its claims; a token that does not verify is a failure.
import fs from 'node:fs';
import http from 'node:http';
import * as jose from 'jose';
import { Issuer, generators, custom } from 'openid-client';
import { WAIT_MS, fail, must, Stop, failures, launchChromium } from './checks.mjs';

custom.setHttpOptionsDefaults({ timeout: WAIT_MS });

const BCL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, id, text) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>RP</title></head>` +
    `<body><pre id="${id}">${esc(text)}</pre></body></html>`);
}

// Waits (at most ms) until get() gives something other than undefined, and returns it;
// throws when the time is up.
async function until(get, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: nothing within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Starts the relying party (discovery, then its server listening); see the top of the
// file.
export async function startRp({ issuer: issuerUrl, port, client_id: clientId, client_secret: secret }) {
  const origin = `http://127.0.0.1:${port}`;
  const redirectUri = `${origin}/cb`;
  const issuer = await Issuer.discover(issuerUrl);
  const client = new issuer.Client({
    client_id: clientId,
    client_secret: secret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    id_token_signed_response_alg: (issuer.id_token_signing_alg_values_supported || ['ES256'])[0],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const jwks = jose.createRemoteJWKSet(new URL(issuer.metadata.jwks_uri));
  const pending = new Map();     // state -> {nonce, verifier}
  const results = new Map();     // state -> {claims, userinfo, tokens} or {error}
  const logouts = [];            // claims of the verified logout tokens

  async function callback(req, res) {
    const params = client.callbackParams(req);
    const p = pending.get(params.state || '');
    if (!p) return page(res, 400, 'error', 'unknown state');
    pending.delete(params.state);
    try {
      const tokens = await client.callback(redirectUri, params,
        { state: params.state, nonce: p.nonce, code_verifier: p.verifier, response_type: 'code' });
      const userinfo = await client.userinfo(tokens);
      const got = { claims: tokens.claims(), userinfo, tokens };
      results.set(params.state, got);
      return page(res, 200, 'claims', JSON.stringify(got.claims, null, 2));
    } catch (e) {
      results.set(params.state, { error: e.error || e.message });
      return page(res, 400, 'error', e.message);
    }
  }

  async function backchannel(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    try {
      const { payload } = await jose.jwtVerify(form.get('logout_token') || '', jwks,
        { issuer: issuer.issuer, audience: clientId, typ: 'logout+jwt' });
      if (!payload.events || typeof payload.events[BCL_EVENT] !== 'object' ||
          payload.nonce !== undefined || !payload.sid) {
        throw new Error(`not a logout token: ${JSON.stringify(payload)}`);
      }
      logouts.push(payload);
      res.writeHead(200, { 'cache-control': 'no-store' });
      res.end();
    } catch (e) {
      fail(`RP: back-channel logout token refused: ${e.message}`);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"invalid_request"}');
    }
  }

  const server = http.createServer((req, res) => {
    const path = new URL(req.url, origin).pathname;
    const done = (e) => {
      fail(`RP ${req.method} ${path}: ${e && e.stack}`);
      if (!res.headersSent) page(res, 500, 'error', e && e.message);
    };
    if (path === '/cb' && req.method === 'GET') return callback(req, res).catch(done);
    if (path === '/bcl' && req.method === 'POST') return backchannel(req, res).catch(done);
    return page(res, 404, 'error', 'not found');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });

  return {
    origin,
    client,
    // Is u (a URL) the app's redirect URI?
    isCallback: (u) => u.origin === origin && u.pathname === '/cb',
    // A fresh authorization request for scope with extra parameters: {url, state}.
    authorizationUrl(scope, extra = {}) {
      const state = generators.state();
      const nonce = generators.nonce();
      const verifier = generators.codeVerifier();
      pending.set(state, { nonce, verifier });
      const url = client.authorizationUrl({
        scope, state, nonce, redirect_uri: redirectUri,
        code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
        ...extra,
      });
      return { url, state };
    },
    // What /cb made of the answer to the request state (waits at most ms).
    result: (state, ms = WAIT_MS) => until(() => results.get(state), ms, `RP result ${state}`),
    // The claims of the first verified logout token for which pred holds (waits at most ms).
    logoutToken: (pred, ms = WAIT_MS) => until(() => logouts.find(pred), ms, 'RP logout token'),
    logouts,
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// Signs who in to rp's app through b (a personPage): goes to a fresh authorization
// request for scope (with the extra parameters), then answers what authd shows until the
// browser is back at the app: the login page (who's password), the TOTP step-up (a code
// from code(), an async function; none: the step-up is a failure), the consent page
// (allowed) and the organization choice page (choose(b, want), which picks and submits,
// the page's look named tag-choice first; none: the page is a failure). The app's result
// ({claims, userinfo, tokens}; an error is a failure) with seen: the URLs of the pages
// answered.
export async function signIn(b, rp, who, { scope = 'openid profile', extra = {}, code, choose,
  tag = 'app' } = {}) {
  const { url, state } = rp.authorizationUrl(scope, extra);
  const pages = ['/login', '/login/totp', '/consent', '/authorize'];
  const known = (u) => rp.isCallback(u) || pages.some((p) => b.onAuthd(p)(u));
  const seen = [];
  await b.go(url, known);
  while (!rp.isCallback(b.here())) {
    if (seen.length >= pages.length) {
      must(false, `${tag}: not back at the app after ${pages.length} pages`,
        seen.map((u) => u.pathname).join(' '));
    }
    const prev = b.page.url();
    const moved = (u) => u.href !== prev && known(u);
    seen.push(b.here());
    if (b.at('/login')) {
      await b.login(who, moved);
    } else if (b.at('/login/totp')) {
      if (!code) must(false, `${tag}: an unexpected TOTP step-up`, prev);
      await b.look(`${tag}-stepup`);
      await b.page.fill('#code', await code());
      await b.submit('form[action="/login/totp"]', moved);
    } else if (b.at('/consent')) {
      await Promise.all([
        b.page.waitForURL(moved, { waitUntil: 'load' }),
        b.page.click('button[name="action"][value="allow"]'),
      ]);
    } else {
      if (!choose) must(false, `${tag}: an unexpected organization choice page`, prev);
      await b.look(`${tag}-choice`);
      await choose(b, moved);
    }
  }
  const got = await rp.result(state);
  must(!got.error, `${tag}: signed in to the app`, got.error);
  return { ...got, seen };
}

// Runs scenario(browser, rp) with headless Chromium and the app of cfg ({issuer,
// rp_port, app: {client_id, client_secret}, shots_dir}, made first), closes both and
// exits: 1 after any failure (a throw other than Stop counts as one), else 0.
export async function runWithRp(cfg, scenario) {
  let browser;
  let rp;
  try {
    fs.mkdirSync(cfg.shots_dir, { recursive: true });
    rp = await startRp({ issuer: cfg.issuer, port: cfg.rp_port, ...cfg.app });
    browser = await launchChromium();
    await scenario(browser, rp);
  } catch (e) {
    if (!(e instanceof Stop)) fail(`scenario stopped: ${e.message}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (rp) await rp.close();
  }
  process.exit(failures() ? 1 : 0);
}
