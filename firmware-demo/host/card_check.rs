//! What a trainer card must say for the firmware to run its model. One check for the two
//! places that read cards: `build.rs` (included there with `#[path]`) and the host's
//! `Embedded`.

/// The firmware classifies pixels as decoded: a model trained on normalised images (the
/// card's `split.intensity`, e.g. `equalize`) would read inputs it was never trained on, so
/// such a card is refused rather than run. `card_file` names the card in the error.
pub fn refuse_intensity(card_file: &str, card: &serde_json::Value) -> Result<(), String> {
    match card["split"]["intensity"].as_str().unwrap_or("none") {
        "none" => Ok(()),
        other => Err(format!(
            "{card_file}: the model expects `{other}` intensity normalisation, which the firmware does not apply"
        )),
    }
}
