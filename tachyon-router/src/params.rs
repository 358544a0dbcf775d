//! Matched parameters, borrowed from the router (names) and the path (values).

use crate::convertor::Convertor;
use crate::template::Template;

/// How many values are stored inline before spilling to the heap.
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
///
/// Only the values are stored (names and convertors come from the template), which keeps
/// a lookup result small enough to return by value cheaply.
#[derive(Debug, Clone, Default)]
pub struct Params<'r, 'p> {
    template: Option<&'r Template>,
    inline: [&'p str; INLINE],
    len: usize,
    spill: Vec<&'p str>,
}

impl<'r, 'p> Params<'r, 'p> {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty, for values of `template`'s parameters pushed in template order.
    pub(crate) fn of(template: &'r Template) -> Self {
        Self {
            template: Some(template),
            ..Self::default()
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, value: &'p str) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = value,
            None => self.spill.push(value),
        }
        self.len += 1;
    }

    /// Replaces the last value (a mount's `path` becomes the remaining path).
    pub(crate) fn set_last(&mut self, value: &'p str) {
        if let Some(last) = self.spill.last_mut() {
            *last = value;
        } else if let Some(slot) = self.len.checked_sub(1).and_then(|i| self.inline.get_mut(i)) {
            *slot = value;
        }
    }

    /// The last value, if any.
    pub(crate) fn last(&self) -> Option<&'p str> {
        self.spill
            .last()
            .or_else(|| self.len.checked_sub(1).and_then(|i| self.inline.get(i)))
            .copied()
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
        let values = self.inline[..self.len.min(INLINE)]
            .iter()
            .chain(self.spill.iter());
        self.template
            .into_iter()
            .flat_map(Template::params)
            .zip(values)
            .map(|((name, convertor), value)| Param {
                name,
                value,
                convertor,
            })
    }
}
