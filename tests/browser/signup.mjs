// A reader's signup in a real Chromium: the form on /subscribe, filled in and
// sent; or (with a second argument "confirm") the confirmation link opened and
// its button pressed. Prints the text of the page that follows. With "fetch"
// after the name, the page's own script sends the form instead, as sites
// embedding it do: fetch(action, {body: new FormData(form)}), which is
// multipart/form-data; prints the status and the text of the answer.
// Usage: node tests/browser/signup.mjs <url> <email> <name> [fetch]
//        node tests/browser/signup.mjs <confirm link> confirm
import { launch } from './chromium.mjs';


const [url, email, name, how] = process.argv.slice(2);
if (!url || !email) throw new Error('usage: signup.mjs <url> <email> <name> | <link> confirm');
const browser = await launch();
try {
  const page = await browser.newPage({ userAgent: 'masthead-signup-test' });
  page.setDefaultTimeout(30_000);
  const opened = await page.goto(url);
  if (opened.status() !== 200) throw new Error(`${url} answered ${opened.status()}`);
  if (email === 'confirm') {
    const button = page.getByRole('button', { name: 'Confirm my subscription' });
    if ((await button.count()) !== 1) throw new Error(`no confirm button on: ${await page.content()}`);
    await Promise.all([page.waitForNavigation(), button.click()]);
  } else {
    await page.getByLabel('Your email address').fill(email);
    await page.getByLabel('Your name (optional)').fill(name ?? '');
    if (how === 'fetch') {
      const answer = await page.evaluate(async () => {
        const form = document.querySelector('form');
        const response = await fetch(form.action, { method: 'POST', body: new FormData(form) });
        return `${response.status}\n${await response.text()}`;
      });
      console.log(answer);
    } else {
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Subscribe' }).click()]);
    }
  }
  if (how !== 'fetch') console.log(await page.locator('body').innerText());
} finally {
  await browser.close();
}
