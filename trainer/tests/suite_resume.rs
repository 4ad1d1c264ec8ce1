//! `trainer suite` survives `kill -9`: a study killed while it trains and started again
//! redoes no finished run, loses nothing finished, and ends with the same results as a study
//! that was never interrupted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A small study on the generated set: two tasks, three grid settings, two seeds.
const GRID: &str = r#"
protocols = ["official"]
split_seed = 42
seeds = [1, 2]

[[tasks]]
task = "cnn"
grid = [
  { optimizer = "sgd", lr = [1e-2] },
  { optimizer = "adam", lr = [3e-3, 1e-3] },
]
full = { image_size = 12, batch_size = 32, epochs = [1, 2], patience = 1 }
quick = { image_size = 12, batch_size = 32, epochs = [1, 2], patience = 1 }

[[tasks]]
task = "cnn_3class"
grid = [{ optimizer = "adam", lr = [3e-3] }]
full = { image_size = 12, batch_size = 32, epochs = [2], patience = 1 }
quick = { image_size = 12, batch_size = 32, epochs = [2], patience = 1 }
"#;

fn suite(tmp: &Path, out: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
    c.arg("suite").arg(tmp.join("grid.toml")).args(["--profile", "quick", "--cpu"]);
    c.arg("--out").arg(tmp.join(out)).arg("--data").arg(tmp.join("chest_xray"));
    c.arg("--cache-dir").arg(tmp.join("cache")).args(["--val-fraction", "0.25"]).stdout(Stdio::null());
    c
}

/// Runs a study to its end; fails with its stderr.
fn complete(tmp: &Path, out: &str) {
    let o = suite(tmp, out).stderr(Stdio::piped()).output().unwrap();
    assert!(o.status.success(), "trainer suite failed:\n{}", String::from_utf8_lossy(&o.stderr));
}

/// The finished runs of a study folder: name → metrics.json.
fn finished(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.join("metrics.json").exists()).collect())
        .unwrap_or_else(|_| Vec::new())
        .into_iter()
        .map(|p: PathBuf| (p.file_name().unwrap().to_string_lossy().into_owned(), p.join("metrics.json")))
        .collect();
    out.sort();
    out
}

/// What a run computed (not when or how long): its evaluation, milestones and epochs.
fn results(metrics: &Path) -> Value {
    let m: Value = serde_json::from_slice(&std::fs::read(metrics).unwrap()).unwrap();
    serde_json::json!([m["evaluation"], m["milestones"], m["training"]["epochs_run"], m["config"]["lr"]])
}

#[test]
fn a_killed_suite_resumes_without_redoing_or_losing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    common::make_tiny_layout(t);
    std::fs::write(t.join("grid.toml"), GRID).unwrap();

    // The reference: one uninterrupted study (this also fills the decode cache).
    complete(t, "whole");
    let whole = finished(&t.join("whole"));
    // 3 + 1 grid runs, 2 early-stopping runs, 2 × 2 seed runs.
    assert_eq!(whole.len(), 10, "{whole:?}");

    // Kill the second study once two runs have finished and a third has started.
    let mut child = suite(t, "killed").stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    while finished(&t.join("killed")).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(300), "the study never finished two runs");
        assert!(child.try_wait().unwrap().is_none(), "the study ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before: Vec<(String, Vec<u8>, std::time::SystemTime)> = finished(&t.join("killed"))
        .into_iter()
        .map(|(n, p)| (n, std::fs::read(&p).unwrap(), std::fs::metadata(&p).unwrap().modified().unwrap()))
        .collect();
    assert!(before.len() >= 2 && before.len() < 10);

    complete(t, "killed");
    let after = finished(&t.join("killed"));
    // Nothing finished was redone or lost: same bytes, same modification time.
    for (name, bytes, mtime) in &before {
        let p = t.join("killed").join(name).join("metrics.json");
        assert_eq!(&std::fs::read(&p).unwrap(), bytes, "{name} was redone");
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), *mtime, "{name} was rewritten");
    }
    // Same runs, same results as the uninterrupted study.
    let names = |v: &[(String, PathBuf)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&after), names(&whole));
    for ((name, a), (_, b)) in after.iter().zip(&whole) {
        assert_eq!(results(a), results(b), "{name} differs from the uninterrupted study");
    }
    let plan = |d: &str| -> Value {
        let mut v: Value =
            serde_json::from_slice(&std::fs::read(t.join(d).join("suite.json")).unwrap()).unwrap();
        // Each study names its own folder as the runs' parent; everything else must match.
        for run in v["runs"].as_array_mut().unwrap() {
            run["config"].as_object_mut().unwrap().remove("runs_dir");
        }
        v["runs"].clone()
    };
    assert_eq!(plan("killed"), plan("whole"));
}
