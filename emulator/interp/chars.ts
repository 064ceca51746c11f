/**
 * Characters of C source as the scanners read them (by char code: a 100 KB file is scanned at
 * every edit, per arch). Layer: pure emulator.
 */

/** A letter or `_`: an identifier starts so. */
export const identStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;

/** A letter, digit or `_` (what `\w` matches). */
export const wordChar = (c: number): boolean => identStart(c) || (c >= 0x30 && c <= 0x39);
