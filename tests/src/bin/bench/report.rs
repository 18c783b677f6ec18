//! BENCHMARKS.md and BENCHMARKS.json.

use serde_json::{Value, json};
use tenantry_tests::Backend;

/// One measured figure, with its baseline and target where it has them.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub value: f64,
    pub unit: &'static str,
    pub baseline: Option<f64>,
    /// e.g. "≥ 0.50×" or "< 5 ms".
    pub target: Option<String>,
    pub met: Option<bool>,
    pub note: String,
}

impl Row {
    pub fn ratio(&self) -> Option<f64> {
        self.baseline.filter(|b| *b > 0.0).map(|b| self.value / b)
    }
}

pub struct Section {
    pub backend: Backend,
    pub rows: Vec<Row>,
}

impl Section {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            rows: Vec::new(),
        }
    }

    pub fn add(&mut self, row: Row) {
        let ratio = row.ratio().map_or(String::new(), |r| format!(" ({r:.2}×)"));
        eprintln!(
            "  {:<58} {:>12.2} {}{ratio}",
            row.scenario, row.value, row.unit
        );
        self.rows.push(row);
    }
}

pub struct Report {
    pub quick: bool,
    pub sections: Vec<Section>,
    pub seconds: f64,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Report {
    pub fn new(quick: bool) -> Self {
        Self {
            quick,
            sections: Vec::new(),
            seconds: 0.0,
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("# Tenantry benchmarks\n\n");
        out.push_str(&format!(
            "Measured {} on {} cores ({}), in {:.0} s, by `cargo build --release -p tenantry-server -p tenantry-tests --bins && target/release/bench`{}.\n\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            cores(),
            cpu_model(),
            self.seconds,
            if self.quick { " --quick" } else { "" },
        ));
        out.push_str(
            "Every figure is measured in the same run as its baseline: a bare tonic server (same tonic \
             version, same runtime settings) with one unary echo, a byte sink and source, and a store \
             that hashes, writes and fsyncs what it receives (the upload baseline). The load \
             generator is a Rust program on the same machine (it shares the 2 cores with the server), \
             and for the rows marked \"h2load:\" it is h2load (nghttp2), one connection per call in \
             flight; Tenantry runs as a separate release process with production settings (argon2id at OWASP \
             parameters, session checks, audit), rate limits off and request logs at `warn`. Latencies \
             are client-side, from an HDR histogram; throughput counts calls completed in 5 s after a \
             1 s warm-up.\n\n",
        );
        for section in &self.sections {
            out.push_str(&format!("## {:?}\n\n", section.backend));
            out.push_str("| scenario | Tenantry | baseline | ratio | target | met |\n|---|---:|---:|---:|---|:-:|\n");
            for row in &section.rows {
                let baseline = row
                    .baseline
                    .map_or("—".into(), |b| format!("{b:.1} {}", row.unit));
                let ratio = row.ratio().map_or("—".into(), |r| format!("{r:.2}×"));
                let met = match row.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                };
                let note = if row.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", row.note)
                };
                out.push_str(&format!(
                    "| {}{note} | {:.1} {} | {baseline} | {ratio} | {} | {met} |\n",
                    row.scenario,
                    row.value,
                    row.unit,
                    row.target.clone().unwrap_or_else(|| "—".into()),
                ));
            }
            out.push('\n');
        }
        out.push_str(include_str!("notes.md"));
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "date": chrono::Utc::now().to_rfc3339(),
            "cores": cores(),
            "cpu": cpu_model(),
            "seconds": self.seconds,
            "sections": self.sections.iter().map(|s| json!({
                "backend": format!("{:?}", s.backend),
                "rows": s.rows.iter().map(|r| json!({
                    "scenario": r.scenario, "value": r.value, "unit": r.unit,
                    "baseline": r.baseline, "ratio": r.ratio(), "target": r.target, "met": r.met, "note": r.note,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}
