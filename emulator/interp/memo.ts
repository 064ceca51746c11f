/**
 * One text's answer kept until the next text: an edit re-reads the whole file several times over
 * (the fingerprint, the era markers, each arch's compile), each time with the same text.
 * The answer is shared: callers read it and never change it. Layer: pure emulator.
 */
export function lastText<T>(f: (text: string) => T): (text: string) => T {
  let seen: string | undefined;
  let answer: T;
  return (text) => {
    if (text !== seen) {
      answer = f(text);
      seen = text;
    }
    return answer;
  };
}
