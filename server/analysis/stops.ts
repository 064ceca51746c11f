/**
 * Where runs of a file's own code stopped, by line: why, and which runs (a scenario on an arch)
 * met it. Coverage says it beside the lines a stop leaves unreached; the diagnostics, where the
 * code read a local nothing had set. Layer: analysis (no vscode).
 */
export interface Stop {
  /** 1-based line of the file */
  line: number;
  why: string;
  runs: string[];
}

export class Stops {
  private readonly byLine = new Map<number, { why: string; runs: Set<string> }>();

  add(line: number | undefined, why: string, run: string): void {
    if (line === undefined) return;
    const x = this.byLine.get(line) ?? this.byLine.set(line, { why, runs: new Set() }).get(line)!;
    x.runs.add(run);
  }

  /** In line order; only lines from..to (1-based, inclusive) when given. */
  list(from = 1, to = Infinity): Stop[] {
    return [...this.byLine]
      .filter(([l]) => l >= from && l <= to)
      .sort(([x], [y]) => x - y)
      .map(([line, x]) => ({ line, why: x.why, runs: [...x.runs].sort() }));
  }
}

/** A stop in words: its line (where the reason does not already say it), then why. */
export function stopText(st: Stop): string {
  return `${st.why.includes(`line ${st.line}`) ? '' : `line ${st.line}: `}${st.why}`;
}
