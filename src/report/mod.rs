//! Reports: human (coloured only on a terminal), JSON (a stable contract, docs/output.md),
//! SARIF, and a self-contained HTML page.
//! Printers receive a writer; nothing here decides an exit code.

pub mod html;
pub mod human;
pub mod json;
pub mod sanitize;
pub mod sarif;

use std::io::Write;

use crate::finding::Findings;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable report.
    Human,
    /// JSON object, see docs/output.md.
    Json,
    /// SARIF 2.1.0 (for code-scanning upload).
    Sarif,
    /// One self-contained HTML page: summary, timeline, searchable table.
    Html,
}

/// What kind of scan produced the findings (the human report words its advice by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Files, folders or stdin.
    Files,
    /// The staged diff, before a commit.
    Staged,
    /// Commits of a history range.
    History,
    /// Commits about to be pushed (pre-push) or received (pre-receive).
    Push,
}

/// How to print a report.
#[derive(Debug, Clone)]
pub struct Options {
    /// Output format.
    pub format: Format,
    /// Kind of scan.
    pub mode: Mode,
    /// List allowed findings too, and say so when nothing was found.
    pub verbose: bool,
    /// Use colours (decided by the caller: terminal, `NO_COLOR`, `--color`).
    pub color: bool,
}

/// Items rendered per parallel task by [`write_rendered`].
pub(crate) const CHUNK: usize = 2048;
/// Items rendered before they are written (bounds the rendered text held at once).
pub(crate) const BATCH: usize = 64 * CHUNK;

/// Renders `items` on every core, [`CHUNK`] at a time (`render` gets the index of the chunk's
/// first item and the chunk), and writes the text in order, one batch while the next is
/// rendered.
pub(crate) fn write_rendered<T: Sync>(
    out: &mut dyn Write,
    items: &[T],
    render: impl Fn(usize, &[T]) -> Vec<u8> + Sync,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    let render_batch = |b: usize| -> Vec<Vec<u8>> {
        let start = b * BATCH;
        let batch = &items[start..(start + BATCH).min(items.len())];
        batch
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| render(start + c * CHUNK, chunk))
            .collect()
    };
    let batches = items.len().div_ceil(BATCH);
    if batches == 0 {
        return Ok(());
    }
    std::thread::scope(|s| {
        let mut next = Some(render_batch(0));
        for b in 0..batches {
            let current = next.take().expect("rendered before");
            let render_batch = &render_batch;
            let ahead = (b + 1 < batches).then(|| s.spawn(move || render_batch(b + 1)));
            for text in current {
                out.write_all(&text)?;
            }
            next = ahead.map(|h| h.join().expect("rendering does not panic"));
        }
        Ok(())
    })
}

/// Writes the report of `findings` to `out`.
pub fn write(out: &mut dyn Write, findings: &Findings, opts: &Options) -> std::io::Result<()> {
    match opts.format {
        Format::Human => human::write(out, findings, opts),
        Format::Json => json::write(out, findings),
        Format::Sarif => json::write_sarif(out, findings),
        Format::Html => html::write(out, findings, opts),
    }
}
