//! What every measure returns, the statistics they share, and the
//! `bench/RESULTS.md` writer.

use std::{fmt::Write as _, path::Path, time::Duration};

/// One figure against its goal.
pub struct Row {
    pub measure: String,
    pub result: String,
    pub goal: String,
    /// The figure over its goal, oriented so that 1.0 or more meets it
    /// (for "at most" goals, the goal over the figure). Picks the worst row.
    pub score: f64,
}

/// One measure's part of the report.
pub struct Section {
    pub title: String,
    pub how: String,
    pub rows: Vec<Row>,
    /// Markdown: the runs and breakdowns behind the rows.
    pub detail: String,
}

pub fn median(values: &mut [f64]) -> f64 {
    assert!(!values.is_empty(), "the median of nothing");
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

pub fn median_duration(values: &mut [Duration]) -> Duration {
    let mut seconds: Vec<f64> = values.iter().map(Duration::as_secs_f64).collect();
    Duration::from_secs_f64(median(&mut seconds))
}

/// The `p`th percentile (0..=100) by nearest rank; `values` gets sorted.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    assert!(!values.is_empty(), "a percentile of nothing");
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// The machine, read where the kernel tells it.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {memory_gib:.1} GiB memory, Linux {}",
        kernel.trim()
    )
}

pub fn write(
    out: &Path,
    command: &str,
    runs: usize,
    started: chrono::DateTime<chrono::Utc>,
    took: Duration,
    sections: &[Section],
) {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmark results\n");
    let _ = writeln!(
        md,
        "Written by `{command}` on {} (UTC), in {:.0} s.\n",
        started.format("%Y-%m-%d %H:%M"),
        took.as_secs_f64()
    );
    let _ = writeln!(md, "- Machine: {}", machine());
    let _ = writeln!(
        md,
        "- Every figure is the median of {runs} runs made by this one command; ratios compare \
         runs made side by side in it. All traffic is on 127.0.0.1.\n"
    );
    let _ = writeln!(md, "## Every figure against its goal\n");
    let _ = writeln!(md, "| measure | result | goal | met |\n|---|---|---|---|");
    let rows = sections.iter().flat_map(|s| &s.rows);
    for row in rows.clone() {
        let met = if row.score >= 1.0 { "yes" } else { "**no**" };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {met} |",
            row.measure, row.result, row.goal
        );
    }
    if let Some(worst) = rows.min_by(|a, b| a.score.total_cmp(&b.score)) {
        let _ = writeln!(
            md,
            "\nFurthest from its goal: **{}** ({} against {}; {:.0}% of the goal).",
            worst.measure,
            worst.result,
            worst.goal,
            worst.score * 100.0
        );
    }
    for section in sections {
        let _ = writeln!(
            md,
            "\n## {}\n\n{}\n\n{}",
            section.title, section.how, section.detail
        );
    }
    // The profile is analysis, not a measurement this command can redo:
    // it is kept by hand beside the results and carried into them.
    let notes = out.with_file_name("PROFILE.md");
    if let Ok(profile) = std::fs::read_to_string(&notes) {
        let _ = writeln!(md, "\n{}", profile.trim_end());
    }
    std::fs::write(out, md).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
