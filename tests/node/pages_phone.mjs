// The citizens' pages in a real browser at a phone's width and at a desktop's: headless
// Chromium (Debian's /usr/bin/chromium) driven by playwright-core.
//
//   node pages_phone.mjs CONFIG.json
//
// CONFIG: {"issuer", "shots_dir", "authorize_path" (an /authorize request of a
//          registered public app), "bad_authorize_path" (one of an unknown app: the
//          error page), "user": {"id_number", "password"}}
//
// For each width (375 and 1280 px), in a fresh browser context: the login page of the
// app's request, the registration page, the recovery page, the consent page (after
// logging in), the account page (several sessions, some with long User-Agent strings,
// made by the calling script), the logout question, the logged-out page and an error
// page. On every page: nothing scrolls sideways (document.documentElement.scrollWidth
// <= clientWidth) and no button breaks its words one character per line: at 1280 px a
// button's text is one line; at 375 px a text of several characters keeps at least
// three characters per line. A full-page screenshot of each goes to
// shots_dir/<width>-<nn>-<page>.png. Prints "ok: ..." per check and "FAIL: ..." per
// failure; exits 1 on any failure.
import fs from 'node:fs';
import {
  WAIT_MS, HASH_WAIT_MS, check, must, Stop, failures, launchChromium, screenshot, fail,
} from './checks.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const issuer = cfg.issuer;

// What the page measures of itself: the document's widths, and for every visible
// button (and button-like link) its text, its characters and how many lines it takes
// (the distinct tops of the text's line boxes).
function measure() {
  const el = document.documentElement;
  const buttons = [];
  for (const b of document.querySelectorAll('button, a.button')) {
    const text = b.innerText.trim();
    if (text === '' || b.getClientRects().length === 0) continue;
    const range = document.createRange();
    range.selectNodeContents(b);
    const tops = new Set();
    for (const r of range.getClientRects()) if (r.width > 0) tops.add(Math.round(r.top));
    buttons.push({ text, chars: [...text].length, lines: tops.size });
  }
  return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, buttons };
}

async function run(browser, width) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 800 } });
  const page = await ctx.newPage();
  let shot = 0;

  async function look(name) {
    const m = await page.evaluate(measure);
    check(m.scrollWidth <= m.clientWidth, `${width}px ${name}: no sideways scrolling`,
      `scrollWidth ${m.scrollWidth} > clientWidth ${m.clientWidth}`);
    for (const b of m.buttons) {
      const good = width >= 1280 ? b.lines === 1 : (b.chars < 2 || b.lines === 1 ||
        b.chars / b.lines >= 3);
      check(good, `${width}px ${name}: button "${b.text}" keeps its words together`,
        `${b.lines} lines for ${b.chars} characters`);
    }
    shot++;
    await screenshot(page, cfg.shots_dir, width, shot, name);
  }
  const go = (p) => page.goto(issuer + p, { timeout: WAIT_MS, waitUntil: 'load' });
  const text = () => page.evaluate(() => document.body.innerText);

  await go(cfg.authorize_path);
  must(new URL(page.url()).pathname === '/login', `${width}px: the app's request asks for a login`,
    page.url());
  check((await text()).includes('登录后将进入'), `${width}px: the login page names the app`);
  await look('login');

  await go('/register');
  // The privacy notice: a box that scrolls within the page, and the two boxes a finger
  // can tick, neither ticked by the page.
  check(!(await page.isChecked('#agree')) && !(await page.isChecked('#consent_id')),
    `${width}px: the privacy boxes are not pre-ticked`);
  await page.check('#agree', { timeout: WAIT_MS });
  await page.check('#consent_id', { timeout: WAIT_MS });
  const box = await page.evaluate(() => {
    const b = document.querySelector('.policy');
    return { right: b.getBoundingClientRect().right, sh: b.scrollHeight, ch: b.clientHeight };
  });
  check(box.right <= width && box.ch > 0 && box.ch <= 400,
    `${width}px: the privacy notice sits in a box on the page`, JSON.stringify(box));
  await look('register');

  await go('/privacy');
  check((await text()).includes('个人信息处理规则'), `${width}px: /privacy shows the notice`);
  await look('privacy');

  await go('/login/forgot');
  await look('forgot');

  await go(cfg.authorize_path);
  await page.fill('#username', cfg.user.id_number, { timeout: WAIT_MS });
  await page.fill('#password', cfg.user.password, { timeout: WAIT_MS });
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/consent', { timeout: HASH_WAIT_MS, waitUntil: 'load' }),
    page.click('form[action="/login"] button[type=submit]', { timeout: WAIT_MS }),
  ]);
  await look('consent');

  await go('/account');
  const sessions = await page.evaluate(() => document.querySelectorAll('#sessions li, #sessions tr').length);
  check(sessions >= 4, `${width}px: the account page lists several sessions`, `${sessions}`);
  await look('account');

  await go('/logout');
  await look('logout');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/logout', { timeout: WAIT_MS, waitUntil: 'load' }),
    page.click('form[action="/logout"] button[type=submit]', { timeout: WAIT_MS }),
  ]);
  check((await text()).includes('已退出登录'), `${width}px: logged out`);
  await look('logged-out');

  await go(cfg.bad_authorize_path);
  await look('error');
  await ctx.close();
}

let browser;
try {
  browser = await launchChromium();
  for (const width of [375, 1280]) await run(browser, width);
} catch (e) {
  if (!(e instanceof Stop)) fail(`scenario stopped: ${e.message}`);
} finally {
  if (browser) await browser.close();
}
process.exit(failures() ? 1 : 0);
