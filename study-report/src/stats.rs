//! Mean and spread across seeds, shared by the headline models and the ablation rows.

/// Mean and sample standard deviation (n − 1; None for a single value) of a non-empty slice.
pub fn mean_sd(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.len() > 1).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd() {
        let (m, sd) = mean_sd(&[0.9, 0.92, 0.94]);
        assert!((m - 0.92).abs() < 1e-12);
        assert!((sd.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(mean_sd(&[0.5]).1, None);
    }
}
