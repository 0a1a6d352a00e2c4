import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SAMPLE_NAME = 'Sample_Test_Pattern__6f1c2a9e-3b7d-4e58-9a0c-2d4b8e7f1a35.mp4';
export const SAMPLE_PATH = join(PROJECT_ROOT, 'downloads', SAMPLE_NAME);
export const EVENTS_DIR = join(PROJECT_ROOT, 'events');
