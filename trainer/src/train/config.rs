//! Everything that defines a training run; saved whole into metrics.json so a run can be
//! reproduced from its own output. Read from a JSON file (`--config`), then overridden by
//! command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::augment::Augment;
use super::loss::ClassWeight;
use super::lr_schedule::LrSchedule;
use super::optimizer::OptimizerKind;
pub use super::threshold_rule::ThresholdRule;
use crate::data::intensity::Intensity;
use crate::data::split::ValSplit;
use crate::data::{Protocol, SplitSpec};
use crate::models::transfer::{HeadKind, BASE_GROUP};

/// Which network a run trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The seed report's CNN, trained from scratch on one grey channel.
    #[default]
    #[value(name = "seed_cnn")]
    SeedCnn,
    /// MobileNetV2 pretrained on ImageNet plus a dense head (see --width, --mode, --weights).
    #[value(name = "mobilenet_v2")]
    MobilenetV2,
}

/// How a transfer model's pretrained base is trained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TransferMode {
    /// The base is never updated: its pooled features are computed once per image set and
    /// cached, and only the head trains on them.
    #[default]
    Frozen,
    /// The top --trainable-blocks features of the base train too, at --base-lr-factor × lr.
    Finetune,
}

/// The ImageNet weights file shipped in ../shared/weights for a width, if there is one.
pub fn default_weights(width: f64) -> Option<PathBuf> {
    let dir = Path::new("../shared/weights");
    if width == 1.0 {
        Some(dir.join("mobilenet_v2_1.0_224_imagenet_folded.safetensors"))
    } else if width == 0.35 {
        Some(dir.join("mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors"))
    } else {
        None
    }
}

/// Everything that defines a training run. Each field is a `trainer train` option: its doc
/// comment is the help text and its `default_value` the one default (also what
/// [`TrainConfig::default`] and a config file's missing fields get).
#[derive(Clone, Debug, Serialize, Deserialize, Args)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Name of the run folder under --runs-dir [default: built from the settings]
    #[arg(long)]
    pub name: Option<String>,
    /// The chest_xray folder in the Kaggle layout: {train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg
    #[arg(long, default_value = "../shared/data/chest_xray")]
    pub data: PathBuf,
    /// Where run folders go
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Where decoded images (and frozen MobileNetV2 features) are cached between runs
    #[arg(long, default_value = ".cache")]
    pub cache_dir: PathBuf,
    /// official: test on the official 624-image test split; pooled: pool all images and split
    /// 60/20/20 by patient, like the seed report but without its patient leak
    #[arg(long, value_enum, default_value_t = Protocol::Pooled)]
    pub protocol: Protocol,
    /// Seed for the split, initial weights, shuffling and dropout
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Seed of the split only [default: --seed]; a study's seed repeats keep the grid's split,
    /// so no run is tested on patients that chose its settings
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Official protocol only: share of the training patients held out for validation
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    /// Images are squashed to this many pixels square (the seed used 180; 128 is ~2× faster
    /// on a CPU); mobilenet_v2 runs use 224 unless this is given
    #[arg(long, default_value_t = 180)]
    pub image_size: u32,
    /// Optimizer (adagrad is the seed's)
    #[arg(long, value_enum, default_value_t = OptimizerKind::Adagrad)]
    pub optimizer: OptimizerKind,
    /// Learning rate
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Momentum for --optimizer momentum
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// Learning-rate schedule over the epochs: constant, or cosine (decays to zero)
    #[arg(long, value_enum, default_value_t = LrSchedule::Constant)]
    pub lr_schedule: LrSchedule,
    /// Passes over the training images
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Images per optimizer step
    #[arg(long, default_value_t = 20)]
    pub batch_size: usize,
    /// Early stopping: stop after this many epochs without a lower validation loss and keep
    /// the best epoch's weights [default: off, train every epoch and keep the last]
    #[arg(long)]
    pub patience: Option<usize>,
    /// Train on the CPU even when a CUDA GPU is available
    #[arg(long)]
    pub cpu: bool,
    /// seed_cnn: the seed's CNN from scratch; mobilenet_v2: ImageNet MobileNetV2 base →
    /// global average pool → dropout → dense, on the grey image repeated to RGB in [-1, 1]
    #[arg(long, value_enum, default_value_t = ModelKind::SeedCnn)]
    pub model: ModelKind,
    /// MobileNetV2 width multiplier: 1.0 or 0.35 have weights in ../shared/weights (others
    /// need --weights)
    #[arg(long, default_value_t = 1.0)]
    pub width: f64,
    /// MobileNetV2: frozen (base never updated; its pooled features are computed once per
    /// image set, cached in --cache-dir, and only the head trains) or finetune (the top
    /// --trainable-blocks of the base train too, at --base-lr-factor × --lr)
    #[arg(long, value_enum, default_value_t = TransferMode::Frozen)]
    pub mode: TransferMode,
    /// MobileNetV2 ImageNet weights (safetensors, torchvision names; see WEIGHTS.md)
    /// [default: the file for --width in ../shared/weights]
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Fine-tune: how many of the base's 19 features train, counted from the top
    /// (2: features.17 and the last 1×1 conv; 18: every inverted residual)
    #[arg(long, default_value_t = 4)]
    pub trainable_blocks: usize,
    /// Fine-tune: the base's learning rate is --lr times this
    #[arg(long, default_value_t = 0.1)]
    pub base_lr_factor: f64,
    /// Fine-tune: epochs first in which only the head learns (the base's learning rate 0),
    /// before the --epochs of fine-tuning and their schedule (LP-FT; train/lr_schedule.rs)
    #[arg(long, default_value_t = 0)]
    pub head_epochs: usize,
    /// MobileNetV2: dropout on the pooled features before the dense head (gap head only)
    #[arg(long, default_value_t = 0.2)]
    pub head_dropout: f64,
    /// MobileNetV2 head: gap (global average pool → dropout → dense) or seed (the seed
    /// report's conv 32 → pool → conv 64 → pool → conv 128 → GAP → dropout 0.1 → dense on the
    /// base's feature map; frozen runs cache the maps)
    #[arg(long, value_enum, default_value_t = HeadKind::Gap)]
    pub head: HeadKind,
    /// 2: normal vs pneumonia (one sigmoid output); 3: normal / bacterial / viral (softmax,
    /// cross-entropy; p(pneumonia) = p(bacterial) + p(viral)). seed_cnn only
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub classes: u8,
    /// Also measure validation and test at the end of these epochs (comma-separated), so one
    /// run gives the 10/15/20/30-epoch points of a grid; recorded in metrics.json `milestones`
    #[arg(long, value_delimiter = ',')]
    pub eval_epochs: Vec<usize>,
    /// How the decision threshold is chosen on validation: best_f1 (the seed's), or
    /// balanced_accuracy / accuracy over the same 0.10…0.90 sweep
    #[arg(long, value_enum, default_value_t = ThresholdRule::BestF1)]
    pub threshold_rule: ThresholdRule,
    /// Class weights of the training loss: none, or balanced (each class the same total weight)
    #[arg(long, value_enum, default_value_t = ClassWeight::None)]
    pub class_weight: ClassWeight,
    /// Label smoothing ε of the training loss (targets y (1 − ε) + ε / classes)
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f64,
    /// Mixup α: each training batch blended with a shuffled copy of itself at λ ~ Beta(α, α),
    /// the loss blended alike (0: off)
    #[arg(long, default_value_t = 0.0)]
    pub mixup: f64,
    /// Focal loss γ: each image's training loss times |y − p|^γ, so images already read right
    /// weigh less (Lin et al. 2017; train/loss.rs); 0: off, the plain (weighted) loss
    #[arg(long, default_value_t = 0.0)]
    pub focal_gamma: f64,
    /// The model is an exponential moving average of the variables over the optimizer steps at
    /// this decay, e.g. 0.998 (what validation scores, checkpoints hold and the run saves;
    /// train/weight_average.rs); 0: off, the last step's weights
    #[arg(long, default_value_t = 0.0)]
    pub ema_decay: f64,
    /// Intensity normalisation of every decoded image before the model: none, or equalize
    /// (histogram equalisation of the grey image)
    #[arg(long, value_enum, default_value_t = Intensity::None)]
    pub intensity: Intensity,
    /// Training-time augmentation of the images (not of frozen features): none, geometric
    /// (random crops, rotations, shifts and exposure changes, on the device), wide_framing, or
    /// geometric_erase (geometric plus random erasing; train/augment.rs)
    #[arg(long, value_enum, default_value_t = Augment::None)]
    pub augment: Augment,
    /// Official protocol: validation patients drawn at random (stratified), or the lowest
    /// patient ids of each stratum (another stretch of acquisition, like a new cohort)
    #[arg(long, value_enum, default_value_t = ValSplit::Random)]
    pub val_split: ValSplit,
}

impl Default for TrainConfig {
    /// The seed's task I–II settings (Adagrad 0.01, 10 epochs, batch 20, 180 px): the
    /// options' defaults, read from the command-line definition above.
    fn default() -> Self {
        let cmd = TrainConfig::augment_args(clap::Command::new("defaults"));
        let matches = cmd.get_matches_from(["defaults"]);
        TrainConfig::from_arg_matches(&matches).expect("every option has a default or is optional")
    }
}

impl TrainConfig {
    /// The configuration `trainer train` runs: the JSON file's settings (when one is given)
    /// under every option typed on the command line; a mobilenet_v2 run whose image size
    /// neither sets trains at 224 px, the size its ImageNet base was trained at.
    /// `cli` is the config parsed from `matches`.
    pub fn from_command_line(
        cli: TrainConfig,
        file: Option<&Path>,
        matches: &ArgMatches,
    ) -> Result<TrainConfig> {
        let typed = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        let (mut cfg, file_sets_size) = match file {
            None => (cli, false),
            Some(path) => {
                let mut v = read_json_object(path)?;
                let file_sets_size = v.contains_key("image_size");
                if let Value::Object(cli) = serde_json::to_value(&cli)? {
                    v.extend(cli.into_iter().filter(|(k, _)| typed(k)));
                }
                let cfg = serde_json::from_value(Value::Object(v))
                    .with_context(|| format!("config file {} is not valid", path.display()))?;
                (cfg, file_sets_size)
            }
        };
        if cfg.model == ModelKind::MobilenetV2 && !typed("image_size") && !file_sets_size {
            cfg.image_size = 224;
        }
        Ok(cfg)
    }

    /// The data and split this run trains and is measured on.
    pub fn split_spec(&self) -> SplitSpec {
        SplitSpec {
            data: self.data.clone(),
            cache_dir: self.cache_dir.clone(),
            image_size: self.image_size,
            protocol: self.protocol,
            seed: self.split_seed.unwrap_or(self.seed),
            val_fraction: self.val_fraction,
            intensity: self.intensity,
            val_split: self.val_split,
        }
    }

    /// The MobileNetV2 weights file this config uses.
    pub fn weights_path(&self) -> Result<PathBuf> {
        match &self.weights {
            Some(p) => Ok(p.clone()),
            None => default_weights(self.width).with_context(|| {
                format!(
                    "no ImageNet weights ship for width {} (only 0.35 and 1.0 do): pass --weights <file>",
                    self.width
                )
            }),
        }
    }

    /// Learning-rate multipliers of var-store groups other than the head's (group 0).
    pub fn lr_group_factors(&self) -> Vec<(usize, f64)> {
        match (self.model, self.mode) {
            (ModelKind::MobilenetV2, TransferMode::Finetune) => vec![(BASE_GROUP, self.base_lr_factor)],
            _ => vec![],
        }
    }

    /// The run's name, derived from the settings when none was given.
    pub fn run_name(&self) -> String {
        let protocol = match self.protocol {
            Protocol::Official => "official",
            Protocol::Pooled => "pooled",
        };
        let model = match (self.model, self.mode) {
            (ModelKind::SeedCnn, _) if self.classes == 3 => "seed_cnn_3class".to_string(),
            (ModelKind::SeedCnn, _) => "seed_cnn".to_string(),
            (ModelKind::MobilenetV2, TransferMode::Frozen) if self.classes == 3 => {
                format!("mobilenet_v2-w{}-frozen-3class", self.width)
            }
            (ModelKind::MobilenetV2, TransferMode::Frozen) => format!("mobilenet_v2-w{}-frozen", self.width),
            (ModelKind::MobilenetV2, TransferMode::Finetune) if self.head_epochs > 0 => format!(
                "mobilenet_v2-w{}-head{}-finetune{}-blr{}",
                self.width, self.head_epochs, self.trainable_blocks, self.base_lr_factor
            ),
            (ModelKind::MobilenetV2, TransferMode::Finetune) => format!(
                "mobilenet_v2-w{}-finetune{}-blr{}",
                self.width, self.trainable_blocks, self.base_lr_factor
            ),
        };
        let model = match (self.model, self.head) {
            (ModelKind::MobilenetV2, HeadKind::Seed) => format!("{model}-seedhead"),
            _ => model,
        };
        let model = if self.ema_decay > 0.0 { format!("{model}-ema{}", self.ema_decay) } else { model };
        let model = if self.focal_gamma > 0.0 { format!("{model}-focal{}", self.focal_gamma) } else { model };
        // The augmentations beyond `geometric` change what the model learns; name them, so a
        // shipped blob says which it had (`none` and `geometric` keep the names they always had).
        let model = match self.augment {
            Augment::WideFraming => format!("{model}-wide"),
            Augment::GeometricErase => format!("{model}-erase"),
            Augment::GeometricSharpness => format!("{model}-sharpness"),
            Augment::None | Augment::Geometric => model,
        };
        self.name.clone().unwrap_or_else(|| {
            format!(
                "{model}-{protocol}-{:?}-lr{}-e{}-b{}-{}px-s{}",
                self.optimizer, self.lr, self.epochs, self.batch_size, self.image_size, self.seed
            )
            .to_lowercase()
        })
    }

    /// Logits the network ends in: one (sigmoid) for 2 classes, one per class for 3.
    pub fn outputs(&self) -> i64 {
        if self.classes == 3 {
            3
        } else {
            1
        }
    }

    /// Every epoch the run trains: the head-only ones, then --epochs.
    pub fn total_epochs(&self) -> usize {
        self.head_epochs + self.epochs
    }

    /// Batch for prediction only: no gradients are kept, so larger batches are cheap.
    pub fn eval_batch_size(&self) -> usize {
        self.batch_size.max(64)
    }
}

/// The top-level object of a JSON file.
fn read_json_object(path: &Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    match serde_json::from_str(&text)
        .with_context(|| format!("config file {} is not valid JSON", path.display()))?
    {
        Value::Object(m) => Ok(m),
        _ => anyhow::bail!("config file {} must hold one JSON object of settings", path.display()),
    }
}

mod validate;

#[cfg(test)]
mod tests;
