//! Matched parameters, borrowed from the router (names) and the path (values).

use crate::convertor::Convertor;

/// How many parameters are stored inline before spilling to the heap.
const INLINE: usize = 4;

/// One matched parameter: its name, its raw text and the convertor that matched it.
#[derive(Debug, Clone, Copy)]
pub struct Param<'r, 'p> {
    /// The parameter name from the template.
    pub name: &'r str,
    /// The matched text, borrowed from the path (or host); not converted.
    pub value: &'p str,
    /// The convertor, so the caller can convert `value` (int, float, uuid, user type).
    pub convertor: &'r Convertor,
}

/// The parameters of a match, in template order; up to four need no allocation.
#[derive(Debug, Clone, Default)]
pub struct Params<'r, 'p> {
    inline: [Option<Param<'r, 'p>>; INLINE],
    len: usize,
    spill: Vec<Param<'r, 'p>>,
}

impl<'r, 'p> Params<'r, 'p> {
    /// No parameters.
    pub fn new() -> Self {
        Self {
            inline: [None; INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, param: Param<'r, 'p>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = Some(param),
            None => self.spill.push(param),
        }
        self.len += 1;
    }

    /// Replaces the last parameter (a mount's `path` becomes the remaining path).
    pub(crate) fn set_last(&mut self, param: Param<'r, 'p>) {
        if let Some(last) = self.spill.last_mut() {
            *last = param;
        } else if let Some(slot) = self.len.checked_sub(1).and_then(|i| self.inline.get_mut(i)) {
            *slot = Some(param);
        }
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw text of parameter `name`, if present.
    pub fn get(&self, name: &str) -> Option<&'p str> {
        self.iter().find(|p| p.name == name).map(|p| p.value)
    }

    /// The parameters in template order.
    pub fn iter(&self) -> impl Iterator<Item = Param<'r, 'p>> + '_ {
        self.inline
            .iter()
            .flatten()
            .chain(self.spill.iter())
            .copied()
    }
}
