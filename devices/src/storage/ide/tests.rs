//! What drivers (SeaBIOS, libata's ata_piix, DOS-era PIO code) rely on, seen
//! through the ports, the bus-master registers and guest memory.

use std::io;
use std::sync::{Arc, Mutex};

use super::busmaster as bm;
use super::*;
use crate::dma::TestMemory;
use crate::storage::image::MemBackend;

const P: u16 = 0x1f0;
const P_CTL: u16 = 0x3f6;
const S: u16 = 0x170;
/// Bus-master register blocks of the two channels.
const BM_P: u8 = 0;
const BM_S: u8 = 8;

const BSY: u8 = status::BSY;
const DRDY: u8 = status::DRDY;
const DSC: u8 = status::DSC;
const DRQ: u8 = status::DRQ;
const ERR: u8 = status::ERR;
const ABRT: u8 = error::ABRT;

/// A backend the test keeps a handle on, to look at what the guest wrote.
struct Shared(Arc<Mutex<MemBackend>>);

impl BlockBackend for Shared {
    fn len(&self) -> u64 {
        self.0.lock().unwrap().len()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.lock().unwrap().read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap().write_at(offset, data)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap().flush()
    }
    fn read_only(&self) -> bool {
        self.0.lock().unwrap().read_only
    }
}

/// A large image of zeros that takes no memory.
struct Blank(u64);

impl BlockBackend for Blank {
    fn len(&self) -> u64 {
        self.0
    }
    fn read_at(&mut self, _: u64, buf: &mut [u8]) -> io::Result<()> {
        buf.fill(0);
        Ok(())
    }
    fn write_at(&mut self, _: u64, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn read_only(&self) -> bool {
        false
    }
}

fn shared(data: Vec<u8>) -> (Box<dyn BlockBackend>, Arc<Mutex<MemBackend>>) {
    let m = Arc::new(Mutex::new(MemBackend::new(data)));
    (Box::new(Shared(m.clone())), m)
}

/// `sectors` sectors of `size` bytes, each different.
fn patterned(sectors: usize, size: usize) -> Vec<u8> {
    (0..sectors * size).map(|i| ((i / size) as u8).wrapping_mul(31) ^ (i as u8)).collect()
}

/// A controller with a 64 MiB disk (131072 sectors) as primary master.
fn with_disk() -> (Ide, Arc<Mutex<MemBackend>>) {
    let (backend, image) = shared(patterned(131072, 512));
    let mut ide = Ide::new();
    ide.attach(IdeChannel::Primary, IdeUnit::Master, Drive::disk(backend).unwrap());
    (ide, image)
}

/// A controller with a disk as primary master and a CD-ROM drive with a
/// 40-sector disc as secondary master.
fn with_disk_and_cdrom() -> (Ide, Arc<Mutex<MemBackend>>) {
    let (mut ide, image) = with_disk();
    let (disc, _) = shared(patterned(40, 2048));
    ide.attach(IdeChannel::Secondary, IdeUnit::Master, Drive::cdrom(Some(disc)));
    (ide, image)
}

fn outb(ide: &mut Ide, port: u16, v: u8) {
    ide.write(port, 1, v as u32);
}

fn inb(ide: &mut Ide, port: u16) -> u8 {
    ide.read(port, 1) as u8
}

fn status(ide: &mut Ide, base: u16) -> u8 {
    inb(ide, base + 7)
}

fn command(ide: &mut Ide, base: u16, cmd: u8) {
    outb(ide, base + 7, cmd);
}

/// Reads `n` bytes from the data port, 16 bits at a time.
fn read_data(ide: &mut Ide, base: u16, n: usize) -> Vec<u8> {
    (0..n.div_ceil(2)).flat_map(|_| (ide.read(base, 2) as u16).to_le_bytes()).take(n).collect()
}

fn write_data(ide: &mut Ide, base: u16, data: &[u8]) {
    for pair in data.chunks(2) {
        let lo = pair[0] as u32;
        let hi = pair.get(1).copied().unwrap_or(0) as u32;
        ide.write(base, 2, lo | hi << 8);
    }
}

/// Loads an LBA28 address and a sector count for `unit`.
fn lba28(ide: &mut Ide, base: u16, unit: u8, lba: u32, count: u8) {
    outb(ide, base + 6, 0xe0 | unit << 4 | (lba >> 24) as u8 & 0x0f);
    outb(ide, base + 2, count);
    outb(ide, base + 3, lba as u8);
    outb(ide, base + 4, (lba >> 8) as u8);
    outb(ide, base + 5, (lba >> 16) as u8);
}

/// Loads an LBA48 address and count (high-order bytes first, as libata does).
fn lba48(ide: &mut Ide, base: u16, lba: u64, count: u16) {
    outb(ide, base + 6, 0x40);
    let b = lba.to_le_bytes();
    let c = count.to_le_bytes();
    for (reg, hi, lo) in [(2, c[1], c[0]), (3, b[3], b[0]), (4, b[4], b[1]), (5, b[5], b[2])] {
        outb(ide, base + reg, hi);
        outb(ide, base + reg, lo);
    }
}

fn identify(ide: &mut Ide, base: u16, cmd: u8) -> Vec<u16> {
    command(ide, base, cmd);
    let channel = if base == P { IdeChannel::Primary } else { IdeChannel::Secondary };
    assert!(ide.irq_level(channel));
    assert_eq!(status(ide, base), DRDY | DSC | DRQ);
    let data = read_data(ide, base, 512);
    assert_eq!(status(ide, base), DRDY | DSC);
    data.chunks(2).map(|w| u16::from_le_bytes([w[0], w[1]])).collect()
}

/// An ATA string from IDENTIFY words (first character in the high byte).
fn ata_string(words: &[u16]) -> String {
    words.iter().flat_map(|w| w.to_be_bytes()).map(char::from).collect::<String>().trim_end().to_string()
}

#[test]
fn signatures_after_soft_reset() {
    let (mut ide, _) = with_disk();
    let (disc, _) = shared(patterned(4, 2048));
    ide.attach(IdeChannel::Primary, IdeUnit::Slave, Drive::cdrom(Some(disc)));
    outb(&mut ide, P + 2, 0x55);
    outb(&mut ide, P_CTL, control::SRST);
    assert_eq!(inb(&mut ide, P_CTL) & BSY, BSY, "busy while SRST is held");
    outb(&mut ide, P_CTL, 0);
    // The disk: ATA signature, diagnostic passed, ready; it interrupts.
    assert!(ide.irq_level(IdeChannel::Primary));
    assert_eq!([2, 3, 4, 5].map(|r| inb(&mut ide, P + r)), [1, 1, 0x00, 0x00]);
    assert_eq!(inb(&mut ide, P + 1), 0x01);
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    // The CD-ROM drive: ATAPI signature, status without DRDY.
    outb(&mut ide, P + 6, 0xb0);
    assert_eq!([2, 3, 4, 5].map(|r| inb(&mut ide, P + r)), [1, 1, 0x14, 0xeb]);
    assert_eq!(inb(&mut ide, P + 1), 0x01);
    assert_eq!(status(&mut ide, P), 0x00);
}

#[test]
fn channels_without_drives_read_as_nothing_there() {
    let (mut ide, _) = with_disk();
    // No drives on the secondary channel: every register reads 0.
    outb(&mut ide, S + 2, 0x55);
    outb(&mut ide, S + 3, 0xaa);
    assert_eq!((1..8).map(|r| inb(&mut ide, S + r)).collect::<Vec<_>>(), [0; 7]);
    assert_eq!(inb(&mut ide, 0x376), 0);
    command(&mut ide, S, 0xec);
    assert_eq!(status(&mut ide, S), 0);
    assert_eq!(ide.read(S, 2), 0);
    // An absent slave: the shared registers keep what was written, status
    // and error read 0, commands are ignored.
    outb(&mut ide, P + 6, 0xb0);
    outb(&mut ide, P + 2, 0x55);
    assert_eq!(inb(&mut ide, P + 2), 0x55);
    assert_eq!(status(&mut ide, P), 0);
    assert_eq!(inb(&mut ide, P + 1), 0);
    command(&mut ide, P, 0xec);
    assert_eq!(status(&mut ide, P), 0);
    assert!(!ide.irq_level(IdeChannel::Primary));
    // Its soft-reset signature is "no device".
    outb(&mut ide, P_CTL, control::SRST);
    outb(&mut ide, P_CTL, 0);
    outb(&mut ide, P + 6, 0xb0);
    assert_eq!([inb(&mut ide, P + 4), inb(&mut ide, P + 5)], [0xff, 0xff]);
}

#[test]
fn identify_device_words() {
    let (mut ide, _) = with_disk();
    let w = identify(&mut ide, P, 0xec);
    assert_eq!(w[0], 0x0040);
    // 131072 sectors: 130 cylinders of 16 heads and 63 sectors.
    assert_eq!([w[1], w[3], w[6]], [130, 16, 63]);
    assert_eq!([w[54], w[55], w[56]], [130, 16, 63]);
    assert_eq!((w[58] as u32) << 16 | w[57] as u32, 130 * 16 * 63);
    assert_eq!(ata_string(&w[10..20]), "QM00001");
    assert_eq!(ata_string(&w[23..27]), "2.5+");
    assert_eq!(ata_string(&w[27..47]), "QEMU HARDDISK");
    assert_eq!(w[47], 0x8010);
    assert_eq!(w[49], 0x0b00);
    assert_eq!(w[53], 0x0007);
    assert_eq!(w[59], 0x0110, "multiple mode 16 after reset");
    assert_eq!((w[61] as u32) << 16 | w[60] as u32, 131072);
    assert_eq!([w[62], w[63], w[88]], [0x0007, 0x0007, 0x203f]);
    assert_eq!([w[82], w[83], w[85], w[86]], [0x4021, 0x7400, 0x4021, 0x3400]);
    assert_eq!(w[100..104], [0, 2, 0, 0]);
    assert_eq!([w[69], w[169]], [0x4000, 0x0001], "TRIM, deterministic");
}

#[test]
fn port_widths_follow_qemus_piix() {
    let (mut ide, _) = with_disk();
    command(&mut ide, P, 0xec);
    // A byte read of the data port takes a whole word.
    assert_eq!([ide.read(P, 1), ide.read(P, 1), ide.read(P, 2)], [0x40, 130, 0]);
    // A byte write of it is dropped.
    lba28(&mut ide, P, 0, 0, 1);
    command(&mut ide, P, 0x30);
    for _ in 0..512 {
        ide.write(P, 1, 0);
    }
    assert_eq!(status(&mut ide, P), DRDY | DSC | DRQ);
    outb(&mut ide, P_CTL, control::SRST);
    outb(&mut ide, P_CTL, 0);
    // 16-bit accesses to byte registers split, 32-bit ones do nothing.
    ide.write(P + 2, 2, 0x0506);
    assert_eq!([inb(&mut ide, P + 2), inb(&mut ide, P + 3)], [6, 5]);
    ide.write(P + 2, 4, 0x0102_0304);
    assert_eq!(ide.read(P + 2, 2), 0x0506);
    assert_eq!(ide.read(P + 2, 4), 0xffff_ffff);
    assert_eq!(ide.read(P + 7, 2), 0xff00 | (DRDY | DSC) as u32);
}

#[test]
fn trim_takes_ranges_by_dma_and_checks_them() {
    let (mut ide, image) = with_disk();
    let mut mem = TestMemory::new(0x10000);
    for (lba, ok) in [(100u64, true), (131070, false)] {
        let mut ranges = vec![0u8; 512];
        ranges[..8].copy_from_slice(&(lba | 8 << 48).to_le_bytes());
        mem.write(0x2000, &ranges);
        prd_table(&mut mem, 0x100, &[(0x2000, 512, true)]);
        bm_prepare(&mut ide, BM_P, 0x100, false, &mut mem);
        outb(&mut ide, P + 6, 0x40);
        outb(&mut ide, P + 1, 0x01);
        outb(&mut ide, P + 2, 1);
        command(&mut ide, P, 0x06);
        bm_start(&mut ide, BM_P, false, &mut mem);
        assert_eq!(bm_status(&mut ide, BM_P), bm::INTERRUPT);
        let expected = if ok { (DRDY | DSC, 0) } else { (DRDY | ERR, ABRT) };
        assert_eq!((status(&mut ide, P), inb(&mut ide, P + 1)), expected);
        ide.bm_write(BM_P, 1, 0, &mut mem);
    }
    assert_eq!(image.lock().unwrap().data[100 * 512..101 * 512], patterned(101, 512)[100 * 512..]);
}

#[test]
fn cdrom_aborts_identify_device_with_its_signature_and_answers_identify_packet() {
    let (mut ide, _) = with_disk_and_cdrom();
    outb(&mut ide, S + 4, 0x12);
    command(&mut ide, S, 0xec);
    assert_eq!(status(&mut ide, S), DRDY | ERR);
    assert_eq!(inb(&mut ide, S + 1), ABRT);
    assert_eq!([inb(&mut ide, S + 4), inb(&mut ide, S + 5)], [0x14, 0xeb]);
    let w = identify(&mut ide, S, 0xa1);
    assert_eq!(w[0], 0x85c0);
    assert_eq!(ata_string(&w[27..47]), "QEMU DVD-ROM");
    assert_eq!(ata_string(&w[10..20]), "QM00003");
    assert_eq!(w[49], 0x0300);
    // A disk does not take IDENTIFY PACKET DEVICE.
    command(&mut ide, P, 0xa1);
    assert_eq!(status(&mut ide, P), DRDY | ERR);
}

#[test]
fn pio_reads_in_lba28_chs_and_lba48_address_the_same_sectors() {
    let (mut ide, image) = with_disk();
    let expected = image.lock().unwrap().data[1000 * 512..1003 * 512].to_vec();
    // LBA28
    lba28(&mut ide, P, 0, 1000, 3);
    command(&mut ide, P, 0x20);
    let mut got = Vec::new();
    for _ in 0..3 {
        assert!(ide.irq_level(IdeChannel::Primary), "an interrupt per sector");
        assert_eq!(status(&mut ide, P), DRDY | DSC | DRQ);
        assert!(!ide.irq_level(IdeChannel::Primary));
        got.extend(read_data(&mut ide, P, 512));
    }
    assert_eq!(got, expected);
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    assert!(!ide.irq_level(IdeChannel::Primary), "no interrupt after the last block");
    assert_eq!([inb(&mut ide, P + 3), inb(&mut ide, P + 4)], [(1003 & 0xff) as u8, (1003 >> 8) as u8]);
    // CHS: sector 1000 = cylinder 0, head 15, sector 56 (16 heads, 63 sectors).
    outb(&mut ide, P + 6, 0xa0 | 15);
    outb(&mut ide, P + 2, 3);
    outb(&mut ide, P + 3, 56);
    outb(&mut ide, P + 4, 0);
    outb(&mut ide, P + 5, 0);
    command(&mut ide, P, 0x21);
    let got: Vec<u8> = (0..3).flat_map(|_| read_data(&mut ide, P, 512)).collect();
    assert_eq!(got, expected);
    // The registers hold the next address: 1003 = head 15, sector 59.
    assert_eq!([inb(&mut ide, P + 6) & 0x0f, inb(&mut ide, P + 3)], [15, 59]);
    // LBA48, count 3, with the high-order bytes read back.
    let far = 100_000u64;
    let expected = image.lock().unwrap().data[far as usize * 512..(far as usize + 3) * 512].to_vec();
    lba48(&mut ide, P, far, 3);
    command(&mut ide, P, 0x24);
    let got: Vec<u8> = (0..3).flat_map(|_| read_data(&mut ide, P, 512)).collect();
    assert_eq!(got, expected);
    let next = (far + 3).to_le_bytes();
    assert_eq!([3, 4, 5].map(|r| inb(&mut ide, P + r)), [next[0], next[1], next[2]]);
    outb(&mut ide, P_CTL, control::HOB);
    assert_eq!([3, 4, 5].map(|r| inb(&mut ide, P + r)), [next[3], next[4], next[5]]);
}

#[test]
fn pio_writes_and_multiple_mode_blocks() {
    let (mut ide, image) = with_disk();
    // SET MULTIPLE 4, then WRITE MULTIPLE 6 sectors: blocks of 4 and 2.
    outb(&mut ide, P + 2, 4);
    command(&mut ide, P, 0xc6);
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    let data = patterned(6, 512).iter().map(|b| b ^ 0x5a).collect::<Vec<_>>();
    lba28(&mut ide, P, 0, 20, 6);
    command(&mut ide, P, 0xc5);
    assert!(!ide.irq_level(IdeChannel::Primary), "no interrupt before the first block out");
    assert_eq!(status(&mut ide, P), DRDY | DSC | DRQ);
    write_data(&mut ide, P, &data[..2048]);
    assert!(ide.irq_level(IdeChannel::Primary));
    assert_eq!(status(&mut ide, P), DRDY | DSC | DRQ);
    write_data(&mut ide, P, &data[2048..]);
    assert!(ide.irq_level(IdeChannel::Primary));
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    assert_eq!(image.lock().unwrap().data[20 * 512..26 * 512], data[..]);
    // READ MULTIPLE of the same 6 sectors: an interrupt per block of 4.
    lba28(&mut ide, P, 0, 20, 6);
    command(&mut ide, P, 0xc4);
    let got = [read_data(&mut ide, P, 2048), read_data(&mut ide, P, 1024)].concat();
    assert_eq!(got, data);
    // An invalid block size is refused; multiple mode off makes READ
    // MULTIPLE abort.
    outb(&mut ide, P + 2, 3);
    command(&mut ide, P, 0xc6);
    assert_eq!((status(&mut ide, P), inb(&mut ide, P + 1)), (DRDY | ERR, ABRT));
    outb(&mut ide, P + 2, 0);
    command(&mut ide, P, 0xc6);
    lba28(&mut ide, P, 0, 20, 1);
    command(&mut ide, P, 0xc4);
    assert_eq!(status(&mut ide, P), DRDY | ERR);
    // Single-sector writes, 32-bit data accesses.
    lba28(&mut ide, P, 0, 30, 1);
    command(&mut ide, P, 0x30);
    for chunk in data[..512].chunks(4) {
        ide.write(P, 4, u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
    }
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    assert_eq!(image.lock().unwrap().data[30 * 512..31 * 512], data[..512]);
}

#[test]
fn accesses_past_the_end_and_to_read_only_images_fail_with_abort() {
    let (mut ide, _) = with_disk();
    // The last sector reads; the one after it fails, with an interrupt.
    lba28(&mut ide, P, 0, 131071, 2);
    command(&mut ide, P, 0x20);
    assert_eq!(status(&mut ide, P), DRDY | DSC | DRQ);
    read_data(&mut ide, P, 512);
    assert!(ide.irq_level(IdeChannel::Primary));
    assert_eq!(status(&mut ide, P), DRDY | ERR);
    assert_eq!(inb(&mut ide, P + 1), ABRT);
    // A write past the end fails when its data has come.
    lba28(&mut ide, P, 0, 131072, 1);
    command(&mut ide, P, 0x30);
    write_data(&mut ide, P, &[0; 512]);
    assert_eq!((status(&mut ide, P), inb(&mut ide, P + 1)), (DRDY | ERR, ABRT));
    // LBA48 far beyond, READ VERIFY past the end, sector number 0 in CHS.
    lba48(&mut ide, P, 1 << 40, 1);
    command(&mut ide, P, 0x24);
    assert_eq!(status(&mut ide, P), DRDY | ERR);
    lba28(&mut ide, P, 0, 131070, 4);
    command(&mut ide, P, 0x40);
    assert_eq!(status(&mut ide, P), DRDY | ERR);
    outb(&mut ide, P + 6, 0xa0);
    outb(&mut ide, P + 3, 0);
    command(&mut ide, P, 0x20);
    assert_eq!(status(&mut ide, P), DRDY | ERR);
    // A read-only image refuses the write.
    let mut ro = MemBackend::new(vec![0; 4096]);
    ro.read_only = true;
    let mut ide = Ide::new();
    ide.attach(IdeChannel::Primary, IdeUnit::Master, Drive::disk(Box::new(ro)).unwrap());
    lba28(&mut ide, P, 0, 0, 1);
    command(&mut ide, P, 0x30);
    write_data(&mut ide, P, &[1; 512]);
    assert_eq!((status(&mut ide, P), inb(&mut ide, P + 1)), (DRDY | ERR, ABRT));
    assert!(Drive::disk(Box::new(MemBackend::new(vec![0; 100]))).is_err());
}

#[test]
fn unknown_and_misc_commands() {
    let (mut ide, image) = with_disk();
    for unknown in [0x00, 0x50, 0xff] {
        command(&mut ide, P, unknown);
        assert_eq!((status(&mut ide, P), inb(&mut ide, P + 1)), (DRDY | ERR, ABRT), "{unknown:#x}");
    }
    command(&mut ide, P, 0xe5); // CHECK POWER MODE
    assert_eq!((status(&mut ide, P), inb(&mut ide, P + 2)), (DRDY | DSC, 0xff));
    for c in [0x10, 0x70, 0xe0, 0xe1, 0xe3, 0xe6] {
        command(&mut ide, P, c);
        assert_eq!(status(&mut ide, P) & (ERR | BSY), 0, "{c:#x}");
    }
    command(&mut ide, P, 0xe7); // FLUSH CACHE
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    command(&mut ide, P, 0xea); // FLUSH CACHE EXT
    assert_eq!(image.lock().unwrap().flushes, 2);
    // READ NATIVE MAX ADDRESS: the last sector.
    outb(&mut ide, P + 6, 0xe0);
    command(&mut ide, P, 0xf8);
    assert_eq!([3, 4, 5].map(|r| inb(&mut ide, P + r)), [0xff, 0xff, 0x01]);
    // SET FEATURES: UDMA mode 2 selected, write cache off (and flushed).
    outb(&mut ide, P + 1, 0x03);
    outb(&mut ide, P + 2, 0x42);
    command(&mut ide, P, 0xef);
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    outb(&mut ide, P + 1, 0x82);
    command(&mut ide, P, 0xef);
    let w = identify(&mut ide, P, 0xec);
    assert_eq!([w[62], w[63], w[88]], [0x0007, 0x0007, 0x043f]);
    assert_eq!(w[85] & 0x20, 0);
    assert_eq!(image.lock().unwrap().flushes, 3);
    outb(&mut ide, P + 1, 0x77);
    command(&mut ide, P, 0xef);
    assert_eq!(status(&mut ide, P), DRDY | ERR);
    // SMART RETURN STATUS: no threshold exceeded.
    outb(&mut ide, P + 1, 0xda);
    outb(&mut ide, P + 4, 0x4f);
    outb(&mut ide, P + 5, 0xc2);
    command(&mut ide, P, 0xb0);
    assert_eq!((status(&mut ide, P), inb(&mut ide, P + 4), inb(&mut ide, P + 5)), (DRDY | DSC, 0x4f, 0xc2));
    outb(&mut ide, P + 1, 0xd0);
    command(&mut ide, P, 0xb0);
    let page = read_data(&mut ide, P, 512);
    assert_eq!(page.iter().fold(0u8, |a, b| a.wrapping_add(*b)), 0, "checksummed");
}

#[test]
fn initialize_device_parameters_sets_the_chs_translation() {
    let (mut ide, image) = with_disk();
    // 4 heads of 17 sectors: sector 1000 = cylinder 14, head 2, sector 15.
    outb(&mut ide, P + 6, 0xa0 | 3);
    outb(&mut ide, P + 2, 17);
    command(&mut ide, P, 0x91);
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    outb(&mut ide, P + 6, 0xa0 | 2);
    outb(&mut ide, P + 2, 1);
    outb(&mut ide, P + 3, 15);
    outb(&mut ide, P + 4, 14);
    outb(&mut ide, P + 5, 0);
    command(&mut ide, P, 0x20);
    assert_eq!(read_data(&mut ide, P, 512), image.lock().unwrap().data[1000 * 512..1001 * 512]);
    let w = identify(&mut ide, P, 0xec);
    assert_eq!([w[1], w[3], w[6]], [130, 16, 63], "the default geometry stays");
    assert_eq!([w[54], w[55], w[56]], [(131072 / 68) as u16, 4, 17]);
    outb(&mut ide, P + 2, 0);
    command(&mut ide, P, 0x91);
    assert_eq!(status(&mut ide, P), DRDY | ERR);
}

#[test]
fn nien_masks_the_interrupt_and_only_the_status_register_clears_it() {
    let (mut ide, _) = with_disk();
    outb(&mut ide, P_CTL, control::NIEN);
    command(&mut ide, P, 0xe5);
    assert!(!ide.irq_level(IdeChannel::Primary));
    outb(&mut ide, P_CTL, 0);
    assert!(ide.irq_level(IdeChannel::Primary), "the pending interrupt shows once enabled");
    assert_eq!(inb(&mut ide, P_CTL), DRDY | DSC);
    assert!(ide.irq_level(IdeChannel::Primary), "alternate status leaves it");
    status(&mut ide, P);
    assert!(!ide.irq_level(IdeChannel::Primary));
    assert!(!ide.irq_level(IdeChannel::Secondary));
}

#[test]
fn execute_device_diagnostic_leaves_signatures_and_passes() {
    let (mut ide, _) = with_disk_and_cdrom();
    outb(&mut ide, P + 4, 0x77);
    command(&mut ide, P, 0x90);
    assert!(ide.irq_level(IdeChannel::Primary));
    assert_eq!((status(&mut ide, P), inb(&mut ide, P + 1)), (DRDY | DSC, 0x01));
    assert_eq!([2, 3, 4, 5].map(|r| inb(&mut ide, P + r)), [1, 1, 0, 0]);
    command(&mut ide, S, 0x90);
    assert_eq!((status(&mut ide, S), inb(&mut ide, S + 1)), (0, 0x01));
    assert_eq!([inb(&mut ide, S + 4), inb(&mut ide, S + 5)], [0x14, 0xeb]);
}

/// Writes a PRD table at `table`: (address, byte count, end of table).
fn prd_table(mem: &mut TestMemory, table: u32, entries: &[(u32, u32, bool)]) {
    for (i, &(addr, count, eot)) in entries.iter().enumerate() {
        let control = (count & 0xffff) | if eot { 0x8000_0000 } else { 0 };
        mem.write(table + 8 * i as u32, &[addr.to_le_bytes(), control.to_le_bytes()].concat());
    }
}

fn bm_prepare(ide: &mut Ide, bm: u8, table: u32, to_memory: bool, mem: &mut TestMemory) {
    ide.bm_write(bm + 4, 4, table, mem);
    ide.bm_write(bm + 2, 1, 0x06, mem); // clear interrupt and error
    ide.bm_write(bm, 1, if to_memory { 0x08 } else { 0 }, mem);
}

fn bm_start(ide: &mut Ide, bm: u8, to_memory: bool, mem: &mut TestMemory) {
    ide.bm_write(bm, 1, 0x01 | if to_memory { 0x08 } else { 0 }, mem);
}

fn bm_status(ide: &mut Ide, bm: u8) -> u8 {
    ide.bm_read(bm + 2, 1) as u8
}

#[test]
fn bus_master_dma_reads_and_writes_through_multi_entry_prd_tables() {
    let (mut ide, image) = with_disk();
    let mut mem = TestMemory::new(0x40000);
    // READ DMA of 4 sectors into three pieces of memory.
    prd_table(&mut mem, 0x1000, &[(0x10000, 512, false), (0x20002, 1024, false), (0x30000, 512, true)]);
    bm_prepare(&mut ide, BM_P, 0x1000, true, &mut mem);
    assert_eq!(ide.bm_read(BM_P + 4, 4), 0x1000);
    lba28(&mut ide, P, 0, 500, 4);
    command(&mut ide, P, 0xc8);
    assert_eq!(status(&mut ide, P) & DRQ, DRQ);
    assert!(!ide.dma_pending(), "waits for the engine");
    bm_start(&mut ide, BM_P, true, &mut mem);
    let expected = image.lock().unwrap().data[500 * 512..504 * 512].to_vec();
    assert_eq!(mem.0[0x10000..0x10200], expected[..512]);
    assert_eq!(mem.0[0x20002..0x20402], expected[512..1536]);
    assert_eq!(mem.0[0x30000..0x30200], expected[1536..]);
    assert_eq!(bm_status(&mut ide, BM_P), bm::INTERRUPT);
    assert!(ide.irq_level(IdeChannel::Primary));
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    assert_eq!(inb(&mut ide, P + 3), 0xf8, "the registers point past the transfer (504)");
    ide.bm_write(BM_P, 1, 0x08, &mut mem); // stop
    ide.bm_write(BM_P + 2, 1, bm::INTERRUPT as u32, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_P), 0, "the interrupt bit is write-1-to-clear");
    // WRITE DMA (LBA48) of 3 sectors from two pieces, the engine started
    // before the command: the machine runs the transfer when told.
    let data = patterned(3, 512).iter().map(|b| !b).collect::<Vec<_>>();
    mem.write(0x10000, &data[..1024]);
    mem.write(0x20000, &data[1024..]);
    prd_table(&mut mem, 0x1000, &[(0x10000, 1024, false), (0x20000, 512, true)]);
    bm_prepare(&mut ide, BM_P, 0x1000, false, &mut mem);
    bm_start(&mut ide, BM_P, false, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_P), bm::ACTIVE);
    lba48(&mut ide, P, 70_000, 3);
    command(&mut ide, P, 0x35);
    assert!(ide.dma_pending());
    ide.run_dma(&mut mem);
    assert!(!ide.dma_pending());
    assert_eq!(image.lock().unwrap().data[70_000 * 512..70_003 * 512], data[..]);
    assert_eq!(bm_status(&mut ide, BM_P), bm::INTERRUPT);
    assert_eq!(status(&mut ide, P), DRDY | DSC);
}

#[test]
fn prd_tables_too_short_too_long_and_of_64_kib_entries() {
    let (mut ide, image) = with_disk();
    let mut mem = TestMemory::new(0x80000);
    // Too short: nothing moves, no interrupt, the engine stops.
    prd_table(&mut mem, 0x100, &[(0x10000, 512, true)]);
    bm_prepare(&mut ide, BM_P, 0x100, true, &mut mem);
    lba28(&mut ide, P, 0, 0, 2);
    command(&mut ide, P, 0xc8);
    bm_start(&mut ide, BM_P, true, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_P), 0);
    assert!(mem.0[0x10000..0x10200].iter().all(|&b| b == 0));
    assert!(!ide.irq_level(IdeChannel::Primary));
    assert_eq!(status(&mut ide, P) & (ERR | DF_OR_DRQ), 0);
    ide.bm_write(BM_P, 1, 0, &mut mem);
    // Too long: the transfer completes and the engine stays active.
    prd_table(&mut mem, 0x100, &[(0x10000, 4096, true)]);
    bm_prepare(&mut ide, BM_P, 0x100, true, &mut mem);
    lba28(&mut ide, P, 0, 0, 1);
    command(&mut ide, P, 0xc8);
    bm_start(&mut ide, BM_P, true, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_P), bm::ACTIVE | bm::INTERRUPT);
    assert_eq!(mem.0[0x10000..0x10200], image.lock().unwrap().data[..512]);
    ide.bm_write(BM_P, 1, 0, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_P), bm::INTERRUPT);
    // A byte count of 0 means 64 KiB: 128 sectors in one entry.
    prd_table(&mut mem, 0x100, &[(0x20000, 0, true)]);
    bm_prepare(&mut ide, BM_P, 0x100, true, &mut mem);
    lba28(&mut ide, P, 0, 1024, 128);
    command(&mut ide, P, 0xc8);
    bm_start(&mut ide, BM_P, true, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_P), bm::INTERRUPT);
    assert_eq!(mem.0[0x20000..0x30000], image.lock().unwrap().data[1024 * 512..1152 * 512]);
    // Past the end of the disk: ABRT, with the interrupt.
    ide.bm_write(BM_P + 2, 1, 0x04, &mut mem);
    prd_table(&mut mem, 0x100, &[(0x20000, 1024, true)]);
    bm_prepare(&mut ide, BM_P, 0x100, true, &mut mem);
    lba28(&mut ide, P, 0, 131071, 2);
    command(&mut ide, P, 0xc8);
    bm_start(&mut ide, BM_P, true, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_P), bm::INTERRUPT);
    assert_eq!((status(&mut ide, P), inb(&mut ide, P + 1)), (DRDY | ERR, ABRT));
    // Registers: byte accesses to command and status, any to the pointer;
    // the drive-capable bits are kept.
    ide.bm_write(BM_S + 2, 1, 0x60, &mut mem);
    assert_eq!(bm_status(&mut ide, BM_S), 0x60);
    assert_eq!(ide.bm_read(BM_S, 2), 0xffff);
    ide.bm_write(BM_S + 6, 2, 0x1234, &mut mem);
    ide.bm_write(BM_S + 4, 2, 0x5677, &mut mem);
    assert_eq!(ide.bm_read(BM_S + 4, 4), 0x1234_5674);
}

const DF_OR_DRQ: u8 = status::DF | DRQ;

/// Sends an ATAPI packet to the CD-ROM drive (secondary master), with
/// `limit` as the byte count limit.
fn packet(ide: &mut Ide, cdb: &[u8], limit: u16, dma: bool) {
    outb(ide, S + 6, 0xa0);
    outb(ide, S + 1, dma as u8);
    outb(ide, S + 4, limit as u8);
    outb(ide, S + 5, (limit >> 8) as u8);
    command(ide, S, 0xa0);
    assert_eq!(status(ide, S), DRDY | DSC | DRQ);
    assert_eq!(inb(ide, S + 2) & 3, 1, "interrupt reason: command");
    assert!(!ide.irq_level(IdeChannel::Secondary), "no interrupt for the packet");
    let mut p = [0u8; 12];
    p[..cdb.len()].copy_from_slice(cdb);
    write_data(ide, S, &p);
}

/// Reads the data phase of a packet command by PIO: the DRQ blocks, each
/// announced with an interrupt and its byte count.
fn pio_in(ide: &mut Ide) -> (Vec<u8>, Vec<usize>) {
    let (mut data, mut blocks) = (Vec::new(), Vec::new());
    loop {
        assert!(ide.irq_level(IdeChannel::Secondary));
        let st = status(ide, S);
        if st & DRQ == 0 {
            return (data, blocks);
        }
        assert_eq!(inb(ide, S + 2) & 3, 2, "interrupt reason: data to the host");
        let n = inb(ide, S + 4) as usize | (inb(ide, S + 5) as usize) << 8;
        blocks.push(n);
        data.extend(read_data(ide, S, n));
    }
}

/// Runs a packet command that should succeed by PIO and returns its data.
fn atapi_pio(ide: &mut Ide, cdb: &[u8], limit: u16) -> Vec<u8> {
    packet(ide, cdb, limit, false);
    let (data, _) = pio_in(ide);
    assert_eq!(inb(ide, S + 2) & 3, 3, "interrupt reason: status");
    assert_eq!(inb(ide, S + 7), DRDY | DSC);
    data
}

/// Runs a packet command that should fail; returns (sense key, ASC).
fn atapi_fails(ide: &mut Ide, cdb: &[u8]) -> (u8, u8) {
    packet(ide, cdb, 0xfffe, false);
    assert!(ide.irq_level(IdeChannel::Secondary));
    let st = status(ide, S);
    assert_eq!(st & ERR, ERR);
    let key = inb(ide, S + 1) >> 4;
    let sense = atapi_pio(ide, &[0x03, 0, 0, 0, 18], 0xfffe);
    assert_eq!(sense[2], key);
    (sense[2], sense[12])
}

#[test]
fn atapi_inquiry_capacity_and_reads_split_by_the_byte_count_limit() {
    let (mut ide, _) = with_disk_and_cdrom();
    let inquiry = atapi_pio(&mut ide, &[0x12, 0, 0, 0, 96], 0xfffe);
    assert_eq!(inquiry.len(), 36);
    assert_eq!(inquiry[..5], [0x05, 0x80, 0x00, 0x21, 31]);
    assert_eq!(&inquiry[8..16], b"QEMU    ");
    assert_eq!(&inquiry[16..32], b"QEMU DVD-ROM    ");
    // READ CAPACITY: last sector 39, 2048-byte blocks.
    assert_eq!(atapi_pio(&mut ide, &[0x25], 0xfffe), [0, 0, 0, 39, 0, 0, 8, 0]);
    // READ(10) of 3 sectors from 5 with a byte count limit of 1001: blocks
    // of 1000 bytes (the limit made even), across sector boundaries.
    let disc = patterned(40, 2048);
    packet(&mut ide, &[0x28, 0, 0, 0, 0, 5, 0, 0, 3], 1001, false);
    let (data, blocks) = pio_in(&mut ide);
    assert_eq!(data, disc[5 * 2048..8 * 2048]);
    assert_eq!(blocks, [1000, 1000, 1000, 1000, 1000, 1000, 144]);
    assert_eq!(inb(&mut ide, S + 2) & 3, 3);
    // A limit of 0 aborts the command at the ATA level.
    packet(&mut ide, &[0x28, 0, 0, 0, 0, 5, 0, 0, 1], 0, false);
    assert_eq!((status(&mut ide, S), inb(&mut ide, S + 1)), (DRDY | ERR, ABRT));
    // READ(12) and READ CD (user data) of the last sector.
    assert_eq!(atapi_pio(&mut ide, &[0xa8, 0, 0, 0, 0, 39, 0, 0, 0, 1], 0xffff), disc[39 * 2048..]);
    assert_eq!(atapi_pio(&mut ide, &[0xbe, 0, 0, 0, 0, 39, 0, 0, 1, 0x10], 0xffff), disc[39 * 2048..]);
    let raw = atapi_pio(&mut ide, &[0xbe, 0, 0, 0, 0, 1, 0, 0, 1, 0xf8], 0xffff);
    assert_eq!(raw.len(), 2352);
    assert_eq!(raw[..16], [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 2, 1, 1]);
    assert_eq!(raw[16..2064], disc[2048..4096]);
}

#[test]
fn atapi_dma_reads_and_replies() {
    let (mut ide, _) = with_disk_and_cdrom();
    let mut mem = TestMemory::new(0x40000);
    let disc = patterned(40, 2048);
    prd_table(&mut mem, 0x800, &[(0x10000, 3000, false), (0x20000, 3144, true)]);
    bm_prepare(&mut ide, BM_S, 0x800, true, &mut mem);
    packet(&mut ide, &[0x28, 0, 0, 0, 0, 10, 0, 0, 3], 0, true);
    assert_eq!(status(&mut ide, S) & DRQ, DRQ);
    bm_start(&mut ide, BM_S, true, &mut mem);
    assert_eq!(mem.0[0x10000..0x10000 + 3000], disc[10 * 2048..10 * 2048 + 3000]);
    assert_eq!(mem.0[0x20000..0x20000 + 3144], disc[10 * 2048 + 3000..13 * 2048]);
    assert_eq!(bm_status(&mut ide, BM_S), bm::INTERRUPT);
    assert!(ide.irq_level(IdeChannel::Secondary));
    assert_eq!((status(&mut ide, S), inb(&mut ide, S + 2) & 3), (DRDY | DSC, 3));
    ide.bm_write(BM_S, 1, 0x08, &mut mem);
    // A reply (INQUIRY) by DMA.
    prd_table(&mut mem, 0x800, &[(0x30000, 36, true)]);
    bm_prepare(&mut ide, BM_S, 0x800, true, &mut mem);
    packet(&mut ide, &[0x12, 0, 0, 0, 36], 0, true);
    bm_start(&mut ide, BM_S, true, &mut mem);
    assert_eq!(&mem.0[0x30010..0x30020], b"QEMU DVD-ROM    ");
    assert_eq!(status(&mut ide, S), DRDY | DSC);
}

#[test]
fn atapi_errors_give_sense_data() {
    let (mut ide, _) = with_disk_and_cdrom();
    // Past the end: ILLEGAL REQUEST, logical block address out of range.
    assert_eq!(atapi_fails(&mut ide, &[0x28, 0, 0, 0, 0, 39, 0, 0, 2]), (0x05, 0x21));
    // Unknown command: ILLEGAL REQUEST, invalid command operation code.
    assert_eq!(atapi_fails(&mut ide, &[0xee]), (0x05, 0x20));
    // Saved mode values are not supported.
    assert_eq!(atapi_fails(&mut ide, &[0x5a, 0, 0xea, 0, 0, 0, 0, 0, 255]), (0x05, 0x39));
    // An empty drive is not ready.
    let mut ide = Ide::new();
    ide.attach(IdeChannel::Secondary, IdeUnit::Master, Drive::cdrom(None));
    assert_eq!(atapi_fails(&mut ide, &[0x25]), (0x02, 0x3a));
    assert_eq!(atapi_fails(&mut ide, &[0x00]), (0x02, 0x3a));
    // INQUIRY needs no disc.
    assert_eq!(atapi_pio(&mut ide, &[0x12, 0, 0, 0, 36], 0xfffe).len(), 36);
}

#[test]
fn unit_attention_after_a_medium_change() {
    let (mut ide, _) = with_disk_and_cdrom();
    let (sec, master) = (IdeChannel::Secondary, IdeUnit::Master);
    assert_eq!(atapi_pio(&mut ide, &[0x00], 0), []);
    // Locked by the guest: the eject is refused and becomes an event.
    atapi_pio(&mut ide, &[0x1e, 0, 0, 0, 1], 0);
    assert_eq!(ide.eject_medium(sec, master, false).err(), Some(IdeError::MediumLocked));
    let events = atapi_pio(&mut ide, &[0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], 0xfffe);
    assert_eq!(events, [0, 4, 4, 0x10, 1, 2, 0, 0], "eject requested, medium present");
    let old = ide.eject_medium(sec, master, true).unwrap();
    assert!(old.is_some());
    assert_eq!(atapi_fails(&mut ide, &[0x00]), (0x02, 0x3a));
    let events = atapi_pio(&mut ide, &[0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], 0xfffe);
    assert_eq!(events[4..6], [0, 1], "tray open");
    let (disc, _) = shared(patterned(8, 2048));
    ide.insert_medium(sec, master, disc).unwrap();
    // Not ready once, then unit attention until REQUEST SENSE.
    assert_eq!(atapi_fails(&mut ide, &[0x00]), (0x02, 0x3a));
    packet(&mut ide, &[0x00], 0, false);
    assert_eq!((status(&mut ide, S), inb(&mut ide, S + 1)), (DRDY | ERR, 0x60));
    packet(&mut ide, &[0x25], 0xfffe, false);
    assert_eq!((status(&mut ide, S), inb(&mut ide, S + 1)), (ERR, 0x60 | error::MC));
    let events = atapi_pio(&mut ide, &[0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8], 0xfffe);
    assert_eq!(events[4..6], [2, 2], "new medium, present");
    let sense = atapi_pio(&mut ide, &[0x03, 0, 0, 0, 18], 0xfffe);
    assert_eq!((sense[2], sense[12]), (0x06, 0x28));
    assert_eq!(atapi_pio(&mut ide, &[0x25], 0xfffe), [0, 0, 0, 7, 0, 0, 8, 0]);
    assert_eq!(
        ide.insert_medium(IdeChannel::Primary, master, Box::new(MemBackend::new(vec![]))).err(),
        Some(IdeError::NotRemovable)
    );
}

#[test]
fn atapi_toc_mode_pages_and_configuration() {
    let (mut ide, _) = with_disk_and_cdrom();
    // READ TOC format 0 in LBA: track 1 at 0, lead-out at 40.
    let toc = atapi_pio(&mut ide, &[0x43, 0, 0, 0, 0, 0, 0, 0, 100], 0xfffe);
    assert_eq!(toc, [0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x16, 0xaa, 0, 0, 0, 0, 40]);
    // In MSF: lead-out at 00:02:40 (40 + 150 frames).
    let toc = atapi_pio(&mut ide, &[0x43, 2, 0, 0, 0, 0, 0, 0, 100], 0xfffe);
    assert_eq!(toc[16..20], [0, 0, 2, 40]);
    // Format 1 (sessions) from byte 9 as SFF-8020 puts it, format 2 (full TOC).
    assert_eq!(atapi_pio(&mut ide, &[0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0x40], 0xfffe)[..4], [0, 10, 1, 1]);
    assert_eq!(atapi_pio(&mut ide, &[0x43, 0, 2, 0, 0, 0, 0, 0, 100], 0xfffe).len(), 48);
    assert_eq!(atapi_fails(&mut ide, &[0x43, 0, 0, 0, 0, 0, 2, 0, 100]), (0x05, 0x24));
    // MODE SENSE(10), capabilities page; MODE SENSE(6), error recovery.
    let page = atapi_pio(&mut ide, &[0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 255], 0xfffe);
    assert_eq!(page.len(), 30);
    assert_eq!(page[..3], [0, 28, 0x70]);
    assert_eq!(page[8..10], [0x2a, 20]);
    let page = atapi_pio(&mut ide, &[0x1a, 0, 0x01, 0, 255], 0xfffe);
    assert_eq!(page, [11, 0x70, 0, 0, 0x01, 6, 0x00, 0x05, 0, 0, 0, 0]);
    assert_eq!(atapi_pio(&mut ide, &[0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255], 0xfffe).len(), 8 + 8 + 16 + 22);
    // GET CONFIGURATION: CD-ROM is the current profile.
    let config = atapi_pio(&mut ide, &[0x46, 0, 0, 0, 0, 0, 0, 0, 255], 0xfffe);
    assert_eq!(config[..8], [0, 0, 0, 16, 0, 0, 0, 0x08]);
    assert_eq!(config[12..20], [0, 0x10, 0, 0, 0, 0x08, 1, 0]);
    // READ SUB-CHANNEL, current position; MECHANISM STATUS; READ DISC INFORMATION.
    assert_eq!(atapi_pio(&mut ide, &[0x42, 0, 0x40, 1, 0, 0, 0, 0, 16], 0xfffe).len(), 16);
    assert_eq!(atapi_pio(&mut ide, &[0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8], 0xfffe), [0, 0, 0, 0, 0, 1, 0, 0]);
    assert_eq!(atapi_pio(&mut ide, &[0x51, 0, 0, 0, 0, 0, 0, 0, 34], 0xfffe)[..3], [0, 32, 0x0e]);
    // The allocation length cuts the reply; SEEK and SET CD SPEED succeed.
    assert_eq!(atapi_pio(&mut ide, &[0x03, 0, 0, 0, 8], 0xfffe).len(), 8);
    atapi_pio(&mut ide, &[0x2b, 0, 0, 0, 0, 39], 0);
    atapi_pio(&mut ide, &[0xbb, 0, 0xff, 0xff], 0);
}

#[test]
fn atapi_mode_select_takes_its_parameters() {
    let (mut ide, _) = with_disk_and_cdrom();
    packet(&mut ide, &[0x55, 0x10, 0, 0, 0, 0, 0, 0, 24], 16, false);
    for n in [16, 8] {
        assert!(ide.irq_level(IdeChannel::Secondary));
        assert_eq!(status(&mut ide, S), DRDY | DSC | DRQ);
        assert_eq!(inb(&mut ide, S + 2) & 3, 0, "interrupt reason: data from the host");
        assert_eq!(inb(&mut ide, S + 4) as usize, n);
        write_data(&mut ide, S, &vec![0; n]);
    }
    assert_eq!((status(&mut ide, S), inb(&mut ide, S + 2) & 3), (DRDY | DSC, 3));
}

#[test]
fn start_stop_unit_opens_and_closes_the_tray() {
    let (mut ide, _) = with_disk_and_cdrom();
    atapi_pio(&mut ide, &[0x1b, 0, 0, 0, 0x02], 0);
    assert_eq!(atapi_fails(&mut ide, &[0x25]), (0x02, 0x3a));
    atapi_pio(&mut ide, &[0x1b, 0, 0, 0, 0x03], 0);
    assert_eq!(atapi_pio(&mut ide, &[0x25], 0xfffe)[3], 39);
    atapi_pio(&mut ide, &[0x1e, 0, 0, 0, 1], 0);
    assert_eq!(atapi_fails(&mut ide, &[0x1b, 0, 0, 0, 0x02]), (0x02, 0x53));
}

#[test]
fn snapshot_restores_a_transfer_in_the_middle() {
    let (mut ide, image) = with_disk_and_cdrom();
    lba28(&mut ide, P, 0, 77, 2);
    command(&mut ide, P, 0x20);
    let first = read_data(&mut ide, P, 300);
    outb(&mut ide, P_CTL, control::NIEN);
    let saved = ide.save();

    let (backend, _) = shared(image.lock().unwrap().data.clone());
    let mut restored = Ide::new();
    restored.attach(IdeChannel::Primary, IdeUnit::Master, Drive::disk(backend).unwrap());
    let (disc, _) = shared(patterned(40, 2048));
    restored.attach(IdeChannel::Secondary, IdeUnit::Master, Drive::cdrom(Some(disc)));
    restored.restore(&saved).unwrap();

    for ide in [&mut ide, &mut restored] {
        let rest = [first.clone(), read_data(ide, P, 212 + 512)].concat();
        assert_eq!(rest, image.lock().unwrap().data[77 * 512..79 * 512]);
        assert_eq!(inb(ide, P_CTL), DRDY | DSC);
        assert!(!ide.irq_level(IdeChannel::Primary), "nIEN came back too");
        assert_eq!(inb(ide, P + 3), 79);
    }
    assert_eq!(restored.save(), ide.save());
    assert!(restored.restore(&saved[..saved.len() / 2]).is_err());
}

#[test]
fn geometry_guesses_and_cmos_bytes_follow_qemu() {
    // No partition table: 16 heads, 63 sectors; LBA translation past 1024
    // cylinders.
    let mut ide = Ide::new();
    let big = Box::new(Blank(2048 * 16 * 63 * 512));
    ide.attach(IdeChannel::Primary, IdeUnit::Master, Drive::disk(big).unwrap());
    let g = ide.disk_geometry(IdeChannel::Primary, IdeUnit::Master).unwrap();
    assert_eq!((g.cylinders, g.heads, g.sectors, g.translation), (2048, 16, 63, Translation::Lba));
    // A partition ending at head 7, sector 32: that geometry, untranslated.
    let mut mbr = vec![0u8; 8 * 32 * 100 * 512];
    mbr[0x1be + 5] = 7;
    mbr[0x1be + 6] = 32;
    mbr[0x1be + 12] = 100;
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    ide.attach(
        IdeChannel::Primary,
        IdeUnit::Slave,
        Drive::disk(Box::new(MemBackend::new(mbr.clone()))).unwrap(),
    );
    let g = ide.disk_geometry(IdeChannel::Primary, IdeUnit::Slave).unwrap();
    assert_eq!((g.cylinders, g.heads, g.sectors, g.translation), (100, 8, 32, Translation::None));
    // More than 16 heads in the table: the standard geometry, LARGE.
    mbr[0x1be + 5] = 254;
    mbr[0x1be + 6] = 63;
    ide.attach(IdeChannel::Secondary, IdeUnit::Slave, Drive::disk(Box::new(MemBackend::new(mbr))).unwrap());
    let g = ide.disk_geometry(IdeChannel::Secondary, IdeUnit::Slave).unwrap();
    assert_eq!((g.heads, g.sectors, g.translation), (16, 63, Translation::Large));
    ide.attach(IdeChannel::Secondary, IdeUnit::Master, Drive::cdrom(None));
    assert!(ide.disk_geometry(IdeChannel::Secondary, IdeUnit::Master).is_none());

    let cmos = ide.cmos_entries();
    let get = |i: u8| cmos.iter().find(|e| e.0 == i).map(|e| e.1);
    assert_eq!(get(0x12), Some(0xff));
    assert_eq!([0x19, 0x1a].map(get), [Some(47), Some(47)]);
    assert_eq!(
        (0x1b..0x24).map(get).collect::<Vec<_>>(),
        [0x00, 0x08, 16, 0xff, 0xff, 0xc8, 0x00, 0x08, 63].map(Some)
    );
    assert_eq!(
        (0x24..0x2d).map(get).collect::<Vec<_>>(),
        [100, 0, 8, 0xff, 0xff, 0xc0, 100, 0, 32].map(Some)
    );
    // Translations: LBA, none, (CD-ROM), LARGE.
    assert_eq!(get(0x39), Some(0b10_00_00_01));
}

#[test]
fn pci_function_identifies_the_piix3_ide() {
    let f = Ide::pci_function();
    assert_eq!(f.read(0, 4), 0x7010_8086);
    assert_eq!(f.read(0x08, 4), 0x0101_8000);
    let mut f = f;
    f.write(0x20, 4, 0xffff_ffff);
    assert_eq!(f.read(0x20, 4), 0xffff_fff1, "16 bytes of I/O");
    assert_eq!(f.interrupt_pin(), 0);
    f.write(0x40, 4, 0x8000_8000);
    assert_eq!(f.read(0x40, 4), 0x8000_8000, "IDE timing registers hold the decode enables");
}

#[test]
fn hardware_reset_restores_power_on_state() {
    let (mut ide, _) = with_disk();
    let mut mem = TestMemory::new(0x1000);
    outb(&mut ide, P + 6, 0xa3);
    outb(&mut ide, P + 2, 17);
    command(&mut ide, P, 0x91);
    ide.bm_write(BM_P + 4, 4, 0x800, &mut mem);
    outb(&mut ide, P_CTL, control::NIEN);
    ide.reset();
    assert_eq!(ide.bm_read(BM_P + 4, 4), 0);
    assert_eq!(status(&mut ide, P), DRDY | DSC);
    let w = identify(&mut ide, P, 0xec);
    assert_eq!([w[55], w[56]], [16, 63], "the default translation, and nIEN clear");
}

#[test]
fn works_behind_the_port_bus_at_both_channels() {
    let (ide, image) = with_disk_and_cdrom();
    let mut bus = crate::PortBus::new();
    let idx = bus.add(0x1f0, 0x1f7, Box::new(ide));
    bus.map(0x3f6, 0x3f6, idx);
    bus.map(0x170, 0x177, idx);
    bus.map(0x376, 0x376, idx);
    assert_eq!(bus.read(0x3f6, 1) as u8, DRDY | DSC);
    bus.write(0x1f6, 1, 0xe0);
    bus.write(0x1f2, 1, 1);
    bus.write(0x1f3, 1, 9);
    bus.write(0x1f7, 1, 0x20);
    let first = bus.read(0x1f0, 2) as u16;
    let second = bus.read(0x1f0, 4);
    let data = &image.lock().unwrap().data[9 * 512..9 * 512 + 6];
    assert_eq!(first.to_le_bytes(), data[..2]);
    assert_eq!(second.to_le_bytes(), data[2..6]);
    assert_eq!(bus.read(0x177, 1) as u8, DRDY | DSC, "the CD-ROM drive at power-on (as QEMU)");
    let ide = bus.device_mut::<Ide>(idx).unwrap();
    assert_eq!(ide.drive_kind(IdeChannel::Secondary, IdeUnit::Master), Some(DriveKind::Cdrom));
    assert_eq!(ide.drive_kind(IdeChannel::Secondary, IdeUnit::Slave), None);
}

#[test]
fn random_guest_accesses_never_break_the_controller() {
    let (mut ide, _) = with_disk_and_cdrom();
    let (disc, _) = shared(patterned(3, 2048));
    ide.attach(IdeChannel::Primary, IdeUnit::Slave, Drive::cdrom(Some(disc)));
    let mut mem = TestMemory::new(0x20000);
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    // Commands and packets the drives know, so that the random walk gets
    // into transfers rather than only aborting.
    let commands =
        [0x20, 0x24, 0x30, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0x25, 0x35, 0x06, 0xa0, 0xa1, 0xec, 0x91, 0xef];
    for _ in 0..300_000 {
        let r = next();
        let base = if r & 1 == 0 { P } else { S };
        let value = next();
        match (r >> 1) % 16 {
            0..=3 => {
                ide.read(base, if r & 0x100 == 0 { 2 } else { 4 });
            }
            4..=5 => ide.write(base, 2, value),
            6 => ide.write(base + 1 + (value % 6) as u16, 1, value >> 8),
            7 => ide.write(base + 7, 1, commands[(value % commands.len() as u32) as usize]),
            8 => {
                ide.read(base + (value % 8) as u16, 1);
            }
            9 => ide.write(base + 0x206, 1, value & 0x86),
            10 => ide.bm_write((value % 16) as u8, [1, 2, 4][(r >> 8) as usize % 3], next(), &mut mem),
            11 => {
                ide.bm_read((value % 16) as u8, 1);
            }
            12 => mem.write(value % 0x20000, &next().to_le_bytes()),
            13 if ide.dma_pending() => ide.run_dma(&mut mem),
            14 => {
                // A packet of random bytes with a known opcode.
                let ops = [0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x42, 0x43, 0x46, 0x4a];
                let mut p = [0u8; 12];
                for b in &mut p {
                    *b = next() as u8;
                }
                p[0] = ops[(value % ops.len() as u32) as usize];
                write_data(&mut ide, base, &p);
            }
            _ => {
                let save = ide.save();
                ide.restore(&save).unwrap();
            }
        }
    }
    // The controller still answers after a reset.
    ide.reset();
    assert_eq!(identify(&mut ide, P, 0xec)[0], 0x0040);
    assert_eq!(identify(&mut ide, S, 0xa1)[0], 0x85c0);
}

#[test]
fn snapshot_keeps_a_dma_command_waiting_for_the_engine() {
    let (mut ide, _) = with_disk_and_cdrom();
    let mut mem = TestMemory::new(0x4000);
    prd_table(&mut mem, 0x100, &[(0x1000, 4096, true)]);
    bm_prepare(&mut ide, BM_S, 0x100, true, &mut mem);
    packet(&mut ide, &[0x28, 0, 0, 0, 0, 2, 0, 0, 2], 0, true);
    let saved = ide.save();

    let (mut restored, _) = with_disk_and_cdrom();
    restored.restore(&saved).unwrap();
    assert_eq!(restored.bm_read(BM_S + 4, 4), 0x100);
    bm_start(&mut restored, BM_S, true, &mut mem);
    assert_eq!(mem.0[0x1000..0x2000], patterned(40, 2048)[2 * 2048..4 * 2048]);
    assert!(restored.irq_level(IdeChannel::Secondary));
    assert_eq!(bm_status(&mut restored, BM_S), bm::INTERRUPT);
}
