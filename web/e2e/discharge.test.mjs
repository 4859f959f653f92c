// The discharge journey in a real browser: Wrenford's discharge
// coordinator opens the ward's readiness board from the menu and sees a
// child flagged not ready; records a new care need for another child
// (refused first without a competency), which opens training gaps for the
// named carers with suggested sessions; books one carer on a suggested
// session from the plan; and sees the board update: lower readiness for
// the new need, and the session booked. Every page visited must have zero
// WCAG 2.2 A/AA violations according to axe-core and reflow at 320 CSS
// pixels.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launch, newContext } from './support/browser.mjs';
import { escapeRegExp, pageSteps } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';
const TRUST = "Wrenford Children's Hospital NHS Foundation Trust";
const SLUG = 'wrenford-childrens';
const COORDINATOR = 'discharge-coordinator.trust@demo.carepass.example';
const WARD = 'Ward 4 (Puffin)';
const COURSE = 'Seizures and basic life support for families';

const squash = (s) => s.replace(/\s+/g, ' ').trim();

describe('discharge readiness in a browser', { concurrency: false }, () => {
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
  const row = (child) => main().locator(`tr[data-child="${child}"]`);

  test('the coordinator opens the ward board and sees a child not ready', async () => {
    const { page, steps } = who;
    await steps.visit('/signin');
    await steps.signIn(COORDINATOR, PASSWORD);
    await steps.visit(`/t/${SLUG}/`);
    const menu = await steps.nav();
    assert.ok(menu.labels.includes('Discharge'), `the menu offers Discharge: ${page.url()} ${menu.labels}`);
    const res = await steps.navigate(async () => (await steps.menuLink('Discharge')).click());
    await steps.check('Discharge board', res, { heading: 'Discharge readiness', tenant: TRUST });
    await page.getByLabel('Ward or team').selectOption(WARD);
    const ward = await steps.navigate(() => main().getByRole('button', { name: 'Show the board' }).click());
    await steps.check('Ward board', ward, { heading: 'Discharge readiness', tenant: TRUST });
    assert.equal(await main().locator('table caption').innerText(), `Children on ${WARD}, soonest discharge first`);
    const leo = squash(await row('Leo Okafor').innerText());
    assert.match(leo, /Not ready/, `Leo goes home in five days with gaps: ${leo}`);
    assert.match(leo, /Frank Mensah: PCC-01$/, `his grandfather awaits sign-off: ${leo}`);
    assert.match(leo, /Amira Okafor: PCC-18 \(Not started\)/, 'what is missing, for whom');
    const noah = squash(await row('Noah Clarke').innerText());
    assert.match(noah, /Ready 100% ready/, `Noah is ready: ${noah}`);
    const mia = squash(await row('Mia Hughes').innerText());
    assert.match(mia, /50% ready/, `Mia's seizure care has one of two carers: ${mia}`);
    assert.match(mia, /Owen Hughes: Seizures and basic life support/, 'Owen is booked');
  });

  test('a new care need opens gaps with suggested sessions', async () => {
    const { page, steps } = who;
    const res = await steps.navigate(() => row('Mia Hughes').getByRole('link', { name: 'Mia Hughes' }).click());
    await steps.check('Care plan', res, { heading: 'Mia Hughes', tenant: TRUST });
    await page.locator('summary', { hasText: 'Record a new care need' }).click();
    await page.getByLabel('Care need', { exact: true }).fill('Resuscitation');
    const refused = await steps.navigate(() => main().getByRole('button', { name: 'Record the care need' }).click());
    await steps.check('Care plan, care need refused', refused, { status: 422, heading: 'Mia Hughes', tenant: TRUST });
    await steps.expectErrorSummary('Care need without competencies', ['Choose at least one competency the care need requires']);
    assert.equal(await page.getByLabel('Care need', { exact: true }).inputValue(), 'Resuscitation', 'the name is kept');
    await page.getByLabel(/^PCC-18 Paediatric basic life support/).check();
    const added = await steps.navigate(() => main().getByRole('button', { name: 'Record the care need' }).click());
    await steps.check('Care plan, care need recorded', added, { heading: 'Mia Hughes', tenant: TRUST });
    const banner = squash(await page.locator('.nhsuk-notification-banner--success').innerText());
    assert.match(banner, /Care need Resuscitation recorded\. 2 training gaps opened/, banner);
    assert.match(squash(await main().locator('#readiness').innerText()), /25% ready/);
  });

  test('the coordinator books a suggested session for a carer and the board updates', async () => {
    const { page, steps } = who;
    const book = main().getByRole('button', { name: new RegExp(`^Book Grace Hughes on ${escapeRegExp(COURSE)}`) }).first();
    const res = await steps.navigate(() => book.click());
    await steps.check('Care plan, carer booked', res, { heading: 'Mia Hughes', tenant: TRUST });
    assert.match(squash(await page.locator('.nhsuk-notification-banner--success').innerText()), /Grace Hughes has a place on the session/);
    assert.match(squash(await main().innerText()), new RegExp(`Booked: ${escapeRegExp(COURSE)}`));
    const board = await steps.visit(`/t/${SLUG}/discharge?ward=${encodeURIComponent(WARD)}`);
    await steps.check('Ward board, after booking', board, { heading: 'Discharge readiness', tenant: TRUST });
    const mia = squash(await row('Mia Hughes').innerText());
    assert.match(mia, /25% ready/, `the new need lowers Mia's readiness: ${mia}`);
    assert.match(mia, /Grace Hughes: Seizures and basic life support/, `Grace's booking is on the board: ${mia}`);
    assert.match(mia, /Grace Hughes: PCC-18/, 'what is missing names Grace');
  });

  test('the care settings and the class plan are reachable from the board', async () => {
    const { steps } = who;
    const res = await steps.navigate(() => main().getByRole('link', { name: 'Care settings, classes and class planning' }).click());
    await steps.check('Care settings', res, { heading: 'Care settings', tenant: TRUST });
    const cls = await steps.navigate(() => main().getByRole('link', { name: 'Kestrel class' }).click());
    await steps.check('Class', cls, { heading: 'Kestrel class', tenant: TRUST });
    const plan = await steps.navigate(() => main().getByRole('link', { name: /^Academic year/ }).click());
    const heading = (await who.steps.h1()).trim();
    assert.match(heading, /^Class plan \d{4} to \d{4}$/);
    await steps.check('Class plan', plan, { heading, tenant: TRUST });
    const text = squash(await main().innerText());
    assert.match(text, /Jo Bennett \(Staff/);
    assert.match(text, /Amira Okafor \(Parent or carer of Leo Okafor/);
  });
});
