/**
 * What the behaviour timeline asks of `gup-lens sweep`: every commit or every tag, from the start
 * of the history or after a tag the reviewer picks (a kernel tree has hundreds of commits to
 * mm/gup.c; a review of the last few releases need not wait for 2008's).
 * Layer: client, pure (no vscode).
 */

export const SWEEP_CHOICES = ['every commit that changed GUP-fast code', 'every tag', 'commits since a tag…', 'tags from a tag on…'] as const;
export type SweepChoice = (typeof SWEEP_CHOICES)[number];

/** The choice asks for a tag to start from. */
export const needsTag = (c: SweepChoice): boolean => c === 'commits since a tag…' || c === 'tags from a tag on…';

/** The CLI's arguments for a choice (and the tag it starts from, where it asks for one). */
export function sweepArgs(repo: string, choice: SweepChoice, from?: string): string[] {
  const tags = choice === 'every tag' || choice === 'tags from a tag on…';
  return ['sweep', '--repo', repo, '--json', ...(tags ? ['--tags'] : []), ...(needsTag(choice) && from ? ['--from', from] : [])];
}
