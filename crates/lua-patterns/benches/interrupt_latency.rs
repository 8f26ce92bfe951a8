//! How quickly a set interrupt flag stops a long match: another thread sets an atomic flag
//! after 20 ms; the time from setting it to `find` returning `Interrupted` is measured.
//!
//! `cargo bench -p lua-patterns --bench interrupt_latency`
//!
//! The minimum shows the mechanism (a check every [`CHECK_INTERVAL`] steps); the median
//! and maximum also contain the scheduler's delays when the machine is busy.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lua_patterns::{CHECK_INTERVAL, Dialect, MatchError};

static FLAG: AtomicBool = AtomicBool::new(false);
static SET_AT: AtomicU64 = AtomicU64::new(0);

fn main() {
    let t0 = Instant::now();
    let cases: [(&str, Vec<u8>, Vec<u8>); 4] = [
        (
            "a?{40} a{40} on a{40}",
            b"a".repeat(40),
            [b"a?".repeat(40), b"a".repeat(40)].concat(),
        ),
        (
            ".-.-.-.-b on a{5000}",
            b"a".repeat(5000),
            b".-.-.-.-b".to_vec(),
        ),
        (
            "[5000-byte set]*b",
            b"a".repeat(100_000),
            [&b"["[..], &b"x".repeat(5000), b"a]*b"].concat(),
        ),
        (
            "(a*)%1b on a{10^6}",
            b"a".repeat(1_000_000),
            b"(a*)%1b".to_vec(),
        ),
    ];
    println!("check every {CHECK_INTERVAL} steps; latency from setting the flag to the return");
    for (name, s, p) in cases {
        let mut lat = vec![];
        for _ in 0..21 {
            FLAG.store(false, Ordering::SeqCst);
            let setter = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                SET_AT.store(t0.elapsed().as_nanos() as u64, Ordering::SeqCst);
                FLAG.store(true, Ordering::SeqCst);
            });
            let mut check = || FLAG.load(Ordering::Relaxed);
            let r = lua_patterns::find(Dialect::Lua54, &s, &p, None, false, &mut check);
            let end = t0.elapsed().as_nanos() as u64;
            assert_eq!(
                r,
                Err(MatchError::Interrupted),
                "{name}: finished before the flag"
            );
            setter.join().unwrap();
            lat.push(end.saturating_sub(SET_AT.load(Ordering::SeqCst)) as f64 / 1000.0);
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "{name:<24} min {:>8.1} us   median {:>8.1} us   max {:>8.1} us",
            lat[0], lat[10], lat[20]
        );
    }
}
