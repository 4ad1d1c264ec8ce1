//! Row-streamed runs: the first layers of a model run one output row at a time, so their
//! full-resolution tensors never exist (the idea of MCUNetV2's patch-based inference, along
//! rows and without recomputation).
//!
//! Each streamed step keeps a small buffer of its latest output rows; a row is computed as soon
//! as its input rows exist (the deepest layer that can progress goes first, which keeps every
//! buffer at about its reader's window height) and rows no reader needs any more are dropped.
//! Each row is the unchanged kernel run on a band (`crate::rows`), so a streamed run produces
//! the same bytes as the layer-by-layer one.
//!
//! Streaming stops at a layer that needs its whole input (global average pool, dense) or where
//! it would not save memory: the loader tries every boundary `end` at which no residual slot is
//! open, simulating the schedule on row counts alone, and keeps the one with the smallest
//! arena. Arena of a streamed run: `[ last streamed tensor | model input | row buffers … ]`,
//! then the remaining layers reuse it as `[ ping-pong | slots … ]` with that tensor at 0.

use core::ops::Range;

use crate::error::Error;
use crate::ops::{add, avg_pool, conv2d, depthwise, max_pool, requantize, Dims};
use crate::plan::{Region, RegionBuilder, Step, INPUT};
use crate::prepare::{Kernel, MAX_SLOTS};
use crate::rows::{band, reads, streamable};

/// `RowBuf::readers` entry for "no reader".
const NO_READER: u16 = u16::MAX;

/// A streamed step's progress: rows `lo..hi` of its output are in its buffer, and `most` is the
/// most rows it has held (what the simulation measures).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cursor {
    lo: u16,
    hi: u16,
    most: u16,
}

/// The streamed part of a model's arena layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Streamed {
    /// Steps `0..end` run row by row (0: nothing is streamed), the rest layer by layer.
    pub end: usize,
    /// The step whose output the remaining layers start from (kept whole, at offset 0).
    pub last: u16,
    /// Where the model input lies in the arena.
    pub input_offset: usize,
    /// The remaining layers' arena (first tensor at 0).
    pub rest: Region,
    /// Bytes of arena a streamed run needs.
    pub arena_len: usize,
}

impl Streamed {
    /// Nothing streamed, in `whole`: the layout of a model that does not stream.
    pub const fn none(whole: Region) -> Streamed {
        Streamed { end: 0, last: INPUT, input_offset: 0, rest: whole, arena_len: whole.arena_len }
    }
}

/// What the schedule asks for: drop a step's rows below `keep`, or compute its row `row`.
enum Event {
    Drop { step: usize, keep: usize },
    Row { step: usize, row: usize },
}

/// The data flow of steps `0..end`.
struct Flow<'s, 'a> {
    steps: &'s [Step<'a>],
    end: usize,
    last: usize,
    input: Dims,
}

impl Flow<'_, '_> {
    fn in_h(&self, j: usize) -> usize {
        match self.steps[j].src {
            INPUT => self.input.h,
            s => self.steps[usize::from(s)].out.h,
        }
    }

    /// Input rows step `j` reads for its output row `o`.
    fn reads(&self, j: usize, o: usize) -> (usize, usize) {
        reads(&self.steps[j].kernel, self.in_h(j), o)
    }

    /// Rows of tensor `t` computed so far.
    fn available(&self, cur: &[Cursor], t: u16) -> usize {
        match t {
            INPUT => self.input.h,
            t => usize::from(cur[usize::from(t)].hi),
        }
    }

    fn ready(&self, cur: &[Cursor], j: usize) -> bool {
        let s = &self.steps[j];
        let o = usize::from(cur[j].hi);
        if matches!(s.kernel, Kernel::Save { .. }) || o >= s.out.h {
            return false;
        }
        let add_ready = !matches!(s.kernel, Kernel::Add { .. }) || self.available(cur, s.src2) > o;
        add_ready && self.available(cur, s.src) >= self.reads(j, o).1
    }

    /// The first row of step `t`'s output that a reader still needs.
    fn keep(&self, cur: &[Cursor], t: usize) -> usize {
        if t == self.last {
            return 0;
        }
        let mut keep = usize::from(cur[t].hi);
        for &r in self.steps[t].rows.readers.iter().filter(|&&r| usize::from(r) < self.end) {
            let (r, o) = (usize::from(r), usize::from(cur[usize::from(r)].hi));
            if o < self.steps[r].out.h {
                let first = if usize::from(self.steps[r].src) == t { self.reads(r, o).0 } else { o };
                keep = keep.min(first);
            }
        }
        keep
    }

    /// Run the schedule to the end, telling `on` each drop and row before the cursors move.
    /// False if some step could not finish (never for a loaded model).
    fn schedule(&self, cur: &mut [Cursor], mut on: impl FnMut(Event, &[Cursor])) -> bool {
        cur[..self.end].fill(Cursor::default());
        // No step at or above `top` is ready. A new row of step j can only make j's readers
        // ready, so after it the search resumes at the deepest ready reader, or at j.
        let mut top = self.end;
        while let Some(j) = (0..top).rev().find(|&j| self.ready(cur, j)) {
            let keep = self.keep(cur, j);
            if keep > usize::from(cur[j].lo) {
                on(Event::Drop { step: j, keep }, cur);
                cur[j].lo = keep as u16; // keep <= hi <= out.h <= u16::MAX
            }
            on(Event::Row { step: j, row: usize::from(cur[j].hi) }, cur);
            let c = &mut cur[j];
            c.hi += 1;
            c.most = c.most.max(c.hi - c.lo);
            let readers = self.steps[j].rows.readers.iter().map(|&r| usize::from(r));
            let ready = readers.filter(|&r| r < self.end && self.ready(cur, r)).max();
            top = ready.unwrap_or(j) + 1;
        }
        (0..self.end).all(|j| matches!(self.steps[j].kernel, Kernel::Save { .. }) || usize::from(cur[j].hi) == self.steps[j].out.h)
    }

    /// Arena range of rows `r0..r1` of tensor `t` (the model input at `input_offset`).
    fn rows(&self, cur: &[Cursor], t: u16, r0: usize, r1: usize, input_offset: usize) -> Range<usize> {
        let (offset, row, lo) = match t {
            INPUT => (input_offset, self.input.w * self.input.c, 0),
            t => {
                let s = &self.steps[usize::from(t)];
                (s.rows.offset as usize, s.out.w * s.out.c, usize::from(cur[usize::from(t)].lo))
            }
        };
        offset + (r0 - lo) * row..offset + (r1 - lo) * row
    }
}

/// Link each step to the steps reading its output; returns the first step that would be a
/// third reader of some tensor (streaming must stop before it), or `steps.len()`.
fn link_readers(steps: &mut [Step<'_>]) -> usize {
    for s in steps.iter_mut() {
        s.rows.readers = [NO_READER; 2];
    }
    for j in 0..steps.len() {
        let s = steps[j];
        let reads_src = !matches!(s.kernel, Kernel::Save { .. });
        let reads_src2 = matches!(s.kernel, Kernel::Add { .. });
        for (t, reads) in [(s.src, reads_src), (s.src2, reads_src2)] {
            if !reads || t == INPUT {
                continue;
            }
            let readers = &mut steps[usize::from(t)].rows.readers;
            match readers.iter_mut().find(|r| **r == NO_READER) {
                Some(free) => *free = j as u16,
                None => return j,
            }
        }
    }
    steps.len()
}

/// Streaming steps `0..end`, handing the output of step `last` on: the arena it needs, with
/// the row buffers' capacities and offsets written into the steps when `write` is set.
fn layout(
    steps: &mut [Step<'_>],
    input: Dims,
    (end, last): (usize, usize),
    cur: &mut [Cursor],
    write: bool,
) -> Result<Option<Streamed>, Error> {
    let flow = Flow { steps, end, last, input };
    if !flow.schedule(cur, |_, _| {}) {
        return Ok(None);
    }
    let first_len = steps[last].out.len();
    let mut offset = first_len + input.len();
    for j in 0..end {
        let s = &mut steps[j];
        if j == last || matches!(s.kernel, Kernel::Save { .. }) {
            continue;
        }
        if write {
            s.rows.offset = offset as u32; // offset <= arena length <= 2^31
            s.rows.capacity = cur[j].most;
        }
        offset += usize::from(cur[j].most) * s.out.w * s.out.c;
    }
    if write {
        steps[last].rows.offset = 0;
        steps[last].rows.capacity = steps[last].out.h as u16;
    }
    let mut rest = RegionBuilder::new(first_len);
    for s in &steps[end..] {
        rest.add(&s.kernel, s.in_len, s.out_len);
    }
    let rest = rest.finish()?;
    let arena_len = offset.max(rest.arena_len);
    Ok(Some(Streamed { end, last: last as u16, input_offset: first_len, rest, arena_len }))
}

/// Choose where streaming stops (the boundary with the smallest arena; none if streaming does
/// not save memory) and lay out its row buffers. `whole` is the arena without streaming;
/// `cur` has room for every step.
pub(crate) fn plan(steps: &mut [Step<'_>], input: Dims, whole: &Region, cur: &mut [Cursor]) -> Result<Streamed, Error> {
    let mut best = Streamed::none(*whole);
    let limit = link_readers(steps);
    let mut open = [false; MAX_SLOTS];
    let mut last = INPUT;
    for end in 1..=limit {
        let s = steps[end - 1];
        if !streamable(&s.kernel) {
            break;
        }
        match s.kernel {
            Kernel::Save { slot } => open[slot] = true,
            Kernel::Add { slot, .. } => {
                open[slot] = false;
                last = (end - 1) as u16;
            }
            _ => last = (end - 1) as u16,
        }
        if open.iter().any(|&o| o) || last == INPUT {
            continue;
        }
        if let Some(s) = layout(steps, input, (end, usize::from(last)), cur, false)? {
            if s.arena_len < best.arena_len {
                best = s;
            }
        }
    }
    if best.end > 0 {
        layout(steps, input, (best.end, usize::from(best.last)), cur, true)?;
    }
    Ok(best)
}

/// Run steps `0..s.end` row by row; the model input must be at `s.input_offset`. Afterwards
/// the output of step `s.last` is whole at the start of `arena`.
pub(crate) fn run(steps: &[Step<'_>], s: &Streamed, input: Dims, arena: &mut [u8], cur: &mut [Cursor]) {
    let flow = Flow { steps, end: s.end, last: usize::from(s.last), input };
    flow.schedule(cur, |event, cur| match event {
        Event::Drop { step, keep } => {
            let (c, b) = (cur[step], &steps[step]);
            let (offset, row) = (b.rows.offset as usize, b.out.w * b.out.c);
            let (lo, hi) = (usize::from(c.lo), usize::from(c.hi));
            arena.copy_within(offset + (keep - lo) * row..offset + (hi - lo) * row, offset);
        }
        Event::Row { step, row } => compute_row(&flow, cur, arena, s.input_offset, (step, row)),
    });
}

/// Compute row `o` of step `j` into its buffer.
fn compute_row(flow: &Flow<'_, '_>, cur: &[Cursor], arena: &mut [u8], input_offset: usize, (j, o): (usize, usize)) {
    let s = &flow.steps[j];
    let Some((kernel, i0, i1)) = band(&s.kernel, flow.in_h(j), o, o + 1) else { return };
    let src = flow.rows(cur, s.src, i0, i1, input_offset);
    let dst = flow.rows(cur, j as u16, o, o + 1, input_offset);
    // Buffers never overlap, so the output row can be split off the arena.
    let (before, rest) = arena.split_at_mut(dst.start);
    let (out, after) = rest.split_at_mut(dst.end - dst.start);
    let read = |r: Range<usize>| -> &[u8] {
        if r.end <= dst.start {
            &before[r]
        } else {
            &after[r.start - dst.end..r.end - dst.end]
        }
    };
    let x = read(src);
    match kernel {
        Kernel::Conv2d(p) => conv2d::conv2d(&p, x, out),
        Kernel::Depthwise(p) => depthwise::depthwise(&p, x, out),
        Kernel::MaxPool { input, geom } => max_pool::max_pool(&input, &geom, x, out),
        Kernel::AvgPool { input, geom, act_min, act_max } => {
            avg_pool::avg_pool(&input, &geom, (act_min, act_max), x, out)
        }
        Kernel::Add { params, .. } => add::add(&params, x, read(flow.rows(cur, s.src2, o, o + 1, input_offset)), out),
        Kernel::Requantize(p) => requantize::requantize(&p, x, out),
        Kernel::GlobalAvgPool { .. } | Kernel::Dense(_) | Kernel::Save { .. } => {}
        Kernel::Mean(_) | Kernel::Softmax(_) | Kernel::Logistic { .. } => {}
    }
}
