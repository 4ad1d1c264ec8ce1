//! `cargo run -p study-report --example report -- <study> [models] [out] [ablation ...]`: the
//! report without the trainer binary (which needs libtorch to build).

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(study) = args.first().map(PathBuf::from) else {
        anyhow::bail!(
            "usage: report <study folder> [models dir, default models] [out dir, default <study>/report] \
             [ablation folders, default none ...]"
        );
    };
    let models = args.get(1).map_or_else(|| PathBuf::from("models"), PathBuf::from);
    let out = args.get(2).map_or_else(|| study.join("report"), PathBuf::from);
    let ablations: Vec<PathBuf> = args.iter().skip(3).map(PathBuf::from).collect();
    let s = study_report::write_report_with_ablation(&study, &models, &out, &ablations)?;
    println!(
        "wrote {} and {} ({} figures)",
        s.report_md.display(),
        s.results_json.display(),
        s.figures.len()
    );
    for m in &s.missing {
        println!("missing: {m}");
    }
    Ok(())
}
