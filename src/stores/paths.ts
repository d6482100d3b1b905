/**
 * Where the file token cache lives by default: the user's cache directory.
 * - Linux and others: `$XDG_CACHE_HOME/arcgis-etl/tokens.json`, else `~/.cache/arcgis-etl/tokens.json`;
 * - macOS: `~/Library/Caches/arcgis-etl/tokens.json`;
 * - Windows: `%LOCALAPPDATA%\arcgis-etl\Cache\tokens.json`.
 */
import { homedir } from 'node:os';
import * as path from 'node:path';

export interface CachePathContext {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

export function defaultTokenCachePath(context: CachePathContext = {}): string {
  const env = context.env ?? process.env;
  const platform = context.platform ?? process.platform;
  const home = context.home ?? homedir();
  if (platform === 'darwin') {
    return path.posix.join(home, 'Library', 'Caches', 'arcgis-etl', 'tokens.json');
  }
  if (platform === 'win32') {
    const base = env.LOCALAPPDATA || path.win32.join(home, 'AppData', 'Local');
    return path.win32.join(base, 'arcgis-etl', 'Cache', 'tokens.json');
  }
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.posix.join(home, '.cache');
  return path.posix.join(base, 'arcgis-etl', 'tokens.json');
}
