//! The seeded random numbers of every stage that a seed reproduces: Xoshiro256++, whose output is
//! fixed by its published definition. (rand documents `StdRng` as free to change its algorithm
//! between versions, which would silently change every map made from a seed.)

use rand::SeedableRng;

/// The generator every seeded stage draws from.
pub(crate) type SeededRng = rand_xoshiro::Xoshiro256PlusPlus;

/// A generator started from `seed`.
pub(crate) fn seeded(seed: u64) -> SeededRng {
    SeededRng::seed_from_u64(seed)
}
