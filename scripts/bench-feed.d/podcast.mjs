// The 1,000-episode feed with npm's `podcast` (and smol-toml to read the issue
// files), as scripts/bench-feed's Python reference does with feedgen: read
// publish.toml and every issue file, write the feed. Timed in-process.
//   node podcast.mjs WORKSPACE OUT RUNS   → prints the run times in ms, as JSON
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Podcast } from "podcast";
import { parse } from "smol-toml";

const [ws, out, runs] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// RFC 4122 version 5 (SHA-1) UUIDs, as the feed's GUIDs are made.
function uuid5(namespace, name) {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  const h = createHash("sha1").update(ns).update(name).digest().subarray(0, 16);
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// Midnight of a date in a time zone.
function midnight(date, timeZone) {
  const guess = new Date(`${date}T00:00:00Z`);
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(guess).find((p) => p.type === "timeZoneName").value;
  const offset = name === "GMT" ? "Z" : name.slice(3);
  return new Date(`${date}T00:00:00${offset}`);
}

function build() {
  const config = parse(readFileSync(join(ws, "publish.toml"), "utf8"));
  const pod = config.podcast, base = config.base_url.replace(/\/$/, "");
  const feedUrl = `${base}/feed.xml`;
  const show = uuid5("ead4c236-bf58-58c6-a2c6-a6b28d128cb6", feedUrl.split("://")[1].replace(/\/$/, ""));
  const feed = new Podcast({
    title: pod.title ?? config.name, description: pod.description ?? config.description,
    feedUrl, siteUrl: `${base}/`, imageUrl: `${base}/${pod.image}`, language: config.language,
    copyright: pod.copyright, author: pod.author, pubDate: new Date(),
    itunesOwner: { name: pod.owner.name, email: pod.owner.email }, itunesExplicit: !!pod.explicit,
    itunesType: pod.type ?? "episodic",
    itunesCategory: pod.categories.map((c) => {
      const [text, sub] = c.split(">").map((s) => s.trim());
      return sub ? { text, subcats: [{ text: sub }] } : { text };
    }),
  });
  const files = readdirSync(join(ws, "issues")).filter((f) => f.endsWith(".toml"))
    .map((f) => [Number(f.match(/^\d+/)[0]), f]).sort((a, b) => b[0] - a[0]);
  for (const [number, f] of files) {
    const issue = parse(readFileSync(join(ws, "issues", f), "utf8"));
    const ep = issue.episode, page = `${base}/${number}/`;
    let notes = `<p>${esc((ep.summary ?? issue.intro).trim())}</p>`;
    for (const s of issue.sections) {
      const recs = s.recommendations ?? [];
      if (recs.length) {
        notes += `<p><strong>${esc(s.name)}</strong></p><ul>`;
        notes += recs.map((r) => `<li><a href="${esc(r.url)}">${esc(r.title)}</a></li>`).join("") + "</ul>";
      }
    }
    notes += `<p>Read the full issue with our take on every link: <a href="${page}">${page}</a></p>`;
    feed.addItem({
      title: ep.title ?? issue.title, description: notes, content: notes, url: page,
      guid: uuid5(show, `issue/${number}`), date: midnight(issue.date.toISOString().slice(0, 10), config.timezone),
      enclosure: { url: ep.audio, size: ep.length, type: "audio/mpeg" },
      itunesDuration: Number(ep.duration), itunesExplicit: !!(ep.explicit ?? pod.explicit),
      itunesEpisode: number, itunesEpisodeType: "full",
    });
  }
  writeFileSync(out, feed.buildXml({ indent: "  " }));
}

const times = [];
for (let i = 0; i < runs; i++) {
  const start = process.hrtime.bigint();
  build();
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
console.log(JSON.stringify(times));
