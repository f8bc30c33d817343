//! Passphrases in, progress out.
//!
//! A passphrase is typed at a hidden prompt on the terminal, or, when standard input is not
//! a terminal, read one per line from it (so scripts and tests drive every command). It is
//! never taken from arguments, the environment or a file, and never printed or logged: it
//! lives in zt-core's zeroizing [`Passphrase`] from the moment it is read.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;
use zt_core::{NewPassphrase, Passphrase};

use crate::error::CliError;

/// Where passphrases come from.
#[derive(Debug)]
pub(crate) struct Input {
    terminal: bool,
}

impl Input {
    /// The terminal if standard input is one, else standard input's lines.
    pub(crate) fn from_stdin() -> Input {
        Input {
            terminal: std::io::stdin().is_terminal(),
        }
    }

    fn read(&mut self, prompt: &str) -> Result<Zeroizing<String>, CliError> {
        if self.terminal {
            return rpassword::prompt_password(format!("{prompt}: "))
                .map(Zeroizing::new)
                .map_err(|error| {
                    CliError::refused(format!("cannot read the passphrase: {error}"))
                });
        }
        let mut line = Zeroizing::new(String::new());
        let read = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| CliError::refused(format!("cannot read standard input: {error}")))?;
        if read == 0 {
            return Err(CliError::usage(format!(
                "standard input ended before the passphrase ({prompt})"
            ))
            .hint("give one passphrase per line on standard input, or run zt in a terminal"));
        }
        let trimmed = Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_owned());
        Ok(trimmed)
    }

    /// An existing key's passphrase.
    pub(crate) fn passphrase(&mut self, prompt: &str) -> Result<Passphrase, CliError> {
        let text = self.read(prompt)?;
        Passphrase::new(&text).map_err(|error| CliError::refused(format!("{error}")))
    }

    /// A new passphrase, asked twice; refused (with the reason) when weak.
    pub(crate) fn new_passphrase(&mut self, prompt: &str) -> Result<NewPassphrase, CliError> {
        let first = self.read(prompt)?;
        let checked = NewPassphrase::new(&first).map_err(|error| {
            CliError::refused(format!("{error}"))
                .hint("choose a longer passphrase of several unrelated words")
        })?;
        let second = self.read("Repeat it")?;
        if first.as_bytes() != second.as_bytes() {
            return Err(CliError::refused("the two passphrases differ")
                .hint("type the same passphrase twice"));
        }
        Ok(checked)
    }
}

/// Runs `work` (a key or code derivation) while showing that something is happening: a
/// ticking line on a terminal, one line otherwise. Both on standard error.
pub(crate) fn with_progress<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let mut stderr = std::io::stderr();
    if !stderr.is_terminal() {
        let _ = writeln!(stderr, "{what}…");
        return work();
    }
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let done = done.clone();
        let what = what.to_owned();
        std::thread::spawn(move || {
            const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
            let started = Instant::now();
            let mut frame = 0usize;
            while !done.load(Ordering::Relaxed) {
                let symbol = FRAMES.get(frame % FRAMES.len()).copied().unwrap_or("|");
                let elapsed = started.elapsed().as_secs_f32();
                let _ = write!(std::io::stderr(), "\r{symbol} {what}… {elapsed:.1} s");
                let _ = std::io::stderr().flush();
                frame = frame.wrapping_add(1);
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            let _ = std::io::stderr().flush();
        })
    };
    let result = work();
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    result
}
