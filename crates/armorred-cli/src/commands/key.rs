//! `armorred key generate [--output-key-prefix P]`, and the password of a key file
//! (`$COSIGN_PASSWORD`, else a prompt on the terminal), which `sign` and `attest` use too.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use armorred::display::escape;

use crate::cli::{KeyArgs, KeyCommand};
use crate::Outcome;

pub(crate) fn run(args: &KeyArgs, quiet: bool) -> anyhow::Result<Outcome> {
    match &args.command {
        KeyCommand::Generate(g) => {
            let password = password(true)?;
            let files = armorred::sign::generate_key_pair(&g.output_key_prefix, &password)?;
            if !quiet {
                let mut err = anstream::stderr().lock();
                writeln!(err, "Private key written to {}", escape(&files.private_key.display().to_string()))?;
                writeln!(err, "Public key written to {}", escape(&files.public_key.display().to_string()))?;
            }
            Ok(Outcome::Success)
        }
    }
}

/// The password of a private key: `$COSIGN_PASSWORD` when set (even empty, as cosign), else
/// asked on the terminal without echo (twice when `confirm`), else an error.
pub(crate) fn password(confirm: bool) -> anyhow::Result<Vec<u8>> {
    if let Some(p) = std::env::var_os("COSIGN_PASSWORD") {
        use std::os::unix::ffi::OsStringExt;
        return Ok(p.into_vec());
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no password for the private key: set COSIGN_PASSWORD (it may be empty) or run on a terminal");
    }
    let first = prompt("Enter password for private key: ")?;
    if confirm && prompt("Enter password for private key again: ")? != first {
        anyhow::bail!("the passwords do not match");
    }
    Ok(first)
}

/// Reads one line from the terminal with echo off (restored afterwards).
fn prompt(message: &str) -> anyhow::Result<Vec<u8>> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let tty =
        std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").context("cannot open the terminal")?;
    let old = tcgetattr(&tty).context("cannot read the terminal settings")?;
    let mut quiet = old.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&tty, OptionalActions::Now, &quiet).context("cannot turn off echo")?;
    let mut out = &tty;
    let _ = out.write_all(message.as_bytes());
    let mut line = Vec::new();
    let read = std::io::BufReader::new(&tty).read_until(b'\n', &mut line);
    let _ = tcsetattr(&tty, OptionalActions::Now, &old);
    let _ = out.write_all(b"\n");
    read.context("cannot read the password")?;
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(line)
}
