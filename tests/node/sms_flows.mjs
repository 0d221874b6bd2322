// A person's SMS code flows in a real browser at a phone's width: headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core, against authd with the file SMS
// driver (each message one JSON line of sms_file, where this script reads the codes).
//
//   node sms_flows.mjs CONFIG.json
//
// CONFIG: {"issuer", "shots_dir", "sms_file", "wait_ms" (sms.resend_interval, ms),
//          "person": {"id_number", "name", "phone", "password", "new_password"}}
//
// At 375 px: registers, the phone verified by the code sent to it; logs in by SMS code
// (the account page says so); logs out (every session ended); recovers the forgotten
// password by an SMS code with the ID number and name; logs in with the new password.
// No page scrolls sideways. Screenshots: shots_dir/375-<nn>-<page>.png. Prints "ok: ..."
// per check and "FAIL: ..." per failure; exits 1 on any failure.
import fs from 'node:fs';
import {
  WAIT_MS, HASH_WAIT_MS, check, must, Stop, failures, launchChromium, screenshot, fail,
} from './checks.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const who = cfg.person;
const width = 375;

// The messages to the person's phone so far.
function messages() {
  let text = '';
  try {
    text = fs.readFileSync(cfg.sms_file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l).map((l) => JSON.parse(l))
    .filter((m) => m.phone === who.phone);
}

// The code of message number n (1-based) to the phone, waiting for it.
async function codeOf(n) {
  for (let i = 0; i < 100; i++) {
    const m = messages();
    if (m.length >= n) return m[n - 1].text.match(/[0-9]{6}/)[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Stop(`no message ${n} to ${who.phone}`);
}

async function run(browser) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 800 } });
  const page = await ctx.newPage();
  let shot = 0;
  const go = (p) => page.goto(cfg.issuer + p, { timeout: WAIT_MS, waitUntil: 'load' });
  async function look(name) {
    const m = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    check(m.scrollWidth <= m.clientWidth, `${width}px ${name}: no sideways scrolling`,
      `scrollWidth ${m.scrollWidth} > clientWidth ${m.clientWidth}`);
    shot++;
    await screenshot(page, cfg.shots_dir, width, shot, name);
  }
  const press = (button, wait = WAIT_MS) => Promise.all([
    page.waitForEvent('load', { timeout: wait }),
    page.click(button, { timeout: WAIT_MS }),
  ]);
  const body = () => page.innerText('body');
  const pause = () => page.waitForTimeout(cfg.wait_ms + 500);

  // ---- registration, the phone verified
  await go('/register?next=%2Faccount');
  await page.fill('#name', who.name, { timeout: WAIT_MS });
  await page.fill('#id_number', who.id_number, { timeout: WAIT_MS });
  await page.fill('#phone', who.phone, { timeout: WAIT_MS });
  await press('button[value=send_code]');
  must((await body()).includes('验证码已发送至您填写的手机号码'),
    `${width}px: registration sends a code to the phone`);
  check(await page.inputValue('#id_number') === who.id_number,
    `${width}px: the form keeps what was typed`);
  await look('register-code');
  await page.fill('#sms_code', await codeOf(1), { timeout: WAIT_MS });
  await page.fill('#password', who.password, { timeout: WAIT_MS });
  await page.fill('#password2', who.password, { timeout: WAIT_MS });
  await page.check('#agree');
  await page.check('#consent_id');
  await press('form[action="/register"] button:not([name])', HASH_WAIT_MS);
  must((await body()).includes('注册申请已提交'), `${width}px: registered with the code`);
  await look('register-done');

  // ---- login by SMS code
  await pause();
  await go('/login?next=%2Faccount');
  await press('a[href^="/login/sms"]');
  await page.fill('#phone', who.phone, { timeout: WAIT_MS });
  await press('button[value=send]');
  must((await body()).includes('验证码已通过短信发送'), `${width}px: the SMS login sends a code`);
  await look('sms-login');
  await page.fill('#code', await codeOf(2), { timeout: WAIT_MS });
  await press('button[value=login]');
  must(new URL(page.url()).pathname === '/account', `${width}px: logged in by SMS code`,
    page.url());
  check((await body()).includes('短信验证码'), `${width}px: the account page says how (SMS code)`);
  await look('account');

  // ---- log out: every session ended
  await press('form[action="/account/session/end-all"] button');
  must(new URL(page.url()).pathname === '/login', `${width}px: logged out`, page.url());

  // ---- the forgotten password
  await pause();
  await press('a[href^="/login/forgot"]');
  await page.fill('#id_number', who.id_number, { timeout: WAIT_MS });
  await page.fill('#name', who.name, { timeout: WAIT_MS });
  await page.fill('#phone', who.phone, { timeout: WAIT_MS });
  await press('button[value=send]');
  must((await body()).includes('验证码已发送至该账号已验证的手机'),
    `${width}px: recovery sends a code`);
  await look('recover');
  await page.fill('#code', await codeOf(3), { timeout: WAIT_MS });
  await page.fill('#password', who.new_password, { timeout: WAIT_MS });
  await page.fill('#password2', who.new_password, { timeout: WAIT_MS });
  await press('button[value=reset]', HASH_WAIT_MS);
  must((await body()).includes('您的新密码已生效'), `${width}px: the password is reset`);
  await look('recover-done');

  // ---- the new password
  await go('/login?next=%2Faccount');
  await page.fill('#username', who.id_number, { timeout: WAIT_MS });
  await page.fill('#password', who.new_password, { timeout: WAIT_MS });
  await press('form[action="/login"] button[type=submit]', HASH_WAIT_MS);
  check(new URL(page.url()).pathname === '/account', `${width}px: the new password logs in`,
    page.url());
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
