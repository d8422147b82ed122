import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** True when `error` is a Node system error with one of `codes` (`ENOENT`, ...). */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    codes.includes(String((error as { code?: unknown }).code))
  );
}

/**
 * Flushes a folder's entries to disk, so that a file created or renamed into it survives a
 * power loss, not only a crash of this process (the file's own `fsync` does not cover its name).
 */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
