import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        // Both real backends in process (local disk, S3 on a real S3-compatible server), held to
        // one answer. Each file starts a Swift of its own.
        test: {
          name: 'backends',
          include: ['test/backends/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The CloudFormation template and package `serverless package` makes, offline.
        test: {
          name: 'stack',
          include: ['test/stack/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        // AWS's runtime client (local/ric): the emulation checked against it, and the pool that runs it.
        test: {
          name: 'ric',
          include: ['test/ric/**/*.test.ts'],
          globalSetup: ['test/ric/setup.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Real HTTP and real clients against `serverless offline`, started once for the run.
        test: {
          name: 'http',
          include: ['test/integration/**/*.test.ts', 'test/clients/**/*.test.ts'],
          globalSetup: ['test/support/global-offline.ts'],
          pool: 'forks',
          // One server is shared; files take turns so that descriptor and memory counts are theirs.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
