// twitter-text, the library X publishes to count a post, run over what
// `publish build` wrote, and the emoji data it counts with.
//
// Usage:
//   node tests/tools/twitter_text.mjs parse <social.json>...
//     prints, as JSON, parseTweet's verdict on every X post: [{file, index, text, weightedLength, valid}]
//   node tests/tools/twitter_text.mjs urls <file>...
//     prints, as JSON, the URLs twitter-text's autolinker finds in each text file: {file: [url]}
//   node tests/tools/twitter_text.mjs emoji-regex
//     prints the emoji regex of the twemoji-parser that twitter-text counts
//     with, rewritten from UTF-16 to code points for Rust's regex syntax
//     (src/render/social/twemoji.regex holds its output)
//
// twitter-text (pinned in tests/browser/package.json) is loaded from
// MASTHEAD_NODE_MODULES when set, else from tests/browser/node_modules.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const modules = process.env.MASTHEAD_NODE_MODULES
  ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'browser', 'node_modules');
const require = createRequire(join(modules, 'noop.js'));

const [mode, ...args] = process.argv.slice(2);
if (mode === 'parse') {
  const twitter = require('twitter-text');
  const results = [];
  for (const file of args) {
    const social = JSON.parse(readFileSync(file, 'utf8'));
    social.platforms.x.posts.forEach((post, index) => {
      const { weightedLength, valid } = twitter.parseTweet(post.text);
      results.push({ file, index, text: post.text, length: post.length, weightedLength, valid });
    });
  }
  console.log(JSON.stringify(results, null, 1));
} else if (mode === 'urls') {
  const twitter = require('twitter-text');
  const found = {};
  for (const file of args) found[file] = twitter.extractUrls(readFileSync(file, 'utf8'));
  console.log(JSON.stringify(found, null, 1));
} else if (mode === 'emoji-regex') {
  // The version twitter-text resolved, not whatever else is installed.
  const fromTwitterText = createRequire(require.resolve('twitter-text'));
  const regex = fromTwitterText('twemoji-parser/dist/lib/regex').default;
  const version = JSON.parse(readFileSync(fromTwitterText.resolve('twemoji-parser/package.json'), 'utf8')).version;
  console.log(`# twemoji-parser ${version}, dist/lib/regex.js, as code points (tests/tools/twitter_text.mjs emoji-regex)`);
  console.log(codePoints(regex.source));
} else {
  throw new Error('usage: twitter_text.mjs parse <social.json>... | urls <file>... | emoji-regex');
}

// Rewrites a UTF-16 regex (`\ud83c[\udf00-\udf20]`: a high surrogate, then
// one low surrogate or a class of them) as code points (`[\x{1F300}-\x{1F320}]`).
// The lookahead Rust's regex lacks, `(?:\ufe0f|(?!\ufe0e))` after a text-style
// symbol, becomes `\x{FE0F}?`; the Rust side refuses a lone symbol followed by U+FE0E.
function codePoints(source) {
  const hex = (n) => `\\x{${n.toString(16).toUpperCase()}}`;
  const unit = (s) => parseInt(s, 16);
  const combine = (high, low) => 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
  let out = source.replaceAll('(?:\\ufe0f|(?!\\ufe0e))', '\\ufe0f?');
  if (out.includes('(?')) {
    const rest = out.replaceAll('(?:', '');
    if (rest.includes('(?')) throw new Error('a lookaround is left: ' + rest.match(/\(\?.{0,20}/)[0]);
  }
  out = out.replace(/\\u(d[89ab][0-9a-f]{2})(\\u(d[c-f][0-9a-f]{2})|\[((?:\\ud[c-f][0-9a-f]{2}|-)+)\])/gi,
    (_, high, _low, single, cls) => {
      if (single) return hex(combine(unit(high), unit(single)));
      const items = cls.replace(/\\u(d[c-f][0-9a-f]{2})/gi, (_, low) => hex(combine(unit(high), unit(low))));
      return `[${items}]`;
    });
  if (/\\ud[89a-f]/i.test(out)) throw new Error('a lone surrogate is left');
  return out.replace(/\\u([0-9a-f]{4})/gi, (_, u) => hex(unit(u)));
}
