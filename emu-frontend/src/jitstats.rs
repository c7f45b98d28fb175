//! `VEMU_JIT_STATS=1`: once a second of host time, and at the end of the
//! run, a line on stderr saying where the interpreter's instructions went
//! (by how often their block had run before, or whether it was waiting for
//! the compile thread) and what the compile thread did. A developer aid
//! beside `VEMU_JIT_DUMP` and `VEMU_PERF_MAP`: the figures behind "the
//! interpreter's share before blocks get hot" in a boot's profile.

use std::time::{Duration, Instant};

use vemu_translator::{Cpu, InterpKind, InterpStats, QueueStats, LATENCY_BOUNDS_MS};

/// How often a line is printed.
const EVERY: Duration = Duration::from_secs(1);

/// The report of one run: what the last line showed, to print the change.
pub struct JitStats {
    started: Instant,
    next: Instant,
    interp: InterpStats,
    queue: QueueStats,
}

impl JitStats {
    /// A report, if the environment asks for one (and `cpu` then counts).
    pub fn from_env(cpu: &mut Cpu) -> Option<JitStats> {
        std::env::var_os("VEMU_JIT_STATS")?;
        cpu.interp_stats = Some(Box::default());
        let now = Instant::now();
        Some(JitStats {
            started: now,
            next: now + EVERY,
            interp: InterpStats::default(),
            queue: QueueStats::default(),
        })
    }

    /// Prints the line for the last second if it is over.
    pub fn tick(&mut self, cpu: &Cpu) {
        let now = Instant::now();
        if now < self.next {
            return;
        }
        self.next = now + EVERY;
        let (interp, queue) = (current(cpu), cpu.queue_stats());
        let label = format!("{:.1} s", now.duration_since(self.started).as_secs_f64());
        eprintln!("{}", line(&label, &delta(&interp, &self.interp), &queue_delta(&queue, &self.queue)));
        (self.interp, self.queue) = (interp, queue);
    }

    /// Prints the whole run's line.
    pub fn finish(&self, cpu: &Cpu) {
        eprintln!("{}", line("total", &current(cpu), &cpu.queue_stats()));
    }
}

fn current(cpu: &Cpu) -> InterpStats {
    cpu.interp_stats.as_deref().cloned().unwrap_or_default()
}

fn delta(now: &InterpStats, then: &InterpStats) -> InterpStats {
    let mut d = now.clone();
    for i in 0..d.insns.len() {
        d.insns[i] -= then.insns[i];
        d.runs[i] -= then.runs[i];
    }
    d
}

/// The compiles since `then`; the queue as it is now.
fn queue_delta(now: &QueueStats, then: &QueueStats) -> QueueStats {
    let mut d = now.clone();
    d.compiled -= then.compiled;
    d.busy -= then.busy;
    for (n, t) in d.latency.iter_mut().zip(then.latency) {
        *n -= t;
    }
    d
}

/// Millions, one decimal.
fn m(n: u64) -> String {
    format!("{:.1}M", n as f64 / 1e6)
}

/// A bound from `QueueStats::latency_quantile`: "<16ms", or the open end.
fn bound(b: Option<u32>) -> String {
    match b {
        Some(ms) => format!("<{ms}ms"),
        None => format!(">={}ms", LATENCY_BOUNDS_MS.last().copied().unwrap_or(0)),
    }
}

/// One report line.
fn line(label: &str, interp: &InterpStats, queue: &QueueStats) -> String {
    let total: u64 = interp.insns.iter().sum();
    let runs: u64 = interp.runs.iter().sum();
    let kinds: Vec<String> =
        InterpKind::ALL.iter().map(|&k| format!("{} {}", k.name(), m(interp.insns[k as usize]))).collect();
    let mut s = format!(
        "vemu: jit stats {label}: interpreted {} insns in {} block runs ({}); compiled {}",
        m(total),
        m(runs),
        kinds.join(", "),
        queue.compiled,
    );
    if queue.compiled > 0 {
        s += &format!(
            " in {:.2} s of the compile thread, queued to installed p50 {} p90 {} p99 {}",
            queue.busy.as_secs_f64(),
            bound(queue.latency_quantile(0.5)),
            bound(queue.latency_quantile(0.9)),
            bound(queue.latency_quantile(0.99)),
        );
    }
    s + &format!("; waiting {} (most {})", queue.queued, queue.most_queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_gives_each_kind_and_the_compile_threads_latencies() {
        let mut interp = InterpStats::default();
        interp.insns[InterpKind::Runs10 as usize] = 2_500_000;
        interp.insns[InterpKind::Queued as usize] = 500_000;
        interp.runs[InterpKind::Runs10 as usize] = 1_000_000;
        let mut queue = QueueStats {
            compiled: 10,
            busy: Duration::from_millis(12),
            queued: 3,
            most_queued: 40,
            ..Default::default()
        };
        queue.latency[2] = 9; // 2-4 ms
        queue.latency[10] = 1; // 512 ms or more
        let l = line("1.0 s", &interp, &queue);
        assert_eq!(
            l,
            "vemu: jit stats 1.0 s: interpreted 3.0M insns in 1.0M block runs (runs<10 0.0M, runs<100 2.5M, \
             runs>=100 0.0M, queued 0.5M, compiled 0.0M, never 0.0M); compiled 10 in 0.01 s of the compile \
             thread, queued to installed p50 <4ms p90 <4ms p99 >=512ms; waiting 3 (most 40)"
        );
        let none = line("total", &InterpStats::default(), &QueueStats::default());
        assert!(none.ends_with("compiled 0; waiting 0 (most 0)"), "{none}");
    }

    #[test]
    fn a_lines_figures_are_those_since_the_last() {
        let mut then = InterpStats::default();
        then.insns[0] = 5;
        then.runs[0] = 1;
        let mut now = then.clone();
        now.insns[0] = 12;
        now.runs[0] = 3;
        let d = delta(&now, &then);
        assert_eq!((d.insns[0], d.runs[0]), (7, 2));
        let q0 = QueueStats { compiled: 4, busy: Duration::from_millis(5), ..Default::default() };
        let mut q1 =
            QueueStats { compiled: 6, busy: Duration::from_millis(9), queued: 2, ..Default::default() };
        q1.latency[1] = 2;
        let d = queue_delta(&q1, &q0);
        assert_eq!((d.compiled, d.busy, d.queued, d.latency[1]), (2, Duration::from_millis(4), 2, 2));
    }
}
