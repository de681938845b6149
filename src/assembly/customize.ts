import { access, constants, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { compareBytes } from '../manifest/path.js';
import { describeError, UserError } from '../util/errors.js';
import { run } from '../util/process.js';

/** The customize script and its `<script>.*` siblings, in C-locale order (docs/assembly.md). */
export async function customizeScripts(script: string): Promise<string[]> {
  const info = await stat(script).catch((err: unknown) => {
    throw new UserError(`customize script ${script}: ${describeError(err)}`);
  });
  if (!info.isFile()) throw new UserError(`customize script ${script} is not a file`);
  const dir = dirname(script);
  const prefix = basename(script) + '.';
  const siblings = (await readdir(dir))
    .filter((name) => name.startsWith(prefix) && name.length > prefix.length)
    .sort(compareBytes)
    .map((name) => join(dir, name));
  // Checked now, before the build writes anything, not when its turn comes.
  for (const file of [script, ...siblings]) {
    await access(file, constants.X_OK).catch(() => {
      throw new UserError(`customize script ${file} is not executable (chmod +x it)`);
    });
  }
  return [script, ...siblings];
}

export interface CustomizeEnv {
  imageRoot: string;
  firstOverlay: string;
  buildstamp: string;
  proto: string;
}

/**
 * Runs each script as `<script> <image-root> <first-overlay>`, its output
 * going to our stderr. Any failure stops the build with the script's name
 * and exit status.
 */
export async function runCustomize(scripts: readonly string[], env: CustomizeEnv): Promise<void> {
  for (const script of scripts) {
    const file = resolve(script);
    // Its output goes straight to our stderr (descriptor 2), not through us.
    const status = await run(file, [env.imageRoot, env.firstOverlay], {
      output: 2,
      env: {
        ...process.env,
        BUILDSTAMP: env.buildstamp,
        PROTO: env.proto,
        IMAGE_ROOT: env.imageRoot,
      },
    });
    if (status.error) {
      throw new UserError(`customize script ${script} could not be run: ${status.error}`);
    }
    if (status.status !== 0) {
      const how = status.signal
        ? `was killed by ${status.signal}`
        : `exited with status ${status.status}`;
      throw new UserError(`customize script ${script} ${how}`);
    }
  }
}
