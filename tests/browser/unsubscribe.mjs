// A reader's click on "unsubscribe" in a real Chromium: the page a link opens,
// then its button. Usage: node tests/browser/unsubscribe.mjs <link>
// Prints the text of the page the button leads to.
import { launch } from './chromium.mjs';


const [link] = process.argv.slice(2);
if (!link) throw new Error('usage: unsubscribe.mjs <link>');
const browser = await launch();
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
