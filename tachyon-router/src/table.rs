//! A small open-addressing hash table keyed by path text, built once and read on every
//! lookup: one multiply-rotate hash, one probe in most cases, no `memcmp` call.

/// Hashes path text (not DoS-resistant: keys come from the route table, and a probe
/// sequence only compares stored hashes, so a hostile path costs one probe like any other).
#[inline]
pub(crate) fn hash(text: &str) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let bytes = text.as_bytes();
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // The tail byte by byte: a variable-length copy would call memcpy.
    let tail = chunks
        .remainder()
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    h = (h.rotate_left(5) ^ tail).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The first 8 bytes of `text`, zero-padded.
#[inline]
pub(crate) fn prefix8(text: &str) -> u64 {
    text.as_bytes()
        .iter()
        .take(8)
        .enumerate()
        .fold(0u64, |acc, (i, &b)| acc | (u64::from(b) << (8 * i)))
}

/// String equality without a `memcmp` call: keys are short.
#[inline]
pub(crate) fn short_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// A map from text to `V`, at most half full so every probe sequence ends.
#[derive(Debug)]
pub(crate) struct StrTable<V> {
    /// Entry index + 1 per slot; 0 is empty.
    slots: Vec<u32>,
    /// (hash, first 8 bytes, key, value): keys of up to 8 bytes are compared inline.
    entries: Vec<(u64, u64, Box<str>, V)>,
}

impl<V> Default for StrTable<V> {
    fn default() -> Self {
        Self {
            slots: vec![0; 8],
            entries: Vec::new(),
        }
    }
}

impl<V> StrTable<V> {
    /// The value stored for `key`.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.position(key).map(|i| &self.entries[i].3)
    }

    /// The value for `key`, inserted with `make` if absent.
    pub(crate) fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let index = match self.position(key) {
            Some(index) => index,
            None => {
                if (self.entries.len() + 1) * 2 > self.slots.len() {
                    self.grow();
                }
                self.entries
                    .push((hash(key), prefix8(key), key.into(), make()));
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

    #[inline]
    fn position(&self, key: &str) -> Option<usize> {
        let h = hash(key);
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        let prefix = prefix8(key);
        loop {
            let index = (*self.slots.get(i)? as usize).checked_sub(1)?;
            let (eh, ep, ek, _) = self.entries.get(index)?;
            // The hash covers the length, so equal hash and prefix settle short keys.
            if *eh == h
                && *ep == prefix
                && (key.len() <= 8 && ek.len() == key.len() || short_eq(ek, key))
            {
                return Some(index);
            }
            i = (i + 1) & mask;
        }
    }

    fn place(&mut self, index: usize) {
        let mask = self.slots.len() - 1;
        let mut i = self.entries[index].0 as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        // Entry counts stay far below u32::MAX (one per distinct route segment).
        self.slots[i] = u32::try_from(index + 1).unwrap_or(u32::MAX);
    }

    fn grow(&mut self) {
        self.slots = vec![0; self.slots.len() * 2];
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
}
