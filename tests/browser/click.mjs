// A reader's click on a counted link of a captured message, in a real Chromium.
// Usage: node tests/browser/click.mjs <message.eml> <link text> <user agent>
// Opens the message's HTML part, clicks the link whose text is <link text>,
// follows the redirect, and prints the address it lands on, then the page's text.
// The user agent is a person's browser's: headless Chromium names itself
// "HeadlessChrome", which the server rightly discards as a program.
import { readFileSync } from 'node:fs';
import { launch } from './chromium.mjs';

const [eml, text, userAgent] = process.argv.slice(2);
if (!eml || !text || !userAgent) throw new Error('usage: click.mjs <message.eml> <link text> <user agent>');

/** The text/html part of a MIME message, quoted-printable or base64 decoded. */
function htmlPart(raw) {
  const at = raw.search(/Content-Type: text\/html/i);
  if (at < 0) throw new Error('the message has no HTML part');
  const part = raw.slice(at);
  const headEnd = part.search(/\r?\n\r?\n/);
  const head = part.slice(0, headEnd);
  let body = part.slice(headEnd).replace(/^\r?\n\r?\n/, '');
  const boundary = body.search(/\r?\n--/);
  if (boundary >= 0) body = body.slice(0, boundary);
  if (/Content-Transfer-Encoding: base64/i.test(head)) return Buffer.from(body, 'base64').toString('utf8');
  if (/Content-Transfer-Encoding: quoted-printable/i.test(head)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

const browser = await launch();
try {
  const context = await browser.newContext({ userAgent });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.setContent(htmlPart(readFileSync(eml, 'utf8')));
  const link = page.getByRole('link', { name: text, exact: true });
  await Promise.all([page.waitForNavigation(), link.click()]);
  console.log(page.url());
  console.log(await page.locator('body').innerText());
} finally {
  await browser.close();
}
