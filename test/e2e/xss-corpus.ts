/**
 * Markup that would run script if a client inserted user text as HTML. Every payload calls
 * window.__pwned (or alert/confirm/prompt, which the tests also hook) if it ever executes.
 */
export const XSS_PAYLOADS: readonly string[] = [
  '<script>__pwned(1)</script>',
  '<img src=x onerror="__pwned(2)">',
  '<svg onload="__pwned(3)">',
  '<svg><script>__pwned(4)</script></svg>',
  '<iframe src="javascript:__pwned(5)"></iframe>',
  '<a href="javascript:__pwned(6)">click me</a>',
  'javascript:__pwned(7)',
  '<body onload=__pwned(8)>',
  '<details open ontoggle=__pwned(9)>',
  '<input autofocus onfocus=__pwned(10)>',
  '<video><source onerror="__pwned(11)"></video>',
  '<audio src=x onerror=__pwned(12)>',
  '<math><mtext><table><mglyph><style><img src=x onerror=__pwned(13)>',
  '"><script>__pwned(14)</script>',
  "'><img src=x onerror=__pwned(15)>",
  '<scr<script>ipt>__pwned(16)</scr</script>ipt>',
  '<object data="javascript:__pwned(17)"></object>',
  '<embed src="javascript:__pwned(18)">',
  '<marquee onstart=__pwned(19)>x</marquee>',
  '<div style="background:url(javascript:__pwned(20))">x</div>',
  '<svg><animate onbegin=__pwned(21) attributeName=x dur=1s>',
  '<form><button formaction=javascript:__pwned(22)>x</button></form>',
  '<meta http-equiv="refresh" content="0;url=javascript:__pwned(23)">',
  '<base href="javascript:__pwned(24)//">',
  '<img src=x:x onerror=&#x5f;&#x5f;pwned(25)>',
  '<svg><a xlink:href="javascript:__pwned(26)"><text x=20 y=20>x</text></a></svg>',
  '<iframe srcdoc="<script>parent.__pwned(27)</script>"></iframe>',
  '<link rel=stylesheet href="data:text/css,*{x:expression(__pwned(28))}">',
  "{{constructor.constructor('__pwned(29)')()}}",
  '${__pwned(30)}',
  '<img src="x\n" onerror="__pwned(31)">',
  'https://example.org/"><img src=x onerror=__pwned(32)>',
  'http://example.org/?q=<script>__pwned(33)</script>',
  "<style>@import 'javascript:__pwned(34)';</style>",
  'data:text/html;base64,PHNjcmlwdD5fX3B3bmVkKDM1KTwvc2NyaXB0Pg==',
  '<svg/onload=__pwned(36)//',
  '<a href="&#106;avascript:__pwned(37)">x</a>',
  '<noscript><p title="</noscript><img src=x onerror=__pwned(38)>">',
  '<xss onpointerover=__pwned(39) style=display:block>hover me</xss>',
  '<img src=x onerror=alert(40)>',
  '<svg onload=confirm(41)>',
  '<iframe src="data:text/html,<script>parent.__pwned(42)</script>"></iframe>',
];

/**
 * Names for accounts. A name may only hold letters, digits, "_", "-" and ".", so markup is
 * refused at registration; the ones the rules allow are words that code sometimes trips over.
 */
export const XSS_NAMES_REFUSED: readonly string[] = ['<script>__pwned(101)</script>', '<img src=x onerror=__pwned(102)>', '"><svg onload=__pwned(103)>', 'javascript:__pwned(104)'];
export const XSS_NAMES_ALLOWED: readonly string[] = ['__proto__', 'constructor', 'onerror', 'javascript.alert'];
