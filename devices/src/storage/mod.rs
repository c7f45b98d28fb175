//! Disks and their controllers: images ([`image`]), the PIIX3 IDE controller
//! with ATA disks and ATAPI CD-ROMs, the 82077AA floppy controller and the
//! 8237 DMA controllers it transfers through.

pub mod dma8237;
pub mod fdc;
pub mod ide;
pub mod image;
