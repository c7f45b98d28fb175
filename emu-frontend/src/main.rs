//! `vemu`: the command line. See README.md for the options and exit statuses.

use std::process::ExitCode;

use clap::Parser;
use vemu::cli::{self, Cli, Command};
use vemu::console::{self as cli_console, Console};
use vemu::display::{vnc, Displays};
use vemu::monitor::{qmp, Monitor};
use vemu::Machine;

/// Binds the monitor sockets and attaches the monitor, if any was asked for.
fn start_monitors(machine: &mut Machine, config: &cli_console::ConsoleConfig) -> Result<(), String> {
    // Always there: the console's own monitor (Ctrl-A c, -monitor stdio)
    // stops and starts the machine through it too.
    let monitor = Monitor::new(config.start_stopped);
    for (endpoint, wait) in &config.qmp {
        let listener = qmp::Listener::bind(endpoint)?;
        qmp::serve(listener, *wait, monitor.sender(), monitor.hub.clone());
    }
    for (endpoint, wait) in &config.hmp {
        let listener = qmp::Listener::bind(endpoint)?;
        qmp::serve_hmp(listener, *wait, monitor.sender());
    }
    machine.attach_monitor(monitor);
    Ok(())
}

fn main() -> ExitCode {
    let args = match cli::normalise(std::env::args_os()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vemu: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; usage errors exit with 2.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let Command::Run(args) = cli.command;
    if args.cpu.as_deref() == Some("help") {
        print!("{}", cli::cpu_help());
        return ExitCode::SUCCESS;
    }
    let (config, console_config) = match cli::configure(*args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vemu: {e}");
            return ExitCode::from(2);
        }
    };
    let (console, serial) = match Console::open(&console_config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vemu: {e}");
            return ExitCode::from(2);
        }
    };
    let debugcon = Box::new(std::io::stdout());
    let mut machine = match Machine::with_outputs(config, debugcon, serial) {
        Ok(m) => m,
        Err(e) => {
            drop(console);
            eprintln!("vemu: {e}");
            return ExitCode::from(2);
        }
    };
    machine.attach_console(console);
    // The screen's viewers: the terminal, VNC.
    let mut terminal = None;
    if console_config.display == cli_console::Display::Curses || console_config.vnc.is_some() {
        let displays = Displays::new();
        if let Some(addr) = &console_config.vnc {
            if let Err(e) = vnc::serve(addr, displays.screen.clone(), displays.sender()) {
                drop(machine);
                eprintln!("vemu: {e}");
                return ExitCode::from(2);
            }
        }
        let curses = console_config.display == cli_console::Display::Curses;
        if curses {
            terminal = Some(vemu::display::terminal::spawn(displays.screen.clone()));
        }
        machine.attach_displays(displays, curses);
    }
    if let Err(e) = start_monitors(&mut machine, &console_config) {
        drop(machine);
        eprintln!("vemu: {e}");
        return ExitCode::from(2);
    }
    let outcome = machine.run();
    // The terminal goes back to how it was before anything else is printed.
    drop(terminal);
    drop(machine);
    if let Some(msg) = outcome.message() {
        eprintln!("vemu: {msg}");
    }
    ExitCode::from(outcome.exit_status() as u8)
}
