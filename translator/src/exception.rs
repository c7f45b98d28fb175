//! Exceptions as values (invariant 1): what an instruction raises, before the
//! VMM layer delivers it through the IVT or IDT.

use std::fmt;

/// Exception and interrupt vectors with architectural meaning.
pub mod vector {
    pub const DE: u8 = 0;
    pub const DB: u8 = 1;
    pub const NMI: u8 = 2;
    pub const BP: u8 = 3;
    pub const OF: u8 = 4;
    pub const BR: u8 = 5;
    pub const UD: u8 = 6;
    pub const NM: u8 = 7;
    pub const DF: u8 = 8;
    pub const TS: u8 = 10;
    pub const NP: u8 = 11;
    pub const SS: u8 = 12;
    pub const GP: u8 = 13;
    pub const PF: u8 = 14;
    pub const MF: u8 = 16;
    pub const AC: u8 = 17;
    pub const XM: u8 = 19;
}

/// An exception raised while executing an instruction.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Exception {
    pub vector: u8,
    /// The error code pushed, for the vectors that push one.
    pub error: Option<u32>,
    /// For #PF: the faulting linear address (goes to CR2).
    pub address: u32,
}

impl Exception {
    pub const fn new(vector: u8, error: Option<u32>) -> Exception {
        Exception { vector, error, address: 0 }
    }
    pub const fn de() -> Exception {
        Exception::new(vector::DE, None)
    }
    pub const fn ud() -> Exception {
        Exception::new(vector::UD, None)
    }
    pub const fn nm() -> Exception {
        Exception::new(vector::NM, None)
    }
    pub const fn xm() -> Exception {
        Exception::new(vector::XM, None)
    }
    pub const fn mf() -> Exception {
        Exception::new(vector::MF, None)
    }
    pub const fn br() -> Exception {
        Exception::new(vector::BR, None)
    }
    pub const fn gp(error: u32) -> Exception {
        Exception::new(vector::GP, Some(error))
    }
    pub const fn ss(error: u32) -> Exception {
        Exception::new(vector::SS, Some(error))
    }
    pub const fn np(error: u32) -> Exception {
        Exception::new(vector::NP, Some(error))
    }
    pub const fn ts(error: u32) -> Exception {
        Exception::new(vector::TS, Some(error))
    }
    pub const fn ac() -> Exception {
        Exception::new(vector::AC, Some(0))
    }
    pub const fn pf(address: u32, error: u32) -> Exception {
        Exception { vector: vector::PF, error: Some(error), address }
    }

    /// How this exception combines with one raised while delivering it
    /// (SDM Vol. 3A table 6-5).
    pub fn class(&self) -> ExceptionClass {
        match self.vector {
            vector::DE | vector::TS | vector::NP | vector::SS | vector::GP => ExceptionClass::Contributory,
            vector::PF => ExceptionClass::PageFault,
            vector::DF => ExceptionClass::DoubleFault,
            _ => ExceptionClass::Benign,
        }
    }
}

/// Classes of SDM Vol. 3A table 6-4.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExceptionClass {
    Benign,
    Contributory,
    PageFault,
    DoubleFault,
}

impl fmt::Debug for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 20] = [
            "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP",
            "#PF", "15", "#MF", "#AC", "#MC", "#XM",
        ];
        match NAMES.get(self.vector as usize) {
            Some(name) => write!(f, "{name}")?,
            None => write!(f, "INT {:#x}", self.vector)?,
        }
        if let Some(e) = self.error {
            write!(f, "({e:#x})")?;
        }
        if self.vector == vector::PF {
            write!(f, " at {:#010x}", self.address)?;
        }
        Ok(())
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Result of anything that can raise an exception.
pub type Fault<T = ()> = Result<T, Exception>;
