//! Counter-based random numbers: a PCG hash of where a number is used (seed, item, step...), so
//! that a WGSL kernel and its CPU twin draw exactly the same numbers in any order. The same
//! function is written in the shaders that use it.

/// The PCG-RXS-M-XS hash of one 32-bit word.
pub(crate) fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// Hash of three words: `pcg(a ^ pcg(b ^ pcg(c)))`.
pub(crate) fn pcg3(a: u32, b: u32, c: u32) -> u32 {
    pcg(a ^ pcg(b ^ pcg(c)))
}

/// Maps a uniform 32-bit hash onto `0..n` by a multiply-high (Lemire's reduction): no division.
pub(crate) fn below(hash: u32, n: u32) -> u32 {
    ((hash as u64 * n as u64) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_neighbouring_counters() {
        let values: Vec<u32> = (0..1000).map(|i| pcg3(7, 1, i) % 10).collect();
        for bucket in 0..10 {
            let count = values.iter().filter(|&&v| v == bucket).count();
            assert!((60..=140).contains(&count), "bucket {bucket}: {count}");
        }
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        assert_eq!(below(u32::MAX, 10), 9);
        assert_eq!(below(0, 10), 0);
        let mut seen = [0usize; 7];
        for i in 0..7000 {
            seen[below(pcg(i), 7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..=1200).contains(&c)), "{seen:?}");
    }
}
