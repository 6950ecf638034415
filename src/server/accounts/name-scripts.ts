/**
 * Mixed-script detection after UTS #39 (Unicode Security Mechanisms), section 5: a name may use
 * one script, or Latin together with the scripts of Chinese, Japanese or Korean writing ("Highly
 * Restrictive"), and only scripts of UTS #31's table of Recommended Scripts (those in common
 * modern use). So `аlice` with a Cyrillic "а" is refused, while 小明, 田中はなこ, 김민준, Иван,
 * Ελένη, محمد, and 小明_li are names.
 *
 * Each character's scripts are its Script_Extensions, which JavaScript's RegExp knows from the
 * Unicode data of the running engine; characters common to all scripts (digits, "_", "-", ".")
 * and inherited ones (combining marks) go with any script.
 */
const RECOMMENDED_SCRIPTS = [
  'Arab', 'Armn', 'Beng', 'Bopo', 'Cyrl', 'Deva', 'Ethi', 'Geor', 'Grek', 'Gujr', 'Guru', 'Hang', 'Hani', 'Hebr',
  'Hira', 'Kana', 'Khmr', 'Knda', 'Laoo', 'Latn', 'Mlym', 'Mymr', 'Orya', 'Sinh', 'Taml', 'Telu', 'Thaa', 'Thai', 'Tibt',
] as const;

const SCRIPT_PATTERNS = RECOMMENDED_SCRIPTS.map((script) => [script, new RegExp(`^\\p{scx=${script}}$`, 'u')] as const);
const ANY_SCRIPT = /^[\p{scx=Zyyy}\p{scx=Zinh}]$/u;

/** The writing systems of UTS #39: Han is shared by Chinese (Hanb), Japanese (Jpan) and Korean (Kore). */
const AUGMENTED: Record<string, readonly string[]> = {
  Hani: ['Hanb', 'Jpan', 'Kore'],
  Hira: ['Jpan'],
  Kana: ['Jpan'],
  Hang: ['Kore'],
  Bopo: ['Hanb'],
};

/** Latin may be mixed with one of these writing systems, and no other. */
const LATIN_MIXES = [['Latn', 'Jpan'], ['Latn', 'Hanb'], ['Latn', 'Kore']] as const;

export type ScriptVerdict = 'ok' | 'unusual-script' | 'mixed-scripts';

export function checkScripts(name: string): ScriptVerdict {
  const sets: Set<string>[] = [];
  for (const char of name) {
    if (ANY_SCRIPT.test(char)) continue;
    const scripts = new Set<string>();
    for (const [script, pattern] of SCRIPT_PATTERNS) {
      if (!pattern.test(char)) continue;
      scripts.add(script);
      for (const extra of AUGMENTED[script] ?? []) scripts.add(extra);
    }
    if (scripts.size === 0) return 'unusual-script';
    sets.push(scripts);
  }
  const single = sets.reduce<Set<string> | null>((common, scripts) => (common ? new Set([...common].filter((s) => scripts.has(s))) : scripts), null);
  if (single === null || single.size > 0) return 'ok';
  const covered = LATIN_MIXES.some((mix) => sets.every((scripts) => mix.some((script) => scripts.has(script))));
  return covered ? 'ok' : 'mixed-scripts';
}
