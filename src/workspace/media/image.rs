//! Artwork: the size, format and colour model of a PNG or JPEG file, read from
//! its header, and Apple's rule for podcast artwork (1400–3000 px square, RGB).

use std::path::Path;

/// The picture formats podcast apps accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
}

/// How pixels are stored: Apple wants RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Rgb,
    Grey,
    Cmyk,
    Indexed,
}

/// What the header of a picture says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub colour: Colour,
}

/// The smallest and largest side of podcast artwork, in pixels.
pub const ARTWORK_MIN: u32 = 1400;
pub const ARTWORK_MAX: u32 = 3000;

/// Reads the header of the PNG or JPEG file at `path`.
pub fn read(path: &Path) -> Result<ImageInfo, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&bytes).ok_or_else(|| format!("{} is not a PNG or JPEG picture", path.display()))
}

/// Checks `info` against Apple's artwork rules; the error says what to change.
pub fn check_artwork(info: &ImageInfo) -> Result<(), String> {
    let ImageInfo { width, height, .. } = *info;
    if width != height {
        return Err(format!("the artwork is {width}×{height} px: podcast artwork must be square"));
    }
    if !(ARTWORK_MIN..=ARTWORK_MAX).contains(&width) {
        return Err(format!(
            "the artwork is {width}×{height} px: Apple Podcasts needs {ARTWORK_MIN} to {ARTWORK_MAX} px on a side"
        ));
    }
    match info.colour {
        Colour::Rgb | Colour::Indexed => Ok(()),
        Colour::Grey => Err("the artwork is greyscale: Apple Podcasts needs an RGB picture".into()),
        Colour::Cmyk => Err("the artwork is CMYK: Apple Podcasts needs an RGB picture".into()),
    }
}

fn parse(bytes: &[u8]) -> Option<ImageInfo> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        parse_png(bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        parse_jpeg(bytes)
    } else {
        None
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// PNG: the IHDR chunk comes first and holds the size and colour type.
fn parse_png(bytes: &[u8]) -> Option<ImageInfo> {
    let ihdr = bytes.get(8..29)?;
    if &ihdr[4..8] != b"IHDR" {
        return None;
    }
    let colour = match ihdr[17] {
        0 | 4 => Colour::Grey,
        2 | 6 => Colour::Rgb,
        3 => Colour::Indexed,
        _ => return None,
    };
    Some(ImageInfo { format: Format::Png, width: be32(&ihdr[8..12]), height: be32(&ihdr[12..16]), colour })
}

/// JPEG: walk the segments to the first start-of-frame marker.
fn parse_jpeg(bytes: &[u8]) -> Option<ImageInfo> {
    let mut i = 2;
    loop {
        // Markers may be padded with any number of 0xFF bytes.
        while *bytes.get(i)? == 0xFF && *bytes.get(i + 1)? == 0xFF {
            i += 1;
        }
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        i += 2;
        if marker == 0xD8 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue; // markers without a length
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = bytes.get(i + 2..i + 8)?;
            let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            let colour = match seg[5] {
                1 => Colour::Grey,
                3 => Colour::Rgb,
                4 => Colour::Cmyk,
                _ => return None,
            };
            return Some(ImageInfo { format: Format::Jpeg, width, height, colour });
        }
        if marker == 0xD9 || len < 2 {
            return None;
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, colour_type: u8) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(width.to_be_bytes());
        b.extend(height.to_be_bytes());
        b.extend([8, colour_type, 0, 0, 0]);
        b
    }

    fn jpeg(width: u16, height: u16, components: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC2, 0, 11, 8];
        b.extend(height.to_be_bytes());
        b.extend(width.to_be_bytes());
        b.push(components);
        b
    }

    #[test]
    fn png_and_jpeg_headers_give_size_and_colour() {
        let p = parse(&png(1400, 1400, 2)).unwrap();
        assert_eq!((p.format, p.width, p.height, p.colour), (Format::Png, 1400, 1400, Colour::Rgb));
        let j = parse(&jpeg(3000, 2000, 4)).unwrap();
        assert_eq!((j.format, j.width, j.height, j.colour), (Format::Jpeg, 3000, 2000, Colour::Cmyk));
        assert!(parse(b"GIF89a....").is_none());
    }

    #[test]
    fn apple_artwork_rules() {
        let ok = |w, h, c| check_artwork(&ImageInfo { format: Format::Png, width: w, height: h, colour: c });
        assert!(ok(1400, 1400, Colour::Rgb).is_ok());
        assert!(ok(3000, 3000, Colour::Indexed).is_ok());
        assert!(ok(1399, 1399, Colour::Rgb).unwrap_err().contains("1400 to 3000 px"));
        assert!(ok(3001, 3001, Colour::Rgb).is_err());
        assert!(ok(1400, 1500, Colour::Rgb).unwrap_err().contains("square"));
        assert!(ok(1400, 1400, Colour::Cmyk).unwrap_err().contains("RGB"));
    }

    #[test]
    fn the_reference_covers_are_read_from_their_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let hero = read(&root.join("media/009-cover.png")).unwrap();
        assert_eq!((hero.width, hero.height), (1200, 630));
        let podcast = read(&root.join("media/podcast-cover.png")).unwrap();
        assert_eq!((podcast.width, podcast.height, podcast.colour), (1400, 1400, Colour::Rgb));
    }
}
