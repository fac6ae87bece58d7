// The words of an iptables-restore line, split exactly as iptables-restore splits them
// (xtables add_param_to_argv), and the reverse: how iptables-save quotes a string argument
// (xtables_save_string).

/** One word of a restore line; `quoted` when any part of it was inside double quotes. */
export interface Word {
  readonly text: string;
  readonly quoted: boolean;
}

/**
 * Splits a line (without its newline) into words. Mirrors iptables-restore: a double quote opens a quoted word, a backslash
 * escapes the next character only inside quotes, a closing quote ends the word (so `""` is an empty
 * word), single quotes are ordinary characters, spaces and tabs separate words.
 */
export function splitWords(line: string): Word[] {
  // Fast path (almost every rule line): no quotes, so words are just the whitespace-separated runs.
  if (!line.includes('"')) {
    const words: Word[] = [];
    // Splitting on a plain space is several times faster than the regex, and the same without tabs or CRs.
    const sep = line.includes('\t') || line.includes('\r') ? WHITESPACE : ' ';
    for (const text of line.split(sep)) if (text !== '') words.push({ text, quoted: false });
    return words;
  }
  const words: Word[] = [];
  let buf = '';
  let inWord = false;
  let quoted = false;
  let open = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (open) {
      if (c === '\\' && i + 1 < line.length) {
        buf += line[++i];
      } else if (c === '"') {
        // iptables-restore ends the word at the closing quote, even when text follows directly.
        open = false;
        words.push({ text: buf, quoted: true });
        buf = '';
        inWord = false;
        quoted = false;
      } else {
        buf += c;
      }
      continue;
    }
    if (c === '"') {
      open = true;
      quoted = true;
      inWord = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) {
        words.push({ text: buf, quoted });
        buf = '';
        inWord = false;
        quoted = false;
      }
      continue;
    }
    buf += c;
    inWord = true;
  }
  // iptables-restore hands the line with its newline to the splitter: an unclosed quote runs to the
  // end of the line and takes the newline in (the kernel then stores e.g. a comment ending in "\n").
  if (open) words.push({ text: `${buf}\n`, quoted: true });
  else if (inWord) words.push({ text: buf, quoted });
  return words;
}

const WHITESPACE = /[ \t\n\r]+/;
const NO_QUOTE = /^[-_0-9a-zA-Z]+$/;

/** Whether iptables-save would quote this argument (xtables_save_string: anything but [-_0-9a-zA-Z]+). */
export function needsQuotes(value: string): boolean {
  return !NO_QUOTE.test(value);
}

/** An argument as iptables-save prints it when `quoted`: in double quotes, with `"`, `\` and `'` escaped. */
export function quoteArg(value: string): string {
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}
