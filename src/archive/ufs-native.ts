/**
 * `--archive ufs-native`: the UFS boot_archive made the upstream way
 * (smartos-live tools/build_live) on an illumos host: mkfile an empty image,
 * attach it with lofiadm, newfs it with the geometry of our size plan, mount
 * it, copy the staged tree in, give every entry the model's mode, owner and
 * time, unmount, detach. The privileged steps run as root, or through
 * pfexec when we are not root. Every failure undoes what was done (unmount,
 * detach, remove the image and mount point) and names the command that
 * failed, its exit status and the end of what it printed.
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, rmdir, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { applyModelToTree } from '../image/apply-tree.js';
import { isSymlinkNode, type ImageNode } from '../image/model.js';
import { compareBytes } from '../manifest/path.js';
import { describeError, UserError } from '../util/errors.js';
import { run } from '../util/process.js';
import { which } from '../util/which.js';
import { ROOT_DIR } from '../image/model.js';
import type { UfsPlan } from './ufs/plan.js';

const isRoot = () => process.getuid?.() === 0;

/** The commands the native way runs (pfexec only when not root). */
export function nativeTools(): string[] {
  return ['mkfile', 'lofiadm', 'newfs', 'mount', 'umount', ...(isRoot() ? [] : ['pfexec'])];
}

/** Fails, naming what is missing, unless every command is on PATH. */
export async function checkNativeTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of nativeTools()) if (!(await which(tool))) missing.push(tool);
  if (missing.length > 0) {
    throw new UserError(
      `--archive ufs-native needs ${missing.join(', ')} on PATH (illumos: /usr/sbin); ` +
        '--archive ufs needs none of them',
    );
  }
}

const TAIL_LINES = 5;

function tail(text: string): string {
  const lines = text.trimEnd().split('\n').filter(Boolean);
  return lines.slice(-TAIL_LINES).join('\n');
}

interface RunOptions {
  cwd?: string;
  /** Written to the command's stdin (otherwise /dev/null). */
  input?: Buffer;
}

/** Runs a command to its end, resolving with its stdout; a UserError names it, its status and its stderr tail. */
async function runTool(command: string, args: readonly string[], options: RunOptions = {}) {
  const result = await run(command, args, { cwd: options.cwd, input: options.input });
  if (result.error) {
    throw new UserError(`ufs-native: cannot run ${result.command}: ${result.error}`);
  }
  if (result.status !== 0) {
    const status = result.status === null ? `signal ${result.signal}` : `exit ${result.status}`;
    const said = tail(result.stderr);
    throw new UserError(
      `ufs-native: ${result.command} failed (${status})${said ? `:\n${said}` : ''}`,
    );
  }
  return result.stdout;
}

/** A privileged step: directly as root, else through pfexec. */
function privileged(command: string, args: readonly string[], options?: RunOptions) {
  return isRoot()
    ? runTool(command, args, options)
    : runTool('pfexec', [command, ...args], options);
}

/** Copies the staged tree into `to` (the mounted image) in the model's order. */
async function copyTree(from: string, to: string, nodes: readonly ImageNode[]): Promise<void> {
  const byType = (...types: ImageNode['type'][]) =>
    nodes.filter((n) => types.includes(n.type)).sort((a, b) => compareBytes(a.path, b.path));
  // Hard links last: the file they share is there by then.
  for (const node of [...byType('d'), ...byType('f', 's'), ...byType('h')]) {
    const target = join(to, node.path);
    try {
      if (node.type === 'd') await mkdir(target, 0o700);
      else if (isSymlinkNode(node)) await symlink(node.linkText ?? node.target!, target);
      else if (node.type === 'h') await link(join(to, node.linkedFile!), target);
      else await copyFile(join(from, node.path), target, constants.COPYFILE_EXCL);
    } catch (err) {
      throw new UserError(
        `ufs-native: cannot copy ${node.path} into the mounted image: ${describeError(err)}`,
      );
    }
  }
}

/** NUL-separated paths for `xargs -0`, relative to the mount point. */
const pathList = (paths: readonly string[]) =>
  Buffer.from(paths.map((p) => `${p || '.'}\0`).join(''));

/**
 * Owners (and the set-id bits a chown clears) through pfexec, one xargs run
 * per owner and per set-id mode, when we are not root.
 */
async function ownersThroughPfexec(mnt: string, nodes: readonly ImageNode[]): Promise<void> {
  const byOwner = new Map<string, string[]>([[`${ROOT_DIR.uid}:${ROOT_DIR.gid}`, ['']]]);
  const setId = new Map<string, string[]>();
  for (const node of [...nodes].sort((a, b) => compareBytes(a.path, b.path))) {
    const owner = `${node.uid}:${node.gid}`;
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), node.path]);
    if (!isSymlinkNode(node) && node.mode & 0o6000) {
      const mode = node.mode.toString(8);
      setId.set(mode, [...(setId.get(mode) ?? []), node.path]);
    }
  }
  for (const [owner, paths] of [...byOwner].sort(([a], [b]) => compareBytes(a, b))) {
    await privileged('xargs', ['-0', 'chown', '-h', owner], { cwd: mnt, input: pathList(paths) });
  }
  for (const [mode, paths] of [...setId].sort(([a], [b]) => compareBytes(a, b))) {
    await privileged('xargs', ['-0', 'chmod', mode], { cwd: mnt, input: pathList(paths) });
  }
}

export interface NativeOptions {
  stagingRoot: string;
  /** The final image without its root. */
  nodes: readonly ImageNode[];
  /** The boot_archive to write (renamed there when complete). */
  output: string;
  epoch: number;
  plan: UfsPlan;
  /** Scratch space for the image and its mount point. */
  workDir: string;
}

/** The UFS boot_archive the upstream way; see the top of this file. */
export async function writeUfsNative(options: NativeOptions): Promise<void> {
  const { plan, nodes } = options;
  const image = resolve(options.workDir, 'ufs-native.img');
  const mnt = resolve(options.workDir, 'ufs-native.mnt');
  let device: string | undefined;
  let mounted = false;
  let madeMountPoint = false;
  try {
    await runTool('mkfile', [String(plan.imageBytes), image]);
    device = (await privileged('lofiadm', ['-a', image])).trim();
    if (!/^\/dev\/lofi\/\d+$/.test(device)) {
      const said = device;
      device = undefined;
      throw new UserError(
        `ufs-native: lofiadm -a ${image} printed ${JSON.stringify(said)}, not a /dev/lofi/N device`,
      );
    }
    const raw = device.replace('/dev/lofi/', '/dev/rlofi/');
    await privileged('newfs', [
      '-o',
      'space',
      '-m',
      String(plan.minFreePercent),
      '-b',
      String(plan.blockSize),
      '-f',
      String(plan.fragmentSize),
      '-i',
      String(plan.bytesPerInode),
      raw,
    ]);
    await mkdir(mnt);
    madeMountPoint = true;
    await privileged('mount', ['-F', 'ufs', '-o', 'nologging', device, mnt]);
    mounted = true;
    if (isRoot()) {
      await copyTree(options.stagingRoot, mnt, nodes);
      await applyModelToTree(mnt, nodes, ROOT_DIR, { owners: true, time: options.epoch });
    } else {
      const me = `${process.getuid?.()}:${process.getgid?.()}`;
      await privileged('chown', [me, mnt]);
      await copyTree(options.stagingRoot, mnt, nodes);
      await applyModelToTree(mnt, nodes, ROOT_DIR, { owners: false, time: options.epoch });
      await ownersThroughPfexec(mnt, nodes);
    }
    await privileged('umount', [mnt]);
    mounted = false;
    await privileged('lofiadm', ['-d', device]);
    device = undefined;
    await rmdir(mnt);
    madeMountPoint = false;
    await rename(image, options.output);
  } catch (err) {
    const problems: string[] = [];
    const undo = async (what: () => Promise<unknown>) => {
      try {
        await what();
      } catch (e) {
        problems.push(e instanceof UserError ? e.message : describeError(e));
      }
    };
    if (mounted) await undo(() => privileged('umount', ['-f', mnt]));
    if (device) await undo(() => privileged('lofiadm', ['-d', device!]));
    if (madeMountPoint && !problems.length) await undo(() => rmdir(mnt));
    await undo(() => rm(image, { force: true }));
    const message = err instanceof UserError ? err.message : `ufs-native: ${describeError(err)}`;
    throw new UserError(
      problems.length ? `${message}\nand cleaning up failed too:\n${problems.join('\n')}` : message,
    );
  }
}
