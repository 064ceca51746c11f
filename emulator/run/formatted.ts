/**
 * An error to keep: its stack formatted now. Until something reads `stack`, V8 holds each frame's
 * receiver and function, so a kept error from inside a run holds that run's whole machine (a
 * 1 GiB walk's memmap is ~40 MB); formatting frees them.
 * Layer: pure emulator.
 */
export function formatted<E>(e: E): E {
  if (e instanceof Error) void e.stack;
  return e;
}
