// A reader's whole journey through a real reverse proxy in a real Chromium:
// the archive (its bare URL, an issue's folder without its slash, every link
// and asset of ours on both pages), the signup form, the confirmation link of
// the mail and its button, the preferences form, the unsubscribe button.
// The public site is https://www.analyse.asia, mapped to the proxy's port on
// 127.0.0.1 (its certificate is the test's own). `public` is where this proxy
// publishes the server (https://www.analyse.asia/PREFIX); the links in the
// mails name the base URL, and are followed under `public` as a reader of
// that address would. Fails on the first thing that does not work; prints
// what it checked.
// Usage: node tests/browser/proxy.mjs <public> <proxy port> <outbox folder> <email>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './chromium.mjs';

const [publicUrl, port, outbox, email] = process.argv.slice(2);
if (!email) throw new Error('usage: proxy.mjs <public> <proxy port> <outbox folder> <email>');
const BASE = 'https://www.analyse.asia/this-week-in-asia';
// Ours: under the base URL or under where this proxy publishes it (the main site is not).
const ours = (u) => u.startsWith(`${BASE}/`) || u === BASE || u.startsWith(`${publicUrl}/`) || u === publicUrl;
const fail = (what) => { throw new Error(`${publicUrl}: ${what}`); };

/** The first link `path?t=…` in the newest mail of `kind` to `email` (waits up to 20 s). */
async function linkInMail(kind, path) {
  for (let i = 0; i < 200; i++) {
    const names = readdirSync(outbox, { withFileTypes: true }).map((e) => e.name)
      .filter((n) => n.startsWith(`${kind}-`) && n.endsWith(`-${email}.eml`)).sort();
    if (names.length) {
      // Quoted-printable, as sent: soft breaks joined, =XX decoded.
      const text = readFileSync(join(outbox, names.at(-1)), 'latin1').replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      const found = text.match(new RegExp(`${BASE}/${path}\\?t=[A-Za-z0-9_.~%-]+`));
      if (!found) fail(`no ${path} link in ${names.at(-1)}`);
      return found[0].replace(BASE, publicUrl);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return fail(`no ${kind} mail to ${email} in ${outbox}`);
}

const browser = await launch([`--host-resolver-rules=MAP www.analyse.asia:443 127.0.0.1:${port}`]);
const checked = [];
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, userAgent: 'masthead-proxy-test' });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const seen = [];
  page.on('request', (r) => seen.push(r.url()));
  const broken = [];
  page.on('response', (r) => { if (ours(r.url()) && r.status() >= 400) broken.push(`${r.url()}: ${r.status()}`); });

  /** Opens `url`; the page must answer 200 at `landing` (after redirects). */
  const open = async (url, landing) => {
    const response = await page.goto(url);
    if (response.status() !== 200) fail(`${url} answered ${response.status()}`);
    if (page.url() !== landing) fail(`${url} landed at ${page.url()}, not ${landing}`);
    checked.push(url);
  };
  /** Every link, asset and form action of ours on the page answers 200 (after redirects). */
  const everyLinkWorks = async () => {
    const urls = await page.evaluate(() => [...document.querySelectorAll('[href],[src],form[action]')]
      .map((e) => e.href || e.src || e.action).filter((u) => typeof u === 'string'));
    const mine = [...new Set(urls.filter(ours))];
    for (const url of mine) {
      const method = url.includes('/unsubscribe') || url.includes('/confirm') ? 'HEAD' : 'GET';
      const status = await page.evaluate(async ([u, m]) => (await fetch(u, { method: m })).status, [url, method]);
      if (status !== 200) fail(`${url} (on ${page.url()}) answered ${status}`);
      checked.push(url);
    }
    return mine.length;
  };

  // The archive: the bare prefix goes to its folder, an issue's folder gets its slash.
  await open(publicUrl, `${publicUrl}/`);
  if ((await everyLinkWorks()) < 2) fail('the archive links to nothing of ours');
  await open(`${publicUrl}/9`, `${publicUrl}/9/`);
  if ((await everyLinkWorks()) < 3) fail('the issue page links to nothing of ours');
  const audio = await page.evaluate(async () => {
    const src = document.querySelector('audio source, audio')?.src;
    return src ? [src, (await fetch(src, { headers: { Range: 'bytes=0-99' } })).status] : null;
  });
  if (!audio || audio[1] !== 206 || !audio[0].startsWith(`${publicUrl}/media/`)) fail(`the audio: ${audio}`);

  // Signup: the form posts where it was served from.
  await open(`${publicUrl}/subscribe`, `${publicUrl}/subscribe`);
  await page.getByLabel('Your email address').fill(email);
  await page.getByLabel('Your name (optional)').fill('Ada');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Subscribe' }).click()]);
  if (page.url() !== `${publicUrl}/subscribe`) fail(`the signup landed at ${page.url()}`);
  if (!(await page.locator('h1').innerText()).includes('Check your inbox')) fail(await page.content());

  // The confirmation link: its page, then its button.
  const confirm = await linkInMail('confirm', 'confirm');
  await open(confirm, confirm);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Confirm my subscription' }).click()]);
  if (!page.url().startsWith(`${publicUrl}/confirm?t=`)) fail(`the confirmation landed at ${page.url()}`);
  if (!(await page.locator('h1').innerText()).includes('You are subscribed')) fail(await page.content());
  await everyLinkWorks();

  // The preferences link of the welcome: a new name, saved; then leaving.
  const preferences = await linkInMail('welcome', 'preferences');
  await open(preferences, preferences);
  await page.getByLabel('Your name').fill('Ada <b>King</b>');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save' }).click()]);
  if (page.url() !== preferences) fail(`the saved name landed at ${page.url()}`);
  if (await page.getByLabel('Your name').inputValue() !== 'Ada <b>King</b>') fail(await page.content());
  await everyLinkWorks();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Unsubscribe' }).click()]);
  if (!page.url().startsWith(`${publicUrl}/unsubscribe?t=`)) fail(`the unsubscribe landed at ${page.url()}`);
  if (!(await page.locator('h1').innerText()).includes('You are unsubscribed')) fail(await page.content());

  if (broken.length) fail(`answered an error: ${broken.join(', ')}`);
  // No address of a reader in any URL the browser asked for.
  const named = seen.filter((u) => decodeURIComponent(u).includes(email));
  if (named.length) fail(`the address is in ${named.join(', ')}`);
  console.log(JSON.stringify({ public: publicUrl, checked: checked.length, requests: seen.length }));
} finally {
  await browser.close();
}
