//! `/s/{id}/edit`: the owner changes a snippet's files (edits, adds,
//! renames, removes) and saves them as a new revision.
//!
//! A plain form, drawn by the server alone: it posts to `/s/{id}/edit`
//! (`server::http::drafts`), which saves and sends the browser to the
//! snippet, or, for "Add file", "Remove" and a refused save, shows the
//! form again with everything typed kept. A save carries the revision it
//! was made to: if another landed first it is refused, the page says so,
//! and nothing is overwritten.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{home::FileFields, set_status, snippet::LanguageList};
use crate::{
    api::get_snippet,
    domain::{Draft, FileText, SnippetPage},
};

#[component]
pub fn EditPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let snippet = Resource::new(id, |id| async move {
        get_snippet(id, None).await.map(|data| match data.page {
            SnippetPage::Found(view) => Some(view),
            _ => None,
        })
    });
    // The form as it was posted, when it is shown again.
    let posted = use_context::<Draft>();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let posted = posted.clone();
                Suspend::new(async move {
                    match snippet.await {
                        Ok(Some(view)) if view.is_owner && !view.burn_after_reading => {
                            let languages: Vec<String> = view.files.iter().map(|f| f.language.clone()).collect();
                            let draft = posted.unwrap_or_else(|| Draft {
                                files: view
                                    .files
                                    .iter()
                                    .map(|f| FileText {
                                        name: Some(f.name.clone()),
                                        language: Some(f.language.clone()),
                                        code: f.code.clone(),
                                    })
                                    .collect(),
                                base_revision: Some(view.revision),
                                ..Default::default()
                            });
                            EitherOf3::A(view! { <EditForm id=view.id.to_string() title=view.title() latest=view.revision draft languages/> })
                        }
                        Ok(Some(view)) => {
                            set_status(403);
                            let why = if view.burn_after_reading {
                                "A burn-after-reading snippet cannot be edited."
                            } else {
                                "Only the snippet's owner (the browser that created it, or its owner token) can edit it. Fork it to make a copy of your own."
                            };
                            EitherOf3::B(view! {
                                <Title text="Cannot edit · Highlighter"/>
                                <section class="message">
                                    <h1>"You cannot edit this snippet"</h1>
                                    <p>{why} " " <a href=view.id.url()>"Back to it"</a></p>
                                </section>
                            })
                        }
                        Ok(None) | Err(_) => EitherOf3::C(view! { <super::NotFound/> }),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn EditForm(
    id: String,
    title: String,
    latest: u32,
    draft: Draft,
    languages: Vec<String>,
) -> impl IntoView {
    let base = draft.base_revision.unwrap_or(latest);
    let action = format!("/s/{id}/edit");
    // Another revision landed since the one these changes were made to:
    // saving them is refused until the editor starts again from it.
    let stale = base < latest;
    let count = draft.files.len();
    let removable = Signal::stored(count > 1);
    let fields = draft
        .files
        .into_iter()
        .enumerate()
        .map(|(key, file)| {
            view! {
                <FileFields key file removable draft_action=action.clone()
                    placeholder_language=languages.get(key).cloned().unwrap_or_else(|| "Auto-detect".to_owned())/>
            }
        })
        .collect_view();
    view! {
        <Title text=format!("Edit {title} · Highlighter")/>
        <LanguageList/>
        <section class="edit">
            <h1>{format!("Edit {title}")}</h1>
            <p class="hint">
                {format!("Saving makes revision {}; revision {base} and every one before stay readable. ", base + 1)}
                "Empty a file's name to have it named for you; leave its language blank to detect it."
            </p>
            {draft.error.map(|error| view! { <p class="form-error" role="alert">{error}</p> })}
            {stale.then(|| view! {
                <p class="conflict" role="alert">
                    {format!("Revision {latest} was saved while you edited revision {base}. Your changes below are not saved. ")}
                    <a href=format!("/s/{id}/edit")>"Start again from revision " {latest}</a>
                    " (your changes here are lost) or "
                    <a href=format!("/s/{id}/diff/{base}/{latest}") target="_blank">"see what changed"</a>
                    "."
                </p>
            })}
            <PostedByTheBrowser>
            <form method="post" action=action.clone() id="edit-form">
                // Enter in a field saves: the first submit button is the
                // form's default, so it is this one, not a "Remove".
                <button type="submit" name="do" value="save" class="visually-hidden" tabindex="-1" aria-hidden="true">"Save"</button>
                <input type="hidden" name="base_revision" value=base.to_string()/>
                {fields}
                <div class="controls">
                    <button type="submit" id="add-file" formnovalidate name="do" value="add">"Add file"</button>
                    <button type="submit" id="save" name="do" value="save">"Save revision"</button>
                    <a href=format!("/s/{id}")>"Cancel"</a>
                </div>
            </form>
            </PostedByTheBrowser>
        </section>
    }
}

/// The edit form is posted by the browser itself, with JavaScript on as
/// without: the islands router, which takes over forms to patch the page
/// in place, posts none of the clicked button's name and value and
/// ignores its `formaction`, and "Add file", "Remove" and "Save" are told
/// apart by exactly those. Stopping the submit event here, before it
/// reaches the router's listener on the window, leaves it to the browser.
#[island]
fn PostedByTheBrowser(children: Children) -> impl IntoView {
    view! {
        <div class="posted-by-the-browser" on:submit=|ev: leptos::ev::SubmitEvent| ev.stop_propagation()>
            {children()}
        </div>
    }
}
