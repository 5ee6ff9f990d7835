// The embedded UI is rebuilt into the binary whenever web/dist changes (or appears).
fn main() {
    if std::env::var_os("CARGO_FEATURE_UI").is_some() {
        println!("cargo:rerun-if-changed=../../web/dist");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
