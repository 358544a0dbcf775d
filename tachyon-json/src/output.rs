//! Where the writer appends: a `Vec<u8>`, or any buffer that can reserve
//! room and expose it (the Python binding writes straight into a `bytes`).

/// A growable byte buffer the writer functions append to.
///
/// The writer reserves first, then writes through [`Output::as_mut_ptr`]
/// into the reserved room and commits with [`Output::set_len`].
///
/// # Safety
/// The default methods (and the writer) trust the implementation: after
/// `reserve(n)`, `capacity() - len() >= n`; `as_mut_ptr()` points to a buffer
/// valid for writes of `capacity()` bytes whose first `len()` bytes are
/// initialized; `as_slice()` is those `len()` bytes; and `len()` is what
/// `set_len` last set. An implementation that breaks any of these lets safe
/// code write out of bounds, so implementing the trait is `unsafe` (as
/// `bytes::BufMut` is).
pub unsafe trait Output {
    /// Bytes written so far.
    fn len(&self) -> usize;
    /// Whether nothing has been written.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes that fit without growing.
    fn capacity(&self) -> usize;
    /// Ensures room for `additional` more bytes.
    fn reserve(&mut self, additional: usize);
    /// Start of the buffer (valid for `capacity()` bytes).
    fn as_mut_ptr(&mut self) -> *mut u8;
    /// The bytes written so far.
    fn as_slice(&self) -> &[u8];
    /// Sets the length after writing into reserved room.
    ///
    /// # Safety
    /// `len <= capacity()`, and the first `len` bytes are initialized.
    unsafe fn set_len(&mut self, len: usize);

    /// Appends one byte.
    #[inline(always)]
    fn push(&mut self, byte: u8) {
        self.reserve(1);
        let len = self.len();
        // SAFETY: one byte reserved above.
        unsafe {
            *self.as_mut_ptr().add(len) = byte;
            self.set_len(len + 1);
        }
    }

    /// Appends a slice.
    #[inline(always)]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        let len = self.len();
        // SAFETY: room reserved above; `bytes` cannot alias spare capacity.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.as_mut_ptr().add(len), bytes.len());
            self.set_len(len + bytes.len());
        }
    }

    /// Shortens to `len` bytes (no-op if already shorter).
    #[inline]
    fn truncate(&mut self, len: usize) {
        if len < self.len() {
            // SAFETY: shrinking keeps the initialized prefix.
            unsafe { self.set_len(len) }
        }
    }
}

// SAFETY: each method is `Vec`'s own, which keeps every promise above.
unsafe impl Output for Vec<u8> {
    #[inline(always)]
    fn len(&self) -> usize {
        Vec::len(self)
    }
    #[inline(always)]
    fn capacity(&self) -> usize {
        Vec::capacity(self)
    }
    #[inline(always)]
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional)
    }
    #[inline(always)]
    fn as_mut_ptr(&mut self) -> *mut u8 {
        Vec::as_mut_ptr(self)
    }
    #[inline(always)]
    fn as_slice(&self) -> &[u8] {
        self
    }
    #[inline(always)]
    unsafe fn set_len(&mut self, len: usize) {
        // SAFETY: forwarded contract.
        unsafe { Vec::set_len(self, len) }
    }
    #[inline(always)]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte)
    }
    #[inline(always)]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes)
    }
    #[inline(always)]
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len)
    }
}
