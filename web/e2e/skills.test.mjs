// The skills-passport journey in a real browser: a trust administrator
// browses the catalogue, enrols a carer in a skill and records training
// and observed practice (and is refused the sign-off, with the reason); an
// appointed assessor signs the skill off; the carer claims a Carepass
// account and sees the sign-off, and who viewed the passport, in their own
// portal; a parent whose passport was claimed sees her signed-off skill and
// creates a share code. Every page visited must have zero WCAG 2.2 A/AA
// violations according to axe-core.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { expectAccessible, expectReflow, launch, newContext } from './support/browser.mjs';
import { escapeRegExp, pageSteps, shownPath } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';
const TRUST_ADMIN = 'tenant-admin.trust@demo.carepass.example';
const TRUST_ADMIN_NAME = 'Demo Trust administrator (trust)';
const ASSESSOR = 'assessor.trust@demo.carepass.example';
const ASSESSOR_ACCOUNT_NAME = 'Demo Assessor (trust)';
const ASSESSOR_HOLDER = 'Ada Assessor';
const PARENT = 'amira.okafor@demo.carepass.example';
const TRUST = "Wrenford Children's Hospital NHS Foundation Trust";
const SLUG = 'wrenford-childrens';
const CARER = 'Tom Haldane';
const CARER_EMAIL = 'tom.haldane@example.org';
const CARER_PASSWORD = 'a long enough passphrase for Tom';
const SIGN_OFF = 'Assessed competent: sign off';
const SIGN_OFF_SETTING = 'Ward 3B';

describe('skills passports in a browser', { concurrency: false }, () => {
  let server;
  let browser;
  let page;
  let steps = { checked: [] };

  // What one step of the journey finds out for the next.
  const found = {
    tomHolder: '', // path of Tom's page
    tomPassport: '', // path of Tom's passport
    skill: '', // "PCC-nn Title" of the skill Tom is enrolled in
    code: '', // its code
    practices: 0, // observed practices it needs
    person: false, // whether it is specific to one cared-for person
    claimLink: '',
  };

  before(async () => {
    server = await startServer();
    browser = await launch();
    const context = await newContext(browser, server.baseURL);
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    steps = pageSteps(page, server);
  }, { timeout: 600_000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (steps.checked.length) {
      console.log(`axe-core found no WCAG 2.2 A/AA violations on ${steps.checked.length} pages:\n  ${steps.checked.join('\n  ')}`);
    }
  });

  const tenantPath = (path = '') => `/t/${SLUG}${path}`;
  const main = () => page.locator('main');
  const mainText = async () => (await main().innerText()).replace(/\s+/g, ' ');

  /** summaryValue reads the value of a summary-list row by its key, within scope. */
  async function summaryValue(scope, key) {
    const row = scope.locator('.nhsuk-summary-list__row').filter({
      has: page.locator('.nhsuk-summary-list__key', { hasText: new RegExp(`^\\s*${escapeRegExp(key)}\\s*$`) }),
    });
    return (await row.locator('.nhsuk-summary-list__value').innerText()).replace(/\s+/g, ' ').trim();
  }

  /** card is the passport card of one competency. */
  const card = (title) => main().locator('.nhsuk-card').filter({
    has: page.getByRole('heading', { level: 3, name: title, exact: true }),
  });

  /**
   * expectAccessibleOpen runs axe again with every details element on the
   * page open, so what is folded away (history, the forms to record a step)
   * is checked too.
   */
  async function expectAccessibleOpen(label) {
    const opened = await main().locator('details:not([open])').evaluateAll((ds) => {
      ds.forEach((d) => { d.open = true; });
      return ds.length;
    });
    assert.ok(opened > 0, `${label}: something to open`);
    await expectAccessible(page, `${label}, every section open`);
    await expectReflow(page, `${label}, every section open`);
    steps.checked.push(`${label}, every section open (${shownPath(page.url())})`);
  }

  /** signInAs signs in from the sign-in page (where signing out leads) and checks the home page. */
  async function signInAs(label, email, password = PASSWORD) {
    if (new URL(page.url()).pathname !== '/signin') {
      await steps.check('Sign in', await steps.visit('/signin'), { heading: 'Sign in to Carepass' });
    }
    const res = await steps.signIn(email, password);
    assert.equal(new URL(page.url()).pathname, '/', `${label}: signed in`);
    await steps.check(label, res, { heading: 'Carepass' });
  }

  /** signOut signs out and checks the sign-in page it leads to. */
  async function signOut(label) {
    const res = await steps.signOut();
    assert.match(await mainText(), /You have signed out/);
    await steps.check(`Sign in, after signing out (${label})`, res, { heading: 'Sign in to Carepass' });
  }

  /**
   * openPassport opens the skills passport of the holder whose page is
   * showing (the holder's page has no link to it: the passport lives at
   * the holder's address plus /passport).
   */
  async function openPassport() {
    const holderPath = new URL(page.url()).pathname;
    assert.match(holderPath, new RegExp(`^/t/${SLUG}/holders/[0-9a-f-]{36}$`), 'on a holder\'s page');
    return steps.visit(`${holderPath}/passport`);
  }

  /**
   * recordStep takes one step of the lifecycle from the competency's card
   * on the passport page and returns to the passport.
   */
  async function recordStep(label, action, setting) {
    const c = card(found.skill);
    const details = c.locator('details').filter({ has: page.locator('summary', { hasText: 'Record a step' }) });
    if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
    await c.getByLabel(action, { exact: true }).check();
    await c.getByLabel('Setting', { exact: true }).fill(setting);
    const res = await steps.navigate(() => c.getByRole('button', { name: /^Record this step/ }).click());
    assert.equal(new URL(page.url()).pathname, found.tomPassport, `${label}: back on the passport`);
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), new RegExp(`Recorded: ${escapeRegExp(action)}`),
      `${label}: confirmed`);
    await steps.check(label, res, { heading: CARER, tenant: TRUST });
  }

  test('the trust administrator browses the catalogue and the assessor', async () => {
    await signInAs('Home, trust administrator', TRUST_ADMIN);

    let res = await steps.navigate(() => page.getByRole('link', { name: TRUST }).click());
    await steps.check('Dashboard', res, { heading: TRUST, tenant: TRUST });

    res = await steps.navigate(async () => (await steps.menuLink('Catalogues')).click());
    await steps.check('Catalogues', res, { heading: 'Skills catalogues', tenant: TRUST });
    assert.deepEqual((await steps.nav()).current, ['Catalogues']);
    const ours = page.getByRole('table', { name: 'Paediatric complex care (pcc)' });
    const version = ours.locator('tbody tr').first();
    assert.match((await version.innerText()).replace(/\s+/g, ' '), /Version 1 of Paediatric complex care Published 36 Standard PCC version 1/,
      'the adopted PCC catalogue is published');
    const library = (await page.getByRole('table', { name: 'Standard library' }).locator('tbody tr').allInnerTexts())
      .map((s) => s.replace(/\s+/g, ' ').trim());
    assert.equal(library.length, 3, 'three standard catalogues in the library');
    assert.ok(library.some((r) => /^Paediatric complex care \(PCC\) 1 36 Adopted as pcc/.test(r)), `PCC adopted: ${library.join(' | ')}`);
    assert.ok(library.some((r) => /^Care home staff \(CHS\) 1 \d+ Adopt/.test(r)), 'CHS can be adopted');

    res = await steps.navigate(() => version.getByRole('link', { name: /^Version 1/ }).click());
    await steps.check('Catalogue version', res, { heading: 'Paediatric complex care', tenant: TRUST });
    assert.equal(await summaryValue(main(), 'Status'), 'Published: in use, and cannot be changed');
    assert.equal(await summaryValue(main(), 'Based on'), 'Standard catalogue PCC, version 1');
    assert.equal((await page.locator('#competencies-caption').innerText()).trim(), '36 competencies');
    const catalogueHref = new URL(page.url()).pathname;

    // The assessor: her passport says which assessor competency she holds.
    res = await steps.navigate(async () => (await steps.menuLink('Holders')).click());
    await steps.check('Holders', res, { heading: 'Holders', tenant: TRUST });
    const holders = (await main().locator('tbody tr td:first-child').allInnerTexts()).map((s) => s.trim()).sort();
    // The four of the skills demo, and the parents and staff of the discharge ward's demo.
    assert.deepEqual(holders, [ASSESSOR_HOLDER, 'Amira Okafor', 'Priya Sandhu', CARER,
      'Dan Clarke', 'Frank Mensah', 'Grace Hughes', 'Jo Bennett', 'Owen Hughes', 'Ravi Shah'].sort(), 'the demo holders');
    found.tomHolder = await main().getByRole('link', { name: CARER }).getAttribute('href');

    res = await steps.navigate(() => page.getByRole('link', { name: ASSESSOR_HOLDER }).click());
    await steps.check('Holder: the assessor', res, { heading: ASSESSOR_HOLDER, tenant: TRUST });
    res = await openPassport();
    await steps.check('Passport: the assessor', res, { heading: ASSESSOR_HOLDER, tenant: TRUST });
    const assessorCards = main().locator('.nhsuk-card').filter({ hasText: /; assessor/ });
    assert.equal(await assessorCards.count(), 1, 'the assessor holds one assessor competency');
    const assessorTitle = (await assessorCards.locator('h3').innerText()).trim();
    assert.match(assessorTitle, /^PCC-A\d+ Assessor: /);
    assert.equal((await assessorCards.locator('.nhsuk-tag').first().innerText()).trim(), 'Competent', 'a current assessor');
    const assessorCode = assessorTitle.split(' ')[0];
    await expectAccessibleOpen('Passport: the assessor');

    // Its full specification, from the catalogue, with the skills it covers.
    res = await steps.visit(`${catalogueHref}/competencies/${assessorCode}`);
    await steps.check('Competency specification: assessor', res, { heading: assessorTitle, tenant: TRUST });
    assert.equal(await summaryValue(main(), 'Kind'), 'Assessor');
    const coverLinks = main().locator('.nhsuk-summary-list__row', { hasText: 'Covers' }).getByRole('link');
    const covers = await coverLinks.evaluateAll((as) => as.map((a) => ({ code: a.textContent.trim(), href: a.getAttribute('href') })));
    assert.ok(covers.length > 0, 'the assessor competency covers skills');

    // A covered skill for Tom: not specific to one person if there is one.
    // Looked for from the end of the list, which saves visits in the
    // standard catalogue (its person-specific skills come first).
    let fallback = null;
    for (const { code, href } of covers.reverse()) {
      res = await steps.visit(href);
      const title = (await steps.h1()).trim();
      assert.match(title, new RegExp(`^${escapeRegExp(code)} `));
      await steps.check(`Competency specification: ${code}`, res, { heading: title, tenant: TRUST });
      assert.equal(await summaryValue(main(), 'Kind'), 'Skill');
      const spec = {
        skill: title,
        code,
        practices: Number(await summaryValue(main(), 'Supervised practices before sign-off')),
        person: (await summaryValue(main(), 'Prescription parameters')) !== 'None: not person-specific',
      };
      fallback ??= spec;
      if (!spec.person) {
        Object.assign(found, spec);
        break;
      }
    }
    if (!found.skill) Object.assign(found, fallback);
    assert.ok(Number.isInteger(found.practices), 'observed practices required');

    // Search across catalogues.
    res = await steps.visit(tenantPath('/competencies'));
    await steps.check('Search competencies', res, { heading: 'Search competencies', tenant: TRUST });
    await page.getByLabel('Code or title').fill(found.code);
    res = await steps.navigate(() => main().getByRole('button', { name: 'Search' }).click());
    await steps.check('Search competencies, results', res, { heading: 'Search competencies', tenant: TRUST });
    assert.match((await page.locator('#results-caption').innerText()).trim(), new RegExp(`^1 result for “${escapeRegExp(found.code)}”$`));
    assert.match(await page.getByRole('table').locator('tbody').innerText(), new RegExp(escapeRegExp(found.skill.slice(found.code.length + 1))));

    // From the result to its catalogue; a new version, as a draft, compared with the published one.
    res = await steps.navigate(() => main().getByRole('link', { name: 'pcc, version 1' }).click());
    assert.equal(new URL(page.url()).pathname, catalogueHref);
    await steps.check('Catalogue version, from the search', res, { heading: 'Paediatric complex care', tenant: TRUST });
    res = await steps.navigate(() => main().getByRole('button', { name: 'Create a new version' }).click());
    await steps.check('Catalogue version 2, draft', res, { heading: 'Paediatric complex care', tenant: TRUST });
    assert.equal((await main().locator('.nhsuk-caption-l').innerText()).trim(), 'pcc, version 2');
    assert.equal(await summaryValue(main(), 'Status'), 'Draft: can be changed until it is published');
    await page.getByLabel('Compare version 2 with').selectOption({ label: 'Version 1 (Published)' });
    res = await steps.navigate(() => main().getByRole('button', { name: 'Compare' }).click());
    await steps.check('Compare versions', res, { heading: 'Changes from version 1 to version 2', tenant: TRUST });
    assert.match(await mainText(), /The two versions have the same competencies with the same specifications/);
  });

  test('the administrator sees the cared-for child and his prescription', async () => {
    let res = await steps.navigate(async () => (await steps.menuLink('People cared for')).click());
    await steps.check('People cared for', res, { heading: 'People cared for', tenant: TRUST });
    assert.equal((await page.getByRole('table').locator('caption').innerText()).trim(), '3 people', 'Leo, and the two children of the discharge ward');

    res = await steps.navigate(() => page.getByRole('link', { name: 'Leo Okafor' }).click());
    await steps.check('Person cared for', res, { heading: 'Leo Okafor', tenant: TRUST });
    assert.equal(await summaryValue(main(), 'Date of birth'), '20 May 2019');
    const prescriptions = main().locator('.nhsuk-card');
    assert.equal(await prescriptions.count(), 1, 'one care prescription');
    assert.match(await prescriptions.locator('h3').innerText(), /^PCC-\d+ /);
    assert.match(await prescriptions.innerText(), /Version 1, set /);
    assert.match(await prescriptions.innerText(), /As set by the physiotherapist/, 'the prescription parameters');
  });

  test('the administrator enrols Tom and records his training and practice', async () => {
    let res = await steps.visit(found.tomHolder);
    await steps.check('Holder: Tom', res, { heading: CARER, tenant: TRUST });
    assert.equal(await summaryValue(main(), 'Carepass account'), 'Not claimed yet');

    res = await openPassport();
    found.tomPassport = new URL(page.url()).pathname;
    await steps.check('Passport: Tom', res, { heading: CARER, tenant: TRUST });
    assert.equal(await main().locator('.nhsuk-card').count(), 1, 'Tom is enrolled in one skill');
    assert.match(await main().locator('.nhsuk-card').innerText(), /Training attended/);

    // An empty enrolment form is refused, with the reason.
    res = await steps.navigate(() => main().getByRole('button', { name: 'Enrol', exact: true }).click());
    const missing = (await page.locator('#competency_id-error').innerText()).replace(/^Error:\s*/, '').trim();
    await steps.expectErrorSummary('Enrol, no competency', [missing]);
    await steps.check('Enrol, no competency', res, { status: 422, heading: CARER, tenant: TRUST });

    const enrol = page.getByRole('form', { name: 'Enrol in a competency' });
    await enrol.getByLabel('Competency', { exact: true }).selectOption({ label: `${found.skill} (pcc v1)` });
    if (found.person) await enrol.getByLabel('Person cared for').selectOption({ label: 'Leo Okafor (born 20 May 2019)' });
    await enrol.getByLabel('Setting').fill('Home');
    res = await steps.navigate(() => enrol.getByRole('button', { name: 'Enrol' }).click());
    assert.equal(new URL(page.url()).pathname, found.tomPassport);
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Enrolled in the competency/);
    await steps.check('Passport: Tom, enrolled', res, { heading: CARER, tenant: TRUST });
    assert.equal((await card(found.skill).locator('.nhsuk-tag').first().innerText()).trim(), 'Enrolled');

    await recordStep('Passport: Tom, training attended', 'Training attended', 'Training room');
    assert.equal((await card(found.skill).locator('.nhsuk-tag').first().innerText()).trim(), 'Training attended');
    for (let i = 1; i <= found.practices; i++) {
      await recordStep(`Passport: Tom, observed practice ${i}`, 'Observed practice', 'Home');
      assert.equal(await summaryValue(card(found.skill), 'Observed practice'), `${i} of ${found.practices} required`);
    }

    await expectAccessibleOpen('Passport: Tom, ready for sign-off');

    // The administrator is no assessor: the sign-off is refused, saying why.
    res = await steps.navigate(() => card(found.skill).getByRole('link', { name: /^View this record/ }).click());
    await steps.check('Record', res, { heading: found.skill, tenant: TRUST });
    assert.equal(await summaryValue(main(), 'Observed practice'), `${found.practices} of ${found.practices} required`);
    await page.getByLabel(SIGN_OFF, { exact: true }).check();
    await page.getByLabel('Setting', { exact: true }).fill(SIGN_OFF_SETTING);
    res = await steps.navigate(() => main().getByRole('button', { name: 'Record this step' }).click());
    const refusal = `You are not a current assessor for ${found.code}`;
    await steps.expectErrorSummary('Record, sign-off refused', [refusal]);
    assert.equal((await page.locator('#action-error').innerText()).replace(/^Error:\s*/, '').trim(), refusal, 'the reason at the field');
    assert.equal(await page.getByLabel(SIGN_OFF, { exact: true }).isChecked(), true, 'the choice is kept');
    assert.equal(await page.getByLabel('Setting', { exact: true }).inputValue(), SIGN_OFF_SETTING, 'the setting is kept');
    await steps.check('Record, sign-off refused', res, { status: 403, heading: found.skill, tenant: TRUST });
    assert.notEqual((await page.locator('.nhsuk-tag').first().innerText()).trim(), 'Competent', 'not signed off');

    await signOut('administrator');
  });

  test('the assessor signs off the competency', async () => {
    await signInAs('Home, assessor', ASSESSOR);
    let res = await steps.navigate(() => page.getByRole('link', { name: TRUST }).click());
    await steps.check('Dashboard, assessor', res, { heading: TRUST, tenant: TRUST });
    res = await steps.navigate(async () => (await steps.menuLink('Holders')).click());
    await steps.check('Holders, assessor', res, { heading: 'Holders', tenant: TRUST });
    res = await steps.navigate(() => page.getByRole('link', { name: CARER }).click());
    await steps.check('Holder: Tom, assessor', res, { heading: CARER, tenant: TRUST });
    res = await openPassport();
    assert.equal(new URL(page.url()).pathname, found.tomPassport);
    await steps.check('Passport: Tom, assessor', res, { heading: CARER, tenant: TRUST });

    await recordStep('Passport: Tom, signed off', SIGN_OFF, SIGN_OFF_SETTING);
    const c = card(found.skill);
    assert.equal((await c.locator('.nhsuk-tag').first().innerText()).trim(), 'Competent');
    assert.match(await summaryValue(c, 'Signed off'), new RegExp(`by ${ASSESSOR_HOLDER} at ${escapeRegExp(SIGN_OFF_SETTING)}`));
    assert.match(await summaryValue(c, 'Expires'), /^\d{1,2} \w+ \d{4} \(update due from /);

    res = await steps.navigate(() => main().getByRole('link', { name: 'Printable view of this passport' }).click());
    await steps.check('Passport: Tom, printable', res, { heading: CARER, tenant: TRUST });
    const printed = page.getByRole('table', { name: 'Competencies' }).locator('tbody tr').filter({ hasText: found.skill });
    const cells = (await printed.locator('td').allInnerTexts()).map((t) => t.trim());
    assert.equal(cells[1], 'Competent');
    assert.equal(cells[4], `${ASSESSOR_HOLDER}, ${SIGN_OFF_SETTING}`);

    await signOut('assessor');
  });

  test('Tom claims his passport and sees the sign-off', async () => {
    await signInAs('Home, trust administrator again', TRUST_ADMIN);
    let res = await steps.visit(found.tomHolder);
    await steps.check('Holder: Tom, before the claim', res, { heading: CARER, tenant: TRUST });
    res = await steps.navigate(() => main().getByRole('button', { name: 'Create a link to claim an account' }).click());
    await steps.check('Claim link created', res, { heading: 'Link to claim a passport created', tenant: TRUST });
    found.claimLink = await page.getByLabel('Link to claim a Carepass account').inputValue();
    assert.match(found.claimLink, new RegExp(`/claim/${SLUG}/\\S+$`), 'the claim link is shown');
    await signOut('claim link created');

    res = await steps.visit(new URL(found.claimLink).pathname);
    const heading = `Claim your passport from ${TRUST}`;
    await steps.check('Claim', res, { heading });
    const create = main().locator('form').filter({ has: page.getByRole('button', { name: 'Create account and claim' }) });

    res = await steps.navigate(() => create.getByRole('button', { name: 'Create account and claim' }).click());
    const messages = (await page.locator('.nhsuk-error-summary li').allInnerTexts()).map((m) => m.trim());
    assert.ok(messages.length >= 2, `name, email and password are required: ${messages.join(' | ')}`);
    await steps.expectErrorSummary('Claim, empty form', messages);
    await steps.check('Claim, empty form', res, { status: 422, heading });

    await create.getByLabel('Full name').fill(CARER);
    await create.getByLabel('Email address').fill(CARER_EMAIL);
    await create.getByLabel('Create a password').fill(CARER_PASSWORD);
    await create.getByLabel('Confirm your password').fill(CARER_PASSWORD);
    res = await steps.navigate(() => create.getByRole('button', { name: 'Create account and claim' }).click());
    assert.equal(new URL(page.url()).pathname, '/me/passport');
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(),
      new RegExp(`Your passport from ${escapeRegExp(TRUST)} is now in your Carepass account`));
    await steps.check('Your passport: Tom', res, { heading: 'Your passport' });
    assert.match(await page.getByRole('navigation', { name: 'Account' }).innerText(), new RegExp(CARER), 'signed in as Tom');

    assert.equal(await main().getByRole('heading', { level: 2, name: TRUST, exact: true }).count(), 1, 'the trust that recorded it');
    const records = page.getByRole('table', { name: `Competencies recorded by ${TRUST}` });
    const row = records.locator('tbody tr').filter({ hasText: found.skill });
    assert.equal(await row.count(), 1, `${found.skill} is in Tom's passport`);
    const cells = (await row.locator('td').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    assert.equal(cells[1], 'Competent');
    assert.match(cells[2], /^\d{1,2} \w+ \d{4}$/, 'signed-off date');
    assert.equal(cells[4], `${ASSESSOR_HOLDER}, ${SIGN_OFF_SETTING}`);

    const views = page.getByRole('table', { name: /^Who viewed your passport/ });
    const viewers = (await views.locator('tbody tr').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    for (const who of [TRUST_ADMIN_NAME, ASSESSOR_ACCOUNT_NAME]) {
      assert.ok(viewers.some((v) => v.includes(`${who} ${TRUST}`)), `${who} is listed as a viewer: ${viewers.join(' | ')}`);
    }

    await signOut('Tom');
  });

  test('Amira sees her signed-off skill and shares her passport', async () => {
    await signInAs('Home, parent', PARENT);
    let res = await steps.navigate(() => page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Your passport' }).click());
    await steps.check('Your passport: Amira', res, { heading: 'Your passport' });
    const records = page.getByRole('table', { name: `Competencies recorded by ${TRUST}` });
    const rows = (await records.locator('tbody tr').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    assert.equal(rows.length, 1, 'one competency');
    assert.match(rows[0], new RegExp(`^PCC-\\d+ .* Competent \\d{1,2} \\w+ \\d{4} \\d{1,2} \\w+ \\d{4} ${ASSESSOR_HOLDER}, ${escapeRegExp(SIGN_OFF_SETTING)}$`));

    res = await steps.navigate(() => main().getByRole('link', { name: 'Share your passport with another organisation' }).click());
    await steps.check('Sharing your passport', res, { heading: 'Sharing your passport' });
    assert.match(await mainText(), /You have not shared your passport/);

    res = await steps.navigate(() => main().getByRole('link', { name: 'Share your passport' }).click());
    assert.equal(new URL(page.url()).pathname, '/me/shares/new');
    await steps.check('Share your passport', res, { heading: 'Share your passport' });
    assert.equal(await page.getByLabel('Create a share code').isChecked(), true, 'a share code is the default');

    res = await steps.navigate(() => main().getByRole('button', { name: 'Share passport' }).click());
    await steps.check('Share code created', res, { heading: 'Share code created' });
    const code = (await main().locator('.nhsuk-panel__body strong').innerText()).trim();
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/, 'a share code');

    res = await steps.navigate(() => main().getByRole('link', { name: 'Back to sharing your passport' }).click());
    await steps.check('Sharing your passport, one share', res, { heading: 'Sharing your passport' });
    const shares = (await page.getByRole('table', { name: 'Your shares' }).locator('tbody tr').allInnerTexts())
      .map((s) => s.replace(/\s+/g, ' ').trim());
    assert.equal(shares.length, 1);
    assert.match(shares[0], /^Share code, not redeemed yet Waiting to be redeemed You, /);
  });
});
