/**
 * Headers every response carries, HTTP answers and refused WebSocket handshakes alike
 * (docs/SECURITY.md). Cross-Origin-Resource-Policy keeps another site from embedding API answers
 * or file bytes (`<img>`, `<script>`) with the user's cookie; the rest forbid MIME sniffing,
 * framing and leaking addresses in Referer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
