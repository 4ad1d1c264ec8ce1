//! Command line of the trainer: one subcommand per job (train, eval, ensemble,
//! shifted-validation, split, bench, quantize, validate-int8, bench-int8, predict, suite,
//! report, ablation, import-tflite).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use trainer::bench::{bench, BenchModel};
use trainer::data::{kaggle, split, warn_skipped, Protocol};
use trainer::predict::{print_lines, Source};
use trainer::quant::bench::bench_int8;
use trainer::quant::card::{card_path_for, read_card};
use trainer::quant::{quantize_run, validate_int8, FloatModel, QuantizeArgs, ValidateOptions};
use trainer::run::{eval_run, train_run};
use trainer::study::{run_suite, Profile, SuiteOptions};
use trainer::train::config::ModelKind;
use trainer::train::TrainConfig;
use trainer::util::device::pick_device;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "Train and evaluate pneumonia classifiers on chest X-rays",
    long_about = "Train and evaluate pneumonia classifiers on the Kermany pediatric chest X-ray set \
                  (Kaggle 'chest-xray-pneumonia'). Splits are by patient, so no patient and no \
                  identical image is on both sides of a split. Uses a CUDA GPU when one is present."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the seed CNN or MobileNetV2 transfer model, pick the decision threshold on
    /// validation, measure it on test, and write runs/<name>/ (metrics.json, history.csv,
    /// model.safetensors, plots).
    Train(Box<TrainArgs>),
    /// Measure a finished run again (same split and threshold rule) and write eval.json.
    Eval(trainer::run::EvalArgs),
    /// Average finished runs of one split into an ensemble (mean probability), choose its
    /// threshold on validation, measure it on test and write runs/<name>/ like a run.
    Ensemble(trainer::run::EnsembleArgs),
    /// Measure finished runs' validation images through fixed acquisition shifts at each
    /// run's own threshold; write shifted_validation.json beside metrics.json.
    #[command(name = "shifted-validation")]
    ShiftedValidation(trainer::run::ValidationRerunArgs),
    /// Score finished runs' validation images where the sharpness cue and the label disagree
    /// (blurry normals, sharp pneumonias) at each run's own threshold; write
    /// cue_validation.json beside metrics.json.
    #[command(name = "cue-validation")]
    CueValidation(trainer::run::ValidationRerunArgs),
    /// Show how a protocol splits the data (images per kind and patients per side), as JSON.
    Split(SplitArgs),
    /// Print training throughput (images/s) of the seed CNN, or of MobileNetV2 fine-tuning,
    /// on synthetic images.
    Bench(BenchArgs),
    /// Quantize a finished run to int8: calibrate on its training images, write
    /// models/<name>.int8.postcard and the model card models/<name>.json, and measure float
    /// and int8 (infer-core, checked against the integer reference) on its test split.
    Quantize(QuantizeArgs),
    /// Run an int8 blob over its whole test split with infer-core, the trainer's integer
    /// reference and (when its run folder is present) the float model; print accuracy, AUC
    /// and agreement. Fails unless infer-core equals the reference on every image.
    #[command(name = "validate-int8")]
    ValidateInt8(ValidateArgs),
    /// Print single-thread inference images/s of an int8 blob in infer-core beside its float
    /// model in tch (batch 1, one thread each), with blob and arena bytes.
    #[command(name = "bench-int8")]
    BenchInt8(BenchInt8Args),
    /// Classify X-ray images (any JPEG or PNG) with an int8 blob (--model) or a run's float
    /// model (--run): one line per image with the class, p(pneumonia) and the threshold.
    /// Exits non-zero only when no image could be classified.
    Predict(PredictArgs),
    /// Run a study from a grid file (experiments/seed_study.toml): every optimizer × lr, early
    /// stopping and fine-tuning of the best, the choice at several seeds; resumable.
    Suite(SuiteArgs),
    /// Write REPORT.md, results.json and figures/ from a `trainer suite` folder and --models cards.
    Report(ReportArgs),
    /// Run an ablation file (experiments/official_ablation.toml): rows that each change the
    /// baseline once, every row at the same seeds, resumably; writes ablation.json.
    Ablation(trainer::study::ablation::AblationArgs),
    /// Import a TensorFlow Lite int8 model (.tflite) as an infer-core blob with its card
    /// (<name>.import.json); unsupported operators are named with their index.
    #[command(name = "import-tflite")]
    ImportTflite(trainer::import::ImportArgs),
}

#[derive(Args)]
struct ReportArgs {
    /// The study folder `trainer suite` wrote
    #[arg(long, default_value = "runs/study-quick")]
    study: PathBuf,
    /// Model cards of the shipped int8 models (float vs int8 table)
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Where REPORT.md, results.json and figures/ go
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// An ablation folder of `trainer ablation`: adds its table and calibration to the report
    /// (repeatable: one section per folder, in the order given)
    #[arg(long)]
    ablation: Vec<PathBuf>,
}

#[derive(Args)]
struct SuiteArgs {
    /// The grid file (TOML, see experiments/seed_study.toml)
    grid: PathBuf,
    /// quick: small images and few epochs (a 2-core CPU); full: the seed's sizes (a GPU)
    #[arg(long, value_enum, default_value = "quick")]
    profile: Profile,
    /// The study folder [default: runs/study-<profile>]
    #[arg(long)]
    out: Option<PathBuf>,
    /// The chest_xray folder in the Kaggle layout
    #[arg(long, default_value = "../shared/data/chest_xray")]
    data: PathBuf,
    /// Where decoded images and frozen features are cached between runs
    #[arg(long, default_value = ".cache")]
    cache_dir: PathBuf,
    /// Official protocol only: share of the training patients held out for validation
    #[arg(long, default_value_t = 0.1)]
    val_fraction: f64,
    /// Train on the CPU even when a CUDA GPU is available
    #[arg(long)]
    cpu: bool,
}

impl SuiteArgs {
    fn options(self) -> SuiteOptions {
        let profile = format!("{:?}", self.profile).to_lowercase();
        let template = TrainConfig {
            data: self.data,
            cache_dir: self.cache_dir,
            cpu: self.cpu,
            val_fraction: self.val_fraction,
            ..TrainConfig::default()
        };
        SuiteOptions {
            grid_file: self.grid,
            profile: self.profile,
            out: self.out.unwrap_or_else(|| PathBuf::from(format!("runs/study-{profile}"))),
            template,
        }
    }
}

#[derive(Args)]
struct PredictArgs {
    /// An int8 blob (models/<name>.int8.postcard, its card beside it)
    #[arg(long, conflicts_with = "run", required_unless_present = "run")]
    model: Option<PathBuf>,
    /// A run folder: classify with its float model instead
    #[arg(long)]
    run: Option<PathBuf>,
    /// Print one JSON array instead of lines
    #[arg(long)]
    json: bool,
    /// The images
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

#[derive(Args)]
struct BenchInt8Args {
    /// The blob (models/<name>.int8.postcard)
    #[arg(long)]
    model: PathBuf,
    /// The float run for the tch figure [default: the card's source_run, when present]
    #[arg(long)]
    run: Option<PathBuf>,
    /// Images timed for each engine
    #[arg(long, default_value_t = 50)]
    images: usize,
}

#[derive(Args)]
struct ValidateArgs {
    /// The blob (models/<name>.int8.postcard)
    #[arg(long)]
    model: PathBuf,
    /// Its model card [default: models/<name>.json beside the blob]
    #[arg(long)]
    card: Option<PathBuf>,
    /// The float run it came from [default: the card's source_run, when present]
    #[arg(long)]
    run: Option<PathBuf>,
    /// The chest_xray folder in the Kaggle layout
    #[arg(long, default_value = "../shared/data/chest_xray")]
    data: PathBuf,
    /// Where decoded images are cached between runs
    #[arg(long, default_value = ".cache")]
    cache_dir: PathBuf,
    /// Use the CPU even when a CUDA GPU is available
    #[arg(long)]
    cpu: bool,
}

#[derive(Args)]
struct TrainArgs {
    /// JSON file with any of the settings below (see experiments/); options typed here win
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: TrainConfig,
}

#[derive(Args)]
struct SplitArgs {
    /// The chest_xray folder in the Kaggle layout
    #[arg(long, default_value = "../shared/data/chest_xray")]
    data: PathBuf,
    /// official or pooled (see `trainer train --help`)
    #[arg(long, value_enum, default_value = "pooled")]
    protocol: Protocol,
    /// Seed of the split
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Official protocol only: share of the training patients held out for validation
    #[arg(long, default_value_t = 0.1)]
    val_fraction: f64,
}

#[derive(Args)]
struct BenchArgs {
    /// Image side in pixels
    #[arg(long, default_value_t = 180)]
    image_size: i64,
    /// Batch sizes to measure (repeat the flag for several)
    #[arg(long = "batch", default_values_t = [20, 64])]
    batches: Vec<i64>,
    /// Timed optimizer steps per batch size
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Untimed steps first (lets cuDNN pick its kernels)
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Measure the CPU even when a CUDA GPU is available
    #[arg(long)]
    cpu: bool,
    /// seed_cnn, or mobilenet_v2 fine-tuning its top --trainable-blocks
    #[arg(long, value_enum, default_value = "seed_cnn")]
    model: ModelKind,
    /// MobileNetV2 width multiplier
    #[arg(long, default_value_t = 1.0)]
    width: f64,
    /// MobileNetV2: features of the base that train, from the top
    #[arg(long, default_value_t = 4)]
    trainable_blocks: usize,
}

impl ValidateArgs {
    fn options(self) -> ValidateOptions {
        ValidateOptions {
            blob: self.model,
            card: self.card,
            run: self.run,
            data: self.data,
            cache_dir: self.cache_dir,
            cpu: self.cpu,
        }
    }
}

impl BenchInt8Args {
    fn run(self) -> Result<()> {
        let blob =
            std::fs::read(&self.model).with_context(|| format!("cannot read {}", self.model.display()))?;
        // The float figure needs the run folder; the card names it.
        let run = self.run.or_else(|| match read_card(&card_path_for(&self.model)) {
            Ok(c) => Some(PathBuf::from(c.source_run)).filter(|r| r.join("model.safetensors").exists()),
            Err(e) => {
                eprintln!("warning: {e:#}");
                None
            }
        });
        let float = run.as_deref().map(|r| FloatModel::load(r, tch::Device::Cpu)).transpose()?;
        bench_int8(&blob, float.as_ref(), self.images)?.print(&self.model.display().to_string());
        Ok(())
    }
}

impl PredictArgs {
    fn run(self) -> Result<()> {
        let source = match (self.model, self.run) {
            (Some(blob), _) => Source::Int8 { blob },
            (None, Some(run)) => Source::Float { run },
            (None, None) => anyhow::bail!("pass --model <blob> or --run <run folder>"),
        };
        let predictions = trainer::import::predict(&source, &self.images)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&predictions)?);
        } else {
            print_lines(&predictions);
        }
        anyhow::ensure!(predictions.iter().any(|p| p.class.is_some()), "no image could be classified");
        Ok(())
    }
}

fn main() -> Result<()> {
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        Command::Train(a) => {
            // The subcommand's matches say which options were typed (they beat the file).
            let typed = matches.subcommand_matches("train").context("train options")?;
            let cfg = TrainConfig::from_command_line(a.settings, a.config.as_deref(), typed)?;
            train_run(&cfg, &command_line)?;
        }
        Command::Eval(a) => eval_run(&a.run, a.data.as_deref(), a.cpu).map(drop)?,
        Command::Ensemble(a) => trainer::run::ensemble_run(&a, &command_line).map(drop)?,
        Command::ShiftedValidation(a) => trainer::run::shifted_runs(&a).map(drop)?,
        Command::CueValidation(a) => trainer::run::cue_runs(&a).map(drop)?,
        Command::Split(a) => {
            let scan = kaggle::scan(&a.data)?;
            warn_skipped(&scan.skipped);
            let s = split::split(&scan.images, a.protocol, a.seed, a.val_fraction)?;
            println!("{}", serde_json::to_string_pretty(&s.summary)?);
        }
        Command::Quantize(a) => quantize_run(&a.options(), &command_line).map(drop)?,
        Command::ValidateInt8(a) => validate_int8(&a.options()).map(drop)?,
        Command::ImportTflite(a) => trainer::import::import_tflite(&a)?,
        Command::BenchInt8(a) => a.run()?,
        Command::Predict(a) => a.run()?,
        Command::Suite(a) => run_suite(&a.options(), &command_line).map(drop)?,
        Command::Ablation(a) => trainer::study::ablation::run_ablation(&a).map(drop)?,
        Command::Report(a) => {
            let r = study_report::write_report_with_ablation(&a.study, &a.models, &a.out, &a.ablation)?;
            r.missing.iter().for_each(|m| eprintln!("missing: {m}"));
            let (md, json) = (r.report_md.display(), r.results_json.display());
            println!("{} runs → {md}, {json} and {} figure files", r.finished_runs, r.figures.len());
        }
        Command::Bench(a) => {
            let model = match a.model {
                ModelKind::SeedCnn => BenchModel::SeedCnn,
                ModelKind::MobilenetV2 => {
                    BenchModel::MobileNetV2 { width: a.width, trainable_blocks: a.trainable_blocks }
                }
            };
            bench(model, pick_device(a.cpu), a.image_size, &a.batches, a.steps, a.warmup)?;
        }
    }
    Ok(())
}
