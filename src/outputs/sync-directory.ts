/** Makes a rename in `dir` durable. Best effort: some platforms cannot open a folder. */
import { open } from 'node:fs/promises';

export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not supported here (e.g. Windows): the rename itself is still atomic
  }
}
