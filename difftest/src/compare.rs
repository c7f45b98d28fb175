//! Aligning two traces step by step and finding the first divergence.
//!
//! Both traces are first normalised the same way: consecutive steps at the same
//! CS:EIP with no event between them are one step (QEMU logs every iteration of
//! a REP string instruction; vemu logs a long REP once per slice of iterations).
//! Then step k of one must equal step k of the other, field by field, with two
//! exceptions only:
//! - EFLAGS bits the SDM leaves undefined after an instruction (iced-x86's
//!   per-instruction flag information) are masked until an instruction writes
//!   them with a defined value;
//! - a difference an allowlist entry explains (vemu right, QEMU 7.2 wrong, with
//!   the SDM section that says so) is accepted, and that field is excused until
//!   the two sides agree on it again. The pair of values it excused is
//!   remembered: when the same pair turns up later in any field (the value went
//!   through memory and came back), it is the same difference and is excused too.
//!
//! Exceptions delivered must match too (vectors, and error codes where both
//! traces know them); software interrupts are not compared, since QEMU logs them
//! only in protected mode.

use std::fmt::Write as _;

use crate::record::{Event, Step, CPL, CR0, EFL, FIELDS};

/// The pseudo-field of allowlist entries about a #PF's error code.
pub const PF_ERROR: usize = usize::MAX;
/// The pseudo-field of allowlist entries about the error code of an
/// exception raised while an earlier exception or a hardware interrupt of the
/// same step was being delivered (`NESTEDEXT`; any instruction: `*`).
pub const NESTED_ERROR: usize = usize::MAX - 1;
/// The pseudo-field of allowlist entries about segment checks QEMU leaves
/// out (`SEGCHECK`): vemu raises #GP(0) or #SS(0) for an access through a
/// segment and QEMU does not. The traces cannot agree after that, so an entry
/// ends the comparison there, as an explained divergence.
pub const SEG_CHECK: usize = usize::MAX - 2;
/// The pseudo-field of allowlist entries about alignment checking
/// (`ALIGNCHECK`): vemu raises #AC(0) for a misaligned access and QEMU does
/// not; like [`SEG_CHECK`], the comparison ends there.
pub const ALIGN_CHECK: usize = usize::MAX - 4;
/// The pseudo-field of allowlist entries about an instruction that raises a
/// different event in QEMU (`EVENTS`): like [`SEG_CHECK`], the comparison ends
/// there as an explained divergence.
pub const EVENTS: usize = usize::MAX - 3;
/// The pseudo-field of allowlist entries about the code segment's limit in
/// real-address and virtual-8086 mode (`CSLIMIT`): vemu raises #GP(0) for a
/// control transfer to an offset beyond it and QEMU jumps there. The
/// comparison ends there as an explained divergence.
pub const CS_LIMIT: usize = usize::MAX - 5;
/// The pseudo-field of allowlist entries about IRET with EFLAGS.VM set in the
/// image at CPL > 0 (`IRETVM`): vemu makes it a protected-mode return, QEMU
/// returns to virtual-8086 mode. The comparison ends there.
pub const IRET_VM: usize = usize::MAX - 6;

/// One entry of the allowlist.
#[derive(Clone, Debug)]
pub struct AllowEntry {
    /// The instruction whose result may differ (iced-x86 mnemonic, lower case;
    /// `*` for any).
    pub mnemonic: String,
    /// Index into [`FIELDS`], or [`PF_ERROR`], [`NESTED_ERROR`], [`SEG_CHECK`],
    /// [`ALIGN_CHECK`], [`EVENTS`], [`CS_LIMIT`], [`IRET_VM`].
    pub field: usize,
    /// The bits that may differ.
    pub mask: u32,
    /// The SDM section and second opinion, as written in the file.
    pub reason: String,
}

/// Reviewed differences where vemu follows the SDM and QEMU 7.2 does not.
#[derive(Clone, Debug, Default)]
pub struct Allowlist {
    pub entries: Vec<AllowEntry>,
}

impl Allowlist {
    /// Parses lines `MNEMONIC[,MNEMONIC...] FIELD MASK | reason...` (FIELD is a
    /// trace field or PFERR); `#` starts a comment line. Every entry must give a
    /// reason naming the SDM section.
    pub fn parse(text: &str) -> Result<Allowlist, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |why: &str| format!("allowlist line {}: {why}: {line}", n + 1);
            let (head, reason) = line.split_once('|').ok_or_else(|| err("no '| reason'"))?;
            let reason = reason.trim().to_string();
            if !reason.contains("SDM") {
                return Err(err("the reason must name the SDM section"));
            }
            let mut parts = head.split_whitespace();
            let mnemonics = parts.next().ok_or_else(|| err("no mnemonic"))?.to_lowercase();
            let field_name = parts.next().ok_or_else(|| err("no field"))?;
            let field = match field_name {
                "PFERR" => PF_ERROR,
                "NESTEDEXT" => NESTED_ERROR,
                "SEGCHECK" => SEG_CHECK,
                "EVENTS" => EVENTS,
                "ALIGNCHECK" => ALIGN_CHECK,
                "CSLIMIT" => CS_LIMIT,
                "IRETVM" => IRET_VM,
                _ => FIELDS.iter().position(|f| *f == field_name).ok_or_else(|| err("unknown field"))?,
            };
            let mask_text = parts.next().ok_or_else(|| err("no mask"))?;
            let mask =
                u32::from_str_radix(mask_text.trim_start_matches("0x"), 16).map_err(|_| err("bad mask"))?;
            for mnemonic in mnemonics.split(',') {
                entries.push(AllowEntry {
                    mnemonic: mnemonic.to_string(),
                    field,
                    mask,
                    reason: reason.clone(),
                });
            }
        }
        Ok(Allowlist { entries })
    }

    /// The entry about `field` after instruction `mnemonic`, if any.
    fn entry(&self, mnemonic: &str, field: usize) -> Option<&AllowEntry> {
        self.entries.iter().find(|e| (e.mnemonic == mnemonic || e.mnemonic == "*") && e.field == field)
    }
}

/// Merges consecutive steps at the same CS:EIP with no event between them.
pub fn normalise(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for s in steps {
        if let Some(last) = out.last() {
            if s.events.is_empty() && last.state.eip() == s.state.eip() && last.state.cs() == s.state.cs() {
                continue;
            }
        }
        out.push(s);
    }
    out
}

/// The first place the traces disagree.
#[derive(Debug)]
pub struct Divergence {
    /// Index of the step (in the normalised traces).
    pub step: usize,
    pub text: String,
    /// The reason of the allowlist entry that explains it (vemu right, and
    /// the traces cannot agree after it), if one does.
    pub explained: Option<String>,
}

/// What a comparison found.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Steps found equal.
    pub steps: usize,
    /// Allowlisted differences met: (step, reason).
    pub allowed: Vec<(usize, String)>,
    pub divergence: Option<Divergence>,
}

fn exceptions(events: &[Event]) -> Vec<(u8, Option<u32>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Exception { vector, error } => Some((*vector, *error)),
            _ => None,
        })
        .collect()
}

/// Whether the exceptions agree; `pf_mask` are the bits a page fault's error
/// code may differ in, `nested_mask` those of a selector error code (#TS,
/// #NP, #SS, #GP) raised while an earlier exception or hardware interrupt of
/// the step was being delivered (by the allowlist).
fn events_agree(a: &[Event], b: &[Event], pf_mask: u32, nested_mask: u32) -> bool {
    let nested: Vec<bool> = {
        let mut after_event = false;
        a.iter()
            .filter_map(|e| {
                let n = after_event;
                after_event = matches!(e, Event::Exception { .. } | Event::Hardware { .. });
                matches!(e, Event::Exception { .. }).then_some(n)
            })
            .collect()
    };
    let (a, b) = (exceptions(a), exceptions(b));
    a.len() == b.len()
        && a.iter().zip(&b).zip(nested).all(|(((va, ea), (vb, eb)), nested)| {
            let mask = match *va {
                14 => !pf_mask,
                10..=13 if nested => !nested_mask,
                _ => u32::MAX,
            };
            va == vb
                && match (ea, eb) {
                    (Some(x), Some(y)) => (x ^ y) & mask == 0,
                    _ => true,
                }
        })
}

/// Whether the step's events are vemu raising exception `vector` with error
/// code 0 where QEMU raised nothing or something else.
fn vemu_alone_raises(a: &[Event], b: &[Event], vector: u8) -> bool {
    let (a, b) = (exceptions(a), exceptions(b));
    let first = a.first().copied();
    first == Some((vector, Some(0))) && b.first().copied() != first
}

/// EFLAGS.VM.
const VM: u32 = 1 << 17;

/// Whether QEMU's state after a step is at an offset beyond 0xFFFF in
/// real-address or virtual-8086 mode, where CS's limit is 0xFFFF unless
/// protected-mode code left a bigger one in real mode, which the soak never
/// does.
fn beyond_real_cs_limit(qemu: &crate::record::State) -> bool {
    let real_or_v86 = qemu.0[CR0] & 1 == 0 || qemu.0[EFL] & VM != 0;
    real_or_v86 && qemu.eip() > 0xffff
}

/// Whether an instruction reads or writes memory through a segment: a memory
/// operand, the stack, or a string instruction.
fn touches_memory(insn: &crate::record::Insn) -> bool {
    const IMPLICIT: &[&str] = &[
        "push", "pop", "pushad", "popad", "pusha", "popa", "pushfd", "popfd", "pushf", "popf", "call", "ret",
        "retf", "enter", "leave", "movsb", "movsw", "movsd", "stosb", "stosw", "stosd", "lodsb", "lodsw",
        "lodsd", "cmpsb", "cmpsw", "cmpsd", "scasb", "scasw", "scasd", "insb", "insw", "insd", "outsb",
        "outsw", "outsd", "xlatb",
    ];
    insn.text.contains('[') || IMPLICIT.contains(&insn.mnemonic.as_str())
}

/// Compares vemu's trace (which knows its instructions) with QEMU's.
pub fn compare(vemu: &[Step], qemu: &[Step], allow: &Allowlist) -> Comparison {
    let mut result = Comparison::default();
    let mut poison = 0u32;
    let mut excused = [0u32; 21];
    // (vemu, QEMU) value pairs an allowlist entry has excused.
    let mut excused_values: std::collections::HashSet<(u32, u32)> = Default::default();
    let n = vemu.len().max(qemu.len());
    for k in 0..n {
        let (Some(a), Some(b)) = (vemu.get(k), qemu.get(k)) else {
            let which = if k >= vemu.len() { "vemu" } else { "QEMU" };
            result.divergence = Some(Divergence {
                step: k,
                text: format!(
                    "{which}'s trace ends at step {k} while the other goes on\n{}",
                    context(vemu, qemu, k)
                ),
                explained: None,
            });
            return result;
        };
        let mut report = String::new();
        let prev = k.checked_sub(1).and_then(|p| vemu[p].insn.as_ref());
        if !events_agree(&a.events, &b.events, 0, 0) {
            let pf = prev.and_then(|p| allow.entry(&p.mnemonic, PF_ERROR));
            let nested = prev.and_then(|p| allow.entry(&p.mnemonic, NESTED_ERROR));
            let masks = (pf.map_or(0, |e| e.mask), nested.map_or(0, |e| e.mask));
            let vemu_only = |vector: u8| vemu_alone_raises(&a.events, &b.events, vector);
            let seg = prev.and_then(|p| {
                let touches = touches_memory(p);
                let found = |field| allow.entry(&p.mnemonic, field);
                (touches && (vemu_only(12) || vemu_only(13)))
                    .then(|| found(SEG_CHECK))
                    .flatten()
                    .or_else(|| (touches && vemu_only(17)).then(|| found(ALIGN_CHECK)).flatten())
                    .or_else(|| {
                        (vemu_only(13) && beyond_real_cs_limit(&b.state)).then(|| found(CS_LIMIT)).flatten()
                    })
                    .or_else(|| {
                        let before = &vemu[k - 1].state;
                        let vm = |s: &crate::record::State| s.0[EFL] & VM != 0;
                        (before.0[CPL] != 0 && !vm(before) && vm(&b.state) && !vm(&a.state))
                            .then(|| found(IRET_VM))
                            .flatten()
                    })
                    .or_else(|| found(EVENTS))
            });
            match (pf.or(nested), seg) {
                (_, Some(e)) => {
                    let after = prev.map_or(String::new(), |p| p.text.clone());
                    result.divergence = Some(Divergence {
                        step: k,
                        text: format!(
                            "explained divergence at step {k}, after `{after}`: {}\n{}",
                            e.reason,
                            context(vemu, qemu, k)
                        ),
                        explained: Some(e.reason.clone()),
                    });
                    return result;
                }
                (Some(e), None) if events_agree(&a.events, &b.events, masks.0, masks.1) => {
                    result.allowed.push((k, e.reason.clone()))
                }
                _ => {
                    let show = |ev: &[Event]| ev.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ");
                    let _ =
                        writeln!(report, "  events: qemu [{}] vemu [{}]", show(&b.events), show(&a.events));
                }
            }
        }
        for f in 0..FIELDS.len() {
            let mut diff = a.state.0[f] ^ b.state.0[f];
            if f == EFL {
                diff &= !poison;
            }
            if diff == 0 {
                excused[f] = 0;
                continue;
            }
            diff &= !excused[f];
            if diff == 0 {
                continue;
            }
            let (va, vb) = (a.state.0[f], b.state.0[f]);
            // An allowlist entry for the instruction just run explains its bits;
            // what remains must be equal or a pair of values excused before.
            let entry = prev.and_then(|p| allow.entry(&p.mnemonic, f));
            let m = entry.map_or(0, |e| e.mask);
            let (ra, rb) = (va & !m, vb & !m);
            if let Some(entry) = entry.filter(|_| ra == rb || excused_values.contains(&(ra, rb))) {
                excused[f] |= entry.mask | (ra ^ rb);
                excused_values.insert((va, vb));
                // The low word too, when it is where they differ (16-bit moves).
                if (va ^ vb) & 0xffff != 0 {
                    excused_values.insert((va & 0xffff, vb & 0xffff));
                }
                result.allowed.push((k, entry.reason.clone()));
                continue;
            }
            let low_word_excused =
                (va ^ vb) & 0xffff_0000 == 0 && excused_values.contains(&(va & 0xffff, vb & 0xffff));
            if excused_values.contains(&(va, vb)) || low_word_excused {
                excused[f] = va ^ vb;
                continue;
            }
            let _ =
                writeln!(report, "  {:<4} qemu={:08x} vemu={:08x}", FIELDS[f], b.state.0[f], a.state.0[f]);
        }
        if !report.is_empty() {
            let after = prev.map_or("(start)".to_string(), |p| format!("`{}`", p.text));
            result.divergence = Some(Divergence {
                step: k,
                text: format!(
                    "divergence at step {k}, before {:04x}:{:08x}, after {after}:\n{report}{}",
                    a.state.cs(),
                    a.state.eip(),
                    context(vemu, qemu, k)
                ),
                explained: None,
            });
            return result;
        }
        if let Some(i) = &a.insn {
            poison = (poison & !i.defined_flags) | i.undefined_flags;
        }
        result.steps = k + 1;
    }
    result
}

/// Instructions shown before a divergence.
const CONTEXT: usize = 24;

/// The few instructions before step `k`, as vemu ran them.
fn context(vemu: &[Step], qemu: &[Step], k: usize) -> String {
    let mut s = String::from("last instructions (vemu):\n");
    for step in &vemu[k.saturating_sub(CONTEXT)..k.min(vemu.len())] {
        for e in &step.events {
            let _ = writeln!(s, "    {e}");
        }
        let text = step.insn.as_ref().map_or("?", |i| i.text.as_str());
        let _ = writeln!(s, "    {:04x}:{:08x}  {text}", step.state.cs(), step.state.eip());
    }
    if let Some(q) = qemu.get(k) {
        let _ = writeln!(s, "qemu state:  {}", q.state);
    }
    if let Some(v) = vemu.get(k) {
        let _ = writeln!(s, "vemu state:  {}", v.state);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Insn, State};

    /// A step whose instruction writes every arithmetic flag but `undefined`
    /// ("hlt" writes none).
    fn step(eip: u32, eax: u32, efl: u32, insn: &str, undefined: u32) -> Step {
        let mut s = State::default();
        s.0[0] = eax;
        s.0[crate::record::EIP] = eip;
        s.0[EFL] = efl;
        Step {
            events: vec![],
            state: s,
            insn: Some(Insn {
                text: insn.into(),
                mnemonic: insn.split(' ').next().unwrap().into(),
                undefined_flags: undefined,
                defined_flags: if insn == "hlt" { 0 } else { 0x8d5 & !undefined },
            }),
        }
    }

    #[test]
    fn equal_traces_and_a_register_divergence() {
        let a = vec![step(0, 0, 2, "mov", 0), step(5, 1, 2, "add", 0), step(7, 2, 2, "hlt", 0)];
        let b = a.clone();
        let r = compare(&a, &b, &Allowlist::default());
        assert!(r.divergence.is_none());
        assert_eq!(r.steps, 3);
        let mut b2 = b.clone();
        b2[2].state.0[0] = 3;
        let r = compare(&a, &b2, &Allowlist::default());
        let d = r.divergence.unwrap();
        assert_eq!(d.step, 2);
        assert!(d.text.contains("EAX  qemu=00000003 vemu=00000002"), "{}", d.text);
        assert!(d.text.contains("after `add`"), "{}", d.text);
    }

    #[test]
    fn undefined_flags_are_masked_until_redefined() {
        // `mul` leaves AF undefined; `hlt` defines nothing; `add` redefines it.
        let a = vec![
            step(0, 0, 2, "mul", 0x10),
            step(2, 0, 0x12, "hlt", 0),
            step(3, 0, 0x12, "add", 0),
            step(4, 0, 0x12, "x", 0),
        ];
        let mut b = a.clone();
        b[1].state.0[EFL] = 2;
        b[2].state.0[EFL] = 2;
        assert!(compare(&a, &b, &Allowlist::default()).divergence.is_none());
        b[3].state.0[EFL] = 2;
        assert_eq!(compare(&a, &b, &Allowlist::default()).divergence.unwrap().step, 3);
    }

    #[test]
    fn allowlisted_differences_are_excused_until_they_close() {
        let allow =
            Allowlist::parse("# comment\niretd EFL 0x10000 | SDM Vol. 3A 17.3.1.1 | Bochs agrees\n").unwrap();
        let a = vec![step(0, 0, 2, "iretd", 0), step(9, 0, 0x10002, "nop", 0), step(10, 0, 2, "nop", 0)];
        let mut b = a.clone();
        b[1].state.0[EFL] = 2;
        let r = compare(&a, &b, &allow);
        assert!(r.divergence.is_none(), "{:?}", r.divergence);
        assert_eq!(r.allowed.len(), 1);
        assert!(Allowlist::parse("iretd EFL 0x10000 | because").is_err(), "a reason without the SDM");
    }

    #[test]
    fn an_excused_value_that_moves_is_still_excused() {
        let allow = Allowlist::parse("rdtsc EAX 0xffffffff | SDM Vol. 3B 18.17\n").unwrap();
        // rdtsc gives 0x10/0x20; EAX then agrees (5); a pop brings 0x10/0x20 back
        // into ECX: excused. A different difference in ECX afterwards is not.
        let mut a = vec![
            step(0, 0, 2, "rdtsc", 0),
            step(1, 0x10, 2, "mov", 0),
            step(2, 5, 2, "pop", 0),
            step(3, 5, 2, "add", 0),
            step(4, 5, 2, "hlt", 0),
        ];
        let mut b = a.clone();
        b[1].state.0[0] = 0x20;
        a[3].state.0[2] = 0x10;
        b[3].state.0[2] = 0x20;
        assert!(compare(&a, &b, &allow).divergence.is_none());
        a[4].state.0[2] = 0x11;
        b[4].state.0[2] = 0x22;
        assert_eq!(compare(&a, &b, &allow).divergence.unwrap().step, 4);
    }

    #[test]
    fn rep_iterations_collapse_and_lengths_must_match() {
        let a = vec![step(0, 0, 2, "rep", 0), step(0, 1, 2, "rep", 0), step(2, 2, 2, "hlt", 0)];
        assert_eq!(normalise(a.clone()).len(), 2);
        let r = compare(&normalise(a.clone()), &normalise(a[..2].to_vec()), &Allowlist::default());
        assert!(r.divergence.unwrap().text.contains("QEMU's trace ends"));
    }
}
