//! NN-descent's candidate lists ([`super::approximate`]): every item's `width` nearest items found
//! so far, in one flat array of packed keys that the join threads offer to concurrently.
//!
//! A list keeps the best keys by (distance, index), whatever order the offers come in, so the
//! lists a round leaves do not depend on the threads. Each list changes under its own lock; its
//! worst kept distance is readable without it, so the many offers a list would refuse never wait.

use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU32, AtomicU64};

/// Bits of a key that hold the round that put it in its list (0: the start).
const ROUND_BITS: u32 = 4;

/// Most rounds a key records.
pub(crate) const MAX_ROUND: u16 = (1 << ROUND_BITS) - 1;

/// Most items the lists hold: an item's index fills the 28 bits of a key above the round, and the
/// all-ones index marks an empty place.
pub(crate) const MAX_ITEMS: usize = (1 << (32 - ROUND_BITS)) - 1;

/// A list entry packed into one `u64`: the squared distance's bits, the item's index, the round
/// that put it in the list. Distances are never negative, so their bits order as they do, and
/// keys order by (distance, index): the order lists keep, nearer first, ties to the lower
/// index. An index is in a list once at most, so the round never decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key(u64);

impl Key {
    /// An empty place: after every real entry, and its index is no item's.
    const EMPTY: Key = Key(u64::MAX);

    pub(crate) fn new(distance: f32, id: u32, round: u16) -> Key {
        debug_assert!((id as usize) < MAX_ITEMS && round <= MAX_ROUND);
        Key((distance.to_bits() as u64) << 32 | (id as u64) << ROUND_BITS | round as u64)
    }

    pub(crate) fn distance(self) -> f32 {
        f32::from_bits((self.0 >> 32) as u32)
    }

    pub(crate) fn id(self) -> u32 {
        (self.0 as u32) >> ROUND_BITS
    }

    pub(crate) fn round(self) -> u16 {
        (self.0 & MAX_ROUND as u64) as u16
    }

    /// The key without its round: (distance, index).
    fn rank(self) -> u64 {
        self.0 >> ROUND_BITS
    }
}

/// Every item's list: `width` keys per item, nearest first, empty places last.
pub(crate) struct CandidateLists {
    width: usize,
    keys: Vec<AtomicU64>,
    locks: Vec<Mutex<()>>,
    /// Bits of each list's worst kept distance (NaN's while it has an empty place, which refuses
    /// nothing). It only falls.
    worst: Vec<AtomicU32>,
}

impl CandidateLists {
    /// `n` lists of `width` empty places.
    pub(crate) fn empty(n: usize, width: usize) -> Self {
        Self {
            width,
            keys: (0..n * width).map(|_| AtomicU64::new(Key::EMPTY.0)).collect(),
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            worst: (0..n).map(|_| AtomicU32::new(Key::EMPTY.distance().to_bits())).collect(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.locks.len()
    }

    /// List `v`'s keys, nearest first. Read it while no thread offers to it.
    pub(crate) fn list(&self, v: usize) -> impl Iterator<Item = Key> + '_ {
        self.keys[v * self.width..(v + 1) * self.width].iter().map(|key| Key(key.load(Relaxed)))
    }

    /// Offers item `id` at `distance` to list `to`; true if it went in, pushing out the worst.
    /// An offer farther than the list's worst is refused without the lock; one at exactly that
    /// distance still goes through, for the tie rule.
    pub(crate) fn offer(&self, to: u32, id: u32, distance: f32, round: u16) -> bool {
        let to = to as usize;
        if distance > f32::from_bits(self.worst[to].load(Relaxed)) {
            return false;
        }
        let _held = self.locks[to].lock().unwrap_or_else(|e| e.into_inner());
        let list = &self.keys[to * self.width..(to + 1) * self.width];
        let key = Key::new(distance, id, round);
        let mut at = None;
        for (place, kept) in list.iter().enumerate() {
            let kept = Key(kept.load(Relaxed));
            if kept.id() == id {
                return false;
            }
            if at.is_none() && kept.rank() > key.rank() {
                at = Some(place);
            }
        }
        let Some(at) = at else { return false };
        for place in (at + 1..self.width).rev() {
            list[place].store(list[place - 1].load(Relaxed), Relaxed);
        }
        list[at].store(key.0, Relaxed);
        let worst = Key(list[self.width - 1].load(Relaxed)).distance();
        self.worst[to].store(worst.to_bits(), Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_distance_then_index_and_keep_their_parts() {
        let key = Key::new(0.25, 12345, 7);
        assert_eq!((key.distance(), key.id(), key.round()), (0.25, 12345, 7));
        assert!(Key::new(0.1, 900, 3) < Key::new(0.2, 1, 0), "nearer first");
        assert!(Key::new(0.2, 1, 9) < Key::new(0.2, 2, 0), "then the lower index, whatever the round");
        assert!(Key::new(f32::MAX, MAX_ITEMS as u32 - 1, MAX_ROUND) < Key::EMPTY);
        assert_eq!(Key::new(0.0, 0, 0).distance(), 0.0);
    }

    #[test]
    fn a_list_keeps_the_best_offers_in_any_order_and_each_item_once() {
        let offers = [(5, 0.5), (1, 0.1), (9, 0.9), (3, 0.3), (1, 0.1), (4, 0.3), (2, 0.7)];
        let kept = |order: &[usize]| {
            let lists = CandidateLists::empty(1, 3);
            for &i in order {
                let (id, distance) = offers[i];
                lists.offer(0, id, distance, i as u16);
            }
            lists.list(0).map(|key| (key.id(), key.distance())).collect::<Vec<_>>()
        };
        let want = vec![(1, 0.1), (3, 0.3), (4, 0.3)];
        assert_eq!(kept(&[0, 1, 2, 3, 4, 5, 6]), want);
        assert_eq!(kept(&[6, 5, 4, 3, 2, 1, 0]), want);
        let lists = CandidateLists::empty(2, 3);
        assert!(lists.offer(1, 8, 0.4, 1));
        assert!(!lists.offer(1, 8, 0.4, 2), "an item already listed is refused");
        assert_eq!(lists.list(1).filter(|key| *key != Key::EMPTY).count(), 1, "empty places stay last");
        assert!(lists.list(0).all(|key| key == Key::EMPTY), "other lists are untouched");
    }
}
