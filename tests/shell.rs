//! Shell completions and man pages (#26): generated from the same clap definitions the binary
//! parses with, and valid for the tools that read them.

use std::process::Command;

use crate::util::iamtrim;

#[test]
fn completion_scripts_know_every_subcommand_and_flag() {
    let run = iamtrim(&["completions", "bash"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for word in [
        "recommend",
        "diff",
        "evidence",
        "--generalize-over",
        "--max-managed-policies",
        "--trail-config",
    ] {
        assert!(run.stdout.contains(word), "bash completion lacks {word}");
    }
    // bash parses it.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("iamtrim.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    let status = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success(), "bash -n rejects the completion script");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let run = iamtrim(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("generalize-over"), "{shell}");
    }
    let run = iamtrim(&["completions", "tcsh"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid value 'tcsh'"),
        "{}",
        run.stderr
    );
}

#[test]
fn man_pages_render_for_the_command_and_each_subcommand() {
    let page = iamtrim(&["man"]);
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(page.stdout.contains(".TH iamtrim 1"), "{}", page.stdout);
    for sub in ["recommend", "diff", "run", "evidence", "catalog"] {
        assert!(page.stdout.contains(sub), "iamtrim(1) does not list {sub}");
    }
    let recommend = iamtrim(&["man", "recommend"]);
    assert_eq!(recommend.code, 0, "{}", recommend.stderr);
    assert!(recommend.stdout.contains(".TH iamtrim-recommend 1"));
    assert!(recommend.stdout.contains("max\\-managed\\-policies"));
    // groff renders it without a warning.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iamtrim-recommend.1");
    std::fs::write(&file, &recommend.stdout).unwrap();
    match Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&file)
        .output()
    {
        Ok(out) => {
            assert!(out.status.success());
            assert!(
                out.stderr.is_empty(),
                "groff warns: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(err) => {
            assert!(
                std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none(),
                "groff is required (IAMTRIM_REQUIRE_TOOLS): {err}"
            );
            eprintln!("NOTICE: groff not available ({err}); not rendering the man page");
        }
    }
    let unknown = iamtrim(&["man", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .starts_with("error: no subcommand nope (one of: recommend, diff"),
        "{}",
        unknown.stderr
    );
}
