//! Where does an int8 blob drift from its float model? For a run and its blob, prints per
//! layer the mean and RMS of (dequantized int8 − float graph) over validation images, in
//! units of that tensor's scale, and the signal-to-quantization-noise ratio (float power over
//! error power, dB); the last line is the logits.
//!
//! `cargo run --release -p trainer --example int8_drift -- runs/<name> models/<name>.int8.postcard [images]`

use anyhow::Result;
use infer_core::Model;
use trainer::data::SplitData;
use trainer::quant::evaluate::pixels_to_q;
use trainer::quant::float_exec::TchGraph;
use trainer::quant::reference;
use trainer::quant::FloatModel;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (run, blob) = (&args[1], &args[2]);
    let n: usize = args.get(3).map_or(Ok(16), |s| s.parse())?;
    let float = FloatModel::load(run.as_ref(), tch::Device::Cpu)?;
    let p = SplitData::load(&float.config().split_spec())?;
    let graph = float.export()?;
    let tg = TchGraph::new(&graph, tch::Device::Cpu);
    let bytes = std::fs::read(blob)?;
    let model = Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let layers = graph.layers.len();
    let (mut sum, mut sq, mut count) = (vec![0f64; layers], vec![0f64; layers], vec![0f64; layers]);
    let mut power = vec![0f64; layers];
    let mut names = vec![String::new(); layers];
    for &i in p.split.val.iter().take(n) {
        let px =
            tch::Tensor::from_slice(p.data.image(i)).view([1, 1, p.data.size as i64, p.data.size as i64]);
        let mut float_out = Vec::new();
        let _ =
            tg.run(&tg.input_from_pixels(&px), |_, t| float_out.push(t.permute([0, 2, 3, 1]).flatten(0, -1)));
        let outputs =
            reference::run_layers(&model, &pixels_to_q(p.data.image(i))).map_err(anyhow::Error::msg)?;
        for (l, out) in outputs.iter().enumerate() {
            let quant = infer_core::Quant { scale: out.scale, zero_point: out.zero_point };
            let f = Vec::<f32>::try_from(&float_out[l]).expect("floats");
            for (&v, &fv) in out.values.iter().zip(&f) {
                let d = (f64::from(quant.dequantize(v)) - f64::from(fv)) / f64::from(quant.scale);
                sum[l] += d;
                sq[l] += d * d;
                power[l] += (f64::from(fv) / f64::from(quant.scale)).powi(2);
                count[l] += 1.0;
            }
            names[l] = out.op.to_string();
        }
    }
    for l in 0..layers {
        println!(
            "{l:3} {:<16} mean {:+8.3} rms {:8.3} (scale steps)  SQNR {:5.1} dB",
            names[l],
            sum[l] / count[l],
            (sq[l] / count[l]).sqrt(),
            10.0 * (power[l] / sq[l].max(1e-12)).log10()
        );
    }
    Ok(())
}
