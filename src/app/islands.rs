//! What the islands router does not do: let go of the islands of a page
//! it leaves.
//!
//! Leptos hydrates each island under an owner of its own and keeps that
//! owner alive for good: when the islands router patches the next page in,
//! the old page's `<leptos-island>` elements leave the document, but
//! nothing runs their `on_cleanup`. An island's event stream would stay
//! open after its page was left, and the browser's six connections per
//! host would be used up after a few clicks, freezing the tab.
//!
//! [`dispose_when_detached`] ties an island to its element: one observer
//! of the whole document (a navigation can remove any ancestor of an
//! island) disposes, after each batch of changes, the owner of every
//! registered island whose element is no longer in the document. Its
//! streams close, its window listeners go, its effects stop. The observer
//! runs once the router has finished patching (it is a microtask), so an
//! island the router only moves (it keeps a page's islands at the same
//! place) is still in the document then and lives on.

use leptos::{html::ElementType, prelude::*};

/// Disposes the calling island once the element `anchor` refers to (any
/// element the island always renders) has left the document. Call it at
/// the top of an island that holds anything beyond its own DOM: an event
/// stream, a window listener.
pub fn dispose_when_detached<E>(anchor: NodeRef<E>)
where
    E: ElementType + 'static,
    E::Output: wasm_bindgen::JsCast + Clone + 'static,
{
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(owner) = Owner::current() else {
            return;
        };
        anchor.on_load(move |element| {
            let element: web_sys::Element = element.unchecked_into();
            let island = element
                .closest("leptos-island")
                .ok()
                .flatten()
                .unwrap_or(element);
            watched::register(owner, island);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = anchor;
}

#[cfg(feature = "hydrate")]
mod watched {
    use std::cell::{OnceCell, RefCell};

    use leptos::prelude::*;
    use wasm_bindgen::{JsCast, closure::Closure};

    thread_local! {
        /// Live islands and their elements.
        static ISLANDS: RefCell<Vec<(Owner, web_sys::Element)>> = const { RefCell::new(Vec::new()) };
        /// The one observer, made with the first island.
        static OBSERVER: OnceCell<web_sys::MutationObserver> = const { OnceCell::new() };
    }

    pub fn register(owner: Owner, island: web_sys::Element) {
        ISLANDS.with_borrow_mut(|islands| islands.push((owner, island)));
        OBSERVER.with(|observer| {
            observer.get_or_init(observe_document);
        });
    }

    fn observe_document() -> web_sys::MutationObserver {
        let on_change = Closure::<dyn FnMut()>::new(dispose_detached);
        let observer = web_sys::MutationObserver::new(on_change.as_ref().unchecked_ref())
            .expect("browsers with WebAssembly have MutationObserver");
        // The observer lives as long as the page: so does its callback.
        on_change.forget();
        let options = web_sys::MutationObserverInit::new();
        options.set_child_list(true);
        options.set_subtree(true);
        if let Some(root) = document().document_element() {
            let _ = observer.observe_with_options(&root, &options);
        }
        observer
    }

    fn dispose_detached() {
        let detached: Vec<Owner> = ISLANDS.with_borrow_mut(|islands| {
            let (detached, connected): (Vec<_>, Vec<_>) = std::mem::take(islands)
                .into_iter()
                .partition(|(_, element)| !element.is_connected());
            *islands = connected;
            detached.into_iter().map(|(owner, _)| owner).collect()
        });
        // Outside the borrow: a cleanup may touch the DOM, which queues
        // another round of this callback, never a nested one.
        for owner in detached {
            owner.cleanup();
        }
    }
}
