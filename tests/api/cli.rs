//! The `loket` binary itself: configuration errors, the secret key file, `admin bootstrap`.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::Value;

/// The `loket` binary of this build (next to the test binary's `deps` folder).
fn loket() -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("loket");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --bin loket ({})",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("LOKET_")) {
        cmd.env_remove(k);
    }
    cmd.env("LOKET_LOG", "warn");
    cmd
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loket-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bad_configuration_fails_with_one_line_naming_the_variable() {
    let out = loket()
        .env("LOKET_ADDR", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("LOKET_ADDR"), "{stderr}");
}

#[test]
fn postgres_without_a_secret_key_is_refused_at_start() {
    let out = loket()
        .args(["admin", "bootstrap", "--tenant", "X"])
        .env("LOKET_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LOKET_SECRET_KEY"));
}

#[test]
fn bootstrap_prints_credentials_once_and_refuses_an_existing_tenant() {
    let dir = temp_dir();
    let db = format!("sqlite://{}/data/loket.db", dir.display());
    let out = loket()
        .args(["admin", "bootstrap", "--tenant", "Acme", "--json"])
        .env("LOKET_DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "tenant_id",
        "username",
        "password",
        "totp_secret",
        "otpauth_uri",
    ] {
        assert!(
            creds[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    // The generated secret key sits beside the database, readable by its owner only.
    let key = dir.join("data/loket.db.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let again = loket()
        .args(["admin", "bootstrap", "--tenant", "acme"])
        .env("LOKET_DATABASE_URL", &db)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let other = loket()
        .args(["admin", "bootstrap", "--tenant", "Other"])
        .env("LOKET_DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(other.status.success());
    let text = String::from_utf8(other.stdout).unwrap();
    assert!(text.contains("username:") && text.contains("totp_secret:"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn help_describes_serve_admin_and_the_configuration() {
    let out = loket().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["serve", "admin", "LOKET_DATABASE_URL", "LOKET_SECRET_KEY"] {
        assert!(text.contains(needle), "{needle}");
    }
    let admin =
        String::from_utf8(loket().args(["admin", "--help"]).output().unwrap().stdout).unwrap();
    assert!(admin.contains("bootstrap"));
}
