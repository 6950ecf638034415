/**
 * When the focused element leaves the page (a button that goes away with the state it offered, a
 * row the windowed list stops rendering), the browser drops the focus on <body>, and a keyboard or
 * screen-reader user is thrown back to the top of the page. This puts it on the nearest container
 * still on the page that says where focus should go instead:
 *
 *   data-focus-rescue=""          the container itself (it needs tabindex="-1" or "0")
 *   data-focus-rescue="selector"  the first element inside it that matches
 *
 * Moves that are deliberate (a dialog closing, another conversation opening) are made by the
 * components themselves; this only catches focus that would otherwise be lost.
 */
export function installFocusRescue(doc: Document = document): () => void {
  let focused: Element | null = null;
  /** The containers around the focused element that name a fallback, innermost first. */
  let havens: HTMLElement[] = [];

  const onFocusIn = (event: FocusEvent) => {
    focused = event.target as Element;
    havens = [];
    for (let at = focused.parentElement?.closest<HTMLElement>('[data-focus-rescue]'); at; at = at.parentElement?.closest<HTMLElement>('[data-focus-rescue]')) {
      havens.push(at);
    }
  };

  // Mutation records arrive as a microtask after the DOM changed: before the next paint, and
  // after the browser has already moved the focus of a removed element to <body>.
  const observer = new MutationObserver(() => {
    if (!focused || focused.isConnected) return;
    focused = null;
    if (doc.activeElement && doc.activeElement !== doc.body) return;
    for (const haven of havens) {
      if (!haven.isConnected) continue;
      const selector = haven.dataset.focusRescue;
      const target = selector ? haven.querySelector<HTMLElement>(selector) : haven;
      if (target) {
        target.focus({ preventScroll: true });
        return;
      }
    }
  });

  doc.addEventListener('focusin', onFocusIn);
  observer.observe(doc.body, { childList: true, subtree: true });
  return () => {
    doc.removeEventListener('focusin', onFocusIn);
    observer.disconnect();
  };
}
