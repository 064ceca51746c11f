/**
 * A mail's body as its transfer encoding says: a patch saved from a mail client or a list archive
 * often comes quoted-printable (`=3D` for `=`, a line folded with a trailing `=`) or base64, or as
 * a part of a multipart mail, or format=flowed (RFC 3676: long lines wrapped after a space, a
 * leading space doubled). Each decoded line keeps the document line it came from, so the
 * lenses still go on the mail as the reader sees it.
 * Layer: protocol-free (server/evolution).
 */

export interface Decoded {
  lines: string[];
  /** per decoded line: the 0-based document line it starts on */
  at: number[];
}

interface Part {
  headers: Map<string, string>;
  /** the first body line, and the end (exclusive) */
  body: number;
  end: number;
}

/** The headers from line s to the first blank line (folded lines joined), names lowercased, and where the body starts. */
function headersOf(lines: string[], s: number, e: number): Part {
  const headers = new Map<string, string>();
  let i = s;
  let last = '';
  for (; i < e && lines[i] !== ''; i++) {
    const l = lines[i];
    if (/^[ \t]/.test(l) && last) headers.set(last, `${headers.get(last)} ${l.trim()}`);
    else {
      const m = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(l);
      if (m) headers.set((last = m[1].toLowerCase()), m[2]);
    }
  }
  return { headers, body: Math.min(i + 1, e), end: e };
}

const encodingOf = (p: Part) => (p.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();

/**
 * Quoted-printable text's bytes, appended to `bytes`: `=XX` a byte, every other character its
 * UTF-8 (an ASCII one as it is: a mail's text is nearly all ASCII); in an encoded word `_` is a space.
 */
function qpBytes(text: string, bytes: number[], underscore = false): void {
  for (let j = 0; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(text.slice(j + 1, j + 3))) {
      bytes.push(parseInt(text.slice(j + 1, j + 3), 16));
      j += 2;
    } else if (underscore && c === 0x5f) bytes.push(0x20);
    else if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(text[j], 'utf8')) bytes.push(b);
  }
}

/** Quoted-printable lines: `=XX` a byte, a trailing `=` joins the next line (UTF-8 decoded once a line is whole). */
function quotedPrintable(lines: string[], from: number, to: number, out: Decoded): void {
  let bytes: number[] = [];
  let start = from;
  for (let i = from; i < to; i++) {
    const l = lines[i];
    const soft = l.endsWith('=');
    qpBytes(soft ? l.slice(0, -1) : l.replace(/[ \t]+$/, ''), bytes);
    if (soft && i + 1 < to) continue;
    out.lines.push(Buffer.from(bytes).toString('utf8'));
    out.at.push(start);
    bytes = [];
    start = i + 1;
  }
}

/** A base64 body: its decoded lines spread over the document lines it took. */
function base64(lines: string[], from: number, to: number, out: Decoded): void {
  const text = Buffer.from(lines.slice(from, to).join(''), 'base64').toString('utf8').split(/\r\n|\r|\n/);
  text.forEach((l, k) => {
    out.lines.push(l);
    out.at.push(from + Math.floor((k * Math.max(1, to - from)) / Math.max(1, text.length)));
  });
}

function plain(lines: string[], from: number, to: number, out: Decoded): void {
  for (let i = from; i < to; i++) {
    out.lines.push(lines[i]);
    out.at.push(i);
  }
}

/** flowed text's parameters, where the part's type says format=flowed */
function flowedOf(p: Part): { delSp: boolean } | undefined {
  const type = p.headers.get('content-type') ?? '';
  if (!/(?:^|;)\s*format\s*=\s*"?flowed"?/i.test(type)) return undefined;
  return { delSp: /(?:^|;)\s*delsp\s*=\s*"?yes"?/i.test(type) };
}

/**
 * format=flowed lines from `from` on, in place: a leading space the sender added is taken off, and
 * a line that ends in a space (wrapped there) runs on into the next of the same quote depth. A line
 * of spaces alone is kept as it is: a wrap never makes one, and in a patch it is a blank context line.
 */
function unflow(out: Decoded, from: number, delSp: boolean): void {
  const lines: string[] = [];
  const at: number[] = [];
  let open: string | undefined;
  let depth = -1;
  for (let i = from; i < out.lines.length; i++) {
    const raw = out.lines[i];
    const q = /^>*/.exec(raw)![0];
    let l = raw.slice(q.length);
    if (l.startsWith(' ')) l = l.slice(1);
    if (open !== undefined && q.length === depth) {
      lines[lines.length - 1] = open + l;
    } else {
      lines.push(q + l);
      at.push(out.at[i]);
    }
    const soft = l.endsWith(' ') && l.trim() !== '' && l !== '-- ';
    open = soft ? lines[lines.length - 1].slice(0, delSp ? -1 : undefined) : undefined;
    depth = q.length;
  }
  out.lines.splice(from, out.lines.length - from, ...lines);
  out.at.splice(from, out.at.length - from, ...at);
}

/** One part's body, decoded (a multipart one: each of its parts in turn, the boundaries left out). */
function decodePart(lines: string[], p: Part, out: Decoded, depth: number): boolean {
  const type = p.headers.get('content-type') ?? '';
  const boundary = /multipart\/[\w-]+\s*;.*?boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (boundary && depth < 4) {
    const marks: number[] = [];
    for (let i = p.body; i < p.end; i++) if (lines[i] === `--${boundary}` || lines[i] === `--${boundary}--`) marks.push(i);
    let any = false;
    for (let k = 0; k < marks.length && lines[marks[k]] !== `--${boundary}--`; k++) {
      const inner = headersOf(lines, marks[k] + 1, marks[k + 1] ?? p.end);
      // an HTML alternative repeats the text with its own markup, a picture is no text: neither is read
      if (/^\s*(?:text\/html|image\/|audio\/|video\/)/i.test(inner.headers.get('content-type') ?? '')) continue;
      any = decodePart(lines, inner, out, depth + 1) || any;
    }
    // a multipart mail is decoded even where no part is encoded: its boundaries and part headers are no diff
    return any || marks.length > 0;
  }
  const enc = encodingOf(p);
  const from = out.lines.length;
  if (enc === 'quoted-printable') quotedPrintable(lines, p.body, p.end, out);
  else if (enc === 'base64') base64(lines, p.body, p.end, out);
  else plain(lines, p.body, p.end, out);
  const flowed = flowedOf(p);
  if (flowed) unflow(out, from, flowed.delSp);
  return enc === 'quoted-printable' || enc === 'base64' || flowed !== undefined;
}

/**
 * The mail from line s to e with its body decoded (headers as they are), or undefined where
 * nothing in it is encoded (the lines are read as they stand).
 */
export function decodeMail(lines: string[], s: number, e: number): Decoded | undefined {
  const top = headersOf(lines, s, e);
  const multipart = /multipart\//i.test(top.headers.get('content-type') ?? '');
  const enc = encodingOf(top);
  if (!multipart && enc !== 'quoted-printable' && enc !== 'base64' && !flowedOf(top)) return undefined;
  const out: Decoded = { lines: [], at: [] };
  plain(lines, s, top.body, out);
  return decodePart(lines, top, out, 0) ? out : undefined;
}

/** A header's RFC 2047 encoded words (`=?UTF-8?q?...?=`, `=?UTF-8?B?...?=`) decoded; the rest as written. */
export function decodeWords(s: string): string {
  return s.replace(/=\?([\w-]+)\?([QqBb])\?([^?]*)\?=(\s+(?==\?))?/g, (all, _cs: string, kind: string, text: string) => {
    try {
      if (kind.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
      const bytes: number[] = [];
      qpBytes(text, bytes, true);
      return Buffer.from(bytes).toString('utf8');
    } catch {
      return all;
    }
  });
}
