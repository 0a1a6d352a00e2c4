import { rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { makeDownloads } from './fixtures';
import { startOffline } from './offline-server';

export interface OfflineContext {
  readonly url: string;
  readonly pid: number;
  readonly downloads: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    offline: OfflineContext;
  }
}

export default async function setup(project: TestProject) {
  const downloads = await makeDownloads();
  const server = await startOffline(downloads);
  project.provide('offline', { url: server.url, pid: server.pid, downloads });
  return async () => {
    await server.stop();
    await rm(downloads, { recursive: true, force: true });
  };
}
