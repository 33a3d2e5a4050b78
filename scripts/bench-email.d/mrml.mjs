// MJML → HTML with mrml (the Rust port of MJML, as WebAssembly): prints the HTML,
// and on stderr the median time of `runs` conversions in milliseconds.
// Usage: node scripts/bench-email.d/mrml.mjs <file.mjml> <runs>
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(process.env.MASTHEAD_NODE_MODULES + '/');
const { Engine } = require('mrml');
const [file, runs] = process.argv.slice(2);
const mjml = readFileSync(file, 'utf8');
const engine = new Engine();
const times = [];
let result;
for (let i = 0; i < Number(runs); i++) {
  const start = process.hrtime.bigint();
  result = engine.toHtml(mjml);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
if (result.type !== 'success') throw new Error(JSON.stringify(result));
times.sort((a, b) => a - b);
console.error(times[Math.floor(times.length / 2)].toFixed(2));
process.stdout.write(result.content);
