//! The canonical binary encoding (spec §2).
//!
//! Integers are big-endian and fixed-width; byte strings of known size are written raw;
//! labels are one length byte followed by ASCII. There is no optional field and no
//! variable-length integer, so each value has exactly one encoding. The reader refuses
//! truncated input and trailing bytes.

use crate::error::DecodeError;

/// Appends canonical encodings to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.buf.push(value);
        self
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Self {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(value);
        self
    }

    /// A domain-separation label: one length byte, then the ASCII bytes (spec §2.2).
    pub(crate) fn label(&mut self, label: &str) -> &mut Self {
        debug_assert!(label.len() < 256 && label.is_ascii());
        self.buf.push(u8::try_from(label.len()).unwrap_or(u8::MAX));
        self.buf.extend_from_slice(label.as_bytes());
        self
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads canonical encodings from a byte slice, naming the field that failed.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    consumed: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            rest: bytes,
            consumed: 0,
        }
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> usize {
        self.consumed
    }

    pub(crate) fn take(
        &mut self,
        count: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let (taken, rest) = self
            .rest
            .split_at_checked(count)
            .ok_or(DecodeError::Truncated { field })?;
        self.rest = rest;
        self.consumed = self.consumed.saturating_add(count);
        Ok(taken)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| DecodeError::Truncated { field })
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array::<1>(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array::<4>(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array::<8>(field)?))
    }

    /// A boolean flag: exactly 0 or 1.
    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue { field }),
        }
    }

    /// Succeeds only if every byte has been read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_and_labels_length_prefixed() {
        let mut writer = Writer::default();
        writer.u8(1).u32(0x0203_0405).u64(6).label("ab");
        assert_eq!(
            writer.into_bytes(),
            [1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 6, 2, b'a', b'b']
        );
    }

    #[test]
    fn reader_names_the_truncated_field_and_refuses_trailing_bytes() {
        let mut reader = Reader::new(&[0, 0, 1]);
        assert_eq!(
            reader.u32("count"),
            Err(DecodeError::Truncated { field: "count" })
        );
        let mut reader = Reader::new(&[0, 0, 0, 1, 9]);
        assert_eq!(reader.u32("count"), Ok(1));
        assert_eq!(
            reader.finish(),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        assert_eq!(
            Reader::new(&[2]).flag("forced"),
            Err(DecodeError::InvalidValue { field: "forced" })
        );
    }
}
