export type Segment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

// A link is printable ASCII plus letters, digits and marks of any script, so
// "https://zh.wikipedia.org/wiki/中文" is one link, while full-width punctuation ("，", "。", "）"),
// spaces, symbols and invisible or direction-changing characters end it.
const URL_PATTERN = /\b(?:https?:\/\/|www\.)[!#-&(-;=?-~\p{L}\p{N}\p{M}]+/giu;
const TRAILING = /[.,;:!?'")\]}*]+$/;

/**
 * Splits message text into plain text and http(s) links. The result is rendered as text nodes
 * and <a> elements: never as HTML, so markup in a message is shown literally.
 */
export function linkify(text: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let raw = match[0];
    // "(see https://x.org/a)" keeps its closing bracket outside the link, but "wiki/A_(b)" keeps its own.
    const trailing = TRAILING.exec(raw)?.[0] ?? '';
    if (trailing) {
      let keep = 0;
      if (trailing.startsWith(')') && count(raw, '(') >= count(raw, ')')) keep = 1;
      raw = raw.slice(0, raw.length - trailing.length + keep);
    }
    const href = safeHref(raw);
    if (!href) continue;
    const start = match.index;
    if (start > last) segments.push({ kind: 'text', text: text.slice(last, start) });
    segments.push({ kind: 'link', text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) segments.push({ kind: 'text', text: text.slice(last) });
  return segments;
}

function safeHref(raw: string): string | null {
  try {
    const url = new URL(/^www\./i.test(raw) ? `https://${raw}` : raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) if (c === char) n++;
  return n;
}
