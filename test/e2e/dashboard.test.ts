/** The dashboard in a real headless chromium: sign in, filter by signature, open an event, apply its exclusion, the rule list updates, modes switch. */
import t from 'tap';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startTestBulwark } from '../helpers/bulwark.ts';
import { newEventId } from '../../src/log/event.ts';
import { plantedEvent, SECRET } from '../log/fixtures.ts';

const TOKEN = 'dash-admin-token-0123456789';
const ARTIFACTS = 'test-artifacts/dashboard';


t.test('dashboard end to end in chromium', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dash-'));
  // The real wiring: rule store with the signatures/ library, events, admin plugin, dashboard.
  const b = await startTestBulwark({ upstream: 'http://127.0.0.1:9', admin: { listen: '127.0.0.1:0', tokens: [{ name: 'ops', token: TOKEN, role: 'admin' }] }, events: { file: { path: join(dir, 'events.jsonl') } }, logging: { level: 'warn' } });
  t.teardown(() => b.close());
  const services = b.running.services;
  const admin = b.adminUrl;

  for (let i = 0; i < 4; i++) services.events!.record(plantedEvent({ id: newEventId() }, i));
  const xssOnly = plantedEvent({ id: newEventId(), url: '/search?q=%3Cscript%3E' });
  for (let i = 0; i < 2; i++) services.events!.record({ ...xssOnly, id: newEventId(), matches: xssOnly.matches.filter((m) => m.id === 941100) });

  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  } catch (e) {
    t.fail(`chromium did not start: ${(e as Error).message}`);
    return;
  }
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const external: string[] = [];
  page.on('request', (r) => { if (!r.url().startsWith(admin)) external.push(r.url()); });
  const consoleErrors: string[] = [];
  // The first /api/whoami answers 401 before signing in: that one is expected.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  // Sign in
  await page.goto(`${admin}/ui/`);
  await page.getByLabel('Admin API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#events-table tbody tr').first().waitFor();
  t.equal(await page.locator('#events-table tbody tr').count(), 6, 'all events listed');
  t.equal(await page.locator('#chart svg rect').count() > 0, true, 'chart drawn');
  t.match(await page.locator('#top-signatures').innerText(), /941100[^\n]*— 6/);
  t.match(await page.locator('#who').innerText(), /ops \(admin\)/);
  await page.screenshot({ path: `${ARTIFACTS}/1-events.png`, fullPage: true });

  // Filter by signature
  await page.getByLabel('Signature id').fill('942100');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#events-table tbody tr').length === 4);
  t.match(await page.locator('#events-status').innerText(), /^4 event/);
  await page.screenshot({ path: `${ARTIFACTS}/2-filtered.png`, fullPage: true });

  // Open an event with the keyboard
  await page.locator('#events-table tbody tr').first().focus();
  await page.keyboard.press('Enter');
  await page.locator('#event-matches .match').first().waitFor();
  t.equal(await page.locator('#event-matches mark').first().innerText(), "' OR 1=1", 'matched part highlighted');
  t.equal(await page.locator('#event-matches .match').count(), 3);
  await page.screenshot({ path: `${ARTIFACTS}/3-event.png`, fullPage: true });

  // Allow this: the preview says exactly what it will exclude, then apply
  await page.locator('#event-matches .match[data-signature="942100"] button.allow').click();
  await page.locator('#exclusion-panel').waitFor({ state: 'visible' });
  const preview = await page.locator('#exclusion-preview').innerText();
  t.match(preview, /Signature 942100 will no longer be evaluated/);
  t.match(preview, /on site:\s+shop/);
  t.match(preview, /for path:\s+exactly \/api\/login/);
  t.match(preview, /in target: args:q/);
  await page.screenshot({ path: `${ARTIFACTS}/4-exclusion-preview.png`, fullPage: true });
  await page.getByRole('button', { name: 'Apply exclusion' }).click();
  await page.waitForFunction(() => /Exclusion applied/.test(document.querySelector('#exclusion-status')?.textContent ?? ''));
  const stored = (await (await fetch(`${admin}/api/exclusions`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { exclusions: Array<Record<string, unknown>> };
  t.match(stored.exclusions, [{ rule: '942100', site: 'shop', pathRegex: '^/api/login$', target: 'args:q' }], 'stored by the rule store');
  const detailHtml = await page.content();

  // Rule list shows it; disable a rule and change paranoia from the list
  await page.getByRole('link', { name: 'Rules' }).click();
  await page.locator('#rules-table tr[data-rule="942100"]').waitFor();
  t.equal(await page.locator('#rules-table tr[data-rule="942100"] .excl-count').innerText(), '1', 'rule list shows the new exclusion');
  t.equal(await page.locator('#exclusions-table tbody tr').count(), 1);
  await page.getByLabel('Rule 941100 enabled').uncheck();
  await page.waitForFunction(() => /version/.test(document.querySelector('#rules-status')?.textContent ?? '') && !(document.querySelector('input[aria-label="Rule 941100 enabled"]') as HTMLInputElement)?.checked);
  await page.getByLabel('Rule 942200 paranoia level').selectOption('3');
  // The select shows 3 as soon as it is picked; wait for the saved answer (status names the rule and the new version).
  await page.waitForFunction(() => /942200[\s\S]*version/.test(document.querySelector('#rules-status')?.textContent ?? '') && (document.querySelector('select[aria-label="Rule 942200 paranoia level"]') as HTMLSelectElement)?.value === '3');
  const list = (await (await fetch(`${admin}/api/rules`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { rules: Array<{ id: number; enabled: boolean; paranoia: number }> };
  t.match(list.rules.find((r) => r.id === 941100), { enabled: false });
  t.match(list.rules.find((r) => r.id === 942200), { paranoia: 3 });
  await page.screenshot({ path: `${ARTIFACTS}/5-rules.png`, fullPage: true });

  // Mode switch
  await page.getByRole('link', { name: 'Modes' }).click();
  await page.getByLabel('Mode of site default').selectOption('detect');
  await page.waitForFunction(() => /detect/.test(document.querySelector('#modes-status')?.textContent ?? ''));
  const modes = (await (await fetch(`${admin}/api/modes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { modes: Record<string, string> };
  t.equal(modes.modes.default, 'detect');
  await page.screenshot({ path: `${ARTIFACTS}/6-modes.png`, fullPage: true });

  t.notOk(detailHtml.includes(SECRET), 'the planted secret is not in the dashboard');
  t.same(external, [], 'no request leaves the admin listener');
  t.same(consoleErrors, [], `no script errors: ${consoleErrors.join(" | ")}`);
});
