// Dashboards and national statistics in a real browser: a care-home
// manager and a trust administrator each read their organisation's
// dashboard, whose charts are images with a description and a table of
// figures beside each; the platform operator reads the platform statistics
// and publishes the public statistics page; an anonymous visitor, who got
// "Page not found" before, reads it and downloads its CSV, in which every
// figure is "<5" or a multiple of 5. Every page visited must have zero
// WCAG 2.2 A/AA violations according to axe-core and reflow at 320 CSS
// pixels.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launch, newContext } from './support/browser.mjs';
import { pageSteps } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';
const HOME = 'Meadowbank Care Homes';
const TRUST = "Wrenford Children's Hospital NHS Foundation Trust";
const MANAGER = 'home-manager.carehome@demo.carepass.example';
const TRUST_ADMIN = 'tenant-admin.trust@demo.carepass.example';
const OPERATOR = 'operator@demo.carepass.example';

const figure = /^(<5|5|[1-9][0-9]*[05])$/;

describe('dashboards and statistics in a browser', { concurrency: false }, () => {
  let server;
  let browser;
  let who;

  before(async () => {
    server = await startServer();
    browser = await launch();
    const page = await (await newContext(browser, server.baseURL)).newPage();
    page.setDefaultTimeout(15_000);
    who = { page, steps: pageSteps(page, server) };
  }, { timeout: 600_000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (who?.steps.checked.length) {
      console.log(`axe-core found no WCAG 2.2 A/AA violations on ${who.steps.checked.length} pages:\n  ${who.steps.checked.join('\n  ')}`);
    }
  });

  const main = () => who.page.locator('main');

  /** expectCharts checks each chart: an image named by its title and described, with its table beside it. */
  async function expectCharts(label, ids) {
    const { page } = who;
    for (const id of ids) {
      const fig = page.locator(`#${id}`);
      assert.equal(await fig.count(), 1, `${label}: chart ${id}`);
      const img = fig.locator('svg[role="img"]');
      const title = (await img.locator('title').textContent()).trim();
      assert.equal(await page.getByRole('img', { name: title }).count(), 1, `${label}: ${id} is an image named "${title}"`);
      assert.match(await img.locator('desc').textContent(), /The table gives every figure\.$/, `${label}: ${id} is described`);
      const table = fig.locator('table');
      assert.equal(await table.locator('caption').textContent(), `${title}: figures`, `${label}: ${id}'s table caption`);
      assert.ok(await table.locator('th[scope="row"]').count() >= 3, `${label}: ${id}'s rows have headings`);
    }
  }

  async function signInAt(path, email) {
    const { page, steps } = who;
    await steps.visit(path);
    assert.equal(new URL(page.url()).pathname, '/signin');
    return steps.signIn(email, PASSWORD);
  }

  test("a care-home manager reads the home's dashboard", async () => {
    const { steps } = who;
    const res = await signInAt('/t/meadowbank-care/', MANAGER);
    await steps.check('Care-home dashboard', res, { heading: HOME, tenant: HOME });
    await expectCharts('Care-home dashboard', ['chart-expiring', 'chart-signoffs', 'chart-training', 'chart-passports']);
    // The sign-off seeded today is in this month's row.
    const rows = main().locator('#chart-signoffs tbody tr');
    assert.equal(await rows.count(), 12, 'twelve months');
    const latest = await rows.last().locator('td').innerText();
    assert.ok(Number(latest) >= 1, `this month's sign-offs: ${latest}`);
    await steps.signOut();
  });

  test("a trust administrator reads the trust's dashboard", async () => {
    const { steps } = who;
    const res = await signInAt('/t/wrenford-childrens/', TRUST_ADMIN);
    await steps.check('Trust dashboard', res, { heading: TRUST, tenant: TRUST });
    await expectCharts('Trust dashboard', ['chart-signoffs', 'chart-expiring', 'chart-training', 'chart-passports']);
    assert.equal(await who.page.locator('#chart-compliance').count(), 0, 'no care-home compliance at a trust');
    await steps.signOut();
  });

  test('the operator publishes the statistics page', async () => {
    const { page, steps } = who;
    assert.equal((await page.request.get('/statistics')).status(), 404, 'unpublished at first');
    let res = await signInAt('/operator/statistics', OPERATOR);
    await steps.check('Platform statistics', res, { heading: 'Platform statistics' });
    await expectCharts('Platform statistics', ['chart-national-passports', 'chart-national-signoffs']);
    await main().getByLabel('Yes, publish it').check();
    res = await steps.navigate(() => main().getByRole('button', { name: 'Save' }).click());
    await steps.check('Platform statistics (published)', res, { heading: 'Platform statistics' });
    assert.match(await page.locator('.nhsuk-notification-banner').innerText(), /now published/);
    await steps.signOut();
  });

  test('an anonymous visitor reads the public statistics and downloads the CSV', async () => {
    const { page, steps } = who;
    const res = await steps.visit('/statistics');
    await steps.check('Public statistics', res, { heading: 'Carer passports in numbers' });
    await expectCharts('Public statistics', ['chart-national-passports', 'chart-national-signoffs']);
    assert.match(await main().innerText(), /Figures computed on \d{1,2} \w+ \d{4} at \d{2}:\d{2}/);
    for (const cell of await main().locator('td.nhsuk-table__cell--numeric').allInnerTexts()) {
      assert.match(cell.trim(), figure, `published figure ${cell}`);
    }
    const [download] = await Promise.all([page.waitForEvent('download'),
      main().getByRole('link', { name: 'Download these figures (CSV)' }).click()]);
    assert.match(download.suggestedFilename(), /^carepass-statistics-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = (await (await page.request.get('/statistics.csv')).text()).trim().split('\n');
    assert.equal(csv[0], 'computed_at,figure,kind,region,month,value');
    assert.ok(csv.length > 12, 'figures by region and by month');
    for (const line of csv.slice(1)) {
      assert.match(line.split(',').at(-1), figure, `CSV line ${line}`);
    }
  });
});
