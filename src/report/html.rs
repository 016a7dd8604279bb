//! The HTML report: one self-contained page (inline style and script, no network) with a
//! summary, a timeline of when tokens were introduced (history scans), and a findings table
//! with search and filters. Documented in docs/output.md.
//!
//! Everything shown comes from the findings, which hold masked tokens only. File names,
//! authors and commit messages are hostile text: the summary is rendered here with every
//! character that HTML gives a meaning escaped, and the table's data travels as JSON in a
//! `<script type="application/json">` element (with `<`, `>` and `&` written as `\u003c`...,
//! so no `</script>` can end it) that the page's script reads with `JSON.parse` and puts into
//! cells as text, never as markup. A Content-Security-Policy allows no network at all and
//! only the page's own script (by its hash), so even markup that escaped escaping would not
//! run.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Mode, Options};
use crate::finding::{Finding, Findings};
use crate::sink::Sink;

/// The HTML report: a page that opens with the summary, so it holds the findings until the
/// scan is over (a history or folder scan's findings are few enough; see docs/output.md).
pub struct Html<'w> {
    out: &'w mut (dyn Write + Send),
    opts: Options,
    held: Findings,
}

impl<'w> Html<'w> {
    /// An HTML report written to `out`.
    pub fn new(out: &'w mut (dyn Write + Send), opts: &Options) -> Self {
        Html { out, opts: opts.clone(), held: Findings::default() }
    }
}

impl Sink for Html<'_> {
    fn finding(&mut self, f: Finding) -> std::io::Result<()> {
        self.held.push(f);
        Ok(())
    }

    fn skipped(&mut self, path: &str, reason: &str) -> std::io::Result<()> {
        self.held.skipped.push((path.to_string(), reason.to_string()));
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        write(self.out, &self.held, &self.opts)
    }
}

/// The page's style.
const STYLE: &str = include_str!("html/report.css");
/// The page's script (filters, search, table).
const SCRIPT: &str = include_str!("html/report.js");

/// Writes the HTML report of `f`.
pub fn write(out: &mut dyn Write, f: &Findings, opts: &Options) -> std::io::Result<()> {
    let rows: Vec<Row> = f
        .findings
        .iter()
        .map(|x| Row::from(x, false))
        .chain(f.allowed.iter().map(|x| Row::from(x, true)))
        .collect();
    let script_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    let title = match opts.mode {
        Mode::History => "tokenguard report: history",
        Mode::Push => "tokenguard report: pushed commits",
        Mode::Receive => "tokenguard report: received commits",
        Mode::Staged => "tokenguard report: staged changes",
        Mode::CommitMessage => "tokenguard report: commit message",
        Mode::Files => "tokenguard report: files",
    };
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n"
    )?;
    write!(
        out,
        "<header><h1>{title}</h1><p class=\"meta\">tokenguard {} &middot; generated {} \
         &middot; tokens are masked: no secret part is in this file</p></header>\n<main>\n",
        env!("CARGO_PKG_VERSION"),
        now_utc()
    )?;
    summary(out, f, &rows)?;
    timeline(out, &rows)?;
    findings_table(out, &rows)?;
    out.write_all(b"</main>\n<script type=\"application/json\" id=\"tg-data\">")?;
    let data = Data {
        has_commits: rows.iter().any(|r| r.commit.is_some()),
        has_severity: rows.iter().any(|r| r.severity.is_some()),
        has_status: rows.iter().any(|r| r.status.is_some()),
        findings: &rows,
    };
    out.write_all(&json_for_script(&data)?)?;
    write!(out, "</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
}

/// One finding as the page's table has it.
#[derive(Serialize)]
struct Row<'a> {
    rule: &'a str,
    provider: String,
    /// The rule's severity, when findings carry one.
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<&'a str>,
    /// The verification status (`--verify`), when findings carry one.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    file: &'a str,
    line: u64,
    column: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    masked: &'a str,
    token_id: Option<&'a str>,
    fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_by: Option<&'a str>,
}

impl<'a> Row<'a> {
    fn from(f: &'a Finding, allowed: bool) -> Row<'a> {
        let c = f.commit.as_deref();
        Row {
            rule: &f.rule,
            provider: f.provider.to_string(),
            severity: Some(f.severity.as_str()),
            status: f.verification.as_ref().map(|v| v.status.as_str()),
            file: &f.file,
            line: f.line,
            column: f.column,
            offset: f.offset,
            masked: &f.masked,
            token_id: f.token_id.as_deref(),
            fingerprint: &f.fingerprint,
            commit: c.map(|c| c.commit.as_str()),
            author: c.map(|c| c.author.as_str()),
            date: c.map(|c| c.date.as_str()),
            subject: c.map(|c| c.subject.as_str()),
            allowed_by: if allowed {
                Some(f.allowed_by.as_deref().unwrap_or("allowed"))
            } else {
                None
            },
        }
    }
}

/// The table's data and which optional columns it has.
#[derive(Serialize)]
struct Data<'a> {
    has_commits: bool,
    has_severity: bool,
    has_status: bool,
    findings: &'a [Row<'a>],
}

/// `value` as JSON that can sit inside a `<script>` element: `<`, `>` and `&` (which JSON
/// holds only inside strings) written as `\u003c`, `\u003e` and `\u0026`.
fn json_for_script(value: &impl Serialize) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(json.len() + json.len() / 16);
    for b in json {
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            _ => out.push(b),
        }
    }
    Ok(out)
}

/// `text` with the characters HTML gives a meaning written as references.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn summary(out: &mut dyn Write, f: &Findings, rows: &[Row]) -> std::io::Result<()> {
    let blocking: Vec<&Row> = rows.iter().filter(|r| r.allowed_by.is_none()).collect();
    let distinct = |key: for<'r> fn(&'r Row<'r>) -> Option<&'r str>| -> usize {
        let mut v: Vec<&str> = blocking.iter().filter_map(|r| key(r)).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let mut cards = vec![
        ("findings", blocking.len()),
        ("distinct tokens", distinct(|r| Some(r.fingerprint))),
        ("files", distinct(|r| Some(r.file))),
    ];
    if rows.iter().any(|r| r.commit.is_some()) {
        cards.push(("commits", distinct(|r| r.commit)));
        cards.push(("authors", distinct(|r| r.author)));
    }
    cards.push(("allowed", f.allowed.len()));
    if !f.skipped.is_empty() {
        cards.push(("skipped inputs", f.skipped.len()));
    }
    out.write_all(b"<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">")?;
    for (label, n) in cards {
        write!(
            out,
            "<div class=\"card\" data-count=\"{}\"><b>{n}</b><span>{label}</span></div>",
            escape(label)
        )?;
    }
    out.write_all(b"</div><div class=\"counts\">")?;
    count_table(out, "By provider", blocking.iter().map(|r| r.provider.as_str()))?;
    count_table(out, "By rule", blocking.iter().map(|r| r.rule))?;
    if rows.iter().any(|r| r.severity.is_some()) {
        count_table(out, "By severity", blocking.iter().map(|r| r.severity.unwrap_or("-")))?;
    }
    if rows.iter().any(|r| r.status.is_some()) {
        count_table(out, "By status", blocking.iter().map(|r| r.status.unwrap_or("-")))?;
    }
    out.write_all(b"</div>")?;
    if !f.skipped.is_empty() {
        out.write_all(b"<details><summary>Skipped inputs</summary><ul>")?;
        for (file, reason) in &f.skipped {
            write!(out, "<li><code>{}</code>: {}</li>", escape(file), escape(reason))?;
        }
        out.write_all(b"</ul></details>")?;
    }
    out.write_all(b"</section>\n")
}

fn count_table<'a>(
    out: &mut dyn Write,
    title: &str,
    values: impl Iterator<Item = &'a str>,
) -> std::io::Result<()> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut sorted: Vec<(&str, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    write!(out, "<table class=\"count\"><caption>{}</caption>", escape(title))?;
    if sorted.is_empty() {
        out.write_all(b"<tr><td>none</td><td></td></tr>")?;
    }
    for (v, n) in sorted {
        write!(out, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", escape(v))?;
    }
    out.write_all(b"</table>")
}

/// Bars of findings per period of the commit (author) dates: days, months or years, by the
/// span. Only for findings with a commit.
fn timeline(out: &mut dyn Write, rows: &[Row]) -> std::io::Result<()> {
    // `YYYY-MM-DD...` as written in the author's time zone.
    let days: Vec<&str> = rows
        .iter()
        .filter(|r| r.allowed_by.is_none())
        .filter_map(|r| r.date)
        .filter(|d| d.len() >= 10 && d.is_char_boundary(10))
        .map(|d| &d[..10])
        .collect();
    let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
        return Ok(());
    };
    let year = |d: &str| d[..4].parse::<u32>().unwrap_or(0);
    let key_len = if first[..7] == last[..7] {
        10
    } else if year(last) < year(first) + 3 {
        7
    } else {
        4
    };
    let unit = match key_len {
        10 => "day",
        7 => "month",
        _ => "year",
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in periods(&first[..key_len], &last[..key_len]) {
        counts.insert(p, 0);
    }
    for d in &days {
        *counts.entry(d[..key_len].to_string()).or_default() += 1;
    }
    let max = counts.values().copied().max().unwrap_or(1).max(1);
    write!(
        out,
        "<section id=\"timeline\"><h2>When the tokens were introduced</h2>\
         <p class=\"meta\">findings per {unit} of the commit's author date</p><div class=\"bars\">"
    )?;
    for (period, n) in counts {
        let height = if n == 0 { 0 } else { (n * 100).div_ceil(max).max(2) };
        let label = if n == 0 { String::new() } else { n.to_string() };
        write!(
            out,
            "<div class=\"bar\" title=\"{p}: {n}\" data-period=\"{p}\" data-count=\"{n}\">\
             <b>{label}</b><i style=\"height:{height}%\"></i><span>{p}</span></div>",
            p = escape(&period)
        )?;
    }
    out.write_all(b"</div></section>\n")
}

fn findings_table(out: &mut dyn Write, rows: &[Row]) -> std::io::Result<()> {
    let allowed = rows.iter().filter(|r| r.allowed_by.is_some()).count();
    writeln!(
        out,
        "<section id=\"list\"><h2>Findings</h2>\
         <div class=\"filters\">\
         <input id=\"q\" type=\"search\" placeholder=\"search file, token id, commit, author, message\" autocomplete=\"off\">\
         <select id=\"f-provider\"><option value=\"\">all providers</option></select>\
         <select id=\"f-rule\"><option value=\"\">all rules</option></select>\
         <select id=\"f-severity\" hidden><option value=\"\">all severities</option></select>\
         <select id=\"f-status\" hidden><option value=\"\">all statuses</option></select>\
         <select id=\"f-state\"><option value=\"blocking\">blocking</option>\
         <option value=\"allowed\">allowed ({allowed})</option><option value=\"all\">all</option></select>\
         <span id=\"shown\" aria-live=\"polite\"></span></div>\
         <noscript><p>The findings table needs JavaScript; the summary above does not.</p></noscript>\
         <div class=\"scroll\"><table id=\"findings\"><thead><tr></tr></thead><tbody></tbody></table></div>\
         <p id=\"more\" hidden></p></section>"
    )
}

/// Every period from `first` to `last` (both `YYYY`, `YYYY-MM` or `YYYY-MM-DD`), so that the
/// timeline shows the quiet ones too.
fn periods(first: &str, last: &str) -> Vec<String> {
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    let mut out = Vec::new();
    let (mut y, mut m, mut d) = (num(&first[..4]), 1, 1);
    if first.len() >= 7 {
        m = num(&first[5..7]);
    }
    if first.len() == 10 {
        d = num(&first[8..10]);
    }
    // Bounded: at most 3 years of months or 31 days come here; years end at `last`.
    while out.len() < 400 {
        let p = match first.len() {
            4 => format!("{y:04}"),
            7 => format!("{y:04}-{m:02}"),
            _ => format!("{y:04}-{m:02}-{d:02}"),
        };
        let done = p.as_str() >= last;
        out.push(p);
        if done {
            break;
        }
        match first.len() {
            4 => y += 1,
            7 => (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) },
            _ => d += 1, // one month: the days of `first`'s month
        }
    }
    out
}

/// The current time as `YYYY-MM-DD HH:MM UTC`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let iso = crate::source::history::iso8601(secs, 0);
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_element_cannot_end_it() {
        let v = serde_json::json!({"file": "</script><script>alert(1)</script>&amp;"});
        let text = String::from_utf8(json_for_script(&v).unwrap()).unwrap();
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn periods_fill_the_quiet_ones() {
        assert_eq!(periods("2023-11", "2024-02"), ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(periods("2019", "2021"), ["2019", "2020", "2021"]);
        assert_eq!(periods("2024-03-30", "2024-03-31"), ["2024-03-30", "2024-03-31"]);
    }
}
