//! Fitted social posts kept between processes, in `.publish/social-posts.json`,
//! so that a `publish build` of an issue whose posts did not change takes them
//! as the last build fitted them instead of fitting them again (fitting counts
//! every cut it tries in full, and is most of what rendering the posts costs).
//!
//! A post is kept under what it was fitted from: the platform, its kind, the
//! rendered template and the texts of its slots (see [`super::fit_post`]), and
//! only by the binary that fitted it (its version, size and modification time):
//! another binary may count differently. Posts that did not fit are not kept.
//! At most [`super::FITTED_KEPT`] posts are kept, the newest. The file is written
//! atomically, by `publish build` only, and only when a post was fitted that it
//! did not hold. A missing, damaged, other-format or other-binary file is
//! ignored (and replaced by the next build): it is a shortcut, never an error.
//! JSON, because a facet's feature is an internally tagged enum.

use std::path::Path;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::{FITTED, FITTED_KEPT, FITTED_NEW, Platform, Post};
use crate::workspace::content::kept::binary_stamp;

/// The file's name in the state folder.
pub const KEPT_FILE: &str = "social-posts.json";
/// Bumped whenever what is kept changes shape.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct KeptPosts {
    format: u32,
    /// The binary that fitted the posts: another one's are not used.
    binary: String,
    posts: Vec<KeptPost>,
}

/// One fitted post and what it was fitted from.
#[derive(Serialize, Deserialize)]
struct KeptPost {
    /// [`Platform::id`].
    platform: String,
    rendered: String,
    slots: Vec<String>,
    post: Post,
}

/// Takes the posts kept in `state_dir` by this binary as fitted before in this
/// process; none when the file is missing, damaged, of another format or of
/// another binary.
pub fn open(state_dir: &Path) {
    let Some(kept) = read(state_dir) else { return };
    let mut fitted = FITTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for k in kept.posts {
        let Some(platform) = Platform::ALL.into_iter().find(|p| p.id() == k.platform) else { continue };
        let key = (platform, k.rendered, k.slots);
        if !fitted.iter().any(|(have, post)| *have == key && post.kind == k.post.kind) {
            fitted.push((key, k.post));
        }
    }
    let over = fitted.len().saturating_sub(FITTED_KEPT);
    fitted.drain(..over);
}

fn read(state_dir: &Path) -> Option<KeptPosts> {
    let bytes = std::fs::read(state_dir.join(KEPT_FILE)).ok()?;
    let kept: KeptPosts = serde_json::from_slice(&bytes).ok()?;
    (kept.format == FORMAT && kept.binary == binary_stamp()).then_some(kept)
}

/// Writes the posts fitted in this process (and those taken from the file) to
/// `state_dir` (atomically), when one was fitted that the file did not hold.
pub fn save(state_dir: &Path) -> anyhow::Result<()> {
    if !FITTED_NEW.load(Ordering::Relaxed) {
        return Ok(());
    }
    let bytes = {
        let fitted = FITTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let posts = fitted
            .iter()
            .map(|((platform, rendered, slots), post)| KeptPost {
                platform: platform.id().to_string(),
                rendered: rendered.clone(),
                slots: slots.clone(),
                post: post.clone(),
            })
            .collect();
        serde_json::to_vec(&KeptPosts { format: FORMAT, binary: binary_stamp(), posts })?
    };
    crate::fsutil::write_atomic(&state_dir.join(KEPT_FILE), &bytes)?;
    FITTED_NEW.store(false, Ordering::Relaxed);
    Ok(())
}
