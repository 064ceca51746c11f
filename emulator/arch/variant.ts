/**
 * Release variants of an arch model: each release names the layout it has (a short key), and
 * each layout is made once, so every machine of one release shares one model.
 * Layer: pure emulator.
 */
import type { ArchModel } from './types';

export function releaseVariants(key: (release: string) => string, make: (key: string) => ArchModel): (release: string) => ArchModel {
  const byKey = new Map<string, ArchModel>();
  const byRelease = new Map<string, ArchModel>();
  return (release) => {
    let a = byRelease.get(release);
    if (!a) {
      const k = key(release);
      a = byKey.get(k) ?? byKey.set(k, make(k)).get(k)!;
      byRelease.set(release, a);
    }
    return a;
  };
}
