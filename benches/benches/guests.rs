//! Whole-guest workloads under the interpreter and under the JIT (issue 4):
//! CRC-32 of 1 MiB with paging on, a sieve of Eratosthenes, memcpy/memset with
//! REP MOVSD/STOSD and with plain loops, recursive fib, CPL-3 code making
//! system calls through an interrupt gate, code beside data, a Mandelbrot
//! set through the x87 stack, and a matrix product in packed SSE2 doubles.
//!
//! Throughput is guest instructions (criterion's "elements"), so the report
//! reads in guest instructions per second. Each iteration powers on a fresh
//! machine (outside the timing) and runs the guest to its end (inside it),
//! translation included, as a user would run it. The workloads run at scale 4
//! (`VEMU_BENCH_SCALE` changes it), long enough that the JIT's compile time is
//! a small part of the whole.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vemu_benches::{assemble, prepare, run_workload, WORKLOADS};
use vemu_translator::Engine;

fn guests(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("vemu-bench-guests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let scale = std::env::var("VEMU_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(4);
    for name in WORKLOADS {
        let rom = assemble(name, scale, &[], &dir).unwrap_or_else(|e| panic!("{e}"));
        let icount = run_workload(&rom, Engine::Jit).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut group = c.benchmark_group(*name);
        group.throughput(Throughput::Elements(icount));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(5));
        for (label, engine) in [("interp", Engine::Interp), ("jit", Engine::Jit)] {
            group.bench_function(label, |b| {
                b.iter_batched(
                    || prepare(&rom, engine).unwrap_or_else(|e| panic!("{e}")),
                    |m| {
                        let n = m.run().unwrap_or_else(|e| panic!("{name} ({label}): {e}"));
                        assert_eq!(n, icount, "{name} ({label}) ran a different instruction count");
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, guests);
criterion_main!(benches);
