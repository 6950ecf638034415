import type { ComponentChildren, Ref } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

export interface VirtualListController {
  scrollToBottom(): void;
  /** Focuses the list itself, so the arrow and page keys scroll it. */
  focus(): void;
}

interface Props<T extends { key: string }> {
  items: readonly T[];
  /** A first guess of a row's height, until it has been measured. */
  estimate: (item: T) => number;
  render: (item: T) => ComponentChildren;
  /** Rows that can hold the reader's place (not headers that move when rows are added above). */
  canAnchor?: (item: T) => boolean;
  /** Called while the user is near the top (load older rows); must be cheap to call again. */
  onNearTop: () => void;
  onAtBottomChange?: (atBottom: boolean) => void;
  controller?: Ref<VirtualListController>;
  label: string;
  class?: string;
}

/** Extra height rendered above and below the viewport, so fast scrolling rarely shows a gap. */
const OVERSCAN_PX = 600;
const NEAR_TOP_PX = 900;
const BOTTOM_SLACK_PX = 40;
/**
 * A scroll this soon after the reader's wheel, touch, key or scrollbar input is theirs (smooth
 * and momentum scrolling go on after the input itself). Any other scroll is the list's own, or
 * the browser clamping it while rows change: it never makes the list stop following the bottom.
 */
const USER_SCROLL_MS = 600;
/** Keys that scroll a focused scroller, and the ones among them that go up. */
const SCROLL_KEYS = new Set(['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End', ' ']);
const UP_KEYS = new Set(['ArrowUp', 'PageUp', 'Home']);
/** Re-renders the list may cause itself in a row (measure, then render what the measure showed). */
const MAX_SELF_RENDERS = 24;

interface Anchor {
  key: string;
  /** Where the row's top edge is, relative to the viewport's top edge. */
  y: number;
  /** Read from the DOM (what the reader sees), or only from the height model (the row was not rendered). */
  exact: boolean;
}

/**
 * A windowed list of rows with measured, variable heights: only the rows near the viewport are
 * in the DOM, however long the list. It keeps what you are looking at still when rows are added
 * above (older pages) or when a row's height changes, and follows new rows at the bottom while
 * you are at the bottom. (Browsers' own scroll anchoring is turned off in CSS: this replaces it.)
 *
 * Positions come from a height model (measured heights, estimates for rows never rendered),
 * which decides what to render; the reader's place is kept by the DOM, which is what they see.
 */
export function VirtualList<T extends { key: string }>(props: Props<T>) {
  const { items, estimate } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const windowEl = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [, setVersion] = useState(0);
  const [viewport, setViewport] = useState({ top: 0, height: 0 });
  const anchor = useRef<Anchor | null>(null);
  const atBottom = useRef(true);
  /** Where this component last scrolled to, so its own scroll events are not taken for the reader's. */
  const ownScroll = useRef<number | null>(null);
  /** When the reader last used the wheel, touch, a scrolling key or the scrollbar on this list. */
  const userInputAt = useRef(-Infinity);
  /** A finger or the mouse button is down on the list (dragging it, or its scrollbar). */
  const held = useRef(false);
  const selfRenders = useRef(0);
  const model = useRef<{ offsets: Float64Array; items: readonly T[] }>({ offsets: new Float64Array(1), items: [] });

  const observer = useMemo(
    () =>
      new ResizeObserver((entries) => {
        let changed = false;
        for (const entry of entries) {
          const target = entry.target as HTMLElement;
          const key = target.dataset.key;
          if (!key) continue;
          const height = entry.borderBoxSize?.[0]?.blockSize ?? target.getBoundingClientRect().height;
          // A hidden list (display: none) measures every row as 0: that is no measurement at all.
          if (height === 0 && target.offsetParent === null) continue;
          if (Math.abs((heights.current.get(key) ?? -1) - height) > 0.5) {
            heights.current.set(key, height);
            changed = true;
          }
        }
        if (changed) setVersion((v) => v + 1);
      }),
    [],
  );
  useEffect(() => () => observer.disconnect(), [observer]);

  const offsets = new Float64Array(items.length + 1);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    offsets[i + 1] = offsets[i]! + (heights.current.get(item.key) ?? estimate(item));
  }
  const total = offsets[items.length]!;
  model.current = { offsets, items };

  const viewHeight = viewport.height || 1000;
  const start = Math.max(0, firstEndingAfter(offsets, viewport.top - OVERSCAN_PX));
  const end = Math.min(items.length, firstEndingAfter(offsets, viewport.top + viewHeight + OVERSCAN_PX) + 1);

  const scrollTo = (el: HTMLElement, top: number) => {
    el.scrollTop = top;
    ownScroll.current = el.scrollTop;
  };

  /** Reads the height of every rendered row now, rather than a frame later from the ResizeObserver. */
  const measureRendered = (): boolean => {
    let changed = false;
    for (const child of windowEl.current?.children ?? []) {
      const row = child as HTMLElement;
      const height = row.getBoundingClientRect().height;
      if (height === 0 && row.offsetParent === null) continue;
      const key = row.dataset.key!;
      if (Math.abs((heights.current.get(key) ?? -1) - height) > 0.5) {
        heights.current.set(key, height);
        changed = true;
      }
    }
    return changed;
  };

  const renderedRow = (key: string) => windowEl.current?.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`) ?? null;

  const recordAnchor = () => {
    const el = scroller.current;
    if (!el) return;
    const top = el.getBoundingClientRect().top;
    const bottom = top + el.clientHeight;
    for (const child of windowEl.current?.children ?? []) {
      const row = child as HTMLElement;
      const box = row.getBoundingClientRect();
      if (box.top >= bottom) break;
      if (row.dataset.anchor === '1' && box.bottom > top + 1) {
        anchor.current = { key: row.dataset.key!, y: box.top - top, exact: true };
        return;
      }
    }
    // Nothing in view is rendered yet (a long jump): the model says which row is there.
    const { offsets: now, items: rows } = model.current;
    let index = Math.min(rows.length - 1, firstEndingAfter(now, el.scrollTop));
    while (index < rows.length - 1 && props.canAnchor && !props.canAnchor(rows[index]!)) index++;
    const row = rows[index];
    anchor.current = row ? { key: row.key, y: now[index]! - el.scrollTop, exact: false } : null;
  };

  const setAtBottom = (value: boolean) => {
    if (atBottom.current === value) return;
    atBottom.current = value;
    props.onAtBottomChange?.(value);
  };

  // After every render: measure what was drawn, then put the viewport back where the reader
  // was, before the browser paints.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    // Rendering, measuring and scrolling feed each other; each pass measures rows for good, so
    // this settles in a few passes. The cap only guards against a browser that never settles; it
    // counts the re-renders this effect asks for in a row, never the ones new rows cause, so a
    // burst of messages cannot use it up.
    let rerender = measureRendered();
    if (atBottom.current) {
      // Never moved under a finger on it; following goes on when it lifts (a tap is not a scroll).
      if (!held.current) scrollTo(el, el.scrollHeight);
    } else if (anchor.current) {
      const { key, y, exact } = anchor.current;
      const row = renderedRow(key);
      if (row && exact) {
        // Move by exactly as much as the row moved on screen.
        const drift = row.getBoundingClientRect().top - el.getBoundingClientRect().top - y;
        if (Math.abs(drift) > 0.5) scrollTo(el, el.scrollTop + drift);
      } else if (!row) {
        // The row is outside the rendered window (a page was added above): place it by the
        // model; the render this triggers brings it in, and the exact step follows.
        const index = items.findIndex((item) => item.key === key);
        if (index >= 0) scrollTo(el, offsets[index]! - y);
      }
    }
    if (!anchor.current || renderedRow(anchor.current.key)) recordAnchor();
    if (Math.abs(el.scrollTop - viewport.top) >= 1 || el.clientHeight !== viewport.height) rerender = true;
    if (rerender && selfRenders.current < MAX_SELF_RENDERS) {
      selfRenders.current += 1;
      setVersion((v) => v + 1);
      setViewport({ top: el.scrollTop, height: el.clientHeight });
    } else {
      selfRenders.current = 0;
    }
    if (el.scrollTop < NEAR_TOP_PX) props.onNearTop();
  });

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const resize = new ResizeObserver(() => {
      if (atBottom.current) scrollTo(el, el.scrollHeight);
      setViewport({ top: el.scrollTop, height: el.clientHeight });
    });
    resize.observe(el);
    return () => resize.disconnect();
  }, []);

  if (props.controller) {
    const controller: VirtualListController = {
      scrollToBottom: () => {
        const el = scroller.current;
        if (!el) return;
        setAtBottom(true);
        scrollTo(el, el.scrollHeight);
      },
      focus: () => scroller.current?.focus(),
    };
    if (typeof props.controller === 'function') props.controller(controller);
    else props.controller.current = controller;
  }

  const noteUserInput = () => {
    userInputAt.current = performance.now();
  };
  /** The reader is heading up: stop following at once, so a render before the scroll event does not pull them back. */
  const leaveBottom = () => {
    const el = scroller.current;
    if (el && el.scrollTop > 0) setAtBottom(false);
  };

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const own = ownScroll.current !== null && Math.abs(el.scrollTop - ownScroll.current) < 1;
    ownScroll.current = null;
    const byReader = !own && (held.current || performance.now() - userInputAt.current < USER_SCROLL_MS);
    if (byReader) {
      // Smooth and momentum scrolling keep going after the input: they are still the reader's.
      noteUserInput();
      setAtBottom(el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK_PX);
      recordAnchor();
    } else if (atBottom.current && !held.current && el.scrollHeight - el.scrollTop - el.clientHeight >= 1) {
      // Not the reader (the browser clamped the list as rows changed): back to the bottom.
      scrollTo(el, el.scrollHeight);
    }
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < NEAR_TOP_PX) props.onNearTop();
  };

  // Wheel and touch listeners are passive: they only note the input, never hold up the scrolling.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onWheel = (event: WheelEvent) => {
      noteUserInput();
      if (event.deltaY < 0) leaveBottom();
    };
    const onTouch = (event: TouchEvent) => {
      held.current = event.type === 'touchstart' || event.type === 'touchmove';
      noteUserInput();
    };
    const passive = { passive: true };
    el.addEventListener('wheel', onWheel, passive);
    for (const type of ['touchstart', 'touchmove', 'touchend', 'touchcancel'] as const) el.addEventListener(type, onTouch, passive);
    return () => {
      el.removeEventListener('wheel', onWheel);
      for (const type of ['touchstart', 'touchmove', 'touchend', 'touchcancel'] as const) el.removeEventListener(type, onTouch);
    };
  }, []);

  const input = {
    onPointerDown: (event: PointerEvent) => {
      // On the list itself, not on a row: that is its scrollbar.
      if (event.target !== scroller.current || event.pointerType === 'touch') return;
      held.current = true;
      noteUserInput();
      addEventListener('pointerup', () => ((held.current = false), noteUserInput()), { once: true });
    },
    onKeyDown: (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      // Keys typed into a field inside a row (none today) edit it; they do not scroll.
      if (!SCROLL_KEYS.has(event.key) || target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      noteUserInput();
      if (UP_KEYS.has(event.key) || (event.key === ' ' && event.shiftKey)) leaveBottom();
    },
    // Tabbing to something in a row scrolls it into view: that is the reader's doing, too.
    onFocusIn: noteUserInput,
  };

  return (
    // A region, not a live log: rows added above while paging back are not news. New messages
    // are announced by the chat's own live region (Announcer).
    <div ref={scroller} class={`vlist ${props.class ?? ''}`} onScroll={onScroll} {...input} tabIndex={0} role="region" aria-label={props.label} data-focus-rescue="">
      <div class="vlist-inner" style={{ height: `${total}px` }}>
        <div ref={windowEl} class="vlist-window" style={{ transform: `translateY(${offsets[start]}px)` }}>
          {items.slice(start, end).map((item) => (
            <MeasuredRow key={item.key} rowKey={item.key} anchor={props.canAnchor?.(item) ?? true} observer={observer}>
              {props.render(item)}
            </MeasuredRow>
          ))}
        </div>
      </div>
    </div>
  );
}

function MeasuredRow(props: { rowKey: string; anchor: boolean; observer: ResizeObserver; children: ComponentChildren }) {
  const { observer } = props;
  const el = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const node = el.current;
    if (!node) return;
    observer.observe(node);
    return () => observer.unobserve(node);
  }, [observer]);
  return (
    <div ref={el} class="vlist-row" data-key={props.rowKey} data-anchor={props.anchor ? '1' : undefined}>
      {props.children}
    </div>
  );
}

/** The index of the first row whose bottom edge is below `y` (binary search over prefix sums). */
function firstEndingAfter(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  if (hi < 0) return 0;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1]! > y) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
