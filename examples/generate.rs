//! Using stanchion as a library, without a terminal: resolve answers from code,
//! render in memory, inspect the tree, then write it.
//!
//! `cargo run --example generate -- /tmp/inventory-api`

use stanchion::answers::{self, Fallback, Layer, Value};
use stanchion::template::TemplateSet;

fn main() -> Result<(), stanchion::Error> {
    let target = std::env::args().nth(1);
    let mine = Layer {
        origin: "example".into(),
        explicit: true,
        values: [
            ("name".to_owned(), Value::Str("inventory-api".into())),
            (
                "deploy".to_owned(),
                Value::List(vec!["docker".into(), "kubernetes".into()]),
            ),
        ]
        .into(),
    };
    let templates = TemplateSet::embedded()?;
    let answers = answers::resolve(
        &templates.catalog,
        &[mine, Layer::from_preset(&templates.presets["minimal"])],
        Fallback::Defaults,
    )?;
    let tree = stanchion::generate(&templates, &answers)?;
    for (path, contents) in tree.iter().filter(|(p, _)| !p.starts_with(".stanchion/")) {
        println!("{:>7}  {path}", contents.len());
    }
    if let Some(target) = target {
        stanchion::project::plan_write(target.as_ref(), &tree, false)?.execute()?;
        println!("written to {target}");
    }
    Ok(())
}
