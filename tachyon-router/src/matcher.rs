//! Matching one template against one path or host, with Python `re.match` semantics.
//!
//! Three matchers, all full-match with Python's `$` (which also matches before one final
//! "\n"): segment walking for tree-shaped templates, a backtracking matcher for the other
//! built-in shapes, and the template's regex when it uses a user convertor.

use crate::convertor::{Candidates, Convertor, segment_matches};
use crate::params::Params;
use crate::template::{Piece, Seg, Template};
use crate::tree::split_segment;

/// Python's `$`: the end, or just before one final "\n".
#[inline]
pub(crate) fn at_end(text: &str, pos: usize) -> bool {
    pos == text.len() || (pos + 1 == text.len() && text.as_bytes().get(pos) == Some(&b'\n'))
}

/// Matches a tree-shaped template against the whole of `path` (no trailing-"\n" leeway:
/// the caller tries `path` without its final "\n" separately). Pushes the params.
pub(crate) fn match_segs<'r, 'p>(
    t: &'r Template,
    segs: &'r [Seg],
    path: &'p str,
    out: &mut Params<'r, 'p>,
) -> bool {
    let Some(mut rest) = path.strip_prefix('/') else {
        return false;
    };
    for (k, seg) in segs.iter().enumerate() {
        let (segment, after) = split_segment(rest);
        match seg {
            Seg::Static(s) => {
                if **s != *segment {
                    return false;
                }
            }
            Seg::Param(i) => {
                if !segment_matches(t.param(*i).1, segment.as_bytes()) {
                    return false;
                }
                out.push(segment);
            }
            Seg::Tail => {
                if rest.contains('\n') {
                    return false;
                }
                out.push(rest);
                return true;
            }
        }
        let last = k + 1 == segs.len();
        match (last, after) {
            (true, None) => return true,
            (false, Some(a)) => rest = a,
            _ => return false,
        }
    }
    false
}

/// Matches any template against `text` exactly as `re.match(regex, text)` would.
/// `ci` compares literal text case-insensitively (host templates).
pub(crate) fn match_full<'r, 'p>(
    t: &'r Template,
    text: &'p str,
    ci: bool,
    out: &mut Params<'r, 'p>,
) -> bool {
    if let Some(re) = &t.regex {
        return match_regex(t, re, text, out);
    }
    backtrack(t, text, ci, out)
}

fn match_regex<'r, 'p>(
    t: &'r Template,
    re: &regex::Regex,
    text: &'p str,
    out: &mut Params<'r, 'p>,
) -> bool {
    let Some(caps) = re.captures(text) else {
        return false;
    };
    for i in 0..t.param_count() {
        let group = crate::template::group_name(i);
        // Every parameter group is mandatory, so it always took part in the match.
        let value = caps.name(&group).map_or("", |m| m.as_str());
        out.push(value);
    }
    true
}

/// Above this input length, templates with several variable-length params use a regex.
const GUARD_LEN: usize = 256;

#[derive(Debug)]
struct Frame {
    piece: usize,
    start: usize,
    end: usize,
    cands: Option<Candidates>,
}

/// Failures already seen at (piece, position): keeps backtracking polynomial.
struct Memo {
    bits: Vec<u64>,
    width: usize,
}

impl Memo {
    fn index(&self, piece: usize, pos: usize) -> usize {
        piece * self.width + pos
    }
    fn get(&self, piece: usize, pos: usize) -> bool {
        let i = self.index(piece, pos);
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn set(&mut self, piece: usize, pos: usize) {
        let i = self.index(piece, pos);
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
}

/// A backtracking matcher over the template's pieces, trying candidates in the order
/// Python's engine does (greedy: longest first), so the first success has its captures.
fn backtrack<'r, 'p>(t: &'r Template, text: &'p str, ci: bool, out: &mut Params<'r, 'p>) -> bool {
    let pieces = &t.pieces;
    let variable = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Param(i) if !matches!(t.param(*i).1, Convertor::Uuid)))
        .count();
    // With one variable-length piece there is nothing to memoize.
    if variable >= 2 && text.len() > GUARD_LEN {
        // Memoized backtracking is still O(pieces * len^2) here; the regex crate gives
        // the same leftmost-first captures in linear time, so hostile inputs go there.
        if let Some(re) = t.guard_regex() {
            return match_regex(t, re, text, out);
        }
    }
    let mut memo = (variable >= 2).then(|| {
        let width = text.len() + 1;
        Memo {
            bits: vec![0; (pieces.len() * width).div_ceil(64)],
            width,
        }
    });
    let mut stack: Vec<Frame> = Vec::with_capacity(pieces.len());
    let (mut piece, mut pos) = (0usize, 0usize);
    loop {
        // Try to advance from (piece, pos).
        let advanced = if piece == pieces.len() {
            if at_end(text, pos) {
                break;
            }
            None
        } else if memo.as_ref().is_some_and(|m| m.get(piece, pos)) {
            None
        } else {
            let frame = match &pieces[piece] {
                Piece::Literal(lit) => literal_end(text, pos, lit, ci).map(|end| Frame {
                    piece,
                    start: pos,
                    end,
                    cands: None,
                }),
                Piece::Param(i) => {
                    let mut cands = Candidates::new(t.param(*i).1, text, pos);
                    cands.next(text).map(|end| Frame {
                        piece,
                        start: pos,
                        end,
                        cands: Some(cands),
                    })
                }
            };
            if frame.is_none() {
                if let Some(m) = memo.as_mut() {
                    m.set(piece, pos);
                }
            }
            frame
        };
        if let Some(frame) = advanced {
            piece += 1;
            pos = frame.end;
            stack.push(frame);
            continue;
        }
        // Backtrack to the latest frame with another candidate.
        loop {
            let Some(top) = stack.last_mut() else {
                return false;
            };
            if let Some(end) = top.cands.as_mut().and_then(|c| c.next(text)) {
                top.end = end;
                piece = top.piece + 1;
                pos = end;
                break;
            }
            if let Some(m) = memo.as_mut() {
                m.set(top.piece, top.start);
            }
            stack.pop();
        }
    }
    for frame in &stack {
        if let Piece::Param(_) = pieces[frame.piece] {
            out.push(text.get(frame.start..frame.end).unwrap_or(""));
        }
    }
    true
}

/// Where literal `lit` ends if it matches `text` at `pos`.
fn literal_end(text: &str, pos: usize, lit: &str, ci: bool) -> Option<usize> {
    let rest = text.get(pos..)?;
    if !ci {
        return rest.starts_with(lit).then_some(pos + lit.len());
    }
    let mut chars = rest.char_indices();
    for lc in lit.chars() {
        let (_, tc) = chars.next()?;
        if !eq_ignore_case(lc, tc) {
            return None;
        }
    }
    Some(pos + chars.next().map_or(rest.len(), |(i, _)| i))
}

/// Python `re.IGNORECASE` for one pair of chars (simple lowercase comparison).
fn eq_ignore_case(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}
