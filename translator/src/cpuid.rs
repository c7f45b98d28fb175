//! CPU models: what CPUID reports and which instruction families exist, by
//! QEMU's model names (`486`, `pentium`, `pentium2`, `pentium3`) plus
//! `pentium4`, a Pentium 4 (Northwood) of vemu's own, as QEMU has none.
//!
//! Each model lists the CPUID.1:EDX features the real processor (and QEMU's
//! model) has; the model vemu runs keeps those vemu implements
//! ([`IMPLEMENTED_EDX`]). `-cpu MODEL,+flag,-flag` (QEMU's syntax, also
//! `flag=on|off`) adds and removes features by QEMU's names. Instructions
//! check the features of the running model (#UD without them), and CR4 takes
//! only the bits its features give.
//!
//! Of the extended features (CPUID.80000001H:EDX, [`ext_feature`]) only
//! execute-disable exists on 32-bit processors, and none of the models has it
//! (the Northwood Pentium 4 predates it): `+nx` adds it, and with it the
//! extended leaves 80000000H-80000001H and the IA32_EFER MSR.

use std::fmt;

/// CPUID.1:EDX feature bits, by QEMU's names.
pub mod feature {
    pub const FPU: u32 = 1 << 0;
    pub const VME: u32 = 1 << 1;
    pub const DE: u32 = 1 << 2;
    pub const PSE: u32 = 1 << 3;
    pub const TSC: u32 = 1 << 4;
    pub const MSR: u32 = 1 << 5;
    pub const PAE: u32 = 1 << 6;
    pub const MCE: u32 = 1 << 7;
    pub const CX8: u32 = 1 << 8;
    pub const APIC: u32 = 1 << 9;
    pub const SEP: u32 = 1 << 11;
    pub const MTRR: u32 = 1 << 12;
    pub const PGE: u32 = 1 << 13;
    pub const MCA: u32 = 1 << 14;
    pub const CMOV: u32 = 1 << 15;
    pub const PAT: u32 = 1 << 16;
    pub const PSE36: u32 = 1 << 17;
    pub const CLFLUSH: u32 = 1 << 19;
    pub const MMX: u32 = 1 << 23;
    pub const FXSR: u32 = 1 << 24;
    pub const SSE: u32 = 1 << 25;
    pub const SSE2: u32 = 1 << 26;

    /// QEMU's names of the CPUID.1:EDX bits.
    pub const NAMES: [(&str, u32); 22] = [
        ("fpu", FPU),
        ("vme", VME),
        ("de", DE),
        ("pse", PSE),
        ("tsc", TSC),
        ("msr", MSR),
        ("pae", PAE),
        ("mce", MCE),
        ("cx8", CX8),
        ("apic", APIC),
        ("sep", SEP),
        ("mtrr", MTRR),
        ("pge", PGE),
        ("mca", MCA),
        ("cmov", CMOV),
        ("pat", PAT),
        ("pse36", PSE36),
        ("clflush", CLFLUSH),
        ("mmx", MMX),
        ("fxsr", FXSR),
        ("sse", SSE),
        ("sse2", SSE2),
    ];
}

/// CPUID.80000001H:EDX feature bits, by QEMU's names.
pub mod ext_feature {
    /// Execute-disable: IA32_EFER.NXE and the XD bit of PAE entries.
    pub const NX: u32 = 1 << 20;

    /// QEMU's names of the CPUID.80000001H:EDX bits ("xd" is Intel's name
    /// for "nx", which QEMU accepts too).
    pub const NAMES: [(&str, u32); 2] = [("nx", NX), ("xd", NX)];
}

use feature::*;

/// The CPUID.1:EDX features vemu implements.
pub const IMPLEMENTED_EDX: u32 =
    FPU | DE | PSE | TSC | MSR | PAE | CX8 | APIC | SEP | PGE | CMOV | CLFLUSH | MMX | FXSR | SSE | SSE2;

/// The CPUID.80000001H:EDX features vemu implements.
pub const IMPLEMENTED_EXT_EDX: u32 = ext_feature::NX;

/// The highest extended CPUID leaf of a model with an extended feature.
const XLEVEL: u32 = 0x8000_0001;

/// CPUID.1:ECX: "running under a hypervisor", as QEMU's models report.
const ECX_HYPERVISOR: u32 = 1 << 31;
/// CPUID.1:ECX: the local APIC timer's TSC-deadline mode.
const ECX_TSC_DEADLINE: u32 = 1 << 24;

/// A CPU model.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CpuModel {
    pub name: &'static str,
    pub family: u32,
    pub model: u32,
    pub stepping: u32,
    /// The highest basic CPUID leaf.
    pub level: u32,
    /// The real processor's CPUID.1:EDX features.
    pub nominal_edx: u32,
    /// The features this machine's CPU has.
    pub edx: u32,
    /// Its CPUID.80000001H:EDX features (none in any model: `-cpu` adds them).
    pub ext_edx: u32,
}

const fn model(name: &'static str, family: u32, m: u32, stepping: u32, level: u32, edx: u32) -> CpuModel {
    CpuModel {
        name,
        family,
        model: m,
        stepping,
        level,
        nominal_edx: edx,
        edx: edx & IMPLEMENTED_EDX,
        ext_edx: 0,
    }
}

const I486: u32 = FPU | VME | PSE;
const PENTIUM: u32 = I486 | DE | TSC | MSR | MCE | CX8 | MMX | APIC;
const PENTIUM2: u32 = PENTIUM | PAE | SEP | MTRR | PGE | MCA | CMOV | PAT | PSE36 | FXSR;
const PENTIUM3: u32 = PENTIUM2 | SSE;
const PENTIUM4: u32 = PENTIUM3 | CLFLUSH | SSE2;

/// The models, least capable first; the last is the default.
pub const MODELS: [CpuModel; 5] = [
    model("486", 4, 8, 0, 1, I486),
    model("pentium", 5, 4, 3, 1, PENTIUM),
    model("pentium2", 6, 5, 2, 2, PENTIUM2),
    model("pentium3", 6, 7, 3, 3, PENTIUM3),
    model("pentium4", 15, 2, 7, 2, PENTIUM4),
];

impl Default for CpuModel {
    /// The most capable model.
    fn default() -> CpuModel {
        MODELS[MODELS.len() - 1]
    }
}

/// What `-cpu` was given that vemu cannot use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    UnknownModel(String),
    UnknownFeature(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::UnknownModel(m) => {
                let names: Vec<_> = MODELS.iter().map(|m| m.name).collect();
                write!(
                    f,
                    "unknown CPU model '{m}' (the models are {}; -cpu help lists them)",
                    names.join(", ")
                )
            }
            ModelError::UnknownFeature(x) => write!(f, "unknown CPU feature '{x}'"),
        }
    }
}

impl CpuModel {
    pub fn by_name(name: &str) -> Option<CpuModel> {
        MODELS.iter().copied().find(|m| m.name == name)
    }

    /// Parses QEMU's `-cpu MODEL[,+flag|-flag|flag=on|flag=off]...`. Returns
    /// the model and a warning for each feature asked for that vemu does not
    /// implement (left out, as QEMU's TCG leaves out what it cannot do).
    pub fn parse(spec: &str) -> Result<(CpuModel, Vec<String>), ModelError> {
        let mut parts = spec.split(',');
        let name = parts.next().unwrap_or_default();
        let mut m = CpuModel::by_name(name).ok_or_else(|| ModelError::UnknownModel(name.to_string()))?;
        let mut warnings = Vec::new();
        for p in parts {
            let (flag, on) = if let Some(f) = p.strip_prefix('+') {
                (f, true)
            } else if let Some(f) = p.strip_prefix('-') {
                (f, false)
            } else if let Some(f) = p.strip_suffix("=on") {
                (f, true)
            } else if let Some(f) = p.strip_suffix("=off") {
                (f, false)
            } else {
                return Err(ModelError::UnknownFeature(p.to_string()));
            };
            if let Some(&(_, bit)) = ext_feature::NAMES.iter().find(|(n, _)| *n == flag) {
                // Every extended feature named is implemented.
                if on {
                    m.ext_edx |= bit & IMPLEMENTED_EXT_EDX;
                } else {
                    m.ext_edx &= !bit;
                }
                continue;
            }
            let bit = NAMES
                .iter()
                .find(|(n, _)| *n == flag)
                .map(|(_, b)| *b)
                .ok_or_else(|| ModelError::UnknownFeature(flag.to_string()))?;
            if on {
                m.nominal_edx |= bit;
                if bit & IMPLEMENTED_EDX == 0 {
                    warnings.push(format!(
                        "vemu does not implement CPU feature '{flag}' (CPUID.01H:EDX bit {}); left out",
                        bit.trailing_zeros()
                    ));
                }
                m.edx |= bit & IMPLEMENTED_EDX;
            } else {
                m.nominal_edx &= !bit;
                m.edx &= !bit;
            }
        }
        Ok((m, warnings))
    }

    pub fn has(&self, features: u32) -> bool {
        self.edx & features == features
    }

    /// Whether the APIC timer has its TSC-deadline mode: on vemu's own
    /// model when it has the APIC. QEMU 7.2's TCG has no such mode, so the
    /// models QEMU also has leave it out and answer CPUID as QEMU does.
    pub fn tsc_deadline(&self) -> bool {
        self.has(APIC) && model_in_qemu(self.name).is_none()
    }

    /// Whether the model has the CPUID.80000001H:EDX features `features`.
    pub fn has_ext(&self, features: u32) -> bool {
        self.ext_edx & features == features
    }

    /// The highest extended leaf: 80000001H once an extended feature is on
    /// (QEMU raises its models' extended level so too), else none, and leaves
    /// from 80000000H answer as the highest basic leaf, as on the processors
    /// these models stand for.
    pub fn xlevel(&self) -> u32 {
        if self.ext_edx != 0 {
            XLEVEL
        } else {
            0
        }
    }

    /// The processor signature: CPUID.1:EAX, and EDX after reset.
    pub fn signature(&self) -> u32 {
        self.family << 8 | self.model << 4 | self.stepping
    }

    /// The CPUID leaves: (EAX, EBX, ECX, EDX) for leaf `eax`. A leaf above
    /// the highest one (basic, or extended from 80000000H) answers as the
    /// highest basic one does, as Intel's parts do.
    pub fn leaf(&self, leaf: u32) -> [u32; 4] {
        // "GenuineIntel" in EBX, EDX, ECX order.
        const VENDOR: [u32; 3] = [0x756e_6547, 0x4965_6e69, 0x6c65_746e];
        let top = if leaf >= 0x8000_0000 { self.xlevel() } else { self.level };
        let leaf = if leaf > top { self.level } else { leaf };
        match leaf {
            0 => [self.level, VENDOR[0], VENDOR[2], VENDOR[1]],
            // The extended leaves as QEMU fills them: the vendor beside the
            // highest leaf, the signature beside the features (Intel leaves
            // both reserved).
            0x8000_0000 => [self.xlevel(), VENDOR[0], VENDOR[2], VENDOR[1]],
            0x8000_0001 => [self.signature(), 0, 0, self.ext_edx],
            // EBX: CLFLUSH line size 8 quadwords (as QEMU reports on every
            // model), initial APIC ID 0 in bits 31-24 (the one processor).
            1 => {
                let deadline = if self.tsc_deadline() { ECX_TSC_DEADLINE } else { 0 };
                [self.signature(), 0x800, ECX_HYPERVISOR | deadline, self.edx]
            }
            // Leaf 2's cache and TLB descriptors.
            2 => [1, 0, 0x4d, 0x002c_307d],
            // Leaf 3 (the processor serial number) is off.
            _ => [0; 4],
        }
    }

    /// The `-cpu` option that makes QEMU's model report what this one does
    /// (for the differential runner), or `None` for a model QEMU lacks.
    pub fn qemu_equivalent(&self) -> Option<String> {
        let base = model_in_qemu(self.name)?;
        let mut s = self.name.to_string();
        for (name, bit) in NAMES {
            if base & bit != 0 && self.edx & bit == 0 {
                s += &format!(",-{name}");
            } else if base & bit == 0 && self.edx & bit != 0 {
                s += &format!(",+{name}");
            }
        }
        // QEMU's models of these processors have no extended features.
        if self.has_ext(ext_feature::NX) {
            s += ",+nx";
        }
        Some(s)
    }
}

/// The CPUID.1:EDX features of QEMU's model of that name (the real
/// processor's, as listed here; QEMU has no Pentium 4 model).
fn model_in_qemu(name: &str) -> Option<u32> {
    if name == "pentium4" {
        return None;
    }
    CpuModel::by_name(name).map(|m| m.nominal_edx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_and_flags() {
        let (m, warnings) = CpuModel::parse("pentium3,-cmov,+mca").unwrap();
        assert_eq!(m.signature(), 0x673);
        assert!(!m.has(CMOV) && m.has(FXSR) && m.has(APIC) && !m.has(MCA));
        assert_eq!(warnings.len(), 1, "MCA is asked for but not implemented");
        assert!(!CpuModel::parse("pentium3,-apic").unwrap().0.has(APIC));
        assert_eq!(CpuModel::parse("pentium2,mmx=off").unwrap().0.edx & MMX, 0);
        assert!(matches!(CpuModel::parse("k6"), Err(ModelError::UnknownModel(_))));
        assert!(matches!(CpuModel::parse("486,+sse9"), Err(ModelError::UnknownFeature(_))));
        assert_eq!(CpuModel::default().name, "pentium4");
        assert_eq!(CpuModel::default().leaf(1)[0], 0xf27);
        assert_eq!(CpuModel::by_name("486").unwrap().leaf(7), CpuModel::by_name("486").unwrap().leaf(1));
    }

    #[test]
    fn tsc_deadline_timer_only_on_vemus_own_model() {
        let deadline = |spec: &str| CpuModel::parse(spec).unwrap().0.leaf(1)[2] & ECX_TSC_DEADLINE != 0;
        assert!(deadline("pentium4"));
        assert!(!deadline("pentium4,-apic"), "no APIC, no APIC timer");
        assert!(!deadline("pentium3"), "QEMU's pentium3 has none");
    }

    #[test]
    fn qemu_equivalents_name_what_vemu_lacks() {
        let p2 = CpuModel::by_name("pentium2").unwrap();
        let q = p2.qemu_equivalent().unwrap();
        assert!(
            q.starts_with("pentium2,") && q.contains("-vme") && !q.contains("apic") && !q.contains("-cmov"),
            "{q}"
        );
        assert_eq!(CpuModel::default().qemu_equivalent(), None);
        let nx = CpuModel::parse("pentium3,+xd").unwrap().0;
        assert!(nx.qemu_equivalent().unwrap().ends_with(",+nx"));
    }

    #[test]
    fn pae_is_implemented_nx_is_asked_for() {
        for m in MODELS {
            assert_eq!(m.has(PAE), m.nominal_edx & PAE != 0, "{} has PAE as its nominal list says", m.name);
            assert!(!m.has_ext(ext_feature::NX), "{} has no NX by default", m.name);
        }
        let (p4, warnings) = CpuModel::parse("pentium4,+nx").unwrap();
        assert!(p4.has_ext(ext_feature::NX) && warnings.is_empty());
        assert_eq!(CpuModel::parse("pentium4,xd=on").unwrap().0, p4);
        assert!(!CpuModel::parse("pentium4,+nx,-nx").unwrap().0.has_ext(ext_feature::NX));
    }

    #[test]
    fn extended_leaves_exist_only_with_an_extended_feature() {
        let p4 = CpuModel::default();
        // Without: 80000000H and above answer as the highest basic leaf.
        assert_eq!(p4.leaf(0x8000_0000), p4.leaf(p4.level));
        assert_eq!(p4.leaf(0x8000_0001), p4.leaf(p4.level));
        let nx = CpuModel::parse("pentium4,+nx").unwrap().0;
        assert_eq!(nx.leaf(0x8000_0000)[0], 0x8000_0001);
        assert_eq!(nx.leaf(0x8000_0001)[3], 1 << 20);
        assert_eq!(nx.leaf(0x8000_0001)[0], nx.signature());
        assert_eq!(nx.leaf(0x8000_0002), nx.leaf(nx.level), "above the extended level");
        assert_eq!(nx.leaf(1), p4.leaf(1), "the basic leaves are the same");
    }
}
