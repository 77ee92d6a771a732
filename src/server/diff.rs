//! Differences between two revisions of a snippet, file by file (with
//! `similar`'s line diff): what a save records (lines added and removed,
//! and the lines it changed, which open pages mark), and what the diff
//! page and API show.
//!
//! Files are paired by name; a file that lost its name is paired with the
//! new file of the same content, or failing that with the most alike one
//! (at least half the same): a rename, not a removal and an addition.

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

use crate::domain::{
    ChangedLines,
    diff::{DiffLine, FileChange, FileDiff, Hunk, LineKind, RevisionDiff},
};

/// How alike two files must be (`similar`'s ratio) to be a rename.
const RENAME_RATIO: f32 = 0.5;

/// How long one file's diff may take: past it, `similar` settles for a
/// coarser (still correct) diff.
const DIFF_DEADLINE: Duration = Duration::from_millis(250);

/// Lines of context around each hunk.
const CONTEXT: usize = 3;

/// Most changed-line ranges sent for one file: a page marks what fits in
/// an event, and a file rewritten end to end needs no marks.
const MAX_RANGES: usize = 200;

/// One file of one side.
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    pub name: &'a str,
    pub language: &'a str,
    pub hash: &'a str,
    pub code: &'a str,
    /// Its highlighted HTML, when the diff is to show colours.
    pub html: Option<&'a str>,
}

/// A revision as the `revision` event tells it, with the lines it
/// changed against `old` (the revision before it, or the one a page shows).
pub fn revision_info(
    new: &crate::domain::SnippetView,
    old: Option<&crate::domain::SnippetView>,
) -> crate::domain::RevisionInfo {
    let old_sides: Vec<Side<'_>> = old
        .iter()
        .flat_map(|o| o.files.iter().map(|f| Side::of(f, false)))
        .collect();
    let new_sides: Vec<Side<'_>> = new.files.iter().map(|f| Side::of(f, false)).collect();
    let (_, _, changed) = changes(&old_sides, &new_sides);
    let mut info = new.revision_info();
    info.changed = changed;
    info
}

impl<'a> Side<'a> {
    /// A file of a revision, with its colours when `highlighted`.
    pub fn of(file: &'a crate::domain::FileView, highlighted: bool) -> Self {
        Side {
            name: &file.name,
            language: &file.language,
            hash: &file.hash,
            code: &file.code,
            html: file.html.as_deref().filter(|_| highlighted),
        }
    }
}

/// What a save changed: lines added and removed over every file, and the
/// ranges of new line numbers changed in each.
pub fn changes(old: &[Side<'_>], new: &[Side<'_>]) -> (u32, u32, Vec<ChangedLines>) {
    let mut added = 0;
    let mut removed = 0;
    let mut changed = Vec::new();
    for (old_file, new_file) in pairs(old, new) {
        match (old_file, new_file) {
            (Some(o), Some(n)) if o.hash == n.hash => {}
            (Some(o), Some(n)) => {
                let diff = line_diff(o.code, n.code);
                let mut ranges: Vec<(u32, u32)> = Vec::new();
                for change in diff.iter_all_changes() {
                    match change.tag() {
                        ChangeTag::Insert => {
                            added += 1;
                            let line = change.new_index().map_or(0, |i| i as u32 + 1);
                            match ranges.last_mut() {
                                Some((_, end)) if *end + 1 == line => *end = line,
                                _ => ranges.push((line, line)),
                            }
                        }
                        ChangeTag::Delete => removed += 1,
                        ChangeTag::Equal => {}
                    }
                }
                if !ranges.is_empty() && ranges.len() <= MAX_RANGES {
                    changed.push(ChangedLines {
                        file: n.name.to_owned(),
                        lines: ranges,
                    });
                }
            }
            (None, Some(n)) => {
                let lines = line_total(n.code);
                added += lines;
                if lines > 0 {
                    changed.push(ChangedLines {
                        file: n.name.to_owned(),
                        lines: vec![(1, lines)],
                    });
                }
            }
            (Some(o), None) => removed += line_total(o.code),
            (None, None) => {}
        }
    }
    (added, removed, changed)
}

/// The whole comparison of revision `from` (`old`) with `to` (`new`),
/// with hunks; each line carries its highlighted HTML where both sides'
/// HTML is given and can be cut into lines.
pub fn compare(from: u32, to: u32, old: &[Side<'_>], new: &[Side<'_>]) -> RevisionDiff {
    let mut files = Vec::new();
    let (mut total_added, mut total_removed) = (0, 0);
    for (old_file, new_file) in pairs(old, new) {
        let (old_code, new_code) = (
            old_file.map_or("", |f| f.code),
            new_file.map_or("", |f| f.code),
        );
        let change = match (old_file, new_file) {
            (None, Some(_)) => FileChange::Added,
            (Some(_), None) => FileChange::Removed,
            (Some(o), Some(n)) if o.name != n.name => FileChange::Renamed,
            (Some(o), Some(n)) if o.hash == n.hash => FileChange::Unchanged,
            _ => FileChange::Modified,
        };
        let old_lines = old_file.and_then(|f| f.html).and_then(html_lines);
        let new_lines = new_file.and_then(|f| f.html).and_then(html_lines);
        let diff = line_diff(old_code, new_code);
        let mut hunks = Vec::new();
        let (mut added, mut removed) = (0, 0);
        for group in diff.grouped_ops(CONTEXT) {
            let mut lines = Vec::new();
            for op in &group {
                for change in diff.iter_changes(op) {
                    let (kind, old_no, new_no) = match change.tag() {
                        ChangeTag::Equal => {
                            (LineKind::Context, change.old_index(), change.new_index())
                        }
                        ChangeTag::Insert => {
                            added += 1;
                            (LineKind::Added, None, change.new_index())
                        }
                        ChangeTag::Delete => {
                            removed += 1;
                            (LineKind::Removed, change.old_index(), None)
                        }
                    };
                    let html = match (old_no, new_no) {
                        (_, Some(n)) => new_lines.as_ref().and_then(|l| l.get(n).cloned()),
                        (Some(o), None) => old_lines.as_ref().and_then(|l| l.get(o).cloned()),
                        (None, None) => None,
                    };
                    lines.push(DiffLine {
                        kind,
                        old: old_no.map(|i| i as u32 + 1),
                        new: new_no.map(|i| i as u32 + 1),
                        text: change
                            .value()
                            .trim_end_matches('\n')
                            .trim_end_matches('\r')
                            .to_owned(),
                        html,
                    });
                }
            }
            let (Some(first), Some(last)) = (group.first(), group.last()) else {
                continue;
            };
            hunks.push(Hunk {
                old_start: first.old_range().start as u32 + 1,
                old_lines: (last.old_range().end - first.old_range().start) as u32,
                new_start: first.new_range().start as u32 + 1,
                new_lines: (last.new_range().end - first.new_range().start) as u32,
                lines,
            });
        }
        total_added += added;
        total_removed += removed;
        files.push(FileDiff {
            old_name: old_file.map(|f| f.name.to_owned()),
            new_name: new_file.map(|f| f.name.to_owned()),
            change,
            language: new_file.or(old_file).map_or("", |f| f.language).to_owned(),
            lines_added: added,
            lines_removed: removed,
            hunks,
        });
    }
    RevisionDiff {
        from,
        to,
        lines_added: total_added,
        lines_removed: total_removed,
        files,
    }
}

fn line_diff<'a>(old: &'a str, new: &'a str) -> TextDiff<'a, 'a, 'a, str> {
    TextDiff::configure()
        .timeout(DIFF_DEADLINE)
        .diff_lines(old, new)
}

/// Lines as a person counts them (a last line without a newline counts).
fn line_total(code: &str) -> u32 {
    crate::domain::source::line_count(code)
}

/// The files of both sides paired: in the new side's order (each with its
/// old self, or `None` when it is new), then the old files no new one
/// took (`None` on the new side: removed).
fn pairs<'s, 'a>(
    old: &'s [Side<'a>],
    new: &'s [Side<'a>],
) -> Vec<(Option<&'s Side<'a>>, Option<&'s Side<'a>>)> {
    let mut taken = vec![false; old.len()];
    let mut partner: Vec<Option<usize>> = vec![None; new.len()];
    // The same name.
    for (n, file) in new.iter().enumerate() {
        if let Some(o) = old.iter().position(|f| f.name == file.name) {
            partner[n] = Some(o);
            taken[o] = true;
        }
    }
    // The same content under another name.
    for (n, file) in new.iter().enumerate() {
        if partner[n].is_some() {
            continue;
        }
        if let Some(o) = (0..old.len()).find(|&o| !taken[o] && old[o].hash == file.hash) {
            partner[n] = Some(o);
            taken[o] = true;
        }
    }
    // Much alike: the best pair first.
    let mut candidates = Vec::new();
    for (n, file) in new.iter().enumerate() {
        if partner[n].is_some() {
            continue;
        }
        for (o, old_file) in old.iter().enumerate() {
            if taken[o] {
                continue;
            }
            let ratio = line_diff(old_file.code, file.code).ratio();
            if ratio >= RENAME_RATIO {
                candidates.push((ratio, n, o));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, n, o) in candidates {
        if partner[n].is_none() && !taken[o] {
            partner[n] = Some(o);
            taken[o] = true;
        }
    }
    let mut out: Vec<_> = new
        .iter()
        .enumerate()
        .map(|(n, file)| (partner[n].map(|o| &old[o]), Some(file)))
        .collect();
    out.extend(
        old.iter()
            .enumerate()
            .filter(|(o, _)| !taken[*o])
            .map(|(_, file)| (Some(file), None)),
    );
    out
}

/// Highlighted HTML, as the writer makes it (`<pre class="hl"><code>`, or
/// `<pre class="hl" data-detail=...><code>`; flat runs, escaped text),
/// cut into one fragment per line, each whole: a run open at a line's end
/// is closed there and opened again on the next line. Runs are the
/// writer's elements (`<x-k>…</x-k>`) or, in fragments stored before
/// them, `<span class=k>…</span>`. `None` for HTML of another shape.
pub fn html_lines(html: &str) -> Option<Vec<String>> {
    let (head, body) = html.split_once("<code>")?;
    // One tag, the writer's `<pre>`, before the code.
    if !head.starts_with("<pre class=\"hl\"") || !head.ends_with('>') || head[1..].contains('<') {
        return None;
    }
    let body = body.strip_suffix("</code></pre>")?;
    let mut lines = Vec::new();
    let mut line = String::new();
    // The open run's start tag and the element name that closes it.
    let mut open: Option<(&str, &str)> = None;
    let mut rest = body;
    let close = |line: &mut String, name: &str| {
        line.push_str("</");
        line.push_str(name);
        line.push('>');
    };
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = rest.find('>')?;
            let tag = &rest[..=end];
            let inner = &tag[1..end];
            if let Some(name) = inner.strip_prefix('/') {
                if open.is_none_or(|(_, open_name)| open_name != name) {
                    return None;
                }
                open = None;
            } else if inner.starts_with("span class=") {
                open = Some((tag, "span"));
            } else if inner.starts_with("x-") && !inner.contains([' ', '/']) {
                open = Some((tag, inner));
            } else {
                return None;
            }
            line.push_str(tag);
            rest = &rest[end + 1..];
        } else {
            let cut = rest.find(['<', '\n']).unwrap_or(rest.len());
            line.push_str(&rest[..cut]);
            rest = &rest[cut..];
            if let Some(after) = rest.strip_prefix('\n') {
                if line.ends_with('\r') {
                    line.pop();
                }
                if let Some((_, name)) = open {
                    close(&mut line, name);
                }
                lines.push(std::mem::take(&mut line));
                if let Some((tag, _)) = open {
                    line.push_str(tag);
                }
                rest = after;
            }
        }
    }
    // A last line only if it holds text (not a span closed after the last
    // newline).
    let holds_text = line.split('<').any(|piece| {
        !piece
            .split_once('>')
            .map_or(piece, |(_, text)| text)
            .is_empty()
    });
    if holds_text {
        lines.push(line);
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(name: &'a str, code: &'a str) -> Side<'a> {
        Side {
            name,
            language: "Rust",
            hash: code,
            code,
            html: None,
        }
    }

    #[test]
    fn a_save_counts_its_lines_and_marks_the_new_ones() {
        let old = [side("main.rs", "a\nb\nc\n"), side("gone.rs", "x\ny\n")];
        let new = [side("main.rs", "a\nB\nc\nd\n"), side("new.rs", "n\n")];
        let (added, removed, changed) = changes(&old, &new);
        assert_eq!((added, removed), (3, 3), "B, d and n in; b, x and y out");
        assert_eq!(
            changed,
            vec![
                ChangedLines {
                    file: "main.rs".into(),
                    lines: vec![(2, 2), (4, 4)]
                },
                ChangedLines {
                    file: "new.rs".into(),
                    lines: vec![(1, 1)]
                },
            ]
        );
    }

    #[test]
    fn renames_are_found_by_content() {
        let body: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let edited = body.replace("line 3\n", "line three\n");
        let old = [side("old.rs", &body), side("same.rs", "kept\n")];
        let new = [side("renamed.rs", &edited), side("moved.rs", "kept\n")];
        let diff = compare(1, 2, &old, &new);
        let summary: Vec<(Option<&str>, Option<&str>, FileChange)> = diff
            .files
            .iter()
            .map(|f| (f.old_name.as_deref(), f.new_name.as_deref(), f.change))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Some("old.rs"), Some("renamed.rs"), FileChange::Renamed),
                (Some("same.rs"), Some("moved.rs"), FileChange::Renamed),
            ]
        );
        assert_eq!((diff.lines_added, diff.lines_removed), (1, 1));
        let hunk = &diff.files[0].hunks[0];
        assert!(
            hunk.lines
                .iter()
                .any(|l| l.kind == LineKind::Added && l.text == "line three" && l.new == Some(4))
        );
    }

    #[test]
    fn highlighted_html_is_cut_into_whole_lines() {
        let html = "<pre class=\"hl\"><code><span class=c>/* a\r\nb */</span>\nx &lt; <span class=n>1</span>\n</code></pre>";
        assert_eq!(
            html_lines(html).unwrap(),
            vec![
                "<span class=c>/* a</span>",
                "<span class=c>b */</span>",
                "x &lt; <span class=n>1</span>",
            ]
        );
        // The writer's elements, as spans stored before them are.
        let html =
            "<pre class=\"hl\"><code><x-c>/* a\nb */</x-c>\nx &lt; <x-n>1</x-n>\n</code></pre>";
        assert_eq!(
            html_lines(html).unwrap(),
            vec!["<x-c>/* a</x-c>", "<x-c>b */</x-c>", "x &lt; <x-n>1</x-n>"]
        );
        assert_eq!(
            html_lines("<pre class=\"hl\"><code><x-c>a</x-n></code></pre>"),
            None
        );
        assert_eq!(html_lines("<div>other</div>"), None);
        let reduced = "<pre class=\"hl\" data-detail=\"essential\"><code>x\n</code></pre>";
        assert_eq!(html_lines(reduced).unwrap(), vec!["x"]);
        assert_eq!(
            html_lines("<pre class=\"hl\"><b><code>x\n</code></pre>"),
            None
        );
    }
}
