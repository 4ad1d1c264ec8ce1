//! Global average pool: TFLM's AvgPool (`integer_ops/pooling.h`) with the window covering the
//! whole image, so it keeps scale and zero point. Sum of q (not q − zp) over the n = H·W taps,
//! divided rounding half away from zero as INT8.md writes it:
//! `acc > 0 ? (acc + n/2) / n : (acc − n/2) / n` with truncating division, then clamped.
//! (INT8.md's MEAN, with 1/N folded into the multiplier, is the separate `Mean` layer, [`super::mean`].)

use crate::tensor::Tensor;

/// Mean over rows and columns, per channel; 1×1×C.
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor, String> {
    let n = (x.h * x.w) as i64;
    if n == 0 {
        return Err("average pool over no taps".into());
    }
    let mut values = Vec::with_capacity(x.c);
    for c in 0..x.c {
        let mut acc = 0i64;
        for y in 0..x.h {
            for xx in 0..x.w {
                acc += i64::from(x.at(y, xx, c));
            }
        }
        values.push(round_half_away(acc, n).clamp(-128, 127) as i8);
    }
    Ok(Tensor { values, h: 1, w: 1, c: x.c, quant: x.quant })
}

/// `acc / n` to nearest, ties away from zero (`/` truncates towards zero in Rust as in C++).
pub fn round_half_away(acc: i64, n: i64) -> i64 {
    if acc > 0 {
        (acc + n / 2) / n
    } else {
        (acc - n / 2) / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infer_core::Quant;

    fn pool(values: Vec<i8>) -> Vec<i8> {
        let quant = Quant { scale: 1.0, zero_point: 3 };
        let x = Tensor { h: 2, w: 2, c: 1, values, quant };
        global_avg_pool(&x).unwrap().values
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(pool(vec![1, 2, -1, -2]), vec![0]);
        assert_eq!(pool(vec![1, 2, 2, 2]), vec![2]); // 1.75
        assert_eq!(pool(vec![1, 1, 0, 0]), vec![1]); // 0.5 → 1
        assert_eq!(pool(vec![-1, -1, 0, 0]), vec![-1]); // −0.5 → −1
        assert_eq!(pool(vec![3, 3, 3, 0]), vec![2]); // 2.25
        assert_eq!(pool(vec![-3, -3, -3, 1]), vec![-2]); // −2
        assert_eq!(pool(vec![-128; 4]), vec![-128]);
        assert_eq!(pool(vec![127; 4]), vec![127]);
    }

    #[test]
    fn odd_tap_counts() {
        assert_eq!(round_half_away(4, 3), 1);
        assert_eq!(round_half_away(5, 3), 2);
        assert_eq!(round_half_away(-5, 3), -2);
        assert_eq!(round_half_away(-4, 3), -1);
        assert_eq!(round_half_away(0, 7), 0);
    }
}
