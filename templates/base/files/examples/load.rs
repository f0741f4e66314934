//! A small closed-loop load generator, so measuring the service needs nothing
//! outside cargo:
//!
//! ```sh
//! cargo run --release --example load -- http://127.0.0.1:8080/health/live \
//!     --connections 64 --seconds 10 [--header 'authorization: Bearer …']
//! ```
//!
//! Each connection sends its next request as soon as the previous answer has
//! arrived, for the given time; then it prints the requests per second, the
//! latency quantiles and the answers by status. Point it at your own machine
//! or a staging environment, never at a service you do not run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What the command line asks for.
struct Options {
    url: String,
    connections: usize,
    duration: Duration,
    headers: Vec<(String, String)>,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        url: String::new(),
        connections: 16,
        duration: Duration::from_secs(10),
        headers: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--connections" => {
                options.connections = value("--connections")?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?;
            }
            "--seconds" => {
                let seconds: f64 = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?;
                options.duration = Duration::from_secs_f64(seconds);
            }
            "--header" => {
                let header = value("--header")?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or(format!("--header `{header}`: expected `name: value`"))?;
                options
                    .headers
                    .push((name.trim().to_owned(), value.trim().to_owned()));
            }
            url if options.url.is_empty() && !url.starts_with("--") => options.url = url.to_owned(),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    if options.url.is_empty() || options.connections == 0 {
        return Err(
            "usage: load URL [--connections N] [--seconds S] [--header 'name: value']".into(),
        );
    }
    Ok(options)
}

/// One connection's results: latencies in microseconds, and answers by status
/// (0 for a request that got no answer).
#[derive(Default)]
struct Tally {
    latencies: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = options()?;
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &options.headers {
        let name =
            reqwest::header::HeaderName::try_from(name.as_str()).map_err(|e| e.to_string())?;
        let value =
            reqwest::header::HeaderValue::try_from(value.as_str()).map_err(|e| e.to_string())?;
        headers.insert(name, value);
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(options.connections)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let deadline = started + options.duration;
    let workers: Vec<_> = (0..options.connections)
        .map(|_| {
            let (client, url) = (client.clone(), options.url.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let status = match client.get(&url).send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            // Read the whole body, as a client would.
                            let _ = response.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    tally.latencies.push(micros);
                    *tally.statuses.entry(status).or_default() += 1;
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for worker in workers {
        let tally = worker.await.map_err(|e| e.to_string())?;
        all.latencies.extend(tally.latencies);
        for (status, count) in tally.statuses {
            *all.statuses.entry(status).or_default() += count;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies.sort_unstable();
    let quantile = |q: f64| {
        let index = ((all.latencies.len() as f64 - 1.0) * q).round() as usize;
        all.latencies
            .get(index)
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    let total = all.latencies.len();
    println!(
        "{} requests in {elapsed:.1} s over {} connections: {:.0} req/s",
        total,
        options.connections,
        total as f64 / elapsed
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        quantile(0.5),
        quantile(0.9),
        quantile(0.99),
        quantile(1.0)
    );
    let statuses: Vec<String> = all
        .statuses
        .iter()
        .map(|(status, count)| match status {
            0 => format!("no answer: {count}"),
            status => format!("{status}: {count}"),
        })
        .collect();
    println!("answers: {}", statuses.join(", "));
    Ok(())
}
