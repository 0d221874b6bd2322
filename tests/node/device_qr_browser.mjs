// The device flow and the QR-code login in a real browser: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core, with node's openid-client (v5) as the
// kiosk.
//
//   node device_qr_browser.mjs CONFIG.json
//
// CONFIG: {"issuer", "shots_dir", "kiosk" (a client id with the device_code grant),
//          "user": {"username", "password"}, "app_token" (an access token of that person
//          with scope qr_login), "name" (the person's name)}
//
// 1. The kiosk asks /device_authorization and polls; a phone-sized Chromium (375 px)
//    opens verification_uri_complete, logs in, approves; the poll ends with the tokens.
// 2. A desktop Chromium asks for a QR-code login on the login page and shows the code;
//    the app scans and confirms with its token; the page, polling by itself (the Refresh
//    header, no script), ends on the account page of the person.
// Pages do not scroll sideways. Screenshots: shots_dir/<width>-<nn>-<page>.png. Prints
// "ok: ..." per check and "FAIL: ..." per failure; exits 1 on any failure.
import fs from 'node:fs';
import { Issuer, custom } from 'openid-client';
import {
  WAIT_MS, HASH_WAIT_MS, check, must, Stop, failures, launchChromium, lookAt, fail,
} from './checks.mjs';

custom.setHttpOptionsDefaults({ timeout: 15000 });
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let shot = 0;

async function look(page, width, name) {
  shot++;
  await lookAt(page, cfg.shots_dir, width, shot, name);
}

async function deviceFlow(browser) {
  const issuer = await Issuer.discover(cfg.issuer);
  const client = new issuer.Client({
    client_id: cfg.kiosk, token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'ES256',
  });
  const handle = await client.deviceAuthorization({ scope: 'openid profile' });
  const polled = handle.poll();
  polled.catch(() => {});
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 375, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(handle.verification_uri_complete, { timeout: WAIT_MS, waitUntil: 'load' });
  must(new URL(page.url()).pathname === '/login', '375px device: the phone is sent to the login page');
  await page.fill('#username', cfg.user.username, { timeout: WAIT_MS });
  await page.fill('#password', cfg.user.password, { timeout: WAIT_MS });
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/device', { timeout: HASH_WAIT_MS, waitUntil: 'load' }),
    page.click('form[action="/login"] button[type=submit]', { timeout: WAIT_MS }),
  ]);
  const text = await page.evaluate(() => document.body.innerText);
  check(text.includes(handle.user_code), '375px device: the approval page shows the code');
  await look(page, 375, 'device-approve');
  await Promise.all([
    page.waitForLoadState('load', { timeout: WAIT_MS }),
    page.click('button[value=approve]', { timeout: WAIT_MS }),
  ]);
  await look(page, 375, 'device-done');
  const tokens = await polled;
  const claims = tokens.claims();
  check(claims.aud === cfg.kiosk && claims.amr.includes('pwd'),
    'device flow: the kiosk polled until approved in Chromium and got the tokens');
  await ctx.close();
}

async function app(step, t) {
  const res = await fetch(`${cfg.issuer}/qr/${step}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${cfg.app_token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ t }).toString(),
  });
  const body = await res.json();
  must(res.status === 200, `QR ${step} by the app`, `${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function qrLogin(browser) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${cfg.issuer}/login?next=%2Faccount`, { timeout: WAIT_MS, waitUntil: 'load' });
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/login/qr', { timeout: WAIT_MS, waitUntil: 'load' }),
    page.click('form[action="/login/qr"] button[type=submit]', { timeout: WAIT_MS }),
  ]);
  must(await page.isVisible('svg'), '1280px QR login: the page shows the QR code');
  await look(page, 1280, 'qr-code');
  const t = new URL(page.url()).searchParams.get('t');
  const scanned = await app('scan', t);
  check(scanned.browser && scanned.browser.browser === 'Chrome',
    'QR login: the app is told the browser is Chrome', JSON.stringify(scanned));
  await app('confirm', t);
  await page.waitForURL((u) => u.pathname === '/account', { timeout: WAIT_MS, waitUntil: 'load' });
  const text = await page.evaluate(() => document.body.innerText);
  check(text.includes(cfg.name), 'QR login: the page polled by itself and the browser is logged in');
  await look(page, 1280, 'qr-account');
  await ctx.close();
}

let browser;
try {
  browser = await launchChromium();
  await deviceFlow(browser);
  await qrLogin(browser);
} catch (e) {
  if (!(e instanceof Stop)) fail(`scenario stopped: ${e.message}`);
} finally {
  if (browser) await browser.close();
}
process.exit(failures() ? 1 : 0);
