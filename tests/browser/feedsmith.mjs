// Reads a podcast feed with feedsmith, an npm reader of the Podcasting 2.0
// namespace, and prints what it found as JSON, with the chapters file beside it.
// Usage: node tests/browser/feedsmith.mjs <feed.xml> <chapters.json>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.MASTHEAD_NODE_MODULES;
const { parseFeed } = modules
  ? await import(pathToFileURL(join(modules, 'feedsmith/dist/index.mjs')).href)
  : await import('feedsmith');

const [feedPath, chaptersPath] = process.argv.slice(2);
if (!feedPath || !chaptersPath) throw new Error('usage: feedsmith.mjs <feed.xml> <chapters.json>');
const { format, feed } = parseFeed(readFileSync(feedPath, 'utf8'));
// feedsmith 3 reads feeds only; the chapters file is checked against its schema in Python.
const chapters = JSON.parse(readFileSync(chaptersPath, 'utf8'));
console.log(JSON.stringify({
  format,
  podcast: feed.podcast,
  itunes: feed.itunes,
  items: feed.items.map((i) => ({ title: i.title, enclosures: i.enclosures, podcast: i.podcast })),
  chapters,
}));
