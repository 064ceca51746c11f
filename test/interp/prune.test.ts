/**
 * prune.ts: before the C parser runs, the functions GUP-fast cannot reach are blanked; what it
 * can reach, through any name a reachable body mentions, stays as written, and no line moves.
 */
import { lastText } from '../../emulator/interp/memo';
import { describe, expect, it } from 'vitest';
import { pruneUnreachable } from '../../emulator/interp/prune';

const FILE = [
  'static int helper(int x) { return x + 1; }', // 1: reached through walk
  'static int unused(int x)',
  '{',
  '\tconst char *s = "} not a brace {";',
  "\tchar c = '}';",
  '\t/* } nor this { */',
  '\treturn x; // }',
  '}',
  'static const struct ops table = { .f = 0 };', // 9: an initializer, not a function
  'static int walk(int n) { return helper(n); }',
  'int get_user_pages_fast(unsigned long start, int nr, unsigned int flags, void **pages)',
  '{',
  '\treturn walk(nr);',
  '}',
].join('\n');

describe('pruneUnreachable', () => {
  const out = pruneUnreachable(FILE, ['get_user_pages_fast']);

  it('keeps every line where it was', () => {
    expect(out.length).toBe(FILE.length);
    expect(out.split('\n').length).toBe(FILE.split('\n').length);
  });

  it('blanks a function no entry point reaches, braces in its strings, characters and comments included', () => {
    const lines = out.split('\n');
    for (let i = 1; i <= 7; i++) expect(lines[i].trim()).toBe('');
  });

  it('keeps the entry point, what it calls, and what that calls; an initializer is not a function', () => {
    const lines = out.split('\n');
    expect(lines[0]).toBe(FILE.split('\n')[0]);
    expect(lines[8]).toBe(FILE.split('\n')[8]);
    expect(lines.slice(9).join('\n')).toBe(FILE.split('\n').slice(9).join('\n'));
  });

  it('leaves the text alone when no entry point is defined, or the braces do not balance', () => {
    expect(pruneUnreachable(FILE, ['pin_user_pages_fast'])).toBe(FILE);
    expect(pruneUnreachable(FILE + '\n}', ['get_user_pages_fast'])).toBe(FILE + '\n}');
  });

  it('names a function past an attribute before its parameters', () => {
    const text = 'static __attribute__((unused)) int lone(void) { return 0; }\nint get_user_pages_fast(void) { return 0; }';
    expect(pruneUnreachable(text, ['get_user_pages_fast']).split('\n')[0].trim()).toBe('');
  });
});

describe('one text, read once per edit', () => {
  it('lastText answers a repeat of the last text from its result, and any other text afresh', () => {
    let runs = 0;
    const names = lastText((t: string) => (runs++, new Set(t.split(' '))));
    const a = names('gup_pte_range gup_pmd_range');
    expect(names('gup_pte_range ' + 'gup_pmd_range')).toBe(a); // equal text, another string
    expect(runs).toBe(1);
    const b = names('gup_fast_pte_range');
    expect(b).not.toBe(a);
    expect([...b]).toEqual(['gup_fast_pte_range']);
    expect(names('gup_pte_range gup_pmd_range')).not.toBe(a); // only the last text is kept
    expect(runs).toBe(3);
  });
});
