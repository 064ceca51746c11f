/**
 * The one edit that turns a text into another: their common start and common end kept, what
 * lies between replaced (a keystroke, a paste, a line deleted). Positions as tree-sitter's
 * Tree.edit takes them: string indices, rows and columns in UTF-16 code units.
 */
export interface Point {
  row: number;
  column: number;
}

export interface TextEdit {
  startIndex: number;
  oldEndIndex: number;
  newEndIndex: number;
  startPosition: Point;
  oldEndPosition: Point;
  newEndPosition: Point;
}

const high = (c: number) => c >= 0xd800 && c <= 0xdbff;
const low = (c: number) => c >= 0xdc00 && c <= 0xdfff;

export function editBetween(a: string, b: string): TextEdit {
  const max = Math.min(a.length, b.length);
  let start = 0;
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  // never between the two halves of a surrogate pair: the edit takes the whole character
  if (start > 0 && high(a.charCodeAt(start - 1))) start--;
  if (endA < a.length && low(a.charCodeAt(endA))) {
    endA++;
    endB++;
  }
  return { startIndex: start, oldEndIndex: endA, newEndIndex: endB, startPosition: pointAt(a, start), oldEndPosition: pointAt(a, endA), newEndPosition: pointAt(b, endB) };
}

/** The row and column of index i of s. */
export function pointAt(s: string, i: number): Point {
  let row = 0;
  let lineStart = 0;
  for (let j = s.indexOf('\n'); j !== -1 && j < i; j = s.indexOf('\n', j + 1)) {
    row++;
    lineStart = j + 1;
  }
  return { row, column: i - lineStart };
}
