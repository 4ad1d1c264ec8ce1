//! Integer kernels, one file per op. Each takes precomputed parameters (built and checked by
//! the loader's prepare step) and raw byte slices holding int8 values, and cannot fail: all shapes,
//! lengths and overflow bounds were proven at load time.
//!
//! Crate-private: the parameter structs have public fields and the kernels index with them, so
//! inconsistent parameters would panic. Only [`crate::Model`], which builds them from a
//! validated blob, calls these kernels.
//!
//! Activations and weights are `u8` bytes reinterpreted as `i8` (`b as i8`), so the arena can
//! be a plain `&mut [u8]` without `unsafe`.

pub mod add;
pub mod avg_pool;
mod conv1ch;
pub mod conv2d;
mod conv_group;
pub mod dense;
pub mod depthwise;
mod fixedpoint;
pub mod global_avg_pool;
pub mod logistic;
pub mod max_pool;
pub mod mean;
pub mod requantize;
pub mod softmax;

#[cfg(test)]
pub(crate) mod testutil;

use crate::quant_math::multiply_by_quantized_multiplier;
use crate::schema::ChannelQuant;

/// Height, width, channels of an NHWC tensor, as `usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Rows.
    pub h: usize,
    /// Columns.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl Dims {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.h * self.w * self.c
    }
}

/// Sliding-window geometry (see [`crate::Window`]), as `usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geom {
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Row stride.
    pub sh: usize,
    /// Column stride.
    pub sw: usize,
    /// Top padding.
    pub pad_top: usize,
    /// Left padding.
    pub pad_left: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
}

/// The taps of a window along one axis that fall inside `0..n`: returns `(k_lo, k_hi, first)`
/// where taps `k_lo..k_hi` are valid and tap `k_lo` reads input index `first`.
#[inline]
pub(crate) fn clip(o: usize, stride: usize, pad: usize, k: usize, n: usize) -> (usize, usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let lo = (-start).clamp(0, k as isize);
    let hi = (n as isize - start).clamp(lo, k as isize);
    (lo as usize, hi as usize, (start + lo).max(0) as usize)
}

/// Int8 value of a byte.
#[inline(always)]
pub(crate) fn q(b: u8) -> i32 {
    i32::from(b as i8)
}

/// `Σ w_i · (x_i − zp)` over equal-length byte slices.
///
/// Callers bound the length by the layer's tap count, so |sum| <= taps · 127 · 255 < 2^31.
/// `x − zp` fits i16 (|·| <= 255), so each term is a product of two sign-extended i16 values,
/// the shape LLVM lowers to `pmaddwd` on x86 and to `smlabb` (one 16×16 multiply-accumulate)
/// on the Cortex-M4. Not `smlad` (two per instruction): LLVM forms that only from pairs of
/// adjacent 16-bit loads (its ARMParallelDSP pass), never from int8 data, and the intrinsic
/// is unstable and `unsafe` (infer-core README, "Performance on Cortex-M4").
#[inline]
pub(crate) fn dot(w: &[u8], x: &[u8], zp: i32) -> i32 {
    let zp = zp as i16; // an int8 zero point
    w.iter().zip(x).map(|(&w, &x)| i32::from(i16::from(w as i8)) * i32::from(i16::from(x as i8) - zp)).sum()
}

/// Four dot products against the same `x` (each as [`dot`]); all slices have `x.len()`.
///
/// Not inlined: on its own the loop keeps its accumulators and pointers in registers (the
/// Cortex-M4 has 13); inlined into the conv's loop nest it spilled them to the stack.
#[inline(never)]
pub(crate) fn dot4(w: [&[u8]; 4], x: &[u8], zp: i32) -> [i32; 4] {
    dot4_body(w, x, zp)
}

/// Four whole filters against a window without padding, zero point 0: `Σ w_i · x_i` where
/// filter row `r` (`row_len` values at `r · row_len`) meets `x[r · x_step..][..row_len]`.
/// One call per window rather than per row: the conv takes the zero point out as `zp · Σ w`.
#[inline(never)]
pub(crate) fn dot4_rows(w: [&[u8]; 4], x: &[u8], rows: usize, row_len: usize, x_step: usize) -> [i32; 4] {
    let mut acc = [0i32; 4];
    let filter_rows = |j: usize| w[j].chunks_exact(row_len).take(rows);
    let steps =
        x.chunks(x_step).zip(filter_rows(0)).zip(filter_rows(1)).zip(filter_rows(2)).zip(filter_rows(3));
    for ((((x, a), b), c), d) in steps {
        let r = dot4_body([a, b, c, d], &x[..row_len], 0);
        for j in 0..4 {
            acc[j] += r[j];
        }
    }
    acc
}

/// The loop of [`dot4`]: on Arm two taps per step, which LLVM's Cortex-M unrolling turns into
/// the tightest loop measured (infer-core README, "Performance on Cortex-M4"); elsewhere one tap
/// per step, which x86 vectorizes. Both give the same exact sums (tested against each other).
#[inline(always)]
fn dot4_body(w: [&[u8]; 4], x: &[u8], zp: i32) -> [i32; 4] {
    #[cfg(target_arch = "arm")]
    return dot4_pairs(w, x, zp);
    #[cfg(not(target_arch = "arm"))]
    return dot4_single(w, x, zp);
}

/// One tap of four filters: `acc[j] += w_j · (x − zp)`.
#[inline(always)]
fn tap4(acc: &mut [i32; 4], x: u8, w: [u8; 4], zp: i16) {
    let xv = i32::from(i16::from(x as i8) - zp);
    for j in 0..4 {
        acc[j] += i32::from(w[j] as i8) * xv;
    }
}

#[cfg(any(target_arch = "arm", test))]
#[inline(always)]
fn dot4_pairs(w: [&[u8]; 4], x: &[u8], zp: i32) -> [i32; 4] {
    let (zp, n) = (zp as i16, x.len());
    let (w0, w1, w2, w3) = (&w[0][..n], &w[1][..n], &w[2][..n], &w[3][..n]);
    let mut acc = [0i32; 4];
    let steps = x.chunks_exact(2).zip(w0.chunks_exact(2)).zip(w1.chunks_exact(2));
    let steps = steps.zip(w2.chunks_exact(2)).zip(w3.chunks_exact(2));
    for ((((x, a), b), c), d) in steps {
        tap4(&mut acc, x[0], [a[0], b[0], c[0], d[0]], zp);
        tap4(&mut acc, x[1], [a[1], b[1], c[1], d[1]], zp);
    }
    if n % 2 == 1 {
        let i = n - 1;
        tap4(&mut acc, x[i], [w0[i], w1[i], w2[i], w3[i]], zp);
    }
    acc
}

#[cfg(any(not(target_arch = "arm"), test))]
#[inline(always)]
fn dot4_single(w: [&[u8]; 4], x: &[u8], zp: i32) -> [i32; 4] {
    let (zp, n) = (zp as i16, x.len());
    let (w0, w1, w2, w3) = (&w[0][..n], &w[1][..n], &w[2][..n], &w[3][..n]);
    let mut acc = [0i32; 4];
    for ((((&x, &a), &b), &c), &d) in x.iter().zip(w0).zip(w1).zip(w2).zip(w3) {
        tap4(&mut acc, x, [a, b, c, d], zp);
    }
    acc
}

/// Little-endian i32 at element `i` of a byte slice (0 past the end; validated lengths make
/// that unreachable).
#[inline]
pub(crate) fn le_i32(bytes: &[u8], i: usize) -> i32 {
    match bytes.get(4 * i..4 * i + 4) {
        Some(&[a, b, c, d]) => i32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// The output stage shared by conv, depthwise and dense: zero point and activation clamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputStage {
    /// Output zero point.
    pub zero_point: i32,
    /// Lower clamp.
    pub act_min: i32,
    /// Upper clamp.
    pub act_max: i32,
}

/// The kernels' side of the blob's per-channel data (validated lengths and bounds).
impl ChannelQuant<'_> {
    /// `acc + bias[c]`, requantized, offset and clamped, as an int8 byte.
    ///
    /// Validation proved `(|acc| + |bias|) · 2^max(shift, 0) + 128 < 2^31`, so neither the left
    /// shift nor the zero-point addition can overflow (requantization never grows magnitude).
    #[inline]
    pub(crate) fn finish(&self, c: usize, acc: i32, out: &OutputStage) -> u8 {
        let acc = acc + le_i32(self.bias, c);
        let shift = self.shift.get(c).map_or(0, |&s| i32::from(s as i8));
        let v = multiply_by_quantized_multiplier(acc, le_i32(self.multiplier, c), shift) + out.zero_point;
        v.clamp(out.act_min, out.act_max) as i8 as u8
    }
}

#[cfg(test)]
mod tests {
    use super::{clip, dot, dot4_pairs, dot4_single};
    use proptest::prelude::*;

    proptest! {
        /// Both loop shapes of `dot4` (Arm's and the others') against four plain `dot`s,
        /// odd lengths included.
        #[test]
        fn dot4_loops_agree(n in 0..40usize, seed in any::<u64>(), zp in any::<i8>()) {
            let byte = |i: u64| (seed.wrapping_mul(6364136223846793005).wrapping_add(i.wrapping_mul(1442695040888963407)) >> 56) as u8;
            let x: Vec<u8> = (0..n as u64).map(byte).collect();
            let w: Vec<Vec<u8>> = (1..=4u64).map(|j| (0..n as u64).map(|i| byte(i + 97 * j)).collect()).collect();
            let ws = [&w[0][..], &w[1][..], &w[2][..], &w[3][..]];
            let want = ws.map(|w| dot(w, &x, i32::from(zp)));
            prop_assert_eq!(dot4_pairs(ws, &x, i32::from(zp)), want);
            prop_assert_eq!(dot4_single(ws, &x, i32::from(zp)), want);
        }
    }

    #[test]
    fn clip_axis() {
        // k = 3, pad 1, n = 5: first output loses its top tap, last loses its bottom tap.
        assert_eq!(clip(0, 1, 1, 3, 5), (1, 3, 0));
        assert_eq!(clip(2, 1, 1, 3, 5), (0, 3, 1));
        assert_eq!(clip(4, 1, 1, 3, 5), (0, 2, 3));
        // A window entirely outside yields an empty range, never a wrapped index.
        let (lo, hi, _) = clip(9, 1, 0, 3, 5);
        assert_eq!(lo, hi);
    }
}
