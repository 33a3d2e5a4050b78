//! The issue's web page (the "view in browser" link), with its episode when it has
//! one: the player, the chapters, the transcript, and the JSON-LD that link previews read.

use minijinja::context;
use minijinja::value::{Serde, Value};
use serde_json::json;

use crate::assemble::Edition;
use crate::assemble::feed::EpisodePage;
use crate::diag::Diagnostic;
use crate::render::Renderer;

/// `out/N/index.html`.
pub fn page(renderer: &Renderer, edition: &Edition, episode: Option<&EpisodePage>) -> Result<String, Diagnostic> {
    renderer.render(
        "web.html",
        context! {
            issue => Value::from(Serde(edition)),
            publication => Value::from(Serde(&edition.publication)),
            episode => episode.map(|e| Value::from(Serde(e))),
            json_ld => json_ld(edition, episode),
        },
    )
}

/// The schema.org description of the page: a `NewsArticle` for the issue and, with an
/// episode, its `PodcastEpisode`; escaped to sit inside a `<script>` element.
pub fn json_ld(edition: &Edition, episode: Option<&EpisodePage>) -> String {
    let publisher = json!({ "@type": "Organization", "name": edition.publication.name, "url": format!("{}/", edition.publication.base_url) });
    let mut article = json!({
        "@type": "NewsArticle",
        "headline": edition.subject,
        "name": edition.title,
        "description": edition.preheader,
        "datePublished": edition.date,
        "url": edition.web_url,
        "mainEntityOfPage": edition.web_url,
        "inLanguage": edition.publication.language,
        "publisher": publisher,
        "author": publisher,
    });
    let image = edition.image.as_ref().and_then(|i| i.url.clone()).or_else(|| episode.map(|e| e.image_url.clone()));
    if let Some(image) = image.filter(|i| !i.is_empty()) {
        article["image"] = json!([image]);
    }
    let mut graph = vec![article];
    if let Some(e) = episode {
        let mut ep = json!({
            "@type": "PodcastEpisode",
            "name": e.title,
            "url": edition.web_url,
            "datePublished": e.date,
            "episodeNumber": e.number,
            "timeRequired": e.duration_iso,
            "image": e.image_url,
            "associatedMedia": {
                "@type": "MediaObject",
                "contentUrl": e.audio_url,
                "encodingFormat": e.mime,
                "duration": e.duration_iso,
            },
            "partOfSeries": { "@type": "PodcastSeries", "name": e.show, "webFeed": e.feed_url },
        });
        if let Some(season) = e.season {
            ep["partOfSeason"] = json!({ "@type": "PodcastSeason", "seasonNumber": season });
        }
        graph.push(ep);
    }
    let doc = json!({ "@context": "https://schema.org", "@graph": graph });
    // Inside <script>, "</" could end the element and "<!--" open a comment.
    serde_json::to_string(&doc).expect("JSON values always serialise").replace('<', "\\u003c")
}
