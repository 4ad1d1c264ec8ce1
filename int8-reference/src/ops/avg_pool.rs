//! Average pools: TFLite's int8 AveragePool (`reference_integer_ops::AveragePool`, the kernel
//! of AVERAGE_POOL_2D with `BUILTIN_REF`). Sum of q (not q − zp: input and output share the
//! quantization) over the n taps of the window that lie inside the image, divided rounding half
//! away from zero as INT8.md writes it: `acc > 0 ? (acc + n/2) / n : (acc − n/2) / n` with
//! truncating division, then clamped — to the fused activation's range for `AvgPool`, to int8
//! for the global pool (the window covering the whole image, no activation).
//! (INT8.md's MEAN, with 1/N folded into the multiplier, is the separate `Mean` layer, [`super::mean`].)

use super::taps;
use crate::activation::{clamp_to, range};
use crate::tensor::Tensor;
use infer_core::AvgPoolDef;

/// `def` over `x`: every output position's window (clipped to the image), averaged per
/// channel, clamped to the activation range of `def.output`; the output quantized as declared.
pub fn avg_pool(x: &Tensor, def: &AvgPoolDef) -> Result<Tensor, String> {
    let win = &def.window;
    let (oh, ow) = (usize::from(win.out_h), usize::from(win.out_w));
    let clamp = range(def.activation, def.output);
    let mut values = Vec::with_capacity(oh * ow * x.c);
    for oy in 0..oh {
        for ox in 0..ow {
            let window = taps(win, oy, ox, x.h, x.w);
            let n = window.len() as i64;
            if n == 0 {
                return Err(format!("output ({oy}, {ox}): the window has no tap inside the image"));
            }
            for c in 0..x.c {
                let acc: i64 = window.iter().map(|&(_, _, iy, ix)| i64::from(x.at(iy, ix, c))).sum();
                i32::try_from(acc).map_err(|_| format!("sum {acc} does not fit i32"))?;
                values.push(clamp_to(round_half_away(acc, n), clamp));
            }
        }
    }
    Ok(Tensor { values, h: oh, w: ow, c: x.c, quant: def.output })
}

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

    fn window(kernel: u8, stride: u8, pad: u8, out: u16) -> infer_core::Window {
        infer_core::Window {
            kernel_h: kernel,
            kernel_w: kernel,
            stride_h: stride,
            stride_w: stride,
            pad_top: pad,
            pad_left: pad,
            out_h: out,
            out_w: out,
        }
    }

    /// TF 'SAME' 3×3/1 on 2×2: every window holds the whole image (4 taps); RELU6 at scale 0.5
    /// and zero point 1 clamps to [1, 13].
    #[test]
    fn windows_clip_and_activations_clamp() {
        let quant = Quant { scale: 0.5, zero_point: 1 };
        let x = Tensor { h: 2, w: 2, c: 2, values: vec![30, -9, 20, -9, 9, -9, 0, -8], quant };
        let def = AvgPoolDef { window: window(3, 1, 1, 2), output: quant, activation: infer_core::Activation::Relu6 };
        let y = avg_pool(&x, &def).unwrap();
        // 59/4 → 15 → 13; −35/4 → −9 → 1.
        assert_eq!(y.values, vec![13, 1, 13, 1, 13, 1, 13, 1]);
        let none = AvgPoolDef { activation: infer_core::Activation::None, ..def };
        assert_eq!(avg_pool(&x, &none).unwrap().values, vec![15, -9, 15, -9, 15, -9, 15, -9]);
        // 2×2/2 'VALID'-like window over 3×3 with an explicit output of 2: the last row and
        // column of windows hold 2 and 1 taps.
        let x = Tensor { h: 3, w: 3, c: 1, values: vec![1, 2, 3, 4, 5, 6, 7, 8, -9], quant };
        let def = AvgPoolDef { window: window(2, 2, 0, 2), output: quant, activation: infer_core::Activation::None };
        // (1+2+4+5)/4 = 3; (3+6)/2 = 4.5 → 5; (7+8)/2 = 7.5 → 8; −9.
        assert_eq!(avg_pool(&x, &def).unwrap().values, vec![3, 5, 8, -9]);
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
