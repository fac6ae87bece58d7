// From the words after `-A CHAIN` to RuleOptions and back: which words are a flag's arguments,
// and where `!` applies. Arity comes from the matches and targets kpath knows; an unknown flag takes
// every following word up to the next flag, so its text survives unchanged.
import type { RuleOption } from './types.js';
import { quoteArg, type Word } from './words.js';

const NO_ARG = new Set([
  '-f',
  '--fragment',
  '--syn',
  '--set',
  '--rcheck',
  '--update',
  '--remove',
  '--reap',
  '--rttl',
  '--rsource',
  '--rdest',
  '--random',
  '--random-fully',
  '--persistent',
  '--limit-iface-in',
  '--limit-iface-out',
  '--physdev-is-in',
  '--physdev-is-out',
  '--physdev-is-bridged',
  '--notrack',
  '--save-mark',
  '--restore-mark',
  '--log-tcp-sequence',
  '--log-tcp-options',
  '--log-ip-options',
  '--log-uid',
  '--log-macdecode',
  '--return-nomatch',
  '--update-counters',
  '--update-subcounters',
  '--clamp-mss-to-pmtu',
]);

const TWO_ARGS = new Set(['--tcp-flags', '--match-set', '--add-set', '--del-set']);

const ONE_ARG = new Set([
  '-s',
  '--source',
  '--src',
  '-d',
  '--destination',
  '--dst',
  '-i',
  '--in-interface',
  '-o',
  '--out-interface',
  '-p',
  '--protocol',
  '-m',
  '--match',
  '-j',
  '--jump',
  '-g',
  '--goto',
  '--comment',
  '--sport',
  '--source-port',
  '--dport',
  '--destination-port',
  '--sports',
  '--source-ports',
  '--dports',
  '--destination-ports',
  '--ports',
  '--tcp-option',
  '--src-type',
  '--dst-type',
  '--mark',
  '--ctstate',
  '--ctproto',
  '--ctorigsrc',
  '--ctorigdst',
  '--ctreplsrc',
  '--ctrepldst',
  '--ctorigsrcport',
  '--ctorigdstport',
  '--ctreplsrcport',
  '--ctrepldstport',
  '--ctstatus',
  '--ctexpire',
  '--ctdir',
  '--state',
  '--mode',
  '--probability',
  '--every',
  '--packet',
  '--seconds',
  '--hitcount',
  '--name',
  '--mask',
  '--physdev-in',
  '--physdev-out',
  '--src-range',
  '--dst-range',
  '--icmp-type',
  '--limit',
  '--limit-burst',
  '--reject-with',
  '--to-destination',
  '--to-source',
  '--to-ports',
  '--to',
  '--set-mark',
  '--set-xmark',
  '--or-mark',
  '--and-mark',
  '--xor-mark',
  '--nfmask',
  '--ctmask',
  '--log-prefix',
  '--log-level',
  '--nflog-group',
  '--nflog-prefix',
  '--nflog-range',
  '--nflog-size',
  '--nflog-threshold',
  '--zone',
]);

const NOT_NEGATABLE = new Set(['-m', '--match', '-j', '--jump', '-g', '--goto']);

export class OptionError extends Error {}

function looksLikeFlag(w: Word): boolean {
  return !w.quoted && (w.text === '!' || (w.text.length > 1 && w.text.startsWith('-')));
}

/** Groups the words of a rule into options. Throws OptionError on a dangling `!` or a missing argument. */
export function wordsToOptions(words: readonly Word[]): RuleOption[] {
  const out: RuleOption[] = [];
  let i = 0;
  while (i < words.length) {
    let negated = false;
    let w = words[i] as Word;
    if (!w.quoted && w.text === '!') {
      negated = true;
      i++;
      w = words[i] as Word;
      if (!w) throw new OptionError('"!" at the end of the rule');
      if (!looksLikeFlag(w) || w.text === '!')
        throw new OptionError(`"!" must precede an option, found "${w.text}"`);
    }
    if (!looksLikeFlag(w)) throw new OptionError(`unexpected argument "${w.text}"`);
    const flag = w.text;
    if (negated && NOT_NEGATABLE.has(flag)) throw new OptionError(`cannot have ! before ${flag}`);
    i++;
    const args: Word[] = [];
    const arity = NO_ARG.has(flag) ? 0 : TWO_ARGS.has(flag) ? 2 : ONE_ARG.has(flag) ? 1 : -1;
    if (arity >= 0) {
      for (let k = 0; k < arity; k++) {
        const a = words[i];
        if (!a)
          throw new OptionError(
            `option "${flag}" requires ${arity === 1 ? 'an argument' : `${arity} arguments`}`,
          );
        args.push(a);
        i++;
      }
    } else {
      // Unknown flag: keep every word up to the next flag verbatim.
      while (i < words.length && !looksLikeFlag(words[i] as Word)) args.push(words[i++] as Word);
    }
    out.push(makeOption(negated, flag, args));
  }
  return out;
}

export function makeOption(negated: boolean, flag: string, args: readonly Word[]): RuleOption {
  const texts = args.map((a) => a.text);
  if (args.some((a) => a.quoted)) return { negated, flag, args: texts, quoted: args.map((a) => a.quoted) };
  return { negated, flag, args: texts };
}

/** The text of one option as iptables-save prints it. */
export function formatOption(o: RuleOption): string {
  let s = o.negated ? `! ${o.flag}` : o.flag;
  const q = o.quoted;
  for (let k = 0; k < o.args.length; k++) {
    const a = o.args[k] as string;
    s += q?.[k] ? ` ${quoteArg(a)}` : ` ${a}`;
  }
  return s;
}

/** The words of a rule's options, for re-splitting (e.g. an IptablesCommand's args). */
export function plainWords(args: readonly string[]): Word[] {
  return args.map((text) => ({ text, quoted: false }));
}
