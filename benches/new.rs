//! How long `stanchion new --yes` takes for each preset, as the user runs it.
//!
//! Each preset is generated N times by the real binary into a fresh directory and
//! timed; as a baseline the same loop runs `stanchion --version`, which costs the
//! process start-up and nothing else, so the ratio shows what generation itself
//! adds. In-process figures (render + write, no process) are printed too. Target:
//! under 50 ms per `new`. Prints figures; asserts nothing about time.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use stanchion::answers::{self, Fallback, Layer, Preset, Value};
use stanchion::template::TemplateSet;

const RUNS: usize = 30;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut(usize)) -> Duration {
    f(usize::MAX); // warm-up
    median(
        (0..runs)
            .map(|i| {
                let start = Instant::now();
                f(i);
                start.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let binary = Path::new(env!("CARGO_BIN_EXE_stanchion"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let baseline = time(RUNS, |_| {
        let status = Command::new(binary)
            .arg("--version")
            .output()
            .expect("runs")
            .status;
        assert!(status.success());
    });
    println!(
        "baseline `stanchion --version`: median {:.2} ms over {RUNS} runs",
        ms(baseline)
    );
    println!(
        "{:<8} {:>16} {:>10} {:>22}",
        "preset", "`new --yes` ms", "ratio", "in-process render+write ms"
    );
    let templates = TemplateSet::embedded().expect("embedded templates");
    for preset in [Preset::Minimal, Preset::Local, Preset::Full] {
        let layers = [
            Layer {
                origin: "bench".into(),
                explicit: true,
                values: [("name".to_owned(), Value::Str("bench-api".into()))].into(),
            },
            Layer::from_preset(preset),
        ];
        let answers = answers::resolve(&layers, Fallback::Defaults).expect("answers");
        if let Err(e) = stanchion::generate(&templates, &answers) {
            println!(
                "{:<8} skipped: {}",
                preset.name(),
                e.to_string().lines().next().unwrap_or_default()
            );
            continue;
        }
        let dir = tmp.path().join(preset.name());
        let cli = time(RUNS, |i| {
            let out = dir.join(format!("cli-{i}"));
            let status = Command::new(binary)
                .args([
                    "new",
                    "bench-api",
                    "--yes",
                    "--preset",
                    preset.name(),
                    "--dir",
                ])
                .arg(&out)
                .output()
                .expect("runs")
                .status;
            assert!(status.success());
        });
        let lib = time(RUNS, |i| {
            let tree = stanchion::generate(&templates, &answers).expect("renders");
            let out = dir.join(format!("lib-{i}"));
            stanchion::project::plan_write(&out, &tree, false)
                .expect("plan")
                .execute()
                .expect("writes");
        });
        println!(
            "{:<8} {:>16.2} {:>9.2}x {:>22.2}{}",
            preset.name(),
            ms(cli),
            cli.as_secs_f64() / baseline.as_secs_f64(),
            ms(lib),
            if ms(cli) < 50.0 {
                ""
            } else {
                "   (over the 50 ms target)"
            }
        );
    }
}
