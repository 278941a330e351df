//! The one place a gzip decoder is built.
//!
//! CloudTrail objects are a few MB, so the whole object is inflated into one `Vec` sized from the
//! gzip trailer (ISIZE): measured faster than streaming parse over a `GzDecoder` (see
//! ../shared/design/MEASURED.md), and it lets the JSON stage borrow strings from the buffer.
//! Multi-member streams (concatenated gzip) are read to the end. The decompressed size is capped so
//! that a gzip bomb is reported instead of inflated to exhaustion.

use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::DecodeError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True when the bytes start with the gzip magic number, whatever the file is called.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Inflates a whole gzip object (all members) into `out`, cleared first, refusing to produce
/// more than `max_bytes`. The allocation of `out` is reused, so a worker inflating one object
/// after another does not allocate and free a buffer of several MB per object.
pub fn inflate_into(
    compressed: &[u8],
    max_bytes: u64,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    out.clear();
    let hint = size_hint(compressed).min(max_bytes);
    out.reserve(usize::try_from(hint).unwrap_or(0));
    let mut decoder = MultiGzDecoder::new(compressed).take(max_bytes.saturating_add(1));
    decoder
        .read_to_end(out)
        .map_err(|source| DecodeError::Gzip { source })?;
    if out.len() as u64 > max_bytes {
        return Err(DecodeError::TooLarge { limit: max_bytes });
    }
    Ok(())
}

/// The ISIZE trailer of the last member: the uncompressed size modulo 2^32. Only a capacity hint
/// (multi-member streams and objects over 4 GiB make it wrong), so it is clamped by the caller.
fn size_hint(compressed: &[u8]) -> u64 {
    match compressed.len().checked_sub(4) {
        Some(start) if compressed.len() >= 18 => {
            let mut trailer = [0u8; 4];
            trailer.copy_from_slice(&compressed[start..]);
            u64::from(u32::from_le_bytes(trailer))
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;

    fn inflate(compressed: &[u8], max_bytes: u64) -> Result<Vec<u8>, DecodeError> {
        let mut out = b"left over".to_vec();
        inflate_into(compressed, max_bytes, &mut out)?;
        Ok(out)
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn reads_every_member_of_a_concatenated_stream() {
        let mut both = gz(b"hello ");
        both.extend(gz(b"world"));
        assert_eq!(inflate(&both, 1 << 20).unwrap(), b"hello world");
    }

    #[test]
    fn refuses_output_over_the_cap() {
        let bomb = gz(&vec![b'a'; 10_000]);
        let err = inflate(&bomb, 1_000).unwrap_err();
        assert!(
            matches!(err, DecodeError::TooLarge { limit: 1_000 }),
            "{err}"
        );
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let data = gz(&vec![b'x'; 5_000]);
        let err = inflate(&data[..data.len() / 2], 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::Gzip { .. }), "{err}");
    }
}
