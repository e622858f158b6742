// Which file holds the ringkv commands: their bundle (scripts/bundle-server.mjs, made by
// `npm run build` after `tsc -b`) while it is current, else the compiled files. A bundle is
// stale once any of the packages it holds was compiled after it (a `tsc -b` on its own
// rewrites that package's tsconfig.tsbuildinfo), and a stale bundle would run old code.
// Where no build info is kept (an installed image copies only dist/), the bundle is the
// build's own.
import { statSync } from 'node:fs';

/** The bundle's URL when it is current, else undefined. `entryUrl` is the entry's own URL (in packages/server/dist). */
export function bundledCommands(entryUrl: string): string | undefined {
  const bundle = new URL('cli-program.bundle.js', entryUrl);
  const built = modifiedMs(bundle);
  if (built === undefined) return undefined;
  const compiled = ['../tsconfig.tsbuildinfo', '../../core/tsconfig.tsbuildinfo', '../../client/tsconfig.tsbuildinfo'].map((path) => modifiedMs(new URL(path, entryUrl)));
  return compiled.every((ms) => ms === undefined || ms <= built) ? bundle.href : undefined;
}

function modifiedMs(url: URL): number | undefined {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return undefined;
  }
}
