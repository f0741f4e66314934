//! The dashboard and the alert rules query only series the service exports:
//! the `full` preset runs against the machine's PostgreSQL and Redis, gets the
//! traffic that makes each series appear (a failed login, an invalid token, a
//! refresh token used twice, an idempotent replay, cache hits, requests until
//! the limiter answers 429), and every metric name in the PromQL of
//! `deploy/grafana/dashboards/api.json` and `deploy/prometheus/alerts.yml` must
//! be a series name of its `/metrics` scrape (a histogram's `_bucket`, `_sum`
//! and `_count` are series of their own, so a name is compared as written).
//! `up` is Prometheus' own.

use std::collections::BTreeSet;

use yaml_rust2::YamlLoader;

use crate::e2e::{
    E2E_ADMIN_EMAIL, E2E_JWT_SECRET, ScratchDatabase, agent, call, call_as, call_with, check_auth,
    check_products_as, fresh_prefix, start, stop,
};
use crate::support::{cargo_with_env, generated_target_dir, redis_url, stanchion};

/// PromQL's keywords, and its aggregation operators (which `by (...)` can
/// separate from their parenthesis): words that stand where a metric name
/// would.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
];

/// The metric names an expression selects: its identifiers once strings,
/// label matchers (`{...}`), ranges (`[...]`) and label lists (`by (...)`,
/// `on (...)`, ...) are taken out, except functions (followed by `(`),
/// keywords and numbers.
pub(crate) fn metric_names(expr: &str) -> BTreeSet<String> {
    let strings = regex::Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap();
    let braces = regex::Regex::new(r"\{[^}]*\}").unwrap();
    let ranges = regex::Regex::new(r"\[[^\]]*\]").unwrap();
    let label_lists =
        regex::Regex::new(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
            .unwrap();
    let identifier = regex::Regex::new(r"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?").unwrap();
    let expr = strings.replace_all(expr, "\"\"");
    let expr = braces.replace_all(&expr, " ");
    let expr = ranges.replace_all(&expr, " ");
    let expr = label_lists.replace_all(&expr, "$1");
    identifier
        .captures_iter(&expr)
        .filter(|found| found.get(1).is_none())
        .map(|found| found[0].to_owned())
        .filter(|name| !KEYWORDS.contains(&name.to_ascii_lowercase().as_str()))
        // `1e3` and the like: the identifier pattern finds the `e3`.
        .filter(|name| !regex::Regex::new(r"^[eE][0-9]+$").unwrap().is_match(name))
        .collect()
}

/// Every `expr` of the dashboard's panels, rows' nested panels included.
pub(crate) fn dashboard_exprs(dashboard: &serde_json::Value) -> Vec<String> {
    fn walk(panels: &serde_json::Value, out: &mut Vec<String>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push(target["expr"].as_str().expect("a target's expr").to_owned());
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every rule's `expr` in a Prometheus rules file.
fn alert_exprs(rules: &str) -> Vec<String> {
    let docs = YamlLoader::load_from_str(rules).expect("alerts.yml is YAML");
    docs[0]["groups"]
        .as_vec()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_vec().expect("rules").clone())
        .map(|rule| rule["expr"].as_str().expect("a rule's expr").to_owned())
        .collect()
}

/// The series names of a scrape in the Prometheus text format.
fn exported_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            line[..end].to_owned()
        })
        .collect()
}

#[test]
fn metric_names_are_found_in_promql() {
    let names = |expr: &str| metric_names(expr).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="a", route!~"/health/.*"}[5m]))) > 1e3"#
        ),
        ["http_request_duration_seconds_bucket"]
    );
    assert_eq!(
        names(
            r#"db_pool_connections{state="in_use"} / ignoring(state) db_pool_max_connections > 0.9 and on (pool) up == 1"#
        ),
        ["db_pool_connections", "db_pool_max_connections", "up"]
    );
    assert_eq!(
        names(
            r#"sum without (instance) (increase(auth_failures_total{reason="a{b}"}[$__rate_interval]))"#
        ),
        ["auth_failures_total"]
    );
}

/// `RATE_LIMIT_MAX` of the running service: small, so the 429 comes quickly
/// after the other checks.
const RATE_LIMIT_MAX: u32 = 60;

#[test]
fn the_dashboard_and_the_alerts_use_only_series_the_full_preset_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "metrics-full";
    let project = tmp.path().join(name);
    stanchion()
        .args(["new", name, "--yes", "--preset", "full", "--dir"])
        .arg(&project)
        .assert()
        .success();
    cargo_with_env(&project, &["build", "--quiet"], &[]);
    let binary = generated_target_dir().join("debug").join(name);

    let database = ScratchDatabase::create("stanchion_metric_names");
    let redis = redis_url();
    let max = RATE_LIMIT_MAX.to_string();
    let (limits, cache) = (
        fresh_prefix("names-rate-limit"),
        fresh_prefix("names-cache"),
    );
    let service = start(
        &binary,
        &project,
        &[
            ("DATABASE_URL", &database.url),
            ("DATABASE_READ_URL", &database.url),
            ("REDIS_URL", &redis),
            ("JWT_SECRET", E2E_JWT_SECRET),
            ("AUTH_ADMIN_EMAILS", E2E_ADMIN_EMAIL),
            ("RATE_LIMIT_MAX", &max),
            ("RATE_LIMIT_AUTH_MAX", "1000"),
            ("RATE_LIMIT_KEY_PREFIX", &limits),
            ("CACHE_KEY_PREFIX", &cache),
        ],
    );
    let url = |path: &str| format!("{}{path}", service.base);

    // Auth: refusals of several reasons (check_auth replays a refresh token,
    // asks without a token and with a token lacking the role).
    let token = check_auth(&service);
    let wrong = serde_json::json!({ "email": E2E_ADMIN_EMAIL, "password": "not the password" });
    assert_eq!(call("POST", &url("/auth/login"), Some(wrong)).0, 401);
    assert_eq!(
        call_as("GET", &url("/auth/me"), None, Some("not.a.token")).0,
        401
    );
    // Products: idempotent replays; a product read twice (cache miss, hit).
    check_products_as(&service, Some(&token));
    let lamp = serde_json::json!({ "name": "Lamp", "price_cents": 100 });
    let key = [("idempotency-key", "metric-names-1")];
    let products = url("/api/v1/products");
    let (status, _, product) = call_with("POST", &products, Some(lamp.clone()), Some(&token), &key);
    assert_eq!(status, 201, "{product}");
    let (status, headers, _) = call_with("POST", &products, Some(lamp), Some(&token), &key);
    let replayed = headers
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap());
    assert_eq!((status, replayed), (201, Some("true")));
    let one = format!("{products}/{}", product["id"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(call_as("GET", &one, None, Some(&token)).0, 200);
    }
    // The limiter, until it refuses.
    let limited = (0..=RATE_LIMIT_MAX).any(|_| call("GET", &products, None).0 == 429);
    assert!(limited, "a 429 within {RATE_LIMIT_MAX} requests");

    let mut response = agent().get(url("/metrics")).call().unwrap();
    assert_eq!(response.status(), 200);
    let scrape = response.body_mut().read_to_string().unwrap();
    stop(service);

    let exported = exported_names(&scrape);
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("deploy/grafana/dashboards/api.json")).unwrap(),
    )
    .unwrap();
    let alerts = std::fs::read_to_string(project.join("deploy/prometheus/alerts.yml")).unwrap();
    let mut used = BTreeSet::new();
    for (source, exprs) in [
        ("dashboard", dashboard_exprs(&dashboard)),
        ("alerts", alert_exprs(&alerts)),
    ] {
        assert!(!exprs.is_empty(), "{source}");
        for expr in exprs {
            for metric in metric_names(&expr) {
                used.insert((metric, source));
            }
        }
    }
    let missing: Vec<String> = used
        .iter()
        .filter(|(metric, _)| metric != "up" && !exported.contains(metric))
        .map(|(metric, source)| format!("{metric} ({source})"))
        .collect();
    assert!(
        missing.is_empty(),
        "used but not exported: {missing:?}\nexported: {exported:?}"
    );
    eprintln!(
        "{} metric names used by the dashboard and the alert rules, all exported",
        used.iter().map(|(m, _)| m).collect::<BTreeSet<_>>().len()
    );
}
