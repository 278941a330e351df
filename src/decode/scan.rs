//! Stage 1 of the fast record decoder: a structural index of JSON text, 64 bytes at a time.
//!
//! The idea is simdjson's stage 1. For each 64-byte block, one bit per byte says whether the byte
//! is a quote, a backslash, a structural character (`{}[]:,`), whitespace or a control character.
//! Plain integer arithmetic on those masks then finds which quotes are escaped (odd runs of
//! backslashes, carried across blocks), which bytes are inside strings (a prefix XOR of the real
//! quotes), and where each scalar (`true`, `12`, ...) starts. What stage 2 ([`super::lazy`])
//! receives is the position of every quote, every structural character outside strings and every
//! scalar start, in order, computed one block ahead of it: memory stays one block whatever the
//! size of the object.
//!
//! Only the classification of the 64 bytes depends on the CPU. It is chosen once, at run time
//! ([`Kernel::selected`]): AVX2 or SSE2 on x86-64, each a `#[target_feature]` function that a
//! binary built for any x86-64 can call once the CPU is known to have it, and a portable scalar
//! loop everywhere else (aarch64 included). All three give the same bits; the tests compare them.
//!
//! Two things make a block *invalid* for the fast path, which then stops and leaves the object to
//! serde_json: a control character inside a string, and a backslash inside a string followed by
//! anything but a JSON escape (`"\/bfnrt`, or `u` and four hex digits). Everything else about
//! validity is stage 2's job.

use std::sync::OnceLock;

/// How one 64-byte block is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Sse2,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detected() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
            if std::arch::is_x86_feature_detected!("sse2") {
                return Kernel::Sse2;
            }
        }
        Kernel::Scalar
    }

    /// Every kernel this CPU runs, the portable one first.
    pub fn available() -> Vec<Kernel> {
        let mut all = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("sse2") {
                all.push(Kernel::Sse2);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                all.push(Kernel::Avx2);
            }
        }
        all
    }

    /// The kernel the decoder uses: [`Kernel::detected`], unless `IAMTRIM_SCANNER` names another
    /// one this CPU runs (`scalar`, `sse2`, `avx2`), which tests and benchmarks use to run the
    /// fallbacks, or is `off` (`None`: serde_json reads every record, the path before the
    /// scanner). Chosen once per process.
    pub fn selected() -> Option<Kernel> {
        static SELECTED: OnceLock<Option<Kernel>> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            let wanted = std::env::var("IAMTRIM_SCANNER").unwrap_or_default();
            if wanted == "off" {
                return None;
            }
            Some(
                Kernel::available()
                    .into_iter()
                    .find(|kernel| kernel.name() == wanted)
                    .unwrap_or_else(Kernel::detected),
            )
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Kernel::Sse2 => "sse2",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => "avx2",
        }
    }

    fn classify(self, block: &[u8; 64]) -> Classes {
        match self {
            Kernel::Scalar => classify_scalar(block),
            // SAFETY: these kernels are only constructed by `detected`/`available` after the CPU
            // was found to have the feature.
            #[cfg(target_arch = "x86_64")]
            Kernel::Sse2 => unsafe { x86::classify_sse2(block) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::classify_avx2(block) },
        }
    }
}

/// One bit per byte of a block, per class.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    pub quote: u64,
    pub backslash: u64,
    /// `{ } [ ] : ,`
    pub structural: u64,
    /// Space, tab, line feed, carriage return.
    pub whitespace: u64,
    /// Bytes below 0x20.
    pub control: u64,
}

/// Byte classes for the scalar kernel.
const QUOTE: u8 = 1;
const BACKSLASH: u8 = 2;
const STRUCTURAL: u8 = 4;
const WHITESPACE: u8 = 8;
const CONTROL: u8 = 16;

static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = CONTROL;
        b += 1;
    }
    table[b'"' as usize] = QUOTE;
    table[b'\\' as usize] = BACKSLASH;
    let structural = b"{}[]:,";
    let mut i = 0;
    while i < structural.len() {
        table[structural[i] as usize] = STRUCTURAL;
        i += 1;
    }
    table[b' ' as usize] = WHITESPACE;
    table[b'\t' as usize] = WHITESPACE | CONTROL;
    table[b'\n' as usize] = WHITESPACE | CONTROL;
    table[b'\r' as usize] = WHITESPACE | CONTROL;
    table
};

fn classify_scalar(block: &[u8; 64]) -> Classes {
    let mut classes = Classes::default();
    for (i, &byte) in block.iter().enumerate() {
        let class = CLASS[byte as usize];
        if class == 0 {
            continue;
        }
        let bit = 1u64 << i;
        if class & QUOTE != 0 {
            classes.quote |= bit;
        }
        if class & BACKSLASH != 0 {
            classes.backslash |= bit;
        }
        if class & STRUCTURAL != 0 {
            classes.structural |= bit;
        }
        if class & WHITESPACE != 0 {
            classes.whitespace |= bit;
        }
        if class & CONTROL != 0 {
            classes.control |= bit;
        }
    }
    classes
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Classes;

    /// The five classes of 32 bytes: quote, backslash, structural, whitespace, control.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn half_avx2(v: __m256i) -> [u64; 5] {
        let eq = |c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
        let bits = |m: __m256i| _mm256_movemask_epi8(m) as u32 as u64;
        // `{` `}` `[` `]` differ from each other in bits 0x20 and 0x02 only.
        let folded = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
        let brace = |c: u8| _mm256_cmpeq_epi8(folded, _mm256_set1_epi8(c as i8));
        let structural = _mm256_or_si256(
            _mm256_or_si256(brace(b'{'), brace(b'}')),
            _mm256_or_si256(eq(b':'), eq(b',')),
        );
        let whitespace = _mm256_or_si256(
            _mm256_or_si256(eq(b' '), eq(b'\t')),
            _mm256_or_si256(eq(b'\n'), eq(b'\r')),
        );
        let control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v);
        [
            bits(eq(b'"')),
            bits(eq(b'\\')),
            bits(structural),
            bits(whitespace),
            bits(control),
        ]
    }

    /// SAFETY: the caller makes sure the CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn classify_avx2(block: &[u8; 64]) -> Classes {
        // SAFETY: two unaligned 32-byte loads inside the 64-byte block.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast()),
            )
        };
        let (lo, hi) = (half_avx2(lo), half_avx2(hi));
        let join = |i: usize| lo[i] | (hi[i] << 32);
        Classes {
            quote: join(0),
            backslash: join(1),
            structural: join(2),
            whitespace: join(3),
            control: join(4),
        }
    }

    /// The five classes of 16 bytes, as [`half_avx2`].
    #[target_feature(enable = "sse2")]
    #[inline]
    fn quarter_sse2(v: __m128i) -> [u64; 5] {
        let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let bits = |m: __m128i| _mm_movemask_epi8(m) as u32 as u64;
        let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let brace = |c: u8| _mm_cmpeq_epi8(folded, _mm_set1_epi8(c as i8));
        let structural = _mm_or_si128(
            _mm_or_si128(brace(b'{'), brace(b'}')),
            _mm_or_si128(eq(b':'), eq(b',')),
        );
        let whitespace = _mm_or_si128(
            _mm_or_si128(eq(b' '), eq(b'\t')),
            _mm_or_si128(eq(b'\n'), eq(b'\r')),
        );
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        [
            bits(eq(b'"')),
            bits(eq(b'\\')),
            bits(structural),
            bits(whitespace),
            bits(control),
        ]
    }

    /// SAFETY: the caller makes sure the CPU has SSE2 (every x86-64 does).
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn classify_sse2(block: &[u8; 64]) -> Classes {
        let mut classes = [0u64; 5];
        for part in 0..4 {
            // SAFETY: an unaligned 16-byte load inside the 64-byte block.
            let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * part).cast()) };
            for (class, bits) in classes.iter_mut().zip(quarter_sse2(v)) {
                *class |= bits << (16 * part);
            }
        }
        let [quote, backslash, structural, whitespace, control] = classes;
        Classes {
            quote,
            backslash,
            structural,
            whitespace,
            control,
        }
    }
}

const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// The bytes escaped by a backslash (the byte after each odd run of backslashes), carrying a run
/// that ends a block into the next one. simdjson's `find_escaped_branchless`.
fn escaped_bytes(backslash: u64, escaped_carry: &mut u64) -> u64 {
    if backslash == 0 {
        let escaped = *escaped_carry;
        *escaped_carry = 0;
        return escaped;
    }
    let backslash = backslash & !*escaped_carry;
    let follows_escape = (backslash << 1) | *escaped_carry;
    let odd_sequence_starts = backslash & !EVEN_BITS & !follows_escape;
    let (sequences_starting_on_even_bits, overflow) =
        odd_sequence_starts.overflowing_add(backslash);
    *escaped_carry = u64::from(overflow);
    let invert_mask = sequences_starting_on_even_bits << 1;
    (EVEN_BITS ^ invert_mask) & follows_escape
}

/// Bit i set when an odd number of bits at or below i are set.
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// The positions stage 2 walks, block by block, in order.
pub struct Structurals<'a> {
    text: &'a [u8],
    kernel: Kernel,
    /// Start of the block whose bits are in `bits`.
    base: usize,
    /// Positions of this block not yet handed out.
    bits: u64,
    /// Start of the next block to classify.
    next_block: usize,
    in_string: u64,
    escaped_carry: u64,
    scalar_carry: u64,
    /// Escaped bytes (inside strings) before `base`, and this block's escaped bytes.
    escapes_before: usize,
    escaped: u64,
    /// Set when a block was found invalid: nothing more is handed out.
    invalid: bool,
}

/// The next position, or `None` at the end of the text or at an invalid block.
impl Iterator for Structurals<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            if !self.load_block() {
                return None;
            }
        }
        let at = self.base + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(at)
    }
}

impl<'a> Structurals<'a> {
    pub fn new(text: &'a [u8], kernel: Kernel) -> Self {
        Self {
            text,
            kernel,
            base: 0,
            bits: 0,
            next_block: 0,
            in_string: 0,
            escaped_carry: 0,
            scalar_carry: 0,
            escapes_before: 0,
            escaped: 0,
            invalid: false,
        }
    }

    /// Whether the text ended cleanly (not at an invalid block).
    pub fn valid(&self) -> bool {
        !self.invalid
    }

    /// How many escaped bytes inside strings come before `at`, which must be in the block of the
    /// position last handed out. Two calls tell whether a string holds an escape.
    #[inline]
    pub fn escapes_before(&self, at: usize) -> usize {
        let offset = at - self.base;
        let below = if offset >= 64 {
            self.escaped
        } else {
            self.escaped & ((1u64 << offset) - 1)
        };
        self.escapes_before + below.count_ones() as usize
    }

    fn load_block(&mut self) -> bool {
        if self.invalid || self.next_block >= self.text.len() {
            return false;
        }
        let start = self.next_block;
        let end = (start + 64).min(self.text.len());
        let mut padded = [b' '; 64];
        let block: &[u8; 64] = match self.text[start..end].try_into() {
            Ok(block) => block,
            Err(_) => {
                padded[..end - start].copy_from_slice(&self.text[start..end]);
                &padded
            }
        };
        let classes = self.kernel.classify(block);
        let escaped = escaped_bytes(classes.backslash, &mut self.escaped_carry);
        let quote = classes.quote & !escaped;
        let in_string = prefix_xor(quote) ^ self.in_string;
        self.in_string = ((in_string as i64) >> 63) as u64;
        // Inside a string: a control character, or an escape of something not escapable.
        if classes.control & in_string & !quote != 0 {
            self.invalid = true;
            return false;
        }
        let escaped_inside = escaped & in_string;
        if escaped_inside != 0 && !self.escapes_valid(start, escaped_inside) {
            self.invalid = true;
            return false;
        }
        let scalar = !(classes.quote | classes.structural | classes.whitespace | in_string);
        let scalar_starts = scalar & !((scalar << 1) | self.scalar_carry);
        self.scalar_carry = scalar >> 63;
        self.escapes_before += self.escaped.count_ones() as usize;
        self.escaped = escaped_inside;
        self.base = start;
        self.next_block = end;
        self.bits = quote | (classes.structural & !in_string) | scalar_starts;
        true
    }

    fn escapes_valid(&self, start: usize, mut escaped: u64) -> bool {
        while escaped != 0 {
            let at = start + escaped.trailing_zeros() as usize;
            escaped &= escaped - 1;
            match self.text.get(at) {
                // A backslash ending the text escapes the padding: an unterminated string,
                // which stage 2 finds.
                None => {}
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                Some(b'u') => {
                    let hex = self.text.get(at + 1..at + 5);
                    if !hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The positions a byte-at-a-time reading of the text gives: quotes that open or close a
    /// string, structural characters outside strings, the first byte of each run of other bytes
    /// outside strings. `None` where the fast path must stop (control character or bad escape
    /// inside a string).
    ///
    /// A backslash outside strings ends the comparison (the third value): it is not JSON, stage
    /// 2 stops at it, and what the scanner makes of the bytes after it does not matter.
    fn reference(text: &[u8]) -> (Vec<usize>, bool, Option<usize>) {
        let mut out = Vec::new();
        let mut in_string = false;
        let mut i = 0;
        let mut previous_scalar = false;
        while i < text.len() {
            let b = text[i];
            if in_string {
                match b {
                    b'"' => {
                        out.push(i);
                        in_string = false;
                    }
                    b'\\' => {
                        let ok = match text.get(i + 1) {
                            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => true,
                            Some(b'u') => text
                                .get(i + 2..i + 6)
                                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
                            // A backslash ending the text escapes nothing yet.
                            None => true,
                            _ => false,
                        };
                        if !ok {
                            return (out, false, None);
                        }
                        i += 1;
                    }
                    0..0x20 => return (out, false, None),
                    _ => {}
                }
                previous_scalar = false;
            } else {
                let scalar = !matches!(
                    b,
                    b'"' | b'{' | b'}' | b'[' | b']' | b':' | b',' | b' ' | b'\t' | b'\n' | b'\r'
                );
                if b == b'\\' {
                    if !previous_scalar {
                        out.push(i);
                    }
                    return (out, true, Some(i));
                }
                if b == b'"' {
                    in_string = true;
                    out.push(i);
                } else if matches!(b, b'{' | b'}' | b'[' | b']' | b':' | b',')
                    || (scalar && !previous_scalar)
                {
                    out.push(i);
                }
                previous_scalar = scalar;
            }
            i += 1;
        }
        (out, true, None)
    }

    fn positions(text: &[u8], kernel: Kernel) -> (Vec<usize>, bool) {
        let mut scan = Structurals::new(text, kernel);
        let out = scan.by_ref().collect();
        (out, scan.valid())
    }

    /// Every kernel gives the byte-at-a-time reading's positions, up to the block where the
    /// reference stops (a kernel stops at the start of that block).
    fn agrees(text: &[u8]) {
        let (expected, valid, cutoff) = reference(text);
        for kernel in Kernel::available() {
            let (mut got, ok) = positions(text, kernel);
            if let Some(cutoff) = cutoff {
                got.retain(|&at| at <= cutoff);
                assert!(
                    expected.starts_with(&got),
                    "{} on {:?}",
                    kernel.name(),
                    text
                );
                let block = cutoff / 64 * 64;
                let missing = &expected[got.len()..];
                assert!(missing.iter().all(|&at| at >= block), "{}", kernel.name());
                continue;
            }
            if valid {
                assert!(ok, "{} stopped on valid text {:?}", kernel.name(), text);
                assert_eq!(got, expected, "{} on {:?}", kernel.name(), text);
            } else {
                assert!(!ok, "{} missed an invalid string", kernel.name());
                assert!(expected.starts_with(&got), "{}", kernel.name());
            }
        }
    }

    #[test]
    fn positions_of_a_record() {
        let text = br#"{"a":"x\"y","b\\":[1, true ,null],"c":{"d":-2.5e3}} "#;
        let (got, ok) = positions(text, Kernel::Scalar);
        assert!(ok);
        let marked: String = got.iter().map(|&i| text[i] as char).collect();
        assert_eq!(marked, r#"{"":"","":[1,t,n],"":{"":-}}"#);
        agrees(text);
    }

    #[test]
    fn backslash_runs_across_blocks() {
        for run in 1..6 {
            for at in 55..70 {
                let mut text = vec![b'"'; 1];
                text.extend(std::iter::repeat_n(b'a', at));
                text.extend(std::iter::repeat_n(b'\\', run));
                text.extend_from_slice(b"\"x\" , 1 ");
                agrees(&text);
            }
        }
    }

    #[test]
    fn invalid_strings_stop_the_scan() {
        agrees(b"[\"a\x01b\"]");
        agrees(b"[\"a\\qb\"]");
        agrees(b"[\"a\\u12g4\"]");
        agrees(b"[\"tab\there\"]");
        // A backslash at the very end: nothing escaped yet (found by the property test).
        agrees(b"[\"n/]\\");
        // A control character outside strings is not this stage's business: it is a scalar.
        agrees(b"[1,\x01]");
    }

    #[test]
    fn escapes_are_counted_per_string() {
        let text = br#"["plain","esc\"aped","\u0041\n"]"#;
        let mut scan = Structurals::new(text, Kernel::detected());
        let mut quotes = Vec::new();
        while let Some(at) = scan.next() {
            if text[at] == b'"' {
                quotes.push(scan.escapes_before(at));
            }
        }
        assert_eq!(quotes, [0, 0, 0, 1, 1, 3]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Arbitrary text from JSON's characters and a few others, any length across blocks.
        #[test]
        fn kernels_agree_with_a_byte_at_a_time_reading(
            text in proptest::collection::vec(
                prop_oneof![
                    Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'['), Just(b']'),
                    Just(b':'), Just(b','), Just(b' '), Just(b'\n'), Just(b'a'), Just(b'u'),
                    Just(b'0'), Just(b'n'), Just(0x01u8), Just(0xc3u8), Just(b'/'),
                ],
                0..300,
            )
        ) {
            agrees(&text);
        }
    }
}
