import { access, constants, lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { compareBytes } from '../manifest/path.js';
import { describeError, errnoCode, UserError } from '../util/errors.js';
import { formatDuration } from '../util/format.js';
import { start } from '../util/process.js';

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
  /** Milliseconds each script may run; 0 or undefined: no limit. */
  timeoutMs?: number;
  /** Where warnings go (a script that left processes behind). */
  warnings?: string[];
}

/** How long a script stopped for its timeout gets between SIGTERM and SIGKILL. */
const TIMEOUT_GRACE_MS = 5000;

/**
 * Runs each script as `<script> <image-root> <first-overlay>`, its output
 * going to our stderr. Each runs as its own process group (docs/assembly.md,
 * "Customize step"): when the script exits, whatever it left running in its
 * group is stopped (a background writer must not keep writing into the
 * staged tree), and an interrupt or the timeout stops the whole group. Any
 * failure stops the build with the script's name and exit status.
 */
export async function runCustomize(scripts: readonly string[], env: CustomizeEnv): Promise<void> {
  for (const script of scripts) {
    const file = resolve(script);
    // Its output goes straight to our stderr (descriptor 2), not through us.
    const running = start(file, [env.imageRoot, env.firstOverlay], {
      output: 2,
      processGroup: true,
      env: {
        ...process.env,
        BUILDSTAMP: env.buildstamp,
        PROTO: env.proto,
        IMAGE_ROOT: env.imageRoot,
      },
    });
    let timedOut = false;
    const limit = env.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          void running.stop(TIMEOUT_GRACE_MS);
        }, env.timeoutMs)
      : undefined;
    const status = await running.result.finally(() => clearTimeout(limit));
    if (running.alive()) {
      // Left behind in the script's group: stopped before anything reads the tree.
      await running.stop(TIMEOUT_GRACE_MS);
      if (!timedOut) {
        env.warnings?.push(
          `customize script ${script} left processes running in its process group; they were stopped`,
        );
      }
    }
    if (timedOut) {
      throw new UserError(
        `customize script ${script} did not finish within ${formatDuration(env.timeoutMs!)}; stopped it` +
          ' (--customize-timeout)',
      );
    }
    if (status.error) {
      throw new UserError(`customize script ${script} could not be run: ${status.error}`);
    }
    if (status.status !== 0) {
      const how = status.signal
        ? `was killed by ${status.signal}`
        : `exited with status ${status.status}`;
      throw new UserError(`customize script ${script} ${how}`);
    }
    await checkImageRoot(env.imageRoot, script);
  }
}

/** The image root must still be a directory after a script (nothing else can be packed). */
async function checkImageRoot(imageRoot: string, script: string): Promise<void> {
  const st = await lstat(imageRoot).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') {
      throw new UserError(
        `the customize step removed the image root ${imageRoot} (customize script ${script})`,
      );
    }
    throw err;
  });
  if (!st.isDirectory()) {
    throw new UserError(
      `the customize step replaced the image root ${imageRoot} with something that is not a directory (customize script ${script})`,
    );
  }
}
