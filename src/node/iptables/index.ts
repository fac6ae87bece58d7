// The iptables-save / iptables-restore format engine: read dumps, apply agent payloads and commands
// as the kernel stores them, print exactly what iptables-save prints.
export { canonicalRule, unsupportedOptions } from './canonical.js';
export { formatOption, wordsToOptions } from './options.js';
export { formatRule, IPTABLES_VERSION, type PrintOptions, printIptablesSave } from './print.js';
export {
  applyIptablesCommand,
  applyRestore,
  emptyRuleset,
  IptablesParseError,
  parseIptablesSave,
  type RestoreOptions,
  TABLE_ORDER,
} from './restore.js';
export { RESTORE_LINE, type RestoreLineKind, RestoreLines } from './restore-lines.js';
export * from './types.js';
export { IptablesRuleError } from './values.js';
export { splitWords, type Word } from './words.js';
