//! The demo site's cover images, drawn by the server so that `cargo run`
//! shows teasers with pictures and no broken links: a small SVG per cover,
//! its colour taken from the file's name, and nothing else served here.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use crate::content::transfer;

/// GET /media/demo/{file}: one of the demo's covers, cached for a day.
pub async fn cover(Path(file): Path<String>) -> Response {
    if !transfer::demo::is_cover(&file) {
        return (StatusCode::NOT_FOUND, "no such image").into_response();
    }
    let name = file.trim_end_matches(".svg");
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            // An SVG opened on its own is a document: let it run nothing.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        picture(name),
    )
        .into_response()
}

/// A 1200×675 picture: a diagonal gradient between two hues derived from
/// `name`, with the name written across it.
fn picture(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let hue = u32::from(digest[0]) * 360 / 256;
    let second = (hue + 40 + u32::from(digest[1] % 80)) % 360;
    let label = name.replace('-', " ");
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" viewBox="0 0 1200 675"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl({hue},55%,42%)"/><stop offset="1" stop-color="hsl({second},60%,28%)"/></linearGradient></defs><rect width="1200" height="675" fill="url(#g)"/><text x="60" y="615" font-family="sans-serif" font-size="44" fill="rgba(255,255,255,0.85)">{label}</text></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cover_is_an_svg_with_its_name_and_stable_colours() {
        let first = picture("city-night-bus");
        assert!(first.starts_with("<svg"));
        assert!(first.contains("city night bus"));
        assert_eq!(first, picture("city-night-bus"));
        assert_ne!(first, picture("5g-rural-clinics"));
    }
}
