// Which way headless Chromium lays out text of built pages: for every phrase,
// the innermost element holding it, and that element's computed `direction`.
// Usage: node tests/browser/direction.mjs <phrases.json> <page.html>...
// Prints one JSON object: { page: { phrase: { tag, direction } | null } }.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { launch } from './chromium.mjs';

const [phrasesPath, ...pages] = process.argv.slice(2);
if (!phrasesPath || pages.length === 0) throw new Error('usage: direction.mjs <phrases.json> <page.html>...');
const phrases = JSON.parse(readFileSync(phrasesPath, 'utf8'));

const browser = await launch();
const result = {};
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  // Nothing but the file itself: images and fonts from the web are not fetched.
  await page.route(/^(?!file:)/, (route) => route.abort());
  for (const path of pages) {
    await page.goto(pathToFileURL(path).href);
    result[path] = await page.evaluate((phrases) => Object.fromEntries(phrases.map((phrase) => {
      let inner = null;
      for (const el of document.body.querySelectorAll('*')) {
        if (el.textContent.includes(phrase) && (!inner || inner.contains(el))) inner = el;
      }
      return [phrase, inner && { tag: inner.tagName.toLowerCase(), direction: getComputedStyle(inner).direction }];
    })), phrases);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
