/**
 * Which documents start the language server: C that names a GUP-fast function, and patches or
 * mails that change one. A mail client's encoded body (base64, quoted-printable) hides its diff
 * from a regex, and a reply quotes it (`> @@ -`): those start it too, and the server decides.
 * Layer: client, pure (no vscode).
 */
import { VERSIONS } from '../emulator/versions';

/** Patches come as diffs, or as mails VS Code opens as plain text (.eml, .mbox, b4's .mbx). */
export const PATCH_LANGUAGES = ['diff', 'plaintext'];
const GUP_NAMES = new RegExp(`\\b(${[...new Set(VERSIONS.flatMap((v) => v.functions))].join('|')})\\s*\\(`);

/** Does a document with this language, scheme and text look like GUP-fast code or a change to it? (cheap: regexes, no parse) */
export function isGupText(languageId: string, scheme: string, text: string): boolean {
  if (PATCH_LANGUAGES.includes(languageId)) {
    return (/^(?:> ?)*@@ -\d+/m.test(text) && GUP_NAMES.test(text)) || /^Content-Transfer-Encoding:[ \t]*(?:base64|quoted-printable)/im.test(text);
  }
  return (languageId === 'c' || scheme === 'gup-lens') && GUP_NAMES.test(text);
}
