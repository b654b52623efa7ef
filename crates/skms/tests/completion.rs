//! `skms completion SHELL`: a script the shell accepts that completes every subcommand.

use std::process::Command;

#[test]
fn bash_and_zsh_scripts_complete_the_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    let file = std::env::temp_dir().join(format!("skms-completion-{}.bash", std::process::id()));
    std::fs::write(&file, &script).unwrap();
    // bash loads it and completes `skms ap` to `app`, `skms app iss` to `issue-cert`.
    let probe = format!(
        "source {f}; COMP_WORDS=(skms ap); COMP_CWORD=1; _skms skms ap skms; echo \"${{COMPREPLY[@]}}\"; \
         COMP_WORDS=(skms app iss); COMP_CWORD=2; _skms skms iss app; echo \"${{COMPREPLY[@]}}\"",
        f = file.display()
    );
    let done = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].split(' ').any(|w| w == "app"), "{text}");
    assert!(lines[1].split(' ').any(|w| w == "issue-cert"), "{text}");
    for shell in ["zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_skms"))
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("sign-csr"),
            "{shell}"
        );
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}
