//! Fixed-window request counters in bounded memory, O(1) amortised per request.
//!
//! Keys are spread over [`SHARDS`] mutex-guarded shards by a per-process random hash (a client cannot
//! aim its addresses at one shard). Each shard keeps two generations of counters, `young` and `old`,
//! and ages them by size, not by time: a key is looked up in `young`, then in `old` (and moved back to
//! `young` with its count intact); a key seen in neither starts a new window in `young`. When `young`
//! is full it becomes `old` and the previous `old` is dropped. A shard therefore never holds more than
//! two generations, the whole limiter never more than `capacity` keys, and a request costs a few hash
//! look-ups plus its share of the occasional drop of one generation (paid once per generation of
//! inserts, and outside the lock) — never a scan that grows with the number of clients.
//!
//! What a flood of fresh addresses does to a client that is already limited: as long as that client
//! keeps sending (and a flooder does), each request moves its counter back into `young`, so it is
//! never dropped and stays limited until its window ends. Its counter is lost only if the client
//! stays silent while its shard sees two full generations of *new* keys — about `capacity / 2` to
//! `capacity` distinct addresses across the process, each of which is itself a fresh bucket with its
//! full allowance. The lost client then starts a fresh window like any new client: at most `max`
//! more requests per window, bought with tens of thousands of other addresses that already carried
//! far more. A flood can therefore never give anyone unlimited requests; at worst it makes the
//! limiter forget clients that have gone quiet, which is the same as those clients arriving anew.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::time::Duration;

use parking_lot::Mutex;

/// Shards of the counter map; spreads lock contention and bounds the work of one ageing step.
pub const SHARDS: usize = 16;

/// Keys kept per limiter when none is given.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed { remaining: u32, reset_secs: u64 },
    Limited { retry_after_secs: u64 },
}

/// `max` requests per `window` per key, for at most `capacity` keys at a time.
pub struct Windows<K> {
    max: u32,
    window_ms: i64,
    /// Keys one generation of one shard holds before it is aged.
    generation: usize,
    pick: RandomState,
    shards: Vec<Mutex<Shard<K>>>,
}

struct Shard<K> {
    young: HashMap<K, Window>,
    old: HashMap<K, Window>,
    /// Hash-map entries visited (look-ups, inserts, entries dropped by ageing), for the cost tests.
    #[cfg(test)]
    work: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    count: u32,
}

impl<K: Hash + Eq> Windows<K> {
    pub fn new(max: u32, window: Duration, capacity: usize) -> Self {
        Windows {
            max,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            generation: (capacity / (2 * SHARDS)).max(1),
            pick: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        young: HashMap::new(),
                        old: HashMap::new(),
                        #[cfg(test)]
                        work: 0,
                    })
                })
                .collect(),
        }
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// Counts one request for `key` at `now_ms` unless its window is spent (refused requests do not
    /// count, so a client that backs off gets its allowance back when the window ends).
    pub fn check(&self, key: K, now_ms: i64) -> Verdict {
        let shard = &self.shards[self.pick.hash_one(&key) as usize % SHARDS];
        // Declared before the guard so that a dropped generation is freed after the lock is released.
        let mut aged_out: Option<HashMap<K, Window>> = None;
        let mut s = shard.lock();
        let w = s.window(key, now_ms, self.generation, &mut aged_out);
        if now_ms - w.start_ms >= self.window_ms {
            *w = Window {
                start_ms: now_ms,
                count: 0,
            };
        }
        let reset_ms = (w.start_ms.saturating_add(self.window_ms) - now_ms).max(0);
        let reset_secs = (reset_ms as u64).div_ceil(1000).max(1);
        if w.count >= self.max {
            return Verdict::Limited {
                retry_after_secs: reset_secs,
            };
        }
        w.count += 1;
        Verdict::Allowed {
            remaining: self.max - w.count,
            reset_secs,
        }
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock();
                s.young.len() + s.old.len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys this limiter can hold.
    pub fn capacity(&self) -> usize {
        SHARDS * 2 * self.generation
    }

    #[cfg(test)]
    fn work(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().work).sum()
    }
}

impl<K: Hash + Eq> Shard<K> {
    /// The live counter of `key`, created or brought back to `young` as needed.
    fn window(
        &mut self,
        key: K,
        now_ms: i64,
        generation: usize,
        aged_out: &mut Option<HashMap<K, Window>>,
    ) -> &mut Window {
        #[cfg(test)]
        {
            self.work += 1;
        }
        let mut start = Window {
            start_ms: now_ms,
            count: 0,
        };
        if !self.young.contains_key(&key) {
            if let Some(carried) = self.old.remove(&key) {
                // Seen in the previous generation: it keeps its window and count.
                start = carried;
            }
            if self.young.len() >= generation {
                let dropped = std::mem::replace(&mut self.old, std::mem::take(&mut self.young));
                #[cfg(test)]
                {
                    self.work += dropped.len() as u64;
                }
                *aged_out = Some(dropped);
            }
        }
        self.young.entry(key).or_insert(start)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::http::rate_limit::key::Client;

    fn v4(n: u32) -> Client {
        Client::from(IpAddr::V4(Ipv4Addr::from(n)))
    }
    /// A distinct /64 for every `n` (and a distinct host inside it, which must not matter).
    fn v6(n: u32) -> Client {
        let prefix = (0x2001_0db8u128 << 96) | (u128::from(n) << 64);
        Client::from(IpAddr::V6(Ipv6Addr::from(prefix | (u128::from(n) * 7 + 1))))
    }

    #[test]
    fn fixed_window_per_key() {
        let rl = Windows::new(2, Duration::from_secs(60), DEFAULT_CAPACITY);
        let (a, b) = (v4(1), v4(2));
        assert_eq!(
            rl.check(a, 0),
            Verdict::Allowed {
                remaining: 1,
                reset_secs: 60
            }
        );
        assert_eq!(
            rl.check(a, 1_000),
            Verdict::Allowed {
                remaining: 0,
                reset_secs: 59
            }
        );
        assert_eq!(
            rl.check(a, 30_000),
            Verdict::Limited {
                retry_after_secs: 30
            }
        );
        assert!(
            matches!(rl.check(b, 30_000), Verdict::Allowed { .. }),
            "other clients unaffected"
        );
        assert!(
            matches!(rl.check(a, 60_000), Verdict::Allowed { .. }),
            "a new window starts"
        );
    }

    #[test]
    fn a_spray_of_200k_addresses_never_exceeds_the_capacity() {
        let rl = Windows::new(100, Duration::from_secs(900), DEFAULT_CAPACITY);
        assert!(rl.capacity() <= DEFAULT_CAPACITY);
        for n in 0..200_000u32 {
            let key = if n % 2 == 0 { v4(n) } else { v6(n) };
            assert!(matches!(rl.check(key, 0), Verdict::Allowed { .. }));
            if n % 1_000 == 0 {
                assert!(rl.len() <= rl.capacity(), "{} keys after {n}", rl.len());
            }
        }
        let held = rl.len();
        assert!(held <= rl.capacity(), "{held}");
        // And it is a cache, not a leak that stopped at some lucky size: most of the spray is still held.
        assert!(held >= rl.capacity() / 2, "{held}");
    }

    #[test]
    fn cost_per_request_does_not_grow_with_the_number_of_clients() {
        // The old limiter scanned every entry on every request once it held 100k; count the entries a
        // request touches instead of timing it.
        let rl = Windows::new(100, Duration::from_secs(900), DEFAULT_CAPACITY);
        let mut previous = 0;
        for round in 0..4u32 {
            for n in 0..50_000u32 {
                rl.check(v4(round * 50_000 + n), 0);
            }
            let work = rl.work() - previous;
            previous = rl.work();
            // One visit per request plus, amortised, one per entry aged out (never more entries
            // than were inserted): a small constant per request whether the map is empty (round
            // 0) or full (rounds 2 and 3). A scan of the map would be 100k visits per request.
            assert!(work <= 3 * 50_000, "round {round}: {work} entries visited");
        }
        assert!(rl.work() <= 2 * 200_000, "{} in all", rl.work());
    }

    #[test]
    fn a_limited_client_stays_limited_while_it_keeps_sending_through_a_spray() {
        let rl = Windows::new(5, Duration::from_secs(900), DEFAULT_CAPACITY);
        let attacker = v6(u32::MAX);
        for _ in 0..5 {
            rl.check(attacker, 0);
        }
        assert!(matches!(rl.check(attacker, 0), Verdict::Limited { .. }));
        // 300k other clients (three times the capacity), the attacker retrying every 1000 of them.
        for n in 0..300_000u32 {
            rl.check(v4(n), 1_000);
            if n % 1_000 == 0 {
                assert!(
                    matches!(rl.check(attacker, 1_000), Verdict::Limited { .. }),
                    "attacker let through after {n} other clients"
                );
            }
        }
    }

    #[test]
    fn a_quiet_limited_client_survives_a_spray_well_below_the_capacity() {
        let rl = Windows::new(5, Duration::from_secs(900), DEFAULT_CAPACITY);
        let attacker = v4(u32::MAX);
        for _ in 0..5 {
            rl.check(attacker, 0);
        }
        // 20k fresh /64s arrive while the attacker is silent: a realistic burst, a fifth of capacity.
        for n in 0..20_000u32 {
            rl.check(v6(n), 1_000);
        }
        assert!(matches!(rl.check(attacker, 2_000), Verdict::Limited { .. }));
    }

    #[test]
    fn ageing_keeps_the_count_of_a_key_brought_back_and_forgets_two_generations_of_silence() {
        let mut shard = Shard {
            young: HashMap::new(),
            old: HashMap::new(),
            work: 0,
        };
        let mut aged = None;
        let mut touch = |shard: &mut Shard<u32>, key: u32| {
            let w = shard.window(key, 0, 2, &mut aged);
            w.count += 1;
            w.count
        };
        assert_eq!(touch(&mut shard, 1), 1);
        assert_eq!(touch(&mut shard, 1), 2);
        touch(&mut shard, 2);
        // Young is full ({1, 2}): key 3 ages it, 1 is now in the old generation.
        touch(&mut shard, 3);
        assert!(shard.old.contains_key(&1) && !shard.young.contains_key(&1));
        assert_eq!(touch(&mut shard, 1), 3, "brought back with its count");
        assert!(shard.young.contains_key(&1) && !shard.old.contains_key(&1));
        // Two full generations of new keys without a word from key 2: it is forgotten.
        for k in 10..14 {
            touch(&mut shard, k);
        }
        assert!(!shard.young.contains_key(&2) && !shard.old.contains_key(&2));
        assert_eq!(touch(&mut shard, 2), 1, "starts a fresh window");
        assert!(shard.young.len() <= 2 && shard.old.len() <= 2);
    }
}
