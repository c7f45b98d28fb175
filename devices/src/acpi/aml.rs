//! A small encoder for ACPI Machine Language (ACPI 6.x, chapter 20, "ACPI
//! Machine Language (AML) Specification"): enough of the grammar to write a
//! PC's DSDT by hand in Rust — names and name strings, integers, strings,
//! buffers and packages, scopes, devices, methods with the few statements
//! and expressions they need, operation regions and fields — and the
//! resource descriptors of `_CRS`/`_PRS` buffers (ACPI 6.x, 6.4 "Resource
//! Data Types for ACPI").
//!
//! Every function returns the encoded bytes of one term; containers take
//! their contents already encoded and add the package length in front. The
//! encoder does not check that a method's body makes sense: `iasl -d` and
//! the guest's interpreter are the judges (the tests run the former).
//!
//! What the encoder is given is vemu's own description of its machine, not
//! guest input: a malformed name or a package too long to encode is a bug
//! here, and panics.

/// The number of bytes a package length takes when the package's contents
/// (after the length) are `content` bytes long: the length counts itself.
fn pkg_length_size(content: usize) -> usize {
    (1..=4).find(|&n| content + n < pkg_length_limit(n)).expect("AML package longer than 256 MiB")
}

/// One more than the largest value a package length of `n` bytes holds: 6
/// bits in one byte; 4 bits in the lead byte plus 8 per byte after it.
fn pkg_length_limit(n: usize) -> usize {
    if n == 1 {
        1 << 6
    } else {
        1 << (4 + 8 * (n - 1))
    }
}

/// Encodes `value` as a PkgLength of `n` bytes: the lead byte's bits 7-6
/// say how many bytes follow; with one byte, bits 5-0 are the value, with
/// more, bits 3-0 are its low nibble and the bytes after it the rest.
fn encode_length(value: usize, n: usize) -> Vec<u8> {
    debug_assert!(value < pkg_length_limit(n));
    if n == 1 {
        return vec![value as u8];
    }
    let mut out = vec![((n - 1) << 6) as u8 | (value & 0x0f) as u8];
    out.extend((0..n - 1).map(|i| (value >> (4 + 8 * i)) as u8));
    out
}

/// A package length for `content` bytes of contents, followed by them.
fn with_pkg_length(content: Vec<u8>) -> Vec<u8> {
    let n = pkg_length_size(content.len());
    let mut out = encode_length(content.len() + n, n);
    out.extend(content);
    out
}

/// A field's width in bits: a package length that does not count itself.
fn field_width(bits: usize) -> Vec<u8> {
    let n = (1..=4).find(|&n| bits < pkg_length_limit(n)).expect("field wider than 2^28 bits");
    encode_length(bits, n)
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// One name segment: one to four characters of `A-Z`, `0-9` and `_`, not
/// starting with a digit, padded with `_` to four.
fn name_seg(seg: &str) -> [u8; 4] {
    let b = seg.as_bytes();
    let valid = (1..=4).contains(&b.len())
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_');
    assert!(valid, "invalid AML name segment {seg:?}");
    let mut out = [b'_'; 4];
    out[..b.len()].copy_from_slice(b);
    out
}

/// A name string: `\` for the root, `^` for each scope up, then segments
/// separated by dots (`\_SB.PCI0.S08`, `^LNKA`, `_S5`). No segment at all
/// is the null name.
pub fn name_string(path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = path;
    if let Some(r) = rest.strip_prefix('\\') {
        out.push(b'\\');
        rest = r;
    } else {
        while let Some(r) = rest.strip_prefix('^') {
            out.push(b'^');
            rest = r;
        }
    }
    let segs: Vec<[u8; 4]> =
        if rest.is_empty() { Vec::new() } else { rest.split('.').map(name_seg).collect() };
    match segs.len() {
        0 => out.push(0x00),
        1 => {}
        2 => out.push(0x2e),
        n => {
            out.push(0x2f);
            out.push(u8::try_from(n).expect("at most 255 name segments"));
        }
    }
    for s in segs {
        out.extend_from_slice(&s);
    }
    out
}

/// An integer in its shortest encoding: Zero, One, or a byte, word, dword
/// or qword constant.
pub fn integer(v: u64) -> Vec<u8> {
    match v {
        0 => vec![0x00],
        1 => vec![0x01],
        0x02..=0xff => vec![0x0a, v as u8],
        0x100..=0xffff => [&[0x0b][..], &(v as u16).to_le_bytes()].concat(),
        0x1_0000..=0xffff_ffff => [&[0x0c][..], &(v as u32).to_le_bytes()].concat(),
        _ => [&[0x0e][..], &v.to_le_bytes()].concat(),
    }
}

/// A string constant (ASCII, no NUL inside).
pub fn string(s: &str) -> Vec<u8> {
    assert!(s.is_ascii() && !s.contains('\0'), "AML strings are ASCII without NUL");
    let mut out = vec![0x0d];
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    out
}

/// A compressed EISA ID (`EisaId ("PNP0A03")`): three letters of five bits
/// and four hex digits, stored so that the bytes read 0x41 0xd0 0x0a 0x03.
pub fn eisa_id(id: &str) -> Vec<u8> {
    let b = id.as_bytes();
    assert!(
        b.len() == 7
            && b[..3].iter().all(|c| c.is_ascii_uppercase())
            && b[3..].iter().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "invalid EISA ID {id:?}"
    );
    let letter = |c: u8| (c - b'@') as u32;
    let digit = |c: u8| (c as char).to_digit(16).expect("checked above");
    let v = letter(b[0]) << 26
        | letter(b[1]) << 21
        | letter(b[2]) << 16
        | digit(b[3]) << 12
        | digit(b[4]) << 8
        | digit(b[5]) << 4
        | digit(b[6]);
    [&[0x0c][..], &v.to_be_bytes()].concat()
}

/// `Buffer (n) { bytes }`.
pub fn buffer(bytes: &[u8]) -> Vec<u8> {
    let mut content = integer(bytes.len() as u64);
    content.extend_from_slice(bytes);
    [vec![0x11], with_pkg_length(content)].concat()
}

/// `Package (n) { elements }` (at most 255 elements).
pub fn package(elements: &[Vec<u8>]) -> Vec<u8> {
    let count = u8::try_from(elements.len()).expect("a Package holds at most 255 elements");
    let mut content = vec![count];
    content.extend(concat(elements));
    [vec![0x12], with_pkg_length(content)].concat()
}

/// `Name (path, value)`.
pub fn name(path: &str, value: Vec<u8>) -> Vec<u8> {
    [vec![0x08], name_string(path), value].concat()
}

/// `Scope (path) { terms }`.
pub fn scope(path: &str, terms: &[Vec<u8>]) -> Vec<u8> {
    [vec![0x10], with_pkg_length([name_string(path), concat(terms)].concat())].concat()
}

/// `Device (path) { terms }`.
pub fn device(path: &str, terms: &[Vec<u8>]) -> Vec<u8> {
    [vec![0x5b, 0x82], with_pkg_length([name_string(path), concat(terms)].concat())].concat()
}

/// `Method (path, args, Serialized|NotSerialized) { body }` (sync level 0).
pub fn method(path: &str, args: u8, serialized: bool, body: &[Vec<u8>]) -> Vec<u8> {
    assert!(args <= 7, "a method takes at most 7 arguments");
    let flags = args | (serialized as u8) << 3;
    [vec![0x14], with_pkg_length([name_string(path), vec![flags], concat(body)].concat())].concat()
}

/// Address spaces of an operation region.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegionSpace {
    SystemMemory = 0,
    SystemIo = 1,
    /// The configuration space of the PCI function the enclosing device's
    /// `_ADR` names, on the bus of its host bridge.
    PciConfig = 2,
}

/// `OperationRegion (name, space, offset, length)`.
pub fn op_region(path: &str, space: RegionSpace, offset: u32, length: u32) -> Vec<u8> {
    [vec![0x5b, 0x80], name_string(path), vec![space as u8], integer(offset as u64), integer(length as u64)]
        .concat()
}

/// How a field's accesses reach its region.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FieldAccess {
    Any = 0,
    Byte = 1,
    Word = 2,
    DWord = 3,
}

/// What a field write does to the bits of the access unit it does not cover.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FieldUpdate {
    Preserve = 0,
    WriteAsOnes = 1,
    WriteAsZeros = 2,
}

/// One entry of a field list.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FieldUnit<'a> {
    /// A named unit of this many bits.
    Named(&'a str, usize),
    /// This many bits skipped.
    Reserved(usize),
}

/// `Field (region, access, NoLock, update) { units }`.
pub fn field(region: &str, access: FieldAccess, update: FieldUpdate, units: &[FieldUnit]) -> Vec<u8> {
    let flags = access as u8 | (update as u8) << 5;
    let mut list = Vec::new();
    for u in units {
        match *u {
            FieldUnit::Named(n, bits) => {
                list.extend_from_slice(&name_seg(n));
                list.extend(field_width(bits));
            }
            FieldUnit::Reserved(bits) => {
                list.push(0x00);
                list.extend(field_width(bits));
            }
        }
    }
    [vec![0x5b, 0x81], with_pkg_length([name_string(region), vec![flags], list].concat())].concat()
}

/// `ArgN` (0-6).
pub fn arg(n: u8) -> Vec<u8> {
    assert!(n <= 6, "Arg0-Arg6");
    vec![0x68 + n]
}

/// A reference to a named object (its value when evaluated).
pub fn name_ref(path: &str) -> Vec<u8> {
    name_string(path)
}

/// A call to the method at `path` with `args` (as many as it declares).
pub fn call(path: &str, args: &[Vec<u8>]) -> Vec<u8> {
    [name_string(path), concat(args)].concat()
}

/// `Return (value)`.
pub fn ret(value: Vec<u8>) -> Vec<u8> {
    [vec![0xa4], value].concat()
}

/// `Store (source, destination)`: `destination = source`.
pub fn store(source: Vec<u8>, destination: Vec<u8>) -> Vec<u8> {
    [vec![0x70], source, destination].concat()
}

/// `If (predicate) { body }`.
pub fn if_(predicate: Vec<u8>, body: &[Vec<u8>]) -> Vec<u8> {
    [vec![0xa0], with_pkg_length([predicate, concat(body)].concat())].concat()
}

/// `LLess (a, b)`: `a < b`.
pub fn lless(a: Vec<u8>, b: Vec<u8>) -> Vec<u8> {
    [vec![0x95], a, b].concat()
}

/// `And (a, b, target)`; `target` None stores nowhere (the value is the result).
pub fn and(a: Vec<u8>, b: Vec<u8>, target: Option<Vec<u8>>) -> Vec<u8> {
    [vec![0x7b], a, b, target.unwrap_or(vec![0x00])].concat()
}

/// `Or (a, b, target)`; `target` None stores nowhere.
pub fn or(a: Vec<u8>, b: Vec<u8>, target: Option<Vec<u8>>) -> Vec<u8> {
    [vec![0x7d], a, b, target.unwrap_or(vec![0x00])].concat()
}

/// `CreateDWordField (source, byte_index, name)`.
pub fn create_dword_field(source: Vec<u8>, byte_index: Vec<u8>, name: &str) -> Vec<u8> {
    [vec![0x8a], source, byte_index, name_string(name)].concat()
}

/// Resource descriptors, for `ResourceTemplate ()` buffers.
pub mod resource {
    use super::buffer;

    /// A resource template: the descriptors and the end tag (checksum 0,
    /// which says "not computed").
    pub fn template(descriptors: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = descriptors.concat();
        bytes.extend_from_slice(&[0x79, 0x00]);
        buffer(&bytes)
    }

    /// A large descriptor: its tag, then the length of what follows.
    fn large(tag: u8, body: Vec<u8>) -> Vec<u8> {
        let len = u16::try_from(body.len()).expect("descriptor body fits 16 bits");
        [vec![tag], len.to_le_bytes().to_vec(), body].concat()
    }

    /// `IRQNoFlags () {irq}`: an ISA interrupt, edge-triggered, active high.
    pub fn irq_no_flags(irq: u8) -> Vec<u8> {
        assert!(irq < 16, "ISA IRQ 0-15");
        let mask = 1u16 << irq;
        [vec![0x22], mask.to_le_bytes().to_vec()].concat()
    }

    /// `IO (Decode16, min, max, alignment, length)`.
    pub fn io(min: u16, max: u16, alignment: u8, length: u8) -> Vec<u8> {
        [vec![0x47, 0x01], min.to_le_bytes().to_vec(), max.to_le_bytes().to_vec(), vec![alignment, length]]
            .concat()
    }

    /// `DMA (Compatibility, NotBusMaster, Transfer8) {channel}`.
    pub fn dma(channel: u8) -> Vec<u8> {
        assert!(channel < 8, "ISA DMA channel 0-7");
        vec![0x2a, 1 << channel, 0x00]
    }

    /// `Memory32Fixed (ReadWrite|ReadOnly, base, length)`.
    pub fn memory32_fixed(base: u32, length: u32, writable: bool) -> Vec<u8> {
        large(
            0x86,
            [vec![writable as u8], base.to_le_bytes().to_vec(), length.to_le_bytes().to_vec()].concat(),
        )
    }

    /// The general flags of a bridge's address space descriptors:
    /// ResourceProducer, PosDecode, MinFixed, MaxFixed.
    const PRODUCER_FIXED: u8 = 1 << 2 | 1 << 3;

    /// A word (16-bit) address space descriptor: resource type, type flags,
    /// then granularity 0, min, max, translation 0 and length.
    fn word_space(kind: u8, type_flags: u8, min: u16, max: u16) -> Vec<u8> {
        let len = max.wrapping_sub(min).wrapping_add(1);
        let mut body = vec![kind, PRODUCER_FIXED, type_flags];
        for v in [0, min, max, 0, len] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        large(0x88, body)
    }

    /// `WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0,
    /// min, max, 0, max - min + 1)`.
    pub fn word_bus_number(min: u16, max: u16) -> Vec<u8> {
        word_space(2, 0, min, max)
    }

    /// `WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode,
    /// EntireRange, 0, min, max, 0, max - min + 1)`.
    pub fn word_io(min: u16, max: u16) -> Vec<u8> {
        word_space(1, 3, min, max)
    }

    /// `DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
    /// Cacheable|NonCacheable, ReadWrite, 0, min, max, 0, max - min + 1)`.
    pub fn dword_memory(min: u32, max: u32, cacheable: bool) -> Vec<u8> {
        let type_flags = 1 | (cacheable as u8) << 1;
        let len = max.wrapping_sub(min).wrapping_add(1);
        let mut body = vec![0, PRODUCER_FIXED, type_flags];
        for v in [0, min, max, 0, len] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        large(0x87, body)
    }

    /// Interrupt trigger modes.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub enum Trigger {
        Level,
        Edge,
    }

    /// Interrupt polarities.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    pub enum Polarity {
        ActiveHigh,
        ActiveLow,
    }

    /// `Interrupt (ResourceConsumer, trigger, polarity, Exclusive|Shared)
    /// {irqs}`: the extended interrupt descriptor, whose first interrupt
    /// number is the dword at byte 5.
    pub fn interrupt(trigger: Trigger, polarity: Polarity, shared: bool, irqs: &[u32]) -> Vec<u8> {
        let count = u8::try_from(irqs.len()).expect("at most 255 interrupts");
        let flags = 1
            | ((trigger == Trigger::Edge) as u8) << 1
            | ((polarity == Polarity::ActiveLow) as u8) << 2
            | (shared as u8) << 3;
        let mut body = vec![flags, count];
        for irq in irqs {
            body.extend_from_slice(&irq.to_le_bytes());
        }
        large(0x89, body)
    }
}

#[cfg(test)]
mod tests {
    use super::resource::*;
    use super::*;

    /// The package length in front of `encoded[at..]` and the bytes it
    /// takes, decoded as the ACPI spec says (and as an interpreter reads it).
    fn decode_pkg_length(encoded: &[u8]) -> (usize, usize) {
        let lead = encoded[0];
        let follow = (lead >> 6) as usize;
        if follow == 0 {
            return ((lead & 0x3f) as usize, 1);
        }
        let mut v = (lead & 0x0f) as usize;
        for i in 0..follow {
            v |= (encoded[1 + i] as usize) << (4 + 8 * i);
        }
        (v, follow + 1)
    }

    #[test]
    fn package_lengths_at_each_size_boundary() {
        // (contents, bytes the length takes): the length counts itself, so
        // 62 bytes of contents still fit one byte (63) and 63 do not.
        for (content, size) in
            [(0, 1), (62, 1), (63, 2), (4093, 2), (4094, 3), ((1 << 20) - 4, 3), ((1 << 20) - 3, 4)]
        {
            let encoded = with_pkg_length(vec![0xaa; content]);
            let (value, taken) = decode_pkg_length(&encoded);
            assert_eq!(taken, size, "{content} bytes of contents");
            assert_eq!(value, content + size, "the length counts itself ({content} bytes)");
            assert_eq!(encoded.len(), value);
            if size > 1 {
                assert_eq!(encoded[0] & 0x30, 0, "bits 5-4 of a multi-byte lead are zero");
            }
        }
    }

    #[test]
    fn field_widths_do_not_count_themselves() {
        assert_eq!(field_width(8), [0x08]);
        assert_eq!(field_width(63), [0x3f]);
        assert_eq!(field_width(64), [0x40, 0x04]);
        assert_eq!(decode_pkg_length(&field_width(0x1234)), (0x1234, 3));
    }

    #[test]
    fn name_strings() {
        assert_eq!(name_string("_S5"), b"_S5_");
        assert_eq!(name_string("PCI0"), b"PCI0");
        assert_eq!(name_string("\\"), [b'\\', 0x00]);
        assert_eq!(name_string("\\_SB"), b"\\_SB_");
        assert_eq!(name_string("PCI0.S08"), b"\x2ePCI0S08_");
        assert_eq!(name_string("\\_SB.PCI0.S08.P40C"), b"\\\x2f\x04_SB_PCI0S08_P40C");
        assert_eq!(name_string("^^LNKA"), b"^^LNKA");
        assert_eq!(name_string("^PCI0.S08"), b"^\x2ePCI0S08_");
    }

    #[test]
    #[should_panic(expected = "invalid AML name segment")]
    fn lower_case_names_are_refused() {
        name_string("\\_SB.pci0");
    }

    #[test]
    #[should_panic(expected = "invalid AML name segment")]
    fn long_segments_are_refused() {
        name_string("PCI00");
    }

    #[test]
    fn integers_take_their_shortest_form() {
        assert_eq!(integer(0), [0x00]);
        assert_eq!(integer(1), [0x01]);
        assert_eq!(integer(2), [0x0a, 0x02]);
        assert_eq!(integer(0xff), [0x0a, 0xff]);
        assert_eq!(integer(0x100), [0x0b, 0x00, 0x01]);
        assert_eq!(integer(0xffff), [0x0b, 0xff, 0xff]);
        assert_eq!(integer(0x1_0000), [0x0c, 0x00, 0x00, 0x01, 0x00]);
        assert_eq!(integer(0xfec0_0000), [0x0c, 0x00, 0x00, 0xc0, 0xfe]);
        assert_eq!(integer(0x1_0000_0000), [0x0e, 0, 0, 0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn eisa_ids_are_compressed() {
        // The bytes SeaBIOS's DSDT parser looks for: 0x41 0xd0, then the
        // product number's two bytes.
        assert_eq!(eisa_id("PNP0303"), [0x0c, 0x41, 0xd0, 0x03, 0x03]);
        assert_eq!(eisa_id("PNP0A03"), [0x0c, 0x41, 0xd0, 0x0a, 0x03]);
        assert_eq!(eisa_id("PNP0C0F"), [0x0c, 0x41, 0xd0, 0x0c, 0x0f]);
    }

    #[test]
    fn strings_buffers_and_packages() {
        assert_eq!(string("ACPI0006"), b"\x0dACPI0006\x00");
        assert_eq!(buffer(&[1, 2, 3]), [0x11, 0x06, 0x0a, 0x03, 1, 2, 3]);
        assert_eq!(buffer(&[]), [0x11, 0x02, 0x00]);
        let big = buffer(&[0; 100]);
        assert_eq!(&big[..4], [0x11, 0x40 | ((100 + 2 + 2) & 0x0f) as u8, ((100 + 2 + 2) >> 4) as u8, 0x0a]);
        assert_eq!(
            package(&[integer(0), integer(0), integer(0), integer(0)]),
            [0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00]
        );
    }

    #[test]
    fn named_objects() {
        assert_eq!(name("_UID", integer(1)), b"\x08_UID\x01");
        assert_eq!(scope("\\", &[]), [0x10, 0x03, b'\\', 0x00]);
        assert_eq!(device("KBD", &[name("_STA", integer(0xf))]), b"\x5b\x82\x0cKBD_\x08_STA\x0a\x0f");
        assert_eq!(method("_STA", 0, false, &[ret(integer(0x0b))]), b"\x14\x09_STA\x00\xa4\x0a\x0b");
        assert_eq!(method("IQCR", 1, true, &[]), b"\x14\x06IQCR\x09");
        assert_eq!(op_region("P40C", RegionSpace::PciConfig, 0x60, 4), b"\x5b\x80P40C\x02\x0a\x60\x0a\x04");
        assert_eq!(
            field(
                "PCI0.S08.P40C",
                FieldAccess::Byte,
                FieldUpdate::Preserve,
                &[FieldUnit::Named("PRQ0", 8), FieldUnit::Reserved(8), FieldUnit::Named("PRQ2", 8)]
            ),
            b"\x5b\x81\x1c\x2f\x03PCI0S08_P40C\x01PRQ0\x08\x00\x08PRQ2\x08"
        );
    }

    #[test]
    fn statements_and_expressions() {
        assert_eq!(store(arg(0), name_ref("PRRI")), b"\x70\x68PRRI");
        assert_eq!(if_(lless(arg(0), integer(0x80)), &[]), [0xa0, 0x05, 0x95, 0x68, 0x0a, 0x80]);
        assert_eq!(and(integer(0x80), arg(0), None), [0x7b, 0x0a, 0x80, 0x68, 0x00]);
        assert_eq!(or(name_ref("PRQ0"), integer(0x80), Some(name_ref("PRQ0"))), b"\x7dPRQ0\x0a\x80PRQ0");
        assert_eq!(create_dword_field(arg(0), integer(5), "PRRI"), b"\x8a\x68\x0a\x05PRRI");
        assert_eq!(call("IQST", &[name_ref("PRQ0")]), b"IQSTPRQ0");
    }

    #[test]
    fn small_resource_descriptors() {
        assert_eq!(irq_no_flags(1), [0x22, 0x02, 0x00]);
        assert_eq!(irq_no_flags(12), [0x22, 0x00, 0x10]);
        assert_eq!(io(0x3f8, 0x3f8, 0, 8), [0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08]);
        assert_eq!(dma(2), [0x2a, 0x04, 0x00]);
        assert_eq!(template(&[irq_no_flags(8)]), [0x11, 0x08, 0x0a, 0x05, 0x22, 0x00, 0x01, 0x79, 0x00]);
    }

    #[test]
    fn large_resource_descriptors() {
        assert_eq!(
            memory32_fixed(0xfec0_0000, 0x1000, true),
            [0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xc0, 0xfe, 0x00, 0x10, 0x00, 0x00]
        );
        let bus = word_bus_number(0, 0xff);
        assert_eq!(bus.len(), 16);
        assert_eq!(&bus[..6], [0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00]);
        assert_eq!(&bus[14..], [0x00, 0x01], "length 0x100");
        let io = word_io(0x0d00, 0xffff);
        assert_eq!(&io[3..6], [0x01, 0x0c, 0x03], "I/O, producer min/max fixed, entire range");
        assert_eq!(&io[8..10], [0x00, 0x0d]);
        assert_eq!(&io[14..], [0x00, 0xf3], "length 0xf300");
        let mem = dword_memory(0x0800_0000, 0xfebf_ffff, false);
        assert_eq!(mem.len(), 26);
        assert_eq!(&mem[..6], [0x87, 0x17, 0x00, 0x00, 0x0c, 0x01]);
        assert_eq!(&mem[10..14], 0x0800_0000u32.to_le_bytes());
        assert_eq!(&mem[22..], 0xf6c0_0000u32.to_le_bytes());
        assert_eq!(dword_memory(0xa0000, 0xbffff, true)[5], 0x03, "cacheable, read-write");
        let int = interrupt(Trigger::Level, Polarity::ActiveHigh, true, &[5, 10, 11]);
        assert_eq!(&int[..5], [0x89, 0x0e, 0x00, 0x09, 0x03]);
        assert_eq!(&int[5..9], 5u32.to_le_bytes(), "the first interrupt at byte 5");
        assert_eq!(interrupt(Trigger::Edge, Polarity::ActiveLow, false, &[9])[3], 0x07);
    }
}
