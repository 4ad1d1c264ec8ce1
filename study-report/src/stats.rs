//! Mean and spread across seeds, shared by the headline models and the ablation rows.

/// Mean and sample standard deviation (n − 1; None for a single value) of a non-empty slice.
pub fn mean_sd(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.len() > 1).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, sd)
}

/// Ranks from 1, ties sharing the mean of the ranks they span.
fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
            j += 1;
        }
        order[i..=j].iter().for_each(|&k| r[k] = (i + j) as f64 / 2.0 + 1.0);
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation of paired values (Pearson's r of their ranks); None for fewer
/// than three pairs or when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 3 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let (ma, mb) = (mean_sd(&ra).0, mean_sd(&rb).0);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |r: &[f64], m: f64| r.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    let denom = (var(&ra, ma) * var(&rb, mb)).sqrt();
    (denom > 0.0).then(|| cov / denom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_reads_order_not_size_and_shares_ties() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 300.0, 4000.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(ranks(&[0.5, 0.1, 0.5, 0.9]), vec![2.5, 1.0, 2.5, 4.0]);
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) = 0.8
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0]), None);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }

    #[test]
    fn mean_and_sample_sd() {
        let (m, sd) = mean_sd(&[0.9, 0.92, 0.94]);
        assert!((m - 0.92).abs() < 1e-12);
        assert!((sd.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(mean_sd(&[0.5]).1, None);
    }
}
