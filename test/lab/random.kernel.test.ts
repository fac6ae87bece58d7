// Randomised differential test: random small clusters (see random-cluster.ts) are built in the lab and
// every sampled probe's real outcome is compared with the twin's prediction, with the rule counters of a
// few probes checked hop by hop. fast-check prints the seed of a failing run to reproduce it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { detectFeatures } from '../../src/lab/features.js';
import { labDown, labUp } from '../../src/lab/lifecycle.js';
import { formatVerifyReport, labVerify } from '../../src/lab/verify.js';
import { buildTwin } from '../../src/twin.js';
import { kernelPrerequisite, netnsWithPrefix } from './fixture.js';
import { manifests, randomCluster } from './random-cluster.js';

const missing = kernelPrerequisite();
process.env.KPATH_LAB_DIR ??= mkdtempSync(join(tmpdir(), 'kpath-t-labdir-'));
const LAB = `t-r${process.pid % 100000}`;

describe.skipIf(missing !== undefined)(
  `randomised lab differential (${missing ?? 'kernel available'})`,
  () => {
    afterAll(() => {
      try {
        labDown(LAB);
      } catch {}
    });

    test('random clusters: the kernel agrees with the twin on every sampled probe', async () => {
      const features = detectFeatures(LAB);
      await fc.assert(
        fc.asyncProperty(randomCluster, async (c) => {
          const twin = buildTwin([{ file: 'random.yaml', text: manifests(c) }]);
          await labUp(twin, { lab: LAB, features });
          try {
            const report = await labVerify(twin, { lab: LAB, sample: 40, seed: 11, hops: 3 });
            expect(
              report.unexplained,
              `${JSON.stringify(c)}\n${formatVerifyReport(report, { onlyDifferences: true })}`,
            ).toBe(0);
          } finally {
            labDown(LAB);
          }
          expect(netnsWithPrefix(`kpath-${LAB}-`)).toEqual([]);
        }),
        { numRuns: 3 },
      );
    }, 150_000);
  },
);
