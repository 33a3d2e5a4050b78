// A reader's click on "unsubscribe" in a real Chromium: the page a link opens,
// then its button. Usage: node tests/browser/unsubscribe.mjs <link>
// Prints the text of the page the button leads to.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.MASTHEAD_NODE_MODULES;
const { chromium } = modules
  ? await import(pathToFileURL(join(modules, 'playwright-core/index.mjs')).href)
  : await import('playwright-core');

const [link] = process.argv.slice(2);
if (!link) throw new Error('usage: unsubscribe.mjs <link>');
const executablePath = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const opened = await page.goto(link);
  if (opened.status() !== 200) throw new Error(`the link answered ${opened.status()}`);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Unsubscribe' }).click()]);
  console.log(await page.locator('body').innerText());
} finally {
  await browser.close();
}
