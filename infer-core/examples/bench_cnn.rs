//! Throughput of the seed CNN (180×180×1, conv 32-64-64-64-128-256 with fused 2×2 max-pools,
//! dense 2304 → 1) with random weights, single thread, plus its blob and arena sizes.
//!
//! `cargo run -p infer-core --release --features std --example bench_cnn [-- ITERATIONS]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use infer_core::Model;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let net = common::seed_cnn(42);
    let defs = net.layer_defs();
    let blob =
        infer_core::to_blob(&infer_core::ModelDef { input: net.input, output: net.cur, layers: &defs })?;

    let t = Instant::now();
    let model = Model::from_bytes(&blob)?;
    let load = t.elapsed();

    let mut arena = vec![0u8; model.arena_len()];
    let mut rng = common::Rng::new(1);
    let images: Vec<Vec<u8>> = (0..4).map(|_| rng.bytes(model.input_shape().len())).collect();
    model.run_u8(&images[0], &mut arena)?; // warm-up

    let t = Instant::now();
    let mut checksum = 0i64;
    for i in 0..iterations {
        let out = model.run_u8(&images[i % images.len()], &mut arena)?;
        checksum += i64::from(out.get(0).unwrap_or(0));
    }
    let secs = t.elapsed().as_secs_f64();
    let per_s = iterations as f64 / secs;

    println!("seed CNN, random weights, single thread");
    println!("  blob bytes        {}", blob.len());
    println!("  arena bytes       {} (ping-pong {:?})", model.arena_len(), model.arena_parts());
    println!("  layers            {}", model.layer_count());
    println!("  MACs / image      {}", model.macs());
    println!("  load + validate   {:.2} ms", load.as_secs_f64() * 1e3);
    println!("  images / s        {per_s:.2}  ({:.2} ms / image)", 1e3 / per_s);
    println!("  GMAC / s          {:.2}", per_s * model.macs() as f64 / 1e9);
    println!("  checksum          {checksum}");
    Ok(())
}
