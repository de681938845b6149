import { writeFile } from 'node:fs/promises';
import { compareBytes } from '../manifest/path.js';
import { applyModelToTree } from '../image/apply-tree.js';
import { isSymlinkNode, type ImageNode } from '../image/model.js';
import { UserError } from '../util/errors.js';
import { run } from '../util/process.js';
import { which } from '../util/which.js';
import { ROOT_DIR } from '../image/model.js';

/** A program that writes ISO 9660 + Rock Ridge images. */
export interface IsoTool {
  name: 'xorriso' | 'genisoimage' | 'mkisofs';
  path: string;
}

/**
 * xorriso first: it sets mode, owner and time per node and writes the same
 * bytes for the same input. genisoimage and mkisofs take all of that from
 * the staged files (so they need root for owners) and stamp the current
 * time into the volume descriptor.
 */
export async function findIsoTool(): Promise<IsoTool | undefined> {
  for (const name of ['xorriso', 'genisoimage', 'mkisofs'] as const) {
    const path = await which(name);
    if (path) return { name, path };
  }
  return undefined;
}

/** Why `tool` cannot make the image here, or undefined when it can. */
export function isoToolProblem(
  tool: IsoTool,
  isRoot = process.getuid?.() === 0,
): string | undefined {
  if (tool.name === 'xorriso' || isRoot) return undefined;
  return `${tool.name} takes owners from the staged files, which needs root (install xorriso instead)`;
}

/** Caveat to print when `tool` is used. */
export function isoToolNote(tool: IsoTool): string | undefined {
  if (tool.name === 'xorriso') return undefined;
  return `${tool.name} stamps the current time into the image, so it is not byte-reproducible; xorriso's is`;
}

const MAX_LINE = 3000;

/** Quotes a path for xorriso's -options_from_file word splitting. */
function quote(isoPath: string): string {
  if (!isoPath.includes("'")) return `'${isoPath}'`;
  if (!isoPath.includes('"')) return `"${isoPath}"`;
  throw new UserError(`${isoPath}: a path with both ' and " cannot be written to an hsfs image`);
}

/** The most frequent value (ties: the first in byte order), or undefined for none. */
function mostCommon(values: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  for (const [v, n] of counts) {
    const b = best === undefined ? 0 : counts.get(best)!;
    if (n > b || (n === b && compareBytes(v, best!) < 0)) best = v;
  }
  return best;
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
  tool: IsoTool;
  stagingRoot: string;
  nodes: readonly ImageNode[];
  output: string;
  commandFile: string;
  epoch: number;
}): Promise<void> {
  const root: ImageNode = {
    path: '',
    type: 'd',
    origin: 'implicit',
    owner: 'root',
    group: 'root',
    status: 'ok',
    ...ROOT_DIR,
  };
  const sorted = [root, ...options.nodes].sort((a, b) => compareBytes(a.path, b.path));
  const octal = (mode: number) => '0' + mode.toString(8);
  const attributes = [
    ['chmod', (n: ImageNode) => octal(n.mode)],
    ['chown', (n: ImageNode) => String(n.uid)],
    ['chgrp', (n: ImageNode) => String(n.gid)],
  ] as const;
  // Per type, the most common value goes to every node in one -find; only
  // the others are named, which keeps the command file (and xorriso) small.
  const ownership: string[] = [
    '-find / -type l -exec chown 0 --',
    '-find / -type l -exec chgrp 0 --',
  ];
  for (const type of ['d', 'f'] as const) {
    const nodes = sorted.filter((n) => !isSymlinkNode(n) && (n.type === 'd') === (type === 'd'));
    for (const [command, valueOf] of attributes) {
      const common = mostCommon(nodes.map(valueOf));
      if (common === undefined) continue;
      ownership.push(`-find / -type ${type} -exec ${command} ${common} --`);
      ownership.push(
        ...groupedCommands(`-${command}`, nodes, (n) => {
          const value = valueOf(n);
          return value === common ? undefined : value;
        }),
      );
    }
  }
  const commands = [
    '-iso_rr_pattern off',
    '-disk_pattern off',
    '-hardlinks off',
    '-rockridge on',
    '-joliet off',
    '-volid JOYENT_LIVE',
    ...ownership,
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
  await runIsoTool(options.tool, args, options.epoch);
}

/**
 * The same image with genisoimage or mkisofs, which read mode, owner and
 * times from the files: the model is put on the staged tree first (as root).
 */
export async function writeHsfsFromTree(options: {
  tool: IsoTool;
  stagingRoot: string;
  nodes: readonly ImageNode[];
  output: string;
  epoch: number;
}): Promise<void> {
  await applyModelToTree(options.stagingRoot, options.nodes, ROOT_DIR, {
    owners: true,
    time: options.epoch,
  });
  const args = ['-quiet', '-R', '-V', 'JOYENT_LIVE', '-o', options.output, options.stagingRoot];
  await runIsoTool(options.tool, args, options.epoch);
}

async function runIsoTool(tool: IsoTool, args: readonly string[], epoch: number): Promise<void> {
  // The runner keeps only the tail of what the tool says: enough to explain a failure.
  const result = await run(tool.path, args, {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
  });
  if (result.error) {
    throw new UserError(`${tool.name} (${tool.path}) could not be run: ${result.error}`);
  }
  if (result.status !== 0) {
    throw new UserError(
      `${tool.name} failed (exit ${result.status}) writing the hsfs boot_archive`,
      { details: result.stderr.trim().split('\n').slice(-10) },
    );
  }
}
