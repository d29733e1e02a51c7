//! Rebuilds the crate when a migration changes: `embed_migrations!` reads the directories at
//! compile time but does not tell cargo about them.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
