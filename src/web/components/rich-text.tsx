import { useMemo } from 'preact/hooks';
import { linkify } from '../lib/linkify.ts';

/**
 * Message text as text nodes and links. Nothing here is ever parsed as HTML: markup in a
 * message shows up literally. Line breaks are kept by CSS (white-space: pre-wrap).
 */
export function RichText({ text }: { text: string }) {
  const segments = useMemo(() => linkify(text), [text]);
  return (
    <>
      {segments.map((segment, i) =>
        segment.kind === 'text' ? (
          segment.text
        ) : (
          <a key={i} href={segment.href} target="_blank" rel="noopener noreferrer">
            {segment.text}
          </a>
        ),
      )}
    </>
  );
}
