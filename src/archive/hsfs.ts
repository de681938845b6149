import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { compareBytes } from '../manifest/path.js';
import { applyModelToTree } from '../image/apply-tree.js';
import { isSymlinkNode, type ImageNode } from '../image/model.js';
import { UserError } from '../util/errors.js';
import { start } from '../util/process.js';
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

/**
 * Quotes a word for xorriso's -options_from_file word splitting, which
 * joins adjacent quoted parts as a shell does: a ' inside is written "'".
 */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** A path in an `iso_path=disk_path` word of `-pathspecs as_mkisofs`: \ and = escaped. */
function pathspec(path: string): string {
  return path.replace(/[\\=]/g, '\\$&');
}

/** `prefix word... --` lines, as many words a line as stay below MAX_LINE. */
function packedLines(prefix: string, words: readonly string[]): string[] {
  // xorriso cuts -options_from_file lines at 4095 characters: keep well below.
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + word.length > MAX_LINE) {
      lines.push(`${line} --`);
      line = '';
    }
    line = line ? `${line} ${word}` : `${prefix} ${word}`;
  }
  if (line) lines.push(`${line} --`);
  return lines;
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
  return [...groups.keys()]
    .sort(compareBytes)
    .flatMap((value) => packedLines(`${command} ${value}`, groups.get(value)!));
}

/**
 * Where xorriso takes the image's nodes from (docs/assembly.md):
 *
 * - `tree`: the staged tree, mapped whole at the image's root.
 * - `located`: nothing staged. Each file is added from where it is
 *   (`fileOf`: its source, the linked file's for a hard link, or the small
 *   work directory for the files the build writes); directories and
 *   symlinks are made in the image. `late` files (the copy of
 *   boot_archive.manifest, which waits for every md5) are added, with
 *   their mode and owner, once it resolves: xorriso builds the rest
 *   of its tree meanwhile, and writes nothing before.
 */
export type HsfsSource =
  | { kind: 'tree'; stagingRoot: string }
  | {
      kind: 'located';
      fileOf: (node: ImageNode) => string;
      late?: Promise<readonly ImageNode[]>;
    };

/** What an hsfs writer makes the image of, and where it goes. */
export interface HsfsOptions {
  tool: IsoTool;
  source: HsfsSource;
  /** The final image without its root. */
  nodes: readonly ImageNode[];
  /** The boot_archive to write. */
  output: string;
  /** xorriso's command file (a path in the work directory). */
  commandFile: string;
  epoch: number;
}

/** Every node of the image, its root first, in byte order of path. */
function sortedWithRoot(nodes: readonly ImageNode[]): ImageNode[] {
  const root: ImageNode = {
    path: '',
    type: 'd',
    origin: 'implicit',
    owner: 'root',
    group: 'root',
    status: 'ok',
    ...ROOT_DIR,
  };
  return [root, ...nodes].sort((a, b) => compareBytes(a.path, b.path));
}

/**
 * The commands that make a located image's nodes: directories, each file
 * from its `fileOf` path, symlinks. (A staged image is mapped whole.)
 */
function locatedCommands(sorted: readonly ImageNode[], fileOf: (node: ImageNode) => string) {
  const dirs: string[] = [];
  const files: string[] = [];
  const symlinks: string[] = [];
  for (const node of sorted) {
    if (!node.path) continue;
    const isoPath = `/${node.path}`;
    if (isSymlinkNode(node)) {
      symlinks.push(`-lns ${quote(node.linkText ?? node.target!)} ${quote(isoPath)}`);
    } else if (node.type === 'd') {
      dirs.push(quote(isoPath));
    } else {
      files.push(addWord(node, fileOf));
    }
  }
  return [
    '-pathspecs as_mkisofs',
    ...packedLines('-mkdir', dirs),
    ...packedLines('-add', files),
    ...symlinks,
  ];
}

/** The word that adds `node` from its `fileOf` path (`-pathspecs as_mkisofs`). */
function addWord(node: ImageNode, fileOf: (node: ImageNode) => string): string {
  return quote(`${pathspec(`/${node.path}`)}=${pathspec(resolve(fileOf(node)))}`);
}

/** Late files (HsfsSource): each added, then given its mode, owner and group. */
function lateCommands(nodes: readonly ImageNode[], fileOf: (node: ImageNode) => string): string {
  const lines = nodes.flatMap((node) => {
    const path = quote(`/${node.path}`);
    return [
      `-add ${addWord(node, fileOf)} --`,
      `-chmod 0${node.mode.toString(8)} ${path} --`,
      `-chown ${node.uid} ${path} --`,
      `-chgrp ${node.gid} ${path} --`,
    ];
  });
  return lines.join('\n') + '\n';
}

/** Mode, owner and group of every node, the most common per type set by one -find. */
function ownershipCommands(sorted: readonly ImageNode[]): string[] {
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
  return ownership;
}

/**
 * Writes an ISO 9660 + Rock Ridge boot_archive with xorriso, from the
 * staged tree or from where each file is (HsfsSource), taking every mode,
 * owner and time from the model. Hard links are stored as separate files
 * with the same content: xorriso's hard link records carry the build
 * host's inode numbers, which would make the image differ from build to
 * build. Both sources give the same bytes for the same model.
 */
export async function writeHsfs(options: HsfsOptions): Promise<void> {
  const { source } = options;
  const sorted = sortedWithRoot(options.nodes);
  const commands = [
    '-iso_rr_pattern off',
    '-disk_pattern off',
    '-hardlinks off',
    '-rockridge on',
    '-joliet off',
    '-volid JOYENT_LIVE',
    ...(source.kind === 'located' ? locatedCommands(sorted, source.fileOf) : []),
    ...ownershipCommands(sorted),
    // Every file's times, set as the image is written (no pass over the nodes).
    `-volume_date all_file_dates =${options.epoch}`,
  ];
  await writeFile(options.commandFile, commands.join('\n') + '\n');
  if (source.kind === 'tree') {
    await runXorriso(options, options.output, { tree: source.stagingRoot });
  } else {
    const { late, fileOf } = source;
    const tail = late?.then((nodes) => lateCommands(nodes, fileOf));
    await runXorriso(options, options.output, { tail });
  }
}

/**
 * The one xorriso run: the staged tree mapped at the root when there is
 * one, the command file, then the `tail` commands read from stdin when
 * they come (HsfsSource `late`), and the image written to `output` (a file
 * path, given apart so that it could be a pipe: /dev/fd/N).
 */
async function runXorriso(
  options: Pick<HsfsOptions, 'tool' | 'commandFile' | 'epoch'>,
  output: string,
  how: { tree?: string; tail?: Promise<string> },
): Promise<void> {
  const args = [
    '-no_rc',
    '-abort_on',
    'FAILURE',
    '-report_about',
    'FAILURE',
    '-outdev',
    `stdio:${output}`,
    ...(how.tree === undefined ? [] : ['-map', how.tree, '/']),
    '-options_from_file',
    options.commandFile,
    // Dialog mode reads stdin (a socket or a pipe, which -options_from_file
    // /dev/stdin cannot open on Linux); the tail ends with -commit -end.
    ...(how.tail === undefined ? ['-commit', '-end'] : ['-dialog', 'on']),
  ];
  const tail = how.tail?.then((text) => `${text}-commit\n-end\n`);
  await runIsoTool(options.tool, args, options.epoch, tail);
}

/**
 * The same image with genisoimage or mkisofs, which read mode, owner and
 * times from the files: the model is put on the staged tree first (as root).
 */
export async function writeHsfsFromTree(options: Omit<HsfsOptions, 'commandFile'>): Promise<void> {
  const { source } = options;
  if (source.kind !== 'tree') {
    throw new Error(`internal error: ${options.tool.name} needs a staged tree`);
  }
  await applyModelToTree(source.stagingRoot, options.nodes, ROOT_DIR, {
    owners: true,
    time: options.epoch,
  });
  const args = ['-quiet', '-R', '-V', 'JOYENT_LIVE', '-o', options.output, source.stagingRoot];
  await runIsoTool(options.tool, args, options.epoch);
}

async function runIsoTool(
  tool: IsoTool,
  args: readonly string[],
  epoch: number,
  input?: Promise<string>,
): Promise<void> {
  // The runner keeps only the tail of what the tool says: enough to explain a failure.
  const command = start(tool.path, args, {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    input,
  });
  // Input that cannot be made (a file unreadable while hashed): the tool
  // is stopped before it writes anything, and that error is the one told.
  await input?.catch(async (err: unknown) => {
    await command.stop();
    throw err;
  });
  const result = await command.result;
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
