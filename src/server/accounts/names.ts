import { createRequire } from 'node:module';
import { USERNAME_MAX_CODE_POINTS } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';
import { checkScripts } from './name-scripts.ts';

const NAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_.-]+$/u;
/** Invisible characters (joiners, variation selectors, tags…): a name with one looks like a name without. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/** Names that would pass for the system or for the world chat; look-alikes of them too. */
export const RESERVED_NAMES = ['world', 'admin', 'administrator', 'system', 'root', 'parley', 'moderator', 'support', 'everyone'];

export interface CheckedName {
  /** As shown: NFKC-normalised (full-width letters become ordinary ones). */
  name: string;
  /** Unique per account: NFKC with case folded, so "Alice", "ALICE" and "ａｌｉｃｅ" are one name. */
  nameKey: string;
  /** Look-alike key (UTS #39 skeletons, case folded): two names that look alike have the same one, and only one may exist. */
  skeleton: string;
}

/**
 * Checks a new user name (docs/SECURITY.md, "Names"). Refused: invisible characters, characters
 * other than letters, marks, digits, "_", "-", "."; a leading "." or mark; more than 4 combining
 * marks in a row or one mark twice on a letter; scripts mixed other than Latin with Chinese,
 * Japanese or Korean; reserved names and their look-alikes (NAME_TAKEN, as for a taken name).
 */
export function checkName(raw: string): CheckedName {
  if (INVISIBLE.test(raw)) throw new ParleyError('NAME_INVALID', 'A name cannot contain invisible characters (joiners, variation selectors).');
  const name = raw.normalize('NFKC');
  const length = [...name].length;
  if (length < 1 || length > USERNAME_MAX_CODE_POINTS || !NAME_PATTERN.test(name) || /^[.\p{M}]/u.test(name) || stackedMarks(name)) {
    throw new ParleyError('NAME_INVALID');
  }
  const scripts = checkScripts(name);
  if (scripts === 'mixed-scripts') throw new ParleyError('NAME_INVALID', 'A name is written in one script (Latin may go with Chinese, Japanese or Korean).');
  if (scripts === 'unusual-script') throw new ParleyError('NAME_INVALID', 'A name is written in a script in common use today.');
  const nameKey = nameKeyOf(name);
  const skeleton = skeletonOf(name);
  if (RESERVED_KEYS.has(nameKey) || reservedSkeletons().has(skeleton)) throw new ParleyError('NAME_TAKEN', 'That name is reserved; choose another.');
  return { name, nameKey, skeleton };
}

/**
 * The uniqueness key of any name, new or old, as typed at login or lookup: NFKC, case folded
 * (upper then lower, so "ß" meets "SS" and "ς" meets "σ"), invisible characters dropped.
 */
export function nameKeyOf(name: string): string {
  return name.normalize('NFKC').replace(INVISIBLE_ALL, '').toUpperCase().toLowerCase().normalize('NFKC');
}

/**
 * The look-alike key of a name: its UTS #39 skeleton, case folded, skeleton again. The first
 * skeleton is taken as written, since confusables are case-sensitive ("I" looks like "l", "i"
 * does not); folding then lets "Ivy" meet "lvy" and "ALICE" meet "ALlCE".
 */
export function skeletonOf(name: string): string {
  return skeleton(nameKeyOf(skeleton(name.normalize('NFKC'))));
}

/** UTS #39 skeleton: NFD, invisible characters dropped, each character mapped to its prototype in confusables.txt, NFD again. */
function skeleton(text: string): string {
  return confusables()(text.normalize('NFD').replace(INVISIBLE_ALL, '')).normalize('NFD');
}

/**
 * The confusables table and the regular expression built from it (about 3 MB, 14 ms to load) are
 * loaded by the first name that needs a skeleton (a registration, or renamed name rules at
 * start-up), not by every start: an idle server has no use for them (docs/PERFORMANCE.md,
 * "Start-up and idle memory"). Synchronous, so name checks stay synchronous.
 */
let unhomoglyph: ((text: string) => string) | null = null;
function confusables(): (text: string) => string {
  return (unhomoglyph ??= createRequire(import.meta.url)('unhomoglyph') as (text: string) => string);
}

const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');
const RESERVED_KEYS = new Set(RESERVED_NAMES);
// As written in lower case, upper case and capitalised: look-alikes of each ("wor1d", "ADMlN", "Adrnin").
let reservedSkeletonSet: ReadonlySet<string> | null = null;
function reservedSkeletons(): ReadonlySet<string> {
  return (reservedSkeletonSet ??= new Set(
    RESERVED_NAMES.flatMap((name) => [name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1)]).map(skeletonOf),
  ));
}

/** UTS #39 5.4: no run of more than 4 combining marks, and no mark repeated in a run (Zalgo text, hidden doubles). */
function stackedMarks(name: string): boolean {
  for (const run of name.normalize('NFD').match(/\p{Mn}+/gu) ?? []) {
    const marks = [...run];
    if (marks.length > 4 || new Set(marks).size < marks.length) return true;
  }
  return false;
}
