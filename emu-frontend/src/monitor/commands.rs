//! What monitor commands do to the machine: run state, reset, quit,
//! screendumps, keys and mouse events. Run by the machine's loop between
//! slices, so each takes effect at an instruction boundary.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use vemu_devices::{mouse_button, Frame, KeyCode};

use super::{hmp, QmpError, Request, RunState};
use crate::machine::{Machine, Outcome};
use crate::screendump::{self, Format};

/// How long a key is held and the gap between keys of `send-key` when the
/// command gives no hold time (QEMU's default delay).
const DEFAULT_KEY_DELAY: Duration = Duration::from_millis(10);

/// Half the cursor's blink period (16 frames at 60 Hz), and the
/// characters' (32 frames).
const CURSOR_BLINK_NS: u64 = 266_666_667;
const CHAR_BLINK_NS: u64 = 533_333_333;

impl Machine {
    /// Handles what the monitor has waiting: commands, keys due. While the
    /// machine is stopped, waits here for the command that lets it go on
    /// (or for the console's quit).
    pub(crate) fn service_monitor(&mut self) -> Option<Outcome> {
        self.monitor.as_ref()?;
        loop {
            self.send_due_keys();
            let running = self.monitor.as_ref().is_some_and(|m| m.running());
            let wait = if running { Duration::ZERO } else { Duration::from_millis(20) };
            let request = self.monitor.as_ref().and_then(|m| m.next(wait));
            if let Some(req) = request {
                let Request { command, args, reply } = req;
                let result = self.execute(&command, &args);
                if let Some(m) = self.monitor.as_mut() {
                    m.acted = true;
                }
                let _ = reply.send(result);
                if let Some(end) = self.pending_outcome.take() {
                    return Some(end);
                }
                continue;
            }
            if running {
                return None;
            }
            // Stopped: the console may still quit.
            if let Some(end) = self.take_input(Duration::ZERO) {
                return Some(end);
            }
        }
    }

    /// Runs one command (its arguments already checked against its types).
    pub(crate) fn execute(&mut self, command: &str, args: &Map<String, Value>) -> Result<Value, QmpError> {
        match command {
            "query-status" => {
                let state = self.run_state();
                Ok(
                    json!({"status": state.name(), "singlestep": false, "running": state == RunState::Running}),
                )
            }
            "stop" => {
                self.stop();
                Ok(json!({}))
            }
            "cont" => {
                self.cont();
                Ok(json!({}))
            }
            "system_reset" => {
                self.emit("RESET", Some(json!({"guest": false, "reason": "host-qmp-system-reset"})));
                self.reset();
                Ok(json!({}))
            }
            "system_powerdown" => {
                self.powerdown();
                Ok(json!({}))
            }
            "quit" => {
                self.quit("host-qmp-quit");
                Ok(json!({}))
            }
            "screendump" => {
                let path = args["filename"].as_str().unwrap_or_default();
                if args.contains_key("head") && !args.contains_key("device") {
                    return Err(QmpError::generic("'head' must be specified together with 'device'"));
                }
                if let Some(dev) = args.get("device").and_then(|d| d.as_str()) {
                    if dev != "vga" && dev != "video0" {
                        return Err(QmpError {
                            class: "DeviceNotFound",
                            desc: format!("Device '{dev}' not found"),
                        });
                    }
                }
                let format = match args.get("format").and_then(|f| f.as_str()) {
                    None | Some("ppm") => Format::Ppm,
                    Some("png") => Format::Png,
                    Some(other) => {
                        return Err(QmpError::generic(format!(
                            "Parameter 'format' does not accept value '{other}'"
                        )))
                    }
                };
                self.screendump(Path::new(path), format).map_err(QmpError::generic)?;
                Ok(json!({}))
            }
            "send-key" => {
                let keys = args["keys"].as_array().cloned().unwrap_or_default();
                let keys = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| key_value(k, &format!("keys[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                let hold = match args.get("hold-time").and_then(|h| h.as_u64()) {
                    Some(ms) if ms > 0 => Duration::from_millis(ms),
                    _ => DEFAULT_KEY_DELAY,
                };
                self.send_keys(&keys.into_iter().flatten().collect::<Vec<_>>(), hold);
                Ok(json!({}))
            }
            "input-send-event" => {
                if !self.monitor.as_ref().is_some_and(|m| m.running()) {
                    return Err(QmpError::generic("VM not running"));
                }
                let events = args["events"].as_array().cloned().unwrap_or_default();
                self.input_events(&events)?;
                Ok(json!({}))
            }
            "human-monitor-command" => {
                let line = args["command-line"].as_str().unwrap_or_default().to_string();
                Ok(Value::String(hmp::execute(self, &line)))
            }
            other => Err(QmpError {
                class: "CommandNotFound",
                desc: format!("The command {other} has not been found"),
            }),
        }
    }

    pub(crate) fn run_state(&self) -> RunState {
        self.monitor.as_ref().map_or(RunState::Running, |m| m.state)
    }

    pub(crate) fn emit(&self, event: &str, data: Option<Value>) {
        if let Some(m) = &self.monitor {
            m.hub.emit(event, data);
        }
    }

    /// Stops the guest: its clock stands still until [`Machine::cont`].
    pub(crate) fn stop(&mut self) {
        let Some(m) = self.monitor.as_mut() else { return };
        if m.state == RunState::Running {
            m.state = RunState::Paused;
            m.stopped_at = Some(Instant::now());
            m.hub.emit("STOP", None);
        }
    }

    /// Lets a stopped guest go on; the host time it spent stopped does not
    /// count on its clock.
    pub(crate) fn cont(&mut self) {
        let Some(m) = self.monitor.as_mut() else { return };
        if m.state != RunState::Running {
            m.state = RunState::Running;
            if let Some(at) = m.stopped_at.take() {
                self.started += at.elapsed();
            }
            m.next_key = Instant::now();
            m.hub.emit("RESUME", None);
        }
    }

    /// `system_powerdown`: the POWERDOWN event, and the ACPI power button
    /// pressed (what the guest makes of it is up to the guest).
    pub(crate) fn powerdown(&mut self) {
        self.emit("POWERDOWN", None);
        self.bus().power_button();
    }

    /// Ends the run, with QEMU's SHUTDOWN event.
    pub(crate) fn quit(&mut self, reason: &str) {
        self.emit("SHUTDOWN", Some(json!({"guest": false, "reason": reason})));
        self.pending_outcome = Some(Outcome::Quit(String::new()));
    }

    /// The display's picture now (blink phases from the guest's clock); an
    /// empty frame without a display adapter.
    pub fn frame(&mut self) -> Frame {
        let now = self.cpu.now();
        let (cursor, chars) = ((now / CURSOR_BLINK_NS) % 2 == 0, (now / CHAR_BLINK_NS) % 2 == 0);
        self.bus().vga().map(|v| v.render(cursor, chars)).unwrap_or_default()
    }

    /// Writes a screenshot of the display.
    pub fn screendump(&mut self, path: &Path, format: Format) -> Result<(), String> {
        let frame = self.frame();
        screendump::write(path, &frame, format)
    }

    /// Presses `keys` in order and releases them in reverse, each step
    /// `delay` apart (at once, one after another, while stopped).
    pub(crate) fn send_keys(&mut self, keys: &[KeyCode], delay: Duration) {
        let Some(m) = self.monitor.as_mut() else {
            for &k in keys {
                self.bus().kbc().key_event(k, true);
            }
            for &k in keys.iter().rev() {
                self.bus().kbc().key_event(k, false);
            }
            return;
        };
        for &k in keys {
            m.keys.push_back((k, true, delay));
        }
        for &k in keys.iter().rev() {
            m.keys.push_back((k, false, delay));
        }
        self.send_due_keys();
    }

    /// Sends the queued key events whose time has come.
    fn send_due_keys(&mut self) {
        loop {
            let Some(m) = self.monitor.as_mut() else { return };
            let running = m.state == RunState::Running;
            if m.keys.is_empty() || running && Instant::now() < m.next_key {
                return;
            }
            let (key, down, delay) = m.keys.pop_front().expect("not empty");
            m.next_key = Instant::now() + delay;
            m.acted = true;
            self.bus().kbc().key_event(key, down);
        }
    }

    /// QMP's `input-send-event`: keys, buttons and relative motion to the
    /// PS/2 keyboard and mouse, in order.
    fn input_events(&mut self, events: &[Value]) -> Result<(), QmpError> {
        let mut motion = (0i32, 0i32, 0i32);
        for (i, e) in events.iter().enumerate() {
            let ty = e
                .get("type")
                .and_then(|t| t.as_str())
                .ok_or_else(|| missing(&format!("events[{i}].type")))?;
            let data = e.get("data").ok_or_else(|| missing(&format!("events[{i}].data")))?;
            match ty {
                "key" => {
                    let key = data.get("key").ok_or_else(|| missing("key"))?;
                    let down = data.get("down").and_then(|d| d.as_bool()).ok_or_else(|| missing("down"))?;
                    if let Some(k) = key_value(key, "key")? {
                        // After the keys send-key still holds, in order.
                        match self.monitor.as_mut().filter(|m| !m.keys.is_empty()) {
                            Some(m) => m.keys.push_back((k, down, Duration::ZERO)),
                            None => self.bus().kbc().key_event(k, down),
                        }
                    }
                }
                "btn" => {
                    let button =
                        data.get("button").and_then(|b| b.as_str()).ok_or_else(|| missing("button"))?;
                    let down = data.get("down").and_then(|d| d.as_bool()).ok_or_else(|| missing("down"))?;
                    let bit = match button {
                        "left" => mouse_button::LEFT,
                        "right" => mouse_button::RIGHT,
                        "middle" => mouse_button::MIDDLE,
                        "wheel-up" | "wheel-down" => {
                            if down {
                                motion.2 += if button == "wheel-up" { -1 } else { 1 };
                            }
                            continue;
                        }
                        "side" => mouse_button::SIDE,
                        "extra" => mouse_button::EXTRA,
                        // A PS/2 mouse has no horizontal wheel.
                        "wheel-left" | "wheel-right" => continue,
                        other => {
                            return Err(QmpError::generic(format!(
                                "Parameter 'button' does not accept value '{other}'"
                            )))
                        }
                    };
                    let buttons = self.mouse_buttons;
                    self.mouse_buttons = if down { buttons | bit } else { buttons & !bit };
                    let (dx, dy, dz) = std::mem::take(&mut motion);
                    let b = self.mouse_buttons;
                    self.bus().kbc().mouse_event(dx, dy, dz, b);
                }
                "rel" => {
                    let axis = data.get("axis").and_then(|a| a.as_str()).ok_or_else(|| missing("axis"))?;
                    let value =
                        data.get("value").and_then(|v| v.as_i64()).ok_or_else(|| missing("value"))? as i32;
                    match axis {
                        "x" => motion.0 += value,
                        "y" => motion.1 += value,
                        other => {
                            return Err(QmpError::generic(format!(
                                "Parameter 'axis' does not accept value '{other}'"
                            )))
                        }
                    }
                }
                "abs" => return Err(QmpError::generic("Input handler not found for event type abs")),
                other => {
                    return Err(QmpError::generic(format!(
                        "Parameter 'type' does not accept value '{other}'"
                    )))
                }
            }
        }
        if motion != (0, 0, 0) {
            let b = self.mouse_buttons;
            self.bus().kbc().mouse_event(motion.0, motion.1, motion.2, b);
        }
        Ok(())
    }
}

fn missing(name: &str) -> QmpError {
    QmpError::generic(format!("Parameter '{name}' is missing"))
}

/// A QMP KeyValue: `{"type": "qcode", "data": NAME}` or `{"type":
/// "number", "data": QNUM}` (a set 1 make code, 0x80 added for the keys
/// with an E0 prefix). A number no key has is no key (nothing is sent), as
/// in QEMU.
fn key_value(v: &Value, path: &str) -> Result<Option<KeyCode>, QmpError> {
    let ty = v.get("type").and_then(|t| t.as_str()).ok_or_else(|| missing(&format!("{path}.type")))?;
    let data = v.get("data").ok_or_else(|| missing(&format!("{path}.data")))?;
    match ty {
        "qcode" => {
            let name = data.as_str().ok_or_else(|| {
                QmpError::generic(format!("Invalid parameter type for '{path}.data', expected: string"))
            })?;
            KeyCode::from_qcode_name(name)
                .map(Some)
                .ok_or_else(|| QmpError::generic(format!("Parameter 'data' does not accept value '{name}'")))
        }
        "number" => {
            let n = data.as_u64().ok_or_else(|| {
                QmpError::generic(format!("Invalid parameter type for '{path}.data', expected: integer"))
            })?;
            Ok(key_from_qnum(n))
        }
        other => Err(QmpError::generic(format!("Parameter 'type' does not accept value '{other}'"))),
    }
}

/// The key whose set 1 make code is `qnum` (0x80 set: E0-prefixed).
pub(crate) fn key_from_qnum(qnum: u64) -> Option<KeyCode> {
    if qnum == 0 || qnum > 0xff {
        return None;
    }
    let code = if qnum & 0x80 != 0 { 0xe000 | (qnum & 0x7f) as u16 } else { qnum as u16 };
    KeyCode::all().find(|k| k.set1() == code)
}
