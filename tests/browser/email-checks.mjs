// Measures a built issue's email and web page from outside, the way the issue 17
// table reads: caniemail (doiuse-email), html-validate, the markup Outlook for
// Windows needs, and in headless Chromium the text contrast in light and dark
// mode and the horizontal scroll at 600, 375 and 320 px (with screenshots).
// Usage: node tests/browser/email-checks.mjs <email.html> <index.html> <allowlist> <screenshot dir>
// Prints one JSON object; judging it is the caller's business (tests/testsuite/email.rs).
import { mkdirSync, readFileSync } from 'node:fs';
import { launch, load } from './chromium.mjs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { doIUseEmail } = await load('@jsx-email/doiuse-email', 'dist/index.mjs');
const { HtmlValidate } = await load('html-validate', 'dist/esm/index.js');

const [emailPath, webPath, allowPath, shots] = process.argv.slice(2);
if (!shots) throw new Error('usage: email-checks.mjs <email.html> <index.html> <allowlist> <screenshot dir>');
mkdirSync(shots, { recursive: true });
const email = readFileSync(emailPath, 'utf8');
const web = readFileSync(webPath, 'utf8');

// The allowlist: one caniemail feature title a line, then " # " and the reason.
const allowed = readFileSync(allowPath, 'utf8').split('\n')
  .map((line) => line.replace(/#.*/, '').trim()).filter(Boolean);

// caniemail, client group by client group, as the table names them.
const groups = {
  'Gmail': ['gmail.*'],
  'Outlook Windows': ['outlook.windows'],
  'Outlook Windows Mail': ['outlook.windows-mail'],
  'Outlook macOS': ['outlook.macos'],
  'Outlook iOS': ['outlook.ios'],
  'Outlook Android': ['outlook.android'],
  'Apple Mail': ['apple-mail.*'],
  'Yahoo': ['yahoo.*'],
  'Samsung': ['samsung-email.*'],
};
const feature = (message) => (message.match(/`([^`]+)`/) ?? [])[1] ?? message;
const caniemail = {};
for (const [name, clients] of Object.entries(groups)) {
  const result = doIUseEmail(email, { emailClients: clients });
  const errors = result.success ? [] : result.errors;
  caniemail[name] = {
    errors: errors.filter((e) => !allowed.includes(feature(e))),
    allowed: errors.filter((e) => allowed.includes(feature(e))),
  };
}

// On both: a <title> is the subject, as long as its writer makes it.
const validate = async (html, rules = {}) => {
  const report = await new HtmlValidate({ extends: ['html-validate:recommended'], rules: { 'long-title': 'off', ...rules } })
    .validateString(html);
  return report.results.flatMap((r) => r.messages.map((m) => `${m.line}:${m.column} ${m.ruleId}: ${m.message}`));
};
// html-validate: its recommended rules; for the email, less those that the
// markup mail clients need goes against.
const emailRules = {
  'no-deprecated-attr': 'off', // width, align, cellpadding, bgcolor: all Outlook for Windows reads
  'no-inline-style': 'off', // css-inline moves every rule onto its element, by design
  'no-conditional-comment': 'off', // <!--[if mso]> is how Outlook for Windows gets its tables
};
const htmlValidate = { email: await validate(email, emailRules), web: await validate(web) };

// The markup Outlook for Windows needs. It drops padding on anything but a
// table cell; what sits in a <!--[if !mso]> block it never sees.
const forOutlook = email.replace(/<!--\[if !mso\]><!-->[\s\S]*?<!--<!\[endif\]-->/g, '');
const paddedOutsideCells = [...forOutlook.matchAll(/<(?!td\b|th\b)([a-z0-9]+)\b[^>]*\sstyle="[^"]*\bpadding(?:-[a-z]+)?\s*:\s*(?![\s0]|0px\s*(?:;|"))/gi)]
  .map((m) => m[1]);
const charset = email.search(/<meta charset=/i);
const headStart = email.search(/<head[\s>]/i);
const firstInHead = email.slice(headStart).replace(/^<head[^>]*>\s*/i, '').startsWith('<meta charset=');
const images = [...email.matchAll(/<img\b[^>]*>/gi)].map((m) => ({
  width: /\swidth="\d+"/.test(m[0]), height: /\sheight="\d+"/.test(m[0]), alt: /\salt="/.test(m[0]),
}));

const browser = await launch();

// Every element with text of its own, visible: its colour against the first
// opaque background up its ancestors, and which role it plays.
const measure = () => {
  const rgb = (s) => (s.match(/[\d.]+/g) ?? []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? [18, 18, 18] : [255, 255, 255];
  };
  const pairs = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    const fg = rgb(getComputedStyle(el).color).slice(0, 3);
    const bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    pairs.push({
      text: Array.from(el.textContent.trim()).slice(0, 40).join(""), tag: el.tagName.toLowerCase(),
      ratio: Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100, fg: fg.join(','), bg: bg.join(','),
    });
  }
  // How a reader tells the roles apart: colour, size, underline.
  const look = (selector) => {
    const e = document.querySelector(selector);
    if (!e) return null;
    const style = getComputedStyle(e);
    return `${style.color} ${style.fontSize} ${style.textDecorationLine}`;
  };
  const root = document.scrollingElement;
  return {
    pairs,
    roles: {
      recommendation: look('h3 a'),
      section: look('h2[id]') ?? look('section h2'),
      link: look('.take a'),
    },
    recommendationHeadings: document.querySelectorAll('h3 a').length,
    scroll: { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth },
  };
};

const pages = {};
try {
  for (const [name, path] of [['email', emailPath], ['web', webPath]]) {
    for (const scheme of ['light', 'dark']) {
      for (const width of [600, 375, 320]) {
        const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme: scheme });
        // The pictures are on the publication's site, which a test does not reach.
        await page.route(/^https?:/, (route) => route.abort());
        await page.goto(pathToFileURL(path).href);
        const result = await page.evaluate(measure);
        await page.screenshot({ path: join(shots, `${name}-${scheme}-${width}.png`), fullPage: true });
        pages[`${name} ${scheme} ${width}`] = result;
        await page.close();
      }
    }
  }
} finally {
  await browser.close();
}

console.log(JSON.stringify({
  caniemail,
  htmlValidate,
  bytes: Buffer.byteLength(email),
  paddedOutsideCells,
  msoConditionals: (email.match(/<!--\[if [^\]]*mso/g) ?? []).length,
  vmlButtons: (email.match(/<v:roundrect\b/g) ?? []).length,
  charsetAt: charset,
  charsetFirstInHead: firstInHead,
  images,
  pages,
}, null, 1));
