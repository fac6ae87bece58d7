// How iptables-restore splits a line into words, checked against what the real iptables-restore
// v1.8.9 stored for the same lines (see fixtures/extensions-*.save and the refused cases in kernel.test.ts).
import { describe, expect, test } from 'vitest';
import { splitWords } from '../../../src/node/iptables/words.js';

const texts = (line: string) => splitWords(line).map((w) => w.text);

describe('splitWords', () => {
  test('spaces and tabs separate words; runs of them are one separator', () => {
    expect(texts('-A  T\t-j   ACCEPT')).toEqual(['-A', 'T', '-j', 'ACCEPT']);
  });

  test('a double-quoted word keeps its spaces and is marked quoted', () => {
    expect(splitWords('--comment "ns1/svc1:p80 cluster IP" -j X')).toEqual([
      { text: '--comment', quoted: false },
      { text: 'ns1/svc1:p80 cluster IP', quoted: true },
      { text: '-j', quoted: false },
      { text: 'X', quoted: false },
    ]);
  });

  test('backslash escapes inside quotes (the CNI bridge comment: name: \\"mynet\\")', () => {
    expect(texts('--comment "name: \\"mynet\\" id: \\"abc\\""')).toEqual([
      '--comment',
      'name: "mynet" id: "abc"',
    ]);
    expect(texts('--comment "back\\\\slash"')).toEqual(['--comment', 'back\\slash']);
  });

  test('a backslash outside quotes is an ordinary character', () => {
    expect(texts('a\\b')).toEqual(['a\\b']);
  });

  test("single quotes are ordinary characters: 'sq x' is two words (iptables-restore: Bad argument `x'')", () => {
    expect(texts("--comment 'sq x'")).toEqual(['--comment', "'sq", "x'"]);
  });

  test('"" is an empty word; a closing quote ends the word', () => {
    expect(splitWords('--comment ""')).toEqual([
      { text: '--comment', quoted: false },
      { text: '', quoted: true },
    ]);
    expect(texts('"a"b')).toEqual(['a', 'b']);
    expect(texts('ab"c d"')).toEqual(['abc d']);
  });

  test('an unclosed quote runs to the end of the line and takes the newline (the kernel stored "abc -j ACCEPT\\n")', () => {
    expect(splitWords('--comment "abc -j ACCEPT')).toEqual([
      { text: '--comment', quoted: false },
      { text: 'abc -j ACCEPT\n', quoted: true },
    ]);
  });
});
