//! display-bench: what showing the screen costs the guest (issue 9). The
//! drawing guest (test-roms/boot/drawbench.asm: mode 13h frames, then VBE
//! 640x480x32 frames, through SeaBIOS and its VGA BIOS) runs in-process
//! twice per round: with no viewer, and with the VNC server and a client
//! that asks for every update and reads it whole. Both runs execute the same
//! instructions (the clock counts instructions), so guest MIPS compare
//! directly. `benches/display-bench.sh` builds and runs it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use vemu::display::{vnc, Displays};
use vemu::{Boot, Clock, DriveConfig, Interface, Machine, MachineConfig, Media, Outcome};
use vemu_translator::{CpuConfig, Engine};

#[derive(Parser)]
#[command(about = "Guest MIPS of a drawing guest with and without a VNC client reading the screen")]
struct Args {
    /// The drawing guest's floppy image (scripts/build-boot-tests.sh makes it).
    #[arg(long)]
    image: PathBuf,
    /// Rounds; each runs both configurations, and the best of each counts.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// vemu's engine.
    #[arg(long, default_value = "auto")]
    engine: String,
}

/// One run: wall seconds, instructions, and updates the client read.
fn run(args: &Args, with_vnc: bool) -> Result<(f64, u64, u64), String> {
    let engine = match args.engine.as_str() {
        "interp" => Engine::Interp,
        "jit" => Engine::Jit,
        _ => Engine::Auto,
    };
    let config = MachineConfig {
        boot: Boot::Bios(PathBuf::from(vemu::cli::DEFAULT_BIOS)),
        vga_bios: Some(PathBuf::from(vemu::cli::DEFAULT_VGA_BIOS)),
        nographic: false,
        no_reboot: true,
        clock: Clock::Instructions { sleep: false },
        boot_order: "a".into(),
        drives: vec![DriveConfig {
            path: args.image.clone(),
            interface: Interface::Floppy,
            index: 0,
            media: Media::Disk,
            format: None,
            read_only: true,
            snapshot: false,
        }],
        cpu: CpuConfig { engine, ..CpuConfig::default() },
        ..MachineConfig::default()
    };
    let mut machine = Machine::with_outputs(config, Box::new(std::io::sink()), Box::new(std::io::sink()))
        .map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicBool::new(false));
    let updates = Arc::new(AtomicU64::new(0));
    let mut client = None;
    if with_vnc {
        let port = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?.local_addr().unwrap().port();
        let displays = Displays::new();
        vnc::serve(&format!("127.0.0.1:{port}"), displays.screen.clone(), displays.sender())?;
        machine.attach_displays(displays, false);
        let (done, updates) = (done.clone(), updates.clone());
        client = Some(std::thread::spawn(move || viewer(port, &done, &updates)));
        std::thread::sleep(Duration::from_millis(100));
    }
    let start = Instant::now();
    let outcome = machine.run();
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    if let Some(c) = client {
        c.join().map_err(|_| "the VNC client panicked".to_string())??;
    }
    if outcome != Outcome::GuestExit(1) {
        return Err(format!("the drawing guest did not pass: {outcome:?}"));
    }
    Ok((secs, machine.cpu.icount, updates.load(Ordering::Relaxed)))
}

/// A VNC client that asks for incremental updates one after another and
/// reads each whole (raw encoding), until `done`.
fn viewer(port: u16, done: &AtomicBool, updates: &AtomicU64) -> Result<(), String> {
    let io = |e: std::io::Error| format!("VNC client: {e}");
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(io)?;
    let mut b = [0u8; 12];
    s.read_exact(&mut b).map_err(io)?;
    s.write_all(b"RFB 003.008\n").map_err(io)?;
    let mut t = [0u8; 2];
    s.read_exact(&mut t).map_err(io)?;
    s.write_all(&[1]).map_err(io)?;
    s.read_exact(&mut [0u8; 4]).map_err(io)?;
    s.write_all(&[1]).map_err(io)?;
    let mut init = [0u8; 24];
    s.read_exact(&mut init).map_err(io)?;
    let name_len = u32::from_be_bytes([init[20], init[21], init[22], init[23]]) as usize;
    s.read_exact(&mut vec![0; name_len]).map_err(io)?;
    let (mut w, mut h) = (u16::from_be_bytes([init[0], init[1]]), u16::from_be_bytes([init[2], init[3]]));
    // Raw and DesktopSize.
    s.write_all(&[2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21]).map_err(io)?;
    s.set_read_timeout(Some(Duration::from_millis(200))).map_err(io)?;
    while !done.load(Ordering::Relaxed) {
        let mut req = vec![3, 1, 0, 0, 0, 0];
        req.extend_from_slice(&w.to_be_bytes());
        req.extend_from_slice(&h.to_be_bytes());
        s.write_all(&req).map_err(io)?;
        let mut head = [0u8; 4];
        loop {
            match s.read_exact(&mut head) {
                Ok(()) => break,
                Err(_) if done.load(Ordering::Relaxed) => return Ok(()),
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(io(e)),
            }
        }
        s.set_read_timeout(None).map_err(io)?;
        for _ in 0..u16::from_be_bytes([head[2], head[3]]) {
            let mut r = [0u8; 12];
            s.read_exact(&mut r).map_err(io)?;
            let (rw, rh) = (u16::from_be_bytes([r[4], r[5]]), u16::from_be_bytes([r[6], r[7]]));
            match i32::from_be_bytes([r[8], r[9], r[10], r[11]]) {
                0 => s.read_exact(&mut vec![0; rw as usize * rh as usize * 4]).map_err(io)?,
                -223 => (w, h) = (rw, rh),
                other => return Err(format!("VNC client: unexpected encoding {other}")),
            }
        }
        s.set_read_timeout(Some(Duration::from_millis(200))).map_err(io)?;
        updates.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    let mut best = [(f64::MAX, 0u64, 0u64); 2];
    for round in 0..args.runs {
        for (i, with_vnc) in [false, true].into_iter().enumerate() {
            match run(&args, with_vnc) {
                Ok(r) => {
                    eprintln!(
                        "round {}: {:<24} {:.3} s, {} instructions, {} updates read",
                        round + 1,
                        if with_vnc { "VNC client reading" } else { "no display" },
                        r.0,
                        r.1,
                        r.2
                    );
                    if r.0 < best[i].0 {
                        best[i] = r;
                    }
                }
                Err(e) => {
                    eprintln!("display-bench: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let mips = |r: (f64, u64, u64)| r.1 as f64 / r.0 / 1e6;
    println!("drawing guest, engine {}, best of {}:", args.engine, args.runs);
    println!("  no display:          {:8.1} guest MIPS ({:.3} s)", mips(best[0]), best[0].0);
    println!(
        "  VNC client reading:  {:8.1} guest MIPS ({:.3} s, {} updates read)",
        mips(best[1]),
        best[1].0,
        best[1].2
    );
    println!("  ratio (VNC / none):  {:8.3}", mips(best[1]) / mips(best[0]));
}
