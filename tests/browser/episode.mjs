// Opens an issue's built web page (file://…/out/N/index.html) in a real Chromium:
// the episode's <audio> player reads the local file's metadata (duration > 0), a
// chapter click moves currentTime to that chapter, the transcript is in a <details>;
// with scripts off, the player still has its controls and the chapters are a plain list.
// Prints one JSON line of what it measured. Usage: node tests/browser/episode.mjs <page.html>
import { launch } from './chromium.mjs';
import { pathToFileURL } from 'node:url';


const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: episode.mjs <page.html>');
const url = pathToFileURL(file).href;

const browser = await launch(['--autoplay-policy=no-user-gesture-required']);
const TIMEOUT = 10_000;
const result = {};
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(url);
  const audio = page.locator('section.episode audio');
  await audio.waitFor();
  result.controls = await audio.evaluate((a) => a.controls);
  // The metadata of the local file: Chromium read its duration.
  result.duration = await audio.evaluate((a) => new Promise((resolve, reject) => {
    if (a.readyState >= 1) return resolve(a.duration);
    a.addEventListener('loadedmetadata', () => resolve(a.duration), { once: true });
    a.addEventListener('error', () => reject(new Error(`audio error ${a.error && a.error.code}`)), { once: true });
    a.load();
  }));
  // Every chapter became a button; clicking the last one seeks there.
  const buttons = page.locator('ol.chapters li[data-start] button.at');
  result.chapter_buttons = await buttons.count();
  const last = page.locator('ol.chapters li[data-start]').last();
  result.last_start = Number(await last.getAttribute('data-start'));
  await last.locator('button.at').click();
  result.current_time = await audio.evaluate((a) => a.currentTime);
  result.transcript_in_details = await page.locator('details.transcript summary').count();
  result.transcript_cues = await page.locator('details.transcript p').count();
  result.json_ld = await page.locator('script[type="application/ld+json"]').evaluate((s) => JSON.parse(s.textContent));
  result.og_image = await page.locator('meta[property="og:image"]').getAttribute('content');
  result.twitter_card = await page.locator('meta[name="twitter:card"]').getAttribute('content');

  // Scripts off: the player still plays (controls, a source), the chapters are a plain list.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const noScript = await plain.newPage();
  noScript.setDefaultTimeout(TIMEOUT);
  await noScript.goto(url);
  result.no_script = {
    controls: await noScript.locator('section.episode audio[controls]').count(),
    src: await noScript.locator('section.episode audio').getAttribute('src'),
    buttons: await noScript.locator('ol.chapters button').count(),
    chapters: await noScript.locator('ol.chapters li').count(),
    download: await noScript.locator('section.episode a[download]').getAttribute('href'),
  };
  await plain.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
