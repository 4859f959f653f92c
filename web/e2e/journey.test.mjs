// The foundation journey in a real browser: sign-in (with its errors), a
// trust administrator's tenant pages, the tenant switcher, the platform
// operator's pages and a missing page. Every page visited must have zero
// WCAG 2.2 A/AA violations according to axe-core.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { expectReflow, launch, newContext } from './support/browser.mjs';
import { escapeRegExp, pageSteps } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';
const TRUST_ADMIN = 'tenant-admin.trust@demo.carepass.example';
const OPERATOR = 'operator@demo.carepass.example';
const TRUST = "Wrenford Children's Hospital NHS Foundation Trust";
const CHARITY = "Lanternfield Carers' Centre";
const INVITEE = 'new.ward.nurse@example.org';
const SIGNIN_FAILED = 'Enter a correct email address and password. After several failed attempts you must wait 15 minutes.';

describe('carepass in a browser', { concurrency: false }, () => {
  let server;
  let browser;
  let context;
  let page;
  let invitationLink = '';
  let steps = { checked: [] };
  // The shared steps of every journey (support/pages.mjs), bound to this page.
  const navigate = (action) => steps.navigate(action);
  const visit = (path) => steps.visit(path);
  const check = (label, response, want) => steps.check(label, response, want);
  const nav = () => steps.nav();
  const expectErrorSummary = (label, messages) => steps.expectErrorSummary(label, messages);
  const signIn = (email, password) => steps.signIn(email, password);
  const consoleProblems = () => steps.consoleProblems();

  before(async () => {
    server = await startServer();
    browser = await launch();
    context = await newContext(browser, server.baseURL);
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

  test('sign-in page and its errors', async () => {
    let res = await visit('/signin');
    await check('Sign in', res, { heading: 'Sign in to Carepass' });
    assert.equal(await page.locator('.nhsuk-header__account').count(), 0, 'no account menu when signed out');

    res = await navigate(() => page.getByRole('button', { name: 'Sign in' }).click());
    await expectErrorSummary('Sign in, empty form', ['Enter your email address', 'Enter your password']);
    await page.locator('.nhsuk-error-summary a', { hasText: 'Enter your email address' }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'error link moves focus to its field');
    assert.equal(await page.locator('#email[aria-describedby~="email-error"]').count(), 1, 'field describes its error');
    await check('Sign in, empty form', res, { status: 422, heading: 'Sign in to Carepass' });

    res = await signIn(TRUST_ADMIN, 'not-the-password');
    await expectErrorSummary('Sign in, wrong password', [SIGNIN_FAILED]);
    assert.equal(await page.getByText(SIGNIN_FAILED).count(), 2, 'the one message, in the summary and at the field');
    assert.equal(await page.locator('#email').inputValue(), TRUST_ADMIN, 'email kept');
    assert.equal(await page.locator('#password').inputValue(), '', 'password not kept');
    await check('Sign in, wrong password', res, { status: 401, heading: 'Sign in to Carepass' });
  });

  test('trust admin reaches the dashboard', async () => {
    let res = await signIn(TRUST_ADMIN, PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/');
    await check('Home, signed in', res, { heading: 'Carepass' });
    const orgs = (await page.locator('main ul.nhsuk-list a').allInnerTexts()).map((s) => s.trim()).sort();
    assert.deepEqual(orgs, [CHARITY, TRUST].sort(), 'home lists both organisations');

    res = await navigate(() => page.getByRole('link', { name: TRUST }).click());
    assert.equal(new URL(page.url()).pathname, '/t/wrenford-childrens');
    await check('Dashboard', res, { heading: TRUST, tenant: TRUST });
    assert.deepEqual(await nav(), {
      labels: ['Dashboard', 'Holders', 'Carer passports', 'Shared passports', 'Discharge', 'Training', 'People cared for', 'Catalogues', 'Members', 'Billing', 'Audit'],
      current: ['Dashboard'],
    });
  });

  test('tenant pages', async () => {
    await visit('/t/wrenford-childrens');
    const menu = page.getByRole('navigation', { name: 'Menu' });

    let res = await navigate(() => menu.getByRole('link', { name: 'Holders' }).click());
    await check('Holders', res, { heading: 'Holders', tenant: TRUST });
    assert.deepEqual((await nav()).current, ['Holders']);
    assert.equal(await page.locator('main tbody tr').count(), 10, 'ten demo holders (carers and staff of the discharge ward, and the assessor)');

    await page.getByLabel('Search by name').fill('Okafor');
    res = await navigate(() => page.getByRole('button', { name: 'Search' }).click());
    assert.deepEqual((await page.locator('main tbody tr td:first-child').allInnerTexts()).map((s) => s.trim()), ['Amira Okafor']);
    await check('Holders, search', res, { heading: 'Holders', tenant: TRUST });

    res = await navigate(() => page.getByRole('link', { name: 'Amira Okafor' }).click());
    await check('Holder', res, { heading: 'Amira Okafor', tenant: TRUST });
    assert.deepEqual((await nav()).current, ['Holders']);

    res = await navigate(async () => (await steps.menuLink('Billing')).click());
    await check('Billing', res, { heading: 'Billing', tenant: TRUST });

    res = await navigate(async () => (await steps.menuLink('Members')).click());
    await check('Members', res, { heading: 'Team members', tenant: TRUST });

    const first = page.locator('main tbody tr td a').first();
    const name = (await first.innerText()).trim();
    res = await navigate(() => first.click());
    await check('Member', res, { heading: name, tenant: TRUST });

    res = await navigate(async () => (await steps.menuLink('Members')).click());
    await page.getByLabel('Email address').fill('not-an-email');
    await page.getByLabel('Role', { exact: true }).selectOption({ index: 1 });
    res = await navigate(() => page.getByRole('button', { name: 'Create invitation' }).click());
    const invalid = page.locator('#email-error');
    const message = (await invalid.innerText()).replace(/^Error:\s*/, '').trim();
    await expectErrorSummary('Invite, invalid email', [message]);
    assert.equal(await page.locator('#email').inputValue(), 'not-an-email', 'input kept');
    assert.notEqual(await page.locator('#role').inputValue(), '', 'role kept');
    await check('Invite, invalid email', res, { status: 422, heading: 'Team members', tenant: TRUST });

    await page.getByLabel('Email address').fill(INVITEE);
    await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Ward staff' });
    res = await navigate(() => page.getByRole('button', { name: 'Create invitation' }).click());
    await check('Invitation created', res, { heading: 'Invitation created', tenant: TRUST });
    invitationLink = await page.getByLabel('Invitation link').inputValue();
    assert.match(invitationLink, /\/join\/wrenford-childrens\/\S+$/, 'invitation link shown');

    res = await navigate(async () => (await steps.menuLink('Members')).click());
    res = await navigate(() => page.getByRole('link', { name: 'See what each role can do' }).click());
    await check('Roles', res, { heading: 'Roles', tenant: TRUST });

    const role = page.locator('main tbody tr td a').first();
    const roleName = (await role.innerText()).trim();
    res = await navigate(() => role.click());
    await check('Role', res, { heading: roleName, tenant: TRUST });

    res = await navigate(async () => (await steps.menuLink('Audit')).click());
    await check('Audit trail', res, { heading: 'Audit trail', tenant: TRUST });
    assert.ok(await page.locator('main tbody tr').count() > 0, 'audit events listed');

    res = await navigate(() => page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: /account/i }).click());
    await check('Your account', res, { heading: 'Your account' });
    assert.equal((await page.locator('.nhsuk-summary-list__value').nth(1).innerText()).trim(), TRUST_ADMIN);
  });

  test('the tenant switcher', async () => {
    await visit('/t/wrenford-childrens');
    const switcher = page.getByRole('form', { name: 'Switch organisation' });
    await switcher.getByLabel('Organisation').selectOption({ label: CHARITY });
    const res = await navigate(() => switcher.getByRole('button', { name: 'Switch' }).click());
    assert.equal(new URL(page.url()).pathname, '/t/lanternfield-carers');
    await check('Dashboard, after switching', res, { heading: CHARITY, tenant: CHARITY });
    assert.equal(await switcher.getByLabel('Organisation').inputValue(), 'lanternfield-carers', 'switcher shows the current one');
  });

  test('operator pages', async () => {
    let res = await navigate(() => page.getByRole('button', { name: 'Sign out' }).click());
    assert.equal(new URL(page.url()).pathname, '/signin');
    assert.match(await page.locator('main').innerText(), /You have signed out/);
    await check('Sign in, after signing out', res, { heading: 'Sign in to Carepass' });

    res = await signIn(OPERATOR, PASSWORD);
    await check('Home, operator', res, { heading: 'Carepass' });

    res = await navigate(() => page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Platform operator' }).click());
    await check('Operator: tenants', res, { heading: 'Tenants' });
    const names = await page.locator('main tbody tr td:first-child').allInnerTexts();
    for (const t of [TRUST, CHARITY]) assert.ok(names.includes(t), `tenants list shows ${t}`);

    res = await navigate(() => page.getByRole('link', { name: 'Provision a tenant' }).click());
    await check('Operator: provision form', res, { heading: 'Provision a tenant' });

    res = await navigate(() => page.getByRole('button', { name: 'Provision tenant' }).click());
    assert.ok(await page.locator('.nhsuk-error-summary').count() === 1, 'errors shown');
    await expectErrorSummary('Operator: provision form, empty', await page.locator('.nhsuk-error-summary li').allInnerTexts());
    await check('Operator: provision form, empty', res, { status: 422, heading: 'Provision a tenant' });

    await page.getByLabel('Care-home provider').check();
    await page.getByLabel('Organisation name').fill('Harbourside Care');
    await page.getByLabel('Web address').fill('harbourside-care');
    await page.getByLabel("First administrator's email address").fill('manager@harbourside.example');
    res = await navigate(() => page.getByRole('button', { name: 'Provision tenant' }).click());
    await check('Operator: tenant provisioned', res, { status: 201, heading: 'Harbourside Care is ready' });
  });

  test('accepting an invitation', async () => {
    assert.ok(invitationLink, 'the tenant pages test created an invitation');
    await navigate(() => page.getByRole('button', { name: 'Sign out' }).click());
    consoleProblems();

    let res = await visit(new URL(invitationLink).pathname);
    await check('Join', res, { heading: `Join ${TRUST} on Carepass` });

    res = await navigate(() => page.getByRole('button', { name: 'Create account and join' }).click());
    const messages = (await page.locator('.nhsuk-error-summary li').allInnerTexts()).map((m) => m.trim());
    assert.ok(messages.length >= 2, 'name and password are required');
    await expectErrorSummary('Join, empty form', messages);
    await check('Join, empty form', res, { status: 422, heading: `Join ${TRUST} on Carepass` });

    await page.getByLabel('Full name').fill('Nia Ward');
    await page.getByLabel('Create a password').fill('a long enough passphrase');
    await page.getByLabel('Confirm your password').fill('a long enough passphrase');
    res = await navigate(() => page.getByRole('button', { name: 'Create account and join' }).click());
    assert.equal(new URL(page.url()).pathname, '/t/wrenford-childrens');
    assert.match(await page.locator('main').innerText(), new RegExp(`You have joined ${escapeRegExp(TRUST)}`));
    await check('Dashboard, after joining', res, { heading: TRUST, tenant: TRUST });
    assert.equal((await page.getByRole('navigation', { name: 'Account' }).innerText()).includes('Nia Ward'), true, 'signed in as the new member');

    assert.deepEqual((await nav()).labels, ['Dashboard', 'Holders', 'Carer passports', 'Shared passports', 'Discharge', 'People cared for', 'Catalogues'],
      'ward staff see only what their role allows');

    res = await visit('/t/wrenford-childrens/members');
    await check('Members, refused to ward staff', res, { status: 403, heading: 'You cannot do that', tenant: TRUST });
  });

  test('sign-in, switching and sign-out work without JavaScript', async () => {
    const plain = await browser.newContext({ baseURL: server.baseURL, javaScriptEnabled: false });
    try {
      const p = await plain.newPage();
      await p.goto('/signin');
      await p.getByLabel('Email address').fill(TRUST_ADMIN);
      await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.waitForURL('/');
      await p.getByRole('link', { name: TRUST }).click();
      await p.waitForURL('/t/wrenford-childrens');
      const switcher = p.getByRole('form', { name: 'Switch organisation' });
      await switcher.getByLabel('Organisation').selectOption({ label: CHARITY });
      await switcher.getByRole('button', { name: 'Switch' }).click();
      await p.waitForURL('/t/lanternfield-carers');
      assert.equal((await p.locator('header .cp-header-tenant').innerText()).trim(), CHARITY);
      await expectReflow(p, 'Dashboard without JavaScript');
      await p.getByRole('button', { name: 'Sign out' }).click();
      await p.waitForURL('/signin');
      assert.match(await p.locator('main').innerText(), /You have signed out/);
    } finally {
      await plain.close();
    }
  });

  test('missing pages', async () => {
    let res = await visit('/t/no-such-tenant');
    await check('Not found (tenant)', res, { status: 404, heading: 'Page not found' });

    res = await visit('/no/such/page');
    await check('Not found', res, { status: 404, heading: 'Page not found' });

    res = await navigate(() => page.getByRole('link', { name: 'Accessibility statement' }).click());
    await check('Accessibility statement', res, { heading: 'Accessibility statement' });
  });
});

