// Drives `publish preview` in a real Chromium: every view renders, and the page
// follows edits to the issue (new title, an error, the fix) without a reload.
// Usage: node tests/browser/preview.mjs <url> <fixture dir> <screenshot dir>
import { launch } from './chromium.mjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';


const [url, fixture, shots] = process.argv.slice(2);
if (!url || !fixture || !shots) throw new Error('usage: preview.mjs <url> <fixture dir> <screenshot dir>');
mkdirSync(shots, { recursive: true });

const browser = await launch();
const TIMEOUT = 10_000;
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);

  // Every view shows what it should.
  const views = {
    desktop: async () => frameText('iframe.desktop', 'Sora'),
    mobile: async () => {
      const box = await page.locator('iframe.mobile').boundingBox();
      if (Math.round(box.width) > 380) throw new Error(`mobile iframe is ${box.width}px wide`);
      await frameText('iframe.mobile', 'Sora');
    },
    dark: async () => {
      const scheme = await page.frameLocator('iframe.dark').locator('meta[name="color-scheme"]').getAttribute('content');
      if (scheme !== 'dark') throw new Error(`dark view has color-scheme ${scheme}`);
    },
    text: async () => page.locator('pre#text', { hasText: 'Sora' }).waitFor(),
    web: async () => frameText('iframe.web', 'Sora'),
    social: async () => {
      await page.locator('.post .count').first().waitFor();
      const count = await page.locator('.post .count').first().textContent();
      if (!/\d+ \/ \d+/.test(count)) throw new Error(`no length against limit: ${count}`);
    },
    feed: async () => page.locator('pre#feed', { hasText: '<item>' }).waitFor(),
  };
  async function frameText(selector, text) {
    await page.frameLocator(selector).locator('body', { hasText: text }).waitFor();
  }
  for (const [view, check] of Object.entries(views)) {
    if (view === 'dark') await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${url}/?view=${view}`);
    await check();
    await page.screenshot({ path: join(shots, `${view}.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    console.log(`ok: ${view}`);
  }

  // The index of issues marks the one previewed.
  await page.goto(`${url}/?issue=9&view=desktop`);
  await page.locator('nav.issues a[aria-current]', { hasText: '#9' }).waitFor();
  console.log('ok: issue index');

  // Live reload: the page follows edits without being reloaded by us.
  await page.locator('#title', { hasText: 'Sora' }).waitFor();
  await page.evaluate(() => { window.__notReloaded = true; });
  const file = join(fixture, 'issues/009.toml');
  const original = readFileSync(file, 'utf8');
  const stillSamePage = async () => {
    if (!(await page.evaluate(() => window.__notReloaded === true))) throw new Error('the page was reloaded');
  };

  writeFileSync(file, original.replace(/^title = "(.*)"$/m, 'title = "Live reload works"'));
  await page.locator('#title', { hasText: 'Live reload works' }).waitFor();
  await frameText('iframe.desktop', 'Live reload works');
  await stillSamePage();
  await page.screenshot({ path: join(shots, 'edited.png'), fullPage: true });
  console.log('ok: title edit shown');

  writeFileSync(file, original.replace(/^title = /m, 'not_a_key = 1\ntitle = '));
  await page.locator('#errors', { hasText: 'issues/009.toml:' }).waitFor();
  await stillSamePage();
  await page.screenshot({ path: join(shots, 'error.png'), fullPage: true });
  console.log('ok: error shown');

  writeFileSync(file, original);
  await page.locator('iframe.desktop').waitFor();
  await frameText('iframe.desktop', 'Sora');
  if (await page.locator('#errors').count() !== 0) throw new Error('errors still shown after the fix');
  await stillSamePage();
  await page.screenshot({ path: join(shots, 'recovered.png'), fullPage: true });
  console.log('ok: recovered');
} finally {
  await browser.close();
}
