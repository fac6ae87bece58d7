import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Lab and kernel tests share one machine's netns/iptables state: keep files sequential there.
    fileParallelism: true,
  },
});
