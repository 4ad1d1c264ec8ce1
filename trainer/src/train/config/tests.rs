//! Tests of the training configuration: defaults, config files, command-line overlay.

use super::*;

fn command_line(args: &[&str], file: Option<&Path>) -> Result<TrainConfig> {
    let cmd = TrainConfig::augment_args(clap::Command::new("train"));
    let matches = cmd.try_get_matches_from(std::iter::once("train").chain(args.iter().copied()))?;
    TrainConfig::from_command_line(TrainConfig::from_arg_matches(&matches)?, file, &matches)
}

#[test]
fn typed_options_win_over_the_file_and_defaults_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.json");
    std::fs::write(&file, r#"{"lr": 0.001, "epochs": 3, "model": "mobilenet_v2"}"#).unwrap();
    let c = command_line(&["--epochs", "7", "--cpu"], Some(&file)).unwrap();
    assert_eq!((c.lr, c.epochs, c.cpu, c.batch_size), (0.001, 7, true, 20));
    assert_eq!(c.image_size, 224, "mobilenet_v2 defaults to its base's size");
    let c = command_line(&["--model", "mobilenet_v2", "--image-size", "96"], None).unwrap();
    assert_eq!(c.image_size, 96);
    assert_eq!(command_line(&[], None).unwrap().image_size, 180);
    std::fs::write(&file, r#"{"lr": 0.001, "typo": 1}"#).unwrap();
    let err = command_line(&[], Some(&file)).unwrap_err();
    assert!(format!("{err:#}").contains("c.json"), "{err:#}");
    std::fs::write(&file, "[1, 2]").unwrap();
    assert!(command_line(&[], Some(&file)).unwrap_err().to_string().contains("one JSON object"));
}

#[test]
fn defaults_are_the_seed_settings() {
    let c = TrainConfig::default();
    assert_eq!(
        (c.optimizer, c.lr, c.epochs, c.batch_size, c.image_size),
        (OptimizerKind::Adagrad, 0.01, 10, 20, 180)
    );
    assert_eq!(c.data, PathBuf::from("../shared/data/chest_xray"));
    assert_eq!((c.patience, c.weights.as_deref()), (None, None));
}

#[test]
fn old_configs_load_with_seed_cnn_defaults() {
    let c: TrainConfig = serde_json::from_str(r#"{"lr": 0.001, "image_size": 128}"#).unwrap();
    assert_eq!(c.model, ModelKind::SeedCnn);
    assert!(c.lr_group_factors().is_empty());
    assert!(c.run_name().starts_with("seed_cnn-pooled-adagrad-lr0.001"));
    c.validate().unwrap();
}

#[test]
fn transfer_settings_name_the_run_and_pick_weights() {
    let mut c: TrainConfig =
        serde_json::from_str(r#"{"model": "mobilenet_v2", "width": 0.35, "mode": "finetune"}"#).unwrap();
    assert_eq!(c.lr_group_factors(), vec![(BASE_GROUP, 0.1)]);
    assert!(c.run_name().starts_with("mobilenet_v2-w0.35-finetune4-blr0.1-pooled-"), "{}", c.run_name());
    assert!(c.weights_path().unwrap().ends_with("mobilenet_v2_0.35_224_imagenet_no_top_bn.safetensors"));
    c.mode = TransferMode::Frozen;
    assert!(c.lr_group_factors().is_empty());
    assert!(c.run_name().starts_with("mobilenet_v2-w0.35-frozen-pooled-"));
    c.width = 0.5;
    assert!(c.weights_path().unwrap_err().to_string().contains("--weights"));
    c.width = 0.3;
    assert!(c.validate().is_err());
    c.width = 1.0;
    c.mode = TransferMode::Finetune;
    c.trainable_blocks = 0;
    assert!(c.validate().is_err());
    let back: TrainConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!((back.model, back.mode, back.width), (c.model, c.mode, c.width));
}

#[test]
fn mixup_is_off_by_default_and_bounded() {
    assert_eq!(command_line(&[], None).unwrap().mixup, 0.0);
    assert_eq!(command_line(&["--mixup", "0.2"], None).unwrap().mixup, 0.2);
    for bad in ["-0.1", "11", "NaN"] {
        let err = command_line(&[&format!("--mixup={bad}")], None).unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("mixup"), "{bad}: {err}");
    }
}

#[test]
fn head_epochs_are_for_fine_tuning_and_come_first() {
    let c = command_line(&[], None).unwrap();
    assert_eq!((c.head_epochs, c.total_epochs()), (0, c.epochs));
    let ft = ["--model", "mobilenet_v2", "--mode", "finetune", "--width", "0.35", "--epochs", "6"];
    let c = command_line(&[&ft[..], &["--head-epochs", "2", "--seed", "4"]].concat(), None).unwrap();
    c.validate().unwrap();
    assert_eq!(c.total_epochs(), 8);
    assert!(c.run_name().contains("-head2-finetune"), "{}", c.run_name());
    // A milestone may fall in the head epochs or after them, not past the run.
    let mut m = c.clone();
    m.eval_epochs = vec![8];
    m.validate().unwrap();
    m.eval_epochs = vec![9];
    assert!(m.validate().is_err());
    for other in [&["--model", "seed_cnn"][..], &["--model", "mobilenet_v2", "--mode", "frozen"][..]] {
        let c = command_line(&[other, &["--head-epochs", "2"]].concat(), None).unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("--head-epochs"));
    }
}

/// Options that add a term to the run (weight averaging, focal loss): off by default and
/// absent from the run name, named when on, refused outside their bounds.
#[test]
fn optional_terms_are_off_by_default_bounded_and_named() {
    let default = command_line(&[], None).unwrap();
    assert_eq!((default.ema_decay, default.focal_gamma), (0.0, 0.0));
    let cases = [
        ("--ema-decay", "0.998", "-ema0.998", ["-0.1", "1", "NaN"]),
        ("--focal-gamma", "2", "-focal2", ["-1", "11", "NaN"]),
    ];
    for (flag, on, name, bad_values) in cases {
        assert!(!default.run_name().contains(name), "{}", default.run_name());
        let c = command_line(&[flag, on], None).unwrap();
        c.validate().unwrap();
        assert!(c.run_name().contains(name), "{flag}: {}", c.run_name());
        for bad in bad_values {
            let err = command_line(&[&format!("{flag}={bad}")], None).unwrap().validate().unwrap_err();
            assert!(err.to_string().contains(flag), "{flag} {bad}: {err}");
        }
    }
}

/// The augmentations beyond `geometric` are in the run name; `none` and `geometric` are not.
#[test]
fn augmentations_beyond_geometric_are_named() {
    for (augment, suffix) in [
        ("none", None),
        ("geometric", None),
        ("wide_framing", Some("-wide-")),
        ("geometric_erase", Some("-erase-")),
        ("geometric_sharpness", Some("-sharpness-")),
    ] {
        let c = command_line(&["--model", "mobilenet_v2", "--augment", augment], None).unwrap();
        let name = c.run_name();
        match suffix {
            Some(s) => assert!(name.contains(s), "{augment}: {name}"),
            None => assert!(
                ["-wide-", "-erase-", "-sharpness-"].iter().all(|s| !name.contains(s)),
                "{augment}: {name}"
            ),
        }
    }
}
