//! ACPI: the PIIX4 power management function that implements the fixed
//! hardware ([`pm`], with its SMBus controller, [`smbus`]), and the tables
//! that describe the machine to the OS ([`tables`], the DSDT's AML in
//! [`dsdt`], written with the encoder in [`aml`]), handed to the firmware
//! over fw_cfg with the loader script that places them ([`loader`]).
//!
//! The tables live here, beside the hardware they describe, so that the
//! ports, interrupts and registers they name and the devices that answer
//! them share their constants.

pub mod aml;
pub mod dsdt;
pub mod loader;
pub mod pm;
pub mod smbus;
pub mod tables;
