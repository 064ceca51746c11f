/**
 * A C tokenizer just good enough to compare statements: identifiers, numbers and punctuators,
 * whitespace and comments dropped. Anchors are token patterns, so formatting never matters.
 */
const TOKEN = /[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|[^\s\w]/g;

export function tokenize(s: string): string[] {
  const noComments = s.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, ' ');
  return noComments.match(TOKEN) ?? [];
}

/** Does `needle` occur in `hay` as a contiguous run? Returns its start or -1. */
export function findRun(hay: string[], needle: string[]): number {
  if (!needle.length) return -1;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
