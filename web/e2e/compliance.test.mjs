// The staff compliance journey in a real browser: a home manager at a
// care-home provider opens the compliance matrix, filters it to staff with
// something expired, drills into one person's passport, downloads the
// matrix as CSV, then imports a new starter from a small CSV file, checking
// the dry run before confirming it, and finds them in the matrix. Every page
// visited must have zero WCAG 2.2 A/AA violations according to axe-core and
// reflow at 320 CSS pixels.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launch, newContext } from './support/browser.mjs';
import { pageSteps } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';
const PROVIDER = 'Meadowbank Care Homes';
const SLUG = 'meadowbank-care';
const MANAGER = 'home-manager.carehome@demo.carepass.example';
const EXPIRED = 'Aisha Rahman'; // demo staff with an expired competency
const STARTER = 'Noor Haddad';

const squash = (s) => s.replace(/\s+/g, ' ').trim();

describe('staff compliance in a browser', { concurrency: false }, () => {
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

  test('the home manager opens the matrix and filters it to expired', async () => {
    const { page, steps } = who;
    await steps.visit('/signin');
    await steps.signIn(MANAGER, PASSWORD);
    await steps.visit(`/t/${SLUG}/`);
    assert.ok((await steps.nav()).labels.includes('Staff compliance'), 'the menu offers staff compliance');
    let res = await steps.visit(`/t/${SLUG}/compliance`);
    await steps.check('Compliance matrix', res, { heading: 'Staff compliance', tenant: PROVIDER });
    assert.match(squash(await main().innerText()), /\d+% compliant/);
    assert.equal(await main().locator('table#matrix-caption, table caption#matrix-caption').count(), 1, 'the matrix has a caption');
    await page.getByLabel('Staff with a competency that is').selectOption('expired');
    res = await steps.navigate(() => main().getByRole('button', { name: 'Apply filters' }).click());
    await steps.check('Compliance matrix, expired', res, { heading: 'Staff compliance', tenant: PROVIDER });
    assert.match(page.url(), /status=expired/);
    const rows = main().locator('table.carepass-matrix tbody tr');
    assert.ok(await rows.count() >= 1, 'someone has an expired competency');
    for (const text of await rows.allInnerTexts()) {
      assert.match(text, /Expired/, 'every row shown has an expired cell');
    }
    assert.match(squash(await rows.allInnerTexts().then((t) => t.join(' '))), new RegExp(EXPIRED));
  });

  test('a row drills down to the passport', async () => {
    const { page, steps } = who;
    const res = await steps.navigate(() => main().getByRole('link', { name: EXPIRED, exact: true }).click());
    assert.match(new URL(page.url()).pathname, new RegExp(`^/t/${SLUG}/holders/[0-9a-f-]{36}/passport$`));
    await steps.check('Passport from the matrix', res, { heading: (await steps.h1()).trim(), tenant: PROVIDER });
    assert.match(squash(await page.locator('main h1').innerText()), new RegExp(EXPIRED));
    await page.goBack();
  });

  test('the matrix downloads as CSV', async () => {
    const { page } = who;
    const href = await main().getByRole('link', { name: 'Download this matrix as CSV' }).getAttribute('href');
    assert.match(href, /export\.csv\?.*status=expired/);
    const res = await page.request.get(href);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/csv/);
    assert.match(res.headers()['content-disposition'] ?? '', /attachment; filename="staff-compliance\.csv"/);
    const body = await res.text();
    assert.match(body, /^name,home,role,started_on,competency_code,competency,status,expires_on,shared_not_recognised/);
    assert.match(body, new RegExp(`${EXPIRED},.*,expired,`));
    const pdf = await page.request.get(await main().getByRole('link', { name: 'Download the inspection report (PDF)' }).getAttribute('href'));
    assert.equal(pdf.status(), 200);
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  });

  test('a new starter is imported after a dry run', async () => {
    const { page, steps } = who;
    let res = await steps.visit(`/t/${SLUG}/compliance/import`);
    await steps.check('Import staff', res, { heading: 'Import staff', tenant: PROVIDER });
    const csv = `name,email,role,home,start date\n${STARTER},noor.haddad@example.org,Care assistant,Willow Court,2026-11-02\n`;
    await page.getByLabel('CSV file').setInputFiles({ name: 'starters.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    res = await steps.navigate(() => main().getByRole('button', { name: 'Check the file' }).click());
    await steps.check('Import staff, dry run', res, { heading: 'Import staff', tenant: PROVIDER });
    const text = squash(await main().innerText());
    assert.match(text, /Nothing has been stored yet/);
    assert.match(text, /New person and a new employment/);
    res = await steps.navigate(() => main().getByRole('button', { name: 'Import 1 member of staff' }).click());
    await steps.check('Import staff, done', res, { heading: 'Import staff', tenant: PROVIDER });
    assert.match(squash(await main().innerText()), /1 member of staff imported: 1 new to Carepass here/);
    res = await steps.navigate(() => main().getByRole('link', { name: 'Go to the matrix' }).click());
    await steps.check('Compliance matrix after import', res, { heading: 'Staff compliance', tenant: PROVIDER });
    assert.match(squash(await main().locator('table.carepass-matrix').innerText()), new RegExp(`${STARTER} Willow Court, Care assistant`));
  });

  test('a bad file is refused with the problem named', async () => {
    const { page, steps } = who;
    await steps.visit(`/t/${SLUG}/compliance/import`);
    const csv = 'name,email,role,home,start date\nOla Brand,ola@example.org,Chef,Willow Court,2026-11-02\n';
    await page.getByLabel('CSV file').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const res = await steps.navigate(() => main().getByRole('button', { name: 'Check the file' }).click());
    await steps.check('Import staff, refused', res, { status: 422, heading: 'Import staff', tenant: PROVIDER });
    await steps.expectErrorSummary('Import staff, refused', ['1 row of the file cannot be imported: nothing has been stored']);
    assert.match(squash(await main().innerText()), /There is no job role called “Chef”/);
  });
});
