//! What commands print: human-readable text by default, JSON with `--json`. Results go to
//! standard output; progress, warnings and errors to standard error.

use serde::Serialize;
use zt_core::UnixTime;

/// How results are printed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output {
    pub(crate) json: bool,
}

impl Output {
    /// Prints `value` as JSON, or `human()` as text.
    pub(crate) fn show<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("error: cannot print JSON: {error}"),
            }
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
    }
}

/// Prints a warning line on standard error.
pub(crate) fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// A time as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn time(at: UnixTime) -> String {
    let seconds = at.0;
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Lays rows out in columns under a header.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_owned()
    };
    let mut out = line(header.iter().map(|title| (*title).to_owned()).collect());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.clone()));
    }
    out
}

/// `-` for nothing.
pub(crate) fn or_dash<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

/// A zero trust status as the status page words it.
pub(crate) fn state_word(state: zt_core::AgentKeyState) -> &'static str {
    match state {
        zt_core::AgentKeyState::NotSetUp => "not set up",
        zt_core::AgentKeyState::Pending => "pending",
        zt_core::AgentKeyState::Active => "active",
        zt_core::AgentKeyState::Revoked => "revoked",
        zt_core::AgentKeyState::Reset => "reset",
    }
}

/// A prompt frequency as the CLI's flags word it (`task`, `day`, `week`).
pub(crate) fn frequency_word(frequency: zt_core::PromptFrequency) -> &'static str {
    match frequency {
        zt_core::PromptFrequency::EachTask => "task",
        zt_core::PromptFrequency::Day => "day",
        zt_core::PromptFrequency::Week => "week",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time(UnixTime(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(UnixTime(1_795_392_000)), "2026-11-23 00:00:00 UTC");
        assert_eq!(time(UnixTime(951_825_599)), "2000-02-29 11:59:59 UTC");
    }

    #[test]
    fn tables_align() {
        let text = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(text, "A    BB\nxxx  y");
    }
}
