// The carer passport journey in a real browser: a carers' centre's passport
// officer issues a passport (refused first without the consent its scheme
// needs) and downloads its wallet card; a parent finds the passport her
// hospital issued her in her own account and shows it full-screen; anyone
// checks her code on the public page, typed loosely, and learns nothing about
// the person she cares for; an unknown and a mistyped code get one and the
// same answer; a GP receptionist checks it and the parent sees who did; and
// the officer revokes the first passport, which is then no longer confirmed.
// Every page visited must have zero WCAG 2.2 A/AA violations according to
// axe-core and reflow at 320 CSS pixels.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launch, newContext } from './support/browser.mjs';
import { escapeRegExp, pageSteps } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';

const CHARITY = "Lanternfield Carers' Centre";
const CHARITY_SLUG = 'lanternfield-carers';
const OFFICER = 'passport-officer.charity@demo.carepass.example';
const CARER = 'Helen Ashdown'; // a holder of the charity's
const CARED_FOR = 'Arthur Ashdown';
const RELATIONSHIP = 'Husband';
const HEALTH = 'Parkinson’s disease; falls at night';

const TRUST = "Wrenford Children's Hospital NHS Foundation Trust";
const PARENT = 'amira.okafor@demo.carepass.example';
const PARENT_NAME = 'Amira Okafor';

const GP = 'Kestrel Lane Surgery';
const GP_SLUG = 'kestrel-lane-surgery';
const RECEPTION = 'reception.gp@demo.carepass.example';

const CHECK_HEADING = 'Check a carer passport';
const NOT_CONFIRMED = 'This passport cannot be confirmed as valid';
const CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;

// Passport codes: Crockford's base 32, fifteen symbols and a Damm check
// symbol over GF(32) (modules/credential/code.go), so the test can make a
// well-formed code that was never issued, and a mistyped one that is not.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const double = (x) => { const y = x << 1; return y & 0x20 ? y ^ 0x25 : y; };
const fold = (values) => values.reduce((acc, v) => double(acc) ^ v, 0);
const format = (values) => values.map((v) => ALPHABET[v]).join('').replace(/(.{4})(?!$)/g, '$1-');

/** wellFormedCode returns a code with a correct check symbol, from random symbols. */
function wellFormedCode() {
  const data = Array.from({ length: 15 }, () => Math.floor(Math.random() * 32));
  return format([...data, double(fold(data))]);
}

/** mistype changes the second symbol of code to another one: its check symbol no longer matches. */
function mistype(code) {
  const values = [...code.replace(/-/g, '')].map((c) => ALPHABET.indexOf(c));
  values[1] = (values[1] + 7) % 32;
  const typed = format(values);
  assert.notEqual(fold(values), 0, 'the mistyped code fails its check symbol');
  return typed;
}

/** loosely writes a code as someone might type it: lower case, spaces for hyphens. */
const loosely = (code) => code.toLowerCase().replace(/-/g, ' ');

/** dayBefore is yesterday's date in UTC, as the three boxes of a date input. */
function dayBefore() {
  const d = new Date(Date.now() - 24 * 60 * 60 * 1000);
  return { day: String(d.getUTCDate()), month: String(d.getUTCMonth() + 1), year: String(d.getUTCFullYear()) };
}

const squash = (s) => s.replace(/\s+/g, ' ').trim();

describe('carer passports in a browser', { concurrency: false }, () => {
  let server;
  let browser;
  let staff; // signed-in people, one after another
  let visitor; // anyone, never signed in

  // What one step of the journey finds out for the next.
  const found = {
    issued: { path: '', code: '', scheme: '' }, // the passport the officer issues
    amira: { path: '', code: '', scheme: '', caredFor: '', validUntil: '', benefits: [] },
    notConfirmed: '', // the HTML of the answer to an unknown code
  };

  before(async () => {
    server = await startServer();
    browser = await launch();
    const open = async () => {
      const page = await (await newContext(browser, server.baseURL)).newPage();
      page.setDefaultTimeout(15_000);
      return { page, steps: pageSteps(page, server) };
    };
    staff = await open();
    visitor = await open();
  }, { timeout: 600_000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
    const checked = [...(staff?.steps.checked ?? []), ...(visitor?.steps.checked ?? [])];
    if (checked.length) {
      console.log(`axe-core found no WCAG 2.2 A/AA violations on ${checked.length} pages:\n  ${checked.join('\n  ')}`);
    }
  });

  const main = (who) => who.page.locator('main');

  /** summaryValue reads the value of a summary-list row by its key, within scope. */
  async function summaryValue(scope, key) {
    const row = scope.locator('.nhsuk-summary-list__row').filter({
      has: scope.page().locator('.nhsuk-summary-list__key', { hasText: new RegExp(`^\\s*${escapeRegExp(key)}\\s*$`) }),
    });
    assert.equal(await row.count(), 1, `one "${key}" row`);
    return squash(await row.locator('.nhsuk-summary-list__value').innerText());
  }

  /** flash is the success banner's message. */
  const flash = async (who) => squash(await who.page.locator('.nhsuk-notification-banner--success .nhsuk-notification-banner__heading').innerText());

  /** signInAs signs in from the sign-in page and checks the home page. */
  async function signInAs(label, email) {
    const { page, steps } = staff;
    if (new URL(page.url()).pathname !== '/signin') {
      await steps.check('Sign in', await steps.visit('/signin'), { heading: 'Sign in to Carepass' });
    }
    const res = await steps.signIn(email, PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/', `${label}: signed in`);
    await steps.check(label, res, { heading: 'Carepass' });
  }

  async function signOut(label) {
    const res = await staff.steps.signOut();
    assert.match(squash(await main(staff).innerText()), /You have signed out/);
    await staff.steps.check(`Sign in, after signing out (${label})`, res, { heading: 'Sign in to Carepass' });
  }

  /** expectPDF fetches a link of the page with its session and checks it is a PDF download. */
  async function expectPDF(label, link) {
    const href = await link.getAttribute('href');
    assert.ok(href, `${label}: a link`);
    const res = await staff.page.request.get(href, { maxRedirects: 0 });
    assert.equal(res.status(), 200, `${label}: ${href} answers 200`);
    assert.equal(res.headers()['content-type'], 'application/pdf', `${label}: a PDF`);
    assert.match(res.headers()['content-disposition'] ?? '', /^attachment; filename="carer-passport-[0-9A-Z]{4}\.pdf"$/, `${label}: a download`);
    const body = await res.body();
    assert.equal(body.subarray(0, 5).toString('latin1'), '%PDF-', `${label}: starts like a PDF`);
    assert.ok(body.length > 1000, `${label}: a PDF of some substance (${body.length} bytes)`);
  }

  /** expectQR checks that the QR image of the page loads, as an SVG of the session's. */
  async function expectQR(who, label) {
    const qr = who.page.locator('#passport-qr');
    const width = await qr.evaluate(async (img) => { await img.decode(); return img.naturalWidth; });
    assert.ok(width > 0, `${label}: the QR code is drawn`);
    const res = await who.page.request.get(await qr.getAttribute('src'));
    assert.equal(res.status(), 200, `${label}: the QR code loads`);
    assert.equal(res.headers()['content-type'], 'image/svg+xml', `${label}: the QR code is an SVG`);
    return qr;
  }

  /** passportCount counts the charity's passports matching q, through the officers' API (the page stays as it is). */
  async function passportCount(q) {
    const res = await staff.page.request.get(`/api/v1/t/${CHARITY_SLUG}/carer-passports?q=${encodeURIComponent(q)}`);
    assert.equal(res.status(), 200, 'the officers\' passport search answers');
    return (await res.json()).passports.length;
  }

  /** checkCode types text into the verify form of who's page and checks the answer page. */
  async function checkCode(who, label, text, { tenant = null } = {}) {
    await who.page.locator('#verify-text').fill(text);
    const res = await who.steps.navigate(() => who.page.locator('#verify-form').getByRole('button', { name: 'Check passport' }).click());
    await who.steps.check(label, res, { heading: CHECK_HEADING, tenant });
    return who.page.locator('#verify-result');
  }

  /** confirmed reads a positive answer's rows and benefits. */
  async function confirmed(result, label) {
    assert.equal(await result.count(), 1, `${label}: an answer`);
    const text = squash(await result.innerText());
    assert.doesNotMatch(text, new RegExp(escapeRegExp(NOT_CONFIRMED)), `${label}: not refused`);
    assert.equal(squash(await result.locator('h2').innerText()), 'Registered carer', `${label}: confirmed`);
    const rows = {};
    for (const key of ['Name', 'Status', 'Issued by', 'Scheme', 'Valid until']) rows[key] = await summaryValue(result, key);
    rows.benefits = (await result.locator('ul li').allInnerTexts()).map(squash);
    return rows;
  }

  /** refused checks a negative answer and returns its HTML. */
  async function refused(result, label) {
    assert.equal(await result.count(), 1, `${label}: an answer`);
    const text = squash(await result.innerText());
    assert.match(text, new RegExp(`${escapeRegExp(NOT_CONFIRMED)}\\.`), `${label}: "${NOT_CONFIRMED}"`);
    assert.doesNotMatch(text, /Registered carer/, `${label}: not confirmed`);
    return result.evaluate((el) => el.outerHTML);
  }

  /** checksTable reads the "who checked" table as [by, how, answer] rows, newest first. */
  async function checksTable(who) {
    const rows = await who.page.getByRole('table', { name: 'Checks of the passport, newest first' }).locator('tbody tr').all();
    const out = [];
    for (const row of rows) out.push((await row.locator('td').allInnerTexts()).slice(1).map(squash));
    return out;
  }

  function need(part, what) {
    assert.ok(found[part].code, `${what} is missing: see the earlier test`);
  }

  test("the charity's passport officer issues a passport, refused first without consent", async () => {
    const { page, steps } = staff;
    await signInAs('Home, passport officer', OFFICER);
    let res = await steps.navigate(() => main(staff).getByRole('link', { name: CHARITY }).click());
    await steps.check('Dashboard, passport officer', res, { heading: CHARITY, tenant: CHARITY });

    res = await steps.navigate(() => page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name: 'Carer passports' }).click());
    assert.equal(new URL(page.url()).pathname, `/t/${CHARITY_SLUG}/carer-passports`);
    await steps.check('Carer passports', res, { heading: 'Carer passports', tenant: CHARITY });
    assert.deepEqual((await steps.nav()).current, ['Carer passports']);

    await page.getByLabel('Search by name or passport code').fill('Ashdown');
    res = await steps.navigate(() => main(staff).getByRole('button', { name: 'Search' }).click());
    await steps.check('Carer passports, search', res, { heading: 'Carer passports', tenant: CHARITY });
    const results = page.getByRole('table', { name: '1 passport' });
    assert.equal(await results.count(), 1, 'one passport of Helen Ashdown\'s (the suspended demo one)');
    assert.match(squash(await results.locator('tbody tr').innerText()), new RegExp(`${escapeRegExp(CARER)} .* Suspended$`));
    assert.equal(await passportCount('Ashdown'), 1);

    // Find the carer, then the form.
    res = await steps.navigate(() => main(staff).getByRole('link', { name: 'Issue a carer passport' }).click());
    await steps.check('Issue a passport: find the carer', res, { heading: 'Issue a carer passport', tenant: CHARITY });
    await page.getByLabel("Carer's name").fill('ashdown');
    res = await steps.navigate(() => main(staff).getByRole('button', { name: 'Find' }).click());
    await steps.check('Issue a passport: carers found', res, { heading: 'Issue a carer passport', tenant: CHARITY });
    res = await steps.navigate(() => main(staff).getByRole('link', { name: `Issue to ${CARER}` }).click());
    await steps.check('Issue a passport', res, { heading: 'Issue a carer passport', tenant: CHARITY });
    assert.equal(await summaryValue(main(staff), 'Carer'), CARER);

    // A scheme that needs consent and does not end with a hospital stay.
    const items = main(staff).locator('.nhsuk-radios__item').filter({ has: page.locator('input[name="scheme"]') });
    let scheme = null;
    for (const item of await items.all()) {
      const hint = squash(await item.locator('.nhsuk-hint').innerText());
      if (/Needs the consent of the person cared for/.test(hint) && !/hospital stay/.test(hint)) {
        scheme = item;
        break;
      }
    }
    assert.ok(scheme, 'the charity has a scheme that needs consent');
    found.issued.scheme = squash(await scheme.locator('label').innerText());
    await scheme.locator('input').check();
    await page.getByLabel('Name of the person they care for').fill(CARED_FOR);
    await page.getByLabel('Relationship to them').fill(RELATIONSHIP);
    await page.getByLabel('Health details (optional)').fill(HEALTH);

    // Without the consent: refused, saying what is missing, and nothing kept.
    res = await steps.navigate(() => main(staff).getByRole('button', { name: 'Issue passport' }).click());
    await steps.expectErrorSummary('Issue a passport, no consent', [
      'This scheme needs the consent of the person cared for: enter who gave it',
      'Select how consent was given',
      'Enter the date consent was given',
    ]);
    assert.match(squash(await page.locator('#consent_given_by-error').innerText()), /needs the consent/, 'the reason at the field');
    assert.equal(await page.getByLabel(found.issued.scheme, { exact: true }).isChecked(), true, 'the scheme is kept');
    assert.equal(await page.getByLabel('Name of the person they care for').inputValue(), CARED_FOR, 'the name is kept');
    assert.equal(await page.getByLabel('Health details (optional)').inputValue(), HEALTH, 'the health details are kept');
    await steps.check('Issue a passport, no consent', res, { status: 422, heading: 'Issue a carer passport', tenant: CHARITY });
    assert.equal(await passportCount('Ashdown'), 1, 'nothing was issued');

    // With the consent: issued.
    await page.getByLabel('Who gave consent').fill(CARED_FOR);
    await page.getByLabel('In person', { exact: true }).check();
    const consent = dayBefore();
    await page.getByLabel('Day').fill(consent.day);
    await page.getByLabel('Month').fill(consent.month);
    await page.getByLabel('Year').fill(consent.year);
    res = await steps.navigate(() => main(staff).getByRole('button', { name: 'Issue passport' }).click());
    assert.match(new URL(page.url()).pathname, new RegExp(`^/t/${CHARITY_SLUG}/carer-passports/[0-9a-f-]{36}$`), 'on the new passport');
    assert.equal(await flash(staff), `Passport issued to ${CARER}. Give them the code or print their wallet card.`);
    await steps.check('Passport issued', res, { heading: `${CARER}\n${found.issued.scheme}`, tenant: CHARITY });
    assert.equal(await passportCount('Ashdown'), 2, 'one passport more');

    found.issued.path = new URL(page.url()).pathname;
    const code = squash(await page.locator('#passport-code').innerText());
    assert.match(code, CODE_PATTERN, 'the passport code is shown');
    assert.equal(squash(await main(staff).locator('p .nhsuk-tag').first().innerText()), 'Active');
    assert.equal(await summaryValue(main(staff), 'Cares for'), `${CARED_FOR} (${RELATIONSHIP})`);
    assert.equal(await summaryValue(main(staff), 'Health details'), HEALTH);
    assert.match(await summaryValue(main(staff), 'Consent'), new RegExp(`^Given by ${escapeRegExp(CARED_FOR)}, In person, on \\d{1,2} \\w+ \\d{4}$`));
    assert.match(await summaryValue(main(staff), 'Valid'), /^\d{1,2} \w+ \d{4} to \d{1,2} \w+ \d{4}$/);
    await expectQR(staff, 'Passport issued');
    const history = (await page.getByRole('table', { name: 'History of the passport' }).locator('tbody tr').allInnerTexts()).map(squash);
    assert.equal(history.length, 1, 'one event');
    assert.match(history[0], /Issued/);
    assert.match(squash(await main(staff).innerText()), /No one has checked this passport yet\./);
    for (const action of ['Renew', 'Re-issue with a new code', 'Suspend']) {
      assert.equal(await main(staff).getByRole('button', { name: action, exact: true }).count(), 1, `"${action}" is offered`);
    }
    assert.equal(await main(staff).getByRole('link', { name: 'Revoke this passport' }).count(), 1, 'revoking is offered');

    await expectPDF('Wallet card', main(staff).getByRole('link', { name: 'Download the wallet card (PDF)' }));
    found.issued.code = code;
  });

  test('anyone confirms the new passport by its link, and learns nothing of the person cared for', async () => {
    need('issued', 'the issued passport');
    const { page, steps } = visitor;
    const res = await steps.visit(`/verify/${found.issued.code}`);
    await steps.check('Check a passport, by its link', res, { heading: CHECK_HEADING });
    const rows = await confirmed(page.locator('#verify-result'), 'by its link');
    assert.equal(rows.Name, CARER);
    assert.equal(rows['Issued by'], CHARITY);
    assert.equal(rows.Scheme, found.issued.scheme);
    const html = await page.content();
    for (const secret of [CARED_FOR, 'Arthur', RELATIONSHIP, 'Parkinson', 'falls at night']) {
      assert.equal(html.includes(secret), false, `the answer does not mention "${secret}"`);
    }
  });

  test('Amira finds the passport her hospital issued and shows it full-screen', async () => {
    const { page, steps } = staff;
    await signOut('passport officer');
    await signInAs('Home, parent', PARENT);

    // Her carer passports are at /me/carer-passports (the account menu has no link to them).
    let res = await steps.visit('/me/carer-passports');
    await steps.check('Your carer passports', res, { heading: 'Your carer passports' });
    const cards = main(staff).locator('.nhsuk-card');
    assert.equal(await cards.count(), 1, 'one carer passport, from the trust');
    const card = cards.first();
    found.amira.scheme = squash(await card.locator('h2').innerText());
    assert.match(squash(await card.innerText()), new RegExp(`^${escapeRegExp(found.amira.scheme)} Issued by ${escapeRegExp(TRUST)}\\. Active Valid until \\d{1,2} \\w+ \\d{4}\\.$`),
      'issuer, state and end of validity, and no check yet');

    res = await steps.navigate(() => card.getByRole('link', { name: found.amira.scheme }).click());
    found.amira.path = new URL(page.url()).pathname;
    assert.match(found.amira.path, /^\/me\/carer-passports\/[0-9a-f-]{36}$/);
    await steps.check('Your carer passport', res, { heading: `${found.amira.scheme}\nIssued by ${TRUST}` });
    const code = squash(await main(staff).locator('.cp-code').innerText());
    assert.match(code, CODE_PATTERN, 'her code');
    const caresFor = /^(.+) \((.+)\)$/.exec(await summaryValue(main(staff), 'Cares for'));
    assert.ok(caresFor, 'whom she cares for');
    found.amira.caredFor = caresFor[1];
    const valid = /^\d{1,2} \w+ \d{4} to (\d{1,2} \w+ \d{4})$/.exec(await summaryValue(main(staff), 'Valid'));
    assert.ok(valid, 'valid from and to');
    found.amira.validUntil = valid[1];
    found.amira.benefits = (await main(staff).locator('.nhsuk-summary-list__row', { hasText: 'Support offered' }).locator('li').allInnerTexts()).map(squash);
    assert.ok(found.amira.benefits.length > 0, 'the support it offers');
    assert.match(squash(await main(staff).innerText()), /Who checked your passport No one has checked this passport yet\./);
    await expectPDF('Your wallet card', main(staff).getByRole('link', { name: 'Download your wallet card to print (PDF)' }));

    res = await steps.navigate(() => main(staff).getByRole('link', { name: 'Show my passport to someone' }).click());
    assert.equal(new URL(page.url()).pathname, `${found.amira.path}/show`);
    await steps.check('Show your carer passport', res, { heading: PARENT_NAME });
    assert.equal(squash(await page.locator('#passport-code').innerText()), code, 'the code, large');
    const qr = await expectQR(staff, 'Show your carer passport');
    const box = await qr.boundingBox();
    assert.ok(box && box.width >= 200, `the QR code is large enough to scan (${box?.width}px wide)`);
    const shown = squash(await main(staff).innerText());
    assert.match(shown, new RegExp(`${escapeRegExp(found.amira.scheme)}, ${escapeRegExp(TRUST)}\\. Valid until ${escapeRegExp(found.amira.validUntil)}\\.`));
    assert.doesNotMatch(shown, new RegExp(escapeRegExp(found.amira.caredFor)), 'nothing about the person cared for');

    res = await steps.navigate(() => main(staff).getByRole('link', { name: 'Done' }).click());
    assert.equal(new URL(page.url()).pathname, found.amira.path);
    await steps.check('Your carer passport, after showing it', res, { heading: `${found.amira.scheme}\nIssued by ${TRUST}` });
    found.amira.code = code;
    await signOut('parent');
  });

  test("anyone checks Amira's code, typed loosely, and learns nothing of the person she cares for", async () => {
    need('amira', "Amira's passport");
    const { page, steps } = visitor;
    const res = await steps.visit('/verify');
    await steps.check('Check a passport', res, { heading: CHECK_HEADING });
    assert.equal(await page.locator('#verify-result').count(), 0, 'no answer before a check');
    assert.equal(await page.locator('.nhsuk-header__account').count(), 0, 'not signed in');

    const typed = loosely(found.amira.code);
    assert.notEqual(typed, found.amira.code);
    const rows = await confirmed(await checkCode(visitor, 'Check a passport, typed loosely', typed), 'typed loosely');
    assert.deepEqual(rows, {
      Name: PARENT_NAME,
      Status: 'Registered carer',
      'Issued by': TRUST,
      Scheme: found.amira.scheme,
      'Valid until': found.amira.validUntil,
      benefits: found.amira.benefits,
    });
    const html = await page.content();
    assert.ok(found.amira.caredFor.length > 3);
    for (const secret of [found.amira.caredFor, found.amira.caredFor.split(' ')[0]]) {
      assert.equal(html.includes(secret), false, `the answer does not mention "${secret}"`);
    }
  });

  test('an unknown code and a mistyped code get the same answer', async () => {
    need('amira', "Amira's passport");
    const unknown = wellFormedCode();
    assert.notEqual(unknown, found.amira.code);
    const a = await refused(await checkCode(visitor, 'Check a passport, unknown code', unknown), 'unknown code');
    const b = await refused(await checkCode(visitor, 'Check a passport, mistyped code', mistype(found.amira.code)), 'mistyped code');
    assert.equal(b, a, 'the two answers are identical');
    found.notConfirmed = a;
  });

  test("a GP receptionist checks Amira's passport, and Amira sees who did", async () => {
    need('amira', "Amira's passport");
    const { page, steps } = staff;
    await signInAs('Home, GP receptionist', RECEPTION);
    let res = await steps.visit(`/t/${GP_SLUG}/check`);
    await steps.check('Check a passport, at the GP practice', res, { heading: CHECK_HEADING, tenant: GP });
    assert.match(squash(await main(staff).innerText()), new RegExp(`The check is recorded for ${escapeRegExp(GP)}`));
    const rows = await confirmed(await checkCode(staff, 'Check a passport, at the GP practice: confirmed', found.amira.code, { tenant: GP }),
      'at the GP practice');
    assert.equal(rows.Name, PARENT_NAME);
    assert.equal(rows['Issued by'], TRUST);
    assert.equal((await page.content()).includes(found.amira.caredFor), false, 'the practice learns nothing of the person cared for');
    await signOut('GP receptionist');

    await signInAs('Home, parent again', PARENT);
    res = await steps.visit('/me/carer-passports');
    await steps.check('Your carer passports, after the checks', res, { heading: 'Your carer passports' });
    assert.match(squash(await main(staff).locator('.nhsuk-card').innerText()),
      new RegExp(`Last checked \\d{1,2} \\w+ \\d{4}.* by ${escapeRegExp(GP)}\\.$`), 'the last check, on the list');

    res = await steps.navigate(() => main(staff).getByRole('link', { name: found.amira.scheme }).click());
    await steps.check('Your carer passport, after the checks', res, { heading: `${found.amira.scheme}\nIssued by ${TRUST}` });
    assert.equal(await main(staff).getByRole('heading', { level: 2, name: 'Who checked your passport' }).count(), 1);
    assert.deepEqual(await checksTable(staff), [
      [GP, 'Code typed in', 'Confirmed as valid'],
      ['Anonymous check', 'Code typed in', 'Confirmed as valid'],
    ], 'the practice\'s check and the public one; the unknown and mistyped codes are not hers');
    await signOut('parent again');
  });

  test('the passport officer revokes the passport, which is then no longer confirmed', async () => {
    need('issued', 'the issued passport');
    const { page, steps } = staff;
    await signInAs('Home, passport officer again', OFFICER);
    let res = await steps.visit(found.issued.path);
    await steps.check('Passport, checked once', res, { heading: `${CARER}\n${found.issued.scheme}`, tenant: CHARITY });
    assert.deepEqual(await checksTable(staff), [['Anonymous check', 'Link opened', 'Confirmed as valid']], 'the public check is listed');

    res = await steps.navigate(() => main(staff).getByRole('link', { name: 'Revoke this passport' }).click());
    const heading = `Revoke the passport of ${CARER}`;
    await steps.check('Revoke a passport', res, { heading, tenant: CHARITY });

    // No reason: refused, saying so.
    res = await steps.navigate(() => main(staff).getByRole('button', { name: 'Revoke passport' }).click());
    const missing = squash(await page.locator('#reason-error').innerText()).replace(/^Error:\s*/, '');
    assert.ok(missing, 'a message at the reasons');
    await steps.expectErrorSummary('Revoke a passport, no reason', [missing]);
    await steps.check('Revoke a passport, no reason', res, { status: 422, heading, tenant: CHARITY });

    await page.getByLabel('No longer caring', { exact: true }).check();
    await page.getByLabel('Note (optional)').fill('Arthur has moved into a care home');
    res = await steps.navigate(() => main(staff).getByRole('button', { name: 'Revoke passport' }).click());
    assert.equal(new URL(page.url()).pathname, found.issued.path);
    assert.match(await flash(staff), /^Passport revoked\. It can no longer be confirmed as valid/);
    await steps.check('Passport revoked', res, { heading: `${CARER}\n${found.issued.scheme}`, tenant: CHARITY });
    assert.equal(squash(await main(staff).locator('p', { has: page.locator('.nhsuk-tag') }).first().innerText()), 'Revoked No longer caring');
    assert.equal(await main(staff).getByRole('link', { name: 'Download the wallet card (PDF)' }).count(), 0, 'no card to print');
    assert.equal(await main(staff).getByRole('link', { name: 'Revoke this passport' }).count(), 0, 'nothing more to revoke');
    for (const action of ['Renew', 'Re-issue with a new code', 'Suspend', 'Resume']) {
      assert.equal(await main(staff).getByRole('button', { name: action, exact: true }).count(), 0, `no "${action}"`);
    }
    const history = (await page.getByRole('table', { name: 'History of the passport' }).locator('tbody tr').allInnerTexts()).map(squash);
    assert.equal(history.length, 2, 'issued, then revoked');
    assert.ok(history.some((h) => /Revoked/.test(h) && /No longer caring\./.test(h)), `the revocation, with its reason: ${history.join(' | ')}`);
    await signOut('passport officer again');

    // The public check of its code: the one negative answer.
    res = await visitor.steps.visit('/verify');
    await visitor.steps.check('Check a passport, again', res, { heading: CHECK_HEADING });
    const answer = await refused(await checkCode(visitor, 'Check a passport, revoked', found.issued.code), 'revoked');
    if (found.notConfirmed) assert.equal(answer, found.notConfirmed, 'a revoked passport gets the same answer as an unknown code');
  });
});
