//! The labels by name: a faster `HashMap<Vec<u8>, (Label, u64)>` (name to
//! place and line of definition) for this one job. A reader can take it
//! for that map and skip this file: a test drives the two with the same
//! random operations and checks that they agree.
//!
//! `survey` looks up a label for every reference, 800,000 times in a
//! 100 MB program, which has half a million labels: too many for the table
//! to stay in the fastest caches, so a look-up costs about one cache miss
//! per piece of memory it touches. This table touches two: one 24-byte slot
//! (open addressing, linear probing) that holds the label's segment and
//! offset, 32 bits of its name's hash and where the name is; and the name's
//! bytes, copied into one compact arena (9 MB, where the names in the
//! 124 MB input lie far apart). Names are compared only when the hashes
//! match. The line of each definition, needed only for messages, goes into
//! the arena just before its name, so that the slots stay small enough
//! (24 MB for half a million labels) to mostly fit the last-level cache.
//! And pass 3 looks its references up in batches ([`Labels::warm`]), so
//! that their cache misses overlap.

use std::hash::Hasher;

/// A label: the segment it is in and its offset there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Label {
    pub segment: usize,
    pub offset: u64,
}

/// How many label references pass 3 looks up together (see [`Labels::warm`]).
pub(super) const WARM_BATCH: usize = 16;

/// The table.
pub(super) struct Labels {
    /// A power-of-two number of slots, at most half of them used.
    slots: Vec<Slot>,
    /// For each label, the line of its definition (8 bytes, little-endian)
    /// and then its name.
    names: Vec<u8>,
    /// How many slots are used.
    count: usize,
}

/// A place in `Labels::slots`: free, or a label with its name's hash and
/// where its name lies in `Labels::names`. Segment and offset fit 32 bits
/// in any program survey can lay out: `Segments::place` rejects more than
/// 65535 segments or 4 GiB before any label is used, so the saturated
/// values `Labels::insert` may store are never read.
#[derive(Clone, Copy)]
struct Slot {
    name_at: u64,
    name_len: u32,
    hash: u32,
    segment: u32,
    offset: u32,
}

impl Slot {
    const FREE: Slot = Slot { name_at: u64::MAX, name_len: 0, hash: 0, segment: 0, offset: 0 };

    fn is_free(&self) -> bool {
        self.name_at == u64::MAX
    }

    fn name_range(&self) -> std::ops::Range<usize> {
        let start = usize::try_from(self.name_at).unwrap_or(usize::MAX);
        start..start.saturating_add(self.name_len as usize)
    }
}

impl Labels {
    /// An empty table with room for about `count` labels.
    pub fn with_capacity(count: usize) -> Labels {
        let slots = (2 * count).next_power_of_two().max(16);
        Labels { slots: vec![Slot::FREE; slots], names: Vec::with_capacity(count * 20), count: 0 }
    }

    /// Can `name` be a label? Its length must fit the 32 bits of a slot.
    pub fn can_hold(name: &[u8]) -> bool {
        u32::try_from(name.len()).is_ok()
    }

    /// 32 bits of a good 64-bit hash; its low bits pick the first slot.
    fn hash(name: &[u8]) -> u32 {
        let mut hasher = NameHasher::default();
        hasher.write(name);
        (hasher.finish() >> 32) as u32
    }

    /// Where `name` is in `slots`: `Ok` with its slot, or `Err` with the
    /// free slot where it would go.
    fn find(&self, name: &[u8], hash: u32) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.is_free() {
                return Err(i);
            }
            if slot.hash == hash && self.names.get(slot.name_range()) == Some(name) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Brings into the caches the slots and names that looking up `names`
    /// (at most [`WARM_BATCH`]) will read first, so that their cache misses
    /// overlap instead of coming one after another: a table of half a
    /// million labels does not fit the caches, and a look-up that misses
    /// waits for memory twice (slot, then name). Loads that do not depend
    /// on each other, issued close together, are fetched together.
    /// Returns the names' hashes, for [`Labels::get_hashed`].
    pub fn warm<'n>(&self, names: impl Iterator<Item = &'n [u8]>) -> [u32; WARM_BATCH] {
        let mask = self.slots.len() - 1;
        let mut hashes = [0u32; WARM_BATCH];
        let mut count = 0;
        for (hash, name) in hashes.iter_mut().zip(names) {
            *hash = Labels::hash(name);
            count += 1;
        }
        let first_slots = || hashes[..count].iter().map(|&hash| hash as usize & mask);
        let mut touched = 0u64;
        for i in first_slots() {
            touched ^= self.slots[i].name_at;
        }
        for i in first_slots() {
            let at = usize::try_from(self.slots[i].name_at).unwrap_or(usize::MAX);
            touched ^= u64::from(self.names.get(at).copied().unwrap_or(0));
        }
        std::hint::black_box(touched);
        hashes
    }

    pub fn get(&self, name: &[u8]) -> Option<Label> {
        self.get_hashed(name, Labels::hash(name))
    }

    /// [`Labels::get`] for a name whose hash is known already.
    pub fn get_hashed(&self, name: &[u8], hash: u32) -> Option<Label> {
        let i = self.find(name, hash).ok()?;
        Some(self.label_at(i))
    }

    /// The line where `name` is defined (0 if it is not), for messages.
    pub fn definition_line(&self, name: &[u8]) -> u64 {
        self.find(name, Labels::hash(name)).map_or(0, |i| self.line_at(i))
    }

    fn line_at(&self, i: usize) -> u64 {
        let name = self.slots[i].name_range().start;
        let line = name.checked_sub(8).and_then(|at| self.names.get(at..name));
        line.and_then(|bytes| bytes.try_into().ok()).map_or(0, u64::from_le_bytes)
    }

    fn label_at(&self, i: usize) -> Label {
        let slot = &self.slots[i];
        Label { segment: slot.segment as usize, offset: u64::from(slot.offset) }
    }

    /// Every label with its name and the line of its definition, in the
    /// order they were defined (for `survey --labels`).
    pub fn all(&self) -> Vec<(&[u8], Label, u64)> {
        let mut used: Vec<usize> = (0..self.slots.len()).filter(|&i| !self.slots[i].is_free()).collect();
        used.sort_by_key(|&i| self.slots[i].name_at);
        used.into_iter().map(|i| (&self.names[self.slots[i].name_range()], self.label_at(i), self.line_at(i))).collect()
    }

    /// Defines `name` (see `can_hold`) as `label`, at input line `line`;
    /// returns its earlier definition and line, which `label` replaces, if
    /// there was one (as `HashMap::insert` does).
    pub fn insert(&mut self, name: &[u8], label: Label, line: u64) -> Option<(Label, u64)> {
        let hash = Labels::hash(name);
        let segment = u32::try_from(label.segment).unwrap_or(u32::MAX);
        let offset = u32::try_from(label.offset).unwrap_or(u32::MAX);
        let mut free = match self.find(name, hash) {
            Ok(i) => {
                let earlier = (self.label_at(i), self.line_at(i));
                (self.slots[i].segment, self.slots[i].offset) = (segment, offset);
                let name = self.slots[i].name_range().start;
                self.names[name - 8..name].copy_from_slice(&line.to_le_bytes());
                return Some(earlier);
            }
            Err(free) => free,
        };
        if 2 * (self.count + 1) > self.slots.len() {
            self.grow();
            free = self.free_slot(hash);
        }
        self.names.extend_from_slice(&line.to_le_bytes());
        self.slots[free] = Slot { name_at: self.names.len() as u64, name_len: name.len() as u32, hash, segment, offset };
        self.names.extend_from_slice(name);
        self.count += 1;
        None
    }

    /// The first free slot from where `hash` starts looking.
    fn free_slot(&self, hash: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while !self.slots[i].is_free() {
            i = (i + 1) & mask;
        }
        i
    }

    /// Doubles the slots; the hash kept in each says where it goes.
    fn grow(&mut self) {
        let doubled = vec![Slot::FREE; 2 * self.slots.len()];
        let old = std::mem::replace(&mut self.slots, doubled);
        for slot in old.into_iter().filter(|s| !s.is_free()) {
            let i = self.free_slot(slot.hash);
            self.slots[i] = slot;
        }
    }
}

/// A fast hash for label names: each 8-byte chunk of the name (the last
/// one zero-padded, then the length) is folded in with a 64x64->128-bit
/// multiply whose halves are xored, the mixing step of rustc-hash 2 and
/// foldhash. The std hasher resists crafted collisions, which matters for
/// servers, not for a program's own labels, and is slower.
///
/// An earlier FxHasher-style hash (rotate, xor, multiply) mixed so little
/// that one name in seven of a 100 MB program shared its full 64-bit hash
/// with another, and look-ups grew superlinear comparing names.
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl NameHasher {
    /// Folds `word` into `hash`.
    fn mix(hash: u64, word: u64) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let product = u128::from(hash ^ word) * u128::from(K);
        (product as u64) ^ ((product >> 64) as u64)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            hash = NameHasher::mix(hash, u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        hash = NameHasher::mix(hash, u64::from_le_bytes(last));
        self.0 = NameHasher::mix(hash, bytes.len() as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::test_rng::Rng;

    #[test]
    fn the_table_agrees_with_a_hash_map() {
        let mut rng = Rng::new(35);
        // Few enough names that many are defined again; lengths around the
        // hash's 8-byte chunks; some share all but their last byte.
        let names: Vec<Vec<u8>> = (0..3_000)
            .map(|i| {
                let len = rng.below(20);
                let mut name: Vec<u8> = (0..len).map(|_| *rng.pick(b"ab\x00\xff-:$")).collect();
                name.extend_from_slice(format!("{}", i % 1_500).as_bytes());
                name
            })
            .collect();
        let mut table = Labels::with_capacity(1);
        let mut plain: HashMap<Vec<u8>, (Label, u64)> = HashMap::new();
        for step in 0..20_000u64 {
            let name = rng.pick(&names);
            if rng.below(3) == 0 {
                let label = Label { segment: rng.below(5), offset: rng.next() & 0xffff_ffff };
                assert_eq!(table.insert(name, label, step), plain.insert(name.clone(), (label, step)), "{name:?}");
            } else {
                let expected = plain.get(name);
                assert_eq!(table.get(name), expected.map(|&(label, _)| label), "{name:?}");
                assert_eq!(table.definition_line(name), expected.map_or(0, |&(_, line)| line), "{name:?}");
            }
        }
        assert_eq!(table.count, plain.len());
    }

    #[test]
    fn all_lists_the_labels_in_the_order_they_were_defined() {
        let mut table = Labels::with_capacity(1);
        for (i, name) in ["b", "a", "c", "a2"].iter().enumerate() {
            table.insert(name.as_bytes(), Label { segment: i % 2, offset: i as u64 }, 10 + i as u64);
        }
        let all: Vec<(&[u8], usize, u64, u64)> = table.all().into_iter().map(|(n, l, line)| (n, l.segment, l.offset, line)).collect();
        assert_eq!(all, [(&b"b"[..], 0, 0, 10), (b"a", 1, 1, 11), (b"c", 0, 2, 12), (b"a2", 1, 3, 13)]);
    }

    #[test]
    fn the_label_table_grows_and_keeps_every_label_and_line() {
        let mut labels = Labels::with_capacity(1);
        let name = |i: usize| format!("label-{i}").into_bytes();
        for i in 0..5_000 {
            assert!(labels.insert(&name(i), Label { segment: i % 3, offset: 7 * i as u64 }, 10 + i as u64).is_none());
        }
        for i in 0..5_000 {
            let label = labels.get(&name(i)).expect("defined");
            assert_eq!((label.segment, label.offset), (i % 3, 7 * i as u64));
            assert_eq!(labels.definition_line(&name(i)), 10 + i as u64);
        }
        let (earlier, line) = labels.insert(&name(42), Label { segment: 1, offset: 1 }, 99_999).expect("redefined");
        assert_eq!((earlier.segment, earlier.offset, line), (0, 294, 52));
        assert_eq!(labels.definition_line(&name(42)), 99_999);
        assert!(labels.get(b"label-5000").is_none());
        assert_eq!(labels.definition_line(b"label-5000"), 0);
    }

    #[test]
    fn a_warmed_look_up_finds_what_a_plain_one_does() {
        let mut table = Labels::with_capacity(100);
        let names: Vec<Vec<u8>> = (0..40).map(|i| format!("label-{i}").into_bytes()).collect();
        for (i, name) in names.iter().enumerate().step_by(2) {
            table.insert(name, Label { segment: 0, offset: i as u64 }, 1);
        }
        for batch in names.chunks(WARM_BATCH) {
            let hashes = table.warm(batch.iter().map(Vec::as_slice));
            for (name, &hash) in batch.iter().zip(&hashes) {
                assert_eq!(table.get_hashed(name, hash), table.get(name), "{name:?}");
            }
        }
    }

    #[test]
    fn names_that_differ_in_any_8_byte_chunk_or_in_length_hash_apart() {
        let base = b"a-label-name-of-twenty".to_vec();
        for at in 0..base.len() {
            let mut other = base.clone();
            other[at] ^= 1;
            assert_ne!(Labels::hash(&base), Labels::hash(&other), "byte {at}");
        }
        assert_ne!(Labels::hash(b"ab"), Labels::hash(b"ab\x00"), "zero padding");
    }
}
