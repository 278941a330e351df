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

/// Inflates a whole gzip object (all members) into `out`, replacing what it held, refusing to
/// produce more than `max_bytes`. The allocation of `out` is reused, so a worker inflating one
/// object after another does not allocate and free a buffer of several MB per object, and the
/// bytes `out` already holds are written over instead of being zeroed first (`read_to_end` would
/// zero its whole spare capacity for every object).
pub fn inflate_into(
    compressed: &[u8],
    max_bytes: u64,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let limit = usize::try_from(max_bytes.saturating_add(1)).unwrap_or(usize::MAX);
    // One byte past the hint, so that an exact hint ends with a read of 0, not a resize.
    let hint = usize::try_from(size_hint(compressed).saturating_add(1)).unwrap_or(limit);
    // A trailer can lie: at most FIRST_BYTES are zeroed on its word, more only as output arrives.
    let want = hint.clamp(64 * 1024, FIRST_BYTES).min(limit);
    if out.len() < want {
        out.resize(want, 0);
    }
    let mut decoder = MultiGzDecoder::new(compressed);
    let mut filled = 0;
    loop {
        if filled == out.len() {
            if filled >= limit {
                out.truncate(filled);
                return Err(DecodeError::TooLarge {
                    limit: max_bytes,
                    budget: false,
                });
            }
            let grown = filled.saturating_mul(2).min(limit);
            out.resize(grown, 0);
        }
        match decoder.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                out.truncate(filled);
                return Err(DecodeError::Gzip { source });
            }
        }
    }
    out.truncate(filled);
    if filled as u64 > max_bytes {
        return Err(DecodeError::TooLarge {
            limit: max_bytes,
            budget: false,
        });
    }
    Ok(())
}

/// The decompressed size of a whole gzip object (all members), found by inflating it into a
/// small scratch buffer: nothing of its size is held. More than `max_bytes` is `TooLarge`.
pub fn inflated_size(compressed: &[u8], max_bytes: u64) -> Result<u64, DecodeError> {
    let mut decoder = MultiGzDecoder::new(compressed);
    let mut scratch = vec![0u8; 256 * 1024];
    let mut total: u64 = 0;
    loop {
        match decoder.read(&mut scratch) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                total += n as u64;
                if total > max_bytes {
                    return Err(DecodeError::TooLarge {
                        limit: max_bytes,
                        budget: false,
                    });
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(DecodeError::Gzip { source }),
        }
    }
}

/// The most `out` is grown to before any output arrives.
const FIRST_BYTES: usize = 16 << 20;

/// The ISIZE trailer of the last member: the uncompressed size modulo 2^32. Only a capacity hint
/// (multi-member streams and objects over 4 GiB make it wrong), so it is clamped by the caller.
pub(super) fn size_hint(compressed: &[u8]) -> u64 {
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
            matches!(err, DecodeError::TooLarge { limit: 1_000, .. }),
            "{err}"
        );
    }

    /// A reused buffer holds exactly the new object, whether it was longer or shorter before,
    /// and a trailer that lies about the size changes nothing.
    #[test]
    fn a_reused_buffer_holds_exactly_the_new_object() {
        let big: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut out = Vec::new();
        inflate_into(&gz(&big), 1 << 30, &mut out).unwrap();
        assert_eq!(out, big);
        inflate_into(&gz(b"small"), 1 << 30, &mut out).unwrap();
        assert_eq!(out, b"small");
        let mut lying = gz(&big);
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&7u32.to_le_bytes());
        let err = inflate_into(&lying, 1 << 30, &mut out).unwrap_err();
        assert!(matches!(err, DecodeError::Gzip { .. }), "{err}");
        let mut huge_claim = gz(b"tiny");
        let at = huge_claim.len() - 4;
        huge_claim[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(inflate_into(&huge_claim, 1 << 30, &mut out).is_err());
        inflate_into(&gz(&big), 1 << 30, &mut out).unwrap();
        assert_eq!(out, big);
    }

    #[test]
    fn the_counting_pass_measures_every_member_and_stops_at_the_cap() {
        let mut both = gz(&vec![b'a'; 70_000]);
        both.extend(gz(&vec![b'b'; 300_000]));
        assert_eq!(inflated_size(&both, 1 << 20).unwrap(), 370_000);
        assert!(matches!(
            inflated_size(&both, 100_000),
            Err(DecodeError::TooLarge { limit: 100_000, .. })
        ));
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let data = gz(&vec![b'x'; 5_000]);
        let err = inflate(&data[..data.len() / 2], 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::Gzip { .. }), "{err}");
    }
}
