//! A small seeded generator (SplitMix64): the same seed gives the same streams
//! on every machine.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * n as u64) >> 32) as u32
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u32) as usize]
    }

    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }

    /// A value with a bias towards the edges that flags care about.
    pub fn interesting(&mut self) -> u32 {
        match self.below(8) {
            0 => self.pick(&[0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff]),
            1 => self.pick(&[0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff_fffe, 0x0000_0100, 0x0f0f_0f0f]),
            2 => self.below(16),
            3 => 0u32.wrapping_sub(self.below(16)),
            _ => self.u32(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.u32(), b.u32());
            let (x, y) = (a.below(10), b.below(10));
            assert!(x < 10 && x == y);
        }
        assert_ne!(Rng::new(1).u32(), Rng::new(2).u32());
    }
}
