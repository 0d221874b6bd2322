// A city authd federating to a provincial platform, in a real browser
// (tests/integration/upstream_browser.sh): node oidc-provider stands in for the
// province (its development login and consent pages, an account whose claims carry an
// ID number), openid-client is the city's app (rp.mjs). Headless Chromium starts at the
// app, clicks the province button on the city's login page, logs in at the province,
// comes back, and the app's tokens carry the city's pairwise sub, amr fed and the mapped
// acr; a second login in a new browser finds the same person; idp_hint skips the city's
// login page.
//
// Usage: node upstream_browser.mjs CONFIG.json with {city, province_port, rp_port,
// app: {client_id, client_secret}, upstream: {client_id, client_secret, redirect_uri},
// person: {sub, id_number, name}, want_acr}.
import fs from 'node:fs';
import Provider from 'oidc-provider';
import { WAIT_MS, check, must, Stop, failures, launchChromium } from './checks.mjs';
import { startRp } from './rp.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const provIssuer = `http://127.0.0.1:${cfg.province_port}`;

const provider = new Provider(provIssuer, {
  clients: [{
    client_id: cfg.upstream.client_id,
    client_secret: cfg.upstream.client_secret,
    redirect_uris: [cfg.upstream.redirect_uri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'ES256',
  }],
  claims: { openid: ['sub'], profile: ['name'], idcard: ['id_number'] },
  scopes: ['openid', 'profile', 'idcard'],
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: cfg.person.name, id_number: cfg.person.id_number }),
  }),
  jwks: { keys: [JSON.parse(fs.readFileSync(cfg.province_jwk, 'utf8'))] },
  pkce: { required: () => true },
  cookies: { keys: ['upstream-browser-test-cookie-key'] },
});
provider.proxy = false;
const provServer = provider.listen(cfg.province_port, '127.0.0.1');

const onCity = (path) => (u) => u.origin === cfg.city && u.pathname === path;
const onProv = (u) => u.origin === provIssuer;

// Goes through the province's development login and consent pages until the browser is
// back on the city.
async function atProvince(page) {
  for (let i = 0; i < 4 && onProv(new URL(page.url())); i++) {
    if (await page.locator('input[name="login"]').count()) {
      await page.fill('input[name="login"]', cfg.person.sub);
      await page.fill('input[name="password"]', 'any');
    }
    const prev = page.url();
    await Promise.all([
      page.waitForURL((u) => u.href !== prev, { waitUntil: 'load', timeout: WAIT_MS }),
      page.click('button[type="submit"]'),
    ]);
  }
}

// One sign-in to the app through the province; returns {claims, sawLogin}.
async function signIn(browser, rp, extra) {
  const ctx = await browser.newContext({ locale: 'zh-CN' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const { url, state } = rp.authorizationUrl('openid profile', extra);
  let sawLogin = false;
  await page.goto(url, { waitUntil: 'load' });
  for (let i = 0; i < 8 && !rp.isCallback(new URL(page.url())); i++) {
    const here = new URL(page.url());
    if (onCity('/login')(here)) {
      sawLogin = true;
      const button = page.locator('a[href^="/login/upstream/province"]');
      must(await button.count() === 1, 'the city login page has the province button');
      check((await button.innerText()).includes('使用 省统一身份认证平台 登录'),
        'the button reads 使用 省统一身份认证平台 登录');
      await Promise.all([page.waitForURL(onProv, { waitUntil: 'load' }), button.click()]);
    } else if (onProv(here)) {
      await atProvince(page);
    } else if (onCity('/consent')(here)) {
      await Promise.all([
        page.waitForURL((u) => !onCity('/consent')(u), { waitUntil: 'load' }),
        page.click('button[name="action"][value="allow"]'),
      ]);
    } else {
      must(false, 'an unexpected page', here.href);
    }
  }
  const got = await rp.result(state);
  must(!got.error, 'signed in to the app through the province', got.error);
  await ctx.close();
  return { claims: got.claims, sawLogin };
}

let browser;
let rp;
try {
  // the city starts once the province answers discovery
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${cfg.city}/healthz`)).ok) break;
    } catch (e) { /* not yet */ }
    if (i >= 300) must(false, 'the city started');
    await new Promise((r) => setTimeout(r, 50));
  }
  rp = await startRp({ issuer: cfg.city, port: cfg.rp_port, ...cfg.app });
  browser = await launchChromium();
  const first = await signIn(browser, rp, {});
  check(first.sawLogin, 'the first sign-in passes the city login page');
  check(Array.isArray(first.claims.amr) && first.claims.amr.includes('fed'),
    'the app\'s ID token says amr fed', JSON.stringify(first.claims.amr));
  check(first.claims.acr === cfg.want_acr, `the app's acr is ${cfg.want_acr}`, first.claims.acr);
  check(first.claims.iss === cfg.city, 'the tokens are the city\'s');
  check(first.claims.sub && first.claims.sub !== cfg.person.sub,
    'the app gets the city\'s pairwise sub, not the province\'s');
  const second = await signIn(browser, rp, {});
  check(second.claims.sub === first.claims.sub, 'a second login finds the same person');
  const third = await signIn(browser, rp, { idp_hint: 'province' });
  check(!third.sawLogin, 'idp_hint skips the city login page');
  check(third.claims.sub === first.claims.sub, 'idp_hint: the same person');
} catch (e) {
  if (!(e instanceof Stop)) check(false, 'the scenario ran', e && e.stack);
} finally {
  if (browser) await browser.close();
  if (rp) await rp.close();
  provServer.close();
}
process.exit(failures() ? 1 : 0);
