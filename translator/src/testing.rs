//! What the unit tests share: a small reproducible random generator
//! (xorshift64*), so that the oracle tests need no dependency, and the
//! number of cases they run.

/// xorshift64*: reproducible operands from a seed.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Cases per operation for the oracle tests: `VEMU_ORACLE_CASES`, else `default`.
pub(crate) fn cases(default: usize) -> usize {
    std::env::var("VEMU_ORACLE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
