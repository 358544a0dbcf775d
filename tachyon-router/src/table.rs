//! A small open-addressing hash table keyed by path text, built once and read on every
//! lookup: the key's first 8 bytes (which the segment scan already holds) and its length
//! give the hash of most keys in one folded multiply, one probe in most cases, no `memcmp`.

/// Path text with its first 8 bytes as one little-endian word, zero-padded: the tree's
/// segment scan produces both at once, and static edges compare the word before the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'a> {
    pub(crate) text: &'a [u8],
    pub(crate) prefix: u64,
}

impl<'a> Key<'a> {
    /// The key of `text`, computing its prefix word.
    #[inline]
    pub(crate) fn new(text: &'a [u8]) -> Self {
        let b = text;
        let prefix = match b.get(..8) {
            Some(head) => word(head),
            None => b.iter().rev().fold(0, |acc, &c| (acc << 8) | u64::from(c)),
        };
        Self { text, prefix }
    }

    /// Whether `self` and `other` are the same text (the prefix word settles short keys).
    #[inline]
    pub(crate) fn same(&self, other: &Key<'_>) -> bool {
        self.prefix == other.prefix
            && self.text.len() == other.text.len()
            && (self.text.len() <= 8 || tail_eq(self.text, other.text))
    }

    /// Hashes the key (not DoS-resistant: keys come from the route table, and a probe
    /// sequence only compares stored hashes, so a hostile path costs one probe like any
    /// other). The table indexes by the top bits; indexing by the low bits of the former
    /// multiply-rotate hash averaged 4-7 probes on keys like "route12", "route16", ...
    #[inline]
    pub(crate) fn hash(&self) -> u64 {
        let b = self.text;
        let mut h = fold_mul(self.prefix ^ b.len() as u64);
        if let Some(rest) = b.get(8..) {
            let mut chunks = rest.chunks_exact(8);
            for chunk in &mut chunks {
                h = fold_mul(h ^ word(chunk));
            }
            let tail = chunks.remainder();
            if !tail.is_empty() {
                // Byte by byte: a variable-length copy would call memcpy.
                h = fold_mul(
                    h ^ tail
                        .iter()
                        .rev()
                        .fold(0, |acc, &c| (acc << 8) | u64::from(c)),
                );
            }
        }
        h
    }
}

/// A multiply whose high and low halves are folded together: every input bit reaches
/// the top bits the table indexes by.
#[inline]
fn fold_mul(x: u64) -> u64 {
    const K: u128 = 0x9e37_79b9_7f4a_7c15;
    let m = u128::from(x) * K;
    (m as u64) ^ ((m >> 64) as u64)
}

/// Eight bytes as one little-endian word.
#[inline]
pub(crate) fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

/// Equality of two equal-length byte strings past their first 8 bytes, a word at a time.
#[inline]
fn tail_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (a.get(8..).unwrap_or(&[]), b.get(8..).unwrap_or(&[]));
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    x.by_ref().zip(y.by_ref()).all(|(p, q)| word(p) == word(q))
        && x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

/// A map from text to `V`, at most half full so every probe sequence ends.
#[derive(Debug)]
pub(crate) struct StrTable<V> {
    /// Entry index + 1 per slot; 0 is empty.
    slots: Vec<u32>,
    /// `64 - log2(slots.len())`: a hash's home slot is its top bits.
    shift: u32,
    /// (hash, first 8 bytes, key, value).
    entries: Vec<(u64, u64, Box<str>, V)>,
}

impl<V> Default for StrTable<V> {
    fn default() -> Self {
        Self {
            slots: vec![0; 8],
            shift: 61,
            entries: Vec::new(),
        }
    }
}

impl<V> StrTable<V> {
    /// The value stored for `key`.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.get_key(&Key::new(key.as_bytes()))
    }

    /// The value stored for `key`, whose prefix word the caller already has.
    #[inline(always)]
    pub(crate) fn get_key(&self, key: &Key<'_>) -> Option<&V> {
        self.position(key).map(|i| &self.entries[i].3)
    }

    /// The value for `key`, inserted with `make` if absent.
    pub(crate) fn get_or_insert_with(&mut self, text: &str, make: impl FnOnce() -> V) -> &mut V {
        let key = Key::new(text.as_bytes());
        let index = match self.position(&key) {
            Some(index) => index,
            None => {
                if (self.entries.len() + 1) * 2 > self.slots.len() {
                    self.grow();
                }
                self.entries
                    .push((key.hash(), key.prefix, text.into(), make()));
                let index = self.entries.len() - 1;
                self.place(index);
                index
            }
        };
        &mut self.entries[index].3
    }

    /// The number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline(always)]
    fn position(&self, key: &Key<'_>) -> Option<usize> {
        let h = key.hash();
        let mask = self.slots.len() - 1;
        let mut i = (h >> self.shift) as usize;
        loop {
            let index = (*self.slots.get(i)? as usize).checked_sub(1)?;
            let (eh, ep, ek, _) = self.entries.get(index)?;
            if *eh == h
                && key.same(&Key {
                    text: ek.as_bytes(),
                    prefix: *ep,
                })
            {
                return Some(index);
            }
            i = (i + 1) & mask;
        }
    }

    fn place(&mut self, index: usize) {
        let mask = self.slots.len() - 1;
        let mut i = (self.entries[index].0 >> self.shift) as usize;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        // Entry counts stay far below u32::MAX (one per distinct route segment).
        self.slots[i] = u32::try_from(index + 1).unwrap_or(u32::MAX);
    }

    fn grow(&mut self) {
        self.slots = vec![0; self.slots.len() * 2];
        self.shift -= 1;
        for index in 0..self.entries.len() {
            self.place(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_get_many() {
        let mut t = StrTable::default();
        for i in 0..1000 {
            *t.get_or_insert_with(&format!("k{i}"), || 0) += i;
        }
        assert_eq!(t.len(), 1000);
        for i in 0..1000 {
            assert_eq!(t.get(&format!("k{i}")), Some(&i));
        }
        assert_eq!(t.get("k1000"), None);
        assert_eq!(t.get(""), None);
    }

    #[test]
    fn long_keys_differing_late_or_by_padding() {
        let mut t = StrTable::default();
        let keys = [
            "abcdefgh",
            "abcdefghi",
            "abcdefgh\0",
            "abc",
            "abc\0",
            "abcdefghijklmnopq",
        ];
        for (i, k) in keys.iter().enumerate() {
            *t.get_or_insert_with(k, || i) = i;
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(t.get(k), Some(&i), "{k:?}");
        }
        assert_eq!(t.get("abcdefghijklmnopr"), None);
        assert_eq!(t.get("abcdefgi"), None);
    }
}
