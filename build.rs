//! Rebuild when a template changes: `include_dir!` embeds `templates/` at compile
//! time but cannot tell cargo which files it read.

fn main() {
    println!("cargo:rerun-if-changed=templates");
}
