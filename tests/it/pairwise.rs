//! Every combination of answers must compile, cleanly: rustfmt-clean and without
//! a clippy warning, since `{{#if}}` blocks easily leave an unused import or a
//! stray blank line in one combination only. Trying them all is exponential, so
//! this harness builds a pairwise-covering set — every value of every question
//! meets every value of every other question in at least one project — from the
//! question list itself, keeps only values whose components the embedded
//! templates provide (so a component becomes covered the moment its templates
//! land), and runs `cargo fmt --check` and `cargo clippy --all-targets -D
//! warnings` on each, then builds it, starts it and probes it over HTTP against
//! the API contract for the components it has: health, a problem+json 404 with
//! its request id, `/metrics` on the main port, `/openapi.json`, the products
//! flow, the auth flow, the rate-limit headers and a clean exit on SIGTERM.
//!
//! Questions that apply only after some answers (a read replica with PostgreSQL,
//! authentication with a database) constrain the rows: a pair that no project
//! can hold is not sought, and each row is filled so that every answer it sets
//! applies — the conditions come from the questions themselves.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use stanchion::Error;
use stanchion::answers::{Catalog, Kind, Partial, Question, Value};
use stanchion::template::TemplateSet;

use crate::e2e::{
    E2E_ADMIN_EMAIL, E2E_JWT_SECRET, E2E_RATE_LIMIT_MAX, ScratchDatabase, agent, call, check_auth,
    check_base_contract, check_products_as, fresh_prefix, start, stop,
};
use crate::support::{answers_from, cargo, generated_target_dir, redis_url, render};

/// One dimension of the search: an answer key and the values worth trying.
#[derive(Debug)]
struct Dimension {
    key: String,
    values: Vec<Value>,
}

/// Questions whose value changes no code path worth a build of its own.
const FIXED: &[&str] = &[
    "name",
    "description",
    "rate_limit_max",
    "rate_limit_window_secs",
];

/// The embedded template set's questions.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| TemplateSet::embedded().expect("embedded templates").catalog)
}

fn question(key: &str) -> Option<&'static Question> {
    catalog().get(key)
}

fn dimensions() -> Vec<Dimension> {
    let mut dims = Vec::new();
    for q in catalog()
        .iter()
        .filter(|q| !FIXED.contains(&q.key.as_str()))
    {
        match &q.kind {
            Kind::Choice(choices) => dims.push(Dimension {
                key: q.key.clone(),
                values: choices
                    .iter()
                    .map(|c| Value::Str(c.value.clone()))
                    .collect(),
            }),
            Kind::Bool => dims.push(Dimension {
                key: q.key.clone(),
                values: vec![Value::Bool(false), Value::Bool(true)],
            }),
            // Each option of a multi-choice is its own yes/no dimension.
            Kind::Multi(choices) => dims.extend(choices.iter().map(|c| Dimension {
                key: format!("{}:{}", q.key, c.value),
                values: vec![Value::Bool(false), Value::Bool(true)],
            })),
            Kind::Text(_) | Kind::Int { .. } => {}
        }
    }
    dims
}

/// Turns an assignment of dimension values into answer pairs, dropping answers
/// to questions that do not apply (a read replica without PostgreSQL): in a
/// [`consistent`] row those are defaults.
fn answer_pairs(dims: &[Dimension], pick: &[usize]) -> Vec<(String, Value)> {
    let mut pairs = vec![("name".to_owned(), Value::Str("combo".into()))];
    let mut deploy = Vec::new();
    for (dim, &i) in dims.iter().zip(pick) {
        let value = dim.values[i].clone();
        match dim.key.split_once(':') {
            Some((_, option)) => {
                if value == Value::Bool(true) {
                    deploy.push(option.to_owned());
                }
            }
            None => pairs.push((dim.key.clone(), value)),
        }
    }
    pairs.push(("deploy".into(), Value::List(deploy)));
    let partial = partial(&pairs);
    pairs.retain(|(key, _)| question(key).is_none_or(|q| q.applies(&partial)));
    pairs
}

fn partial(pairs: &[(String, Value)]) -> Partial {
    let mut partial = Partial::default();
    for (key, value) in pairs {
        partial.insert(key, value.clone());
    }
    partial
}

/// The index of each dimension's default value (`none` or `false`).
fn defaults(dims: &[Dimension]) -> Vec<usize> {
    dims.iter()
        .map(|d| {
            d.values
                .iter()
                .position(|v| matches!(v, Value::Bool(false)) || *v == Value::Str("none".into()))
                .unwrap_or(0)
        })
        .collect()
}

/// `row` with defaults for the dimensions it leaves open.
fn filled(dims: &[Dimension], row: &[Option<usize>]) -> Vec<usize> {
    row.iter()
        .zip(defaults(dims))
        .map(|(set, default)| set.unwrap_or(default))
        .collect()
}

/// Whether every answer of `row` that is not a default applies given the rest,
/// with defaults for the dimensions `row` leaves open.
fn consistent(dims: &[Dimension], row: &[Option<usize>]) -> bool {
    let defaults = defaults(dims);
    let pick = filled(dims, row);
    let pairs: Vec<(String, Value)> = dims
        .iter()
        .zip(&pick)
        .filter(|(d, _)| !d.key.contains(':'))
        .map(|(d, &i)| (d.key.clone(), d.values[i].clone()))
        .collect();
    let partial = partial(&pairs);
    dims.iter().zip(&pick).enumerate().all(|(d, (dim, &i))| {
        i == defaults[d] || question(&dim.key).is_none_or(|q| q.applies(&partial))
    })
}

/// `row` made [`consistent`] by setting at most one of its open dimensions (each
/// condition is on one earlier answer), if that is possible.
fn complete(dims: &[Dimension], row: &[Option<usize>]) -> Option<Vec<Option<usize>>> {
    if consistent(dims, row) {
        return Some(row.to_vec());
    }
    (0..dims.len())
        .filter(|&d| row[d].is_none())
        .flat_map(|d| (0..dims[d].values.len()).map(move |v| (d, v)))
        .map(|(d, v)| {
            let mut completed = row.to_vec();
            completed[d] = Some(v);
            completed
        })
        .find(|completed| consistent(dims, completed))
}

fn renders(pairs: &[(String, Value)]) -> Result<stanchion::tree::Tree, Error> {
    let borrowed: Vec<(&str, Value)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    render(&answers_from(&borrowed)?)
}

/// Checks that each value renders alone on top of the defaults (a read replica
/// with PostgreSQL), and drops dimensions left with one value.
fn available(mut dims: Vec<Dimension>) -> Vec<Dimension> {
    let mut kept = Vec::new();
    for d in 0..dims.len() {
        let keep: Vec<Value> = (0..dims[d].values.len())
            .filter(|&i| {
                let mut alone = vec![None; dims.len()];
                alone[d] = Some(i);
                let row = complete(&dims, &alone).unwrap_or_else(|| {
                    panic!("{}={:?} can never apply", dims[d].key, dims[d].values[i])
                });
                let pick = filled(&dims, &row);
                match renders(&answer_pairs(&dims, &pick)) {
                    Ok(_) => true,
                    Err(e) => panic!(
                        "{}={:?} fails to render: {e}",
                        dims[d].key, dims[d].values[i]
                    ),
                }
            })
            .map(|i| dims[d].values[i].clone())
            .collect();
        kept.push(keep);
    }
    for (dim, keep) in dims.iter_mut().zip(kept) {
        dim.values = keep;
    }
    dims.retain(|d| d.values.len() > 1);
    dims
}

/// A greedy pairwise-covering array: rows of value indexes such that every pair
/// of values of two different dimensions that a [`consistent`] row can hold
/// appears in some row, and every row is consistent.
fn covering_rows(dims: &[Dimension]) -> Vec<Vec<usize>> {
    let mut uncovered: BTreeSet<(usize, usize, usize, usize)> = BTreeSet::new();
    for a in 0..dims.len() {
        for b in a + 1..dims.len() {
            for i in 0..dims[a].values.len() {
                for j in 0..dims[b].values.len() {
                    let mut pair = vec![None; dims.len()];
                    pair[a] = Some(i);
                    pair[b] = Some(j);
                    if complete(dims, &pair).is_some() {
                        uncovered.insert((a, i, b, j));
                    }
                }
            }
        }
    }
    let mut rows = Vec::new();
    while let Some(&(a, i, b, j)) = uncovered.iter().next() {
        let mut row: Vec<Option<usize>> = vec![None; dims.len()];
        row[a] = Some(i);
        row[b] = Some(j);
        for d in 0..dims.len() {
            if row[d].is_some() {
                continue;
            }
            let gain = |v: usize| {
                row.iter()
                    .enumerate()
                    .filter_map(|(e, x)| x.map(|x| (e, x)))
                    .filter(|&(e, x)| {
                        let key = if e < d { (e, x, d, v) } else { (d, v, e, x) };
                        uncovered.contains(&key)
                    })
                    .count()
            };
            let best = (0..dims[d].values.len())
                .filter(|&v| {
                    let mut candidate = row.clone();
                    candidate[d] = Some(v);
                    complete(dims, &candidate).is_some()
                })
                .max_by_key(|&v| (gain(v), std::cmp::Reverse(v)))
                .expect("some value keeps the row consistent");
            row[d] = Some(best);
        }
        assert!(consistent(dims, &row), "{row:?}");
        let row: Vec<usize> = row.into_iter().map(Option::unwrap).collect();
        for a in 0..dims.len() {
            for b in a + 1..dims.len() {
                uncovered.remove(&(a, row[a], b, row[b]));
            }
        }
        rows.push(row);
    }
    rows
}

#[test]
fn covering_rows_cover_every_pair() {
    let dims: Vec<Dimension> = (0..5)
        .map(|d| Dimension {
            key: format!("d{d}"),
            values: (0..3).map(Value::Int).collect(),
        })
        .collect();
    let rows = covering_rows(&dims);
    assert!(
        rows.len() < 3usize.pow(5) / 10,
        "far fewer rows than all combinations: {}",
        rows.len()
    );
    for a in 0..5 {
        for b in a + 1..5 {
            for i in 0..3 {
                for j in 0..3 {
                    assert!(
                        rows.iter().any(|r| r[a] == i && r[b] == j),
                        "({a}={i}, {b}={j}) uncovered"
                    );
                }
            }
        }
    }
}

/// The answer `key` takes in `pairs`.
fn answer<'a>(pairs: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Starts the built binary of row `n` and probes it for what its answers select.
fn run_and_probe(n: usize, dir: &std::path::Path, pairs: &[(String, Value)]) {
    let is = |key: &str, value: &str| answer(pairs, key) == Some(&Value::Str(value.into()));
    let on = |key: &str| answer(pairs, key) == Some(&Value::Bool(true));
    let database = answer(pairs, "database").is_some_and(|v| *v != Value::Str("none".into()));
    let limited = answer(pairs, "rate_limit").is_some_and(|v| *v != Value::Str("none".into()));
    let scratch = is("database", "postgres")
        .then(|| ScratchDatabase::create(&format!("stanchion_pairwise_{n}")));
    let redis = redis_url();
    let max = E2E_RATE_LIMIT_MAX.to_string();
    let rate_prefix = fresh_prefix(&format!("pairwise-{n}-limit"));
    let cache_prefix = fresh_prefix(&format!("pairwise-{n}-cache"));
    let mut env: Vec<(&str, &str)> = vec![
        ("REDIS_URL", &redis),
        ("JWT_SECRET", E2E_JWT_SECRET),
        ("AUTH_ADMIN_EMAILS", E2E_ADMIN_EMAIL),
        ("RATE_LIMIT_MAX", &max),
        ("RATE_LIMIT_AUTH_MAX", "10"),
        ("RATE_LIMIT_KEY_PREFIX", &rate_prefix),
        ("CACHE_KEY_PREFIX", &cache_prefix),
    ];
    if let Some(scratch) = &scratch {
        env.push(("DATABASE_URL", &scratch.url));
    }
    let binary = generated_target_dir().join("debug").join("combo");
    let service = start(&binary, dir, &env);
    check_base_contract(&service);
    let url = |path: &str| format!("{}{path}", service.base);
    if on("metrics") {
        let mut response = agent().get(url("/metrics")).call().unwrap();
        assert_eq!(response.status(), 200, "/metrics on the main port");
        let text = response.body_mut().read_to_string().unwrap();
        assert!(text.contains("http_requests_total"), "{text}");
    }
    if on("openapi") {
        let (status, _, document) = call("GET", &url("/openapi.json"), None);
        assert_eq!(status, 200);
        assert!(document["paths"]["/health/live"].is_object(), "{document}");
        let has_products = document["paths"]["/api/v1/products"].is_object();
        assert_eq!(
            has_products, database,
            "products documented with a database"
        );
        assert_eq!(agent().get(url("/docs")).call().unwrap().status(), 200);
    }
    if database {
        let token = is("auth", "jwt").then(|| check_auth(&service));
        check_products_as(&service, token.as_deref());
    }
    if limited {
        // Whatever the route, `/api/` is limited to RATE_LIMIT_MAX per window.
        let probe = url("/api/v1/probe");
        let refused = (0..=E2E_RATE_LIMIT_MAX).find_map(|_| {
            let (status, headers, _) = call("GET", &probe, None);
            if status == 429 {
                return Some(headers);
            }
            assert_eq!(headers["ratelimit-limit"], max.as_str(), "status {status}");
            None
        });
        let headers = refused.expect("a 429 once the limit is reached");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert!(headers.contains_key("retry-after"));
    }
    stop(service);
}

/// Every pairwise row's answers and rendered tree.
pub(crate) fn rendered_rows() -> Vec<(Vec<(String, Value)>, stanchion::tree::Tree)> {
    let dims = available(dimensions());
    covering_rows(&dims)
        .iter()
        .map(|row| {
            let pairs = answer_pairs(&dims, row);
            let tree = renders(&pairs).unwrap();
            (pairs, tree)
        })
        .collect()
}

#[test]
fn no_pairwise_combination_forms_an_import_cycle() {
    for (n, (pairs, tree)) in rendered_rows().iter().enumerate() {
        crate::modules::assert_no_import_cycle(&format!("combination {n}: {pairs:?}"), tree);
    }
}

#[test]
fn every_pairwise_combination_of_available_answers_compiles_and_serves() {
    let dims = available(dimensions());
    assert!(!dims.is_empty(), "at least the deploy files vary");
    let rows = covering_rows(&dims);
    let tmp = tempfile::tempdir().unwrap();
    for (n, row) in rows.iter().enumerate() {
        let pairs = answer_pairs(&dims, row);
        eprintln!("combination {n}: {pairs:?}");
        let tree = renders(&pairs).unwrap();
        let dir = tmp.path().join(format!("combo-{n}"));
        stanchion::project::plan_write(&dir, &tree, false)
            .unwrap()
            .execute()
            .unwrap();
        cargo(&dir, &["fmt", "--check"]);
        // `--locked`: every row builds from the Cargo.lock it ships with.
        assert!(
            dir.join("Cargo.lock").is_file(),
            "combination {n} has a Cargo.lock"
        );
        cargo(
            &dir,
            &[
                "clippy",
                "--locked",
                "--all-targets",
                "--quiet",
                "--",
                "-D",
                "warnings",
            ],
        );
        cargo(&dir, &["build", "--locked", "--quiet"]);
        run_and_probe(n, &dir, &pairs);
    }
}
