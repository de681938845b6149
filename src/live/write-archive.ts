/**
 * The archive phase of `build-live` (docs/output-layout.md):
 * boot_archive.manifest and its copy in the image, the boot_archive in the
 * chosen format, the kernel beside it.
 */
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeHsfs, writeHsfsFromTree, type IsoTool } from '../archive/hsfs.js';
import { planUfsWithTable, type UfsPlan } from '../archive/ufs/plan.js';
import type { UfsInode } from '../archive/ufs/tree.js';
import { writeUfs, type WriteUfsOptions } from '../archive/ufs/write.js';
import { writeUfsNative } from '../archive/ufs-native.js';
import { bootManifestLines } from '../formats/boot-manifest.js';
import {
  BOOT_ARCHIVE,
  BOOT_ARCHIVE_HASH,
  BOOT_ARCHIVE_MANIFEST,
  IMAGE_KERNEL,
  MANIFEST_COPY,
  type OutputLayout,
  type WorkLayout,
} from '../formats/output-layout.js';
import { builtFileNode, contentPath, ROOT_DIR, type ImageNode } from '../image/model.js';
import type { ImageIdentities } from '../image/owners.js';
import { AtomicLineWriter } from '../util/atomic.js';
import { md5OfFile } from '../util/copy.js';
import { humanBytes } from '../util/format.js';
import { isUfs } from './archive-choice.js';
import type { CheckedInputs } from './check.js';
import { writing } from './output.js';
import { bootManifestSize, withManifestLine } from './plan-live.js';
import { ensureParents, type StagedImage } from './stage.js';
import { checkMaxSize } from './ufs-options.js';

export interface WrittenArchive {
  ufsPlan?: UfsPlan;
}

/** Phase: boot_archive.manifest (and its copy), the boot_archive, its hash and the kernel. */
export async function writeArchive(
  checked: CheckedInputs,
  dirs: { layout: OutputLayout; work: WorkLayout },
  staged: StagedImage,
  info: (message: string) => void,
): Promise<WrittenArchive> {
  const { archive, isoTool, ufsOptions, prepared, mode } = checked;
  const { image, ids, warnings } = staged;
  const { layout, work } = dirs;
  const { stagingRoot } = work;
  const epoch = prepared.epoch;
  await ensureParents(MANIFEST_COPY, image, { stagingRoot, ids, warnings, mode });
  image.delete(MANIFEST_COPY);
  const archiveDir = layout.archiveDir(work.platformPartial);
  await mkdir(archiveDir, { recursive: true });
  const bootManifest = async () => {
    await writing(archiveDir, () => writeBootManifest(image, ids, archiveDir, stagingRoot));
    return join(stagingRoot, MANIFEST_COPY);
  };
  // One pass (docs/assembly.md): a located build's md5s come from the
  // writer's reads, and boot_archive.manifest once every file is hashed.
  const onePass = mode.kind === 'located' ? hashWhileWriting(image, ids, bootManifest) : undefined;
  if (!onePass) await bootManifest();
  const fileOf = (path: string) => {
    const node = image.get(path)!;
    return contentPath(node.type === 'h' ? image.get(node.linkedFile!)! : node, stagingRoot);
  };
  const written: WrittenArchive = {};
  if (archive === 'hsfs') {
    info(`hsfs: writing boot_archive with ${isoTool!.name}`);
    await writing(join(archiveDir, BOOT_ARCHIVE), () =>
      packHsfs(isoTool!, image, layout, work, epoch),
    );
  } else if (isUfs(archive)) {
    const planOptions = { ...ufsOptions, stagingRoot, contentPath: fileOf, root: ROOT_DIR };
    info(`${archive}: planning the boot_archive`);
    const { plan: ufsPlan, table } = withManifestLine(prepared, () =>
      planUfsWithTable(image.values(), planOptions),
    );
    checkMaxSize(ufsPlan, ufsOptions, 'after the customize step');
    info(
      `${archive}: writing a ${humanBytes(ufsPlan.imageBytes)} boot_archive ` +
        `(${ufsPlan.inodes} inodes, ${ufsPlan.inodesUsed} used)`,
    );
    await writing(join(archiveDir, BOOT_ARCHIVE), () =>
      packUfs(archive, { plan: ufsPlan, table }, image, { layout, work, epoch, fileOf, onePass }),
    );
    written.ufsPlan = ufsPlan;
  }
  if (checked.packs) {
    info('kernel: copying the kernel beside the boot_archive');
    await writing(archiveDir, () => finishBootArchive(image, layout, work, fileOf));
  }
  await normalizeModes(work.platformPartial);
  return written;
}

/**
 * boot_archive.manifest (docs/boot-archive-manifest.md) into the platform directory, and its copy
 * at var/log/manifest in the image, which does not list itself.
 */
async function writeBootManifest(
  image: Map<string, ImageNode>,
  ids: ImageIdentities,
  archiveDir: string,
  stagingRoot: string,
): Promise<void> {
  const path = join(archiveDir, BOOT_ARCHIVE_MANIFEST);
  const writer = new AtomicLineWriter(path);
  for (const line of bootManifestLines(image.values(), ids)) await writer.line(line);
  await writer.commit();
  await rm(join(stagingRoot, MANIFEST_COPY), { force: true });
  await copyFile(path, join(stagingRoot, MANIFEST_COPY));
  image.set(MANIFEST_COPY, { ...manifestCopyNode(), ...(await md5OfFile(path)) });
}

/** The copy of boot_archive.manifest in the image (docs/output-layout.md), without its size. */
function manifestCopyNode(): ImageNode {
  return builtFileNode(MANIFEST_COPY, 'manifest-copy', 0o444);
}

/** The hsfs boot_archive. */
async function packHsfs(
  tool: IsoTool,
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  work: WorkLayout,
  epoch: number,
): Promise<void> {
  const archiveDir = layout.archiveDir(work.platformPartial);
  const bootArchive = join(archiveDir, BOOT_ARCHIVE);
  const nodes = [...image.values()];
  const { stagingRoot } = work;
  if (tool.name === 'xorriso') {
    const commandFile = work.xorrisoCommands;
    await writeHsfs({ tool, stagingRoot, nodes, output: bootArchive, commandFile, epoch });
  } else {
    await writeHsfsFromTree({ tool, stagingRoot, nodes, output: bootArchive, epoch });
  }
}

/**
 * The writer's part in a one-pass build: the copy of boot_archive.manifest
 * goes into the image at the size its lines will have, each file's md5
 * comes from the writer (hard links take their file's), and
 * boot_archive.manifest is written (`bootManifest`) once every file is
 * hashed; the writer then fills the copy's blocks from it.
 */
function hashWhileWriting(
  image: Map<string, ImageNode>,
  ids: ImageIdentities,
  bootManifest: () => Promise<string>,
): Pick<WriteUfsOptions, 'onHashed' | 'deferred'> {
  const size = bootManifestSize(image.values(), ids);
  image.set(MANIFEST_COPY, { ...manifestCopyNode(), size, diskBytes: size });
  const fileOf = (node: ImageNode) => (node.type === 'h' ? image.get(node.linkedFile!)! : node);
  return {
    onHashed: (path, md5) => {
      fileOf(image.get(path)!).md5 = md5;
    },
    deferred: {
      path: MANIFEST_COPY,
      content: () => {
        image.delete(MANIFEST_COPY);
        for (const node of image.values()) {
          if (node.type === 'h' && node.linkText === undefined) node.md5 = fileOf(node).md5;
          if (node.type !== 'd' && node.type !== 's' && node.linkText === undefined && !node.md5) {
            throw new Error(`internal error: ${node.path} was not hashed while it was written`);
          }
        }
        return bootManifest();
      },
    },
  };
}

/** The UFS boot_archive, by our writer or the upstream way. */
async function packUfs(
  archive: 'ufs' | 'ufs-native',
  { plan, table }: { plan: UfsPlan; table: UfsInode[] },
  image: ReadonlyMap<string, ImageNode>,
  how: {
    layout: OutputLayout;
    work: WorkLayout;
    epoch: number;
    fileOf: (path: string) => string;
    onePass?: Pick<WriteUfsOptions, 'onHashed' | 'deferred'>;
  },
): Promise<void> {
  const { layout, work, epoch, fileOf } = how;
  const output = join(layout.archiveDir(work.platformPartial), BOOT_ARCHIVE);
  const nodes = [...image.values()];
  const { stagingRoot } = work;
  if (archive === 'ufs') {
    const partial = work.ufsPartial;
    await writeUfs({
      stagingRoot,
      contentPath: fileOf,
      nodes,
      root: ROOT_DIR,
      output: partial,
      epoch,
      plan,
      table,
      ...how.onePass,
    });
    await rename(partial, output);
  } else {
    await writeUfsNative({ stagingRoot, nodes, output, epoch, plan, workDir: work.dir });
  }
}

/**
 * The kernel beside the boot_archive, and its .hash at its final size: the
 * sha1 is taken, and written into it, as the tgz packs the boot_archive.
 */
async function finishBootArchive(
  image: ReadonlyMap<string, ImageNode>,
  layout: OutputLayout,
  work: WorkLayout,
  fileOf: (path: string) => string,
): Promise<void> {
  const archiveDir = layout.archiveDir(work.platformPartial);
  await writeFile(join(archiveDir, BOOT_ARCHIVE_HASH), `${'0'.repeat(40)}\n`);
  if (image.get(IMAGE_KERNEL)?.type === 'f') {
    const kernelDir = layout.kernelDir(work.platformPartial);
    await mkdir(kernelDir, { recursive: true });
    await copyFile(fileOf(IMAGE_KERNEL), join(kernelDir, 'unix'));
  }
}

/** Platform files get fixed modes, whatever the umask, so the tgz is reproducible. */
async function normalizeModes(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await normalizeModes(path);
    else await chmod(path, 0o644);
  }
}
