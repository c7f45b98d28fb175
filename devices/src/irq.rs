//! The PC's interrupt lines. Each device shows the level of its line
//! (`irq_level()`, true = requesting) or, for edge-only sources such as the
//! 8254, reports rising edges; the machine reads them after every access and
//! on every clock step and passes them to the 8259 pair (and, later, the I/O
//! APIC). A PCI function raises its INTx# pin, which the PIIX3's PIRQ routing
//! ([`crate::PciHost::isa_irq`]) turns into one of these lines.

/// ISA interrupt lines of QEMU's `pc` machine.
pub mod line {
    pub const TIMER: u8 = 0;
    pub const KEYBOARD: u8 = 1;
    /// The slave 8259's output on the master.
    pub const CASCADE: u8 = 2;
    pub const COM2: u8 = 3;
    pub const COM1: u8 = 4;
    pub const FLOPPY: u8 = 6;
    pub const RTC: u8 = 8;
    /// The ACPI system control interrupt (a level, active high).
    pub const SCI: u8 = 9;
    pub const MOUSE: u8 = 12;
    /// The FPU's FERR# (DOS-style floating-point error reporting).
    pub const FPU: u8 = 13;
    pub const IDE_PRIMARY: u8 = 14;
    pub const IDE_SECONDARY: u8 = 15;
}
