// The legal representative adds an agent on the account page in a real browser at a
// phone's width: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core.
//
//   node org_agents.mjs CONFIG.json
//
// CONFIG: {"issuer", "shots_dir", "uscc" (the enterprise), "rep": {"id_number",
//          "password", "code" (a TOTP code not used yet)}, "agent": {"id_number", "name"}}
//
// At 375 px: logs in, finds the enterprise's section on /account, fills the add form
// (until, scopes, ID number, name) and submits it; the password session is sent to the
// TOTP step-up, whose URL holds neither the ID number nor the name; after the code the
// browser is back on the form with until and scopes kept; the ID number and name typed
// again, the agent is listed. The account page with the section and the step-up page
// do not scroll sideways. Screenshots: shots_dir/375-<nn>-<page>.png. Prints "ok: ..."
// per check and "FAIL: ..." per failure; exits 1 on any failure.
import fs from 'node:fs';
import {
  WAIT_MS, HASH_WAIT_MS, check, must, Stop, failures, launchChromium, lookAt, fail,
} from './checks.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const width = 375;
const sel = `#org-${cfg.uscc}`;

async function run(browser) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 800 } });
  const page = await ctx.newPage();
  let shot = 0;
  const go = (p) => page.goto(cfg.issuer + p, { timeout: WAIT_MS, waitUntil: 'load' });
  async function look(name) {
    shot++;
    await lookAt(page, cfg.shots_dir, width, shot, name);
  }
  const submit = (form, pred, wait = WAIT_MS) => Promise.all([
    page.waitForURL(pred, { timeout: wait, waitUntil: 'load' }),
    page.click(`${form} button[type=submit]`, { timeout: WAIT_MS }),
  ]);

  await go('/login?next=%2Faccount');
  await page.fill('#username', cfg.rep.id_number, { timeout: WAIT_MS });
  await page.fill('#password', cfg.rep.password, { timeout: WAIT_MS });
  await submit('form[action="/login"]', (u) => u.pathname === '/account', HASH_WAIT_MS);
  must(await page.isVisible(sel), `${width}px: the account page shows the enterprise's section`);
  await look('account-org');

  const add = `${sel} form[action="/account/org/agent/add"]`;
  await page.fill(`${add} input[name=until]`, '2099-12-31', { timeout: WAIT_MS });
  await page.fill(`${add} input[name=scopes]`, 'tax social', { timeout: WAIT_MS });
  await page.fill(`${add} input[name=id_number]`, cfg.agent.id_number, { timeout: WAIT_MS });
  await page.fill(`${add} input[name=name]`, cfg.agent.name, { timeout: WAIT_MS });
  await submit(add, (u) => u.pathname === '/login/totp');
  const url = decodeURIComponent(page.url());
  check(!url.includes(cfg.agent.id_number) && !url.includes(cfg.agent.name),
    `${width}px: adding goes through the step-up, no ID number or name in the URL`, url);
  await look('stepup');
  await page.fill('input[name=code]', cfg.rep.code, { timeout: WAIT_MS });
  await submit('form[action="/login/totp"]', (u) => u.pathname === '/account');
  check(await page.inputValue(`${add} input[name=until]`) === '2099-12-31' &&
    await page.inputValue(`${add} input[name=scopes]`) === 'tax social' &&
    await page.inputValue(`${add} input[name=id_number]`) === '',
  `${width}px: back on the form, until and scopes kept, the ID number not`);
  await page.fill(`${add} input[name=id_number]`, cfg.agent.id_number, { timeout: WAIT_MS });
  await page.fill(`${add} input[name=name]`, cfg.agent.name, { timeout: WAIT_MS });
  await submit(add, (u) => u.pathname === '/account' && u.searchParams.get('aorg_done') === 'added');
  const listed = await page.evaluate((s) => document.querySelector(s).innerText, sel);
  check(listed.includes(cfg.agent.name) && listed.includes('已添加经办人') &&
    !listed.includes(cfg.agent.id_number), `${width}px: the agent is listed, the ID number masked`);
  await look('account-agent');
  await ctx.close();
}

let browser;
try {
  browser = await launchChromium();
  await run(browser);
} catch (e) {
  if (!(e instanceof Stop)) fail(`scenario stopped: ${e.message}`);
} finally {
  if (browser) await browser.close();
}
process.exit(failures() ? 1 : 0);
