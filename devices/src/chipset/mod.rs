//! The chipset of QEMU's `pc` machine: the i440FX host bridge and PCI
//! configuration, the PIIX3's ISA-side parts (two 8259As, the 8254, the
//! MC146818 RTC, port 0x92, the FPU error logic at port 0xF0) and QEMU's fw_cfg. The PIIX3's DMA controllers and
//! their page registers are with the storage devices that use them
//! ([`crate::storage::dma8237`]).

pub mod ferr;
pub mod fw_cfg;
pub mod pci;
pub mod pic;
pub mod pit;
pub mod port92;
pub mod rtc;
