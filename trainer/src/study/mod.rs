//! A whole study (the seed report's tasks II–IV): `grid` reads the study file, `plan` names
//! its runs, `select` chooses on validation, `suite` runs it all resumably. The report is
//! drawn from the study folder by the `study-report` crate (`trainer report`).

pub mod ablation;
pub mod ablation_file;
pub mod grid;
pub mod plan;
pub mod select;
pub mod suite;

pub use grid::{Grid, Profile};
pub use suite::{run_suite, SuiteOptions};
