//! PNG text needs font data: plotters' ab_glyph backend draws only fonts registered from
//! bytes, so DejaVu Sans (shipped inside the `dejavu` crate) is registered once per process
//! under the family names plotters asks for. No system fonts or fontconfig are involved.

use std::sync::Once;

use plotters::style::{register_font, FontStyle};

static REGISTER: Once = Once::new();

pub fn register() {
    REGISTER.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The bytes are a valid TTF shipped by the crate; failure would be a packaging bug.
            let _ = register_font(family, FontStyle::Normal, dejavu::sans::regular());
            let _ = register_font(family, FontStyle::Bold, dejavu::sans::bold());
        }
    });
}
