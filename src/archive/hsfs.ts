import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { compareBytes } from '../manifest/path.js';
import { isSymlinkNode, type ImageNode } from '../image/model.js';
import { UserError } from '../util/errors.js';
import { which } from '../util/which.js';
import { ROOT_DIR } from './boot-manifest.js';

/** xorriso sets mode and owner per node, so the staging files need not carry them. */
export async function findIsoTool(): Promise<string | undefined> {
  return which('xorriso');
}

const MAX_LINE = 3000;

/** Quotes a path for xorriso's -options_from_file word splitting. */
function quote(isoPath: string): string {
  if (!isoPath.includes("'")) return `'${isoPath}'`;
  if (!isoPath.includes('"')) return `"${isoPath}"`;
  throw new UserError(`${isoPath}: a path with both ' and " cannot be written to an hsfs image`);
}

/** `-cmd value path... --` lines, grouping paths that share a value. */
function groupedCommands(
  command: string,
  nodes: readonly ImageNode[],
  valueOf: (node: ImageNode) => string | undefined,
): string[] {
  const groups = new Map<string, string[]>();
  for (const node of nodes) {
    const value = valueOf(node);
    if (value === undefined) continue;
    const paths = groups.get(value) ?? [];
    paths.push(quote(`/${node.path}`));
    groups.set(value, paths);
  }
  // xorriso cuts -options_from_file lines at 4095 characters: keep well below.
  const lines: string[] = [];
  for (const value of [...groups.keys()].sort(compareBytes)) {
    let line = '';
    for (const path of groups.get(value)!) {
      if (line && line.length + path.length > MAX_LINE) {
        lines.push(`${line} --`);
        line = '';
      }
      line = line ? `${line} ${path}` : `${command} ${value} ${path}`;
    }
    if (line) lines.push(`${line} --`);
  }
  return lines;
}

/**
 * Writes an ISO 9660 + Rock Ridge boot_archive of the staging tree with
 * xorriso, taking every mode, owner and time from the model. Hard links
 * are stored as separate files with the same content: xorriso's hard link
 * records carry the build host's inode numbers, which would make the image
 * differ from build to build.
 */
export async function writeHsfs(options: {
  xorriso: string;
  stagingRoot: string;
  nodes: readonly ImageNode[];
  output: string;
  commandFile: string;
  epoch: number;
}): Promise<void> {
  const sorted = [...options.nodes].sort((a, b) => compareBytes(a.path, b.path));
  const octal = (mode: number) => '0' + mode.toString(8);
  const withMode = sorted.filter((n) => !isSymlinkNode(n));
  const commands = [
    '-iso_rr_pattern off',
    '-disk_pattern off',
    '-hardlinks off',
    '-rockridge on',
    '-joliet off',
    '-volid JOYENT_LIVE',
    '-chown_r 0 / --',
    '-chgrp_r 0 / --',
    `-chmod ${octal(ROOT_DIR.mode)} / --`,
    ...groupedCommands('-chmod', withMode, (n) => octal(n.mode)),
    ...groupedCommands('-chown', withMode, (n) => (n.uid === 0 ? undefined : String(n.uid))),
    ...groupedCommands('-chgrp', withMode, (n) => (n.gid === 0 ? undefined : String(n.gid))),
    `-alter_date_r b =${options.epoch} / --`,
  ];
  await writeFile(options.commandFile, commands.join('\n') + '\n');
  const args = [
    '-no_rc',
    '-abort_on',
    'FAILURE',
    '-report_about',
    'FAILURE',
    '-outdev',
    `stdio:${options.output}`,
    '-map',
    options.stagingRoot,
    '/',
    '-options_from_file',
    options.commandFile,
    '-commit',
    '-end',
  ];
  const stderr: string[] = [];
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(options.xorriso, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SOURCE_DATE_EPOCH: String(options.epoch) },
    });
    // Keep only the tail of what xorriso says: enough to explain a failure.
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr.push(text);
      if (stderr.length > 50) stderr.shift();
    });
    child.on('error', fail);
    child.on('close', done);
  });
  if (code !== 0) {
    throw new UserError(`xorriso failed (exit ${code}) writing the hsfs boot_archive`, {
      details: stderr.join('').trim().split('\n').slice(-10),
    });
  }
}
