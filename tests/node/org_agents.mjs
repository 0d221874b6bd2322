// The legal representative adds an agent on the account page, and the agent acts for
// the enterprise in an app, in a real browser at a phone's width: headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core, the app (rp.mjs,
// openid-client, registered with scope org and a back-channel logout URI) served by this
// process.
//
//   node org_agents.mjs CONFIG.json
//
// CONFIG: {"issuer", "shots_dir", "rp_port", "app": {"client_id", "client_secret"},
//          "uscc", "org_name" (the enterprise), "rep": {"id_number", "password", "code" (a
//          TOTP code not used yet)}, "agent": {"id_number", "name", "password"},
//          "nobody": {"id_number", "password"} (a person with no relation)}
//
// At 375 px: logs in, finds the enterprise's section on /account, fills the add form
// (until, scopes, ID number, name) and submits it; the password session is sent to the
// TOTP step-up, whose URL holds neither the ID number nor the name; after the code the
// browser is back on the form with until and scopes kept; the ID number and name typed
// again, the agent is listed. The agent signs in to the app asking for scope org: the
// choice page lists the enterprise and self, each radio button on the line of its text;
// picking the enterprise gives the app yh_org (the enterprise, role agent, the purposes)
// in the ID token and from /userinfo. The representative ends the grant on the account
// page: the app's back-channel logout URI gets a logout token naming the agent's
// session, the refresh token and the access token are refused; the agent's next sign-in
// (their session goes on) shows no choice page and carries no yh_org, and neither does a
// person with no relation ever see it. The pages do not scroll sideways. Screenshots:
// shots_dir/375-<nn>-<page>.png. Prints "ok: ..." per check and "FAIL: ..." per failure;
// exits 1 on any failure.
import fs from 'node:fs';
import { errors } from 'openid-client';
import { ok, check, must, fail, personPage } from './checks.mjs';
import { runWithRp, signIn } from './rp.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const width = 375;
const sel = `#org-${cfg.uscc}`;
const seq = { n: 0 };
const ORG_SCOPE = 'openid profile org';

// The representative adds the agent on the account page; the page b stays there.
async function addAgent(b) {
  const { page, look, submit } = b;
  await b.go('/login?next=%2Faccount');
  await b.login(cfg.rep, (u) => u.pathname === '/account');
  must(await page.isVisible(sel), `${width}px: the account page shows the enterprise's section`);
  await look('account-org');

  const add = `${sel} form[action="/account/org/agent/add"]`;
  await page.fill(`${add} input[name=until]`, '2099-12-31');
  await page.fill(`${add} input[name=scopes]`, 'tax social');
  await page.fill(`${add} input[name=id_number]`, cfg.agent.id_number);
  await page.fill(`${add} input[name=name]`, cfg.agent.name);
  await submit(add, (u) => u.pathname === '/login/totp');
  const url = decodeURIComponent(page.url());
  check(!url.includes(cfg.agent.id_number) && !url.includes(cfg.agent.name),
    `${width}px: adding goes through the step-up, no ID number or name in the URL`, url);
  await look('stepup');
  await page.fill('input[name=code]', cfg.rep.code);
  await submit('form[action="/login/totp"]', (u) => u.pathname === '/account');
  check(await page.inputValue(`${add} input[name=until]`) === '2099-12-31' &&
    await page.inputValue(`${add} input[name=scopes]`) === 'tax social' &&
    await page.inputValue(`${add} input[name=id_number]`) === '',
  `${width}px: back on the form, until and scopes kept, the ID number not`);
  await page.fill(`${add} input[name=id_number]`, cfg.agent.id_number);
  await page.fill(`${add} input[name=name]`, cfg.agent.name);
  await submit(add, (u) => u.pathname === '/account' && u.searchParams.get('aorg_done') === 'added');
  const listed = await page.evaluate((s) => document.querySelector(s).innerText, sel);
  check(listed.includes(cfg.agent.name) && listed.includes('已添加经办人') &&
    !listed.includes(cfg.agent.id_number), `${width}px: the agent is listed, the ID number masked`);
  await look('account-agent');
}

// The choice page's form: it lists the enterprise and self, each radio button beside its
// label's text; picks uscc and submits.
const choose = (uscc) => async (b, want) => {
  const form = 'form[action="/authorize"]';
  const values = await b.page.$$eval(`${form} input[name=org]`, (l) => l.map((i) => i.value));
  check(values.length === 2 && values.includes(cfg.uscc) && values.includes('self'),
    `${width}px: the choice page lists the enterprise and self`, values.join(' '));
  // Each radio button is a small box at the start of its label's first line of text.
  const boxes = await b.page.$$eval(`${form} label`, (labels) => labels.map((l) => {
    const radio = l.querySelector('input').getBoundingClientRect();
    const text = [...l.childNodes].find((n) => n.nodeType === 3 && n.textContent.trim());
    const range = document.createRange();
    range.selectNodeContents(text);
    const line = range.getClientRects()[0];
    return { width: radio.width, apart: Math.abs((radio.top + radio.bottom) / 2 -
      (line.top + line.bottom) / 2) - line.height / 2 };
  }));
  check(boxes.every((x) => x.width <= 32 && x.apart <= 0),
    `${width}px: each radio button on the line of its label`, JSON.stringify(boxes));
  await b.page.check(`${form} input[name=org][value="${uscc}"]`);
  await b.submit(form, want);
};

// Expects promise (an openid-client call) to fail with the OAuth error code.
async function refused(promise, code, m) {
  try {
    await promise;
    fail(`${m}: accepted`);
  } catch (e) {
    check((e instanceof errors.OPError ? e.error : e.message) === code, m, e.message);
  }
}

async function run(browser, rp) {
  const person = () => personPage(browser, cfg.issuer, cfg.shots_dir, width, seq);
  const rep = await person();
  await addAgent(rep);

  // The agent acts for the enterprise.
  const ag = await person();
  const acting = await signIn(ag, rp, cfg.agent, { scope: ORG_SCOPE, choose: choose(cfg.uscc),
    tag: 'agent' });
  const org = acting.claims.yh_org || {};
  check(org.uscc === cfg.uscc && org.name === cfg.org_name && org.kind === 'enterprise' &&
    org.role === 'agent' && JSON.stringify(org.scopes) === '["tax","social"]',
  'agent: the ID token carries yh_org (the enterprise, role agent, the purposes)', JSON.stringify(org));
  const uorg = acting.userinfo.yh_org || {};
  check(uorg.uscc === cfg.uscc && uorg.role === 'agent', 'agent: /userinfo carries yh_org',
    JSON.stringify(acting.userinfo));
  const sid = acting.claims.sid;
  must(typeof sid === 'string' && sid !== '' && acting.tokens.refresh_token,
    'agent: the grant is bound to the session (sid) and has a refresh token');

  // The representative ends the grant on the account page.
  const end = `${sel} form[action="/account/org/agent/end"]`;
  await rep.submit(end, (u) => u.pathname === '/account' &&
    u.searchParams.get('aorg_done') === 'ended');
  const section = await rep.page.innerText(sel);
  check(section.includes('已终止该经办人的授权') && !section.includes(cfg.agent.name),
    `${width}px: the representative ended the grant, the agent is no longer listed`, section);
  await rep.look('account-ended');
  let lt;
  try {
    lt = await rp.logoutToken((c) => c.sid === sid);
  } catch (e) {
    fail(`no logout token: ${e.message}; got ${JSON.stringify(rp.logouts)}`);
  }
  if (lt) ok('the app gets a back-channel logout token naming the agent\'s session');
  await refused(rp.client.refresh(acting.tokens.refresh_token), 'invalid_grant',
    'the refresh token of the ended grant is refused');
  await refused(rp.client.userinfo(acting.tokens.access_token), 'invalid_token',
    'its access token is refused by /userinfo');

  // No relation: no choice page, no yh_org.
  const again = await signIn(ag, rp, cfg.agent, { scope: ORG_SCOPE, tag: 'agent-again' });
  check(again.seen.length === 0 && again.claims.yh_org === undefined,
    'the agent\'s session goes on: signed in again without any page, no yh_org',
    again.seen.join(' '));
  const nob = await person();
  const plain = await signIn(nob, rp, cfg.nobody, { scope: ORG_SCOPE, tag: 'nobody' });
  check(!plain.seen.some((u) => u.pathname === '/authorize') &&
    plain.claims.yh_org === undefined && plain.userinfo.yh_org === undefined,
    'a person with no relation: no choice page, no yh_org');
}

await runWithRp(cfg, run);
