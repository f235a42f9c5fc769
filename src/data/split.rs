//! The seeded, stratified 80/20 split that `hebb eval`'s linear probe scores on, and that
//! `training.holdout` keeps the encoder's training away from.

use crate::compute::rng::seeded;
use rand::seq::SliceRandom;

/// Share of every class that goes to the test part.
pub(crate) const TEST_SHARE: f64 = 0.2;

/// Item indices of the training and the test part, each sorted. Within every class (label group)
/// a seeded shuffle sends round(20%) of its items to the test part, at least one when the class
/// has two or more items and none when it has one.
pub(crate) fn stratified(groups: &[usize], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let classes = groups.iter().copied().max().map_or(0, |m| m + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (item, &g) in groups.iter().enumerate() {
        members[g].push(item);
    }
    let mut rng = seeded(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut class in members {
        class.shuffle(&mut rng);
        let held = if class.len() < 2 { 0 } else { ((class.len() as f64 * TEST_SHARE).round() as usize).max(1) };
        test.extend_from_slice(&class[..held]);
        train.extend_from_slice(&class[held..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let groups: Vec<usize> = (0..103)
            .map(|i| {
                if i < 50 {
                    0
                } else if i < 100 {
                    1
                } else {
                    2 + i % 2
                }
            })
            .collect();
        let (train, test) = stratified(&groups, 7);
        assert_eq!(train.len() + test.len(), groups.len());
        assert!(train.iter().all(|i| !test.contains(i)));
        let in_test = |g: usize| test.iter().filter(|&&i| groups[i] == g).count();
        assert_eq!((in_test(0), in_test(1)), (10, 10));
        assert_eq!(in_test(2), 1, "two items: one held out");
        assert_eq!(in_test(3), 0, "a lone item stays in training");
        assert_eq!(stratified(&groups, 7), (train.clone(), test.clone()));
        assert_ne!(stratified(&groups, 8).1, test);
    }
}
