//! The prefix tree over path segments that finds the lowest-index matching route.
//!
//! Edges are whole segments: static text (looked up in a map), or a typed parameter
//! (`str`, `int`, `float`, `uuid`) checked by a scanner. Every node knows the lowest route
//! index beneath it, so the search skips any subtree that cannot beat the best match found
//! so far: the answer is the first route in declaration order, not the most specific.

use crate::convertor::{Convertor, segment_matches};
use crate::table::{Key, StrTable, word};
use crate::template::Seg;

/// Route indexes are stored as `u32`; `NONE` means "no route".
pub(crate) const NONE: u32 = u32::MAX;

/// How a route relates to the request, as Starlette's `Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// No match (wrong path, or a route kind that ignores this scope).
    None,
    /// The path matches but the method does not.
    Partial,
    /// A full match.
    Full,
}

/// The best FULL and PARTIAL route indexes found so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Best {
    pub(crate) full: u32,
    pub(crate) partial: u32,
}

impl Best {
    pub(crate) const EMPTY: Self = Self {
        full: NONE,
        partial: NONE,
    };

    #[inline]
    fn record(&mut self, route: u32, class: Class) {
        match class {
            Class::Full => self.full = route,
            Class::Partial => self.partial = self.partial.min(route),
            Class::None => {}
        }
    }
}

/// One segment of a searched path, scanned once: its text with its first 8 bytes (for the
/// static edges), and what follows the `/` that ends it, if one does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment<'p> {
    pub(crate) key: Key<'p>,
    pub(crate) after: Option<&'p [u8]>,
}

/// Scans `rest` up to its first `/`. The search works on bytes: a `/` is always a char
/// boundary, so only the winner's values are sliced back into `str` (callgrind: the
/// boundary checks of slicing each segment as `str` cost about 70 instructions a lookup).
#[inline]
pub(crate) fn scan_segment(rest: &[u8]) -> Segment<'_> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let b = rest;
    let (end, prefix) = match b.get(..8) {
        // Eight bytes at once: most segments end within the first word.
        Some(head) => {
            let w = word(head);
            // Bytes equal to `/` become zero; the lowest flagged byte is the first zero
            // (a borrow can only flag bytes above a real zero).
            let x = w ^ (ONES * u64::from(b'/'));
            let zeros = x.wrapping_sub(ONES) & !x & (ONES << 7);
            if zeros == 0 {
                let more = b[8..].iter().position(|&c| c == b'/');
                (more.map_or(b.len(), |i| i + 8), w)
            } else {
                let i = zeros.trailing_zeros() / 8;
                (i as usize, w & ((1u64 << (8 * i)) - 1))
            }
        }
        None => {
            let end = b.iter().position(|&c| c == b'/').unwrap_or(b.len());
            let prefix = b[..end]
                .iter()
                .rev()
                .fold(0u64, |acc, &c| (acc << 8) | u64::from(c));
            (end, prefix)
        }
    };
    let (text, after) = match (rest.get(..end), rest.get(end + 1..)) {
        (Some(text), after) => (text, after),
        (None, _) => (rest, None),
    };
    Segment {
        key: Key { text, prefix },
        after,
    }
}

/// Splits `rest` at its first `/`: the segment, and what follows the `/` if there is one.
#[inline]
pub(crate) fn split_segment(rest: &str) -> (&str, Option<&str>) {
    let s = scan_segment(rest.as_bytes());
    // The segment ends at a `/` or at the end, both char boundaries.
    let end = s.key.text.len();
    match (rest.get(..end), s.after.and_then(|_| rest.get(end + 1..))) {
        (Some(text), after) => (text, after),
        (None, _) => (rest, None),
    }
}

/// Up to this many static children are scanned linearly; more go in a hash map.
const LINEAR: usize = 8;

/// A static edge in a small node: first 8 bytes and length inline, so a scan over the
/// edges touches no key text unless one of them really is a candidate.
#[derive(Debug)]
struct FewKey {
    prefix: u64,
    key: Box<str>,
    node: u32,
}

#[derive(Debug, Default)]
enum Statics {
    #[default]
    Empty,
    Few(Vec<FewKey>),
    Many(StrTable<u32>),
}

impl Statics {
    #[inline(always)]
    fn get(&self, seg: &Key<'_>) -> Option<u32> {
        match self {
            Self::Empty => None,
            Self::Few(v) => v
                .iter()
                .find(|k| {
                    seg.same(&Key {
                        text: k.key.as_bytes(),
                        prefix: k.prefix,
                    })
                })
                .map(|k| k.node),
            Self::Many(t) => t.get_key(seg).copied(),
        }
    }

    fn insert(&mut self, seg: &str, node: u32) {
        let key = FewKey {
            prefix: Key::new(seg.as_bytes()).prefix,
            key: seg.into(),
            node,
        };
        match self {
            Self::Empty => *self = Self::Few(vec![key]),
            Self::Few(v) if v.len() < LINEAR => v.push(key),
            Self::Few(v) => {
                let mut t = StrTable::default();
                for k in v.drain(..) {
                    *t.get_or_insert_with(&k.key, || k.node) = k.node;
                }
                *t.get_or_insert_with(seg, || node) = node;
                *self = Self::Many(t);
            }
            Self::Many(t) => {
                *t.get_or_insert_with(seg, || node) = node;
            }
        }
    }
}

/// A parameter edge kind: the built-in convertors that fit in one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamKind {
    Str,
    Int,
    Float,
    Uuid,
}

impl ParamKind {
    fn of(conv: &Convertor) -> Option<Self> {
        match conv {
            Convertor::Str => Some(Self::Str),
            Convertor::Int => Some(Self::Int),
            Convertor::Float => Some(Self::Float),
            Convertor::Uuid => Some(Self::Uuid),
            _ => None,
        }
    }

    #[inline]
    fn matches(self, seg: &[u8]) -> bool {
        let conv = match self {
            Self::Str => return !seg.is_empty(),
            Self::Int => &Convertor::Int,
            Self::Float => &Convertor::Float,
            Self::Uuid => &Convertor::Uuid,
        };
        segment_matches(conv, seg)
    }
}

#[derive(Debug)]
struct Node {
    /// The lowest route index in this subtree.
    min: u32,
    statics: Statics,
    /// Parameter edges, in creation order, which is also ascending `min` order: routes
    /// arrive in index order, so an edge's `min` is fixed when it is created.
    params: Vec<(ParamKind, u32)>,
    /// Routes that end exactly at this node, ascending.
    ends: Vec<u32>,
    /// The rarer routes hanging here: one test per node when there are none.
    extra: Option<Box<Extra>>,
}

/// Routes hanging at a node that most nodes have none of.
#[derive(Debug, Default)]
struct Extra {
    /// Routes whose last segment is `{x:path}`, ascending.
    tails: Vec<u32>,
    /// Routes with other shapes whose static prefix ends here, ascending.
    complex: Vec<u32>,
}

impl Node {
    fn new() -> Self {
        Self {
            min: NONE,
            statics: Statics::Empty,
            params: Vec::new(),
            ends: Vec::new(),
            extra: None,
        }
    }
}

/// The prefix tree of one router's path routes.
#[derive(Debug)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
}

impl Default for Tree {
    fn default() -> Self {
        Self {
            nodes: vec![Node::new()],
        }
    }
}

impl Tree {
    /// Adds a tree-shaped route. Indexes must be inserted in increasing order.
    pub(crate) fn insert(
        &mut self,
        route: u32,
        segs: &[Seg],
        convertor: impl Fn(usize) -> Convertor,
    ) {
        let mut node = 0u32;
        self.lower_min(node, route);
        for (k, seg) in segs.iter().enumerate() {
            node = match seg {
                Seg::Static(text) => self.static_child(node, text),
                Seg::Param(i) => {
                    // `Seg::Param` only holds segment-sized built-ins; `str` is the fallback.
                    let kind = ParamKind::of(&convertor(*i)).unwrap_or(ParamKind::Str);
                    let found = self.nodes[node as usize]
                        .params
                        .iter()
                        .find(|(k, _)| *k == kind)
                        .map(|(_, c)| *c);
                    match found {
                        Some(child) => child,
                        None => {
                            let child = self.push_node();
                            self.nodes[node as usize].params.push((kind, child));
                            child
                        }
                    }
                }
                Seg::Tail => {
                    self.extra(node).tails.push(route);
                    debug_assert_eq!(k + 1, segs.len());
                    return;
                }
            };
            self.lower_min(node, route);
        }
        self.nodes[node as usize].ends.push(route);
    }

    /// Adds a route of another shape under its leading static segments.
    pub(crate) fn insert_complex(&mut self, route: u32, static_prefix: &[&str]) {
        let mut node = 0u32;
        self.lower_min(node, route);
        for text in static_prefix {
            node = self.static_child(node, text);
            self.lower_min(node, route);
        }
        self.extra(node).complex.push(route);
    }

    /// The child of `node` for the static segment `text`, created if missing.
    fn static_child(&mut self, node: u32, text: &str) -> u32 {
        if let Some(child) = self.nodes[node as usize]
            .statics
            .get(&Key::new(text.as_bytes()))
        {
            return child;
        }
        let child = self.push_node();
        self.nodes[node as usize].statics.insert(text, child);
        child
    }

    fn push_node(&mut self) -> u32 {
        self.nodes.push(Node::new());
        // The node count is bounded by the routes' segment count, far below u32::MAX.
        u32::try_from(self.nodes.len() - 1).unwrap_or(NONE)
    }

    fn extra(&mut self, node: u32) -> &mut Extra {
        self.nodes[node as usize].extra.get_or_insert_default()
    }

    fn lower_min(&mut self, node: u32, route: u32) {
        let n = &mut self.nodes[node as usize];
        n.min = n.min.min(route);
    }

    /// Finds the lowest FULL (and lowest PARTIAL) route matching `path`.
    ///
    /// `classify` says how a route whose path matched relates to the scope; `complex`
    /// runs the full matcher of a route the tree only narrowed down. With
    /// `with_complex == false` complex routes are skipped. Each new FULL winner sets
    /// `winner` to its parameter values when the tree itself matched it, to `None` for a
    /// complex route. The caller owns `winner` so that the values are written once, where
    /// they are read (perf: moving them out in a return value, then into another enum,
    /// stalled on store forwarding, a tenth of a parameter lookup).
    #[inline]
    pub(crate) fn search<C, X>(
        &self,
        path: &str,
        with_complex: bool,
        best: &mut Best,
        classify: &mut C,
        complex: &mut X,
        winner: &mut Option<Caps>,
    ) where
        C: FnMut(u32) -> Class,
        X: FnMut(u32) -> Class,
    {
        let Some(rest) = path.as_bytes().strip_prefix(b"/") else {
            return;
        };
        let mut search = Search {
            tree: self,
            base: path.as_ptr() as usize,
            with_complex,
            best,
            classify,
            complex,
            caps: Caps::EMPTY,
            winner,
        };
        search.visit(0, rest);
    }
}

/// Parameter values along the current tree path (the segments that took parameter edges),
/// as byte spans of the searched path: small, so copying the winner's costs little.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    spans: [(u32, u32); CAPS],
    len: usize,
}

/// Parameter values tracked during a search; deeper winners are re-matched instead.
const CAPS: usize = 6;

impl Caps {
    const EMPTY: Self = Self {
        spans: [(0, 0); CAPS],
        len: 0,
    };

    /// The number of values, or `None` if there were more than fit.
    pub(crate) fn count(&self) -> Option<usize> {
        (self.len <= CAPS).then_some(self.len)
    }

    /// The values, sliced from the path that was searched.
    pub(crate) fn values<'p>(&self, path: &'p str) -> impl Iterator<Item = &'p str> + use<'_, 'p> {
        let spans = self.spans.get(..self.len).unwrap_or(&[]);
        spans
            .iter()
            .map(move |&(a, b)| path.get(a as usize..b as usize).unwrap_or(""))
    }

    #[inline]
    fn push(&mut self, base: usize, v: &[u8]) {
        let start = (v.as_ptr() as usize).wrapping_sub(base);
        match (u32::try_from(start), u32::try_from(start + v.len())) {
            (Ok(a), Ok(b)) => {
                if let Some(slot) = self.spans.get_mut(self.len) {
                    *slot = (a, b);
                }
                self.len += 1;
            }
            // Beyond 4 GiB: give up on keeping values; the winner is re-matched.
            _ => self.len = CAPS + 1,
        }
    }
}

struct Search<'t, 'b, C, X> {
    tree: &'t Tree,
    /// The address of the searched path, for spans.
    base: usize,
    with_complex: bool,
    best: &'b mut Best,
    classify: &'b mut C,
    complex: &'b mut X,
    caps: Caps,
    winner: &'b mut Option<Caps>,
}

impl<C, X> Search<'_, '_, C, X>
where
    C: FnMut(u32) -> Class,
    X: FnMut(u32) -> Class,
{
    /// Records route `r` found by the tree itself, with `caps` as its values.
    #[inline]
    fn found(&mut self, r: u32, caps: Caps) {
        let class = (self.classify)(r);
        if class == Class::Full {
            *self.winner = Some(caps);
        }
        self.best.record(r, class);
    }

    /// Searches the subtree of `node` against `rest` (the path after the node's segments).
    fn visit(&mut self, node: u32, rest: &[u8]) {
        // Values pushed by edges followed in the loop below are dropped on the way out.
        let saved = self.caps.len;
        self.walk(node, rest);
        self.caps.len = saved;
    }

    /// The body of `visit`: a node whose only way on is one edge continues in this loop
    /// instead of recursing (callgrind: recursion and its frame were a third of a lookup's
    /// instructions on single-path routes like `/api/v998/items/42/detail`).
    #[inline]
    fn walk(&mut self, mut node: u32, mut rest: &[u8]) {
        let tree = self.tree;
        loop {
            let n = &tree.nodes[node as usize];
            if n.min >= self.best.full {
                return;
            }
            if let Some(extra) = &n.extra {
                if self.with_complex {
                    self.complex_at(extra);
                }
                self.tails_at(extra, rest);
            }
            let Segment { key, after } = scan_segment(rest);
            let seg = key.text;
            let child = n.statics.get(&key);
            // A single way on: follow it here.
            let next = match (child, n.params.as_slice()) {
                (Some(child), []) => Some(child),
                (None, [(kind, child)]) if kind.matches(seg) => {
                    self.caps.push(self.base, seg);
                    Some(*child)
                }
                (None, [_] | []) => return,
                _ => None,
            };
            if let Some(child) = next {
                match after {
                    Some(a) => {
                        (node, rest) = (child, a);
                        continue;
                    }
                    None => return self.ends_at(child),
                }
            }
            if let Some(child) = child {
                self.step(child, after);
            }
            for &(kind, child) in &n.params {
                if tree.nodes[child as usize].min >= self.best.full {
                    continue;
                }
                if kind.matches(seg) {
                    let saved = self.caps.len;
                    self.caps.push(self.base, seg);
                    self.step(child, after);
                    self.caps.len = saved;
                }
            }
            return;
        }
    }

    /// Runs the full matcher of the complex routes hanging at `n`.
    #[inline(never)]
    fn complex_at(&mut self, extra: &Extra) {
        for &r in &extra.complex {
            if r >= self.best.full {
                break;
            }
            let class = (self.complex)(r);
            if class == Class::Full {
                *self.winner = None;
            }
            self.best.record(r, class);
        }
    }

    /// Records the `{x:path}` routes hanging at `n`, whose value is all of `rest`.
    #[inline(never)]
    fn tails_at(&mut self, extra: &Extra, rest: &[u8]) {
        if extra.tails.is_empty() || rest.contains(&b'\n') {
            return;
        }
        let mut caps = self.caps;
        caps.push(self.base, rest);
        for &r in &extra.tails {
            if r >= self.best.full {
                break;
            }
            self.found(r, caps);
        }
    }

    /// Records the routes ending at `node`, the path being used up.
    #[inline]
    fn ends_at(&mut self, node: u32) {
        let tree = self.tree;
        for &r in &tree.nodes[node as usize].ends {
            if r >= self.best.full {
                break;
            }
            self.found(r, self.caps);
        }
    }

    #[inline]
    fn step(&mut self, child: u32, after: Option<&[u8]>) {
        match after {
            Some(rest) => self.visit(child, rest),
            None => self.ends_at(child),
        }
    }
}
