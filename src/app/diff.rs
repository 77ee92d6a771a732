//! `/s/{id}/diff/{a}/{b}`: what changed from revision `a` to `b`, file by
//! file: added, removed, renamed (its content the same or much alike),
//! modified, each changed run of lines with a little context, highlighted.
//!
//! Drawn by the server alone, as one string per file (a diff of a big
//! file is thousands of rows): no island, no WASM.

use std::fmt::Write;

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::set_status;
use crate::{
    api::get_diff,
    domain::{
        diff::{FileChange, FileDiff, LineKind, RevisionDiff},
        files::escape_html,
    },
};

#[component]
pub fn DiffPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        params.with(|p| {
            let number = |name: &str| p.get(name).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
            (
                p.get("id").unwrap_or_default(),
                number("from"),
                number("to"),
            )
        })
    };
    let diff = Resource::new(key, |(id, from, to)| async move {
        (id.clone(), get_diff(id, from, to).await)
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match diff.await {
                    (id, Ok(diff)) => Either::Left(view! { <Diff id diff/> }),
                    (id, Err(e)) => {
                        set_status(404);
                        Either::Right(view! {
                            <Title text="No such comparison · Highlighter"/>
                            <section class="message">
                                <h1>"Nothing to compare"</h1>
                                <p>{e.message} " " <a href=format!("/s/{id}")>"Back to the snippet"</a></p>
                            </section>
                        })
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Diff(id: String, diff: RevisionDiff) -> impl IntoView {
    let changed = diff
        .files
        .iter()
        .filter(|f| f.change != FileChange::Unchanged)
        .count();
    let summary = format!(
        "{changed} {} changed, {} {} added, {} removed",
        if changed == 1 { "file" } else { "files" },
        diff.lines_added,
        if diff.lines_added == 1 {
            "line"
        } else {
            "lines"
        },
        diff.lines_removed,
    );
    let mut html = String::new();
    for file in diff
        .files
        .iter()
        .filter(|f| f.change != FileChange::Unchanged)
    {
        file_html(&mut html, file);
    }
    if changed == 0 {
        html.push_str("<p class=\"empty\">These revisions have the same files.</p>");
    }
    let (from, to) = (diff.from, diff.to);
    view! {
        <Title text=format!("Revision {from} → {to} · Highlighter")/>
        <section class="diff-page">
            <header class="snippet-head">
                <h1>{format!("Changes from revision {from} to {to}")}</h1>
                <span class="summary">{summary}</span>
                <span class="tools">
                    <a href=format!("/s/{id}/r/{from}")>{format!("Revision {from}")}</a>
                    <a href=format!("/s/{id}/r/{to}")>{format!("Revision {to}")}</a>
                    <a href=format!("/s/{id}")>"Latest"</a>
                </span>
            </header>
            <div class="diff-files" inner_html=html></div>
        </section>
    }
}

/// One file's changes: its header, then a table of its hunks.
fn file_html(out: &mut String, file: &FileDiff) {
    let name = escape_html(file.name());
    let title = match (file.change, &file.old_name) {
        (FileChange::Renamed, Some(old)) => {
            format!("{} → {name}", escape_html(old))
        }
        _ => name.clone(),
    };
    let _ = write!(
        out,
        "<section class=\"diff-file\" data-change=\"{change}\" data-name=\"{name}\">\
         <header class=\"file-head\"><h2>{title}</h2><span class=\"change\">{change}</span>\
         <span class=\"language\">{language}</span>\
         <span class=\"added\">+{added}</span><span class=\"removed\">−{removed}</span></header>",
        change = file.change.as_str(),
        language = escape_html(&file.language),
        added = file.lines_added,
        removed = file.lines_removed,
    );
    if file.hunks.is_empty() {
        out.push_str("<p class=\"empty\">Same content.</p></section>");
        return;
    }
    out.push_str("<div class=\"table-wrap\"><table class=\"diff hl\"><tbody>");
    for hunk in &file.hunks {
        let _ = write!(
            out,
            "<tr class=\"hunk\"><td colspan=\"3\">@@ −{},{} +{},{} @@</td></tr>",
            hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines
        );
        for line in &hunk.lines {
            let (class, sign) = match line.kind {
                LineKind::Added => ("added", "+"),
                LineKind::Removed => ("removed", "−"),
                LineKind::Context => ("context", " "),
            };
            let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
            let text = match &line.html {
                Some(html) => html.clone(),
                None => escape_html(&line.text),
            };
            let _ = write!(
                out,
                "<tr class=\"{class}\"><td class=\"old\">{}</td><td class=\"new\">{}</td>\
                 <td class=\"text\"><span class=\"sign\" aria-hidden=\"true\">{sign}</span>{text}</td></tr>",
                number(line.old),
                number(line.new),
            );
        }
    }
    out.push_str("</tbody></table></div></section>");
}
