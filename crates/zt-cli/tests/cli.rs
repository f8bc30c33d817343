//! Snapshot tests of `zt --help` and of common errors (`tests/cmd/*.toml`, trycmd).
//! Regenerate after a deliberate change with `TRYCMD=overwrite cargo test -p zt-cli --test cli`.

#[test]
fn help_and_errors() {
    trycmd::TestCases::new()
        .env("ZT_CONFIG_DIR", "/nonexistent/zt-config")
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.toml");
}
