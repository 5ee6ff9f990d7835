//! What the benchmarks measure with: a command's wall time, peak memory and JSON answer, the
//! floors (`dd conv=fsync`, `cp -r`), disk use, and the lines they print.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One run of a measured command.
#[derive(Debug)]
pub struct Ran {
    pub secs: f64,
    /// Peak resident memory of the process, in MiB.
    pub peak_mib: f64,
    /// Its standard output as JSON (null when it is not).
    pub out: serde_json::Value,
}

/// Flushes what earlier steps wrote (`sync`), so their writeback is not timed in the next one:
/// on this project's machine a get timed right after a 512 MiB put took 0.7 to 3.4 s, against
/// 0.6 to 0.7 s when the disk was quiet. Every figure and floor starts from here.
pub fn settle() {
    let status = Command::new("sync").status().expect("run sync");
    assert!(status.success(), "sync failed");
}

/// Runs `cmd` to its end, timing it and polling its peak resident size (VmHWM); panics with
/// its output if it fails. Starts from a settled disk.
pub fn measured(cmd: &mut Command) -> Ran {
    settle();
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut s) = stdout {
            let _ = std::io::Read::read_to_string(&mut s, &mut text);
        }
        text
    });
    // The kernel's peak resident size so far (VmHWM), read until the process exits.
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let secs = started.elapsed().as_secs_f64();
    let text = reader.join().expect("stdout");
    assert!(status.success(), "{cmd:?} failed: {text}");
    Ran {
        secs,
        peak_mib: peak_kib as f64 / 1024.0,
        // The whole output, else its last line (a program that prints more before it).
        out: serde_json::from_str(&text)
            .or_else(|_| serde_json::from_str(text.trim().lines().last().unwrap_or_default()))
            .unwrap_or(serde_json::Value::Null),
    }
}

/// The wall time of `cmd`, from a settled disk.
pub fn timed(cmd: &mut Command) -> f64 {
    settle();
    let started = Instant::now();
    let status = cmd.status().expect("run the floor's command");
    assert!(status.success(), "{cmd:?} failed");
    started.elapsed().as_secs_f64()
}

/// `dd if=FILE of=DIR/x bs=4M conv=fsync`: writing the file once, durably, where blobs go.
pub fn dd_floor(file: &Path, dir: &Path) -> f64 {
    let out = dir.join("floor.dd");
    let secs = timed(
        Command::new("dd")
            .arg(format!("if={}", file.display()))
            .arg(format!("of={}", out.display()))
            .args(["bs=4M", "conv=fsync", "status=none"]),
    );
    std::fs::remove_file(out).expect("remove the floor's copy");
    secs
}

/// `cp -r SRC DIR/`: the bytes copied once onto the target's filesystem.
pub fn cp_floor(src: &Path, dir: &Path) -> f64 {
    let out = dir.join("floor.cp");
    let secs = timed(Command::new("cp").arg("-r").arg(src).arg(&out));
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&out);
    secs
}

/// `cp -r SRC DIR/` then `sync`: the bytes written once, durably, where the server keeps them
/// (the floor of logging many small files, which the server stores one durable file each).
pub fn cp_sync_floor(src: &Path, dir: &Path) -> f64 {
    let out = dir.join("floor.cp-sync");
    let secs = timed(
        Command::new("sh")
            .arg("-c")
            .arg(r#"cp -r "$1" "$2" && sync"#)
            .arg("sh")
            .arg(src)
            .arg(&out),
    );
    let _ = std::fs::remove_dir_all(&out);
    secs
}

/// Disk blocks used by these paths together (a file linked from two of them counts once).
pub fn disk_use(paths: &[&Path]) -> u64 {
    let out = Command::new("du")
        .args(["-s", "-B1"])
        .args(paths)
        .output()
        .expect("du");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// `mib` MiB of distinct, incompressible-looking bytes.
pub fn write_big(path: &Path, mib: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let chunk: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    for i in 0..mib {
        let mut c = chunk.clone();
        c[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&c).expect("write");
    }
    f.flush().expect("flush");
}

/// `count` files of `size` bytes in 20 folders under `dir`, distinct per `tag`.
pub fn write_small(dir: &Path, count: u32, size: usize, tag: u8) {
    for i in 0..count {
        let p = dir.join(format!("d{}/f{i:05}.bin", i % 20));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let mut bytes = vec![(i % 251) as u8; size];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        bytes[4] = tag;
        std::fs::write(&p, bytes).expect("write");
    }
}

pub fn ratio_line(what: &str, floor: f64, figure: f64, target: f64) {
    let ratio = figure / floor;
    let verdict = if ratio <= target { "meets" } else { "misses" };
    println!(
        "  {what:<44} floor {floor:6.2} s  wanllmdb {figure:6.2} s  ratio {ratio:4.2} (target <= {target:.1}x, {verdict})"
    );
}

pub fn absolute_line(what: &str, floor: f64, figure: f64, target: f64) {
    let verdict = if figure <= target { "meets" } else { "misses" };
    println!(
        "  {what:<44} floor {floor:6.2} s  wanllmdb {figure:6.2} s  ratio {:4.2} (target <= {target:.2} s, {verdict})",
        figure / floor
    );
}
