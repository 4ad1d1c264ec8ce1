//! The published numbers the report sets beside ours — the only numbers in this crate not read
//! from the study. Source: `shared/SEED.md` (the original course project; test accuracy on its
//! random split by image, comparable to our `pooled` protocol only) and Kermany et al. 2018
//! (Cell 172(5), 92.8% accuracy on the official test split, comparable to `official`).

/// Kermany et al. 2018, accuracy on the official test split.
pub const KERMANY_2018_ACCURACY: f64 = 0.928;

/// Positive = pneumonia, as in our binary confusion.
pub struct SeedConfusion {
    pub tn: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tp: usize,
}

/// The seed's headline result for one of our model keys.
pub struct SeedHeadline {
    pub task: &'static str,
    /// What the seed trained, in its words.
    pub setting: &'static str,
    pub accuracy: f64,
    pub confusion: Option<SeedConfusion>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// (threshold, F1) of its best-F1 sweep point.
    pub best_f1: Option<(f64, f64)>,
}

pub const SEED_HEADLINES: [SeedHeadline; 4] = [
    SeedHeadline {
        task: "cnn",
        setting: "CNN, Adagrad lr 0.01, 10 epochs, batch 20",
        accuracy: 0.9497,
        confusion: Some(SeedConfusion { tn: 286, fp: 30, fn_: 29, tp: 827 }),
        precision: Some(0.965),
        recall: Some(0.966),
        best_f1: Some((0.40, 0.967)),
    },
    SeedHeadline {
        task: "mobilenet_v2_frozen",
        setting: "MobileNetV2 base frozen, Adagrad, 50 epochs, batch 20",
        accuracy: 0.9241,
        confusion: Some(SeedConfusion { tn: 206, fp: 110, fn_: 59, tp: 797 }),
        precision: Some(0.878),
        recall: Some(0.931),
        best_f1: Some((0.45, 0.904)),
    },
    SeedHeadline {
        task: "mobilenet_v2_finetune",
        setting: "MobileNetV2 fine-tuned (first 60 layers frozen), Adagrad lr 1e-3, 100 epochs",
        accuracy: 0.9181,
        confusion: None,
        precision: None,
        recall: None,
        best_f1: None,
    },
    SeedHeadline {
        task: "cnn_3class",
        setting: "3-class CNN, SGD lr 0.0005, early stopping (stopped epoch 31, best 16)",
        accuracy: 0.8261,
        confusion: None,
        precision: None,
        recall: None,
        best_f1: None,
    },
];

/// One cell of the seed's optimizer grids (test accuracy).
pub struct SeedGridCell {
    /// Our grid's `model` column: `cnn`, `mobilenet_v2`, `cnn_3class`.
    pub model: &'static str,
    /// Our optimizer names: `sgd`, `momentum` (SGD + momentum 0.9), `adam`, `rmsprop`, `adagrad`.
    pub optimizer: &'static str,
    pub lr: f64,
    pub epochs: usize,
    pub accuracy: f64,
}

const fn cell(
    model: &'static str,
    optimizer: &'static str,
    lr: f64,
    epochs: usize,
    accuracy: f64,
) -> SeedGridCell {
    SeedGridCell { model, optimizer, lr, epochs, accuracy }
}

/// SEED.md's task III (CNN, batch 20; the transfer net at lr 0.001) and task IV tables.
pub const SEED_GRID: [SeedGridCell; 55] = [
    cell("cnn", "sgd", 0.01, 10, 0.9027),
    cell("cnn", "sgd", 0.01, 20, 0.9616),
    cell("cnn", "sgd", 0.01, 30, 0.9633),
    cell("cnn", "sgd", 0.001, 10, 0.9590),
    cell("cnn", "sgd", 0.001, 20, 0.9650),
    cell("cnn", "sgd", 0.001, 30, 0.9625),
    cell("cnn", "sgd", 0.0001, 10, 0.9309),
    cell("cnn", "sgd", 0.0001, 20, 0.9394),
    cell("cnn", "sgd", 0.0001, 30, 0.9608),
    cell("cnn", "momentum", 0.001, 10, 0.9565),
    cell("cnn", "momentum", 0.001, 15, 0.9514),
    cell("cnn", "momentum", 0.001, 20, 0.9659),
    cell("cnn", "momentum", 0.0001, 10, 0.9369),
    cell("cnn", "momentum", 0.0001, 15, 0.9488),
    cell("cnn", "momentum", 0.0001, 20, 0.9471),
    cell("cnn", "momentum", 0.00001, 10, 0.9275),
    cell("cnn", "momentum", 0.00001, 15, 0.9403),
    cell("cnn", "momentum", 0.00001, 20, 0.9087),
    cell("cnn", "adam", 0.001, 10, 0.9403),
    cell("cnn", "adam", 0.001, 15, 0.9514),
    cell("cnn", "adam", 0.001, 20, 0.8874),
    cell("cnn", "adam", 0.0001, 10, 0.9531),
    cell("cnn", "adam", 0.0001, 15, 0.9454),
    cell("cnn", "adam", 0.0001, 20, 0.9565),
    cell("cnn", "adam", 0.00001, 10, 0.9480),
    cell("cnn", "adam", 0.00001, 15, 0.9445),
    cell("cnn", "adam", 0.00001, 20, 0.9565),
    cell("cnn", "rmsprop", 0.0001, 10, 0.9616),
    cell("cnn", "rmsprop", 0.0001, 20, 0.9607),
    cell("cnn", "rmsprop", 0.0001, 30, 0.9630),
    cell("cnn", "adagrad", 0.01, 10, 0.9497),
    cell("mobilenet_v2", "sgd", 0.001, 50, 0.8370),
    cell("mobilenet_v2", "sgd", 0.001, 80, 0.9044),
    cell("mobilenet_v2", "momentum", 0.001, 50, 0.9206),
    cell("mobilenet_v2", "momentum", 0.001, 80, 0.9138),
    cell("mobilenet_v2", "rmsprop", 0.001, 50, 0.9010),
    cell("mobilenet_v2", "rmsprop", 0.001, 80, 0.8532),
    cell("mobilenet_v2", "adam", 0.001, 50, 0.8788),
    cell("mobilenet_v2", "adam", 0.001, 80, 0.9283),
    cell("cnn_3class", "sgd", 0.0005, 30, 0.7991),
    cell("cnn_3class", "sgd", 0.0005, 60, 0.8165),
    cell("cnn_3class", "sgd", 0.00001, 30, 0.7539),
    cell("cnn_3class", "sgd", 0.00001, 60, 0.7626),
    cell("cnn_3class", "momentum", 0.0005, 30, 0.7817),
    cell("cnn_3class", "momentum", 0.0005, 60, 0.7896),
    cell("cnn_3class", "momentum", 0.00001, 30, 0.7948),
    cell("cnn_3class", "momentum", 0.00001, 60, 0.7809),
    cell("cnn_3class", "rmsprop", 0.0005, 30, 0.6826),
    cell("cnn_3class", "rmsprop", 0.0005, 60, 0.7978),
    cell("cnn_3class", "rmsprop", 0.00001, 30, 0.8046),
    cell("cnn_3class", "rmsprop", 0.00001, 60, 0.8106),
    cell("cnn_3class", "adam", 0.0005, 30, 0.7913),
    cell("cnn_3class", "adam", 0.0005, 60, 0.7965),
    cell("cnn_3class", "adam", 0.00001, 30, 0.7904),
    cell("cnn_3class", "adam", 0.00001, 60, 0.8087),
];

/// The seed's early-stopping reruns of its best grid configuration, in its words.
pub const SEED_EARLY_STOPPING: [(&str, &str); 3] = [
    ("cnn", "SGD + momentum 0.9, lr 0.001 (grid best 96.59% at 20 epochs); val loss, patience 5, restore best: stopped at epoch 14 with 95.90%"),
    ("mobilenet_v2_frozen", "Adam lr 0.001 (grid best 92.83% at 80 epochs); val loss, patience 10: 94.28%"),
    ("cnn_3class", "SGD lr 0.0005 (grid best 81.65% at 60 epochs); stopped at epoch 31, best epoch 16: 82.61%"),
];

/// The seed's frozen vs fine-tuned verdict.
pub const SEED_FROZEN_VS_FINETUNE: &str = "frozen 92.41% vs fine-tuned 91.81%: frozen was better";

pub fn seed_headline(task: &str) -> Option<&'static SeedHeadline> {
    SEED_HEADLINES.iter().find(|h| h.task == task)
}

/// The seed's test accuracy for exactly this grid cell, if it ran it.
pub fn seed_grid_cell(model: &str, optimizer: &str, lr: f64, epochs: usize) -> Option<f64> {
    SEED_GRID
        .iter()
        .find(|c| {
            c.model == model && c.optimizer == optimizer && c.epochs == epochs && (c.lr - lr).abs() < 1e-12
        })
        .map(|c| c.accuracy)
}
