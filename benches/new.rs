//! How long `stanchion new --yes` takes for each preset, as the user runs it.
//!
//! Each preset is generated N times by the real binary into a fresh directory and
//! timed; as a baseline the same loop runs `stanchion --version`, which costs the
//! process start-up and nothing else, so the ratio shows what generation itself
//! adds. The floor is `cp -r` of the same output, a process too. In-process
//! figures (render + write, no process) are printed too. Goal: `new` at most 3x
//! `cp -r`. Also printed: how long loading the embedded template set takes (every
//! `new` process pays it). Prints figures; asserts nothing about time.
//!
//! The `new` and `cp -r` runs are interleaved (alternating which goes first),
//! both into fresh directories in the same temporary directory, and both are
//! warmed up once: on a machine shared with other work the load drifts, and two
//! loops one after the other would each see a different load. `new/cp` is the
//! median of each pair's ratio, so a pair sees the same conditions.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use stanchion::answers::{self, Fallback, Layer, Value};
use stanchion::template::TemplateSet;

const RUNS: usize = 41;

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
    let load = time(RUNS, |_| {
        TemplateSet::embedded().expect("embedded templates");
    });
    println!(
        "loading the embedded template set: median {:.2} ms",
        ms(load)
    );
    println!(
        "{:<8} {:>10} {:>13} {:>12} {:>10} {:>16}",
        "preset", "new ms", "ratio/start", "cp -r ms", "new/cp", "in-process ms"
    );
    let templates = TemplateSet::embedded().expect("embedded templates");
    for preset in ["minimal", "local", "full"] {
        let layers = [
            Layer {
                origin: "bench".into(),
                explicit: true,
                values: [("name".to_owned(), Value::Str("bench-api".into()))].into(),
            },
            Layer::from_preset(&templates.presets[preset]),
        ];
        let answers =
            answers::resolve(&templates.catalog, &layers, Fallback::Defaults).expect("answers");
        let dir = tmp.path().join(preset);
        let new = |out: &Path| {
            let start = Instant::now();
            let status = Command::new(binary)
                .args(["new", "bench-api", "--yes", "--preset", preset, "--dir"])
                .arg(out)
                .output()
                .expect("runs")
                .status;
            assert!(status.success());
            start.elapsed()
        };
        // The floor: copying the same output tree with `cp -r`, a process too.
        let source = dir.join("source");
        let copy = |out: &Path| {
            let start = Instant::now();
            let status = Command::new("cp")
                .arg("-r")
                .arg(&source)
                .arg(out)
                .output()
                .expect("cp runs")
                .status;
            assert!(status.success());
            start.elapsed()
        };
        new(&source);
        copy(&dir.join("cp-warm"));
        let (mut clis, mut copies, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..RUNS {
            let (cli, cp) = if i % 2 == 0 {
                let cli = new(&dir.join(format!("cli-{i}")));
                (cli, copy(&dir.join(format!("cp-{i}"))))
            } else {
                let cp = copy(&dir.join(format!("cp-{i}")));
                (new(&dir.join(format!("cli-{i}"))), cp)
            };
            ratios.push(cli.as_secs_f64() / cp.as_secs_f64());
            clis.push(cli);
            copies.push(cp);
        }
        ratios.sort_by(f64::total_cmp);
        let (cli, copy, ratio) = (median(clis), median(copies), ratios[RUNS / 2]);
        let lib = time(RUNS, |i| {
            let tree = stanchion::generate(&templates, &answers).expect("renders");
            let out = dir.join(format!("lib-{i}"));
            stanchion::project::plan_write(&out, &tree, false)
                .expect("plan")
                .execute()
                .expect("writes");
        });
        println!(
            "{:<8} {:>10.2} {:>12.2}x {:>12.2} {:>9.2}x {:>16.2}",
            preset,
            ms(cli),
            cli.as_secs_f64() / baseline.as_secs_f64(),
            ms(copy),
            ratio,
            ms(lib),
        );
    }
    println!("goal: `new` at most 3x `cp -r` of its own output");
}
