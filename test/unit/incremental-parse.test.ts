/**
 * An edited document's outline comes from an incremental parse (the last tree, edited): it must be
 * the outline a fresh parse of the new text gives, whatever the edit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getParser, parseWith, type LastParse } from '../../server/analysis/parse';
import { editBetween, pointAt } from '../../server/analysis/text-edit';

const fixture = (p: string) => readFileSync(join(__dirname, '../fixtures', p), 'utf8');

describe('editBetween', () => {
  it('keeps the common start and end, and places them in rows and columns', () => {
    expect(editBetween('ab\ncd', 'ab\ncXd')).toEqual({ startIndex: 4, oldEndIndex: 4, newEndIndex: 5, startPosition: { row: 1, column: 1 }, oldEndPosition: { row: 1, column: 1 }, newEndPosition: { row: 1, column: 2 } });
    expect(editBetween('a\nb\nc', 'a\nc')).toMatchObject({ startIndex: 2, oldEndIndex: 4, newEndIndex: 2, oldEndPosition: { row: 2, column: 0 } });
    expect(pointAt('x\n\nyz', 4)).toEqual({ row: 2, column: 1 });
  });

  it('never cuts a surrogate pair', () => {
    const e = editBetween('a\u{1F600}b', 'a\u{1F601}b');
    expect([e.startIndex, e.oldEndIndex, e.newEndIndex]).toEqual([1, 3, 3]);
  });
});

describe('incremental outline parse', () => {
  const snippets = ['{', '}', '\n', ' ', ';', '/* a comment */', '#if 0\n', '#endif\n', 'static int gup_extra(unsigned long addr)\n{\n\treturn 0;\n}\n', 'é', '\u{1F600}', 'if (x) {\n', '"str', 'pte_t pte = READ_ONCE(*ptep);\n'];
  const edit = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), del: fc.nat({ max: 400 }), ins: fc.array(fc.constantFrom(...snippets), { maxLength: 4 }) });

  for (const file of ['eras/gup-6.10-shape.c', 'gup-2014-shape.c']) {
    it(`gives the fresh parse's outline after any chain of edits (${file})`, async () => {
      const parser = await getParser();
      const base = fixture(file);
      await fc.assert(
        fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 5 }), async (edits) => {
          const last: LastParse = {};
          let text = base;
          parseWith(parser, text, last);
          for (const e of edits) {
            const at = Math.floor(e.at * text.length);
            text = text.slice(0, at) + e.ins.join('') + text.slice(at + e.del);
            expect(parseWith(parser, text, last)).toEqual(parseWith(parser, text));
          }
          last.tree?.delete();
        }),
        { numRuns: 40 },
      );
    }, 60_000);
  }

  it('another document entirely: parsed afresh, the same outline', async () => {
    const parser = await getParser();
    const last: LastParse = {};
    parseWith(parser, fixture('gup-2014-shape.c'), last);
    const other = fixture('eras/gup-6.10-shape.c');
    expect(parseWith(parser, other, last)).toEqual(parseWith(parser, other));
    last.tree?.delete();
  });
});
