//! Images/s of the integer reference on a blob (one thread), beside infer-core:
//! `cargo run --release -p int8-reference --example reference_speed -- models/<name>.int8.postcard [runs]`

use std::time::Instant;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: reference_speed <blob> [runs]")?;
    let runs: usize = args.get(2).map_or(Ok(3), |s| s.parse()).map_err(|e| format!("{e}"))?;
    let blob = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let model = infer_core::Model::from_bytes(&blob).map_err(|e| e.to_string())?;
    let n = model.input_shape().len();
    let input: Vec<i8> = (0..n).map(|i| ((i * 37) % 256) as u8 as i8).collect();
    let t = Instant::now();
    for _ in 0..runs {
        int8_reference::run_model(&model, &input)?;
    }
    let reference = runs as f64 / t.elapsed().as_secs_f64();
    let mut arena = vec![0u8; model.arena_len()];
    let t = Instant::now();
    for _ in 0..runs {
        model.run(&input, &mut arena).map_err(|e| e.to_string())?;
    }
    let engine = runs as f64 / t.elapsed().as_secs_f64();
    println!("{path}: integer reference {reference:.2} images/s, infer-core {engine:.2} images/s (1 thread)");
    Ok(())
}
